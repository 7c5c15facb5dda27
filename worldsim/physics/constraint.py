"""Constraints as MuJoCo formulates them: rows of a Jacobian with a soft reference acceleration.

Every active constraint contributes rows r with Jacobian ``efc_J[r]`` (1 × nv), violation ``efc_pos`` and margin,
and, from its ``solref``/``solimp``, MuJoCo's impedance ``imp`` (:func:`impedance`), regularizer
``efc_R = (1 - imp) / imp · A_rr`` (A_rr MuJoCo's approximation of J M⁻¹ Jᵀ from the inverse weights at qpos0)
and reference acceleration ``efc_aref = -b · (J qvel) - k · imp · (pos - margin)``. Rows come in MuJoCo's order:
equality (connect 3, weld 6, joint 1, tendon 1), friction loss (dofs, then tendons), limits (joints, then tendons;
one row per violated side), contacts (1 row frictionless; pyramidal cone 2·(condim-1) edges J_n ± μ_k J_k;
elliptic cone condim rows).

:func:`eval_constraint_layout` (integers, not differentiated) decides which limits and contacts are active and
where their rows go; :func:`eval_constraint_rows` (one thread per row, differentiated) fills them.
"""

from __future__ import annotations

import mujoco
import warp as wp

from .collision.common import contact_root, origin_shift
from .kinematics import point_jacobian_column
from .spatial import JNT_BALL, dof_moves, quat_from_mj, quat_to_rotvec
from .types import vec5, vec_eqdata

CNSTR_EQUALITY = wp.constant(int(mujoco.mjtConstraint.mjCNSTR_EQUALITY))
CNSTR_FRICTION_DOF = wp.constant(int(mujoco.mjtConstraint.mjCNSTR_FRICTION_DOF))
CNSTR_FRICTION_TENDON = wp.constant(int(mujoco.mjtConstraint.mjCNSTR_FRICTION_TENDON))
CNSTR_LIMIT_JOINT = wp.constant(int(mujoco.mjtConstraint.mjCNSTR_LIMIT_JOINT))
CNSTR_LIMIT_TENDON = wp.constant(int(mujoco.mjtConstraint.mjCNSTR_LIMIT_TENDON))
CNSTR_FRICTIONLESS = wp.constant(int(mujoco.mjtConstraint.mjCNSTR_CONTACT_FRICTIONLESS))
CNSTR_PYRAMIDAL = wp.constant(int(mujoco.mjtConstraint.mjCNSTR_CONTACT_PYRAMIDAL))
CNSTR_ELLIPTIC = wp.constant(int(mujoco.mjtConstraint.mjCNSTR_CONTACT_ELLIPTIC))
EQ_CONNECT = wp.constant(int(mujoco.mjtEq.mjEQ_CONNECT))
EQ_WELD = wp.constant(int(mujoco.mjtEq.mjEQ_WELD))
EQ_JOINT = wp.constant(int(mujoco.mjtEq.mjEQ_JOINT))
OBJ_SITE = wp.constant(int(mujoco.mjtObj.mjOBJ_SITE))

MINVAL = wp.constant(1.0e-15)
MINIMP = wp.constant(0.0001)
MAXIMP = wp.constant(0.9999)


# ----------------------------------------------------------------------------- soft-constraint parameters


@wp.func
def clamp_solimp(s: vec5):
    """MuJoCo's bounds on solimp: dmin, dmax and midpoint in [1e-4, 0.9999], width >= 0, power >= 1."""
    return vec5(wp.clamp(s[0], MINIMP, MAXIMP), wp.clamp(s[1], MINIMP, MAXIMP), wp.max(s[2], 0.0),
                wp.clamp(s[3], MINIMP, MAXIMP), wp.max(s[4], 1.0))  # fmt: skip


@wp.func
def impedance(solimp: vec5, pos: float, margin: float):
    """MuJoCo's impedance d(r) of a constraint at violation r = pos - margin: from dmin at r = 0 to dmax at
    |r| >= width along a sigmoid of power ``solimp[4]`` with its inflection at ``midpoint``."""
    s = clamp_solimp(solimp)
    if s[0] == s[1] or s[2] <= MINVAL:
        return 0.5 * (s[0] + s[1])
    x = wp.abs((pos - margin) / s[2])
    if x >= 1.0:
        return s[1]
    if x <= 0.0:
        return s[0]
    y = x
    p = s[4]
    mid = s[3]
    if p != 1.0:
        if x <= mid:
            y = wp.pow(x, p) / wp.pow(mid, p - 1.0)
        else:
            y = 1.0 - wp.pow(1.0 - x, p) / wp.pow(1.0 - mid, p - 1.0)
    return s[0] + y * (s[1] - s[0])


@wp.func
def reference_kb(solref: wp.vec2, solimp: vec5, timestep: float, refsafe: int):
    """(k, b) of MuJoCo's reference acceleration -b·v - k·imp·r from solref: (timeconst, dampratio) with
    k = 1/(dmax² τ² ζ²), b = 2/(dmax τ), τ >= 2·timestep unless refsafe is disabled; or direct (-k, -b) / dmax."""
    dmax = wp.clamp(solimp[1], MINIMP, MAXIMP)
    r0 = solref[0]
    r1 = solref[1]
    k = float(0.0)
    b = float(0.0)
    if r0 > 0.0:
        if refsafe != 0:
            r0 = wp.max(r0, 2.0 * timestep)
        k = 1.0 / wp.max(MINVAL, dmax * dmax * r0 * r0 * r1 * r1)
    else:
        k = -r0 / wp.max(MINVAL, dmax * dmax)
    if r1 > 0.0:
        b = 2.0 / wp.max(MINVAL, dmax * r0)
    else:
        b = -r1 / wp.max(MINVAL, dmax)
    return k, b


