"""Generalized-coordinate dynamics, one thread per world: M(q) q̈ = τ + passive − c(q, q̇) + Jᵀf_ext.

* Mass matrix by the composite-rigid-body algorithm, plus ``dof_armature`` and, for MuJoCo's Euler integrator
  with implicit damping, ``timestep * dof_damping`` on the diagonal.
* Bias forces ``c`` (Coriolis, centrifugal, gravity) by recursive Newton-Euler, with the external contact
  wrenches subtracted so that ``Jᵀf`` needs no Jacobian.
* Dense Cholesky solve (models here have tens of dofs).

Spatial quantities are in the world frame at the world origin, so composite inertias and forces of different
bodies add without transforms. Every value that crosses a loop iteration lives in an array (Warp's reverse
mode does not replay dynamic loops); arrays are either written once or only accumulated before being read.
"""

import warp as wp

from .spatial import (
    JNT_HINGE,
    JNT_SLIDE,
    cross_force,
    inertia_about_origin,
    inertia_mul,
    point_velocity,
    smooth_step,
    sv,
)


@wp.func
def joint_limit_force(
    q: float,
    qd: float,
    a0: float,
    limits: wp.vec2,
    invweight: float,
    k: float,
    b: float,
    d: float,
    delta: float,
):
    """MuJoCo's soft joint limit, for one dof, with MuJoCo's diagonal approximation of its solver.

    With x the distance past the limit, MuJoCo's constraint makes ẍ = (1−d)·ẍ₀ + d·(−b ẋ − k x), ẍ₀ the
    unconstrained acceleration: a force meff·d·(ẍ₀ + b ẋ + k x), never pulling, meff = 1/invweight. That is soft
    in its dynamics (frequency √(d k)) yet stiff under static load (x = (1−d)ẍ₀/(d k)). The force fades in over
    the first ``delta`` past the limit (C¹ step), so it is continuous and zero inside the range.
    """
    meff = 0.0
    if invweight > 0.0:
        meff = 1.0 / invweight
    x_hi = q - limits[1]
    x_lo = limits[0] - q
    push_down = smooth_step(x_hi, delta) * wp.max(meff * d * (a0 + b * qd + k * x_hi), 0.0)
    push_up = smooth_step(x_lo, delta) * wp.max(meff * d * (-a0 - b * qd + k * x_lo), 0.0)
    return push_up - push_down


@wp.func
def cholesky_solve(
    w: int,
    nv: int,
    chol: wp.array3d(dtype=wp.float32),
    rhs: wp.array2d(dtype=wp.float32),
    rhs_extra: wp.array2d(dtype=wp.float32),
    extra_weight: float,
    acc: wp.array2d(dtype=wp.float32),
    y: wp.array2d(dtype=wp.float32),
    acc2: wp.array2d(dtype=wp.float32),
    x: wp.array2d(dtype=wp.float32),
):
    """x = (L Lᵀ)⁻¹ (rhs + extra_weight · rhs_extra) for world w; acc, y, acc2 are write-once scratch arrays."""
    for i in range(nv):
        acc[w, i] = rhs[w, i] + extra_weight * rhs_extra[w, i]
        for k in range(i):
            acc[w, i] -= chol[w, i, k] * y[w, k]
        y[w, i] = acc[w, i] / chol[w, i, i]
    for ii in range(nv):
        i = nv - 1 - ii
        acc2[w, i] = y[w, i]
        for k in range(i + 1, nv):
            acc2[w, i] -= chol[w, k, i] * x[w, k]
        x[w, i] = acc2[w, i] / chol[w, i, i]


