"""Sensors in MuJoCo's layout (``sensordata``), and the energy (``<flag energy="enable"/>``).

Computed, as MuJoCo's mj_forward does, from the state at the start of a step: after :meth:`Simulator.step`,
``Simulator.sensordata`` holds the values of the state the step started from. Not differentiated.

Interface used by :mod:`.step`:

* ``SENSOR_DATA_SPECS``: extra per-world arrays, in the format of :data:`.data.DATA_SPECS`.
* ``sensor_constants(mjm) -> dict[str, np.ndarray]`` and ``SENSOR_CONSTANT_SPECS`` (name -> (Warp dtype, meaning)):
  extra model constants.
* ``launch_sensors(model, ns, n, rec)``: the launches, after the forward pass of the step's first evaluation.

Stages (each a launch, only those the model's sensors need):

1. :func:`eval_subtree_com`: subtree masses and centres of mass (MuJoCo's ``subtree_com``).
2. :func:`eval_energy`: potential and kinetic energy (MuJoCo's mj_energyPos / mj_energyVel).
3. :func:`eval_subtree_vel`: subtree linear velocity and angular momentum (MuJoCo's mj_subtreeVel).
4. :func:`eval_rne_post`: body accelerations with the constrained ``qacc``, external forces (contacts, connect and
   weld constraints, spatial tendons) and internal body forces (MuJoCo's mj_rnePostConstraint).
5. :func:`eval_sensor_frames`: pose of each sensor's object and reference frame (bodies, geoms, sites, cameras in
   every camera mode).
6. :func:`eval_sensor_values`: every sensor but the rangefinders, then MuJoCo's cutoff.
7. :func:`eval_rangefinders`: one thread per ray (a site rangefinder casts one, a camera rangefinder one per pixel)
   against every geom type (MuJoCo's mj_ray: planes, spheres, capsules, ellipsoids, cylinders, boxes, height fields
   and meshes, whose triangles are tested one by one).

Behaviour of the installed MuJoCo 4 where it differs from the 3.12 source: accelerometers and frame accelerations
of static bodies report the proper acceleration (-gravity) instead of zero; ``cfrc_ext`` (hence force and torque
sensors) includes the forces of spatial tendons (spring, damper, actuators, limit, friction loss, tendon equality)
and a weld's rotational force as the torque 0.5·torquescale·R(q₂)(e_w λ + e_v × λ); without the energy flag,
``energy[0]`` holds the potential energy when an e_potential sensor asked for it, and ``energy[1]`` the kinetic
energy only when both an e_kinetic and an e_potential sensor did (MuJoCo 4 evaluates both at the position stage
and clears ``energy`` there unless the potential energy was computed).

Translation invariance: positions are relative to tree origins (see :mod:`.kinematics`). Spatial vectors here
(``sensor_cacc``, ``cfrc_ext``, ``cfrc_int``) are, like ``cvel``, about the origin of the body's tree, where MuJoCo
uses the tree's centre of mass; values at points (the sensors) are the same. Differences between positions of
different trees subtract the (large) tree origins first. World positions (``framepos`` without a reference,
``subtreecom``, rangefinder origins and points) are ``root_origin + relative position``.
"""

from __future__ import annotations

import mujoco
import numpy as np
import warp as wp

from .collision.common import contact_root, origin_shift
from .spatial import (
    JNT_BALL,
    JNT_FREE,
    cross_force,
    inertia_about_origin,
    inertia_mul,
    point_velocity,
    quat_from_mj,
    quat_sub,
    quat_to_mj,
    sv,
    sv_ang,
    sv_lin,
)
from .types import vec5, vec_eqdata

I, F, V3, Q, M33, SV = wp.int32, wp.float32, wp.vec3, wp.quat, wp.mat33, wp.spatial_vector
vec6 = wp.types.vector(length=6, dtype=wp.float32)

SENSOR_DATA_SPECS: dict[str, tuple] = {
    "sensordata": (F, ("nsensordata",), False, "sensor values in MuJoCo's layout"),
    "energy": (F, (2,), False, "potential and kinetic energy [J] (with <flag energy='enable'/>)"),
    "subtree_mass": (F, ("nbody",), False, "mass of each body's subtree [kg]"),
    "subtree_com": (V3, ("nbody",), False, "subtree centre of mass, relative to the tree origin (body 0: world) [m]"),
    "subtree_linvel": (V3, ("nbody",), False, "velocity of the subtree centre of mass [m/s]"),
    "subtree_angmom": (V3, ("nbody",), False, "subtree angular momentum about its centre of mass [kg m²/s]"),
    "sensor_cacc": (SV, ("nbody",), False, "body acceleration with the constrained qacc, -gravity at the world"),
    "cfrc_ext": (SV, ("nbody",), False, "contact, connect, weld and spatial tendon forces on each body"),
    "cfrc_int": (SV, ("nbody",), False, "force each body receives from its parent (body 0: see eval_rne_post)"),
    "sensor_obj_pos": (V3, ("nsensor",), False, "position of each sensor's object, relative to its tree origin [m]"),
    "sensor_obj_mat": (M33, ("nsensor",), False, "orientation of each sensor's object"),
    "sensor_obj_quat": (Q, ("nsensor",), False, "orientation of each sensor's object (MuJoCo's quaternion)"),
    "sensor_ref_pos": (V3, ("nsensor",), False, "position of each sensor's reference frame [m]"),
    "sensor_ref_mat": (M33, ("nsensor",), False, "orientation of each sensor's reference frame"),
    "sensor_ref_quat": (Q, ("nsensor",), False, "orientation of each sensor's reference frame (quaternion)"),
}

SENSOR_CONSTANT_SPECS: dict[str, tuple] = {
    "site_type": (I, "mjtGeom of each site"),
    "site_size": (V3, "site size (its geom's size)"),
    "cam_mode": (I, "mjtCamLight: fixed 0, track 1, trackcom 2, targetbody 3, targetbodycom 4"),
    "cam_bodyid": (I, "body of each camera"),
    "cam_targetbodyid": (I, "target body of targetbody/targetbodycom cameras (-1: none)"),
    "cam_pos": (V3, "camera position in its body frame [m]"),
    "cam_quat": (Q, "camera orientation in its body frame"),
    "cam_pos0": (V3, "track cameras: offset from the body [m]"),
    "cam_poscom0": (V3, "trackcom cameras: offset from the subtree centre of mass [m]"),
    "cam_mat0": (M33, "track/trackcom cameras: the fixed world orientation"),
    "geom_rayskip": (I, "1 for geoms rays ignore (MuJoCo's mj_ray: transparent, rgba or material alpha 0)"),
    "mesh_face": (I, "triangle vertex indices of each mesh, 3 per face (relative to mesh_vertadr)"),
    "mesh_faceadr": (I, "first face of each mesh"),
    "mesh_facenum": (I, "number of faces of each mesh"),
    "ten_spatial": (I, "the spatial tendons (their forces act on the bodies of their sites)"),
    "sensor_objbody": (I, "body that carries each sensor's object (0 when the object is not spatial)"),
    "sensor_refbody": (I, "body that carries each sensor's reference frame (0 when none)"),
    "rf_sensor": (I, "[nray] rangefinder sensor of each ray"),
    "rf_adr": (I, "[nray] first sensordata value of the ray"),
    "rf_dataspec": (I, "[nray] MuJoCo's rangefinder data fields (bits of mjtRayDataField)"),
    "rf_camera": (I, "[nray] 1 for a camera's pixel ray, 0 for a site's ray"),
    "rf_dir": (V3, "[nray] ray direction in the site/camera frame (normalized after rotation)"),
    "rf_ofs": (V3, "[nray] ray origin in the site/camera frame [m] (orthographic cameras)"),
}

# ------------------------------------------------------------------------------------------------ codes
_S = mujoco.mjtSensor
S_TOUCH = wp.constant(int(_S.mjSENS_TOUCH))
S_ACCELEROMETER = wp.constant(int(_S.mjSENS_ACCELEROMETER))
S_VELOCIMETER = wp.constant(int(_S.mjSENS_VELOCIMETER))
S_GYRO = wp.constant(int(_S.mjSENS_GYRO))
S_FORCE = wp.constant(int(_S.mjSENS_FORCE))
S_TORQUE = wp.constant(int(_S.mjSENS_TORQUE))
S_MAGNETOMETER = wp.constant(int(_S.mjSENS_MAGNETOMETER))
S_RANGEFINDER = wp.constant(int(_S.mjSENS_RANGEFINDER))
S_JOINTPOS = wp.constant(int(_S.mjSENS_JOINTPOS))
S_JOINTVEL = wp.constant(int(_S.mjSENS_JOINTVEL))
S_TENDONPOS = wp.constant(int(_S.mjSENS_TENDONPOS))
S_TENDONVEL = wp.constant(int(_S.mjSENS_TENDONVEL))
S_ACTUATORPOS = wp.constant(int(_S.mjSENS_ACTUATORPOS))
S_ACTUATORVEL = wp.constant(int(_S.mjSENS_ACTUATORVEL))
S_ACTUATORFRC = wp.constant(int(_S.mjSENS_ACTUATORFRC))
S_JOINTACTFRC = wp.constant(int(_S.mjSENS_JOINTACTFRC))
S_TENDONACTFRC = wp.constant(int(_S.mjSENS_TENDONACTFRC))
S_BALLQUAT = wp.constant(int(_S.mjSENS_BALLQUAT))
S_BALLANGVEL = wp.constant(int(_S.mjSENS_BALLANGVEL))
S_JOINTLIMITPOS = wp.constant(int(_S.mjSENS_JOINTLIMITPOS))
S_JOINTLIMITVEL = wp.constant(int(_S.mjSENS_JOINTLIMITVEL))
S_JOINTLIMITFRC = wp.constant(int(_S.mjSENS_JOINTLIMITFRC))
S_TENDONLIMITPOS = wp.constant(int(_S.mjSENS_TENDONLIMITPOS))
S_TENDONLIMITVEL = wp.constant(int(_S.mjSENS_TENDONLIMITVEL))
S_TENDONLIMITFRC = wp.constant(int(_S.mjSENS_TENDONLIMITFRC))
S_FRAMEPOS = wp.constant(int(_S.mjSENS_FRAMEPOS))
S_FRAMEQUAT = wp.constant(int(_S.mjSENS_FRAMEQUAT))
S_FRAMEXAXIS = wp.constant(int(_S.mjSENS_FRAMEXAXIS))
S_FRAMEYAXIS = wp.constant(int(_S.mjSENS_FRAMEYAXIS))
S_FRAMEZAXIS = wp.constant(int(_S.mjSENS_FRAMEZAXIS))
S_FRAMELINVEL = wp.constant(int(_S.mjSENS_FRAMELINVEL))
S_FRAMEANGVEL = wp.constant(int(_S.mjSENS_FRAMEANGVEL))
S_FRAMELINACC = wp.constant(int(_S.mjSENS_FRAMELINACC))
S_FRAMEANGACC = wp.constant(int(_S.mjSENS_FRAMEANGACC))
S_SUBTREECOM = wp.constant(int(_S.mjSENS_SUBTREECOM))
S_SUBTREELINVEL = wp.constant(int(_S.mjSENS_SUBTREELINVEL))
S_SUBTREEANGMOM = wp.constant(int(_S.mjSENS_SUBTREEANGMOM))
S_E_POTENTIAL = wp.constant(int(_S.mjSENS_E_POTENTIAL))
S_E_KINETIC = wp.constant(int(_S.mjSENS_E_KINETIC))
S_CLOCK = wp.constant(int(_S.mjSENS_CLOCK))

_O = mujoco.mjtObj
OBJ_BODY = wp.constant(int(_O.mjOBJ_BODY))
OBJ_XBODY = wp.constant(int(_O.mjOBJ_XBODY))
OBJ_GEOM = wp.constant(int(_O.mjOBJ_GEOM))
OBJ_SITE = wp.constant(int(_O.mjOBJ_SITE))
OBJ_CAMERA = wp.constant(int(_O.mjOBJ_CAMERA))
SPATIAL_OBJECTS = (int(_O.mjOBJ_BODY), int(_O.mjOBJ_XBODY), int(_O.mjOBJ_GEOM), int(_O.mjOBJ_SITE),
                   int(_O.mjOBJ_CAMERA))  # fmt: skip

_G = mujoco.mjtGeom
GEOM_PLANE = wp.constant(int(_G.mjGEOM_PLANE))
GEOM_HFIELD = wp.constant(int(_G.mjGEOM_HFIELD))
GEOM_SPHERE = wp.constant(int(_G.mjGEOM_SPHERE))
GEOM_CAPSULE = wp.constant(int(_G.mjGEOM_CAPSULE))
GEOM_ELLIPSOID = wp.constant(int(_G.mjGEOM_ELLIPSOID))
GEOM_CYLINDER = wp.constant(int(_G.mjGEOM_CYLINDER))
GEOM_BOX = wp.constant(int(_G.mjGEOM_BOX))
GEOM_MESH = wp.constant(int(_G.mjGEOM_MESH))

