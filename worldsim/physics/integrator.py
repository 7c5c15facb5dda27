"""Integrators, as MuJoCo's: semi-implicit ``Euler`` and 4-stage ``RK4``.

* Euler: q̇ ← q̇ + h q̈, then q ← q ⊕ h q̇ (new velocity), with MuJoCo's implicit joint damping folded into the
  mass matrix by :mod:`.dynamics`.
* RK4: the classic tableau on (q, q̇). Stage i starts from q₀ ⊕ h Σⱼ aᵢⱼ q̇ⱼ, q̇₀ + h Σⱼ aᵢⱼ q̈ⱼ; the step ends at
  q₀ ⊕ h Σⱼ bⱼ q̇ⱼ, q̇₀ + h Σⱼ bⱼ q̈ⱼ (MuJoCo's mj_RungeKutta; no implicit damping).

``⊕`` integrates free and ball joint quaternions on the manifold (exp map of the body-frame angular velocity).
"""

import warp as wp

from .spatial import JNT_BALL, JNT_FREE

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
def integrate_positions(
    w: int,
    qpos_in: wp.array2d(dtype=wp.float32),
    vel: wp.array2d(dtype=wp.float32),
    h: float,
    njnt: int,
    jnt_type: wp.array(dtype=wp.int32),
    jnt_qposadr: wp.array(dtype=wp.int32),
    jnt_dofadr: wp.array(dtype=wp.int32),
    qpos_out: wp.array2d(dtype=wp.float32),
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
                px = qpos_in[w, qa] + h * vel[w, d]
                py = qpos_in[w, qa + 1] + h * vel[w, d + 1]
                pz = qpos_in[w, qa + 2] + h * vel[w, d + 2]
                qpos_out[w, qa] = px
                qpos_out[w, qa + 1] = py
                qpos_out[w, qa + 2] = pz
                qr = qa + 3
                dr = d + 3
            q0 = wp.quat(qpos_in[w, qr + 1], qpos_in[w, qr + 2], qpos_in[w, qr + 3], qpos_in[w, qr])
            q = quat_integrate(q0, wp.vec3(vel[w, dr], vel[w, dr + 1], vel[w, dr + 2]), h)
            qpos_out[w, qr] = q[3]
            qpos_out[w, qr + 1] = q[0]
            qpos_out[w, qr + 2] = q[1]
            qpos_out[w, qr + 3] = q[2]
        else:
            qpos_out[w, qa] = qpos_in[w, qa] + h * vel[w, d]


@wp.kernel
def integrate_euler(
    qpos_in: wp.array2d(dtype=wp.float32),
    qvel_in: wp.array2d(dtype=wp.float32),
    qacc: wp.array2d(dtype=wp.float32),
    h: float,
    nv: int,
    njnt: int,
    jnt_type: wp.array(dtype=wp.int32),
    jnt_qposadr: wp.array(dtype=wp.int32),
    jnt_dofadr: wp.array(dtype=wp.int32),
    qpos_out: wp.array2d(dtype=wp.float32),
    qvel_out: wp.array2d(dtype=wp.float32),
):
    """One semi-implicit Euler step for world ``w``. ``*_out`` may alias ``*_in``."""
    w = wp.tid()
    for d in range(nv):
        qvel_out[w, d] = qvel_in[w, d] + h * qacc[w, d]
    integrate_positions(w, qpos_in, qvel_out, h, njnt, jnt_type, jnt_qposadr, jnt_dofadr, qpos_out)


@wp.kernel
def integrate_rk(
    qpos0: wp.array2d(dtype=wp.float32),
    qvel0: wp.array2d(dtype=wp.float32),
    v0: wp.array2d(dtype=wp.float32),
    v1: wp.array2d(dtype=wp.float32),
    v2: wp.array2d(dtype=wp.float32),
    v3: wp.array2d(dtype=wp.float32),
    a0: wp.array2d(dtype=wp.float32),
    a1: wp.array2d(dtype=wp.float32),
    a2: wp.array2d(dtype=wp.float32),
    a3: wp.array2d(dtype=wp.float32),
    weights: wp.vec4,
    h: float,
    nv: int,
    njnt: int,
    jnt_type: wp.array(dtype=wp.int32),
    jnt_qposadr: wp.array(dtype=wp.int32),
    jnt_dofadr: wp.array(dtype=wp.int32),
    vel_comb: wp.array2d(dtype=wp.float32),
    qpos_out: wp.array2d(dtype=wp.float32),
    qvel_out: wp.array2d(dtype=wp.float32),
):
    """(q₀ ⊕ h Σₖ wₖ vₖ, q̇₀ + h Σₖ wₖ aₖ) for world ``w``: one RK4 stage or the final combination.

    ``*_out`` may alias ``qpos0``/``qvel0``.
    """
    w = wp.tid()
    for d in range(nv):
        vel_comb[w, d] = weights[0] * v0[w, d] + weights[1] * v1[w, d] + weights[2] * v2[w, d] + weights[3] * v3[w, d]
        acc = weights[0] * a0[w, d] + weights[1] * a1[w, d] + weights[2] * a2[w, d] + weights[3] * a3[w, d]
        qvel_out[w, d] = qvel0[w, d] + h * acc
    integrate_positions(w, qpos0, vel_comb, h, njnt, jnt_type, jnt_qposadr, jnt_dofadr, qpos_out)
