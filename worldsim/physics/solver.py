"""The constraint solver: MuJoCo's convex problem, solved by Newton's method, with exact implicit gradients.

Given the unconstrained acceleration a₀ = M⁻¹ qfrc_smooth and the constraint rows of :mod:`.constraint`, the
constrained acceleration minimizes (MuJoCo's primal formulation)

    cost(a) = ½ (a - a₀)ᵀ M (a - a₀) + Σ_r s_r(J_r a - aref_r)

with s_r = ½ D_r x² for equality rows, for limit and pyramidal-contact rows while x < 0, for friction-loss rows
while |x| < R_r·floss_r (then linear: the force saturates at ±floss), and MuJoCo's three-zone cost for
elliptic cones. Row forces are f_r = -ds_r/dx.

:func:`eval_newton` (not differentiated; one thread per world) runs MuJoCo's Newton method: Hessian
H = M + Jᵀ C J factorized each iteration, exact line search along -H⁻¹ ∇cost, warm-started from the previous
step's acceleration, a fixed iteration budget, stopping per world when the active set settles.

:func:`eval_constraint_correction` (differentiated) then takes one more Newton step from the solution a* with H
held constant: qacc = a* - H⁻¹ ∇cost(a*). Its value is a* (∇cost(a*) = 0 at the optimum; any remaining residual
is removed) and its derivative is exactly the implicit-function-theorem derivative
d qacc / dθ = -H⁻¹ ∂∇cost/∂θ of the optimality condition, w.r.t. every parameter that reaches M, qfrc_smooth,
J, aref, D, R or the friction bounds.
"""

from __future__ import annotations

import warp as wp

from .constraint import CNSTR_ELLIPTIC, CNSTR_EQUALITY, CNSTR_FRICTION_DOF, CNSTR_FRICTION_TENDON
from .dynamics import cholesky_inplace, cholesky_solve_diff, cholesky_solve_inplace, solve_qacc_smooth
from .types import vec5

STATE_SATISFIED = wp.constant(0)
STATE_QUADRATIC = wp.constant(1)
STATE_LINEARNEG = wp.constant(2)
STATE_LINEARPOS = wp.constant(3)
STATE_CONE = wp.constant(4)


@wp.func
def row_force(typ: int, jar: float, D: float, R: float, floss: float):
    """(force, state) of a non-elliptic row at x = J a - aref."""
    if typ == CNSTR_EQUALITY:
        return -D * jar, STATE_QUADRATIC
    if typ == CNSTR_FRICTION_DOF or typ == CNSTR_FRICTION_TENDON:
        if jar <= -R * floss:
            return floss, STATE_LINEARNEG
        if jar >= R * floss:
            return -floss, STATE_LINEARPOS
        return -D * jar, STATE_QUADRATIC
    if jar >= 0.0:
        return 0.0, STATE_SATISFIED
    return -D * jar, STATE_QUADRATIC


@wp.func
def row_cost(typ: int, jar: float, D: float, R: float, floss: float):
    if typ == CNSTR_EQUALITY:
        return 0.5 * D * jar * jar
    if typ == CNSTR_FRICTION_DOF or typ == CNSTR_FRICTION_TENDON:
        if jar <= -R * floss:
            return -0.5 * R * floss * floss - floss * jar
        if jar >= R * floss:
            return -0.5 * R * floss * floss + floss * jar
        return 0.5 * D * jar * jar
    if jar >= 0.0:
        return 0.0
    return 0.5 * D * jar * jar


@wp.func
def cone_zone(w: int, adr: int, dim: int, mu: float, fr: vec5, jar: wp.array2d(dtype=wp.float32)):
    """(zone, N, T) of an elliptic contact at rows adr..adr+dim-1: zone 0 top (no force), 1 bottom (all rows
    quadratic), 2 middle (the cone surface). U = (μ x₀, f₁ x₁, ...), N = U₀, T = |U₁..|."""
    n = mu * jar[w, adr]
    tt = float(0.0)
    for j in range(1, dim):
        u = fr[j - 1] * jar[w, adr + j]
        tt += u * u
    t = wp.sqrt(tt)
    if n >= mu * t or (t <= 0.0 and n >= 0.0):
        return 0, n, t
    if mu * n + t <= 0.0 or (t <= 0.0 and n < 0.0):
        return 1, n, t
    return 2, n, t


