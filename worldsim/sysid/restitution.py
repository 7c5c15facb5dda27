"""Coefficient of restitution and MuJoCo's contact damping ratio.

MuJoCo's positive ``solref = (timeconst, dampratio)`` makes a contact a spring-damper along its normal with natural
frequency 1 / (timeconst · dampratio) and damping ratio ζ = dampratio. A linear spring-damper that lets go when
the spring comes back to rest length returns a fraction

    e = exp(−π ζ / sqrt(1 − ζ²))     (ζ < 1;  e = 0 for ζ ≥ 1: no rebound)

of the impact speed. :func:`measured_restitution` measures e instead, by dropping a ball on a plane in worldsim.
The simulated contact differs from that linear model: the constraint force is clamped at zero (the damper cannot
pull, so the ball lets go earlier and faster), the impedance ``solimp`` scales the force, and the contact is
resolved in a handful of timesteps. In :data:`worldsim.sysid.BOUNCE_SCENE` (timestep 2 ms, timeconst 0.1 s, 4 m/s
impact), measured vs closed form:

    ζ           0.05   0.1    0.113  0.2    0.3    0.5    0.7
    measured    0.885  0.753  0.724  0.559  0.412  0.179  0.038
    closed form 0.854  0.729  0.700  0.527  0.372  0.163  0.046

within 0.05 everywhere (``tests/test_sysid_pixels.py`` asserts it, and that the measurement equals MuJoCo's own
simulation of the drop to 2e-3). e grows slightly with the impact speed (ζ = 0.113: 0.719 at 2 m/s, 0.725 at
6 m/s). The closed form needs a contact resolved in time: the timestep well below timeconst · ζ (1 / the contact's
natural frequency). With a 4 ms timestep and timeconst 0.05 s, ζ = 0.02 gives e > 1 (the contact gains energy).
"""

from __future__ import annotations

import math
import os

import numpy as np
import torch

from ..physics.mjcf import from_mjmodel, load_mjcf
from ..physics.model import Model
from ..physics.rollout import rollout

__all__ = ["measured_restitution"]