CAM_TRACK = wp.constant(int(mujoco.mjtCamLight.mjCAMLIGHT_TRACK))
CAM_TRACKCOM = wp.constant(int(mujoco.mjtCamLight.mjCAMLIGHT_TRACKCOM))
CAM_TARGETBODY = wp.constant(int(mujoco.mjtCamLight.mjCAMLIGHT_TARGETBODY))
CAM_TARGETBODYCOM = wp.constant(int(mujoco.mjtCamLight.mjCAMLIGHT_TARGETBODYCOM))

TRN_TENDON = wp.constant(int(mujoco.mjtTrn.mjTRN_TENDON))
CNSTR_EQUALITY = wp.constant(int(mujoco.mjtConstraint.mjCNSTR_EQUALITY))
CNSTR_FRICTION_TENDON = wp.constant(int(mujoco.mjtConstraint.mjCNSTR_FRICTION_TENDON))
CNSTR_LIMIT_JOINT = wp.constant(int(mujoco.mjtConstraint.mjCNSTR_LIMIT_JOINT))
CNSTR_LIMIT_TENDON = wp.constant(int(mujoco.mjtConstraint.mjCNSTR_LIMIT_TENDON))
EQ_CONNECT = wp.constant(int(mujoco.mjtEq.mjEQ_CONNECT))
EQ_WELD = wp.constant(int(mujoco.mjtEq.mjEQ_WELD))
EQ_TENDON = wp.constant(int(mujoco.mjtEq.mjEQ_TENDON))
WRAP_SITE = wp.constant(int(mujoco.mjtWrap.mjWRAP_SITE))
DATATYPE_REAL = wp.constant(int(mujoco.mjtDataType.mjDATATYPE_REAL))
DATATYPE_POSITIVE = wp.constant(int(mujoco.mjtDataType.mjDATATYPE_POSITIVE))

_R = mujoco.mjtRayDataField
RAY_DIST = wp.constant(1 << int(_R.mjRAYDATA_DIST))
RAY_DIR = wp.constant(1 << int(_R.mjRAYDATA_DIR))
RAY_ORIGIN = wp.constant(1 << int(_R.mjRAYDATA_ORIGIN))
RAY_POINT = wp.constant(1 << int(_R.mjRAYDATA_POINT))
RAY_NORMAL = wp.constant(1 << int(_R.mjRAYDATA_NORMAL))
RAY_DEPTH = wp.constant(1 << int(_R.mjRAYDATA_DEPTH))
_RAY_SIZES = {int(_R.mjRAYDATA_DIST): 1, int(_R.mjRAYDATA_DIR): 3, int(_R.mjRAYDATA_ORIGIN): 3,
              int(_R.mjRAYDATA_POINT): 3, int(_R.mjRAYDATA_NORMAL): 3, int(_R.mjRAYDATA_DEPTH): 1}  # fmt: skip

MINVAL = wp.constant(1.0e-15)

#: Sensor types that need :func:`eval_rne_post` (MuJoCo's mj_rnePostConstraint), or :func:`eval_subtree_vel`.
_RNE_POST_TYPES = {int(_S.mjSENS_ACCELEROMETER), int(_S.mjSENS_FORCE), int(_S.mjSENS_TORQUE),
                   int(_S.mjSENS_FRAMELINACC), int(_S.mjSENS_FRAMEANGACC)}  # fmt: skip
_SUBTREE_VEL_TYPES = {int(_S.mjSENS_SUBTREELINVEL), int(_S.mjSENS_SUBTREEANGMOM)}


# ------------------------------------------------------------------------------------------------ constants
def _object_body(mjm: mujoco.MjModel, objtype: int, objid: int) -> int:
    """Body carrying a spatial object (0 for objects without a frame or none)."""
    if objid < 0:
        return 0
    if objtype in (int(_O.mjOBJ_BODY), int(_O.mjOBJ_XBODY)):
        return objid
    if objtype == int(_O.mjOBJ_GEOM):
        return int(mjm.geom_bodyid[objid])
    if objtype == int(_O.mjOBJ_SITE):
        return int(mjm.site_bodyid[objid])
    if objtype == int(_O.mjOBJ_CAMERA):
        return int(mjm.cam_bodyid[objid])
    return 0


def _camera_pixel_rays(mjm: mujoco.MjModel, cam: int) -> tuple[np.ndarray, np.ndarray]:
    """Directions and origins of a camera's pixel rays in the camera frame, row by row (MuJoCo's
    mju_camIntrinsics and mju_camPixelRay)."""
    width, height = (int(x) for x in mjm.cam_resolution[cam])
    sensorsize, intrinsic = mjm.cam_sensorsize[cam], mjm.cam_intrinsic[cam]
    perspective = int(mjm.cam_projection[cam]) == int(mujoco.mjtProjection.mjPROJ_PERSPECTIVE)
    if perspective and sensorsize[0] and sensorsize[1]:
        fx, fy = intrinsic[0] / sensorsize[0] * width, intrinsic[1] / sensorsize[1] * height
        cx, cy = intrinsic[2] / sensorsize[0] * width, intrinsic[3] / sensorsize[1] * height
    elif perspective:
        fx = fy = 0.5 / np.tan(mjm.cam_fovy[cam] * np.pi / 360.0) * height
        cx, cy = width / 2.0, height / 2.0
    else:
        fx, fy = width / 2.0, height / 2.0
        cx, cy = fx, fy
    row, col = np.divmod(np.arange(width * height), width)
    px, py = col + 0.5 - cx, row + 0.5 - cy
    if perspective:
        dirs = np.stack([px / fx, -py / fy, -np.ones_like(px)], axis=1)
        return dirs, np.zeros_like(dirs)
    half = mjm.cam_fovy[cam] / 2.0
    ofs = np.stack([px / fx * half, -py / fy * half, np.zeros_like(px)], axis=1)
    return np.tile([0.0, 0.0, -1.0], (len(px), 1)), ofs


def _ray_table(mjm: mujoco.MjModel) -> dict[str, np.ndarray]:
    """One entry per rangefinder ray: its sensor, output address, data fields and direction in the object frame."""
    sensor, adr, spec, camera, dirs, ofs = [], [], [], [], [], []
    for s in range(mjm.nsensor):
        if int(mjm.sensor_type[s]) != int(_S.mjSENS_RANGEFINDER):
            continue
        dataspec = int(mjm.sensor_intprm[s, 0])
        size = sum(n for bit, n in _RAY_SIZES.items() if dataspec & (1 << bit))
        if int(mjm.sensor_objtype[s]) == int(_O.mjOBJ_CAMERA):
            d, o = _camera_pixel_rays(mjm, int(mjm.sensor_objid[s]))
            is_cam = 1
        else:
            d, o = np.array([[0.0, 0.0, 1.0]]), np.zeros((1, 3))
            is_cam = 0
        k = len(d)
        sensor += [s] * k
        adr += list(mjm.sensor_adr[s] + size * np.arange(k))
        spec += [dataspec] * k
        camera += [is_cam] * k
        dirs.append(d)
        ofs.append(o)
    cat = lambda x: np.concatenate(x) if x else np.zeros((0, 3))  # noqa: E731
    return {"rf_sensor": np.array(sensor), "rf_adr": np.array(adr), "rf_dataspec": np.array(spec),
            "rf_camera": np.array(camera), "rf_dir": cat(dirs), "rf_ofs": cat(ofs)}  # fmt: skip


def _spatial_tendons(mjm: mujoco.MjModel) -> np.ndarray:
    """Ids of the spatial tendons (a path of sites and pulleys, not of joints)."""
    joint = int(mujoco.mjtWrap.mjWRAP_JOINT)
    return np.array([t for t in range(mjm.ntendon) if mjm.tendon_num[t] and mjm.wrap_type[mjm.tendon_adr[t]] != joint],
                    dtype=np.int32)  # fmt: skip


def sensor_constants(mjm: mujoco.MjModel) -> dict[str, np.ndarray]:
    """Every entry of :data:`SENSOR_CONSTANT_SPECS` from the compiled model."""
    c: dict[str, np.ndarray] = {}
    c["site_type"] = mjm.site_type
    c["site_size"] = mjm.site_size
    c["cam_mode"] = mjm.cam_mode
    c["cam_bodyid"] = mjm.cam_bodyid
    c["cam_targetbodyid"] = mjm.cam_targetbodyid
    c["cam_pos"] = mjm.cam_pos
    c["cam_quat"] = np.concatenate([mjm.cam_quat[:, 1:], mjm.cam_quat[:, :1]], axis=1)
    c["cam_pos0"] = mjm.cam_pos0
    c["cam_poscom0"] = mjm.cam_poscom0
    c["cam_mat0"] = mjm.cam_mat0.reshape(-1, 9)
    # mj_ray skips geoms drawn fully transparent (rgba alpha 0 without a material, material alpha 0)
    matid = mjm.geom_matid
    alpha = np.where(matid >= 0, mjm.mat_rgba[np.maximum(matid, 0), 3] if mjm.nmat else 1.0, mjm.geom_rgba[:, 3])
    c["geom_rayskip"] = (alpha == 0).astype(np.int32)
    c["mesh_face"] = mjm.mesh_face.reshape(-1)
    c["mesh_faceadr"] = mjm.mesh_faceadr
    c["mesh_facenum"] = mjm.mesh_facenum
    c["ten_spatial"] = _spatial_tendons(mjm)
    c["sensor_objbody"] = np.array([_object_body(mjm, int(mjm.sensor_objtype[s]), int(mjm.sensor_objid[s]))
                                    for s in range(mjm.nsensor)])  # fmt: skip
    c["sensor_refbody"] = np.array([_object_body(mjm, int(mjm.sensor_reftype[s]), int(mjm.sensor_refid[s]))
                                    for s in range(mjm.nsensor)])  # fmt: skip
    c.update(_ray_table(mjm))
    missing, extra = set(SENSOR_CONSTANT_SPECS) - set(c), set(c) - set(SENSOR_CONSTANT_SPECS)
    assert not missing and not extra, f"sensor constants out of sync: {missing=} {extra=}"
    return c


# ------------------------------------------------------------------------------------------------ small helpers
@wp.func
def mat_col(m: wp.mat33, k: int):
    """Column k of a rotation matrix: the frame's k-th axis in world coordinates."""
    return wp.vec3(m[0, k], m[1, k], m[2, k])


@wp.func
def mat_from_cols(x: wp.vec3, y: wp.vec3, z: wp.vec3):
    return wp.mat33(x[0], y[0], z[0], x[1], y[1], z[1], x[2], y[2], z[2])


@wp.func
def write3(out: wp.array2d(dtype=wp.float32), w: int, adr: int, v: wp.vec3):
    out[w, adr] = v[0]
    out[w, adr + 1] = v[1]
    out[w, adr + 2] = v[2]


@wp.func
def is_static(b: int, body_weldid: wp.array(dtype=wp.int32), body_dofnum: wp.array(dtype=wp.int32)):
    """Whether body b is welded to a dof-less body (MuJoCo's objects on it have zero velocity and acceleration)."""
    return body_dofnum[body_weldid[b]] == 0


@wp.func
def body_com_velocity(w: int, b: int, cvel: wp.array2d(dtype=wp.spatial_vector), xipos: wp.array2d(dtype=wp.vec3)):
    """Linear velocity of body b's centre of mass [m/s]."""
    return point_velocity(cvel[w, b], xipos[w, b])


@wp.func
def contact_wrench(
    w: int,
    k: int,
    elliptic: int,
    contact_efcadr: wp.array2d(dtype=wp.int32),
    contact_dim: wp.array2d(dtype=wp.int32),
    contact_friction: wp.array2d(dtype=vec5),
    efc_force: wp.array2d(dtype=wp.float32),
):
    """Contact k's force and torque in its contact frame (normal, tangents, torsion, rolling), from its rows'
    forces (MuJoCo's mj_contactForce: a pyramid's edge forces are decoded, an elliptic cone's are the components)."""
    adr = contact_efcadr[w, k]
    dim = contact_dim[w, k]
    out = vec6(0.0)
    if elliptic != 0 or dim == 1:
        for i in range(dim):
            out[i] = efc_force[w, adr + i]
    else:
        mu = contact_friction[w, k]
        for i in range(2 * (dim - 1)):
            out[0] = out[0] + efc_force[w, adr + i]
        for i in range(dim - 1):
            out[i + 1] = (efc_force[w, adr + 2 * i] - efc_force[w, adr + 2 * i + 1]) * mu[i]
    return out


