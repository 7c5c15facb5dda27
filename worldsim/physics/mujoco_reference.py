"""MuJoCo as the oracle: the same MJCF stepped by ``mujoco.mj_step``, and the scenes and statistics that the
tests and ``benchmarks/accuracy.py`` hold worldsim to.

Everything here runs MuJoCo on one world at a time (float64), and worldsim through :func:`worldsim.rollout` or
:class:`worldsim.Simulator`; the functions return numbers, the callers decide what is close enough.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np


def mujoco_trajectory(mj_model: mujoco.MjModel, qpos0, qvel0, ctrl) -> tuple[np.ndarray, np.ndarray]:
    """MuJoCo's qpos [T, nq] and qvel [T, nv] after each of the T steps of ``ctrl`` [T, nu], for one world."""
    d = mujoco.MjData(mj_model)
    d.qpos[:] = qpos0
    d.qvel[:] = qvel0
    qs, vs = [], []
    for u in ctrl:
        d.ctrl[:] = u
        mujoco.mj_step(mj_model, d)
        qs.append(d.qpos.copy())
        vs.append(d.qvel.copy())
    return np.array(qs), np.array(vs)


def mujoco_finite_difference(make, x0: np.ndarray, indices, loss, rel_eps: float = 1e-5) -> np.ndarray:
    """d loss / d x at the flat ``indices`` of ``x0``, by central differences of MuJoCo trajectories (float64).

    ``make(x)`` returns (MjModel, qpos0, qvel0, ctrl [T, nu]) for the value x; ``loss(qpos [T, nq], qvel [T, nv])``
    maps MuJoCo's trajectory to a number. The step is ``rel_eps * max(1, |x_i|)``: small enough to stay on one
    side of contact kinks, which float32 differences of worldsim cannot.
    """
    out = []
    for i in indices:
        eps = rel_eps * max(1.0, abs(float(x0.flat[i])))
        xp, xm = x0.copy(), x0.copy()
        xp.flat[i] += eps
        xm.flat[i] -= eps
        fp, fm = (float(loss(*mujoco_trajectory(*make(x)))) for x in (xp, xm))
        out.append((fp - fm) / (2 * eps))
    return np.array(out)


def worldsim_trajectory(model, qpos0, qvel0, ctrl) -> tuple[np.ndarray, np.ndarray]:
    """:func:`worldsim.rollout` of one world from numpy inputs: qpos [T, nq], qvel [T, nv] as float64 arrays."""
    import torch

    from .rollout import rollout

    out = rollout(  # (qpos, qvel) or, for models with activations, (qpos, qvel, act)
        model,
        torch.tensor(np.asarray(qpos0), dtype=torch.float32)[None],
        torch.tensor(np.asarray(qvel0), dtype=torch.float32)[None],
        torch.tensor(np.asarray(ctrl), dtype=torch.float32)[:, None],
    )
    return out[0][:, 0].double().numpy(), out[1][:, 0].double().numpy()


def both_trajectories(mj: mujoco.MjModel, steps: int, qvel0=None, ctrl=None) -> tuple[np.ndarray, np.ndarray]:
    """(MuJoCo qpos [T, nq], worldsim qpos [T, nq]) of ``steps`` steps from ``mj.qpos0`` (zero velocity and
    controls unless given)."""
    from .mjcf import from_mjmodel

    qvel0 = np.zeros(mj.nv) if qvel0 is None else qvel0
    ctrl = np.zeros((steps, mj.nu)) if ctrl is None else ctrl
    ref, _ = mujoco_trajectory(mj, mj.qpos0, qvel0, ctrl)
    ours, _ = worldsim_trajectory(from_mjmodel(mj), mj.qpos0, qvel0, ctrl)
    return ref, ours


# ---------------------------------------------------------------------------------------------- contact scenes


def plane_scene(bodies: str, *, floor: str = "", option: str = 'timestep="0.002"') -> mujoco.MjModel:
    """A model of ``bodies`` (MJCF ``<body>`` elements) over a ground plane with the attributes ``floor``."""
    return mujoco.MjModel.from_xml_string(
        f'<mujoco><option {option}/><worldbody><geom name="floor" type="plane" size="10 10 .1" {floor}/>'
        f"{bodies}</worldbody></mujoco>"
    )


def box_stack(n: int, offset: float = 0.0, yaw_deg: float = 0.0) -> mujoco.MjModel:
    """``n`` free 0.2 m cubes of 1 kg stacked 1 mm apart on the plane, each level shifted by ``offset`` [m] along
    x and yawed by ``yaw_deg`` more than the one below."""
    bodies = ""
    for i in range(n):
        a = np.radians(yaw_deg * i)
        bodies += (f'<body pos="{offset * i} 0 {0.1 + 0.201 * i}" quat="{np.cos(a / 2)} 0 0 {np.sin(a / 2)}">'
                   '<freejoint/><geom type="box" size="0.1 0.1 0.1" mass="1"/></body>')  # fmt: skip
    return plane_scene(bodies)


def rebound_height(z: np.ndarray, rest: float) -> float:
    """Apex above ``rest`` [m] after the first impact of a dropped body's height trajectory ``z`` [T]."""
    first_up = int(np.argmax(np.diff(z) > 0))
    return float(z[first_up:].max() - rest)


