"""Semi-implicit Euler: q̇ ← q̇ + h q̈, then q ← q ⊕ h q̇ (quaternions on the manifold), as MuJoCo's ``Euler``."""

import warp as wp

from .spatial import JNT_BALL, JNT_FREE


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
    """One step for world ``w``. ``*_out`` may alias ``*_in`` (each element is read before it is written)."""
    w = wp.tid()
    for d in range(nv):
        qvel_out[w, d] = qvel_in[w, d] + h * qacc[w, d]
    for j in range(njnt):
        t = jnt_type[j]
        qa = jnt_qposadr[j]
        d = jnt_dofadr[j]
        if t == JNT_FREE or t == JNT_BALL:
            qr = qa
            dr = d
            if t == JNT_FREE:
                px = qpos_in[w, qa] + h * qvel_out[w, d]
                py = qpos_in[w, qa + 1] + h * qvel_out[w, d + 1]
                pz = qpos_in[w, qa + 2] + h * qvel_out[w, d + 2]
                qpos_out[w, qa] = px
                qpos_out[w, qa + 1] = py
                qpos_out[w, qa + 2] = pz
                qr = qa + 3
                dr = d + 3
            q0 = wp.quat(qpos_in[w, qr + 1], qpos_in[w, qr + 2], qpos_in[w, qr + 3], qpos_in[w, qr])
            q = quat_integrate(q0, wp.vec3(qvel_out[w, dr], qvel_out[w, dr + 1], qvel_out[w, dr + 2]), h)
            qpos_out[w, qr] = q[3]
            qpos_out[w, qr + 1] = q[0]
            qpos_out[w, qr + 2] = q[1]
            qpos_out[w, qr + 3] = q[2]
        else:
            qpos_out[w, qa] = qpos_in[w, qa] + h * qvel_out[w, d]
