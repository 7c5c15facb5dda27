"""Shared fixtures: asset paths; the MuJoCo oracle is re-exported for the tests."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("WARP_CACHE_PATH", str(Path(__file__).resolve().parents[1] / ".cache" / "warp"))

from worldsim.physics.mujoco_reference import mujoco_trajectory  # noqa: E402  (after WARP_CACHE_PATH is set)

ASSETS = Path(__file__).parent / "assets"


@pytest.fixture
def asset():
    """Path of a test MJCF file by name."""
    return lambda name: str(ASSETS / name)


__all__ = ["mujoco_trajectory"]