def tilt_degrees(quat: np.ndarray) -> np.ndarray:
    """Rotation angle [deg] of unit quaternions ``quat`` [..., 4] (w, x, y, z) away from the identity."""
    return np.degrees(2 * np.arccos(np.clip(np.abs(quat[..., 0]), 0, 1)))


# ------------------------------------------------------------------------------------------ model coordinates


def lifted(mj: mujoco.MjModel, qpos: np.ndarray, height: float = 1.0) -> np.ndarray:
    """``qpos`` with the model raised by ``height`` [m]: the z of every free joint, and every slide joint along z
    that moves a child of the world (the root height of planar walkers), so nothing touches the floor."""
    q = qpos.copy()
    for j in range(mj.njnt):
        a = mj.jnt_qposadr[j]
        if mj.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE:
            q[a + 2] += height
        elif (mj.jnt_type[j] == mujoco.mjtJoint.mjJNT_SLIDE and mj.body_parentid[mj.jnt_bodyid[j]] == 0
              and abs(mj.jnt_axis[j][2]) > 0.99):  # fmt: skip
            q[a] += height
    return q


def root_height_index(mj: mujoco.MjModel) -> int | None:
    """qpos index of the first tree's height: a free joint's z, or a root slide joint along z; None if none."""
    for j in range(mj.njnt):
        if mj.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE:
            return int(mj.jnt_qposadr[j] + 2)
        if (mj.jnt_type[j] == mujoco.mjtJoint.mjJNT_SLIDE and mj.body_parentid[mj.jnt_bodyid[j]] == 0
                and abs(mj.jnt_axis[j][2]) > 0.99):  # fmt: skip
            return int(mj.jnt_qposadr[j])
    return None


def root_translations(mj: mujoco.MjModel) -> list[int]:
    """qpos indices of the world-frame x and y of each tree (free-joint x, y; root slide joints along x or y)."""
    idx = []
    for j in range(mj.njnt):
        if mj.body_parentid[mj.jnt_bodyid[j]] != 0:
            continue
        a = int(mj.jnt_qposadr[j])
        if mj.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE:
            idx += [a, a + 1]
        elif mj.jnt_type[j] == mujoco.mjtJoint.mjJNT_SLIDE and abs(mj.jnt_axis[j][2]) < 0.01:
            idx.append(a)
    return idx


# -------------------------------------------------------------------------------------- random-action episodes


@dataclass
class EpisodeStats:
    """What one simulator did over the episodes of :func:`random_action_episodes`.

    ``forward_reward`` [steps, episodes]: v5's forward-velocity reward term, Δx/dt of qpos[0] per env step;
    ``root_height`` [steps, episodes] (None for models without a root height); ``finite``: no NaN or inf anywhere.
    """

    forward_reward: np.ndarray
    root_height: np.ndarray | None
    finite: bool


def random_action_episodes(
    mj: mujoco.MjModel, *, episodes: int = 16, env_steps: int = 1000, frame_skip: int = 5, seed: int = 0
) -> tuple[EpisodeStats, EpisodeStats]:
    """(MuJoCo, worldsim) over ``episodes`` episodes of ``env_steps`` env steps of uniform random actions over
    the whole ctrlrange (what SAC/TD3 do while warming up), ``frame_skip`` physics steps each, from gymnasium-style
    reset noise (qpos0 + U(-0.1, 0.1), qvel 0.1·N(0, 1)), without termination. Both get the same starts and actions.
    """
    import torch

    from .mjcf import from_mjmodel
    from .simulator import Simulator

    rng = np.random.default_rng(seed)
    qpos0 = mj.qpos0 + rng.uniform(-0.1, 0.1, (episodes, mj.nq))
    qvel0 = 0.1 * rng.standard_normal((episodes, mj.nv))
    actions = rng.uniform(mj.actuator_ctrlrange[:, 0], mj.actuator_ctrlrange[:, 1], (env_steps, episodes, mj.nu))
    dt = mj.opt.timestep * frame_skip
    zi = root_height_index(mj)

    qpos_ref = np.zeros((env_steps + 1, episodes, mj.nq))
    d = mujoco.MjData(mj)
    for e in range(episodes):
        mujoco.mj_resetData(mj, d)
        d.qpos[:], d.qvel[:] = qpos0[e], qvel0[e]
        qpos_ref[0, e] = d.qpos
        for s in range(env_steps):
            d.ctrl[:] = actions[s, e]
            mujoco.mj_step(mj, d, nstep=frame_skip)
            qpos_ref[s + 1, e] = d.qpos

    sim = Simulator(from_mjmodel(mj, num_worlds=episodes))
    sim.reset(torch.tensor(qpos0, dtype=torch.float32), torch.tensor(qvel0, dtype=torch.float32))
    qpos_ours = np.zeros((env_steps + 1, episodes, mj.nq))
    qpos_ours[0] = sim.qpos.numpy()
    for s in range(env_steps):
        sim.step(torch.tensor(actions[s], dtype=torch.float32), steps=frame_skip)
        qpos_ours[s + 1] = sim.qpos.numpy()
    ours_finite = bool(np.isfinite(qpos_ours).all() and np.isfinite(sim.qvel.numpy()).all())

    def stats(q: np.ndarray, finite: bool) -> EpisodeStats:
        return EpisodeStats(np.diff(q[:, :, 0], axis=0) / dt, None if zi is None else q[1:, :, zi], finite)

    return stats(qpos_ref, bool(np.isfinite(qpos_ref).all())), stats(qpos_ours, ours_finite)
