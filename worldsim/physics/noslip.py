"""MuJoCo's noslip post-processing (``<option noslip_iterations>``): after the main solve, projected Gauss-Seidel
sweeps over the friction forces alone (friction loss and pyramidal contact friction), without the regularizer R,
with the normal forces held fixed, so that contacts do not creep. Then qacc = M⁻¹ (qfrc_smooth + Jᵀ f).

Not differentiated: the gradient of a rollout treats the noslip adjustment of qacc as a constant. Elliptic cones
with noslip are not supported (the loader rejects them).
"""

from __future__ import annotations

import warp as wp

from .constraint import CNSTR_FRICTION_DOF, CNSTR_FRICTION_TENDON, CNSTR_PYRAMIDAL
from .dynamics import cholesky_inplace, cholesky_solve_inplace


@wp.func
def row_dot(w: int, nv: int, r: int, efc_J: wp.array3d(dtype=wp.float32), x: wp.array2d(dtype=wp.float32)):
    s = float(0.0)
    for k in range(nv):
        s += efc_J[w, r, k] * x[w, k]
    return s


@wp.func
def row_dot_X(w: int, nv: int, r: int, c: int, efc_J: wp.array3d(dtype=wp.float32),
              ns_X: wp.array3d(dtype=wp.float32)):  # fmt: skip
    """A[r, c] = J_r M⁻¹ J_cᵀ."""
    s = float(0.0)
    for k in range(nv):
        s += efc_J[w, r, k] * ns_X[w, c, k]
    return s


@wp.func
def add_scaled_X(w: int, nv: int, c: int, delta: float, ns_X: wp.array3d(dtype=wp.float32),
                 ns_acc: wp.array2d(dtype=wp.float32)):  # fmt: skip
    for k in range(nv):
        ns_acc[w, k] += delta * ns_X[w, c, k]


