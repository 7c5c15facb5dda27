"""Integrators, as MuJoCo's: semi-implicit ``Euler`` (with implicit joint damping) and 4-stage ``RK4``.

* Euler: q̇ ← q̇ + h·ã, then q ← q ⊕ h·q̇ (the new velocity), with ã = (M + h·diag(damping))⁻¹ M·qacc: MuJoCo's
  implicit damping (mj_Euler), solved with a factor that is not differentiated and corrected differentiably as in
  :mod:`.solver`.
* RK4: the classic tableau on (q, q̇, act). Stage i starts from q₀ ⊕ h Σⱼ aᵢⱼ q̇ⱼ, q̇₀ + h Σⱼ aᵢⱼ q̈ⱼ; the step ends
  at q₀ ⊕ h Σⱼ bⱼ q̇ⱼ, q̇₀ + h Σⱼ bⱼ q̈ⱼ (MuJoCo's mj_RungeKutta; no implicit damping).
* Activations advance with :func:`.actuation.next_activation` at the step's (combined) rate.

``⊕`` integrates free and ball joint quaternions on the manifold (exp map of the body-frame angular velocity).

Translations (slide joints, free-joint positions) are summed with compensation (Kahan's TwoSum): ``qpos_err``
carries, per coordinate, the part of the increments that float32 ``qpos`` could not hold, so a body 10 km from the
origin (where float32 resolves 1 mm) moves as it moves at the origin; ``qpos`` itself is the float32 nearest the
compensated position.
"""

from __future__ import annotations

import functools

import warp as wp

from . import unrolled
from .actuation import next_activation
from .dynamics import cholesky_inplace, cholesky_solve_diff, cholesky_solve_inplace
from .spatial import JNT_BALL, JNT_FREE, JNT_SLIDE

RK4_A = ((0.5,), (0.0, 0.5), (0.0, 0.0, 1.0))
RK4_B = (1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0)


@wp.func
def quat_integrate(q: wp.quat, omega_local: wp.vec3, h: float):
    """q ⊗ exp(h ω / 2) for an angular velocity in the local frame, normalized (MuJoCo's mju_quatIntegrate).

    Uses a Taylor series for small angles so the gradient is finite at ω = 0.
    """
    r = omega_local * h
    t2 = wp.dot(r, r)  # rotation angle squared
    c = 0.0
    s = 0.0  # sin(θ/2)/θ
    if t2 < 1.0e-6:
        c = 1.0 - t2 / 8.0 + t2 * t2 / 384.0
        s = 0.5 - t2 / 48.0 + t2 * t2 / 3840.0
    else:
        t = wp.sqrt(t2)
        c = wp.cos(0.5 * t)
        s = wp.sin(0.5 * t) / t
    dq = wp.quat(s * r[0], s * r[1], s * r[2], c)
    return wp.normalize(q * dq)


@wp.func
def compensated_add(w: int, i: int, inc: float, qpos_in: wp.array2d(dtype=wp.float32),
                    qerr_in: wp.array2d(dtype=wp.float32), qpos_out: wp.array2d(dtype=wp.float32),
                    qerr_out: wp.array2d(dtype=wp.float32)):  # fmt: skip
    """qpos_out[w, i] + qerr_out[w, i] = qpos_in[w, i] + (inc + qerr_in[w, i]) exactly (TwoSum); the derivative is
    that of qpos_in + inc (the remainder carries no gradient)."""
    a = qpos_in[w, i]
    b = inc + qerr_in[w, i]
    s = a + b
    bb = s - a
    qerr_out[w, i] = (a - (s - bb)) + (b - bb)
    qpos_out[w, i] = s


@wp.func
def integrate_positions(
    w: int,
    qpos_in: wp.array2d(dtype=wp.float32),
    qerr_in: wp.array2d(dtype=wp.float32),
    vel: wp.array2d(dtype=wp.float32),
    h: float,
    njnt: int,
    jnt_type: wp.array(dtype=wp.int32),
    jnt_qposadr: wp.array(dtype=wp.int32),
    jnt_dofadr: wp.array(dtype=wp.int32),
    qpos_out: wp.array2d(dtype=wp.float32),
    qerr_out: wp.array2d(dtype=wp.float32),
):
    """qpos_out = qpos_in ⊕ h·vel for world ``w`` (each element of qpos_in is read before it is written)."""
    for j in range(njnt):
        t = jnt_type[j]
        qa = jnt_qposadr[j]
        d = jnt_dofadr[j]
        if t == JNT_FREE or t == JNT_BALL:
            qr = qa
            dr = d
            if t == JNT_FREE:
                for i in range(3):
                    compensated_add(w, qa + i, h * vel[w, d + i], qpos_in, qerr_in, qpos_out, qerr_out)
                qr = qa + 3
                dr = d + 3
            q0 = wp.quat(qpos_in[w, qr + 1], qpos_in[w, qr + 2], qpos_in[w, qr + 3], qpos_in[w, qr])
            q = quat_integrate(q0, wp.vec3(vel[w, dr], vel[w, dr + 1], vel[w, dr + 2]), h)
            qpos_out[w, qr] = q[3]
            qpos_out[w, qr + 1] = q[0]
            qpos_out[w, qr + 2] = q[1]
            qpos_out[w, qr + 3] = q[2]
        elif t == JNT_SLIDE:
            compensated_add(w, qa, h * vel[w, d], qpos_in, qerr_in, qpos_out, qerr_out)
        else:
            qpos_out[w, qa] = qpos_in[w, qa] + h * vel[w, d]