@wp.func
def contact_normal_force(
    w: int,
    k: int,
    elliptic: int,
    contact_efcadr: wp.array2d(dtype=wp.int32),
    contact_dim: wp.array2d(dtype=wp.int32),
    efc_force: wp.array2d(dtype=wp.float32),
):
    """Normal force of contact k [N] (the sum of a pyramid's edge forces)."""
    adr = contact_efcadr[w, k]
    dim = contact_dim[w, k]
    if elliptic != 0 or dim == 1:
        return efc_force[w, adr]
    f = float(0.0)
    for i in range(2 * (dim - 1)):
        f += efc_force[w, adr + i]
    return f


# ------------------------------------------------------------------------------------------------ ray casting
# Ray functions take the ray origin ``pnt`` and direction ``vec`` in the same coordinates as the shape's ``pos``
# (all relative to one tree origin), and return (distance along vec or -1, surface normal or 0).


@wp.func
def ray_quad(a: float, b: float, c: float):
    """Real roots x0 <= x1 of a x² + 2 b x + c = 0 (-1, -1 when none) and the smallest non-negative one (or -1)."""
    det = b * b - a * c
    if det < 0.0 or a < MINVAL:
        return -1.0, -1.0, -1.0
    det = wp.sqrt(det)
    x0 = (-b - det) / a
    x1 = (-b + det) / a
    x = float(-1.0)
    if x0 >= 0.0:
        x = x0
    elif x1 >= 0.0:
        x = x1
    return x, x0, x1


@wp.func
def ray_sphere(pos: wp.vec3, radius2: float, pnt: wp.vec3, vec: wp.vec3):
    """Ray against a sphere of squared radius ``radius2`` centred at ``pos``."""
    dif = pnt - pos
    x, x0, x1 = ray_quad(wp.dot(vec, vec), wp.dot(vec, dif), wp.dot(dif, dif) - radius2)
    normal = wp.vec3(0.0)
    if x >= 0.0:
        normal = wp.normalize(pnt + x * vec - pos)
    return x, normal


@wp.func
def ray_plane(lpnt: wp.vec3, lvec: wp.vec3, size: wp.vec3):
    """Ray (in the plane's frame) against the plane's front face, within its rendered rectangle (size > 0)."""
    if lvec[2] > -MINVAL:
        return -1.0
    x = -lpnt[2] / lvec[2]
    if x < 0.0:
        return -1.0
    p0 = lpnt[0] + x * lvec[0]
    p1 = lpnt[1] + x * lvec[1]
    if (size[0] <= 0.0 or wp.abs(p0) <= size[0]) and (size[1] <= 0.0 or wp.abs(p1) <= size[1]):
        return x
    return -1.0


@wp.func
def ray_capsule(lpnt: wp.vec3, lvec: wp.vec3, size: wp.vec3):
    """Ray (capsule frame) against a capsule: its side, then each hemispherical cap; local normal."""
    x = float(-1.0)
    part = float(0.0)  # -1 bottom cap, 0 side, 1 top cap
    sol, s0, s1 = ray_quad(lvec[0] * lvec[0] + lvec[1] * lvec[1], lvec[0] * lpnt[0] + lvec[1] * lpnt[1],
                           lpnt[0] * lpnt[0] + lpnt[1] * lpnt[1] - size[0] * size[0])  # fmt: skip
    if sol >= 0.0 and wp.abs(lpnt[2] + sol * lvec[2]) <= size[1]:
        x = sol
    a = wp.dot(lvec, lvec)
    for side in range(2):
        sgn = float(2 * side - 1)
        ldif = wp.vec3(lpnt[0], lpnt[1], lpnt[2] - sgn * size[1])
        sol, x0, x1 = ray_quad(a, wp.dot(lvec, ldif), wp.dot(ldif, ldif) - size[0] * size[0])
        for i in range(2):
            xi = x0
            if i == 1:
                xi = x1
            if xi >= 0.0 and sgn * (lpnt[2] + xi * lvec[2]) >= size[1]:
                if x < 0.0 or xi < x:
                    x = xi
                    part = sgn
    normal = wp.vec3(0.0)
    if x >= 0.0:
        p = lpnt + x * lvec
        normal = wp.normalize(wp.vec3(p[0], p[1], p[2] - part * size[1]))
        if part == 0.0:
            normal = wp.normalize(wp.vec3(p[0], p[1], 0.0))
    return x, normal


@wp.func
def ray_ellipsoid(lpnt: wp.vec3, lvec: wp.vec3, size: wp.vec3):
    """Ray (ellipsoid frame) against an ellipsoid with semi-axes ``size``; local normal."""
    s = wp.vec3(1.0 / (size[0] * size[0]), 1.0 / (size[1] * size[1]), 1.0 / (size[2] * size[2]))
    a = s[0] * lvec[0] * lvec[0] + s[1] * lvec[1] * lvec[1] + s[2] * lvec[2] * lvec[2]
    b = s[0] * lvec[0] * lpnt[0] + s[1] * lvec[1] * lpnt[1] + s[2] * lvec[2] * lpnt[2]
    c = s[0] * lpnt[0] * lpnt[0] + s[1] * lpnt[1] * lpnt[1] + s[2] * lpnt[2] * lpnt[2] - 1.0
    x, x0, x1 = ray_quad(a, b, c)
    normal = wp.vec3(0.0)
    if x >= 0.0:
        normal = wp.normalize(wp.cw_mul(s, lpnt + x * lvec))
    return x, normal


@wp.func
def ray_cylinder(lpnt: wp.vec3, lvec: wp.vec3, size: wp.vec3):
    """Ray (cylinder frame) against a cylinder: flat caps, then the round side; local normal."""
    x = float(-1.0)
    part = float(0.0)
    if wp.abs(lvec[2]) > MINVAL:
        for side in range(2):
            sgn = float(2 * side - 1)
            sol = (sgn * size[1] - lpnt[2]) / lvec[2]
            if sol >= 0.0:
                p0 = lpnt[0] + sol * lvec[0]
                p1 = lpnt[1] + sol * lvec[1]
                if p0 * p0 + p1 * p1 <= size[0] * size[0] and (x < 0.0 or sol < x):
                    x = sol
                    part = sgn
    sol, x0, x1 = ray_quad(lvec[0] * lvec[0] + lvec[1] * lvec[1], lvec[0] * lpnt[0] + lvec[1] * lpnt[1],
                           lpnt[0] * lpnt[0] + lpnt[1] * lpnt[1] - size[0] * size[0])  # fmt: skip
    if sol >= 0.0 and wp.abs(lpnt[2] + sol * lvec[2]) <= size[1] and (x < 0.0 or sol < x):
        x = sol
        part = 0.0
    normal = wp.vec3(0.0)
    if x >= 0.0:
        normal = wp.vec3(0.0, 0.0, part)
        if part == 0.0:
            normal = wp.normalize(wp.vec3(lpnt[0] + x * lvec[0], lpnt[1] + x * lvec[1], 0.0))
    return x, normal


@wp.func
def ray_box(lpnt: wp.vec3, lvec: wp.vec3, size: wp.vec3):
    """Ray (box frame) against a box: (distance, local normal, the hit distance of each face (-1: none) in the
    order -x, +x, -y, +y, -z, +z) (MuJoCo's ray_box without its bounding-sphere test)."""
    x = float(-1.0)
    normal = wp.vec3(0.0)
    faces = vec6(-1.0, -1.0, -1.0, -1.0, -1.0, -1.0)
    for i in range(3):
        if wp.abs(lvec[i]) > MINVAL:
            j0 = 0
            j1 = 1
            if i == 0:
                j0 = 1
                j1 = 2
            elif i == 1:
                j1 = 2
            for side in range(2):
                sgn = float(2 * side - 1)
                sol = (sgn * size[i] - lpnt[i]) / lvec[i]
                if sol >= 0.0:
                    p0 = lpnt[j0] + sol * lvec[j0]
                    p1 = lpnt[j1] + sol * lvec[j1]
                    if wp.abs(p0) <= size[j0] and wp.abs(p1) <= size[j1]:
                        if x < 0.0 or sol < x:
                            x = sol
                            normal = wp.vec3(0.0)
                            normal[i] = sgn
                        faces[2 * i + side] = sol
    return x, normal, faces


@wp.func
def ray_box_world(pos: wp.vec3, mat: wp.mat33, size: wp.vec3, pnt: wp.vec3, vec: wp.vec3):
    """Ray against a box at (pos, mat) with MuJoCo's bounding-sphere test; (distance, world normal, face hits)."""
    hit, unused = ray_sphere(pos, wp.dot(size, size), pnt, vec)
    if hit < 0.0:
        return -1.0, wp.vec3(0.0), vec6(-1.0, -1.0, -1.0, -1.0, -1.0, -1.0)
    lpnt = wp.transpose(mat) * (pnt - pos)
    lvec = wp.transpose(mat) * vec
    x, n, faces = ray_box(lpnt, lvec, size)
    return x, mat * n, faces


@wp.func
def ray_primitive(typ: int, pos: wp.vec3, mat: wp.mat33, size: wp.vec3, pnt: wp.vec3, vec: wp.vec3):
    """Ray against a plane, sphere, capsule, ellipsoid, cylinder or box (MuJoCo's mju_rayGeom): (distance or -1,
    world normal)."""
    if typ == GEOM_SPHERE:
        return ray_sphere(pos, size[0] * size[0], pnt, vec)
    if typ == GEOM_BOX:
        x, n, faces = ray_box_world(pos, mat, size, pnt, vec)
        return x, n
    # bounding-sphere tests of capsules and cylinders
    bound = float(0.0)
    if typ == GEOM_CAPSULE:
        bound, unused = ray_sphere(pos, (size[0] + size[1]) * (size[0] + size[1]), pnt, vec)
    elif typ == GEOM_CYLINDER:
        bound, unused = ray_sphere(pos, size[0] * size[0] + size[1] * size[1], pnt, vec)
    if bound < 0.0:
        return -1.0, wp.vec3(0.0)
    lpnt = wp.transpose(mat) * (pnt - pos)
    lvec = wp.transpose(mat) * vec
    x = float(-1.0)
    n = wp.vec3(0.0)
    if typ == GEOM_PLANE:
        x = ray_plane(lpnt, lvec, size)
        if x >= 0.0:
            n = wp.vec3(0.0, 0.0, 1.0)
    elif typ == GEOM_CAPSULE:
        x, n = ray_capsule(lpnt, lvec, size)
    elif typ == GEOM_ELLIPSOID:
        x, n = ray_ellipsoid(lpnt, lvec, size)
    elif typ == GEOM_CYLINDER:
        x, n = ray_cylinder(lpnt, lvec, size)
    return x, mat * n


@wp.func
def normal_plane_basis(lvec: wp.vec3):
    """Two unit vectors orthogonal to the ray direction (MuJoCo's basis for its ray-triangle test)."""
    b0 = wp.vec3(1.0, 1.0, 1.0)
    if wp.abs(lvec[0]) >= wp.abs(lvec[1]) and wp.abs(lvec[0]) >= wp.abs(lvec[2]):
        b0[0] = 0.0
    elif wp.abs(lvec[1]) >= wp.abs(lvec[2]):
        b0[1] = 0.0
    else:
        b0[2] = 0.0
    b1 = wp.normalize(b0 - lvec * (wp.dot(lvec, b0) / wp.dot(lvec, lvec)))
    b0 = wp.normalize(wp.cross(b1, lvec))
    return b0, b1


@wp.func
def ray_triangle(v0: wp.vec3, v1: wp.vec3, v2: wp.vec3, lpnt: wp.vec3, lvec: wp.vec3, b0: wp.vec3, b1: wp.vec3):
    """Ray against a triangle (MuJoCo's ray_triangle): inside test in the plane normal to the ray, then the
    distance to the triangle's plane; (distance or -1, unit normal (v0-v2)×(v1-v2))."""
    d0 = v0 - lpnt
    d1 = v1 - lpnt
    d2 = v2 - lpnt
    p0 = wp.vec2(wp.dot(b0, d0), wp.dot(b1, d0))
    p1 = wp.vec2(wp.dot(b0, d1), wp.dot(b1, d1))
    p2 = wp.vec2(wp.dot(b0, d2), wp.dot(b1, d2))
    for k in range(2):
        if (p0[k] > 0.0 and p1[k] > 0.0 and p2[k] > 0.0) or (p0[k] < 0.0 and p1[k] < 0.0 and p2[k] < 0.0):
            return -1.0, wp.vec3(0.0)
    a00 = p0[0] - p2[0]
    a01 = p1[0] - p2[0]
    a10 = p0[1] - p2[1]
    a11 = p1[1] - p2[1]
    det = a00 * a11 - a01 * a10
    if wp.abs(det) < MINVAL:
        return -1.0, wp.vec3(0.0)
    t0 = (a11 * -p2[0] - a01 * -p2[1]) / det
    t1 = (-a10 * -p2[0] + a00 * -p2[1]) / det
    if t0 < 0.0 or t1 < 0.0 or t0 + t1 > 1.0:
        return -1.0, wp.vec3(0.0)
    nrm = wp.cross(v0 - v2, v1 - v2)
    denom = wp.dot(lvec, nrm)
    if wp.abs(denom) < MINVAL:
        return -1.0, wp.vec3(0.0)
    return -wp.dot(lpnt - v2, nrm) / denom, wp.normalize(nrm)


