"""``import worldsim`` stays light (no torch, Open3D, matplotlib or imageio until used) and quiet (no Warp CUDA
warning on a machine without a GPU). Its time is measured in benchmarks/import_time.py, not here."""

import os
import subprocess
import sys

import pytest

from worldsim._warp_setup import cuda_driver_present

PROBE = """
import sys
import worldsim
print("after import:", sorted(m for m in ("torch", "open3d", "matplotlib", "imageio", "mujoco") if m in sys.modules))
import gymnasium
env = gymnasium.make("worldsim/CartPole-v0")
env.reset(seed=0)
env.step(env.action_space.sample())
print("after make:", sorted(m for m in ("open3d", "matplotlib", "imageio") if m in sys.modules))
"""


def _probe():
    env = {k: v for k, v in os.environ.items() if k != "WORLDSIM_WARP_VERBOSE"}
    return subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True)


def test_import_loads_only_what_is_used():
    out = _probe().stdout.splitlines()
    assert "after import: []" in out
    assert "after make: []" in out  # a state-observation env needs neither Open3D nor the demo's plotting


@pytest.mark.skipif(cuda_driver_present(), reason="the warning is only silenced where no CUDA driver exists")
def test_no_cuda_warning_without_a_gpu():
    assert "CUDA" not in _probe().stderr