@wp.kernel(enable_backward=False)
def eval_newton(
    nv: int,
    iterations: int,
    ls_iterations: int,
    tolerance: float,
    meaninertia: float,
    warmstart: int,
    keep_factor: int,
    want_forces: int,
    nefc: wp.array2d(dtype=wp.int32),
    ncon: wp.array2d(dtype=wp.int32),
    efc_type: wp.array2d(dtype=wp.int32),
    efc_J: wp.array3d(dtype=wp.float32),
    efc_aref: wp.array2d(dtype=wp.float32),
    efc_D: wp.array2d(dtype=wp.float32),
    efc_R: wp.array2d(dtype=wp.float32),
    efc_frictionloss: wp.array2d(dtype=wp.float32),
    contact_efcadr: wp.array2d(dtype=wp.int32),
    contact_dim: wp.array2d(dtype=wp.int32),
    contact_mu: wp.array2d(dtype=wp.float32),
    contact_friction: wp.array2d(dtype=vec5),
    qM: wp.array3d(dtype=wp.float32),
    qLD: wp.array3d(dtype=wp.float32),
    qfrc_smooth: wp.array2d(dtype=wp.float32),
    qacc_smooth: wp.array2d(dtype=wp.float32),
    qacc_warmstart: wp.array2d(dtype=wp.float32),
    # outputs and scratch
    qacc_solver: wp.array2d(dtype=wp.float32),
    solver_H: wp.array3d(dtype=wp.float32),
    solver_niter: wp.array2d(dtype=wp.int32),
    sol_Ma: wp.array2d(dtype=wp.float32),
    sol_grad: wp.array2d(dtype=wp.float32),
    sol_search: wp.array2d(dtype=wp.float32),
    sol_Mv: wp.array2d(dtype=wp.float32),
    sol_qacc: wp.array2d(dtype=wp.float32),
    sol_jar: wp.array2d(dtype=wp.float32),
    sol_Jv: wp.array2d(dtype=wp.float32),
    sol_state: wp.array2d(dtype=wp.int32),
    sol_force: wp.array2d(dtype=wp.float32),
    sol_coneH: wp.array4d(dtype=wp.float32),
    # the step's values at the solution (see constraint_forces)
    efc_jar: wp.array2d(dtype=wp.float32),
    efc_force: wp.array2d(dtype=wp.float32),
    contact_T2: wp.array2d(dtype=wp.float32),
    qfrc_constraint: wp.array2d(dtype=wp.float32),
    qacc: wp.array2d(dtype=wp.float32),
):
    w = wp.tid()
    n = nefc[w, 0]
    nc = ncon[w, 0]
    if n == 0:
        # no constraint: qacc = M⁻¹ qfrc_smooth, and the correction uses M's factor
        solve_qacc_smooth(w, nv, qM, qfrc_smooth, solver_H, qacc_solver)
        for i in range(nv):
            qacc[w, i] = qacc_solver[w, i]
            qfrc_constraint[w, i] = 0.0
        solver_niter[w, 0] = 0
        return
    scale = 1.0 / (meaninertia * float(wp.max(1, nv)))

    # ---- start at the warm start (the last step's acceleration), or at qacc_smooth when warm starts are disabled
    if warmstart != 0:
        for i in range(nv):
            sol_qacc[w, i] = qacc_warmstart[w, i]
    else:
        solve_qacc_smooth(w, nv, qM, qfrc_smooth, qLD, qacc_smooth)
        for i in range(nv):
            sol_qacc[w, i] = qacc_smooth[w, i]
    # Gauss cost ½ (a - a₀)ᵀ M (a - a₀) = ½ aᵀMa - aᵀ qfrc_smooth + const
    cost = float(0.0)
    for i in range(nv):
        ma = float(0.0)
        for j in range(nv):
            ma += qM[w, i, j] * sol_qacc[w, j]
        sol_Ma[w, i] = ma
        cost += sol_qacc[w, i] * (0.5 * ma - qfrc_smooth[w, i])
    for r in range(n):
        x = -efc_aref[w, r]
        for j in range(nv):
            x += efc_J[w, r, j] * sol_qacc[w, j]
        sol_jar[w, r] = x
    ccost = constraint_cost(w, n, nc, efc_type, efc_D, efc_R, efc_frictionloss, contact_efcadr, contact_dim,
                            contact_mu, contact_friction, sol_jar)  # fmt: skip
    cost += ccost
    update_gradient_hessian(w, nv, n, nc, 1, efc_type, efc_J, efc_D, efc_R, efc_frictionloss, contact_efcadr,
                            contact_dim, contact_mu, contact_friction, qM, qfrc_smooth, sol_Ma, sol_jar, sol_state,
                            sol_force, sol_grad, sol_search, solver_H, sol_coneH)  # fmt: skip
    it = int(0)
    tol = wp.max(tolerance, 1.0e-10)
    while it < iterations:
        # Newton direction -H⁻¹ grad (sol_search holds H⁻¹ grad); stop when the decrement ½ gᵀH⁻¹g is small
        decrement = float(0.0)
        for i in range(nv):
            decrement += sol_grad[w, i] * sol_search[w, i]
            sol_search[w, i] = -sol_search[w, i]
        if 0.5 * decrement * scale < tol:
            break
        alpha, sg, sms = line_search(w, nv, n, nc, ls_iterations, efc_type, efc_J, efc_D, efc_R, efc_frictionloss,
                                     contact_efcadr, contact_dim, contact_mu, contact_friction, qM, qfrc_smooth,
                                     sol_Ma, sol_jar, sol_search, sol_Mv, sol_Jv)  # fmt: skip
        if alpha == 0.0:
            break
        for i in range(nv):
            sol_qacc[w, i] += alpha * sol_search[w, i]
            sol_Ma[w, i] += alpha * sol_Mv[w, i]
        for r in range(n):
            sol_jar[w, r] += alpha * sol_Jv[w, r]
        nchange = update_gradient_hessian(w, nv, n, nc, 0, efc_type, efc_J, efc_D, efc_R, efc_frictionloss,
                                          contact_efcadr, contact_dim, contact_mu, contact_friction, qM, qfrc_smooth,
                                          sol_Ma, sol_jar, sol_state, sol_force, sol_grad, sol_search,
                                          solver_H, sol_coneH)  # fmt: skip
        it += 1
        new_cost = cost + alpha * sg + 0.5 * alpha * alpha * sms - ccost
        ccost = constraint_cost(w, n, nc, efc_type, efc_D, efc_R, efc_frictionloss, contact_efcadr, contact_dim,
                                contact_mu, contact_friction, sol_jar)  # fmt: skip
        new_cost += ccost
        improvement = (cost - new_cost) * scale
        cost = new_cost
        # a full Newton step that left every row in its state lands on the optimum of a piecewise quadratic
        if nchange == 0 and wp.abs(alpha - 1.0) < 1.0e-3 and nc_cone_active(w, n, efc_type, sol_state) == 0:
            break
        if improvement >= 0.0 and improvement < tol:
            break
    for i in range(nv):
        qacc_solver[w, i] = sol_qacc[w, i]
        qacc[w, i] = sol_qacc[w, i]
    solver_niter[w, 0] = it
    if want_forces != 0:
        constraint_forces(w, nv, n, nc, efc_type, contact_efcadr, contact_dim, efc_J, efc_aref, efc_D, efc_R,
                          efc_frictionloss, contact_mu, contact_friction, qacc_solver, efc_jar, efc_force,
                          contact_T2, qfrc_constraint)  # fmt: skip


