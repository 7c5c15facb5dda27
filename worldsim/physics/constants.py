"""The model's constant arrays: every name, its Warp dtype and meaning, and how it is built from a ``MjModel``.

Names are ``mujoco.MjModel`` fields where MuJoCo has one (same indexing: ``body_parentid[b]``, ``jnt_qposadr[j]``,
...); worldsim's own tables are documented here. Quaternions are stored in Warp's (x, y, z, w) order. Kernels
receive these arrays by name (see :mod:`worldsim.physics.launch`). Empty arrays become one-element placeholders
that kernels never read.
"""

from __future__ import annotations

import mujoco
import numpy as np
import warp as wp

from .collision.pairs import PairTable
from .types import vec5, vec_eqdata

I, F, V2, V3, Q, V5, VEQ = wp.int32, wp.float32, wp.vec2, wp.vec3, wp.quat, vec5, vec_eqdata

#: name -> (Warp dtype, meaning)
CONSTANT_SPECS: dict[str, tuple] = {
    # bodies [nbody]
    "body_parentid": (I, "parent body"),
    "body_rootid": (I, "root of the body's tree: the ancestor that is a child of the world (itself for those)"),
    "body_weldid": (I, "the body it is welded to (the nearest ancestor with joints, or the world)"),
    "body_jntnum": (I, "number of joints"),
    "body_jntadr": (I, "first joint (0 when none)"),
    "body_dofnum": (I, "number of dofs"),
    "body_dofadr": (I, "first dof (0 when none)"),
    "body_frameadr": (I, "first kinematic frame: the body's frame before its joints, then one after each joint"),
    "body_lastdof": (I, "last dof that moves the body (its own or an ancestor's); -1 for static bodies"),
    "body_pos": (V3, "position in the parent frame [m]"),
    "body_quat": (Q, "orientation in the parent frame"),
    "body_iquat": (Q, "principal axes of inertia in the body frame"),
    "body_invweight0": (V2, "MuJoCo's mean inverse translational and rotational mass at qpos0"),
    "body_fluid": (I, "1 when the inertia-box fluid model applies to the body (density or viscosity > 0)"),
    "body_subtreeofs": (I, "CSR offsets into body_subtree (nbody + 1 entries)"),
    "body_subtree": (I, "bodies of each subtree (the body first, then its descendants)"),
    # joints [njnt]
    "jnt_type": (I, "mjtJoint: free 0, ball 1, slide 2, hinge 3"),
    "jnt_qposadr": (I, "first qpos"),
    "jnt_dofadr": (I, "first dof"),
    "jnt_bodyid": (I, "body"),
    "jnt_pos": (V3, "anchor in the body frame [m]"),
    "jnt_axis": (V3, "axis in the body frame"),
    "jnt_stiffness": (F, "spring stiffness (0 when springs are disabled)"),
    "jnt_limited": (I, "limit enforced (0 when limits are disabled)"),
    "jnt_range": (V2, "limits [rad or m]; for ball joints the second is the maximum angle"),
    "jnt_margin": (F, "distance at which the limit constraint activates"),
    "jnt_solref": (V2, "limit reference dynamics"),
    "jnt_solimp": (V5, "limit impedance"),
    "jnt_actfrclimited": (I, "clamp the total actuator force on the joint"),
    "jnt_actfrcrange": (V2, "range of the total actuator force"),
    "qpos0": (F, "reference configuration [nq]"),
    "qpos_spring": (F, "spring rest configuration [nq]"),
    # dofs [nv]
    "dof_bodyid": (I, "body moved by the dof"),
    "dof_jntid": (I, "joint of the dof"),
    "dof_parentid": (I, "previous dof in the kinematic chain (-1 at a root)"),
    "dof_invweight0": (F, "MuJoCo's inverse inertia at qpos0"),
    "dof_frictionloss": (F, "dry friction [N m or N] (0 when frictionloss is disabled)"),
    "dof_solref": (V2, "friction-loss reference dynamics"),
    "dof_solimp": (V5, "friction-loss impedance"),
    "dof_isanc": (I, "[nv, nv] 1 where dof j is dof i or one of its ancestors (the mass-matrix sparsity)"),
    # geoms [ngeom]
    "geom_type": (I, "mjtGeom"),
    "geom_bodyid": (I, "body"),
    "geom_rootid": (I, "root body of the geom's tree (its positions are relative to that tree's origin)"),
    "geom_dataid": (I, "mesh or height field id (-1 otherwise)"),
    "geom_pos": (V3, "position in the body frame [m]"),
    "geom_quat": (Q, "orientation in the body frame"),
    "geom_size": (V3, "MuJoCo's geom_size"),
    "geom_rbound": (F, "bounding-sphere radius [m] (0 for planes)"),
    # sites [nsite]
    "site_bodyid": (I, "body"),
    "site_rootid": (I, "root body of the site's tree"),
    "site_pos": (V3, "position in the body frame [m]"),
    "site_quat": (Q, "orientation in the body frame"),
    # tendons [ntendon], wraps [nwrap]
    "tendon_adr": (I, "first wrap"),
    "tendon_num": (I, "number of wraps"),
    "tendon_limited": (I, "length limit enforced"),
    "tendon_range": (V2, "length limits [m]"),
    "tendon_margin": (F, "limit margin [m]"),
    "tendon_solref_lim": (V2, "limit reference dynamics"),
    "tendon_solimp_lim": (V5, "limit impedance"),
    "tendon_solref_fri": (V2, "friction-loss reference dynamics"),
    "tendon_solimp_fri": (V5, "friction-loss impedance"),
    "tendon_frictionloss": (F, "dry friction [N]"),
    "tendon_stiffness": (F, "spring stiffness [N/m] (0 when springs are disabled)"),
    "tendon_damping": (F, "damping [N s/m] (0 when dampers are disabled)"),
    "tendon_lengthspring": (V2, "spring dead band (lower, upper) [m]"),
    "tendon_length0": (F, "length at qpos0 [m]"),
    "tendon_invweight0": (F, "MuJoCo's inverse inertia at qpos0"),
    "tendon_actfrclimited": (I, "clamp the total actuator force on the tendon"),
    "tendon_actfrcrange": (V2, "range of the total actuator force"),
    "wrap_type": (I, "mjtWrap: joint 1, pulley 2, site 3"),
    "wrap_objid": (I, "joint or site"),
    "wrap_prm": (F, "coefficient (joint) or divisor (pulley)"),
    "wrap_divisor": (F, "divisor of the pulley branch a site wrap belongs to (1 before any pulley)"),
    # actuators [nu]
    "actuator_trntype": (I, "mjtTrn: joint 0, jointinparent 1, tendon 3"),
    "actuator_trnid": (I, "the joint or tendon"),
    "actuator_dyntype": (I, "mjtDyn: none 0, integrator 1, filter 2, filterexact 3"),
    "actuator_gaintype": (I, "mjtGain: fixed 0, affine 1"),
    "actuator_biastype": (I, "mjtBias: none 0, affine 1"),
    "actuator_dynprm": (V3, "dynamics parameters (filter time constant first)"),
    "actuator_gainprm": (V3, "gain (fixed: gain; affine: const, kp, kv)"),
    "actuator_biasprm": (V3, "bias (affine: const, kp, kv)"),
    "actuator_ctrllimited": (I, "clamp ctrl (0 when clampctrl is disabled)"),
    "actuator_ctrlrange": (V2, "control range"),
    "actuator_forcelimited": (I, "clamp the actuator force"),
    "actuator_forcerange": (V2, "force range"),
    "actuator_actlimited": (I, "clamp the activation"),
    "actuator_actrange": (V2, "activation range"),
    "actuator_actadr": (I, "activation index (-1 without)"),
    "actuator_actearly": (I, "use the next activation when computing the force"),
    # equality constraints [neq]
    "eq_type": (I, "mjtEq: connect 0, weld 1, joint 2, tendon 3"),
    "eq_obj1id": (I, "first object"),
    "eq_obj2id": (I, "second object (-1: the world for connect/weld, none for joint/tendon)"),
    "eq_objtype": (I, "mjtObj of the objects: body 1 or site 6"),
    "eq_data": (VEQ, "MuJoCo's eq_data"),
    "eq_solref": (V2, "reference dynamics"),
    "eq_solimp": (V5, "impedance"),
    "eq_efcadr": (I, "first constraint row (-1: inactive at load time)"),
    # constraint rows: limits and friction loss
    "limit_jnt": (I, "joints with a limit (candidates for limit rows; one row per side)"),
    "limit_ten": (I, "tendons with a limit"),
    "fri_dof": (I, "dofs with friction loss (rows ne .. ne + len - 1)"),
    "fri_ten": (I, "tendons with friction loss (the following rows)"),
    # collision pairs [npair] and slots [nslot]
    "pair_geom1": (I, "first geom (lower type)"),
    "pair_geom2": (I, "second geom"),
    "pair_conadr": (I, "first contact slot"),
    "pair_maxcon": (I, "number of contact slots"),
    "pair_margin": (F, "detection distance: MuJoCo's margin + gap [m]"),
    "pair_includemargin": (F, "a contact enters the solver when dist < includemargin [m]"),
    "pair_condim": (I, "contact dimensionality (1, 3, 4 or 6)"),
    "pair_fricmode": (I, "whose parameters: 0 both (max friction, mixed solref/solimp), 1 geom1, 2 geom2"),
    "pair_mix": (F, "weight of geom1's solref/solimp"),
    "slot_pair": (I, "[nslot] pair of each contact slot"),
    # sensors [nsensor]
    "sensor_type": (I, "mjtSensor"),
    "sensor_objtype": (I, "mjtObj of the object"),
    "sensor_objid": (I, "object"),
    "sensor_reftype": (I, "mjtObj of the reference frame"),
    "sensor_refid": (I, "reference frame object (-1: world)"),
    "sensor_dim": (I, "number of values"),
    "sensor_adr": (I, "first value in sensordata"),
    "sensor_cutoff": (F, "clamp |value| (0: none)"),
    "sensor_datatype": (I, "mjtDataType: real 0, positive 1, axis 2, quaternion 3"),
}


