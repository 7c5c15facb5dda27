"""The Newton solver of :mod:`.solver`, generated for one model's nv with every loop over dofs unrolled.

Same algorithm and arguments as :func:`.solver.eval_newton` (the tests run both), built from
:func:`.unrolled.dense`'s functions: the mass matrix, the Hessian factor, the iterate and its gradient are local
matrices and vectors with constant indices. Row data (J, residuals, forces, states) stays in the arrays, and the
row-level functions (line search, row states, forces) are :mod:`.solver`'s own. Used on CPU for models with
1 <= nv <= :data:`.unrolled.MAX_NV` (:func:`.step.newton_kernel` picks it).
"""

# no `from __future__ import annotations`: Warp reads the closure's types (Vec, Mat) from the annotations

import functools

import warp as wp

from . import unrolled
from .constraint import CNSTR_ELLIPTIC
from .solver import (
    STATE_CONE,
    STATE_QUADRATIC,
    constraint_cost,
    constraint_forces,
    line_minimize,
    nc_cone_active,
    update_row_states,
)
from .types import vec5


@functools.cache
def newton_kernel(nv: int) -> wp.Kernel:
    """:func:`.solver.eval_newton` for models with exactly ``nv`` dofs (1 <= nv <= :data:`.unrolled.MAX_NV`)."""
    D = unrolled.dense(nv)
    NV, Vec, Mat = D.NV, D.Vec, D.Mat
    load_sym, load_vec, factor, solve, store_factor = D.load_sym, D.load_vec, D.factor, D.solve, D.store_lower

    @wp.func
    def jrow(w: int, r: int, efc_J: wp.array3d(dtype=wp.float32)):
        out = Vec()
        for j in range(NV):
            out[j] = efc_J[w, r, j]
        return out

    @wp.func
    def row_rates(w: int, n: int, efc_J: wp.array3d(dtype=wp.float32), x: Vec, out: wp.array2d(dtype=wp.float32)):
        """out[w, r] = J_r x for every row."""
        for r in range(n):
            out[w, r] = wp.dot(jrow(w, r, efc_J), x)

    @wp.func
    def gradient(w: int, n: int, Ma: Vec, qfrc: Vec, efc_J: wp.array3d(dtype=wp.float32),
                 sol_force: wp.array2d(dtype=wp.float32)):  # fmt: skip
        """Ma - qfrc_smooth - Jᵀ f."""
        g = Ma - qfrc
        for r in range(n):
            f = sol_force[w, r]
            if f != 0.0:
                g = g - jrow(w, r, efc_J) * f
        return g

    @wp.func
    def hessian_factor(
        w: int,
        n: int,
        nc: int,
        M: Mat,
        efc_type: wp.array2d(dtype=wp.int32),
        efc_J: wp.array3d(dtype=wp.float32),
        efc_D: wp.array2d(dtype=wp.float32),
        contact_efcadr: wp.array2d(dtype=wp.int32),
        contact_dim: wp.array2d(dtype=wp.int32),
        sol_state: wp.array2d(dtype=wp.int32),
        sol_coneH: wp.array4d(dtype=wp.float32),
    ):
        """Cholesky factor of M + Σ_quadratic D JᵀJ + Σ_cones J_cᵀ H_c J_c (as :func:`.solver.build_hessian`)."""
        H = M
        for r in range(n):
            if sol_state[w, r] == STATE_QUADRATIC:
                row = jrow(w, r, efc_J)
                drow = efc_D[w, r] * row
                for i in range(NV):
                    for j in range(NV):
                        if j <= i:
                            H[i, j] = H[i, j] + drow[i] * row[j]
        for k in range(nc):
            adr = contact_efcadr[w, k]
            if efc_type[w, adr] == CNSTR_ELLIPTIC and sol_state[w, adr] == STATE_CONE:
                dim = contact_dim[w, k]
                for a in range(dim):
                    ra = jrow(w, adr + a, efc_J)
                    for b in range(dim):
                        hrow = sol_coneH[w, k, a, b] * ra
                        rb = jrow(w, adr + b, efc_J)
                        for i in range(NV):
                            for j in range(NV):
                                if j <= i:
                                    H[i, j] = H[i, j] + hrow[i] * rb[j]
        return factor(H)

    @wp.kernel(enable_backward=False, module="unique", module_options={"max_unroll": unrolled.MAX_NV})
    def eval_newton_unrolled(
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
        qfrc_smooth: wp.array2d(dtype=wp.float32),
        qacc_warmstart: wp.array2d(dtype=wp.float32),
        # outputs and scratch
        qacc_smooth: wp.array2d(dtype=wp.float32),
        qacc_solver: wp.array2d(dtype=wp.float32),
        solver_H: wp.array3d(dtype=wp.float32),
        solver_niter: wp.array2d(dtype=wp.int32),
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
        M = load_sym(w, qM)
        qfrc = load_vec(w, qfrc_smooth)
        if n == 0 or warmstart == 0:
            L0 = factor(M)
            a0 = solve(L0, qfrc)
            for i in range(NV):
                qacc_smooth[w, i] = a0[i]
            if n == 0:
                # no constraint: qacc = M⁻¹ qfrc_smooth, and the correction uses M's factor
                for i in range(NV):
                    qacc_solver[w, i] = a0[i]
                    qacc[w, i] = a0[i]
                    qfrc_constraint[w, i] = 0.0
                if keep_factor != 0:
                    store_factor(w, L0, solver_H)
                solver_niter[w, 0] = 0
                return
        scale = 1.0 / (meaninertia * float(NV))
        # start at the warm start (the last step's acceleration), or at qacc_smooth when warm starts are disabled
        a = load_vec(w, qacc_warmstart)
        if warmstart == 0:
            a = load_vec(w, qacc_smooth)
        # Gauss cost ½ (a - a₀)ᵀ M (a - a₀) = ½ aᵀMa - aᵀ qfrc_smooth + const
        Ma = M * a
        cost = wp.dot(a, 0.5 * Ma - qfrc)
        for r in range(n):
            sol_jar[w, r] = wp.dot(jrow(w, r, efc_J), a) - efc_aref[w, r]
        ccost = constraint_cost(w, n, nc, efc_type, efc_D, efc_R, efc_frictionloss, contact_efcadr, contact_dim,
                                contact_mu, contact_friction, sol_jar)  # fmt: skip
        cost += ccost
        changed, cones = update_row_states(w, n, nc, efc_type, efc_D, efc_R, efc_frictionloss, contact_efcadr,
                                           contact_dim, contact_mu, contact_friction, sol_jar, sol_state, sol_force,
                                           sol_coneH)  # fmt: skip
        grad = gradient(w, n, Ma, qfrc, efc_J, sol_force)
        L = hessian_factor(w, n, nc, M, efc_type, efc_J, efc_D, contact_efcadr, contact_dim, sol_state, sol_coneH)
        hg = solve(L, grad)  # H⁻¹ grad
        it = int(0)
        tol = wp.max(tolerance, 1.0e-10)
        while it < iterations:
            # Newton direction -H⁻¹ grad; stop when the decrement ½ gᵀH⁻¹g is small
            if 0.5 * wp.dot(grad, hg) * scale < tol:
                break
            search = -hg
            Mv = M * search
            sms = wp.dot(search, Mv)
            sg = wp.dot(search, Ma - qfrc)
            row_rates(w, n, efc_J, search, sol_Jv)
            alpha = line_minimize(w, n, nc, ls_iterations, sms, sg, efc_type, efc_D, efc_R, efc_frictionloss,
                                  contact_efcadr, contact_dim, contact_mu, contact_friction, sol_jar,
                                  sol_Jv)  # fmt: skip
            if alpha == 0.0:
                break
            a = a + alpha * search
            Ma = Ma + alpha * Mv
            for r in range(n):
                sol_jar[w, r] = sol_jar[w, r] + alpha * sol_Jv[w, r]
            changed, cones = update_row_states(w, n, nc, efc_type, efc_D, efc_R, efc_frictionloss, contact_efcadr,
                                               contact_dim, contact_mu, contact_friction, sol_jar, sol_state,
                                               sol_force, sol_coneH)  # fmt: skip
            grad = gradient(w, n, Ma, qfrc, efc_J, sol_force)
            if changed > 0 or cones > 0:
                L = hessian_factor(w, n, nc, M, efc_type, efc_J, efc_D, contact_efcadr, contact_dim, sol_state,
                                   sol_coneH)  # fmt: skip
            hg = solve(L, grad)
            it += 1
            new_cost = cost + alpha * sg + 0.5 * alpha * alpha * sms - ccost
            ccost = constraint_cost(w, n, nc, efc_type, efc_D, efc_R, efc_frictionloss, contact_efcadr,
                                    contact_dim, contact_mu, contact_friction, sol_jar)  # fmt: skip
            new_cost += ccost
            improvement = (cost - new_cost) * scale
            cost = new_cost
            # a full Newton step that left every row in its state lands on the optimum of a piecewise quadratic
            if changed == 0 and wp.abs(alpha - 1.0) < 1.0e-3 and nc_cone_active(w, n, efc_type, sol_state) == 0:
                break
            if improvement >= 0.0 and improvement < tol:
                break
        for i in range(NV):
            qacc_solver[w, i] = a[i]
            qacc[w, i] = a[i]
        if keep_factor != 0:
            store_factor(w, L, solver_H)
        solver_niter[w, 0] = it
        if want_forces != 0:
            constraint_forces(w, NV, n, nc, efc_type, contact_efcadr, contact_dim, efc_J, efc_aref, efc_D, efc_R,
                              efc_frictionloss, contact_mu, contact_friction, qacc_solver, efc_jar, efc_force,
                              contact_T2, qfrc_constraint)  # fmt: skip

    return eval_newton_unrolled