@wp.kernel
def eval_dynamics(
    qpos: wp.array2d(dtype=wp.float32),
    qvel: wp.array2d(dtype=wp.float32),
    ctrl: wp.array2d(dtype=wp.float32),
    nbody: int,
    nv: int,
    njnt: int,
    nu: int,
    implicit_damping_dt: float,
    body_parent: wp.array(dtype=wp.int32),
    body_iquat: wp.array(dtype=wp.quat),
    body_dofadr: wp.array(dtype=wp.int32),
    body_dofnum: wp.array(dtype=wp.int32),
    dof_bodyid: wp.array(dtype=wp.int32),
    dof_anc: wp.array(dtype=wp.int32),
    dof_ancadr: wp.array(dtype=wp.int32),
    jnt_type: wp.array(dtype=wp.int32),
    jnt_qposadr: wp.array(dtype=wp.int32),
    jnt_dofadr: wp.array(dtype=wp.int32),
    jnt_stiffness: wp.array(dtype=wp.float32),
    jnt_limited: wp.array(dtype=wp.int32),
    jnt_range: wp.array(dtype=wp.vec2),
    jnt_limit_solref: wp.array(dtype=wp.vec3),
    dof_jntid: wp.array(dtype=wp.int32),
    dof_invweight0: wp.array(dtype=wp.float32),
    qpos_spring: wp.array(dtype=wp.float32),
    actuator_dof: wp.array(dtype=wp.int32),
    actuator_gain: wp.array(dtype=wp.float32),
    actuator_ctrllimited: wp.array(dtype=wp.int32),
    actuator_ctrlrange: wp.array(dtype=wp.vec2),
    actuator_forcelimited: wp.array(dtype=wp.int32),
    actuator_forcerange: wp.array(dtype=wp.vec2),
    # per-world parameters
    body_mass: wp.array2d(dtype=wp.float32),
    body_inertia: wp.array2d(dtype=wp.vec3),
    dof_damping: wp.array2d(dtype=wp.float32),
    dof_armature: wp.array2d(dtype=wp.float32),
    actuator_gear: wp.array2d(dtype=wp.float32),
    gravity: wp.array(dtype=wp.vec3),
    joint_limit_smoothing: wp.array(dtype=wp.float32),
    # kinematics
    xquat: wp.array2d(dtype=wp.quat),
    xipos: wp.array2d(dtype=wp.vec3),
    cdof: wp.array2d(dtype=wp.spatial_vector),
    cdof_dot: wp.array2d(dtype=wp.spatial_vector),
    cvel: wp.array2d(dtype=wp.spatial_vector),
    cfrc_ext: wp.array2d(dtype=wp.spatial_vector),
    # contacts, for implicit friction
    nslot: int,
    friction_dt: float,
    slot_geom1: wp.array(dtype=wp.int32),
    slot_geom2: wp.array(dtype=wp.int32),
    geom_body: wp.array(dtype=wp.int32),
    body_lastdof: wp.array(dtype=wp.int32),
    dof_is_anc: wp.array2d(dtype=wp.int32),
    slot_gamma: wp.array2d(dtype=wp.float32),
    slot_point: wp.array2d(dtype=wp.vec3),
    slot_normal: wp.array2d(dtype=wp.vec3),
    # workspace
    slot_jac: wp.array3d(dtype=wp.vec3),
    crb_mass: wp.array2d(dtype=wp.float32),
    crb_h: wp.array2d(dtype=wp.vec3),
    crb_inertia: wp.array2d(dtype=wp.mat33),
    cacc: wp.array2d(dtype=wp.spatial_vector),
    cfrc: wp.array2d(dtype=wp.spatial_vector),
    qfrc: wp.array2d(dtype=wp.float32),
    qfrc_limit: wp.array2d(dtype=wp.float32),
    mass_matrix: wp.array3d(dtype=wp.float32),
    chol_acc: wp.array3d(dtype=wp.float32),
    chol: wp.array3d(dtype=wp.float32),
    solve_acc: wp.array2d(dtype=wp.float32),
    solve_y: wp.array2d(dtype=wp.float32),
    solve_acc2: wp.array2d(dtype=wp.float32),
    has_limits: int,
    solve_acc0: wp.array2d(dtype=wp.float32),
    solve_y0: wp.array2d(dtype=wp.float32),
    solve_acc20: wp.array2d(dtype=wp.float32),
    qacc0: wp.array2d(dtype=wp.float32),
    # output
    qacc: wp.array2d(dtype=wp.float32),
):
    w = wp.tid()
    g = gravity[w]
    cacc[w, 0] = sv(wp.vec3(0.0), -g)

    # ---- forward pass: body inertias (at the origin), bias accelerations and RNEA body forces
    for b in range(1, nbody):
        m = body_mass[w, b]
        rot = wp.quat_to_matrix(xquat[w, b] * body_iquat[b])
        inert = body_inertia[w, b]
        ic = rot * wp.diag(inert) * wp.transpose(rot)
        com = xipos[w, b]
        h = m * com
        io = inertia_about_origin(m, com, ic)
        crb_mass[w, b] = m
        crb_h[w, b] = h
        crb_inertia[w, b] = io

        cacc[w, b] = cacc[w, body_parent[b]]
        for k in range(body_dofadr[b], body_dofadr[b] + body_dofnum[b]):
            cacc[w, b] += cdof_dot[w, k] * qvel[w, k]
        a = cacc[w, b]
        v = cvel[w, b]
        cfrc[w, b] = inertia_mul(m, h, io, a) + cross_force(v, inertia_mul(m, h, io, v)) - cfrc_ext[w, b]

    # ---- backward pass: accumulate composite inertias and forces into parents
    for bb in range(nbody - 1):
        b = nbody - 1 - bb
        p = body_parent[b]
        if p > 0:
            crb_mass[w, p] += crb_mass[w, b]
            crb_h[w, p] += crb_h[w, b]
            crb_inertia[w, p] += crb_inertia[w, b]
            cfrc[w, p] += cfrc[w, b]

    # ---- generalized forces: actuation + passive - bias
    for i in range(nv):
        qfrc[w, i] = -wp.dot(cdof[w, i], cfrc[w, dof_bodyid[i]]) - dof_damping[w, i] * qvel[w, i]
    for j in range(njnt):
        t = jnt_type[j]
        if t == JNT_HINGE or t == JNT_SLIDE:
            qa = jnt_qposadr[j]
            d = jnt_dofadr[j]
            qfrc[w, d] -= jnt_stiffness[j] * (qpos[w, qa] - qpos_spring[qa])

    for a in range(nu):
        u = ctrl[w, a]
        if actuator_ctrllimited[a] != 0:
            u = wp.clamp(u, actuator_ctrlrange[a][0], actuator_ctrlrange[a][1])
        force = actuator_gain[a] * u
        if actuator_forcelimited[a] != 0:
            force = wp.clamp(force, actuator_forcerange[a][0], actuator_forcerange[a][1])
        qfrc[w, actuator_dof[a]] += actuator_gear[w, a] * force

    # ---- mass matrix: CRBA on the ancestor pattern (every other entry stored as 0), then implicit friction
    for i in range(nv):
        for j in range(nv):
            if dof_is_anc[i, j] == 0:
                mass_matrix[w, i, j] = 0.0
    for i in range(nv):
        b = dof_bodyid[i]
        f = inertia_mul(crb_mass[w, b], crb_h[w, b], crb_inertia[w, b], cdof[w, i])
        for k in range(dof_ancadr[i], dof_ancadr[i + 1]):
            j = dof_anc[k]
            mij = wp.dot(cdof[w, j], f)
            if j == i:
                mass_matrix[w, i, i] = mij + dof_armature[w, i] + implicit_damping_dt * dof_damping[w, i]
            else:
                mass_matrix[w, i, j] = mij
                mass_matrix[w, j, i] = mij

    # implicit friction: + h·γ·J_tᵀ J_t per touching contact slot, J_t the tangential relative-velocity Jacobian
    for sl in range(nslot):
        gamma = slot_gamma[w, sl]
        if gamma > 0.0:
            c = slot_point[w, sl]
            n = slot_normal[w, sl]
            for d in range(nv):
                slot_jac[w, sl, d] = wp.vec3(0.0)
            da = body_lastdof[geom_body[slot_geom1[sl]]]
            if da >= 0:
                for k in range(dof_ancadr[da], dof_ancadr[da + 1]):
                    slot_jac[w, sl, dof_anc[k]] -= point_velocity(cdof[w, dof_anc[k]], c)
            db = body_lastdof[geom_body[slot_geom2[sl]]]
            if db >= 0:
                for k in range(dof_ancadr[db], dof_ancadr[db + 1]):
                    slot_jac[w, sl, dof_anc[k]] += point_velocity(cdof[w, dof_anc[k]], c)
            scale = friction_dt * gamma
            for i in range(nv):  # only the dofs that move the contact point have nonzero Jacobian columns
                ji = slot_jac[w, sl, i]
                if wp.dot(ji, ji) > 0.0:
                    ti = ji - wp.dot(n, ji) * n
                    for j in range(nv):
                        jj = slot_jac[w, sl, j]
                        if wp.dot(jj, jj) > 0.0:
                            mass_matrix[w, i, j] += scale * wp.dot(ti, jj - wp.dot(n, jj) * n)

    # ---- Cholesky factorization M = L Lᵀ (accumulators in arrays, see module docstring)
    for i in range(nv):
        for j in range(i + 1):
            chol_acc[w, i, j] = mass_matrix[w, i, j]
            for k in range(j):
                chol_acc[w, i, j] -= chol[w, i, k] * chol[w, j, k]
            s = chol_acc[w, i, j]
            if i == j:
                chol[w, i, i] = wp.sqrt(wp.max(s, 1.0e-12))
            else:
                chol[w, i, j] = s / chol[w, j, j]

    # ---- unconstrained accelerations (only needed by joint limits), then the limit forces
    if has_limits != 0:
        cholesky_solve(w, nv, chol, qfrc, qfrc, 0.0, solve_acc0, solve_y0, solve_acc20, qacc0)
    for i in range(nv):
        j = dof_jntid[i]
        t = jnt_type[j]
        flim = 0.0
        if jnt_limited[j] != 0 and (t == JNT_HINGE or t == JNT_SLIDE):
            iw = dof_invweight0[i]
            sr = jnt_limit_solref[j]
            flim = joint_limit_force(
                qpos[w, jnt_qposadr[j]], qvel[w, i], qacc0[w, i], jnt_range[j], iw, sr[0], sr[1], sr[2],
                joint_limit_smoothing[w],
            )  # fmt: skip
        qfrc_limit[w, i] = flim

    # ---- accelerations: M qacc = qfrc + qfrc_limit
    cholesky_solve(w, nv, chol, qfrc, qfrc_limit, 1.0, solve_acc, solve_y, solve_acc2, qacc)
