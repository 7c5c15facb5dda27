"""Smooth dynamics, one thread per world: the mass matrix (CRBA), bias forces (RNEA), their sum with the passive
and actuator forces, and the dense factorizations that the solver and the integrator use.

Spatial quantities are relative to each body's tree origin (see :mod:`.kinematics`), so the composite inertias
and forces of a tree add without transforms.

Differentiation: CRBA and RNEA are differentiated by Warp (every loop-carried value in an array, written once or
only accumulated before it is read). The Cholesky factorizations are *not* differentiated: every solve with a
factor is followed by a differentiable correction with the factor held constant (see :mod:`.solver`), which gives
the exact derivative of the solution.
"""

from __future__ import annotations

import warp as wp

from .spatial import cross_force, inertia_about_origin, inertia_mul, sv


@wp.kernel
def eval_crba(
    nbody: int,
    nv: int,
    body_parentid: wp.array(dtype=wp.int32),
    body_iquat: wp.array(dtype=wp.quat),
    dof_bodyid: wp.array(dtype=wp.int32),
    dof_isanc: wp.array2d(dtype=wp.int32),
    body_mass: wp.array2d(dtype=wp.float32),
    body_inertia: wp.array2d(dtype=wp.vec3),
    dof_armature: wp.array2d(dtype=wp.float32),
    xquat: wp.array2d(dtype=wp.quat),
    xipos: wp.array2d(dtype=wp.vec3),
    cdof: wp.array2d(dtype=wp.spatial_vector),
    # outputs
    crb_mass: wp.array2d(dtype=wp.float32),
    crb_h: wp.array2d(dtype=wp.vec3),
    crb_inertia: wp.array2d(dtype=wp.mat33),
    qM: wp.array3d(dtype=wp.float32),
):
    """Joint-space inertia ``qM`` (dense, symmetric) with ``dof_armature`` on the diagonal."""
    w = wp.tid()
    for b in range(1, nbody):
        m = body_mass[w, b]
        rot = wp.quat_to_matrix(xquat[w, b] * body_iquat[b])
        ic = rot * wp.diag(body_inertia[w, b]) * wp.transpose(rot)
        com = xipos[w, b]
        crb_mass[w, b] = m
        crb_h[w, b] = m * com
        crb_inertia[w, b] = inertia_about_origin(m, com, ic)
    for bb in range(nbody - 1):
        b = nbody - 1 - bb
        p = body_parentid[b]
        if p > 0:
            crb_mass[w, p] += crb_mass[w, b]
            crb_h[w, p] += crb_h[w, b]
            crb_inertia[w, p] += crb_inertia[w, b]
    # entries off the ancestor pattern are never written: they keep the workspace's initial zeros
    for i in range(nv):
        b = dof_bodyid[i]
        f = inertia_mul(crb_mass[w, b], crb_h[w, b], crb_inertia[w, b], cdof[w, i])
        qM[w, i, i] = wp.dot(cdof[w, i], f) + dof_armature[w, i]
        for j in range(i):
            if dof_isanc[i, j] != 0:
                mij = wp.dot(cdof[w, j], f)
                qM[w, i, j] = mij
                qM[w, j, i] = mij


@wp.kernel
def eval_rnea(
    nbody: int,
    nv: int,
    body_parentid: wp.array(dtype=wp.int32),
    body_dofadr: wp.array(dtype=wp.int32),
    body_dofnum: wp.array(dtype=wp.int32),
    dof_bodyid: wp.array(dtype=wp.int32),
    gravity: wp.array(dtype=wp.vec3),
    body_mass: wp.array2d(dtype=wp.float32),
    body_inertia: wp.array2d(dtype=wp.vec3),
    body_iquat: wp.array(dtype=wp.quat),
    xquat: wp.array2d(dtype=wp.quat),
    xipos: wp.array2d(dtype=wp.vec3),
    qvel: wp.array2d(dtype=wp.float32),
    cdof: wp.array2d(dtype=wp.spatial_vector),
    cdof_dot: wp.array2d(dtype=wp.spatial_vector),
    cvel: wp.array2d(dtype=wp.spatial_vector),
    # outputs
    cacc: wp.array2d(dtype=wp.spatial_vector),
    cfrc: wp.array2d(dtype=wp.spatial_vector),
    qfrc_bias: wp.array2d(dtype=wp.float32),
):
    """Bias forces ``qfrc_bias`` = c(q, v): gravity, Coriolis and centrifugal (recursive Newton-Euler, qacc = 0)."""
    w = wp.tid()
    cacc[w, 0] = sv(wp.vec3(0.0), -gravity[w])
    for b in range(1, nbody):
        m = body_mass[w, b]
        rot = wp.quat_to_matrix(xquat[w, b] * body_iquat[b])
        ic = rot * wp.diag(body_inertia[w, b]) * wp.transpose(rot)
        com = xipos[w, b]
        h = m * com
        io = inertia_about_origin(m, com, ic)
        cacc[w, b] = cacc[w, body_parentid[b]]
        for k in range(body_dofadr[b], body_dofadr[b] + body_dofnum[b]):
            cacc[w, b] += cdof_dot[w, k] * qvel[w, k]
        a = cacc[w, b]
        v = cvel[w, b]
        cfrc[w, b] = inertia_mul(m, h, io, a) + cross_force(v, inertia_mul(m, h, io, v))
    for bb in range(nbody - 1):
        b = nbody - 1 - bb
        p = body_parentid[b]
        if p > 0:
            cfrc[w, p] += cfrc[w, b]
    for i in range(nv):
        qfrc_bias[w, i] = wp.dot(cdof[w, i], cfrc[w, dof_bodyid[i]])