@wp.func
def regularizer(imp: float, diag_approx: float):
    return wp.max(MINVAL, (1.0 - imp) * diag_approx / imp)


# ----------------------------------------------------------------------------- contact parameters


@wp.func
def mix_solref(fricmode: int, mix: float, a: wp.vec2, b: wp.vec2):
    """MuJoCo's solref of a geom pair: the priority geom's, else mixed (standard form) or the min (direct)."""
    if fricmode == 1:
        return a
    if fricmode == 2:
        return b
    if a[0] > 0.0 and b[0] > 0.0:
        return mix * a + (1.0 - mix) * b
    return wp.vec2(wp.min(a[0], b[0]), wp.min(a[1], b[1]))


@wp.func
def contact_params(
    w: int,
    p: int,
    pair_geom1: wp.array(dtype=wp.int32),
    pair_geom2: wp.array(dtype=wp.int32),
    pair_fricmode: wp.array(dtype=wp.int32),
    pair_mix: wp.array(dtype=wp.float32),
    geom_friction: wp.array2d(dtype=wp.vec3),
    geom_solref: wp.array2d(dtype=wp.vec2),
    geom_solimp: wp.array2d(dtype=vec5),
    override: int,
    o_solref: wp.vec2,
    o_solimp: vec5,
    o_friction: vec5,
):
    """(friction 5-vector, solref, solimp) of a contact of pair p in world w (MuJoCo's mj_contactParam)."""
    g1 = pair_geom1[p]
    g2 = pair_geom2[p]
    mode = pair_fricmode[p]
    mix = pair_mix[p]
    fa = geom_friction[w, g1]
    fb = geom_friction[w, g2]
    f = wp.vec3(wp.max(fa[0], fb[0]), wp.max(fa[1], fb[1]), wp.max(fa[2], fb[2]))
    si = mix * geom_solimp[w, g1] + (1.0 - mix) * geom_solimp[w, g2]
    if mode == 1:
        f = fa
        si = geom_solimp[w, g1]
    elif mode == 2:
        f = fb
        si = geom_solimp[w, g2]
    sr = mix_solref(mode, mix, geom_solref[w, g1], geom_solref[w, g2])
    fr = vec5(f[0], f[0], f[1], f[2], f[2])
    if override != 0:
        fr = o_friction
        sr = o_solref
        si = o_solimp
    return fr, sr, si


@wp.func
def contact_row_direction(condim: int, elliptic: int, sub: int, friction: vec5):
    """For row ``sub`` of a contact: (translational weights on frame rows 0..2, rotational weights on frame rows
    0..2), so that the row's Jacobian is Σ_i wt_i · frame_i · J_trans + Σ_i wr_i · frame_i · J_rot."""
    wt = wp.vec3(0.0)
    wr = wp.vec3(0.0)
    if condim == 1 or elliptic != 0:
        if sub < 3:
            wt[sub] = 1.0
        else:
            wr[sub - 3] = 1.0
        return wt, wr
    k = sub / 2 + 1  # friction direction 1 .. condim-1
    sign = 1.0
    if sub % 2 == 1:
        sign = -1.0
    mu = sign * friction[k - 1]
    wt[0] = 1.0
    if k < 3:
        wt[k] = mu
    else:
        wr[k - 3] = mu
    return wt, wr


# ----------------------------------------------------------------------------- layout (not differentiated)


