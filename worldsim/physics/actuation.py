"""Actuation, one thread per world (MuJoCo's mj_transmission and mj_fwdActuation for the supported types).

Transmissions: joint (hinge, slide) and tendon, each scaled by ``actuator_gear``. Force = gain · input + bias with
gain fixed or affine in (length, velocity) and bias none or affine; input is ``ctrl`` (clamped to ``ctrlrange``)
or, for stateful actuators, the activation ``act`` (integrator, filter, filterexact dynamics; ``actearly`` uses the
next step's activation). ``qfrc_actuator`` = momentᵀ force, clamped per joint by ``actuatorfrcrange``.
"""

from __future__ import annotations

import warp as wp

TRN_TENDON = wp.constant(3)
DYN_NONE = wp.constant(0)
DYN_INTEGRATOR = wp.constant(1)
DYN_FILTER = wp.constant(2)
DYN_FILTEREXACT = wp.constant(3)
GAIN_AFFINE = wp.constant(1)
BIAS_AFFINE = wp.constant(1)


@wp.func
def next_activation(dyntype: int, act: float, act_dot: float, tau: float, h: float, limited: int, actrange: wp.vec2):
    """MuJoCo's mj_nextActivation: the activation after a step ``h`` [s] at rate ``act_dot`` (exact for
    ``filterexact``: act + act_dot·τ·(1 - e^(-h/τ))), clamped to ``actrange`` if limited."""
    nxt = act + h * act_dot
    if dyntype == DYN_FILTEREXACT:
        t = wp.max(tau, 1.0e-15)
        nxt = act + act_dot * t * (1.0 - wp.exp(-h / t))
    if limited != 0:
        nxt = wp.clamp(nxt, actrange[0], actrange[1])
    return nxt


@wp.kernel
def eval_actuation(
    nu: int,
    nv: int,
    njnt: int,
    timestep: float,
    actuator_trntype: wp.array(dtype=wp.int32),
    actuator_trnid: wp.array(dtype=wp.int32),
    actuator_dyntype: wp.array(dtype=wp.int32),
    actuator_gaintype: wp.array(dtype=wp.int32),
    actuator_biastype: wp.array(dtype=wp.int32),
    actuator_dynprm: wp.array(dtype=wp.vec3),
    actuator_gainprm: wp.array(dtype=wp.vec3),
    actuator_biasprm: wp.array(dtype=wp.vec3),
    actuator_ctrllimited: wp.array(dtype=wp.int32),
    actuator_ctrlrange: wp.array(dtype=wp.vec2),
    actuator_forcelimited: wp.array(dtype=wp.int32),
    actuator_forcerange: wp.array(dtype=wp.vec2),
    actuator_actlimited: wp.array(dtype=wp.int32),
    actuator_actrange: wp.array(dtype=wp.vec2),
    actuator_actadr: wp.array(dtype=wp.int32),
    actuator_actearly: wp.array(dtype=wp.int32),
    jnt_qposadr: wp.array(dtype=wp.int32),
    jnt_dofadr: wp.array(dtype=wp.int32),
    jnt_actfrclimited: wp.array(dtype=wp.int32),
    jnt_actfrcrange: wp.array(dtype=wp.vec2),
    dof_jntid: wp.array(dtype=wp.int32),
    actuator_gear: wp.array2d(dtype=wp.float32),
    qpos: wp.array2d(dtype=wp.float32),
    qvel: wp.array2d(dtype=wp.float32),
    act: wp.array2d(dtype=wp.float32),
    ctrl: wp.array2d(dtype=wp.float32),
    ten_length: wp.array2d(dtype=wp.float32),
    ten_J: wp.array3d(dtype=wp.float32),
    # outputs
    actuator_length: wp.array2d(dtype=wp.float32),
    actuator_velocity: wp.array2d(dtype=wp.float32),
    actuator_force: wp.array2d(dtype=wp.float32),
    act_dot: wp.array2d(dtype=wp.float32),
    qfrc_actuator_raw: wp.array2d(dtype=wp.float32),
    qfrc_actuator: wp.array2d(dtype=wp.float32),
):
    w = wp.tid()
    # the transmission: a joint's moment arm is the gear on its first dof, a tendon's is gear · ten_J
    for a in range(nu):
        gear = actuator_gear[w, a]
        tid = actuator_trnid[a]
        if actuator_trntype[a] == TRN_TENDON:
            actuator_length[w, a] = gear * ten_length[w, tid]
            actuator_velocity[w, a] = 0.0
            for k in range(nv):
                actuator_velocity[w, a] += gear * ten_J[w, tid, k] * qvel[w, k]
        else:
            actuator_length[w, a] = gear * qpos[w, jnt_qposadr[tid]]
            actuator_velocity[w, a] = gear * qvel[w, jnt_dofadr[tid]]

        u = ctrl[w, a]
        if actuator_ctrllimited[a] != 0:
            u = wp.clamp(u, actuator_ctrlrange[a][0], actuator_ctrlrange[a][1])
        dyn = actuator_dyntype[a]
        inp = u
        adr = actuator_actadr[a]
        if adr >= 0:
            tau = actuator_dynprm[a][0]
            x = act[w, adr]
            xdot = u
            if dyn == DYN_FILTER or dyn == DYN_FILTEREXACT:
                xdot = (u - x) / wp.max(tau, 1.0e-15)
            act_dot[w, adr] = xdot
            inp = x
            if actuator_actearly[a] != 0:
                inp = next_activation(dyn, x, xdot, tau, timestep, actuator_actlimited[a], actuator_actrange[a])
        length = actuator_length[w, a]
        vel = actuator_velocity[w, a]
        g = actuator_gainprm[a]
        gain = g[0]
        if actuator_gaintype[a] == GAIN_AFFINE:
            gain = g[0] + g[1] * length + g[2] * vel
        bias = float(0.0)
        if actuator_biastype[a] == BIAS_AFFINE:
            bp = actuator_biasprm[a]
            bias = bp[0] + bp[1] * length + bp[2] * vel
        force = gain * inp + bias
        if actuator_forcelimited[a] != 0:
            force = wp.clamp(force, actuator_forcerange[a][0], actuator_forcerange[a][1])
        actuator_force[w, a] = force
    for k in range(nv):
        qfrc_actuator_raw[w, k] = 0.0
    for a in range(nu):
        gear = actuator_gear[w, a]
        tid = actuator_trnid[a]
        if actuator_trntype[a] == TRN_TENDON:
            for k in range(nv):
                qfrc_actuator_raw[w, k] += gear * ten_J[w, tid, k] * actuator_force[w, a]
        else:
            d = jnt_dofadr[tid]
            qfrc_actuator_raw[w, d] += gear * actuator_force[w, a]
    for k in range(nv):
        f = qfrc_actuator_raw[w, k]
        j = dof_jntid[k]
        if jnt_actfrclimited[j] != 0 and jnt_dofadr[j] == k:  # MuJoCo clamps the joint's first dof
            f = wp.clamp(f, jnt_actfrcrange[j][0], jnt_actfrcrange[j][1])
        qfrc_actuator[w, k] = f
