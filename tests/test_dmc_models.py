"""Every DeepMind Control Suite model file (the dm_control package's suite/*.xml) loads, flies like MuJoCo, and
the legged ones settle at MuJoCo's height."""

import mujoco
import numpy as np
import pytest
from conftest import DMC_ASSETS, DMC_MODELS, lifted, mujoco_trajectory, rollout_np

import worldsim
from worldsim.physics.mujoco_reference import root_height_index

LEGGED = ("cheetah", "hopper", "walker", "quadruped", "humanoid", "humanoid_CMU", "dog")


def _mj(name):
    return mujoco.MjModel.from_xml_path(str(DMC_ASSETS / f"{name}.xml"))


def test_the_suite_has_its_19_files():
    assert len(DMC_MODELS) == 19, DMC_MODELS


@pytest.mark.parametrize("name", DMC_MODELS)
def test_loads_with_mujoco_layout(name):
    model = worldsim.load_mjcf(DMC_ASSETS / f"{name}.xml")
    mj = _mj(name)
    assert (model.nq, model.nv, model.nu, model.na, model.nsensordata) == (mj.nq, mj.nv, mj.nu, mj.na,
                                                                          mj.nsensordata)  # fmt: skip


@pytest.mark.parametrize("name", [n for n in DMC_MODELS if n != "lqr"])  # lqr.xml has no degree of freedom
def test_in_flight_agrees_with_mujoco(name):
    """Lifted 1 m, random controls at 10% of ctrlrange, 0.1 s: qpos within 1e-5 of MuJoCo's (the issue's goal is
    1e-3; measured ≤ 5e-7). Tendons, equality constraints, filter actuators, fluid forces and limits all act."""
    mj = _mj(name)
    qpos0 = lifted(mj, mj.qpos0)
    steps = max(1, round(0.1 / mj.opt.timestep))
    rng = np.random.default_rng(0)
    ctrl = rng.uniform(0.1 * mj.actuator_ctrlrange[:, 0], 0.1 * mj.actuator_ctrlrange[:, 1], (steps, mj.nu))
    ref, _ = mujoco_trajectory(mj, qpos0, np.zeros(mj.nv), ctrl)
    ours, _ = rollout_np(worldsim.from_mjmodel(mj), qpos0, np.zeros(mj.nv), ctrl)
    assert np.abs(ours - ref).max() < 1e-5


@pytest.mark.parametrize("name", LEGGED)
def test_legged_model_settles_at_mujocos_height(name):
    """From qpos0 on the floor, zero controls, 1 s: the root height within 1 cm of MuJoCo's throughout (the issue's
    goal; walker, which falls, measured 7 mm; the others ≤ 0.01 mm)."""
    mj = _mj(name)
    steps = round(1.0 / mj.opt.timestep)
    ctrl = np.zeros((steps, mj.nu))
    ref, _ = mujoco_trajectory(mj, mj.qpos0, np.zeros(mj.nv), ctrl)
    ours, _ = rollout_np(worldsim.from_mjmodel(mj), mj.qpos0, np.zeros(mj.nv), ctrl)
    z = root_height_index(mj)
    assert np.abs(ours[:, z] - ref[:, z]).max() < 1e-2