@wp.kernel
def eval_qfrc_smooth(
    qfrc_passive: wp.array2d(dtype=wp.float32),
    qfrc_actuator: wp.array2d(dtype=wp.float32),
    qfrc_bias: wp.array2d(dtype=wp.float32),
    qfrc_smooth: wp.array2d(dtype=wp.float32),
):
    """qfrc_smooth = qfrc_passive + qfrc_actuator - qfrc_bias, over (N, nv)."""
    w, i = wp.tid()
    qfrc_smooth[w, i] = qfrc_passive[w, i] + qfrc_actuator[w, i] - qfrc_bias[w, i]


# ------------------------------------------------------------------ dense factorizations (not differentiated)


@wp.func
def cholesky_inplace(w: int, n: int, L: wp.array3d(dtype=wp.float32)):
    """Overwrite the lower triangle of L[w] (holding a symmetric positive-definite matrix) with its Cholesky
    factor. Pivots are floored at 1e-12 of the diagonal scale to survive float32 round-off."""
    for j in range(n):
        s = L[w, j, j]
        for k in range(j):
            s -= L[w, j, k] * L[w, j, k]
        d = wp.sqrt(wp.max(s, 1.0e-20))
        L[w, j, j] = d
        for i in range(j + 1, n):
            t = L[w, i, j]
            for k in range(j):
                t -= L[w, i, k] * L[w, j, k]
            L[w, i, j] = t / d


@wp.func
def cholesky_solve_inplace(w: int, n: int, L: wp.array3d(dtype=wp.float32), x: wp.array2d(dtype=wp.float32)):
    """x[w] <- (L Lᵀ)⁻¹ x[w] with the factor from :func:`cholesky_inplace` (not differentiable)."""
    for i in range(n):
        t = x[w, i]
        for k in range(i):
            t -= L[w, i, k] * x[w, k]
        x[w, i] = t / L[w, i, i]
    for ii in range(n):
        i = n - 1 - ii
        t = x[w, i]
        for k in range(i + 1, n):
            t -= L[w, k, i] * x[w, k]
        x[w, i] = t / L[w, i, i]


@wp.func
def cholesky_solve_diff(
    w: int,
    n: int,
    L: wp.array3d(dtype=wp.float32),
    rhs: wp.array2d(dtype=wp.float32),
    acc: wp.array2d(dtype=wp.float32),
    y: wp.array2d(dtype=wp.float32),
    acc2: wp.array2d(dtype=wp.float32),
    x: wp.array2d(dtype=wp.float32),
):
    """x[w] = (L Lᵀ)⁻¹ rhs[w], differentiable w.r.t. rhs (L held constant); acc, y, acc2 are write-once scratch."""
    for i in range(n):
        acc[w, i] = rhs[w, i]
        for k in range(i):
            acc[w, i] -= L[w, i, k] * y[w, k]
        y[w, i] = acc[w, i] / L[w, i, i]
    for ii in range(n):
        i = n - 1 - ii
        acc2[w, i] = y[w, i]
        for k in range(i + 1, n):
            acc2[w, i] -= L[w, k, i] * x[w, k]
        x[w, i] = acc2[w, i] / L[w, i, i]


@wp.func
def solve_qacc_smooth(
    w: int,
    nv: int,
    qM: wp.array3d(dtype=wp.float32),
    qfrc_smooth: wp.array2d(dtype=wp.float32),
    qLD: wp.array3d(dtype=wp.float32),
    qacc_smooth: wp.array2d(dtype=wp.float32),
):
    """Factor M (into qLD) and solve qacc_smooth = M⁻¹ qfrc_smooth (not differentiated; see the module docstring)."""
    for i in range(nv):
        for j in range(i + 1):
            qLD[w, i, j] = qM[w, i, j]
        qacc_smooth[w, i] = qfrc_smooth[w, i]
    cholesky_inplace(w, nv, qLD)
    cholesky_solve_inplace(w, nv, qLD, qacc_smooth)