@wp.func
def constraint_cost(
    w: int,
    n: int,
    nc: int,
    efc_type: wp.array2d(dtype=wp.int32),
    efc_D: wp.array2d(dtype=wp.float32),
    efc_R: wp.array2d(dtype=wp.float32),
    efc_frictionloss: wp.array2d(dtype=wp.float32),
    contact_efcadr: wp.array2d(dtype=wp.int32),
    contact_dim: wp.array2d(dtype=wp.int32),
    contact_mu: wp.array2d(dtype=wp.float32),
    contact_friction: wp.array2d(dtype=vec5),
    jar: wp.array2d(dtype=wp.float32),
):
    """Σ_r s_r(jar_r): the constraint part of the cost at residuals ``jar``."""
    c = float(0.0)
    for r in range(n):
        if efc_type[w, r] != CNSTR_ELLIPTIC:
            c += row_cost(efc_type[w, r], jar[w, r], efc_D[w, r], efc_R[w, r], efc_frictionloss[w, r])
    for k in range(nc):
        adr = contact_efcadr[w, k]
        if efc_type[w, adr] == CNSTR_ELLIPTIC:
            dim = contact_dim[w, k]
            mu = contact_mu[w, k]
            zone, nn, tt = cone_zone(w, adr, dim, mu, contact_friction[w, k], jar)
            if zone == 1:
                for j in range(dim):
                    x = jar[w, adr + j]
                    c += 0.5 * efc_D[w, adr + j] * x * x
            elif zone == 2:
                dm = efc_D[w, adr] / (mu * mu * (1.0 + mu * mu))
                c += 0.5 * dm * (nn - mu * tt) * (nn - mu * tt)
    return c


@wp.func
def nc_cone_active(w: int, n: int, efc_type: wp.array2d(dtype=wp.int32), sol_state: wp.array2d(dtype=wp.int32)):
    """Number of rows on an elliptic cone's surface (whose cost is not quadratic)."""
    c = int(0)
    for r in range(n):
        if efc_type[w, r] == CNSTR_ELLIPTIC and sol_state[w, r] == STATE_CONE:
            c += 1
    return c


