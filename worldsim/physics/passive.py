"""Passive forces, one thread per world (MuJoCo's mj_passive): joint springs, dof dampers, tendon spring-dampers
and the inertia-box fluid model (``<option density/viscosity/wind>``)."""

from __future__ import annotations

import warp as wp

from .spatial import JNT_FREE, JNT_HINGE, JNT_SLIDE, dof_moves, quat_from_mj, quat_sub


@wp.func
def fluid_box_wrench(
    mass: float,
    inertia: wp.vec3,
    ang_local: wp.vec3,
    lin_local: wp.vec3,
    density: float,
    viscosity: float,
):
    """MuJoCo's inertia-box fluid model: (torque, force) in the body's inertial frame for the local angular and
    linear (minus wind) velocities of its centre of mass. The box has the body's mass and principal inertia."""
    bx = wp.sqrt(wp.max(1.0e-15, inertia[1] + inertia[2] - inertia[0]) / mass * 6.0)
    by = wp.sqrt(wp.max(1.0e-15, inertia[0] + inertia[2] - inertia[1]) / mass * 6.0)
    bz = wp.sqrt(wp.max(1.0e-15, inertia[0] + inertia[1] - inertia[2]) / mass * 6.0)
    torque = wp.vec3(0.0)
    force = wp.vec3(0.0)
    if viscosity > 0.0:
        diam = (bx + by + bz) / 3.0
        torque = ang_local * (-3.141592653589793 * diam * diam * diam * viscosity)
        force = lin_local * (-3.0 * 3.141592653589793 * diam * viscosity)
    if density > 0.0:
        force = force - 0.5 * density * wp.vec3(
            by * bz * wp.abs(lin_local[0]) * lin_local[0],
            bx * bz * wp.abs(lin_local[1]) * lin_local[1],
            bx * by * wp.abs(lin_local[2]) * lin_local[2],
        )
        bx4 = bx * bx * bx * bx
        by4 = by * by * by * by
        bz4 = bz * bz * bz * bz
        torque = torque - (density / 64.0) * wp.vec3(
            bx * (by4 + bz4) * wp.abs(ang_local[0]) * ang_local[0],
            by * (bx4 + bz4) * wp.abs(ang_local[1]) * ang_local[1],
            bz * (bx4 + by4) * wp.abs(ang_local[2]) * ang_local[2],
        )
    return torque, force


@wp.kernel
def eval_passive(
    nv: int,
    njnt: int,
    nbody: int,
    ntendon: int,
    damper_on: int,
    density: float,
    viscosity: float,
    wind: wp.vec3,
    jnt_type: wp.array(dtype=wp.int32),
    jnt_qposadr: wp.array(dtype=wp.int32),
    jnt_dofadr: wp.array(dtype=wp.int32),
    jnt_stiffness: wp.array(dtype=wp.float32),
    qpos_spring: wp.array(dtype=wp.float32),
    tendon_stiffness: wp.array(dtype=wp.float32),
    tendon_damping: wp.array(dtype=wp.float32),
    tendon_lengthspring: wp.array(dtype=wp.vec2),
    body_fluid: wp.array(dtype=wp.int32),
    body_lastdof: wp.array(dtype=wp.int32),
    dof_isanc: wp.array2d(dtype=wp.int32),
    body_mass: wp.array2d(dtype=wp.float32),
    body_inertia: wp.array2d(dtype=wp.vec3),
    dof_damping: wp.array2d(dtype=wp.float32),
    qpos: wp.array2d(dtype=wp.float32),
    qvel: wp.array2d(dtype=wp.float32),
    ten_length: wp.array2d(dtype=wp.float32),
    ten_J: wp.array3d(dtype=wp.float32),
    ten_velocity: wp.array2d(dtype=wp.float32),
    xipos: wp.array2d(dtype=wp.vec3),
    ximat: wp.array2d(dtype=wp.mat33),
    cvel: wp.array2d(dtype=wp.spatial_vector),
    cdof: wp.array2d(dtype=wp.spatial_vector),
    qfrc_passive: wp.array2d(dtype=wp.float32),
):
    w = wp.tid()
    for i in range(nv):
        qfrc_passive[w, i] = -float(damper_on) * dof_damping[w, i] * qvel[w, i]
    # joint springs
    for j in range(njnt):
        stiff = jnt_stiffness[j]
        if stiff != 0.0:
            t = jnt_type[j]
            qa = jnt_qposadr[j]
            d = jnt_dofadr[j]
            if t == JNT_HINGE or t == JNT_SLIDE:
                qfrc_passive[w, d] += -stiff * (qpos[w, qa] - qpos_spring[qa])
            else:
                if t == JNT_FREE:
                    for i in range(3):
                        qfrc_passive[w, d + i] += -stiff * (qpos[w, qa + i] - qpos_spring[qa + i])
                    qa = qa + 3
                    d = d + 3
                q = quat_from_mj(qpos[w, qa], qpos[w, qa + 1], qpos[w, qa + 2], qpos[w, qa + 3])
                q_rest = quat_from_mj(qpos_spring[qa], qpos_spring[qa + 1], qpos_spring[qa + 2], qpos_spring[qa + 3])
                dif = quat_sub(q, q_rest)
                for i in range(3):
                    qfrc_passive[w, d + i] += -stiff * dif[i]
    # tendon spring-dampers (dead band between the two spring lengths)
    for t in range(ntendon):
        ks = tendon_stiffness[t]
        kd = tendon_damping[t]
        if ks != 0.0 or kd != 0.0:
            length = ten_length[w, t]
            lo = tendon_lengthspring[t][0]
            hi = tendon_lengthspring[t][1]
            x = float(0.0)
            if length > hi:
                x = length - hi
            elif length < lo:
                x = length - lo
            f = -ks * x - kd * ten_velocity[w, t]
            for i in range(nv):
                qfrc_passive[w, i] += ten_J[w, t, i] * f
    # inertia-box fluid forces, applied at each body's centre of mass
    for b in range(1, nbody):
        if body_fluid[b] != 0:
            v = cvel[w, b]
            ang = wp.vec3(v[0], v[1], v[2])
            com = xipos[w, b]
            lin = wp.vec3(v[3], v[4], v[5]) + wp.cross(ang, com)
            rot = ximat[w, b]
            torque_l, force_l = fluid_box_wrench(
                body_mass[w, b], body_inertia[w, b], wp.transpose(rot) * ang, wp.transpose(rot) * (lin - wind),
                density, viscosity,
            )  # fmt: skip
            force = rot * force_l
            torque = rot * torque_l + wp.cross(com, force)
            for k in range(nv):
                if dof_moves(dof_isanc, body_lastdof[b], k):
                    s = cdof[w, k]
                    qfrc_passive[w, k] += s[0] * torque[0] + s[1] * torque[1] + s[2] * torque[2] + (
                        s[3] * force[0] + s[4] * force[1] + s[5] * force[2])  # fmt: skip
