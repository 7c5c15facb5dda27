"""Shared fixtures and oracles: asset paths (ours, gymnasium's, the DeepMind Control Suite's) and MuJoCo stepping."""

import importlib.util
import os
from pathlib import Path

import pytest

os.environ.setdefault("WARP_CACHE_PATH", str(Path(__file__).resolve().parents[1] / ".cache" / "warp"))
os.environ.setdefault("MINARI_DATASETS_PATH", str(Path(__file__).resolve().parents[1] / ".cache" / "minari"))
# The envs fuse each physics step into one kernel on the CPU, compiled once per task (10 s to 2 min on a cold cache).
# The suite runs the per-stage launches everywhere; test_fused.py checks that fused steps give the same numbers bit
# for bit (models with contacts, RK4 and Euler, limits, body forces, sensors) and runs the envs fused.
os.environ.setdefault("WORLDSIM_FUSED_STEP", "0")


from worldsim.physics.mujoco_reference import (  # noqa: E402  (after WARP_CACHE_PATH is set)
    lifted,
    mujoco_trajectory,
)
from worldsim.physics.mujoco_reference import worldsim_trajectory as rollout_np  # noqa: E402

ASSETS = Path(__file__).parent / "assets"
GYM_ASSETS = Path(importlib.util.find_spec("gymnasium").origin).parent / "envs" / "mujoco" / "assets"
DMC_ASSETS = Path(importlib.util.find_spec("dm_control").origin).parent / "suite"
GYM_MODELS = sorted(p.stem for p in GYM_ASSETS.glob("*.xml"))
DMC_MODELS = sorted(p.stem for p in DMC_ASSETS.glob("*.xml"))


@pytest.fixture(scope="module")
def one_torch_thread():
    """torch on one thread for a module of tiny models (a second thread only adds synchronization, and on a loaded
    machine much waiting); the previous count is restored after the module."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def asset():
    """Path of a test MJCF file by name."""
    return lambda name: str(ASSETS / name)


__all__ = ["DMC_ASSETS", "DMC_MODELS", "GYM_ASSETS", "GYM_MODELS", "lifted", "mujoco_trajectory", "rollout_np"]
