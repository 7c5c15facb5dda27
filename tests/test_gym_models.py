"""Every gymnasium MuJoCo model file loads, flies and lands like MuJoCo, and survives full-range random actions
with MuJoCo's statistics."""

import mujoco
import numpy as np
import pytest
from conftest import GYM_ASSETS, GYM_MODELS, lifted, mujoco_trajectory, rollout_np

import worldsim
from worldsim.physics.mujoco_reference import random_action_episodes, root_height_index

# frame_skip of each gymnasium v5 locomotion env (dt of one env step = frame_skip * timestep)
LOCOMOTION = {"half_cheetah": 5, "hopper": 4, "walker2d": 4, "ant": 5, "humanoid": 5, "humanoidstandup": 5,
              "swimmer": 4}  # fmt: skip
LEGGED = ("ant", "half_cheetah", "hopper", "humanoid", "humanoidstandup", "walker2d", "walker2d_v5")


def _mj(name):
    return mujoco.MjModel.from_xml_path(str(GYM_ASSETS / f"{name}.xml"))


@pytest.mark.parametrize("name", GYM_MODELS)
def test_loads_with_mujoco_layout_and_integrator(name):
    model = worldsim.load_mjcf(GYM_ASSETS / f"{name}.xml")
    mj = _mj(name)
    assert (model.nq, model.nv, model.nu, model.na) == (mj.nq, mj.nv, mj.nu, mj.na)
    assert model.integrator == ("RK4" if mj.opt.integrator == mujoco.mjtIntegrator.mjINT_RK4 else "Euler")


@pytest.mark.parametrize("name", GYM_MODELS)
def test_in_flight_agrees_with_mujoco(name):
    """Lifted 1 m (nothing touches the floor; limits, springs, tendons and fluid forces act), random controls at
    10% of ctrlrange, 0.1 s: qpos within 1e-5 of MuJoCo's (the issue's goal is 1e-3; measured ≤ 2e-6)."""
    mj = _mj(name)
    model = worldsim.from_mjmodel(mj)
    qpos0 = lifted(mj, mj.qpos0)
    steps = max(1, round(0.1 / mj.opt.timestep))
    rng = np.random.default_rng(0)
    ctrl = rng.uniform(0.1 * mj.actuator_ctrlrange[:, 0], 0.1 * mj.actuator_ctrlrange[:, 1], (steps, mj.nu))
    ref, _ = mujoco_trajectory(mj, qpos0, np.zeros(mj.nv), ctrl)
    ours, _ = rollout_np(model, qpos0, np.zeros(mj.nv), ctrl)
    assert np.abs(ours - ref).max() < 1e-5


@pytest.mark.parametrize("name", LEGGED)
def test_on_the_floor_settles_at_mujocos_height(name):
    """From the model's qpos0 on the floor, zero controls, 1 s: the root height follows MuJoCo's within 1 cm
    throughout (the issue's goal; measured ≤ 0.2 mm)."""
    mj = _mj(name)
    steps = round(1.0 / mj.opt.timestep)
    ctrl = np.zeros((steps, mj.nu))
    ref, _ = mujoco_trajectory(mj, mj.qpos0, np.zeros(mj.nv), ctrl)
    ours, _ = rollout_np(worldsim.from_mjmodel(mj), mj.qpos0, np.zeros(mj.nv), ctrl)
    z = root_height_index(mj)
    assert np.abs(ours[:, z] - ref[:, z]).max() < 1e-2


@pytest.mark.parametrize("name", sorted(LOCOMOTION))
def test_random_full_range_actions_match_mujoco_statistics(name):
    """16 episodes x 1000 env steps of uniform random actions over the whole ctrlrange (what SAC/TD3 do while
    warming up), gymnasium's frame_skip and reset noise, no termination, in worldsim and in MuJoCo.

    The per-step forward-velocity reward (v5's state-dependent reward term; the control cost is the same for both
    by construction) has the same distribution: std within 10% of MuJoCo's, mean within 0.1 std. No NaN; the root
    height's 99th percentile within 2 cm + 10% of MuJoCo's spread (p99 - median), and its maximum within 1 m of
    MuJoCo's. The maximum is heavy-tailed: MuJoCo's own, with qvel0 perturbed by 1e-6, ranges 1.35-2.04 m for Ant
    and 0.28-0.41 m for HalfCheetah (ours: 1.41-1.57 and 0.32-0.51), while the 99th percentiles agree within 0.02.
    Before the constraint solver, HalfCheetah launched its root to 338 m here."""
    ref, ours = random_action_episodes(_mj(name), episodes=16, env_steps=1000, frame_skip=LOCOMOTION[name])
    assert ours.finite and ref.finite
    r_ref, r_ours = ref.forward_reward, ours.forward_reward
    assert abs(r_ours.std() - r_ref.std()) < 0.1 * r_ref.std(), (r_ours.std(), r_ref.std())
    assert abs(r_ours.mean() - r_ref.mean()) < 0.1 * r_ref.std(), (r_ours.mean(), r_ref.mean())
    if ref.root_height is not None:
        z_ref, z_ours = ref.root_height, ours.root_height
        p50, p99 = np.percentile(z_ref, [50, 99])
        assert abs(np.percentile(z_ours, 99) - p99) < 0.02 + 0.1 * (p99 - p50), (np.percentile(z_ours, 99), p99)
        assert z_ours.max() < z_ref.max() + 1.0, (z_ours.max(), z_ref.max())