@wp.kernel(enable_backward=False)
def eval_constraint_layout(
    ne: int,
    nf_dof: int,
    nf_ten: int,
    nlimit_jnt: int,
    nlimit_ten: int,
    neq: int,
    nslot: int,
    nconmax: int,
    njmax: int,
    elliptic: int,
    eq_type: wp.array(dtype=wp.int32),
    eq_efcadr: wp.array(dtype=wp.int32),
    fri_dof: wp.array(dtype=wp.int32),
    fri_ten: wp.array(dtype=wp.int32),
    limit_jnt: wp.array(dtype=wp.int32),
    limit_ten: wp.array(dtype=wp.int32),
    jnt_type: wp.array(dtype=wp.int32),
    jnt_qposadr: wp.array(dtype=wp.int32),
    jnt_range: wp.array(dtype=wp.vec2),
    jnt_margin: wp.array(dtype=wp.float32),
    tendon_range: wp.array(dtype=wp.vec2),
    tendon_margin: wp.array(dtype=wp.float32),
    slot_pair: wp.array(dtype=wp.int32),
    pair_includemargin: wp.array(dtype=wp.float32),
    pair_condim: wp.array(dtype=wp.int32),
    qpos: wp.array2d(dtype=wp.float32),
    ten_length: wp.array2d(dtype=wp.float32),
    contact_dist: wp.array2d(dtype=wp.float32),
    # outputs
    nefc: wp.array2d(dtype=wp.int32),
    efc_type: wp.array2d(dtype=wp.int32),
    efc_id: wp.array2d(dtype=wp.int32),
    efc_sub: wp.array2d(dtype=wp.int32),
    ncon: wp.array2d(dtype=wp.int32),
    ncon_dropped: wp.array2d(dtype=wp.int32),
    contact_slot: wp.array2d(dtype=wp.int32),
    contact_efcadr: wp.array2d(dtype=wp.int32),
    contact_dim: wp.array2d(dtype=wp.int32),
):
    """Rows of world w in MuJoCo's order: equality, friction loss, limits, contacts (see the module docstring)."""
    w = wp.tid()
    for e in range(neq):
        adr = eq_efcadr[e]
        if adr >= 0:
            size = 1
            if eq_type[e] == EQ_CONNECT:
                size = 3
            elif eq_type[e] == EQ_WELD:
                size = 6
            for k in range(size):
                efc_type[w, adr + k] = CNSTR_EQUALITY
                efc_id[w, adr + k] = e
                efc_sub[w, adr + k] = k
    r = ne
    for i in range(nf_dof):
        efc_type[w, r] = CNSTR_FRICTION_DOF
        efc_id[w, r] = fri_dof[i]
        efc_sub[w, r] = 0
        r += 1
    for i in range(nf_ten):
        efc_type[w, r] = CNSTR_FRICTION_TENDON
        efc_id[w, r] = fri_ten[i]
        efc_sub[w, r] = 0
        r += 1
    for i in range(nlimit_jnt):
        j = limit_jnt[i]
        qa = jnt_qposadr[j]
        if jnt_type[j] == JNT_BALL:
            q = quat_from_mj(qpos[w, qa], qpos[w, qa + 1], qpos[w, qa + 2], qpos[w, qa + 3])
            angle = wp.length(quat_to_rotvec(q))
            dist = wp.max(jnt_range[j][0], jnt_range[j][1]) - angle
            if dist < jnt_margin[j]:
                efc_type[w, r] = CNSTR_LIMIT_JOINT
                efc_id[w, r] = j
                efc_sub[w, r] = 2
                r += 1
        else:
            v = qpos[w, qa]
            if v - jnt_range[j][0] < jnt_margin[j]:
                efc_type[w, r] = CNSTR_LIMIT_JOINT
                efc_id[w, r] = j
                efc_sub[w, r] = 0
                r += 1
            if jnt_range[j][1] - v < jnt_margin[j]:
                efc_type[w, r] = CNSTR_LIMIT_JOINT
                efc_id[w, r] = j
                efc_sub[w, r] = 1
                r += 1
    for i in range(nlimit_ten):
        t = limit_ten[i]
        v = ten_length[w, t]
        if v - tendon_range[t][0] < tendon_margin[t]:
            efc_type[w, r] = CNSTR_LIMIT_TENDON
            efc_id[w, r] = t
            efc_sub[w, r] = 0
            r += 1
        if tendon_range[t][1] - v < tendon_margin[t]:
            efc_type[w, r] = CNSTR_LIMIT_TENDON
            efc_id[w, r] = t
            efc_sub[w, r] = 1
            r += 1
    n = int(0)
    for s in range(nslot):
        p = slot_pair[s]
        if contact_dist[w, s] < pair_includemargin[p]:
            condim = pair_condim[p]
            rows = condim
            typ = CNSTR_ELLIPTIC
            if condim == 1:
                typ = CNSTR_FRICTIONLESS
            elif elliptic == 0:
                rows = 2 * (condim - 1)
                typ = CNSTR_PYRAMIDAL
            if n < nconmax and r + rows <= njmax:
                contact_slot[w, n] = s
                contact_efcadr[w, n] = r
                contact_dim[w, n] = condim
                for k in range(rows):
                    efc_type[w, r + k] = typ
                    efc_id[w, r + k] = n
                    efc_sub[w, r + k] = k
                r += rows
                n += 1
            else:
                ncon_dropped[w, 0] += 1
    ncon[w, 0] = n
    nefc[w, 0] = r


# ----------------------------------------------------------------------------- rows (differentiated)


@wp.func
def point_jac_entry(
    w: int,
    k: int,
    cdof: wp.array2d(dtype=wp.spatial_vector),
    dof_isanc: wp.array2d(dtype=wp.int32),
    lastdof1: int,
    p1: wp.vec3,
    lastdof2: int,
    p2: wp.vec3,
    dir_t: wp.vec3,
    dir_r: wp.vec3,
):
    """Column k of dir_t·(J_point(body2, p2) - J_point(body1, p1)) + dir_r·(J_rot(body2) - J_rot(body1)), each
    point relative to its own body's tree origin."""
    s = cdof[w, k]
    ang = wp.vec3(s[0], s[1], s[2])
    col = float(0.0)
    if dof_moves(dof_isanc, lastdof2, k):
        col += wp.dot(dir_t, point_jacobian_column(s, p2)) + wp.dot(dir_r, ang)
    if dof_moves(dof_isanc, lastdof1, k):
        col -= wp.dot(dir_t, point_jacobian_column(s, p1)) + wp.dot(dir_r, ang)
    return col


@wp.func
def point_bias_acc(w: int, b: int, p: wp.vec3, cacc: wp.array2d(dtype=wp.spatial_vector),
                   cvel: wp.array2d(dtype=wp.spatial_vector), gravity: wp.vec3):  # fmt: skip
    """J̇·qvel of a point p fixed on body b: its acceleration when qacc = 0, without gravity."""
    a = cacc[w, b]
    v = cvel[w, b]
    ang_a = wp.vec3(a[0], a[1], a[2])
    lin_a = wp.vec3(a[3], a[4], a[5]) + gravity  # RNEA's cacc carries -gravity from the world body
    ang_v = wp.vec3(v[0], v[1], v[2])
    vp = wp.vec3(v[3], v[4], v[5]) + wp.cross(ang_v, p)
    if b == 0:
        return wp.vec3(0.0)
    return lin_a + wp.cross(ang_a, p) + wp.cross(ang_v, vp)


@wp.func
def quat_mul_axis(q: wp.quat, axis: wp.vec3):
    """q * (0, axis) (MuJoCo's mju_mulQuatAxis)."""
    return q * wp.quat(axis[0], axis[1], axis[2], 0.0)


@wp.func
def quat_deriv(q: wp.quat, omega_world: wp.vec3):
    """dq/dt = 0.5 · (0, ω) * q for a world angular velocity ω (MuJoCo's mju_derivQuat); not a unit quaternion."""
    return 0.5 * (wp.quat(omega_world[0], omega_world[1], omega_world[2], 0.0) * q)