@wp.kernel(enable_backward=False)
def eval_noslip(
    nv: int,
    ne: int,
    nf_dof: int,
    nf_ten: int,
    noslip_iterations: int,
    noslip_tolerance: float,
    meaninertia: float,
    nefc: wp.array2d(dtype=wp.int32),
    efc_type: wp.array2d(dtype=wp.int32),
    efc_J: wp.array3d(dtype=wp.float32),
    efc_aref: wp.array2d(dtype=wp.float32),
    efc_frictionloss: wp.array2d(dtype=wp.float32),
    qM: wp.array3d(dtype=wp.float32),
    qfrc_smooth: wp.array2d(dtype=wp.float32),
    # in and out
    efc_force: wp.array2d(dtype=wp.float32),
    qfrc_constraint: wp.array2d(dtype=wp.float32),
    qacc: wp.array2d(dtype=wp.float32),
    # scratch
    ns_LD: wp.array3d(dtype=wp.float32),
    ns_X: wp.array3d(dtype=wp.float32),
    ns_acc: wp.array2d(dtype=wp.float32),
):
    w = wp.tid()
    n = nefc[w, 0]
    if n == 0:
        return
    for i in range(nv):
        for j in range(i + 1):
            ns_LD[w, i, j] = qM[w, i, j]
    cholesky_inplace(w, nv, ns_LD)
    # X_r = M⁻¹ J_rᵀ for the rows the sweeps change
    for r in range(ne, n):
        typ = efc_type[w, r]
        if typ == CNSTR_FRICTION_DOF or typ == CNSTR_FRICTION_TENDON or typ == CNSTR_PYRAMIDAL:
            for k in range(nv):
                ns_X[w, r, k] = efc_J[w, r, k]
            solve_row(w, nv, r, ns_LD, ns_X)
    # current acceleration a = M⁻¹ (qfrc_smooth + Jᵀ f)
    for k in range(nv):
        s = qfrc_smooth[w, k]
        for r in range(n):
            s += efc_J[w, r, k] * efc_force[w, r]
        ns_acc[w, k] = s
    cholesky_solve_inplace(w, nv, ns_LD, ns_acc)
    scale = 1.0 / (meaninertia * float(wp.max(1, nv)))
    nfr = ne + nf_dof + nf_ten
    for _ in range(noslip_iterations):
        improvement = float(0.0)
        # friction loss: a 1-D box-constrained minimization per row
        for r in range(ne, nfr):
            res = row_dot(w, nv, r, efc_J, ns_acc) - efc_aref[w, r]
            a_rr = wp.max(row_dot_X(w, nv, r, r, efc_J, ns_X), 1.0e-10)
            old = efc_force[w, r]
            fl = efc_frictionloss[w, r]
            f = wp.clamp(old - res / a_rr, -fl, fl)
            delta = f - old
            change = 0.5 * delta * delta * a_rr + delta * res
            if change > 1.0e-10:
                delta = 0.0
            efc_force[w, r] = old + delta
            add_scaled_X(w, nv, r, delta, ns_X, ns_acc)
            improvement -= change
        # pyramidal contacts: each pair of opposing edges, with their sum (the normal force) fixed
        r = nfr
        while r < n:
            if efc_type[w, r] == CNSTR_PYRAMIDAL:
                j = r
                res0 = row_dot(w, nv, j, efc_J, ns_acc) - efc_aref[w, j]
                res1 = row_dot(w, nv, j + 1, efc_J, ns_acc) - efc_aref[w, j + 1]
                a00 = wp.max(row_dot_X(w, nv, j, j, efc_J, ns_X), 1.0e-10)
                a11 = wp.max(row_dot_X(w, nv, j + 1, j + 1, efc_J, ns_X), 1.0e-10)
                a01 = row_dot_X(w, nv, j, j + 1, efc_J, ns_X)
                f0 = efc_force[w, j]
                f1 = efc_force[w, j + 1]
                b0 = res0 - (a00 * f0 + a01 * f1)
                b1 = res1 - (a01 * f0 + a11 * f1)
                mid = 0.5 * (f0 + f1)
                k1 = a00 + a11 - 2.0 * a01
                k0 = mid * (a00 - a11) + b0 - b1
                n0 = mid
                n1 = mid
                if k1 >= 1.0e-15:
                    y = -k0 / k1
                    if y < -mid:
                        n0 = 0.0
                        n1 = 2.0 * mid
                    elif y > mid:
                        n0 = 2.0 * mid
                        n1 = 0.0
                    else:
                        n0 = mid + y
                        n1 = mid - y
                d0 = n0 - f0
                d1 = n1 - f1
                change = 0.5 * (d0 * d0 * a00 + 2.0 * d0 * d1 * a01 + d1 * d1 * a11) + d0 * res0 + d1 * res1
                if change > 1.0e-10:
                    d0 = 0.0
                    d1 = 0.0
                    change = 0.0
                efc_force[w, j] = f0 + d0
                efc_force[w, j + 1] = f1 + d1
                add_scaled_X(w, nv, j, d0, ns_X, ns_acc)
                add_scaled_X(w, nv, j + 1, d1, ns_X, ns_acc)
                improvement -= change
                r += 2
            else:
                r += 1
        if improvement * scale < noslip_tolerance:
            break
    for k in range(nv):
        s = float(0.0)
        for r in range(n):
            s += efc_J[w, r, k] * efc_force[w, r]
        qfrc_constraint[w, k] = s
        qacc[w, k] = ns_acc[w, k]


@wp.func
def solve_row(w: int, nv: int, r: int, L: wp.array3d(dtype=wp.float32), X: wp.array3d(dtype=wp.float32)):
    """X[w, r] <- (L Lᵀ)⁻¹ X[w, r]."""
    for i in range(nv):
        t = X[w, r, i]
        for k in range(i):
            t -= L[w, i, k] * X[w, r, k]
        X[w, r, i] = t / L[w, i, i]
    for ii in range(nv):
        i = nv - 1 - ii
        t = X[w, r, i]
        for k in range(i + 1, nv):
            t -= L[w, k, i] * X[w, r, k]
        X[w, r, i] = t / L[w, i, i]