@wp.func
def ray_mesh(
    pos: wp.vec3,
    mat: wp.mat33,
    size: wp.vec3,
    mesh: int,
    pnt: wp.vec3,
    vec: wp.vec3,
    mesh_vertadr: wp.array(dtype=wp.int32),
    mesh_vert: wp.array(dtype=wp.vec3),
    mesh_faceadr: wp.array(dtype=wp.int32),
    mesh_facenum: wp.array(dtype=wp.int32),
    mesh_face: wp.array(dtype=wp.int32),
):
    """Ray against a mesh's triangles (MuJoCo's mj_rayMesh, every face tested instead of its BVH walk)."""
    hit, unused_n, unused_f = ray_box_world(pos, mat, size, pnt, vec)
    if hit < 0.0:
        return -1.0, wp.vec3(0.0)
    lpnt = wp.transpose(mat) * (pnt - pos)
    lvec = wp.transpose(mat) * vec
    b0, b1 = normal_plane_basis(lvec)
    vadr = mesh_vertadr[mesh]
    x = float(-1.0)
    normal = wp.vec3(0.0)
    for f in range(mesh_faceadr[mesh], mesh_faceadr[mesh] + mesh_facenum[mesh]):
        sol, n = ray_triangle(mesh_vert[vadr + mesh_face[3 * f]], mesh_vert[vadr + mesh_face[3 * f + 1]],
                              mesh_vert[vadr + mesh_face[3 * f + 2]], lpnt, lvec, b0, b1)  # fmt: skip
        if sol >= 0.0 and (x < 0.0 or sol < x):
            x = sol
            normal = n
    return x, mat * normal


@wp.func
def hfield_vertex(data: wp.array(dtype=wp.float32), adr: int, ncol: int, r: int, c: int, dx: float, dy: float,
                  size: wp.vec4):  # fmt: skip
    """Grid vertex (row r, column c) of a height field, in its frame."""
    return wp.vec3(dx * float(c) - size[0], dy * float(r) - size[1], data[adr + r * ncol + c] * size[2])


