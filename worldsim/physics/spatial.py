"""Warp helpers for rigid-body math: quaternions in MuJoCo order and Plücker spatial algebra.

Conventions
-----------
* Quaternions are stored by MuJoCo as (w, x, y, z); Warp's ``wp.quat`` is (x, y, z, w).
  :func:`quat_from_mj` converts when reading ``qpos``.
* Spatial vectors are ``wp.spatial_vector`` laid out like MuJoCo's: (angular, linear).
  A *motion* (ω, v_o) is an angular velocity and the velocity of the body point that coincides with
  the origin o; a *force* (n_o, f) is a torque about o and a force.
  Spatial quantities are expressed in world axes about the origin of the body's tree (see
  :mod:`worldsim.physics.kinematics`), so quantities of the bodies of one tree add directly.
"""

import warp as wp

# MuJoCo joint types (mjtJoint)
JNT_FREE = wp.constant(0)
JNT_BALL = wp.constant(1)
JNT_SLIDE = wp.constant(2)
JNT_HINGE = wp.constant(3)


@wp.func
def quat_from_mj(w: float, x: float, y: float, z: float):
    """Quaternion from MuJoCo's (w, x, y, z) order, normalized."""
    return wp.normalize(wp.quat(x, y, z, w))


@wp.func
def sv_ang(v: wp.spatial_vector):
    """Angular (first) half of a spatial vector."""
    return wp.vec3(v[0], v[1], v[2])


@wp.func
def sv_lin(v: wp.spatial_vector):
    """Linear (second) half of a spatial vector."""
    return wp.vec3(v[3], v[4], v[5])


@wp.func
def sv(a: wp.vec3, b: wp.vec3):
    """Spatial vector from its angular part ``a`` and linear part ``b``."""
    return wp.spatial_vector(a[0], a[1], a[2], b[0], b[1], b[2])


@wp.func
def cross_motion(m: wp.spatial_vector, x: wp.spatial_vector):
    """Motion-motion cross product m ×ₘ x = (ω×ωx, ω×vx + v×ωx)."""
    w = sv_ang(m)
    v = sv_lin(m)
    return sv(wp.cross(w, sv_ang(x)), wp.cross(w, sv_lin(x)) + wp.cross(v, sv_ang(x)))


@wp.func
def cross_force(m: wp.spatial_vector, f: wp.spatial_vector):
    """Motion-force cross product m ×* f = (ω×n + v×f, ω×f)."""
    w = sv_ang(m)
    v = sv_lin(m)
    return sv(wp.cross(w, sv_ang(f)) + wp.cross(v, sv_lin(f)), wp.cross(w, sv_lin(f)))


@wp.func
def inertia_mul(mass: float, h: wp.vec3, inertia_o: wp.mat33, m: wp.spatial_vector):
    """Spatial inertia (at the world origin) times a motion.

    The inertia is given by ``mass`` [kg], ``h = mass * com`` [kg m] and ``inertia_o``, the rotational
    inertia about the world origin [kg m²]. Returns the momentum (I_o ω + h × v, m v − h × ω).
    """
    w = sv_ang(m)
    v = sv_lin(m)
    return sv(inertia_o * w + wp.cross(h, v), mass * v - wp.cross(h, w))


@wp.func
def inertia_about_origin(mass: float, com: wp.vec3, inertia_c: wp.mat33):
    """Rotational inertia about the world origin from the one about the centre of mass (parallel axes)."""
    cc = wp.dot(com, com)
    return inertia_c + mass * (cc * wp.identity(n=3, dtype=float) - wp.outer(com, com))


@wp.func
def point_velocity(m: wp.spatial_vector, p: wp.vec3):
    """Velocity of the world point ``p`` moving with a body whose spatial velocity is ``m``."""
    return sv_lin(m) + wp.cross(sv_ang(m), p)


@wp.func
def smooth_ramp(x: float, width: float):
    """C¹ ramp: 0 for x ≤ 0, x²/(2·width) on [0, width], x − width/2 beyond."""
    if x <= 0.0:
        return 0.0
    if x < width:
        return x * x / (2.0 * width)
    return x - 0.5 * width


@wp.func
def smooth_step(x: float, width: float):
    """C¹ step from 0 (x ≤ 0) to 1 (x ≥ width): the cubic t²(3 − 2t), t = x/width."""
    t = wp.clamp(x / width, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


@wp.func
def quat_to_mj(q: wp.quat):
    """MuJoCo-order (w, x, y, z) vec4 of a Warp quaternion."""
    return wp.vec4(q[3], q[0], q[1], q[2])


@wp.func
def quat_to_rotvec(q: wp.quat):
    """Rotation vector (axis × angle, angle in [-π, π]) of a unit quaternion (MuJoCo's mju_quat2Vel, dt = 1)."""
    axis = wp.vec3(q[0], q[1], q[2])
    s = wp.length(axis)
    if s < 1.0e-12:
        return axis * (2.0 * wp.sign(q[3]))  # first order near the identity (either sign of the quaternion)
    angle = 2.0 * wp.atan2(s, q[3])
    if angle > 3.141592653589793:
        angle = angle - 6.283185307179586
    return axis * (angle / s)


@wp.func
def quat_sub(qa: wp.quat, qb: wp.quat):
    """MuJoCo's mju_subQuat: the rotation vector r (in qb's frame) with qb * quat(r) = qa."""
    return quat_to_rotvec(wp.quat_inverse(qb) * qa)


@wp.func
def dof_moves(isanc: wp.array2d(dtype=wp.int32), lastdof: int, k: int):
    """Whether dof k moves a body whose last dof is ``lastdof`` (-1: a static body)."""
    if lastdof < 0:
        return False
    return isanc[lastdof, k] != 0 and k <= lastdof