@wp.func
def update_row_states(
    w: int,
    n: int,
    nc: int,
    efc_type: wp.array2d(dtype=wp.int32),
    efc_D: wp.array2d(dtype=wp.float32),
    efc_R: wp.array2d(dtype=wp.float32),
    efc_frictionloss: wp.array2d(dtype=wp.float32),
    contact_efcadr: wp.array2d(dtype=wp.int32),
    contact_dim: wp.array2d(dtype=wp.int32),
    contact_mu: wp.array2d(dtype=wp.float32),
    contact_friction: wp.array2d(dtype=vec5),
    sol_jar: wp.array2d(dtype=wp.float32),
    sol_state: wp.array2d(dtype=wp.int32),
    sol_force: wp.array2d(dtype=wp.float32),
    sol_coneH: wp.array4d(dtype=wp.float32),
):
    """At residuals ``sol_jar``: each row's state and force (``sol_force``), and the Hessian of every elliptic
    contact on its cone's surface (``sol_coneH``, in row coordinates; MuJoCo's mj_constraintUpdate).
    Returns (rows whose state changed, contacts on a cone's surface)."""
    changed = int(0)
    cones = int(0)
    for r in range(n):
        typ = efc_type[w, r]
        if typ != CNSTR_ELLIPTIC:
            f, st = row_force(typ, sol_jar[w, r], efc_D[w, r], efc_R[w, r], efc_frictionloss[w, r])
            if st != sol_state[w, r]:
                changed += 1
            sol_state[w, r] = st
            sol_force[w, r] = f
    for k in range(nc):
        adr = contact_efcadr[w, k]
        if efc_type[w, adr] == CNSTR_ELLIPTIC:
            dim = contact_dim[w, k]
            mu = contact_mu[w, k]
            fr = contact_friction[w, k]
            zone, nn, tt = cone_zone(w, adr, dim, mu, fr, sol_jar)
            st = STATE_SATISFIED
            if zone == 1:
                st = STATE_QUADRATIC
            elif zone == 2:
                st = STATE_CONE
                cones += 1
            if st != sol_state[w, adr]:
                changed += 1
            for j in range(dim):
                sol_state[w, adr + j] = st
                sol_force[w, adr + j] = 0.0
            if zone == 1:
                for j in range(dim):
                    sol_force[w, adr + j] = -efc_D[w, adr + j] * sol_jar[w, adr + j]
            elif zone == 2:
                dm = efc_D[w, adr] / (mu * mu * (1.0 + mu * mu))
                f0 = -dm * (nn - mu * tt) * mu
                # forces: f0 on the normal row, -f0/T · U_j · f_j on the friction rows
                sol_force[w, adr] = f0
                for j in range(1, dim):
                    sol_force[w, adr + j] = -f0 / tt * fr[j - 1] * sol_jar[w, adr + j] * fr[j - 1]
                for a in range(dim):
                    for b in range(dim):
                        sol_coneH[w, k, a, b] = cone_hessian_entry(a, b, dim, mu, fr, nn, tt, dm, w, adr, sol_jar)
    return changed, cones


@wp.func
def update_gradient_hessian(
    w: int,
    nv: int,
    n: int,
    nc: int,
    force: int,
    efc_type: wp.array2d(dtype=wp.int32),
    efc_J: wp.array3d(dtype=wp.float32),
    efc_D: wp.array2d(dtype=wp.float32),
    efc_R: wp.array2d(dtype=wp.float32),
    efc_frictionloss: wp.array2d(dtype=wp.float32),
    contact_efcadr: wp.array2d(dtype=wp.int32),
    contact_dim: wp.array2d(dtype=wp.int32),
    contact_mu: wp.array2d(dtype=wp.float32),
    contact_friction: wp.array2d(dtype=vec5),
    qM: wp.array3d(dtype=wp.float32),
    qfrc_smooth: wp.array2d(dtype=wp.float32),
    sol_Ma: wp.array2d(dtype=wp.float32),
    sol_jar: wp.array2d(dtype=wp.float32),
    sol_state: wp.array2d(dtype=wp.int32),
    sol_force: wp.array2d(dtype=wp.float32),
    sol_grad: wp.array2d(dtype=wp.float32),
    sol_search: wp.array2d(dtype=wp.float32),
    solver_H: wp.array3d(dtype=wp.float32),
    sol_coneH: wp.array4d(dtype=wp.float32),
):
    """At the current iterate (sol_Ma, sol_jar): row states and forces, grad = Ma - qfrc_smooth - Jᵀf and
    sol_search = H⁻¹ grad. The Hessian H = M + Σ D JᵀJ (quadratic rows) + cone terms is rebuilt and factorized into
    solver_H only when a row changed state, a cone is active or ``force`` is set (it depends on the states alone
    otherwise). Returns how many row states changed."""
    changed, cones = update_row_states(w, n, nc, efc_type, efc_D, efc_R, efc_frictionloss, contact_efcadr,
                                       contact_dim, contact_mu, contact_friction, sol_jar, sol_state, sol_force,
                                       sol_coneH)  # fmt: skip
    for i in range(nv):
        sol_grad[w, i] = sol_Ma[w, i] - qfrc_smooth[w, i]
    for r in range(n):
        f = sol_force[w, r]
        if f != 0.0:
            for i in range(nv):
                sol_grad[w, i] -= efc_J[w, r, i] * f
    if force != 0 or changed > 0 or cones > 0:
        build_hessian(w, nv, n, nc, efc_type, efc_J, efc_D, contact_efcadr, contact_dim, qM, sol_state, solver_H,
                      sol_coneH)  # fmt: skip
    for i in range(nv):
        sol_search[w, i] = sol_grad[w, i]
    cholesky_solve_inplace(w, nv, solver_H, sol_search)
    return changed