@wp.kernel(enable_backward=False)
def eval_euler_damping_solve(
    nv: int,
    h: float,
    damper_on: int,
    qM: wp.array3d(dtype=wp.float32),
    dof_damping: wp.array2d(dtype=wp.float32),
    qacc: wp.array2d(dtype=wp.float32),
    eul_LD: wp.array3d(dtype=wp.float32),
    eul_star: wp.array2d(dtype=wp.float32),
):
    """Factor M + h·diag(damping) and solve for (M + h·diag(damping))⁻¹ M qacc (not differentiated)."""
    w = wp.tid()
    for i in range(nv):
        for j in range(i + 1):
            eul_LD[w, i, j] = qM[w, i, j]
        eul_LD[w, i, i] += h * float(damper_on) * dof_damping[w, i]
        s = float(0.0)
        for j in range(nv):
            s += qM[w, i, j] * qacc[w, j]
        eul_star[w, i] = s
    cholesky_inplace(w, nv, eul_LD)
    cholesky_solve_inplace(w, nv, eul_LD, eul_star)


@functools.cache
def euler_damping_solve_kernel(nv: int) -> wp.Kernel:
    """:func:`eval_euler_damping_solve` for models with exactly ``nv`` dofs, loops unrolled (see :mod:`.unrolled`;
    used on CPU for 1 <= nv <= :data:`.unrolled.MAX_NV`)."""
    D = unrolled.dense(nv)
    NV, load_sym, load_vec, factor, solve, store_lower = D.NV, D.load_sym, D.load_vec, D.factor, D.solve, D.store_lower

    @wp.kernel(enable_backward=False, module="unique", module_options={"max_unroll": unrolled.MAX_NV})
    def eval_euler_damping_solve_unrolled(
        nv: int,
        h: float,
        damper_on: int,
        keep_factor: int,
        qM: wp.array3d(dtype=wp.float32),
        dof_damping: wp.array2d(dtype=wp.float32),
        qacc: wp.array2d(dtype=wp.float32),
        eul_LD: wp.array3d(dtype=wp.float32),
        eul_star: wp.array2d(dtype=wp.float32),
    ):
        w = wp.tid()
        M = load_sym(w, qM)
        K = M
        for i in range(NV):
            K[i, i] = K[i, i] + h * float(damper_on) * dof_damping[w, i]
        L = factor(K)
        y = solve(L, M * load_vec(w, qacc))
        for i in range(NV):
            eul_star[w, i] = y[i]
        if keep_factor != 0:
            store_lower(w, L, eul_LD)

    return eval_euler_damping_solve_unrolled


@wp.kernel
def eval_euler_damping_correction(
    nv: int,
    h: float,
    damper_on: int,
    qM: wp.array3d(dtype=wp.float32),
    dof_damping: wp.array2d(dtype=wp.float32),
    qacc: wp.array2d(dtype=wp.float32),
    eul_LD: wp.array3d(dtype=wp.float32),
    eul_star: wp.array2d(dtype=wp.float32),
    eul_r: wp.array2d(dtype=wp.float32),
    eul_acc: wp.array2d(dtype=wp.float32),
    eul_y: wp.array2d(dtype=wp.float32),
    eul_acc2: wp.array2d(dtype=wp.float32),
    eul_x: wp.array2d(dtype=wp.float32),
    eul_x_value: wp.array2d(dtype=wp.float32),
    qacc_euler: wp.array2d(dtype=wp.float32),
):
    """qacc_euler = y* - (x - x̄), x = K⁻¹ (K y* - M qacc), K = M + h·diag(damping), x̄ its value (not
    differentiated): exactly y*, with the derivative of y* - x. Launched only when a step is differentiated (the
    forward pass integrates y* itself)."""
    w = wp.tid()
    for i in range(nv):
        eul_r[w, i] = h * float(damper_on) * dof_damping[w, i] * eul_star[w, i]
        for j in range(nv):
            eul_r[w, i] += qM[w, i, j] * (eul_star[w, j] - qacc[w, j])
    cholesky_solve_diff(w, nv, eul_LD, eul_r, eul_acc, eul_y, eul_acc2, eul_x)
    for i in range(nv):
        eul_x_value[w, i] = eul_x[w, i]
        qacc_euler[w, i] = eul_star[w, i] - (eul_x[w, i] - eul_x_value[w, i])