@wp.func
def quat_conj(q: wp.quat):
    """Conjugate (MuJoCo's mju_negQuat), also for quaternions that are not unit (derivatives)."""
    return wp.quat(-q[0], -q[1], -q[2], q[3])


@wp.func
def body_angvel(w: int, b: int, cvel: wp.array2d(dtype=wp.spatial_vector)):
    v = cvel[w, b]
    return wp.vec3(v[0], v[1], v[2])


@wp.func
def body_bias_angacc(w: int, b: int, cacc: wp.array2d(dtype=wp.spatial_vector)):
    """Angular acceleration of body b when qacc = 0 (J̇_rot·qvel)."""
    a = cacc[w, b]
    return wp.vec3(a[0], a[1], a[2])


@wp.func
def contact_row(
    w: int,
    r: int,
    oid: int,
    sub: int,
    typ: int,
    nv: int,
    impratio: float,
    elliptic: int,
    override: int,
    o_solref: wp.vec2,
    o_solimp: vec5,
    o_friction: vec5,
    contact_slot: wp.array2d(dtype=wp.int32),
    slot_pair: wp.array(dtype=wp.int32),
    pair_geom1: wp.array(dtype=wp.int32),
    pair_geom2: wp.array(dtype=wp.int32),
    pair_condim: wp.array(dtype=wp.int32),
    pair_fricmode: wp.array(dtype=wp.int32),
    pair_mix: wp.array(dtype=wp.float32),
    pair_includemargin: wp.array(dtype=wp.float32),
    geom_bodyid: wp.array(dtype=wp.int32),
    geom_rootid: wp.array(dtype=wp.int32),
    body_lastdof: wp.array(dtype=wp.int32),
    body_invweight0: wp.array(dtype=wp.vec2),
    dof_isanc: wp.array2d(dtype=wp.int32),
    geom_friction: wp.array2d(dtype=wp.vec3),
    geom_solref: wp.array2d(dtype=wp.vec2),
    geom_solimp: wp.array2d(dtype=vec5),
    root_origin: wp.array2d(dtype=wp.vec3),
    cdof: wp.array2d(dtype=wp.spatial_vector),
    contact_dist: wp.array2d(dtype=wp.float32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
    efc_J: wp.array3d(dtype=wp.float32),
    contact_mu: wp.array2d(dtype=wp.float32),
    contact_friction: wp.array2d(dtype=vec5),
):
    """Row ``sub`` of contact ``oid``: writes its Jacobian; returns (pos, margin, imp, solref, solimp, kfac, R).

    MuJoCo's regularizers: frictionless R = (1-imp)/imp·A; pyramidal edges all 2μ²/impratio·(1-imp)/imp·A(1+μ²);
    elliptic R₀ = (1-imp)/imp·A, R₁ = R₀/impratio, Rⱼ = R₁ μ₀²/μⱼ² (friction rows have no position term).
    """
    slot = contact_slot[w, oid]
    p = slot_pair[slot]
    condim = pair_condim[p]
    fr, solref, solimp = contact_params(w, p, pair_geom1, pair_geom2, pair_fricmode, pair_mix, geom_friction,
                                        geom_solref, geom_solimp, override, o_solref, o_solimp, o_friction)  # fmt: skip
    g1 = pair_geom1[p]
    g2 = pair_geom2[p]
    b1 = geom_bodyid[g1]
    b2 = geom_bodyid[g2]
    tran = body_invweight0[b1][0] + body_invweight0[b2][0]
    dist = contact_dist[w, slot]
    incl = pair_includemargin[p]
    imp = impedance(solimp, dist, incl)
    frame = contact_frame[w, slot]
    root = contact_root(g1, g2, geom_rootid)  # contact_pos is relative to its tree origin
    p1 = contact_pos[w, slot] + origin_shift(w, root, geom_rootid[g1], root_origin)
    p2 = contact_pos[w, slot] + origin_shift(w, root, geom_rootid[g2], root_origin)
    wt, wr = contact_row_direction(condim, elliptic, sub, fr)
    dir_t = wt[0] * frame[0] + wt[1] * frame[1] + wt[2] * frame[2]
    dir_r = wr[0] * frame[0] + wr[1] * frame[1] + wr[2] * frame[2]
    last1 = body_lastdof[b1]
    last2 = body_lastdof[b2]
    for k in range(nv):
        efc_J[w, r, k] = point_jac_entry(w, k, cdof, dof_isanc, last1, p1, last2, p2, dir_t, dir_r)
    if sub == 0:
        contact_mu[w, oid] = fr[0] / wp.sqrt(impratio)
        contact_friction[w, oid] = fr
    pos = dist
    margin = incl
    kfac = float(1.0)
    rvalue = regularizer(imp, tran)
    if typ == CNSTR_PYRAMIDAL:
        f0 = fr[0]
        r0 = wp.max(MINVAL, (1.0 - imp) * tran * (1.0 + f0 * f0) / imp)
        rvalue = wp.max(MINVAL, 2.0 * f0 * f0 / impratio * r0)
    elif typ == CNSTR_ELLIPTIC and sub > 0:
        if sub >= 3:
            tran = body_invweight0[b1][1] + body_invweight0[b2][1]
        r1 = regularizer(imp, body_invweight0[b1][0] + body_invweight0[b2][0]) / impratio
        rvalue = r1
        if sub >= 2:
            rvalue = r1 * fr[0] * fr[0] / wp.max(MINVAL, fr[sub - 1] * fr[sub - 1])
        pos = 0.0
        margin = 0.0
        kfac = 0.0
    return pos, margin, imp, solref, solimp, kfac, rvalue


@wp.func
def friction_row(
    w: int,
    r: int,
    oid: int,
    typ: int,
    nv: int,
    dof_frictionloss: wp.array(dtype=wp.float32),
    dof_solref: wp.array(dtype=wp.vec2),
    dof_solimp: wp.array(dtype=vec5),
    dof_invweight0: wp.array(dtype=wp.float32),
    tendon_frictionloss: wp.array(dtype=wp.float32),
    tendon_solref_fri: wp.array(dtype=wp.vec2),
    tendon_solimp_fri: wp.array(dtype=vec5),
    tendon_invweight0: wp.array(dtype=wp.float32),
    ten_J: wp.array3d(dtype=wp.float32),
    efc_J: wp.array3d(dtype=wp.float32),
):
    """Friction-loss row of dof or tendon ``oid``: writes its Jacobian; returns (floss, solref, solimp, R)."""
    floss = float(0.0)
    solref = wp.vec2(0.0)
    solimp = vec5(0.0)
    diag = float(0.0)
    if typ == CNSTR_FRICTION_DOF:
        for k in range(nv):
            efc_J[w, r, k] = wp.where(k == oid, 1.0, 0.0)
        floss = dof_frictionloss[oid]
        solref = dof_solref[oid]
        solimp = dof_solimp[oid]
        diag = dof_invweight0[oid]
    else:
        for k in range(nv):
            efc_J[w, r, k] = ten_J[w, oid, k]
        floss = tendon_frictionloss[oid]
        solref = tendon_solref_fri[oid]
        solimp = tendon_solimp_fri[oid]
        diag = tendon_invweight0[oid]
    imp = impedance(solimp, 0.0, 0.0)
    return floss, imp, solref, solimp, regularizer(imp, diag)


@wp.func
def limit_row(
    w: int,
    r: int,
    oid: int,
    sub: int,
    typ: int,
    nv: int,
    jnt_type: wp.array(dtype=wp.int32),
    jnt_qposadr: wp.array(dtype=wp.int32),
    jnt_dofadr: wp.array(dtype=wp.int32),
    jnt_range: wp.array(dtype=wp.vec2),
    jnt_margin: wp.array(dtype=wp.float32),
    jnt_solref: wp.array(dtype=wp.vec2),
    jnt_solimp: wp.array(dtype=vec5),
    dof_invweight0: wp.array(dtype=wp.float32),
    tendon_range: wp.array(dtype=wp.vec2),
    tendon_margin: wp.array(dtype=wp.float32),
    tendon_solref_lim: wp.array(dtype=wp.vec2),
    tendon_solimp_lim: wp.array(dtype=vec5),
    tendon_invweight0: wp.array(dtype=wp.float32),
    qpos: wp.array2d(dtype=wp.float32),
    ten_length: wp.array2d(dtype=wp.float32),
    ten_J: wp.array3d(dtype=wp.float32),
    efc_J: wp.array3d(dtype=wp.float32),
):
    """Limit row (side ``sub``: 0 lower, 1 upper, 2 a ball joint's cone) of joint or tendon ``oid``: writes its
    Jacobian; returns (pos, margin, imp, solref, solimp, R)."""
    pos = float(0.0)
    margin = float(0.0)
    solref = wp.vec2(0.0)
    solimp = vec5(0.0)
    diag = float(0.0)
    if typ == CNSTR_LIMIT_JOINT:
        qa = jnt_qposadr[oid]
        da = jnt_dofadr[oid]
        if jnt_type[oid] == JNT_BALL:
            q = quat_from_mj(qpos[w, qa], qpos[w, qa + 1], qpos[w, qa + 2], qpos[w, qa + 3])
            rv = quat_to_rotvec(q)
            angle = wp.length(rv)
            axis = rv / wp.max(angle, 1.0e-12)
            pos = wp.max(jnt_range[oid][0], jnt_range[oid][1]) - angle
            for k in range(nv):
                v = float(0.0)
                if k >= da and k < da + 3:
                    v = -axis[k - da]
                efc_J[w, r, k] = v
        else:
            side = 1.0
            if sub == 0:
                side = -1.0
                pos = qpos[w, qa] - jnt_range[oid][0]
            else:
                pos = jnt_range[oid][1] - qpos[w, qa]
            for k in range(nv):
                efc_J[w, r, k] = wp.where(k == da, -side, 0.0)
        margin = jnt_margin[oid]
        solref = jnt_solref[oid]
        solimp = jnt_solimp[oid]
        diag = dof_invweight0[da]
    else:
        side = 1.0
        if sub == 0:
            side = -1.0
            pos = ten_length[w, oid] - tendon_range[oid][0]
        else:
            pos = tendon_range[oid][1] - ten_length[w, oid]
        for k in range(nv):
            efc_J[w, r, k] = -side * ten_J[w, oid, k]
        margin = tendon_margin[oid]
        solref = tendon_solref_lim[oid]
        solimp = tendon_solimp_lim[oid]
        diag = tendon_invweight0[oid]
    imp = impedance(solimp, pos, margin)
    return pos, margin, imp, solref, solimp, regularizer(imp, diag)


@wp.func
def coupling_row(
    w: int,
    r: int,
    e: int,
    nv: int,
    eq_type: wp.array(dtype=wp.int32),
    eq_obj1id: wp.array(dtype=wp.int32),
    eq_obj2id: wp.array(dtype=wp.int32),
    eq_data: wp.array(dtype=vec_eqdata),
    eq_solimp: wp.array(dtype=vec5),
    jnt_qposadr: wp.array(dtype=wp.int32),
    jnt_dofadr: wp.array(dtype=wp.int32),
    qpos0: wp.array(dtype=wp.float32),
    dof_invweight0: wp.array(dtype=wp.float32),
    tendon_length0: wp.array(dtype=wp.float32),
    tendon_invweight0: wp.array(dtype=wp.float32),
    qpos: wp.array2d(dtype=wp.float32),
    ten_length: wp.array2d(dtype=wp.float32),
    ten_J: wp.array3d(dtype=wp.float32),
    efc_J: wp.array3d(dtype=wp.float32),
):
    """Joint or tendon coupling x₁ - x₁⁰ - data₀ - poly(x₂ - x₂⁰) = 0: writes its Jacobian; returns (pos, imp, R)."""
    o1 = eq_obj1id[e]
    o2 = eq_obj2id[e]
    data = eq_data[e]
    joint = eq_type[e] == EQ_JOINT
    x1 = float(0.0)
    x2 = float(0.0)
    diag = float(0.0)
    if joint:
        x1 = qpos[w, jnt_qposadr[o1]] - qpos0[jnt_qposadr[o1]]
        diag = dof_invweight0[jnt_dofadr[o1]]
        if o2 >= 0:
            x2 = qpos[w, jnt_qposadr[o2]] - qpos0[jnt_qposadr[o2]]
            diag += dof_invweight0[jnt_dofadr[o2]]
    else:
        x1 = ten_length[w, o1] - tendon_length0[o1]
        diag = tendon_invweight0[o1]
        if o2 >= 0:
            x2 = ten_length[w, o2] - tendon_length0[o2]
            diag += tendon_invweight0[o2]
    pos = x1 - data[0]
    deriv = float(0.0)
    if o2 >= 0:
        pos = pos - (data[1] * x2 + data[2] * x2 * x2 + data[3] * x2 * x2 * x2 + data[4] * x2 * x2 * x2 * x2)
        deriv = data[1] + 2.0 * data[2] * x2 + 3.0 * data[3] * x2 * x2 + 4.0 * data[4] * x2 * x2 * x2
    for k in range(nv):
        j1 = float(0.0)
        j2 = float(0.0)
        if joint:
            j1 = wp.where(k == jnt_dofadr[o1], 1.0, 0.0)
            if o2 >= 0:
                j2 = wp.where(k == jnt_dofadr[o2], 1.0, 0.0)
        else:
            j1 = ten_J[w, o1, k]
            if o2 >= 0:
                j2 = ten_J[w, o2, k]
        efc_J[w, r, k] = j1 - deriv * j2
    imp = impedance(eq_solimp[e], pos, 0.0)
    return pos, imp, regularizer(imp, diag)


@wp.func
def body_frame_row(
    w: int,
    r: int,
    e: int,
    sub: int,
    nv: int,
    eq_type: wp.array(dtype=wp.int32),
    eq_obj1id: wp.array(dtype=wp.int32),
    eq_obj2id: wp.array(dtype=wp.int32),
    eq_objtype: wp.array(dtype=wp.int32),
    eq_data: wp.array(dtype=vec_eqdata),
    eq_solimp: wp.array(dtype=vec5),
    site_bodyid: wp.array(dtype=wp.int32),
    site_quat: wp.array(dtype=wp.quat),
    body_lastdof: wp.array(dtype=wp.int32),
    body_invweight0: wp.array(dtype=wp.vec2),
    dof_isanc: wp.array2d(dtype=wp.int32),
    gravity: wp.vec3,
    root_origin: wp.array2d(dtype=wp.vec3),
    xpos: wp.array2d(dtype=wp.vec3),
    xquat: wp.array2d(dtype=wp.quat),
    site_xpos: wp.array2d(dtype=wp.vec3),
    cdof: wp.array2d(dtype=wp.spatial_vector),
    cvel: wp.array2d(dtype=wp.spatial_vector),
    cacc: wp.array2d(dtype=wp.spatial_vector),
    efc_J: wp.array3d(dtype=wp.float32),
):
    """Row ``sub`` of a connect (3 rows: anchor 1 - anchor 2) or weld (3 more: orientation error, scaled by
    torquescale) constraint: writes its Jacobian; returns (pos, imp, R, J̇·qvel) as MuJoCo's
    mj_instantiateEquality and mj_Jdotv."""
    o1 = eq_obj1id[e]
    o2 = eq_obj2id[e]
    data = eq_data[e]
    weld = eq_type[e] == EQ_WELD
    b1 = o1
    b2 = o2
    a1 = wp.vec3(0.0)
    a2 = wp.vec3(0.0)
    q1 = wp.quat_identity()
    q2 = wp.quat_identity()
    if eq_objtype[e] == OBJ_SITE:
        b1 = site_bodyid[o1]
        b2 = site_bodyid[o2]
        a1 = site_xpos[w, o1]
        a2 = site_xpos[w, o2]
        q1 = xquat[w, b1] * site_quat[o1]
        q2 = xquat[w, b2] * site_quat[o2]
    else:
        d1 = wp.vec3(data[0], data[1], data[2])
        d2 = wp.vec3(data[3], data[4], data[5])
        if weld:  # weld anchors: data[3:6] on body 1, data[0:3] on body 2
            d1 = wp.vec3(data[3], data[4], data[5])
            d2 = wp.vec3(data[0], data[1], data[2])
        a1 = xpos[w, b1] + wp.quat_rotate(xquat[w, b1], d1)
        a2 = xpos[w, b2] + wp.quat_rotate(xquat[w, b2], d2)
        q1 = xquat[w, b1] * quat_from_mj(data[6], data[7], data[8], data[9])
        q2 = xquat[w, b2]
    cpos = a1 - (a2 + (root_origin[w, b2] - root_origin[w, b1]))
    torquescale = data[10]
    negq2 = quat_conj(q2)
    qerr = negq2 * q1
    rerr = wp.vec3(qerr[0], qerr[1], qerr[2]) * torquescale
    pos = float(0.0)
    jdotv = float(0.0)
    diag = float(0.0)
    last1 = body_lastdof[b1]
    last2 = body_lastdof[b2]
    if sub < 3:
        e_dir = wp.vec3(0.0)
        e_dir[sub] = 1.0
        for k in range(nv):
            # opposite of a contact: body 1 minus body 2
            efc_J[w, r, k] = -point_jac_entry(w, k, cdof, dof_isanc, last1, a1, last2, a2, e_dir, wp.vec3(0.0))
        pos = cpos[sub]
        jd = point_bias_acc(w, b1, a1, cacc, cvel, gravity) - point_bias_acc(w, b2, a2, cacc, cvel, gravity)
        jdotv = jd[sub]
        diag = body_invweight0[b1][0] + body_invweight0[b2][0]
    else:
        i = sub - 3
        for k in range(nv):
            s = cdof[w, k]
            ang = wp.vec3(s[0], s[1], s[2])
            axis = wp.vec3(0.0)
            if dof_moves(dof_isanc, last1, k):
                axis = axis + ang
            if dof_moves(dof_isanc, last2, k):
                axis = axis - ang
            q3 = quat_mul_axis(negq2, axis) * q1
            efc_J[w, r, k] = 0.5 * q3[i] * torquescale
        pos = rerr[i]
        # J̇·qvel of the orientation rows: d/dt of 0.5·neg(q2)·(ω1 - ω2)·q1 (MuJoCo's mj_Jdotv)
        om1 = body_angvel(w, b1, cvel)
        om2 = body_angvel(w, b2, cvel)
        domega = om1 - om2
        dacc = body_bias_angacc(w, b1, cacc) - body_bias_angacc(w, b2, cacc)
        t1 = quat_mul_axis(quat_conj(quat_deriv(q2, om2)), domega) * q1
        t2 = quat_mul_axis(negq2, dacc) * q1
        t3 = quat_mul_axis(negq2, domega) * quat_deriv(q1, om1)
        jdotv = 0.5 * (t1[i] + t2[i] + t3[i]) * torquescale
        diag = body_invweight0[b1][1] + body_invweight0[b2][1]
    # the impedance of every row comes from the norm of the whole violation (MuJoCo's getposdim)
    viol = wp.length(cpos)
    if weld:
        viol = wp.sqrt(wp.dot(cpos, cpos) + wp.dot(rerr, rerr))
    imp = impedance(eq_solimp[e], viol, 0.0)
    return pos, imp, regularizer(imp, diag), jdotv


@wp.kernel
def eval_constraint_rows(
    nv: int,
    timestep: float,
    refsafe: int,
    impratio: float,
    elliptic: int,
    override: int,
    o_solref: wp.vec2,
    o_solimp: vec5,
    o_friction: vec5,
    nefc: wp.array2d(dtype=wp.int32),
    efc_type: wp.array2d(dtype=wp.int32),
    efc_id: wp.array2d(dtype=wp.int32),
    efc_sub: wp.array2d(dtype=wp.int32),
    contact_slot: wp.array2d(dtype=wp.int32),
    # model
    body_lastdof: wp.array(dtype=wp.int32),
    body_invweight0: wp.array(dtype=wp.vec2),
    dof_isanc: wp.array2d(dtype=wp.int32),
    dof_invweight0: wp.array(dtype=wp.float32),
    dof_frictionloss: wp.array(dtype=wp.float32),
    dof_solref: wp.array(dtype=wp.vec2),
    dof_solimp: wp.array(dtype=vec5),
    jnt_type: wp.array(dtype=wp.int32),
    jnt_qposadr: wp.array(dtype=wp.int32),
    jnt_dofadr: wp.array(dtype=wp.int32),
    jnt_range: wp.array(dtype=wp.vec2),
    jnt_margin: wp.array(dtype=wp.float32),
    jnt_solref: wp.array(dtype=wp.vec2),
    jnt_solimp: wp.array(dtype=vec5),
    qpos0: wp.array(dtype=wp.float32),
    tendon_range: wp.array(dtype=wp.vec2),
    tendon_margin: wp.array(dtype=wp.float32),
    tendon_solref_lim: wp.array(dtype=wp.vec2),
    tendon_solimp_lim: wp.array(dtype=vec5),
    tendon_solref_fri: wp.array(dtype=wp.vec2),
    tendon_solimp_fri: wp.array(dtype=vec5),
    tendon_frictionloss: wp.array(dtype=wp.float32),
    tendon_invweight0: wp.array(dtype=wp.float32),
    tendon_length0: wp.array(dtype=wp.float32),
    eq_type: wp.array(dtype=wp.int32),
    eq_obj1id: wp.array(dtype=wp.int32),
    eq_obj2id: wp.array(dtype=wp.int32),
    eq_objtype: wp.array(dtype=wp.int32),
    eq_data: wp.array(dtype=vec_eqdata),
    eq_solref: wp.array(dtype=wp.vec2),
    eq_solimp: wp.array(dtype=vec5),
    site_bodyid: wp.array(dtype=wp.int32),
    site_quat: wp.array(dtype=wp.quat),
    geom_bodyid: wp.array(dtype=wp.int32),
    geom_rootid: wp.array(dtype=wp.int32),
    slot_pair: wp.array(dtype=wp.int32),
    pair_geom1: wp.array(dtype=wp.int32),
    pair_geom2: wp.array(dtype=wp.int32),
    pair_condim: wp.array(dtype=wp.int32),
    pair_fricmode: wp.array(dtype=wp.int32),
    pair_mix: wp.array(dtype=wp.float32),
    pair_includemargin: wp.array(dtype=wp.float32),
    # parameters
    geom_friction: wp.array2d(dtype=wp.vec3),
    geom_solref: wp.array2d(dtype=wp.vec2),
    geom_solimp: wp.array2d(dtype=vec5),
    gravity: wp.array(dtype=wp.vec3),
    # state and kinematics
    qpos: wp.array2d(dtype=wp.float32),
    qvel: wp.array2d(dtype=wp.float32),
    root_origin: wp.array2d(dtype=wp.vec3),
    xpos: wp.array2d(dtype=wp.vec3),
    xquat: wp.array2d(dtype=wp.quat),
    site_xpos: wp.array2d(dtype=wp.vec3),
    cdof: wp.array2d(dtype=wp.spatial_vector),
    cvel: wp.array2d(dtype=wp.spatial_vector),
    cacc: wp.array2d(dtype=wp.spatial_vector),
    ten_length: wp.array2d(dtype=wp.float32),
    ten_J: wp.array3d(dtype=wp.float32),
    contact_dist: wp.array2d(dtype=wp.float32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
    # outputs
    efc_J: wp.array3d(dtype=wp.float32),
    efc_pos: wp.array2d(dtype=wp.float32),
    efc_margin: wp.array2d(dtype=wp.float32),
    efc_vel: wp.array2d(dtype=wp.float32),
    efc_aref: wp.array2d(dtype=wp.float32),
    efc_R: wp.array2d(dtype=wp.float32),
    efc_D: wp.array2d(dtype=wp.float32),
    efc_frictionloss: wp.array2d(dtype=wp.float32),
    contact_mu: wp.array2d(dtype=wp.float32),
    contact_friction: wp.array2d(dtype=vec5),
):
    """Fill every row of world w: Jacobian, violation, margin, J qvel, aref, R, D (launched over N).

    One small function per constraint kind (Warp zero-initializes every local of a function at each call, so a
    row pays only for its own kind)."""
    w = wp.tid()
    for r in range(nefc[w, 0]):
        typ = efc_type[w, r]
        oid = efc_id[w, r]
        sub = efc_sub[w, r]
        pos = float(0.0)
        margin = float(0.0)
        floss = float(0.0)
        imp = float(0.0)
        rr = float(1.0)
        kfac = float(1.0)  # 0 for rows whose reference has no position term (friction)
        jdotv = float(0.0)
        solref = wp.vec2(0.0)
        solimp = vec5(0.0)
        if typ == CNSTR_FRICTIONLESS or typ == CNSTR_PYRAMIDAL or typ == CNSTR_ELLIPTIC:
            pos, margin, imp, solref, solimp, kfac, rr = contact_row(
                w, r, oid, sub, typ, nv, impratio, elliptic, override, o_solref, o_solimp, o_friction,
                contact_slot, slot_pair, pair_geom1, pair_geom2, pair_condim, pair_fricmode, pair_mix,
                pair_includemargin, geom_bodyid, geom_rootid, body_lastdof, body_invweight0, dof_isanc, geom_friction,
                geom_solref, geom_solimp, root_origin, cdof, contact_dist, contact_pos, contact_frame, efc_J,
                contact_mu, contact_friction,
            )  # fmt: skip
        elif typ == CNSTR_FRICTION_DOF or typ == CNSTR_FRICTION_TENDON:
            floss, imp, solref, solimp, rr = friction_row(
                w, r, oid, typ, nv, dof_frictionloss, dof_solref, dof_solimp, dof_invweight0, tendon_frictionloss,
                tendon_solref_fri, tendon_solimp_fri, tendon_invweight0, ten_J, efc_J,
            )  # fmt: skip
            kfac = 0.0
        elif typ == CNSTR_LIMIT_JOINT or typ == CNSTR_LIMIT_TENDON:
            pos, margin, imp, solref, solimp, rr = limit_row(
                w, r, oid, sub, typ, nv, jnt_type, jnt_qposadr, jnt_dofadr, jnt_range, jnt_margin, jnt_solref,
                jnt_solimp, dof_invweight0, tendon_range, tendon_margin, tendon_solref_lim, tendon_solimp_lim,
                tendon_invweight0, qpos, ten_length, ten_J, efc_J,
            )  # fmt: skip
        else:  # equality
            solref = eq_solref[oid]
            solimp = eq_solimp[oid]
            et = eq_type[oid]
            if et == EQ_CONNECT or et == EQ_WELD:
                pos, imp, rr, jdotv = body_frame_row(
                    w, r, oid, sub, nv, eq_type, eq_obj1id, eq_obj2id, eq_objtype, eq_data, eq_solimp, site_bodyid,
                    site_quat, body_lastdof, body_invweight0, dof_isanc, gravity[w], root_origin, xpos, xquat,
                    site_xpos, cdof, cvel, cacc, efc_J,
                )  # fmt: skip
            else:
                pos, imp, rr = coupling_row(
                    w, r, oid, nv, eq_type, eq_obj1id, eq_obj2id, eq_data, eq_solimp, jnt_qposadr, jnt_dofadr, qpos0,
                    dof_invweight0, tendon_length0, tendon_invweight0, qpos, ten_length, ten_J, efc_J,
                )  # fmt: skip
        k_ref, b_ref = reference_kb(solref, solimp, timestep, refsafe)
        efc_vel[w, r] = 0.0
        for k in range(nv):
            efc_vel[w, r] += efc_J[w, r, k] * qvel[w, k]
        efc_pos[w, r] = pos
        efc_margin[w, r] = margin
        efc_frictionloss[w, r] = floss
        efc_aref[w, r] = -b_ref * efc_vel[w, r] - kfac * k_ref * imp * (pos - margin) - jdotv
        efc_R[w, r] = rr
        efc_D[w, r] = 1.0 / rr