@wp.func
def build_hessian(
    w: int,
    nv: int,
    n: int,
    nc: int,
    efc_type: wp.array2d(dtype=wp.int32),
    efc_J: wp.array3d(dtype=wp.float32),
    efc_D: wp.array2d(dtype=wp.float32),
    contact_efcadr: wp.array2d(dtype=wp.int32),
    contact_dim: wp.array2d(dtype=wp.int32),
    qM: wp.array3d(dtype=wp.float32),
    sol_state: wp.array2d(dtype=wp.int32),
    solver_H: wp.array3d(dtype=wp.float32),
    sol_coneH: wp.array4d(dtype=wp.float32),
):
    """solver_H <- Cholesky factor of M + Σ_quadratic D JᵀJ + Σ_cones J_cᵀ H_c J_c (lower triangle)."""
    for i in range(nv):
        for j in range(i + 1):
            solver_H[w, i, j] = qM[w, i, j]
    for r in range(n):
        if sol_state[w, r] == STATE_QUADRATIC:
            d = efc_D[w, r]
            for i in range(nv):
                ji = efc_J[w, r, i]
                if ji != 0.0:
                    for j in range(i + 1):
                        solver_H[w, i, j] += d * ji * efc_J[w, r, j]
    for k in range(nc):
        adr = contact_efcadr[w, k]
        if efc_type[w, adr] == CNSTR_ELLIPTIC and sol_state[w, adr] == STATE_CONE:
            dim = contact_dim[w, k]
            for i in range(nv):
                for j in range(i + 1):
                    hsum = float(0.0)
                    for a in range(dim):
                        ja = efc_J[w, adr + a, i]
                        if ja != 0.0:
                            for b in range(dim):
                                hsum += ja * sol_coneH[w, k, a, b] * efc_J[w, adr + b, j]
                    solver_H[w, i, j] += hsum
    cholesky_inplace(w, nv, solver_H)


@wp.func
def cone_hessian_entry(a: int, b: int, dim: int, mu: float, fr: vec5, nn: float, tt: float, dm: float, w: int,
                       adr: int, sol_jar: wp.array2d(dtype=wp.float32)):  # fmt: skip
    """Entry (a, b) of the Hessian of ½ Dm (N - μT)² w.r.t. the contact's rows x (MuJoCo's cone Hessian)."""
    sa = mu
    if a > 0:
        sa = fr[a - 1]
    sb = mu
    if b > 0:
        sb = fr[b - 1]
    h = float(0.0)
    if a == 0 and b == 0:
        h = 1.0
    elif a == 0 or b == 0:
        c = b
        if b == 0:
            c = a
        h = -mu / tt * fr[c - 1] * sol_jar[w, adr + c]
    else:
        ua = fr[a - 1] * sol_jar[w, adr + a]
        ub = fr[b - 1] * sol_jar[w, adr + b]
        h = mu * nn / (tt * tt * tt) * ua * ub
        if a == b:
            h += mu * mu - mu * nn / tt
    return dm * sa * sb * h