@wp.kernel
def integrate_euler(
    qpos_in: wp.array2d(dtype=wp.float32),
    qerr_in: wp.array2d(dtype=wp.float32),
    qvel_in: wp.array2d(dtype=wp.float32),
    qacc_euler: wp.array2d(dtype=wp.float32),
    h: float,
    nv: int,
    njnt: int,
    jnt_type: wp.array(dtype=wp.int32),
    jnt_qposadr: wp.array(dtype=wp.int32),
    jnt_dofadr: wp.array(dtype=wp.int32),
    qpos_out: wp.array2d(dtype=wp.float32),
    qerr_out: wp.array2d(dtype=wp.float32),
    qvel_out: wp.array2d(dtype=wp.float32),
):
    """One semi-implicit Euler step for world ``w``. ``*_out`` may alias ``*_in``."""
    w = wp.tid()
    for d in range(nv):
        qvel_out[w, d] = qvel_in[w, d] + h * qacc_euler[w, d]
    integrate_positions(w, qpos_in, qerr_in, qvel_out, h, njnt, jnt_type, jnt_qposadr, jnt_dofadr, qpos_out,
                        qerr_out)  # fmt: skip


@wp.kernel
def integrate_rk(
    qpos_in: wp.array2d(dtype=wp.float32),
    qerr_in: wp.array2d(dtype=wp.float32),
    qvel_in: wp.array2d(dtype=wp.float32),
    v0: wp.array2d(dtype=wp.float32),
    v1: wp.array2d(dtype=wp.float32),
    v2: wp.array2d(dtype=wp.float32),
    v3: wp.array2d(dtype=wp.float32),
    a0: wp.array2d(dtype=wp.float32),
    a1: wp.array2d(dtype=wp.float32),
    a2: wp.array2d(dtype=wp.float32),
    a3: wp.array2d(dtype=wp.float32),
    rk_weights: wp.vec4,
    h: float,
    nv: int,
    njnt: int,
    jnt_type: wp.array(dtype=wp.int32),
    jnt_qposadr: wp.array(dtype=wp.int32),
    jnt_dofadr: wp.array(dtype=wp.int32),
    rk_vel: wp.array2d(dtype=wp.float32),
    qpos_out: wp.array2d(dtype=wp.float32),
    qerr_out: wp.array2d(dtype=wp.float32),
    qvel_out: wp.array2d(dtype=wp.float32),
):
    """(q₀ ⊕ h Σₖ wₖ vₖ, q̇₀ + h Σₖ wₖ aₖ) for world ``w``: one RK4 stage or the final combination.

    ``*_out`` may alias ``qpos_in``/``qvel_in``.
    """
    w = wp.tid()
    k = rk_weights
    for d in range(nv):
        rk_vel[w, d] = k[0] * v0[w, d] + k[1] * v1[w, d] + k[2] * v2[w, d] + k[3] * v3[w, d]
        acc = k[0] * a0[w, d] + k[1] * a1[w, d] + k[2] * a2[w, d] + k[3] * a3[w, d]
        qvel_out[w, d] = qvel_in[w, d] + h * acc
    integrate_positions(w, qpos_in, qerr_in, rk_vel, h, njnt, jnt_type, jnt_qposadr, jnt_dofadr, qpos_out, qerr_out)


@wp.kernel
def integrate_act(
    nu: int,
    h: float,
    final: int,
    act_in: wp.array2d(dtype=wp.float32),
    d0: wp.array2d(dtype=wp.float32),
    d1: wp.array2d(dtype=wp.float32),
    d2: wp.array2d(dtype=wp.float32),
    d3: wp.array2d(dtype=wp.float32),
    rk_weights: wp.vec4,
    actuator_actadr: wp.array(dtype=wp.int32),
    actuator_dyntype: wp.array(dtype=wp.int32),
    actuator_dynprm: wp.array(dtype=wp.vec3),
    actuator_actlimited: wp.array(dtype=wp.int32),
    actuator_actrange: wp.array(dtype=wp.vec2),
    act_out: wp.array2d(dtype=wp.float32),
):
    """Activations after h at the rate Σₖ wₖ dₖ: an RK stage (linear, ``final`` = 0) or the step's end
    (``final`` = 1: MuJoCo's mj_nextActivation, exact for filterexact, clamped to actrange)."""
    w = wp.tid()
    k = rk_weights
    for a in range(nu):
        adr = actuator_actadr[a]
        if adr >= 0:
            rate = k[0] * d0[w, adr] + k[1] * d1[w, adr] + k[2] * d2[w, adr] + k[3] * d3[w, adr]
            if final != 0:
                act_out[w, adr] = next_activation(actuator_dyntype[a], act_in[w, adr], rate, actuator_dynprm[a][0],
                                                  h, actuator_actlimited[a], actuator_actrange[a])  # fmt: skip
            else:
                act_out[w, adr] = act_in[w, adr] + h * rate
