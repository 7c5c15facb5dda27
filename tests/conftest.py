"""Shared fixtures and oracles: asset paths (ours, gymnasium's, the DeepMind Control Suite's) and MuJoCo stepping."""

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("WARP_CACHE_PATH", str(Path(__file__).resolve().parents[1] / ".cache" / "warp"))

import mujoco  # noqa: E402
import torch  # noqa: E402

from worldsim.physics.mujoco_reference import mujoco_trajectory  # noqa: E402  (after WARP_CACHE_PATH is set)

ASSETS = Path(__file__).parent / "assets"
GYM_ASSETS = Path(importlib.util.find_spec("gymnasium").origin).parent / "envs" / "mujoco" / "assets"
DMC_ASSETS = Path(importlib.util.find_spec("dm_control").origin).parent / "suite"
GYM_MODELS = sorted(p.stem for p in GYM_ASSETS.glob("*.xml"))
DMC_MODELS = sorted(p.stem for p in DMC_ASSETS.glob("*.xml"))


@pytest.fixture
def asset():
    """Path of a test MJCF file by name."""
    return lambda name: str(ASSETS / name)


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


def rollout_np(model, qpos0, qvel0, ctrl):
    """worldsim.rollout of one world from numpy inputs: qpos [T, nq], qvel [T, nv] as float64 numpy arrays."""
    import worldsim

    out = worldsim.rollout(
        model,
        torch.tensor(np.asarray(qpos0), dtype=torch.float32)[None],
        torch.tensor(np.asarray(qvel0), dtype=torch.float32)[None],
        torch.tensor(np.asarray(ctrl), dtype=torch.float32)[:, None],
    )
    return out[0][:, 0].double().numpy(), out[1][:, 0].double().numpy()


__all__ = ["DMC_ASSETS", "DMC_MODELS", "GYM_ASSETS", "GYM_MODELS", "lifted", "mujoco_trajectory", "rollout_np"]