@wp.func
def line_search(
    w: int,
    nv: int,
    n: int,
    nc: int,
    ls_iterations: int,
    efc_type: wp.array2d(dtype=wp.int32),
    efc_J: wp.array3d(dtype=wp.float32),
    efc_D: wp.array2d(dtype=wp.float32),
    efc_R: wp.array2d(dtype=wp.float32),
    efc_frictionloss: wp.array2d(dtype=wp.float32),
    contact_efcadr: wp.array2d(dtype=wp.int32),
    contact_dim: wp.array2d(dtype=wp.int32),
    contact_mu: wp.array2d(dtype=wp.float32),
    contact_friction: wp.array2d(dtype=vec5),
    qM: wp.array3d(dtype=wp.float32),
    qfrc_smooth: wp.array2d(dtype=wp.float32),
    sol_Ma: wp.array2d(dtype=wp.float32),
    sol_jar: wp.array2d(dtype=wp.float32),
    sol_search: wp.array2d(dtype=wp.float32),
    sol_Mv: wp.array2d(dtype=wp.float32),
    sol_Jv: wp.array2d(dtype=wp.float32),
):
    """The step α >= 0 minimizing cost(a + α s) along s = sol_search (:func:`line_minimize`).
    Returns (α, sᵀ(Ma - qfrc_smooth), sᵀMs); fills sol_Mv = M s and sol_Jv = J s."""
    # Gauss part: φ_G(α) = ½ α² sᵀMs + α sᵀ(Ma - qfrc_smooth)
    sms = float(0.0)
    sg = float(0.0)
    for i in range(nv):
        mv = float(0.0)
        for j in range(nv):
            mv += qM[w, i, j] * sol_search[w, j]
        sol_Mv[w, i] = mv
        sms += sol_search[w, i] * mv
        sg += sol_search[w, i] * (sol_Ma[w, i] - qfrc_smooth[w, i])
    for r in range(n):
        jv = float(0.0)
        for j in range(nv):
            jv += efc_J[w, r, j] * sol_search[w, j]
        sol_Jv[w, r] = jv
    alpha = line_minimize(w, n, nc, ls_iterations, sms, sg, efc_type, efc_D, efc_R, efc_frictionloss, contact_efcadr,
                          contact_dim, contact_mu, contact_friction, sol_jar, sol_Jv)  # fmt: skip
    return alpha, sg, sms


@wp.func
def line_minimize(
    w: int,
    n: int,
    nc: int,
    ls_iterations: int,
    sms: float,
    sg: float,
    efc_type: wp.array2d(dtype=wp.int32),
    efc_D: wp.array2d(dtype=wp.float32),
    efc_R: wp.array2d(dtype=wp.float32),
    efc_frictionloss: wp.array2d(dtype=wp.float32),
    contact_efcadr: wp.array2d(dtype=wp.int32),
    contact_dim: wp.array2d(dtype=wp.int32),
    contact_mu: wp.array2d(dtype=wp.float32),
    contact_friction: wp.array2d(dtype=vec5),
    sol_jar: wp.array2d(dtype=wp.float32),
    sol_Jv: wp.array2d(dtype=wp.float32),
):
    """The step α >= 0 minimizing the cost along a line, given its Gauss terms sᵀMs and sᵀ(Ma - qfrc_smooth) and the
    rows' residuals (sol_jar) and rates (sol_Jv = J s): 1-D Newton on the derivative, safeguarded by bisection of
    a bracket (the cost is convex along the line and piecewise quadratic for non-elliptic rows)."""
    d0, dd0 = line_derivs(0.0, w, n, nc, sms, sg, efc_type, efc_D, efc_R, efc_frictionloss, contact_efcadr,
                          contact_dim, contact_mu, contact_friction, sol_jar, sol_Jv)  # fmt: skip
    if d0 >= 0.0:
        return 0.0
    lo = float(0.0)
    hi = float(-1.0)  # no upper bracket yet
    alpha = float(1.0)
    if dd0 > 0.0:
        alpha = -d0 / dd0
    best = float(0.0)
    for _ in range(ls_iterations):
        d, dd = line_derivs(alpha, w, n, nc, sms, sg, efc_type, efc_D, efc_R, efc_frictionloss, contact_efcadr,
                            contact_dim, contact_mu, contact_friction, sol_jar, sol_Jv)  # fmt: skip
        if wp.abs(d) <= 1.0e-6 * wp.abs(d0):
            return alpha
        if d < 0.0:
            lo = alpha
            best = alpha
        else:
            hi = alpha
        nxt = alpha
        if dd > 0.0:
            nxt = alpha - d / dd
        if hi < 0.0:
            if nxt <= lo:
                nxt = 2.0 * lo + 1.0
        elif nxt <= lo or nxt >= hi:
            nxt = 0.5 * (lo + hi)
        if nxt == alpha:
            return alpha
        alpha = nxt
    if hi > 0.0:
        return 0.5 * (lo + hi)
    return best


