"""MuJoCo as the oracle: the same MJCF stepped by ``mujoco.mj_step`` (used by the tests and benchmarks/accuracy.py)."""

from __future__ import annotations

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
