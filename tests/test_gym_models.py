"""gymnasium's MuJoCo models (inverted_pendulum ... ant) load with MuJoCo's layout and behave like MuJoCo."""

import os

import gymnasium
import mujoco
import numpy as np
import pytest
import torch
from conftest import mujoco_trajectory

import worldsim

ASSETS = os.path.join(os.path.dirname(gymnasium.__file__), "envs", "mujoco", "assets")
MODELS = ["inverted_pendulum", "inverted_double_pendulum", "reacher", "half_cheetah", "hopper", "walker2d", "ant"]
ROOT_Z = {"half_cheetah": 1, "hopper": 1, "walker2d": 1, "ant": 2}  # qpos index of the root height


def _load(name):
    return worldsim.load_mjcf(os.path.join(ASSETS, f"{name}.xml"))


def _rollout(model, qpos0, ctrl):
    qs, _ = worldsim.rollout(
        model,
        torch.tensor(qpos0, dtype=torch.float32)[None],
        torch.zeros(1, model.nv),
        torch.tensor(ctrl, dtype=torch.float32)[:, None],
    )
    return qs[:, 0].numpy()


def _valid_pose(mj):
    """qpos0 with every limited joint clipped into its range (gymnasium's ant starts outside its ankle limits)."""
    q = mj.qpos0.copy()
    for j in np.flatnonzero(mj.jnt_limited):
        a = mj.jnt_qposadr[j]
        q[a] = np.clip(q[a], *mj.jnt_range[j])
    return q


@pytest.mark.parametrize("name", MODELS)
def test_loads_with_mujoco_layout_and_integrator(name):
    model = _load(name)
    mj = mujoco.MjModel.from_xml_path(os.path.join(ASSETS, f"{name}.xml"))
    assert (model.nq, model.nv, model.nu) == (mj.nq, mj.nv, mj.nu)
    assert model.integrator == ("RK4" if mj.opt.integrator == mujoco.mjtIntegrator.mjINT_RK4 else "Euler")


@pytest.mark.parametrize("name", MODELS)
def test_in_flight_agrees_with_mujoco(name):
    """Lifted 1 m above the floor from a valid pose, small random torques (10% of ctrlrange) for 0.1 s."""
    model = _load(name)
    mj = model.mj_model
    qpos0 = _valid_pose(mj)
    if name in ROOT_Z:
        qpos0[ROOT_Z[name]] += 1.0
    steps = round(0.1 / mj.opt.timestep)
    rng = np.random.default_rng(0)
    ctrl = rng.uniform(0.1 * mj.actuator_ctrlrange[:, 0], 0.1 * mj.actuator_ctrlrange[:, 1], (steps, mj.nu))
    ref, _ = mujoco_trajectory(mj, qpos0, np.zeros(mj.nv), ctrl)
    err = np.abs(_rollout(model, qpos0, ctrl) - ref).max()
    assert err < 1e-2, err


@pytest.mark.parametrize("name, seconds", [("half_cheetah", 1.0), ("hopper", 1.0), ("ant", 1.0), ("walker2d", 0.5)])
def test_on_the_floor_root_height_agrees_with_mujoco(name, seconds):
    """From gymnasium's initial pose, zero torques: the root height follows MuJoCo's within 3 cm.

    walker2d topples from its initial pose in both simulators after ~0.6 s, and the two falls diverge (an
    unstable equilibrium), so it is compared while it stands.
    """
    model = _load(name)
    mj = model.mj_model
    steps = round(seconds / mj.opt.timestep)
    ctrl = np.zeros((steps, mj.nu))
    ref, _ = mujoco_trajectory(mj, mj.qpos0, np.zeros(mj.nv), ctrl)
    ours = _rollout(model, mj.qpos0, ctrl)
    z = ROOT_Z[name]
    assert np.abs(ours[:, z] - ref[:, z]).max() < 0.035, np.abs(ours[:, z] - ref[:, z]).max()
    assert abs(ours[-1, z] - ref[-1, z]) < 0.03