@wp.func
def line_derivs(
    alpha: float,
    w: int,
    n: int,
    nc: int,
    sms: float,
    sg: float,
    efc_type: wp.array2d(dtype=wp.int32),
    efc_D: wp.array2d(dtype=wp.float32),
    efc_R: wp.array2d(dtype=wp.float32),
    efc_frictionloss: wp.array2d(dtype=wp.float32),
    contact_efcadr: wp.array2d(dtype=wp.int32),
    contact_dim: wp.array2d(dtype=wp.int32),
    contact_mu: wp.array2d(dtype=wp.float32),
    contact_friction: wp.array2d(dtype=vec5),
    sol_jar: wp.array2d(dtype=wp.float32),
    sol_Jv: wp.array2d(dtype=wp.float32),
):
    """(φ'(α), φ''(α)) of the cost along the search line."""
    d = sg + alpha * sms
    dd = sms
    for r in range(n):
        typ = efc_type[w, r]
        if typ != CNSTR_ELLIPTIC:
            jv = sol_Jv[w, r]
            x = sol_jar[w, r] + alpha * jv
            f, st = row_force(typ, x, efc_D[w, r], efc_R[w, r], efc_frictionloss[w, r])
            d -= f * jv
            if st == STATE_QUADRATIC:
                dd += efc_D[w, r] * jv * jv
    for k in range(nc):
        adr = contact_efcadr[w, k]
        if efc_type[w, adr] == CNSTR_ELLIPTIC:
            dim = contact_dim[w, k]
            mu = contact_mu[w, k]
            fr = contact_friction[w, k]
            # U(α) = U + α dU, N = U₀, T = |U_t|
            nn = mu * (sol_jar[w, adr] + alpha * sol_Jv[w, adr])
            dn = mu * sol_Jv[w, adr]
            tt2 = float(0.0)
            tdt = float(0.0)
            dt2 = float(0.0)
            for j in range(1, dim):
                u = fr[j - 1] * (sol_jar[w, adr + j] + alpha * sol_Jv[w, adr + j])
                du = fr[j - 1] * sol_Jv[w, adr + j]
                tt2 += u * u
                tdt += u * du
                dt2 += du * du
            tt = wp.sqrt(tt2)
            if nn >= mu * tt or (tt <= 0.0 and nn >= 0.0):
                continue
            if mu * nn + tt <= 0.0 or (tt <= 0.0 and nn < 0.0):
                for j in range(dim):
                    r = adr + j
                    x = sol_jar[w, r] + alpha * sol_Jv[w, r]
                    d += efc_D[w, r] * x * sol_Jv[w, r]
                    dd += efc_D[w, r] * sol_Jv[w, r] * sol_Jv[w, r]
            else:
                dm = efc_D[w, adr] / (mu * mu * (1.0 + mu * mu))
                dtt = tdt / tt
                d2tt = (dt2 - dtt * dtt) / tt
                g = nn - mu * tt
                dg = dn - mu * dtt
                d += dm * g * dg
                dd += dm * (dg * dg - g * mu * d2tt)
    return d, dd


@wp.func
def constraint_forces(
    w: int,
    nv: int,
    n: int,
    nc: int,
    efc_type: wp.array2d(dtype=wp.int32),
    contact_efcadr: wp.array2d(dtype=wp.int32),
    contact_dim: wp.array2d(dtype=wp.int32),
    efc_J: wp.array3d(dtype=wp.float32),
    efc_aref: wp.array2d(dtype=wp.float32),
    efc_D: wp.array2d(dtype=wp.float32),
    efc_R: wp.array2d(dtype=wp.float32),
    efc_frictionloss: wp.array2d(dtype=wp.float32),
    contact_mu: wp.array2d(dtype=wp.float32),
    contact_friction: wp.array2d(dtype=vec5),
    qacc_solver: wp.array2d(dtype=wp.float32),
    efc_jar: wp.array2d(dtype=wp.float32),
    efc_force: wp.array2d(dtype=wp.float32),
    contact_T2: wp.array2d(dtype=wp.float32),
    qfrc_constraint: wp.array2d(dtype=wp.float32),
):
    """Residuals efc_jar = J a - aref, row forces efc_force and qfrc_constraint = Jᵀ f at a = qacc_solver
    (differentiable). The Newton kernels end with it and the correction starts with it, so both write the same
    values."""
    for r in range(n):
        efc_jar[w, r] = -efc_aref[w, r]
        for j in range(nv):
            efc_jar[w, r] += efc_J[w, r, j] * qacc_solver[w, j]
    for r in range(n):
        typ = efc_type[w, r]
        if typ != CNSTR_ELLIPTIC:
            f, st = row_force(typ, efc_jar[w, r], efc_D[w, r], efc_R[w, r], efc_frictionloss[w, r])
            efc_force[w, r] = f
    for k in range(nc):
        adr = contact_efcadr[w, k]
        if efc_type[w, adr] == CNSTR_ELLIPTIC:
            elliptic_forces(w, k, adr, contact_dim[w, k], contact_mu[w, k], contact_friction[w, k], efc_D, efc_jar,
                            contact_T2, efc_force)  # fmt: skip
    for i in range(nv):
        qfrc_constraint[w, i] = 0.0
        for r in range(n):
            qfrc_constraint[w, i] += efc_J[w, r, i] * efc_force[w, r]


