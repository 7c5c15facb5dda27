"""Gymnasium environments: every task passes check_env in every obs mode; the native vector env's autoreset,
partial reset, seeding and robustness."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import worldsim  # noqa: F401  (registers worldsim/<Task>-v0)
from worldsim.envs import TASKS, WorldsimVectorEnv


@pytest.mark.parametrize("task", sorted(TASKS))
def test_check_env_state(task):
    env = gym.make(f"worldsim/{task}-v0")
    check_env(env.unwrapped, skip_render_check=True)
    assert env.observation_space.dtype == np.float32 and env.action_space.dtype == np.float32


@pytest.mark.parametrize("task", sorted(TASKS))
@pytest.mark.parametrize("obs_mode", ["pixels", "state+pixels"])
def test_check_env_pixels(task, obs_mode):
    env = gym.make(f"worldsim/{task}-v0", obs_mode=obs_mode, render_mode="rgb_array", width=32, height=32)
    check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    pixels = obs["pixels"] if obs_mode == "state+pixels" else obs
    assert pixels.shape == (32, 32, 3) and pixels.dtype == np.uint8 and pixels.std() > 5  # not a blank image
    assert env.render().shape == (32, 32, 3)


def test_make_vec_returns_the_native_vector_env():
    envs = gym.make_vec("worldsim/HalfCheetah-v0", num_envs=4)
    assert isinstance(envs.unwrapped, WorldsimVectorEnv)
    obs, _ = envs.reset(seed=0)
    assert obs.shape == (4, 17) and obs.dtype == np.float32
    obs, rew, term, trunc, info = envs.step(envs.action_space.sample())
    assert obs.shape == (4, 17) and rew.shape == (4,) and term.dtype == bool
    envs.close()


def _run(envs, steps, seed):
    envs.reset(seed=seed)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(steps):
        out.append(envs.step(rng.uniform(-3, 3, envs.action_space.shape).astype(np.float32)))
    return out


def test_seeding_reproduces_bit_for_bit():
    a = _run(WorldsimVectorEnv("CartPole", 3), 30, seed=7)
    b = _run(WorldsimVectorEnv("CartPole", 3), 30, seed=7)
    c = _run(WorldsimVectorEnv("CartPole", 3), 30, seed=8)
    assert all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[-1][0], c[-1][0])


def test_next_step_autoreset():
    envs = WorldsimVectorEnv("CartPole", 4)
    envs.reset(seed=0)
    push = np.full((4, 1), 3.0, dtype=np.float32)
    push[0] = 0.0  # world 0 stays up longer
    for _ in range(200):
        obs, rew, term, trunc, _ = envs.step(push)
        if term[1:].any():
            break
    done = term | trunc
    assert done[1:].any() and not done[0]
    obs2, rew2, term2, trunc2, _ = envs.step(push)  # the reset step of the finished worlds
    for i in np.flatnonzero(done):
        assert rew2[i] == 0.0 and not term2[i] and not trunc2[i]
        assert np.abs(obs2[i]).max() < 0.05  # reset observation (noise 0.01), the action was ignored
    assert not np.array_equal(obs2[0], obs[0])  # the running world stepped


def test_same_step_autoreset_reports_final_obs():
    envs = WorldsimVectorEnv("CartPole", 2, autoreset_mode="SameStep")
    envs.reset(seed=0)
    for _ in range(200):
        obs, rew, term, trunc, info = envs.step(np.full((2, 1), 3.0, dtype=np.float32))
        if term.any():
            break
    i = int(np.flatnonzero(term)[0])
    assert abs(info["final_obs"][i][1]) > 0.2  # the pole had fallen
    assert np.abs(obs[i]).max() < 0.05  # and the returned observation is already the reset one


@pytest.mark.parametrize("num_envs", [1, 3])
def test_final_obs_when_every_world_ends_at_once(num_envs):
    """All worlds done in the same step: final_obs is still a 1-D object array of per-world observations."""
    envs = WorldsimVectorEnv("CartPole", num_envs, autoreset_mode="SameStep")
    envs.reset(seed=0)
    for _ in range(200):
        _, _, term, _, info = envs.step(np.full((num_envs, 1), 3.0, dtype=np.float32))
        if term.any():
            break
    assert term.all() and info["final_obs"].shape == (num_envs,)
    for final in info["final_obs"]:
        assert final.shape == (4,) and final.dtype == np.float32


def test_partial_reset_and_bad_actions():
    envs = WorldsimVectorEnv("Pendulum", 3)
    obs, _ = envs.reset(seed=0)
    for _ in range(5):
        moved, *_ = envs.step(np.zeros((3, 1), np.float32))
    again, _ = envs.reset(options={"reset_mask": np.array([False, True, False])})
    assert np.array_equal(again[0], moved[0]) and not np.array_equal(again[1], moved[1])
    with pytest.raises(ValueError, match=r"action has shape \[3\], expected \[3, 1\]"):
        envs.step(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="action contains NaN or inf"):
        envs.step(np.full((3, 1), np.nan, np.float32))
    single = gym.make("worldsim/Pendulum-v0").unwrapped
    single.reset(seed=0)
    with pytest.raises(ValueError, match="action contains NaN or inf"):
        single.step(np.array([np.inf], np.float32))
    with pytest.raises(ValueError, match="unknown task 'Walker'"):
        WorldsimVectorEnv("Walker", 2)


def test_actions_are_checked_and_not_aliased():
    single = gym.make("worldsim/Pendulum-v0").unwrapped
    single.reset(seed=0)
    with pytest.raises(ValueError, match="action contains NaN or inf"):
        single.step(np.array([-np.inf], np.float32))
    big = np.array([3e38], np.float32)  # finite, at float32's limit: accepted (clipped to the action space)
    single.step(big)
    assert float(single.sim.ctrl[0, 0]) == single.action_space.high[0]
    frozen = np.zeros(1, np.float32)
    frozen.flags.writeable = False  # a read-only array (e.g. from np.broadcast_to) is accepted as well
    single.step(frozen)
    assert float(single.sim.ctrl[0, 0]) == 0.0
    envs = WorldsimVectorEnv("Pendulum", 2)
    envs.reset(seed=0)
    envs.step(np.array([[1.0], [-1.0]], np.float32)[::-1])  # a view with a negative stride
    assert envs.sim.ctrl[:, 0].tolist() == [-1.0, 1.0]


def test_info_arrays_are_not_changed_by_later_steps():
    """A task's info entry may view the simulator's state (x_position): the env hands out copies, so neither the
    next step nor a same-step autoreset rewrites an info the user holds."""
    for mode in (gym.vector.AutoresetMode.NEXT_STEP, gym.vector.AutoresetMode.SAME_STEP):
        envs = WorldsimVectorEnv("HalfCheetah", 2, autoreset_mode=mode)
        envs.reset(seed=0)
        _, _, _, _, info = envs.step(np.ones((2, 6), np.float32))
        held = info["x_position"].copy()
        envs.step(-np.ones((2, 6), np.float32))
        assert np.array_equal(info["x_position"], held)


def test_divergence_is_truncated_and_never_returns_nan():
    envs = WorldsimVectorEnv("HalfCheetah", 3)
    envs.reset(seed=0)
    envs.core.task.sim.qvel[1] = 1e6  # force world 1 to blow up
    obs, rew, term, trunc, info = envs.step(np.zeros((3, 6), np.float32))
    assert info["diverged"].tolist() == [False, True, False]
    assert trunc[1] and not term[1] and np.isfinite(obs).all() and np.isfinite(rew).all()


def test_torch_observations_and_gymnasium_wrappers():
    envs = WorldsimVectorEnv("Reacher", 2, return_torch=True)
    obs, _ = envs.reset(seed=0)
    assert isinstance(obs, torch.Tensor) and obs.shape == (2, 10)
    obs, rew, term, trunc, _ = envs.step(np.zeros((2, 2), np.float32))
    assert isinstance(obs, torch.Tensor) and isinstance(rew, torch.Tensor)
    # gymnasium's own wrappers work on the single env (frame stacking, normalization)
    env = gym.wrappers.FrameStackObservation(gym.make("worldsim/Pendulum-v0"), stack_size=3)
    env = gym.wrappers.NormalizeObservation(env)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (3, 3)
    obs, *_ = env.step(env.action_space.sample())
    assert np.isfinite(obs).all()