def measured_restitution(model, damping_ratio, *, impact_speed: float = 3.0, gap: float = 1e-3):
    """Measure the coefficient of restitution of a worldsim contact: a ball hits the ground plane straight down at
    ``impact_speed`` and e = rebound speed / impact speed, both taken at the moment the ball touches the plane
    (from the last sample before and the first sample after the contact, corrected ballistically for gravity).

    Args:
        model: a :class:`~worldsim.Model` or an MJCF file path holding one free body with a centred sphere geom
            (the ball) and a plane with normal +z (the ground). Its compiled MJCF values are used (timestep,
            solref timeconst, solimp, gravity), not parameters changed later with ``set_params``.
        damping_ratio: ζ > 0 [1], a float or a sequence (measured side by side, one world each); it is set as
            ``solref[1]`` of every geom, so the contact gets ζ whatever the geoms' ``solmix``.
        impact_speed: normal speed at impact [m/s].
        gap: the ball starts this high above the plane [m].

    Returns:
        e [1] per damping ratio: a float, or a numpy array for a sequence. 0 when the ball does not leave the
        ground within the simulated 0.1 s + 20 timeconsts.

    Raises:
        ValueError: a damping ratio not positive and finite, a non-positive impact speed or gap, a scene without
            the ball or the plane, or a geom in MuJoCo's direct (negative) solref form.
    """
    zetas = np.atleast_1d(np.asarray(damping_ratio, dtype=np.float64))
    if zetas.ndim != 1 or zetas.size == 0 or not np.all(np.isfinite(zetas)) or np.any(zetas <= 0):
        raise ValueError(f"damping_ratio must be positive finite numbers, got {damping_ratio!r}")
    for name, value in (("impact_speed", impact_speed), ("gap", gap)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    if isinstance(model, Model):
        mjm = model.mj_model
    elif isinstance(model, (str, os.PathLike)):
        mjm = load_mjcf(model).mj_model
    else:
        raise ValueError(f"model must be a worldsim Model or an MJCF file path, got {type(model).__name__}")
    jnt, geom_z, radius, ground = _ball_and_ground(mjm)
    if np.any(mjm.geom_solref[:, 0] <= 0):
        raise ValueError("measured_restitution needs solref in the (timeconst, dampratio) form on every geom")

    n = zetas.size
    sim = from_mjmodel(mjm, num_worlds=n)
    qadr, dadr = int(mjm.jnt_qposadr[jnt]), int(mjm.jnt_dofadr[jnt])
    touch = ground + radius  # ball centre height at first touch [m]
    qpos0, qvel0 = sim.default_state()
    qpos0[:, qadr + 2] = touch + gap
    qpos0[:, qadr + 3 : qadr + 7] = torch.tensor([1.0, 0.0, 0.0, 0.0])
    qvel0[:, dadr + 2] = -impact_speed
    solref = sim.get_params()["geom_solref"].clone()
    solref[:, :, 1] = torch.as_tensor(zetas, dtype=torch.float32)[:, None]
    steps = math.ceil((0.1 + 20 * float(mjm.geom_solref[:, 0].max())) / mjm.opt.timestep)
    with torch.no_grad():
        qpos, qvel = rollout(sim, qpos0, qvel0, torch.zeros(steps, n, sim.nu), {"geom_solref": solref})
    z = torch.cat([qpos0[None, :, qadr + 2], qpos[:, :, qadr + 2]]).double().numpy()  # [T+1, n]
    vz = torch.cat([qvel0[None, :, dadr + 2], qvel[:, :, dadr + 2]]).double().numpy()
    g = -float(mjm.opt.gravity[2])  # downward acceleration [m/s²]
    out = np.zeros(n)
    for i in range(n):
        inside = np.flatnonzero(z[:, i] < touch)
        if inside.size == 0:
            raise ValueError(f"the ball never reached the ground (damping ratio {zetas[i]})")
        first = int(inside[0])
        left = np.flatnonzero((z[first:, i] >= touch) & (vz[first:, i] > 0))
        if left.size == 0:
            continue  # still on the ground: no rebound
        pre, post = first - 1, first + int(left[0])
        v_in = math.sqrt(vz[pre, i] ** 2 + 2 * g * (z[pre, i] - touch))
        v_out = math.sqrt(max(vz[post, i] ** 2 + 2 * g * (z[post, i] - touch), 0.0))
        out[i] = v_out / v_in
    return float(out[0]) if np.ndim(damping_ratio) == 0 else out


def _ball_and_ground(mjm) -> tuple[int, int, float, float]:
    """(free joint id, ball geom id, ball radius [m], ground plane height [m]) of a ball-over-plane scene."""
    import mujoco

    free = np.flatnonzero(mjm.jnt_type == mujoco.mjtJoint.mjJNT_FREE)
    if free.size != 1:
        raise ValueError(f"the scene must have exactly one free joint (the ball), found {free.size}")
    jnt = int(free[0])
    body = int(mjm.jnt_bodyid[jnt])
    spheres = np.flatnonzero((mjm.geom_bodyid == body) & (mjm.geom_type == mujoco.mjtGeom.mjGEOM_SPHERE))
    if spheres.size == 0 or np.abs(mjm.geom_pos[spheres[0]]).max() > 1e-9:
        raise ValueError("the free body must carry a sphere geom centred on the body (the ball)")
    planes = [g for g in np.flatnonzero(mjm.geom_type == mujoco.mjtGeom.mjGEOM_PLANE)
              if mjm.geom_bodyid[g] == 0 and np.allclose(np.abs(mjm.geom_quat[g]), [1, 0, 0, 0])]  # fmt: skip
    if not planes:
        raise ValueError("the scene must have a ground plane (a world plane geom with normal +z)")
    return jnt, int(spheres[0]), float(mjm.geom_size[spheres[0], 0]), float(mjm.geom_pos[planes[0], 2])