def wxyz_to_xyzw(q) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([q[:, 1:], q[:, :1]], axis=1)


def _subtrees(mjm: mujoco.MjModel) -> tuple[np.ndarray, np.ndarray]:
    children = [[] for _ in range(mjm.nbody)]
    for b in range(1, mjm.nbody):
        children[mjm.body_parentid[b]].append(b)
    ofs, flat = [0], []
    for b in range(mjm.nbody):
        stack, sub = [b], []
        while stack:
            x = stack.pop()
            sub.append(x)
            stack.extend(reversed(children[x]))
        flat.extend(sub)
        ofs.append(len(flat))
    return np.array(ofs), np.array(flat)


def build_constants(mjm: mujoco.MjModel, opt, pairs: PairTable) -> dict[str, np.ndarray]:
    """Every entry of :data:`CONSTANT_SPECS` as a numpy array, from the compiled model and its options."""
    on = opt.is_enabled
    nbody, nv = mjm.nbody, mjm.nv
    c: dict[str, np.ndarray] = {}
    # bodies
    c["body_parentid"] = mjm.body_parentid
    c["body_rootid"] = mjm.body_rootid
    c["body_weldid"] = mjm.body_weldid
    c["body_jntnum"] = mjm.body_jntnum
    c["body_jntadr"] = np.where(mjm.body_jntnum > 0, mjm.body_jntadr, 0)
    c["body_dofnum"] = mjm.body_dofnum
    c["body_dofadr"] = np.where(mjm.body_dofnum > 0, mjm.body_dofadr, 0)
    c["body_frameadr"] = np.arange(nbody) + np.concatenate([[0], np.cumsum(mjm.body_jntnum)[:-1]])
    lastdof = np.full(nbody, -1)
    for b in range(1, nbody):
        own = mjm.body_dofnum[b]
        lastdof[b] = mjm.body_dofadr[b] + own - 1 if own else lastdof[mjm.body_parentid[b]]
    c["body_lastdof"] = lastdof
    c["body_pos"] = mjm.body_pos
    c["body_quat"] = wxyz_to_xyzw(mjm.body_quat)
    c["body_iquat"] = wxyz_to_xyzw(mjm.body_iquat)
    c["body_invweight0"] = mjm.body_invweight0
    fluid = (opt.density > 0 or opt.viscosity > 0) and on("spring") | on("damper")
    c["body_fluid"] = ((mjm.body_mass > 1e-15) & bool(fluid)).astype(np.int32) * (np.arange(nbody) > 0)
    c["body_subtreeofs"], c["body_subtree"] = _subtrees(mjm)
    # joints
    c["jnt_type"] = mjm.jnt_type
    c["jnt_qposadr"] = mjm.jnt_qposadr
    c["jnt_dofadr"] = mjm.jnt_dofadr
    c["jnt_bodyid"] = mjm.jnt_bodyid
    c["jnt_pos"] = mjm.jnt_pos
    c["jnt_axis"] = mjm.jnt_axis
    c["jnt_stiffness"] = mjm.jnt_stiffness * on("spring")
    c["jnt_limited"] = mjm.jnt_limited * (on("limit") and on("constraint"))
    c["jnt_range"] = mjm.jnt_range
    c["jnt_margin"] = mjm.jnt_margin
    c["jnt_solref"] = mjm.jnt_solref
    c["jnt_solimp"] = mjm.jnt_solimp
    c["jnt_actfrclimited"] = mjm.jnt_actfrclimited
    c["jnt_actfrcrange"] = mjm.jnt_actfrcrange
    c["qpos0"] = mjm.qpos0
    c["qpos_spring"] = mjm.qpos_spring
    # dofs
    c["dof_bodyid"] = mjm.dof_bodyid
    c["dof_jntid"] = mjm.dof_jntid
    c["dof_parentid"] = mjm.dof_parentid
    c["dof_invweight0"] = mjm.dof_invweight0
    frictionloss_on = on("frictionloss") and on("constraint")
    c["dof_frictionloss"] = mjm.dof_frictionloss * frictionloss_on
    c["dof_solref"] = mjm.dof_solref
    c["dof_solimp"] = mjm.dof_solimp
    isanc = np.zeros((max(nv, 1), max(nv, 1)), dtype=np.int32)
    for d in range(nv):
        k = d
        while k >= 0:
            isanc[d, k] = isanc[k, d] = 1
            k = int(mjm.dof_parentid[k])
    c["dof_isanc"] = isanc
    # geoms
    c["geom_type"] = mjm.geom_type
    c["geom_bodyid"] = mjm.geom_bodyid
    c["geom_rootid"] = mjm.body_rootid[mjm.geom_bodyid]
    c["geom_dataid"] = mjm.geom_dataid
    c["geom_pos"] = mjm.geom_pos
    c["geom_quat"] = wxyz_to_xyzw(mjm.geom_quat)
    c["geom_size"] = mjm.geom_size
    c["geom_rbound"] = mjm.geom_rbound
    # sites
    c["site_bodyid"] = mjm.site_bodyid
    c["site_rootid"] = mjm.body_rootid[mjm.site_bodyid]
    c["site_pos"] = mjm.site_pos
    c["site_quat"] = wxyz_to_xyzw(mjm.site_quat)
    # tendons
    c["tendon_adr"] = mjm.tendon_adr
    c["tendon_num"] = mjm.tendon_num
    c["tendon_limited"] = mjm.tendon_limited * (on("limit") and on("constraint"))
    c["tendon_range"] = mjm.tendon_range
    c["tendon_margin"] = mjm.tendon_margin
    c["tendon_solref_lim"] = mjm.tendon_solref_lim
    c["tendon_solimp_lim"] = mjm.tendon_solimp_lim
    c["tendon_solref_fri"] = mjm.tendon_solref_fri
    c["tendon_solimp_fri"] = mjm.tendon_solimp_fri
    c["tendon_frictionloss"] = mjm.tendon_frictionloss * frictionloss_on
    c["tendon_stiffness"] = mjm.tendon_stiffness * on("spring")
    c["tendon_damping"] = mjm.tendon_damping * on("damper")
    c["tendon_lengthspring"] = mjm.tendon_lengthspring
    c["tendon_length0"] = mjm.tendon_length0
    c["tendon_invweight0"] = mjm.tendon_invweight0
    c["tendon_actfrclimited"] = mjm.tendon_actfrclimited
    c["tendon_actfrcrange"] = mjm.tendon_actfrcrange
    c["wrap_type"] = mjm.wrap_type
    c["wrap_objid"] = mjm.wrap_objid
    c["wrap_prm"] = mjm.wrap_prm
    divisor = np.ones(mjm.nwrap)
    for t in range(mjm.ntendon):
        current = 1.0
        for i in range(mjm.tendon_adr[t], mjm.tendon_adr[t] + mjm.tendon_num[t]):
            if mjm.wrap_type[i] == int(mujoco.mjtWrap.mjWRAP_PULLEY):
                current = mjm.wrap_prm[i]
            divisor[i] = current
    c["wrap_divisor"] = divisor
    # actuators
    c["actuator_trntype"] = mjm.actuator_trntype
    c["actuator_trnid"] = mjm.actuator_trnid[:, 0] if mjm.nu else np.zeros(0)
    c["actuator_dyntype"] = mjm.actuator_dyntype
    c["actuator_gaintype"] = mjm.actuator_gaintype
    c["actuator_biastype"] = mjm.actuator_biastype
    c["actuator_dynprm"] = mjm.actuator_dynprm[:, :3]
    c["actuator_gainprm"] = mjm.actuator_gainprm[:, :3]
    c["actuator_biasprm"] = mjm.actuator_biasprm[:, :3]
    c["actuator_ctrllimited"] = mjm.actuator_ctrllimited * on("clampctrl")
    c["actuator_ctrlrange"] = mjm.actuator_ctrlrange
    c["actuator_forcelimited"] = mjm.actuator_forcelimited
    c["actuator_forcerange"] = mjm.actuator_forcerange
    c["actuator_actlimited"] = mjm.actuator_actlimited
    c["actuator_actrange"] = mjm.actuator_actrange
    c["actuator_actadr"] = mjm.actuator_actadr
    c["actuator_actearly"] = mjm.actuator_actearly
    # equality constraints: rows of the active ones first, in order
    sizes = {int(mujoco.mjtEq.mjEQ_CONNECT): 3, int(mujoco.mjtEq.mjEQ_WELD): 6}
    equality_on = on("equality") and on("constraint")
    efcadr, row = np.full(mjm.neq, -1), 0
    for e in range(mjm.neq):
        if equality_on and mjm.eq_active0[e]:
            efcadr[e] = row
            row += sizes.get(int(mjm.eq_type[e]), 1)
    c["eq_type"] = mjm.eq_type
    c["eq_obj1id"] = mjm.eq_obj1id
    c["eq_obj2id"] = mjm.eq_obj2id
    c["eq_objtype"] = mjm.eq_objtype
    c["eq_data"] = mjm.eq_data
    c["eq_solref"] = mjm.eq_solref
    c["eq_solimp"] = mjm.eq_solimp
    c["eq_efcadr"] = efcadr
    # limits and friction loss
    limit_types = (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE), int(mujoco.mjtJoint.mjJNT_BALL))
    c["limit_jnt"] = np.array([j for j in range(mjm.njnt) if c["jnt_limited"][j] and mjm.jnt_type[j] in limit_types])
    c["limit_ten"] = np.array([t for t in range(mjm.ntendon) if c["tendon_limited"][t]])
    c["fri_dof"] = np.flatnonzero(c["dof_frictionloss"] > 0)
    c["fri_ten"] = np.flatnonzero(c["tendon_frictionloss"] > 0)
    # collision pairs
    c["pair_geom1"] = pairs.geom1
    c["pair_geom2"] = pairs.geom2
    c["pair_conadr"] = pairs.conadr
    c["pair_maxcon"] = pairs.maxcon
    c["pair_margin"] = pairs.margin
    c["pair_includemargin"] = pairs.includemargin
    c["pair_condim"] = pairs.condim
    c["pair_fricmode"] = pairs.fricmode
    c["pair_mix"] = pairs.mix
    c["slot_pair"] = pairs.slot_pair
    # sensors
    c["sensor_type"] = mjm.sensor_type
    c["sensor_objtype"] = mjm.sensor_objtype
    c["sensor_objid"] = mjm.sensor_objid
    c["sensor_reftype"] = mjm.sensor_reftype
    c["sensor_refid"] = mjm.sensor_refid
    c["sensor_dim"] = mjm.sensor_dim
    c["sensor_adr"] = mjm.sensor_adr
    c["sensor_cutoff"] = mjm.sensor_cutoff
    c["sensor_datatype"] = mjm.sensor_datatype
    missing = set(CONSTANT_SPECS) - set(c)
    extra = set(c) - set(CONSTANT_SPECS)
    assert not missing and not extra, f"constants out of sync with CONSTANT_SPECS: {missing=} {extra=}"
    return c


def to_warp(values: dict[str, np.ndarray], device: str, specs: dict | None = None) -> dict[str, wp.array]:
    """Device arrays for :func:`build_constants`' output (empty ones become a never-read placeholder)."""
    out = {}
    specs = CONSTANT_SPECS if specs is None else specs
    for name, v in values.items():
        dtype = specs[name][0]
        np_dtype = np.int32 if dtype == wp.int32 else np.float32
        a = np.asarray(v, dtype=np_dtype)
        width = getattr(dtype, "_length_", 1)
        if a.size == 0:
            a = np.zeros((1, width) if width > 1 else 1, dtype=np_dtype)
        out[name] = wp.array(np.ascontiguousarray(a), dtype=dtype, device=device)
    return out