@wp.kernel
def eval_constraint_correction(
    nv: int,
    nefc: wp.array2d(dtype=wp.int32),
    ncon: wp.array2d(dtype=wp.int32),
    efc_type: wp.array2d(dtype=wp.int32),
    contact_efcadr: wp.array2d(dtype=wp.int32),
    contact_dim: wp.array2d(dtype=wp.int32),
    efc_J: wp.array3d(dtype=wp.float32),
    efc_aref: wp.array2d(dtype=wp.float32),
    efc_D: wp.array2d(dtype=wp.float32),
    efc_R: wp.array2d(dtype=wp.float32),
    efc_frictionloss: wp.array2d(dtype=wp.float32),
    contact_mu: wp.array2d(dtype=wp.float32),
    contact_friction: wp.array2d(dtype=vec5),
    qM: wp.array3d(dtype=wp.float32),
    qfrc_smooth: wp.array2d(dtype=wp.float32),
    qacc_solver: wp.array2d(dtype=wp.float32),
    solver_H: wp.array3d(dtype=wp.float32),
    # outputs
    efc_jar: wp.array2d(dtype=wp.float32),
    efc_force: wp.array2d(dtype=wp.float32),
    contact_T2: wp.array2d(dtype=wp.float32),
    qfrc_constraint: wp.array2d(dtype=wp.float32),
    cor_grad: wp.array2d(dtype=wp.float32),
    cor_acc: wp.array2d(dtype=wp.float32),
    cor_y: wp.array2d(dtype=wp.float32),
    cor_acc2: wp.array2d(dtype=wp.float32),
    cor_x: wp.array2d(dtype=wp.float32),
    cor_x_value: wp.array2d(dtype=wp.float32),
    qacc: wp.array2d(dtype=wp.float32),
):
    """qacc = a* - (x - x̄) with x = H⁻¹ ∇cost(a*) and x̄ its value (not differentiated): qacc equals a* exactly
    and has the derivative of a* - H⁻¹ ∇cost(a*) (see the module docstring); forces at a* as the Newton kernels
    write them. Launched only when a step is differentiated (the value does not need it)."""
    w = wp.tid()
    constraint_forces(w, nv, nefc[w, 0], ncon[w, 0], efc_type, contact_efcadr, contact_dim, efc_J, efc_aref, efc_D,
                      efc_R, efc_frictionloss, contact_mu, contact_friction, qacc_solver, efc_jar, efc_force,
                      contact_T2, qfrc_constraint)  # fmt: skip
    for i in range(nv):
        cor_grad[w, i] = -qfrc_smooth[w, i] - qfrc_constraint[w, i]
        for j in range(nv):
            cor_grad[w, i] += qM[w, i, j] * qacc_solver[w, j]
    cholesky_solve_diff(w, nv, solver_H, cor_grad, cor_acc, cor_y, cor_acc2, cor_x)
    for i in range(nv):
        cor_x_value[w, i] = cor_x[w, i]
        qacc[w, i] = qacc_solver[w, i] - (cor_x[w, i] - cor_x_value[w, i])


@wp.func
def elliptic_forces(w: int, k: int, adr: int, dim: int, mu: float, fr: vec5, efc_D: wp.array2d(dtype=wp.float32),
                    efc_jar: wp.array2d(dtype=wp.float32), contact_T2: wp.array2d(dtype=wp.float32),
                    efc_force: wp.array2d(dtype=wp.float32)):  # fmt: skip
    """Forces of an elliptic contact's rows (MuJoCo's three zones), differentiable: the friction norm is accumulated
    in contact_T2 (an array, as Warp's reverse mode needs) and each force written once."""
    contact_T2[w, k] = 0.0
    for j in range(1, dim):
        u = fr[j - 1] * efc_jar[w, adr + j]
        contact_T2[w, k] += u * u
    tt = wp.sqrt(contact_T2[w, k])
    nn = mu * efc_jar[w, adr]
    if nn >= mu * tt or (tt <= 0.0 and nn >= 0.0):
        for j in range(dim):
            efc_force[w, adr + j] = 0.0
    elif mu * nn + tt <= 0.0 or (tt <= 0.0 and nn < 0.0):
        for j in range(dim):
            efc_force[w, adr + j] = -efc_D[w, adr + j] * efc_jar[w, adr + j]
    else:
        dm = efc_D[w, adr] / (mu * mu * (1.0 + mu * mu))
        f0 = -dm * (nn - mu * tt) * mu
        efc_force[w, adr] = f0
        for j in range(1, dim):
            efc_force[w, adr + j] = -f0 / tt * fr[j - 1] * efc_jar[w, adr + j] * fr[j - 1]
