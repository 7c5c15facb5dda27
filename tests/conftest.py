"""Shared fixtures: asset paths and a MuJoCo stepping oracle."""

import os
from pathlib import Path

import mujoco
import numpy as np
import pytest

os.environ.setdefault("WARP_CACHE_PATH", str(Path(__file__).resolve().parents[1] / ".cache" / "warp"))

ASSETS = Path(__file__).parent / "assets"


@pytest.fixture
def asset():
    """Path of a test MJCF file by name."""
    return lambda name: str(ASSETS / name)


def mujoco_trajectory(mj_model, qpos0, qvel0, ctrl):
    """MuJoCo's qpos/qvel after each step, for one world: ctrl [T, nu] -> ([T, nq], [T, nv])."""
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