@wp.func
def ray_hfield(
    pos: wp.vec3,
    mat: wp.mat33,
    h: int,
    pnt: wp.vec3,
    vec: wp.vec3,
    hfield_size: wp.array(dtype=wp.vec4),
    hfield_nrow: wp.array(dtype=wp.int32),
    hfield_ncol: wp.array(dtype=wp.int32),
    hfield_adr: wp.array(dtype=wp.int32),
    hfield_data: wp.array(dtype=wp.float32),
):
    """Ray against a height field (MuJoCo's mj_rayHfield): its base box, then the triangles of the grid cells
    the ray crosses inside the top box, then the top box's sides below the terrain's edge profile."""
    size = hfield_size[h]
    nrow = hfield_nrow[h]
    ncol = hfield_ncol[h]
    adr = hfield_adr[h]
    zaxis = mat_col(mat, 2)
    x, normal, unused = ray_box_world(pos - zaxis * (size[3] * 0.5), mat, wp.vec3(size[0], size[1], size[3] * 0.5),
                                      pnt, vec)  # fmt: skip
    top, unused_n, faces = ray_box_world(pos + zaxis * (size[2] * 0.5), mat, wp.vec3(size[0], size[1], size[2] * 0.5),
                                         pnt, vec)  # fmt: skip
    if top < 0.0:
        return x, normal
    lpnt = wp.transpose(mat) * (pnt - pos)
    lvec = wp.transpose(mat) * vec
    b0, b1 = normal_plane_basis(lvec)
    # the segment of the ray inside the top box
    seg0 = float(0.0)
    seg1 = top
    for i in range(6):
        if faces[i] > seg1:
            seg0 = top
            seg1 = faces[i]
    dx = 2.0 * size[0] / float(ncol - 1)
    dy = 2.0 * size[1] / float(nrow - 1)
    sx0 = (lpnt[0] + seg0 * lvec[0] + size[0]) / dx
    sx1 = (lpnt[0] + seg1 * lvec[0] + size[0]) / dx
    sy0 = (lpnt[1] + seg0 * lvec[1] + size[1]) / dy
    sy1 = (lpnt[1] + seg1 * lvec[1] + size[1]) / dy
    cmin = wp.max(0, int(wp.floor(wp.min(sx0, sx1))) - 1)
    cmax = wp.min(ncol - 1, int(wp.ceil(wp.max(sx0, sx1))) + 1)
    rmin = wp.max(0, int(wp.floor(wp.min(sy0, sy1))) - 1)
    rmax = wp.min(nrow - 1, int(wp.ceil(wp.max(sy0, sy1))) + 1)
    nloc = wp.vec3(0.0)
    if x >= 0.0:
        nloc = wp.transpose(mat) * normal
    for r in range(rmin, rmax):
        for c in range(cmin, cmax):
            v00 = hfield_vertex(hfield_data, adr, ncol, r, c, dx, dy, size)
            v01 = hfield_vertex(hfield_data, adr, ncol, r, c + 1, dx, dy, size)
            v11 = hfield_vertex(hfield_data, adr, ncol, r + 1, c + 1, dx, dy, size)
            v10 = hfield_vertex(hfield_data, adr, ncol, r + 1, c, dx, dy, size)
            sol, n = ray_triangle(v00, v01, v11, lpnt, lvec, b0, b1)
            if sol >= 0.0 and (x < 0.0 or sol < x):
                x = sol
                nloc = n
            sol, n = ray_triangle(v00, v11, v10, lpnt, lvec, b0, b1)
            if sol >= 0.0 and (x < 0.0 or sol < x):
                x = sol
                nloc = n
    # sides of the top box (-x, +x, -y, +y): a hit counts below the terrain's boundary profile
    for i in range(4):
        if faces[i] >= 0.0 and (faces[i] < x or x < 0.0):
            z = (lpnt[2] + faces[i] * lvec[2]) / size[2]
            y = float(0.0)
            y0 = float(0.0)
            z0 = float(0.0)
            z1 = float(0.0)
            if i < 2:
                y = (lpnt[1] + faces[i] * lvec[1] + size[1]) / dy
                y0 = wp.max(0.0, wp.min(float(nrow - 2), wp.floor(y)))
                col = 0
                if i == 1:
                    col = ncol - 1
                z0 = hfield_data[adr + int(y0) * ncol + col]
                z1 = hfield_data[adr + (int(y0) + 1) * ncol + col]
            else:
                y = (lpnt[0] + faces[i] * lvec[0] + size[0]) / dx
                y0 = wp.max(0.0, wp.min(float(ncol - 2), wp.floor(y)))
                row = 0
                if i == 3:
                    row = (nrow - 1) * ncol
                z0 = hfield_data[adr + int(y0) + row]
                z1 = hfield_data[adr + int(y0) + 1 + row]
            if z < z0 * (y0 + 1.0 - y) + z1 * (y - y0):
                x = faces[i]
                nloc = wp.vec3(0.0)
                nloc[i // 2] = float(2 * (i % 2) - 1)
    if x < 0.0:
        return x, wp.vec3(0.0)
    return x, mat * nloc


# ------------------------------------------------------------------------------------------------ kernels
@wp.kernel(enable_backward=False)
def eval_subtree_com(
    nbody: int,
    body_parentid: wp.array(dtype=wp.int32),
    body_mass: wp.array2d(dtype=wp.float32),
    xipos: wp.array2d(dtype=wp.vec3),
    root_origin: wp.array2d(dtype=wp.vec3),
    subtree_mass: wp.array2d(dtype=wp.float32),
    subtree_com: wp.array2d(dtype=wp.vec3),
):
    """Subtree masses and centres of mass (MuJoCo's mj_comPos; a massless subtree takes its body's xipos)."""
    w = wp.tid()
    for b in range(nbody):
        subtree_mass[w, b] = body_mass[w, b]
        subtree_com[w, b] = body_mass[w, b] * xipos[w, b]
    for bb in range(nbody - 1):
        b = nbody - 1 - bb
        p = body_parentid[b]
        subtree_mass[w, p] += subtree_mass[w, b]
        if p > 0:
            subtree_com[w, p] += subtree_com[w, b]
        else:  # the world's subtree spans every tree: world coordinates
            subtree_com[w, 0] += subtree_com[w, b] + subtree_mass[w, b] * root_origin[w, b]
    for b in range(nbody):
        if subtree_mass[w, b] < MINVAL:
            subtree_com[w, b] = xipos[w, b]
        else:
            subtree_com[w, b] = subtree_com[w, b] / subtree_mass[w, b]


@wp.func
def kinetic_energy(w: int, nv: int, qvel: wp.array2d(dtype=wp.float32), qM: wp.array3d(dtype=wp.float32)):
    """½ qvelᵀ M qvel (MuJoCo's mj_energyVel)."""
    kin = float(0.0)
    for i in range(nv):
        mv = float(0.0)
        for j in range(nv):
            mv += qM[w, i, j] * qvel[w, j]
        kin += 0.5 * qvel[w, i] * mv
    return kin


@wp.kernel(enable_backward=False)
def eval_energy(
    nbody: int,
    njnt: int,
    ntendon: int,
    nv: int,
    energy_pos: int,
    energy_vel: int,
    jnt_type: wp.array(dtype=wp.int32),
    jnt_qposadr: wp.array(dtype=wp.int32),
    jnt_stiffness: wp.array(dtype=wp.float32),
    qpos_spring: wp.array(dtype=wp.float32),
    tendon_stiffness: wp.array(dtype=wp.float32),
    tendon_lengthspring: wp.array(dtype=wp.vec2),
    gravity: wp.array(dtype=wp.vec3),
    body_mass: wp.array2d(dtype=wp.float32),
    qpos: wp.array2d(dtype=wp.float32),
    qvel: wp.array2d(dtype=wp.float32),
    root_origin: wp.array2d(dtype=wp.vec3),
    xipos: wp.array2d(dtype=wp.vec3),
    ten_length: wp.array2d(dtype=wp.float32),
    qM: wp.array3d(dtype=wp.float32),
    energy: wp.array2d(dtype=wp.float32),
):
    """Potential energy (gravity, joint and tendon springs; MuJoCo's mj_energyPos) and kinetic energy
    ½ qvelᵀ M qvel (mj_energyVel), as MuJoCo 4 leaves them in ``energy``: the potential with the energy flag or an
    e_potential sensor, the kinetic with the energy flag or both energy sensors; 0 otherwise."""
    w = wp.tid()
    pot = float(0.0)
    if energy_pos != 0:
        for b in range(1, nbody):
            pot -= body_mass[w, b] * wp.dot(gravity[w], root_origin[w, b] + xipos[w, b])
        for j in range(njnt):
            k = jnt_stiffness[j]
            if k != 0.0:
                a = jnt_qposadr[j]
                t = jnt_type[j]
                if t == JNT_FREE:
                    d = wp.vec3(qpos[w, a] - qpos_spring[a], qpos[w, a + 1] - qpos_spring[a + 1],
                                qpos[w, a + 2] - qpos_spring[a + 2])  # fmt: skip
                    pot += 0.5 * k * wp.dot(d, d)
                    a += 3
                if t == JNT_FREE or t == JNT_BALL:
                    q = quat_from_mj(qpos[w, a], qpos[w, a + 1], qpos[w, a + 2], qpos[w, a + 3])
                    q0 = quat_from_mj(qpos_spring[a], qpos_spring[a + 1], qpos_spring[a + 2], qpos_spring[a + 3])
                    r = quat_sub(q, q0)
                    pot += 0.5 * k * wp.dot(r, r)
                else:
                    x = qpos[w, a] - qpos_spring[a]
                    pot += 0.5 * k * x * x
        for t in range(ntendon):
            length = ten_length[w, t]
            lo = tendon_lengthspring[t][0]
            hi = tendon_lengthspring[t][1]
            x = float(0.0)
            if length > hi:
                x = length - hi
            elif length < lo:
                x = length - lo
            pot += 0.5 * tendon_stiffness[t] * x * x
    kin = float(0.0)
    if energy_vel != 0:
        kin = kinetic_energy(w, nv, qvel, qM)
    energy[w, 0] = pot
    energy[w, 1] = kin


@wp.kernel(enable_backward=False)
def eval_subtree_vel(
    nbody: int,
    body_subtreeofs: wp.array(dtype=wp.int32),
    body_subtree: wp.array(dtype=wp.int32),
    body_mass: wp.array2d(dtype=wp.float32),
    body_inertia: wp.array2d(dtype=wp.vec3),
    root_origin: wp.array2d(dtype=wp.vec3),
    xipos: wp.array2d(dtype=wp.vec3),
    ximat: wp.array2d(dtype=wp.mat33),
    cvel: wp.array2d(dtype=wp.spatial_vector),
    subtree_mass: wp.array2d(dtype=wp.float32),
    subtree_com: wp.array2d(dtype=wp.vec3),
    subtree_linvel: wp.array2d(dtype=wp.vec3),
    subtree_angmom: wp.array2d(dtype=wp.vec3),
):
    """Velocity of each subtree's centre of mass and its angular momentum about it (MuJoCo's mj_subtreeVel),
    summed directly over the subtree's bodies: Σ Iᵢωᵢ + mᵢ (xᵢ - c) × (vᵢ - v_c)."""
    w = wp.tid()
    for b in range(nbody):
        start = body_subtreeofs[b]
        end = body_subtreeofs[b + 1]
        mom = wp.vec3(0.0)
        for k in range(start, end):
            i = body_subtree[k]
            mom += body_mass[w, i] * body_com_velocity(w, i, cvel, xipos)
        vel = mom / wp.max(MINVAL, subtree_mass[w, b])
        com = subtree_com[w, b]
        ang = wp.vec3(0.0)
        for k in range(start, end):
            i = body_subtree[k]
            rot = ximat[w, i]
            omega = sv_ang(cvel[w, i])
            ang += rot * wp.cw_mul(body_inertia[w, i], wp.transpose(rot) * omega)
            x = xipos[w, i]
            if b == 0:
                x = x + root_origin[w, i]
            dv = body_com_velocity(w, i, cvel, xipos) - vel
            ang += body_mass[w, i] * wp.cross(x - com, dv)
        subtree_linvel[w, b] = vel
        subtree_angmom[w, b] = ang


@wp.func
def add_wrench(cfrc: wp.array2d(dtype=wp.spatial_vector), w: int, b: int, point: wp.vec3, force: wp.vec3,
               torque: wp.vec3, sign: float):  # fmt: skip
    """cfrc[w, b] += sign · (torque + point × force, force): a force applied at ``point`` (relative to b's tree
    origin), nothing for the world body."""
    if b > 0:
        cfrc[w, b] = cfrc[w, b] + sign * sv(torque + wp.cross(point, force), force)


@wp.func
def add_contact_forces(
    w: int,
    elliptic: int,
    geom_bodyid: wp.array(dtype=wp.int32),
    geom_rootid: wp.array(dtype=wp.int32),
    slot_pair: wp.array(dtype=wp.int32),
    pair_geom1: wp.array(dtype=wp.int32),
    pair_geom2: wp.array(dtype=wp.int32),
    root_origin: wp.array2d(dtype=wp.vec3),
    ncon: wp.array2d(dtype=wp.int32),
    contact_slot: wp.array2d(dtype=wp.int32),
    contact_efcadr: wp.array2d(dtype=wp.int32),
    contact_dim: wp.array2d(dtype=wp.int32),
    contact_friction: wp.array2d(dtype=vec5),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
    efc_force: wp.array2d(dtype=wp.float32),
    cfrc_ext: wp.array2d(dtype=wp.spatial_vector),
):
    """Contact forces: geom2's body receives the contact's force and torque at the contact point, geom1's body
    their opposite."""
    for k in range(ncon[w, 0]):
        slot = contact_slot[w, k]
        p = slot_pair[slot]
        g1 = pair_geom1[p]
        g2 = pair_geom2[p]
        b1 = geom_bodyid[g1]
        b2 = geom_bodyid[g2]
        lf = contact_wrench(w, k, elliptic, contact_efcadr, contact_dim, contact_friction, efc_force)
        fr = wp.transpose(contact_frame[w, slot])
        force = fr * wp.vec3(lf[0], lf[1], lf[2])
        torque = fr * wp.vec3(lf[3], lf[4], lf[5])
        pos = contact_pos[w, slot]  # relative to the tree origin of contact_root
        root = contact_root(g1, g2, geom_rootid)
        add_wrench(cfrc_ext, w, b1, pos + origin_shift(w, root, geom_rootid[g1], root_origin), force, torque, -1.0)
        add_wrench(cfrc_ext, w, b2, pos + origin_shift(w, root, geom_rootid[g2], root_origin), force, torque, 1.0)


@wp.func
def eq_frame(w: int, obj: int, first: int, data: vec_eqdata, objtype: int, site_bodyid: wp.array(dtype=wp.int32),
             site_pos: wp.array(dtype=wp.vec3), site_quat: wp.array(dtype=wp.quat), xpos: wp.array2d(dtype=wp.vec3),
             xquat: wp.array2d(dtype=wp.quat)):  # fmt: skip
    """Body, anchor (relative to its tree origin) and frame orientation of a connect/weld object: a body with the
    anchor eq_data[first:first+3], or a site (the world when obj < 0)."""
    body = int(0)
    offset = wp.vec3(0.0)
    rot = wp.quat_identity()
    if obj >= 0:
        body = obj
        offset = wp.vec3(data[first], data[first + 1], data[first + 2])
        if objtype == OBJ_SITE:
            body = site_bodyid[obj]
            offset = site_pos[obj]
            rot = site_quat[obj]
    return body, xpos[w, body] + wp.quat_rotate(xquat[w, body], offset), xquat[w, body] * rot


@wp.func
def add_equality_forces(
    w: int,
    neq: int,
    eq_type: wp.array(dtype=wp.int32),
    eq_obj1id: wp.array(dtype=wp.int32),
    eq_obj2id: wp.array(dtype=wp.int32),
    eq_objtype: wp.array(dtype=wp.int32),
    eq_data: wp.array(dtype=vec_eqdata),
    eq_efcadr: wp.array(dtype=wp.int32),
    site_bodyid: wp.array(dtype=wp.int32),
    site_pos: wp.array(dtype=wp.vec3),
    site_quat: wp.array(dtype=wp.quat),
    xpos: wp.array2d(dtype=wp.vec3),
    xquat: wp.array2d(dtype=wp.quat),
    efc_force: wp.array2d(dtype=wp.float32),
    cfrc_ext: wp.array2d(dtype=wp.spatial_vector),
):
    """Connect and weld forces: object 1 receives the constraint force at its anchor, object 2 the opposite. A
    weld's rotational rows give the torque 0.5·torquescale·R(q₂)(e_w λ + e_v × λ), e = q₂⁻¹ q₁ its orientation
    error (q₁ including the relative pose), as MuJoCo 4's mj_rnePostConstraint."""
    for e in range(neq):
        adr = eq_efcadr[e]
        typ = eq_type[e]
        if adr >= 0 and (typ == EQ_CONNECT or typ == EQ_WELD):
            data = eq_data[e]
            weld = typ == EQ_WELD
            first1 = 0  # eq_data offset of each body's anchor: connect (0, 3), weld (3, 0)
            if weld:
                first1 = 3
            b1, p1, q1 = eq_frame(w, eq_obj1id[e], first1, data, eq_objtype[e], site_bodyid, site_pos, site_quat,
                                  xpos, xquat)  # fmt: skip
            b2, p2, q2 = eq_frame(w, eq_obj2id[e], 3 - first1, data, eq_objtype[e], site_bodyid, site_pos,
                                  site_quat, xpos, xquat)  # fmt: skip
            force = wp.vec3(efc_force[w, adr], efc_force[w, adr + 1], efc_force[w, adr + 2])
            torque = wp.vec3(0.0)
            if weld:
                lam = wp.vec3(efc_force[w, adr + 3], efc_force[w, adr + 4], efc_force[w, adr + 5])
                if eq_objtype[e] != OBJ_SITE:
                    q1 = q1 * wp.quat(data[7], data[8], data[9], data[6])  # relpose (MuJoCo order in eq_data)
                err = wp.quat_inverse(q2) * q1
                ev = wp.vec3(err[0], err[1], err[2])
                torque = (0.5 * data[10]) * wp.quat_rotate(q2, err[3] * lam + wp.cross(ev, lam))
            add_wrench(cfrc_ext, w, b1, p1, force, torque, 1.0)
            add_wrench(cfrc_ext, w, b2, p2, force, torque, -1.0)


@wp.func
def tendon_force(
    w: int,
    t: int,
    nu: int,
    tendon_stiffness: wp.array(dtype=wp.float32),
    tendon_damping: wp.array(dtype=wp.float32),
    tendon_lengthspring: wp.array(dtype=wp.vec2),
    tendon_length0: wp.array(dtype=wp.float32),
    actuator_trntype: wp.array(dtype=wp.int32),
    actuator_trnid: wp.array(dtype=wp.int32),
    eq_type: wp.array(dtype=wp.int32),
    eq_obj1id: wp.array(dtype=wp.int32),
    eq_obj2id: wp.array(dtype=wp.int32),
    eq_data: wp.array(dtype=vec_eqdata),
    actuator_gear: wp.array2d(dtype=wp.float32),
    ten_length: wp.array2d(dtype=wp.float32),
    ten_velocity: wp.array2d(dtype=wp.float32),
    actuator_force: wp.array2d(dtype=wp.float32),
    nefc: wp.array2d(dtype=wp.int32),
    efc_type: wp.array2d(dtype=wp.int32),
    efc_id: wp.array2d(dtype=wp.int32),
    efc_sub: wp.array2d(dtype=wp.int32),
    efc_force: wp.array2d(dtype=wp.float32),
):
    """Force along tendon t (positive lengthens it) from its spring, damper, actuators, limit, friction-loss and
    equality rows: what its path applies to the bodies."""
    length = ten_length[w, t]
    f = -tendon_damping[t] * ten_velocity[w, t]
    if length > tendon_lengthspring[t][1]:
        f -= tendon_stiffness[t] * (length - tendon_lengthspring[t][1])
    elif length < tendon_lengthspring[t][0]:
        f -= tendon_stiffness[t] * (length - tendon_lengthspring[t][0])
    for a in range(nu):
        if actuator_trntype[a] == TRN_TENDON and actuator_trnid[a] == t:
            f += actuator_gear[w, a] * actuator_force[w, a]
    for r in range(nefc[w, 0]):
        typ = efc_type[w, r]
        oid = efc_id[w, r]
        lam = efc_force[w, r]
        if typ == CNSTR_LIMIT_TENDON and oid == t:
            if efc_sub[w, r] == 0:  # the lower limit's Jacobian is +ten_J, the upper's -ten_J
                f += lam
            else:
                f -= lam
        elif typ == CNSTR_FRICTION_TENDON and oid == t:
            f += lam
        elif typ == CNSTR_EQUALITY and eq_type[oid] == EQ_TENDON:
            if eq_obj1id[oid] == t:
                f += lam
            if eq_obj2id[oid] == t:  # Jacobian -poly'(x₂) ten_J₂
                d = eq_data[oid]
                x = ten_length[w, t] - tendon_length0[t]
                f -= lam * (d[1] + x * (2.0 * d[2] + x * (3.0 * d[3] + x * 4.0 * d[4])))
    return f


@wp.kernel(enable_backward=False)
def eval_rne_post(
    nbody: int,
    neq: int,
    nu: int,
    nspatial: int,
    elliptic: int,
    body_parentid: wp.array(dtype=wp.int32),
    body_dofadr: wp.array(dtype=wp.int32),
    body_dofnum: wp.array(dtype=wp.int32),
    body_iquat: wp.array(dtype=wp.quat),
    geom_bodyid: wp.array(dtype=wp.int32),
    geom_rootid: wp.array(dtype=wp.int32),
    site_bodyid: wp.array(dtype=wp.int32),
    site_pos: wp.array(dtype=wp.vec3),
    site_quat: wp.array(dtype=wp.quat),
    slot_pair: wp.array(dtype=wp.int32),
    pair_geom1: wp.array(dtype=wp.int32),
    pair_geom2: wp.array(dtype=wp.int32),
    eq_type: wp.array(dtype=wp.int32),
    eq_obj1id: wp.array(dtype=wp.int32),
    eq_obj2id: wp.array(dtype=wp.int32),
    eq_objtype: wp.array(dtype=wp.int32),
    eq_data: wp.array(dtype=vec_eqdata),
    eq_efcadr: wp.array(dtype=wp.int32),
    ten_spatial: wp.array(dtype=wp.int32),
    tendon_adr: wp.array(dtype=wp.int32),
    tendon_num: wp.array(dtype=wp.int32),
    wrap_type: wp.array(dtype=wp.int32),
    wrap_objid: wp.array(dtype=wp.int32),
    wrap_divisor: wp.array(dtype=wp.float32),
    tendon_stiffness: wp.array(dtype=wp.float32),
    tendon_damping: wp.array(dtype=wp.float32),
    tendon_lengthspring: wp.array(dtype=wp.vec2),
    tendon_length0: wp.array(dtype=wp.float32),
    actuator_trntype: wp.array(dtype=wp.int32),
    actuator_trnid: wp.array(dtype=wp.int32),
    gravity: wp.array(dtype=wp.vec3),
    body_mass: wp.array2d(dtype=wp.float32),
    body_inertia: wp.array2d(dtype=wp.vec3),
    actuator_gear: wp.array2d(dtype=wp.float32),
    qvel: wp.array2d(dtype=wp.float32),
    qacc: wp.array2d(dtype=wp.float32),
    root_origin: wp.array2d(dtype=wp.vec3),
    xpos: wp.array2d(dtype=wp.vec3),
    xquat: wp.array2d(dtype=wp.quat),
    xipos: wp.array2d(dtype=wp.vec3),
    site_xpos: wp.array2d(dtype=wp.vec3),
    cdof: wp.array2d(dtype=wp.spatial_vector),
    cdof_dot: wp.array2d(dtype=wp.spatial_vector),
    cvel: wp.array2d(dtype=wp.spatial_vector),
    ten_length: wp.array2d(dtype=wp.float32),
    ten_velocity: wp.array2d(dtype=wp.float32),
    actuator_force: wp.array2d(dtype=wp.float32),
    ncon: wp.array2d(dtype=wp.int32),
    contact_slot: wp.array2d(dtype=wp.int32),
    contact_efcadr: wp.array2d(dtype=wp.int32),
    contact_dim: wp.array2d(dtype=wp.int32),
    contact_friction: wp.array2d(dtype=vec5),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
    nefc: wp.array2d(dtype=wp.int32),
    efc_type: wp.array2d(dtype=wp.int32),
    efc_id: wp.array2d(dtype=wp.int32),
    efc_sub: wp.array2d(dtype=wp.int32),
    efc_force: wp.array2d(dtype=wp.float32),
    subtree_com: wp.array2d(dtype=wp.vec3),
    # outputs
    sensor_cacc: wp.array2d(dtype=wp.spatial_vector),
    cfrc_ext: wp.array2d(dtype=wp.spatial_vector),
    cfrc_int: wp.array2d(dtype=wp.spatial_vector),
):
    """MuJoCo's mj_rnePostConstraint: accelerations with the constrained qacc, the forces of contacts, connect and
    weld constraints and spatial tendons on each body (``cfrc_ext``), and the force each body receives from its
    parent (``cfrc_int``). Like MuJoCo, the world's ``cfrc_int`` adds up its children's with each torque about its
    own tree's centre of mass, and is read as if about the model's centre of mass (a force/torque sensor on a
    world site)."""
    w = wp.tid()
    for b in range(nbody):
        cfrc_ext[w, b] = wp.spatial_vector()
    add_contact_forces(w, elliptic, geom_bodyid, geom_rootid, slot_pair, pair_geom1, pair_geom2, root_origin, ncon,
                       contact_slot, contact_efcadr, contact_dim, contact_friction, contact_pos, contact_frame,
                       efc_force, cfrc_ext)  # fmt: skip
    add_equality_forces(w, neq, eq_type, eq_obj1id, eq_obj2id, eq_objtype, eq_data, eq_efcadr, site_bodyid, site_pos,
                        site_quat, xpos, xquat, efc_force, cfrc_ext)  # fmt: skip
    # spatial tendons: each straight segment pulls its two sites' bodies along it
    for i in range(nspatial):
        t = ten_spatial[i]
        tf = tendon_force(w, t, nu, tendon_stiffness, tendon_damping, tendon_lengthspring, tendon_length0,
                          actuator_trntype, actuator_trnid, eq_type, eq_obj1id, eq_obj2id, eq_data, actuator_gear,
                          ten_length, ten_velocity, actuator_force, nefc, efc_type, efc_id, efc_sub,
                          efc_force)  # fmt: skip
        for k in range(tendon_adr[t], tendon_adr[t] + tendon_num[t] - 1):
            if wrap_type[k] == WRAP_SITE and wrap_type[k + 1] == WRAP_SITE:
                s0 = wrap_objid[k]
                s1 = wrap_objid[k + 1]
                b0 = site_bodyid[s0]
                b1 = site_bodyid[s1]
                seg = (root_origin[w, b1] - root_origin[w, b0]) + (site_xpos[w, s1] - site_xpos[w, s0])
                force = seg * (tf / (wp.max(wp.length(seg), 1.0e-12) * wrap_divisor[k]))
                add_wrench(cfrc_ext, w, b1, site_xpos[w, s1], force, wp.vec3(0.0), 1.0)
                add_wrench(cfrc_ext, w, b0, site_xpos[w, s0], force, wp.vec3(0.0), -1.0)
    # forward pass: accelerations and body forces
    sensor_cacc[w, 0] = sv(wp.vec3(0.0), -gravity[w])
    for b in range(1, nbody):
        a = sensor_cacc[w, body_parentid[b]]
        for k in range(body_dofadr[b], body_dofadr[b] + body_dofnum[b]):
            a = a + cdof_dot[w, k] * qvel[w, k] + cdof[w, k] * qacc[w, k]
        sensor_cacc[w, b] = a
        m = body_mass[w, b]
        rot = wp.quat_to_matrix(xquat[w, b] * body_iquat[b])
        com = xipos[w, b]
        io = inertia_about_origin(m, com, rot * wp.diag(body_inertia[w, b]) * wp.transpose(rot))
        v = cvel[w, b]
        body_force = inertia_mul(m, m * com, io, a) + cross_force(v, inertia_mul(m, m * com, io, v))
        cfrc_int[w, b] = body_force - cfrc_ext[w, b]
    # backward pass; the world's entry sums the trees' forces with torques about each tree's centre of mass
    cfrc_int[w, 0] = wp.spatial_vector()
    for bb in range(nbody - 1):
        b = nbody - 1 - bb
        p = body_parentid[b]
        f = cfrc_int[w, b]
        if p > 0:
            cfrc_int[w, p] += f
        else:
            cfrc_int[w, 0] += sv(sv_ang(f) - wp.cross(subtree_com[w, b], sv_lin(f)), sv_lin(f))


@wp.func
def camera_frame(
    w: int,
    c: int,
    cam_mode: wp.array(dtype=wp.int32),
    cam_bodyid: wp.array(dtype=wp.int32),
    cam_targetbodyid: wp.array(dtype=wp.int32),
    cam_pos: wp.array(dtype=wp.vec3),
    cam_quat: wp.array(dtype=wp.quat),
    cam_pos0: wp.array(dtype=wp.vec3),
    cam_poscom0: wp.array(dtype=wp.vec3),
    cam_mat0: wp.array(dtype=wp.mat33),
    root_origin: wp.array2d(dtype=wp.vec3),
    xpos: wp.array2d(dtype=wp.vec3),
    xquat: wp.array2d(dtype=wp.quat),
    subtree_com: wp.array2d(dtype=wp.vec3),
):
    """Camera c's position (relative to its body's tree origin) and orientation in its mode (MuJoCo's
    mj_camlight): fixed to its body, tracking its body or subtree centre of mass with a fixed orientation, or
    looking at a target body (or its subtree's centre of mass)."""
    b = cam_bodyid[c]
    pos = xpos[w, b] + wp.quat_rotate(xquat[w, b], cam_pos[c])
    mat = wp.quat_to_matrix(xquat[w, b] * cam_quat[c])
    mode = cam_mode[c]
    if mode == CAM_TRACK:
        pos = xpos[w, b] + cam_pos0[c]
        mat = cam_mat0[c]
    elif mode == CAM_TRACKCOM:
        pos = subtree_com[w, b] + cam_poscom0[c]
        mat = cam_mat0[c]
    elif (mode == CAM_TARGETBODY or mode == CAM_TARGETBODYCOM) and cam_targetbodyid[c] >= 0:
        t = cam_targetbodyid[c]
        target = xpos[w, t]
        if mode == CAM_TARGETBODYCOM:
            target = subtree_com[w, t]
        z = wp.normalize((pos - target) + (root_origin[w, b] - root_origin[w, t]))
        x = wp.normalize(wp.cross(wp.vec3(0.0, 0.0, 1.0), z))
        y = wp.normalize(wp.cross(z, x))
        mat = mat_from_cols(x, y, z)
    return pos, mat


@wp.func
def object_frame(
    w: int,
    objtype: int,
    objid: int,
    body_iquat: wp.array(dtype=wp.quat),
    geom_bodyid: wp.array(dtype=wp.int32),
    geom_quat: wp.array(dtype=wp.quat),
    site_bodyid: wp.array(dtype=wp.int32),
    site_quat: wp.array(dtype=wp.quat),
    cam_mode: wp.array(dtype=wp.int32),
    cam_bodyid: wp.array(dtype=wp.int32),
    cam_targetbodyid: wp.array(dtype=wp.int32),
    cam_pos: wp.array(dtype=wp.vec3),
    cam_quat: wp.array(dtype=wp.quat),
    cam_pos0: wp.array(dtype=wp.vec3),
    cam_poscom0: wp.array(dtype=wp.vec3),
    cam_mat0: wp.array(dtype=wp.mat33),
    root_origin: wp.array2d(dtype=wp.vec3),
    xpos: wp.array2d(dtype=wp.vec3),
    xquat: wp.array2d(dtype=wp.quat),
    xmat: wp.array2d(dtype=wp.mat33),
    xipos: wp.array2d(dtype=wp.vec3),
    ximat: wp.array2d(dtype=wp.mat33),
    geom_xpos: wp.array2d(dtype=wp.vec3),
    geom_xmat: wp.array2d(dtype=wp.mat33),
    site_xpos: wp.array2d(dtype=wp.vec3),
    site_xmat: wp.array2d(dtype=wp.mat33),
    subtree_com: wp.array2d(dtype=wp.vec3),
):
    """Position (relative to the tree origin), orientation matrix and quaternion of a body (its inertial frame),
    xbody (its frame), geom, site or camera, as MuJoCo's sensors read them (a camera's quaternion is its body's
    times cam_quat whatever its mode, as in MuJoCo)."""
    pos = wp.vec3(0.0)
    mat = wp.identity(n=3, dtype=float)
    quat = wp.quat_identity()
    if objtype == OBJ_BODY:
        pos = xipos[w, objid]
        mat = ximat[w, objid]
        quat = xquat[w, objid] * body_iquat[objid]
    elif objtype == OBJ_XBODY:
        pos = xpos[w, objid]
        mat = xmat[w, objid]
        quat = xquat[w, objid]
    elif objtype == OBJ_GEOM:
        pos = geom_xpos[w, objid]
        mat = geom_xmat[w, objid]
        quat = xquat[w, geom_bodyid[objid]] * geom_quat[objid]
    elif objtype == OBJ_SITE:
        pos = site_xpos[w, objid]
        mat = site_xmat[w, objid]
        quat = xquat[w, site_bodyid[objid]] * site_quat[objid]
    elif objtype == OBJ_CAMERA:
        pos, mat = camera_frame(w, objid, cam_mode, cam_bodyid, cam_targetbodyid, cam_pos, cam_quat, cam_pos0,
                                cam_poscom0, cam_mat0, root_origin, xpos, xquat, subtree_com)  # fmt: skip
        quat = xquat[w, cam_bodyid[objid]] * cam_quat[objid]
    return pos, mat, quat


@wp.kernel(enable_backward=False)
def eval_sensor_frames(
    sensor_objtype: wp.array(dtype=wp.int32),
    sensor_objid: wp.array(dtype=wp.int32),
    sensor_reftype: wp.array(dtype=wp.int32),
    sensor_refid: wp.array(dtype=wp.int32),
    body_iquat: wp.array(dtype=wp.quat),
    geom_bodyid: wp.array(dtype=wp.int32),
    geom_quat: wp.array(dtype=wp.quat),
    site_bodyid: wp.array(dtype=wp.int32),
    site_quat: wp.array(dtype=wp.quat),
    cam_mode: wp.array(dtype=wp.int32),
    cam_bodyid: wp.array(dtype=wp.int32),
    cam_targetbodyid: wp.array(dtype=wp.int32),
    cam_pos: wp.array(dtype=wp.vec3),
    cam_quat: wp.array(dtype=wp.quat),
    cam_pos0: wp.array(dtype=wp.vec3),
    cam_poscom0: wp.array(dtype=wp.vec3),
    cam_mat0: wp.array(dtype=wp.mat33),
    root_origin: wp.array2d(dtype=wp.vec3),
    xpos: wp.array2d(dtype=wp.vec3),
    xquat: wp.array2d(dtype=wp.quat),
    xmat: wp.array2d(dtype=wp.mat33),
    xipos: wp.array2d(dtype=wp.vec3),
    ximat: wp.array2d(dtype=wp.mat33),
    geom_xpos: wp.array2d(dtype=wp.vec3),
    geom_xmat: wp.array2d(dtype=wp.mat33),
    site_xpos: wp.array2d(dtype=wp.vec3),
    site_xmat: wp.array2d(dtype=wp.mat33),
    subtree_com: wp.array2d(dtype=wp.vec3),
    sensor_obj_pos: wp.array2d(dtype=wp.vec3),
    sensor_obj_mat: wp.array2d(dtype=wp.mat33),
    sensor_obj_quat: wp.array2d(dtype=wp.quat),
    sensor_ref_pos: wp.array2d(dtype=wp.vec3),
    sensor_ref_mat: wp.array2d(dtype=wp.mat33),
    sensor_ref_quat: wp.array2d(dtype=wp.quat),
):
    """Pose of each sensor's object and reference frame (identity where there is none), over (N, nsensor)."""
    w, s = wp.tid()
    pos, mat, quat = object_frame(w, sensor_objtype[s], sensor_objid[s], body_iquat, geom_bodyid, geom_quat,
                                  site_bodyid, site_quat, cam_mode, cam_bodyid, cam_targetbodyid, cam_pos, cam_quat,
                                  cam_pos0, cam_poscom0, cam_mat0, root_origin, xpos, xquat, xmat, xipos, ximat,
                                  geom_xpos, geom_xmat, site_xpos, site_xmat, subtree_com)  # fmt: skip
    sensor_obj_pos[w, s] = pos
    sensor_obj_mat[w, s] = mat
    sensor_obj_quat[w, s] = quat
    rtype = sensor_reftype[s]
    if sensor_refid[s] < 0:
        rtype = 0
    pos, mat, quat = object_frame(w, rtype, sensor_refid[s], body_iquat, geom_bodyid, geom_quat, site_bodyid,
                                  site_quat, cam_mode, cam_bodyid, cam_targetbodyid, cam_pos, cam_quat, cam_pos0,
                                  cam_poscom0, cam_mat0, root_origin, xpos, xquat, xmat, xipos, ximat, geom_xpos,
                                  geom_xmat, site_xpos, site_xmat, subtree_com)  # fmt: skip
    sensor_ref_pos[w, s] = pos
    sensor_ref_mat[w, s] = mat
    sensor_ref_quat[w, s] = quat


@wp.func
def touch_value(
    w: int,
    site: int,
    body: int,
    elliptic: int,
    site_type: wp.array(dtype=wp.int32),
    site_size: wp.array(dtype=wp.vec3),
    geom_bodyid: wp.array(dtype=wp.int32),
    geom_rootid: wp.array(dtype=wp.int32),
    slot_pair: wp.array(dtype=wp.int32),
    pair_geom1: wp.array(dtype=wp.int32),
    pair_geom2: wp.array(dtype=wp.int32),
    root_origin: wp.array2d(dtype=wp.vec3),
    site_xpos: wp.array2d(dtype=wp.vec3),
    site_xmat: wp.array2d(dtype=wp.mat33),
    ncon: wp.array2d(dtype=wp.int32),
    contact_slot: wp.array2d(dtype=wp.int32),
    contact_efcadr: wp.array2d(dtype=wp.int32),
    contact_dim: wp.array2d(dtype=wp.int32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
    efc_force: wp.array2d(dtype=wp.float32),
):
    """MuJoCo's touch sensor: the normal forces of the site body's contacts whose ray, from the contact point
    along the normal (pointing away from the other body), meets the site's volume."""
    total = float(0.0)
    for k in range(ncon[w, 0]):
        slot = contact_slot[w, k]
        p = slot_pair[slot]
        g1 = pair_geom1[p]
        g2 = pair_geom2[p]
        b1 = geom_bodyid[g1]
        b2 = geom_bodyid[g2]
        if body == b1 or body == b2:
            fn = contact_normal_force(w, k, elliptic, contact_efcadr, contact_dim, efc_force)
            if fn > 0.0:
                ray = contact_frame[w, slot][0]
                tree = geom_rootid[g1]
                if body == b2:
                    ray = -ray
                    tree = geom_rootid[g2]
                origin = contact_pos[w, slot] + origin_shift(w, contact_root(g1, g2, geom_rootid), tree, root_origin)
                x, n = ray_primitive(site_type[site], site_xpos[w, site], site_xmat[w, site], site_size[site],
                                     origin, ray)  # fmt: skip
                if x >= 0.0:
                    total += fn
    return total


@wp.func
def limit_row(w: int, typ: int, obj: int, nefc: wp.array2d(dtype=wp.int32), efc_type: wp.array2d(dtype=wp.int32),
              efc_id: wp.array2d(dtype=wp.int32)):  # fmt: skip
    """First constraint row of joint or tendon ``obj``'s limit (-1: not active)."""
    for r in range(nefc[w, 0]):
        if efc_type[w, r] == typ and efc_id[w, r] == obj:
            return r
    return -1


@wp.kernel(enable_backward=False)
def eval_sensor_values(
    nu: int,
    nv: int,
    elliptic: int,
    magnetic: wp.vec3,
    sensor_type: wp.array(dtype=wp.int32),
    sensor_objtype: wp.array(dtype=wp.int32),
    sensor_objid: wp.array(dtype=wp.int32),
    sensor_refid: wp.array(dtype=wp.int32),
    sensor_dim: wp.array(dtype=wp.int32),
    sensor_adr: wp.array(dtype=wp.int32),
    sensor_cutoff: wp.array(dtype=wp.float32),
    sensor_datatype: wp.array(dtype=wp.int32),
    sensor_objbody: wp.array(dtype=wp.int32),
    sensor_refbody: wp.array(dtype=wp.int32),
    body_weldid: wp.array(dtype=wp.int32),
    body_dofnum: wp.array(dtype=wp.int32),
    jnt_qposadr: wp.array(dtype=wp.int32),
    jnt_dofadr: wp.array(dtype=wp.int32),
    geom_bodyid: wp.array(dtype=wp.int32),
    geom_rootid: wp.array(dtype=wp.int32),
    site_bodyid: wp.array(dtype=wp.int32),
    site_type: wp.array(dtype=wp.int32),
    site_size: wp.array(dtype=wp.vec3),
    actuator_trntype: wp.array(dtype=wp.int32),
    actuator_trnid: wp.array(dtype=wp.int32),
    slot_pair: wp.array(dtype=wp.int32),
    pair_geom1: wp.array(dtype=wp.int32),
    pair_geom2: wp.array(dtype=wp.int32),
    actuator_gear: wp.array2d(dtype=wp.float32),
    time: wp.array(dtype=wp.float64),
    qpos: wp.array2d(dtype=wp.float32),
    qvel: wp.array2d(dtype=wp.float32),
    root_origin: wp.array2d(dtype=wp.vec3),
    site_xpos: wp.array2d(dtype=wp.vec3),
    site_xmat: wp.array2d(dtype=wp.mat33),
    cvel: wp.array2d(dtype=wp.spatial_vector),
    ten_length: wp.array2d(dtype=wp.float32),
    ten_velocity: wp.array2d(dtype=wp.float32),
    actuator_force: wp.array2d(dtype=wp.float32),
    qfrc_actuator: wp.array2d(dtype=wp.float32),
    ncon: wp.array2d(dtype=wp.int32),
    contact_slot: wp.array2d(dtype=wp.int32),
    contact_efcadr: wp.array2d(dtype=wp.int32),
    contact_dim: wp.array2d(dtype=wp.int32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
    nefc: wp.array2d(dtype=wp.int32),
    efc_type: wp.array2d(dtype=wp.int32),
    efc_id: wp.array2d(dtype=wp.int32),
    efc_pos: wp.array2d(dtype=wp.float32),
    efc_margin: wp.array2d(dtype=wp.float32),
    efc_vel: wp.array2d(dtype=wp.float32),
    efc_force: wp.array2d(dtype=wp.float32),
    subtree_com: wp.array2d(dtype=wp.vec3),
    subtree_linvel: wp.array2d(dtype=wp.vec3),
    subtree_angmom: wp.array2d(dtype=wp.vec3),
    sensor_cacc: wp.array2d(dtype=wp.spatial_vector),
    cfrc_int: wp.array2d(dtype=wp.spatial_vector),
    energy: wp.array2d(dtype=wp.float32),
    qM: wp.array3d(dtype=wp.float32),
    sensor_obj_pos: wp.array2d(dtype=wp.vec3),
    sensor_obj_mat: wp.array2d(dtype=wp.mat33),
    sensor_obj_quat: wp.array2d(dtype=wp.quat),
    sensor_ref_pos: wp.array2d(dtype=wp.vec3),
    sensor_ref_mat: wp.array2d(dtype=wp.mat33),
    sensor_ref_quat: wp.array2d(dtype=wp.quat),
    sensordata: wp.array2d(dtype=wp.float32),
):
    """Every sensor but the rangefinders, over (N, nsensor), then MuJoCo's cutoff (real values clamped to
    ±cutoff, positive ones to cutoff; axes and quaternions untouched)."""
    w, s = wp.tid()
    typ = sensor_type[s]
    if typ == S_RANGEFINDER:
        return
    adr = sensor_adr[s]
    obj = sensor_objid[s]
    body = sensor_objbody[s]
    pos = sensor_obj_pos[w, s]
    mat = sensor_obj_mat[w, s]
    hasref = sensor_refid[s] >= 0
    rbody = sensor_refbody[s]
    rpos = sensor_ref_pos[w, s]
    rmat = sensor_ref_mat[w, s]
    static = is_static(body, body_weldid, body_dofnum)

    if typ == S_TOUCH:
        sensordata[w, adr] = touch_value(w, obj, body, elliptic, site_type, site_size, geom_bodyid, geom_rootid,
                                         slot_pair, pair_geom1, pair_geom2, root_origin, site_xpos, site_xmat, ncon,
                                         contact_slot, contact_efcadr, contact_dim, contact_pos, contact_frame,
                                         efc_force)  # fmt: skip
    elif typ == S_VELOCIMETER or typ == S_GYRO or typ == S_FRAMELINVEL or typ == S_FRAMEANGVEL:
        ang = wp.vec3(0.0)
        lin = wp.vec3(0.0)
        if not static:
            ang = sv_ang(cvel[w, body])
            lin = point_velocity(cvel[w, body], pos)
        if typ == S_VELOCIMETER or typ == S_GYRO:  # in the site's frame
            ang = wp.transpose(mat) * ang
            lin = wp.transpose(mat) * lin
        elif hasref:  # relative to the (rotating) reference frame, in its axes
            rang = wp.vec3(0.0)
            rlin = wp.vec3(0.0)
            if not is_static(rbody, body_weldid, body_dofnum):
                rang = sv_ang(cvel[w, rbody])
                rlin = point_velocity(cvel[w, rbody], rpos)
            rvec = (pos - rpos) + (root_origin[w, body] - root_origin[w, rbody])
            lin = wp.transpose(rmat) * (lin - rlin + wp.cross(rvec, rang))
            ang = wp.transpose(rmat) * (ang - rang)
        if typ == S_VELOCIMETER or typ == S_FRAMELINVEL:
            write3(sensordata, w, adr, lin)
        else:
            write3(sensordata, w, adr, ang)
    elif typ == S_ACCELEROMETER or typ == S_FRAMELINACC or typ == S_FRAMEANGACC:
        # static bodies too: the world's acceleration is -gravity (MuJoCo 4 reports the proper acceleration)
        a = sensor_cacc[w, body]
        v = cvel[w, body]
        ang = sv_ang(a)
        lin = point_velocity(a, pos) + wp.cross(sv_ang(v), point_velocity(v, pos))
        if typ == S_ACCELEROMETER:
            write3(sensordata, w, adr, wp.transpose(mat) * lin)
        elif typ == S_FRAMELINACC:
            write3(sensordata, w, adr, lin)
        else:
            write3(sensordata, w, adr, ang)
    elif typ == S_FORCE or typ == S_TORQUE:
        f = cfrc_int[w, body]
        lever = pos  # from the reference point of cfrc_int: the tree origin (the world's: its centre of mass)
        if body == 0:
            lever = pos - subtree_com[w, 0]
        if typ == S_FORCE:
            write3(sensordata, w, adr, wp.transpose(mat) * sv_lin(f))
        else:
            write3(sensordata, w, adr, wp.transpose(mat) * (sv_ang(f) - wp.cross(lever, sv_lin(f))))
    elif typ == S_MAGNETOMETER:
        write3(sensordata, w, adr, wp.transpose(mat) * magnetic)
    elif typ == S_JOINTPOS:
        sensordata[w, adr] = qpos[w, jnt_qposadr[obj]]
    elif typ == S_JOINTVEL:
        sensordata[w, adr] = qvel[w, jnt_dofadr[obj]]
    elif typ == S_TENDONPOS:
        sensordata[w, adr] = ten_length[w, obj]
    elif typ == S_TENDONVEL:
        sensordata[w, adr] = ten_velocity[w, obj]
    elif typ == S_ACTUATORPOS or typ == S_ACTUATORVEL:
        # the transmission's length and velocity (computed here: MuJoCo has them with actuation disabled too)
        tid = actuator_trnid[obj]
        gear = actuator_gear[w, obj]
        value = float(0.0)
        if actuator_trntype[obj] == TRN_TENDON:
            value = ten_length[w, tid]
            if typ == S_ACTUATORVEL:
                value = ten_velocity[w, tid]
        else:
            value = qpos[w, jnt_qposadr[tid]]
            if typ == S_ACTUATORVEL:
                value = qvel[w, jnt_dofadr[tid]]
        sensordata[w, adr] = gear * value
    elif typ == S_ACTUATORFRC:
        sensordata[w, adr] = actuator_force[w, obj]
    elif typ == S_JOINTACTFRC:
        sensordata[w, adr] = qfrc_actuator[w, jnt_dofadr[obj]]
    elif typ == S_TENDONACTFRC:
        total = float(0.0)
        for act in range(nu):
            if actuator_trntype[act] == TRN_TENDON and actuator_trnid[act] == obj:
                total += actuator_force[w, act]
        sensordata[w, adr] = total
    elif typ == S_BALLQUAT:
        qa = jnt_qposadr[obj]
        bq = wp.vec4(qpos[w, qa], qpos[w, qa + 1], qpos[w, qa + 2], qpos[w, qa + 3])
        norm = wp.length(bq)
        if norm < MINVAL:
            bq = wp.vec4(1.0, 0.0, 0.0, 0.0)
        else:
            bq = bq / norm
        for i in range(4):
            sensordata[w, adr + i] = bq[i]
    elif typ == S_BALLANGVEL:
        da = jnt_dofadr[obj]
        write3(sensordata, w, adr, wp.vec3(qvel[w, da], qvel[w, da + 1], qvel[w, da + 2]))
    elif typ >= S_JOINTLIMITPOS and typ <= S_TENDONLIMITFRC:
        kind = typ - S_JOINTLIMITPOS  # 0 joint pos, 1 joint vel, 2 joint frc, 3-5 tendon
        ctype = CNSTR_LIMIT_JOINT
        if kind >= 3:
            ctype = CNSTR_LIMIT_TENDON
            kind = kind - 3
        r = limit_row(w, ctype, obj, nefc, efc_type, efc_id)
        value = float(0.0)
        if r >= 0:
            if kind == 0:
                value = efc_pos[w, r] - efc_margin[w, r]
            elif kind == 1:
                value = efc_vel[w, r]
            else:
                value = efc_force[w, r]
        sensordata[w, adr] = value
    elif typ == S_FRAMEPOS:
        if hasref:
            write3(sensordata, w, adr, wp.transpose(rmat) * ((pos - rpos) + (root_origin[w, body] -
                                                                            root_origin[w, rbody])))  # fmt: skip
        else:
            write3(sensordata, w, adr, root_origin[w, body] + pos)
    elif typ == S_FRAMEXAXIS or typ == S_FRAMEYAXIS or typ == S_FRAMEZAXIS:
        axis = mat_col(mat, typ - S_FRAMEXAXIS)
        if hasref:
            axis = wp.transpose(rmat) * axis
        write3(sensordata, w, adr, axis)
    elif typ == S_FRAMEQUAT:
        q = sensor_obj_quat[w, s]
        if hasref:
            q = wp.quat_inverse(sensor_ref_quat[w, s]) * q
        qm = quat_to_mj(q)
        for i in range(4):
            sensordata[w, adr + i] = qm[i]
    elif typ == S_SUBTREECOM:
        write3(sensordata, w, adr, root_origin[w, obj] + subtree_com[w, obj])
    elif typ == S_SUBTREELINVEL:
        write3(sensordata, w, adr, subtree_linvel[w, obj])
    elif typ == S_SUBTREEANGMOM:
        write3(sensordata, w, adr, subtree_angmom[w, obj])
    elif typ == S_E_POTENTIAL:
        sensordata[w, adr] = energy[w, 0]
    elif typ == S_E_KINETIC:  # computed here: MuJoCo 4 keeps energy[1] for the energy flag only
        sensordata[w, adr] = kinetic_energy(w, nv, qvel, qM)
    elif typ == S_CLOCK:
        sensordata[w, adr] = wp.float32(time[w])
    cutoff = sensor_cutoff[s]
    if cutoff > 0.0:
        dtype = sensor_datatype[s]
        for i in range(sensor_dim[s]):
            if dtype == DATATYPE_REAL:
                sensordata[w, adr + i] = wp.clamp(sensordata[w, adr + i], -cutoff, cutoff)
            elif dtype == DATATYPE_POSITIVE:
                sensordata[w, adr + i] = wp.min(sensordata[w, adr + i], cutoff)


@wp.kernel(enable_backward=False)
def eval_rangefinders(
    ngeom: int,
    rf_sensor: wp.array(dtype=wp.int32),
    rf_adr: wp.array(dtype=wp.int32),
    rf_dataspec: wp.array(dtype=wp.int32),
    rf_camera: wp.array(dtype=wp.int32),
    rf_dir: wp.array(dtype=wp.vec3),
    rf_ofs: wp.array(dtype=wp.vec3),
    sensor_cutoff: wp.array(dtype=wp.float32),
    sensor_objbody: wp.array(dtype=wp.int32),
    geom_type: wp.array(dtype=wp.int32),
    geom_bodyid: wp.array(dtype=wp.int32),
    geom_size: wp.array(dtype=wp.vec3),
    geom_dataid: wp.array(dtype=wp.int32),
    geom_rayskip: wp.array(dtype=wp.int32),
    mesh_vertadr: wp.array(dtype=wp.int32),
    mesh_vert: wp.array(dtype=wp.vec3),
    mesh_faceadr: wp.array(dtype=wp.int32),
    mesh_facenum: wp.array(dtype=wp.int32),
    mesh_face: wp.array(dtype=wp.int32),
    hfield_size: wp.array(dtype=wp.vec4),
    hfield_nrow: wp.array(dtype=wp.int32),
    hfield_ncol: wp.array(dtype=wp.int32),
    hfield_adr: wp.array(dtype=wp.int32),
    hfield_data: wp.array(dtype=wp.float32),
    root_origin: wp.array2d(dtype=wp.vec3),
    geom_xpos: wp.array2d(dtype=wp.vec3),
    geom_xmat: wp.array2d(dtype=wp.mat33),
    sensor_obj_pos: wp.array2d(dtype=wp.vec3),
    sensor_obj_mat: wp.array2d(dtype=wp.mat33),
    sensordata: wp.array2d(dtype=wp.float32),
):
    """Rangefinder rays over (N, nray) (MuJoCo's mj_ray, all geoms but those of the sensor's own body and the
    transparent ones), written as MuJoCo's fill_raydata: distance (-1: no hit), direction, origin, point,
    normal, depth (along a camera's axis), then the cutoff."""
    w, r = wp.tid()
    s = rf_sensor[r]
    body = sensor_objbody[s]
    mat = sensor_obj_mat[w, s]
    ofs = mat * rf_ofs[r]
    pnt = sensor_obj_pos[w, s] + ofs
    vec = wp.normalize(mat * rf_dir[r])
    dist = float(-1.0)
    normal = wp.vec3(0.0)
    for g in range(ngeom):
        gb = geom_bodyid[g]
        if gb != body and geom_rayskip[g] == 0:
            gpos = geom_xpos[w, g] + (root_origin[w, gb] - root_origin[w, body])
            gmat = geom_xmat[w, g]
            typ = geom_type[g]
            x = float(-1.0)
            n = wp.vec3(0.0)
            if typ == GEOM_MESH:
                x, n = ray_mesh(gpos, gmat, geom_size[g], geom_dataid[g], pnt, vec, mesh_vertadr, mesh_vert,
                                mesh_faceadr, mesh_facenum, mesh_face)  # fmt: skip
            elif typ == GEOM_HFIELD:
                x, n = ray_hfield(gpos, gmat, geom_dataid[g], pnt, vec, hfield_size, hfield_nrow, hfield_ncol,
                                  hfield_adr, hfield_data)  # fmt: skip
            else:
                x, n = ray_primitive(typ, gpos, gmat, geom_size[g], pnt, vec)
            if x >= 0.0 and (x < dist or dist < 0.0):
                dist = x
                normal = n
    hit = dist >= 0.0
    spec = rf_dataspec[r]
    adr = rf_adr[r]
    if (spec & RAY_DIST) != 0:
        sensordata[w, adr] = dist
        adr += 1
    if (spec & RAY_DIR) != 0:
        d = wp.vec3(0.0)
        if hit:
            d = vec
        write3(sensordata, w, adr, d)
        adr += 3
    origin = root_origin[w, body] + pnt
    if (spec & RAY_ORIGIN) != 0:
        write3(sensordata, w, adr, origin)
        adr += 3
    if (spec & RAY_POINT) != 0:
        p = wp.vec3(0.0)
        if hit:
            p = origin + dist * vec
        write3(sensordata, w, adr, p)
        adr += 3
    if (spec & RAY_NORMAL) != 0:
        write3(sensordata, w, adr, normal)
        adr += 3
    if (spec & RAY_DEPTH) != 0:
        depth = float(-1.0)
        if hit:
            depth = dist
            if rf_camera[r] != 0:  # along the camera's optical axis (-z)
                depth = -wp.dot(ofs + dist * vec, mat_col(mat, 2))
        sensordata[w, adr] = depth
        adr += 1
    cutoff = sensor_cutoff[s]
    if cutoff > 0.0:
        for i in range(rf_adr[r], adr):
            sensordata[w, i] = wp.clamp(sensordata[w, i], -cutoff, cutoff)


# ------------------------------------------------------------------------------------------------ launches
def _sensor_namespace(model, ns, n: int, energy_pos: int = 0, energy_vel: int = 0):
    """``ns`` with the scalars the sensor kernels take (and a zero clock outside the Simulator)."""
    extra = {"nsensor": model.nsensor, "nspatial": len(_spatial_tendons(model.mj_model)), "energy_pos": energy_pos,
             "energy_vel": energy_vel}  # fmt: skip
    if "time" not in ns:  # outside the Simulator there is no clock: the clock sensor reads 0
        extra["time"] = wp.zeros(n, dtype=wp.float64, device=model.wp_device)
    return ns.with_layer({k: v for k, v in extra.items() if k not in ns})


def launch_body_forces(model, ns, n: int, rec) -> None:
    """MuJoCo's mj_rnePostConstraint on its own: ``subtree_com``, ``cfrc_ext``, ``cfrc_int`` (and the body
    accelerations) of the evaluation in ``ns``, for models that ask for them (``model.want_body_forces``)."""
    from .launch import launch

    ns = _sensor_namespace(model, ns, n)
    launch(eval_subtree_com, n, ns, model.wp_device, rec)
    launch(eval_rne_post, n, ns, model.wp_device, rec)


def launch_sensors(model, ns, n: int, rec) -> None:
    """Launch the sensor (and energy) kernels of ``model``; nothing when it has neither."""
    from .launch import launch

    mjm = model.mj_model
    sensors_on = model.opt.is_enabled("sensor") and model.nsensor > 0
    types = {int(t) for t in mjm.sensor_type} if sensors_on else set()
    energy_flag = model.opt.is_enabled("energy")
    energy_pos = int(energy_flag or int(_S.mjSENS_E_POTENTIAL) in types)
    # MuJoCo 4 computes e_kinetic at the position stage, and clears energy there unless potential energy was asked
    energy_vel = int(energy_flag or (int(_S.mjSENS_E_KINETIC) in types and int(_S.mjSENS_E_POTENTIAL) in types))
    if not sensors_on and not (energy_pos or energy_vel):
        return
    ns = _sensor_namespace(model, ns, n, energy_pos, energy_vel)
    dev = model.wp_device
    if energy_pos or energy_vel:
        launch(eval_energy, n, ns, dev, rec)
    if not sensors_on:
        return
    launch(eval_subtree_com, n, ns, dev, rec)
    if types & _SUBTREE_VEL_TYPES:
        launch(eval_subtree_vel, n, ns, dev, rec)
    if types & _RNE_POST_TYPES:
        launch(eval_rne_post, n, ns, dev, rec)
    launch(eval_sensor_frames, (n, model.nsensor), ns, dev, rec)
    launch(eval_sensor_values, (n, model.nsensor), ns, dev, rec)
    nray = int(model.const["rf_sensor"].shape[0]) if int(_S.mjSENS_RANGEFINDER) in types else 0
    if nray:
        launch(eval_rangefinders, (n, nray), ns, dev, rec)
