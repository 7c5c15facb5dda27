"""Each task that twins a gymnasium MuJoCo env takes that env's v5 constructor kwargs, reports its info keys and,
started from the same state under the same actions, gives its observations, rewards and terminations."""

import inspect

import gymnasium
import mujoco
import numpy as np
import pytest
from gymnasium.envs.registration import load_env_creator

import worldsim  # noqa: F401  (registers the envs)
from worldsim.envs import GYM_TWINS, TASK_HORIZONS, TASKS

# observations and rewards from body positions: gymnasium reads MuJoCo's xpos, which mj_step leaves at the state
# before the last physics step; worldsim uses the current state's. Compared after an mj_forward of gymnasium's data.
FROM_BODY_POSITIONS = ("Pusher", "Reacher")


def _v5_kwargs(twin: str) -> dict:
    cls = load_env_creator(gymnasium.spec(twin).entry_point)
    params = inspect.signature(cls.__init__).parameters
    return {k: p.default for k, p in params.items() if k not in ("self", "kwargs")}


def test_registration_horizons_are_the_tasks():
    assert TASK_HORIZONS == {name: cls.horizon for name, cls in TASKS.items()}
    for name, horizon in TASK_HORIZONS.items():
        assert gymnasium.spec(f"worldsim/{name}-v0").max_episode_steps == horizon


@pytest.mark.parametrize("name", sorted(GYM_TWINS))
def test_every_v5_kwarg_is_taken(name):
    expected = _v5_kwargs(GYM_TWINS[name])
    options = TASKS[name].options
    assert set(expected) <= set(options), set(expected) - set(options)
    for key, default in expected.items():
        if key in ("xml_file", "default_camera_config"):
            continue
        ours = options[key]
        assert np.allclose(ours, default) if not isinstance(ours, str) else ours == default, key


def _synced_steps(name, steps=40, seed=1):
    """Step gymnasium's env and ours from gymnasium's state (re-synced before every step) under the same random
    actions; yields (gym step, our step, gym qpos before, gym qpos after)."""
    ref = gymnasium.make(GYM_TWINS[name]).unwrapped
    ours = gymnasium.make(f"worldsim/{name}-v0").unwrapped
    ref.reset(seed=seed)
    ours.reset(seed=seed)
    rng = np.random.default_rng(seed)
    for t in range(steps):
        ours.set_state(ref.data.qpos.copy(), ref.data.qvel.copy())
        before = ref.data.qpos.copy()
        a = rng.uniform(ref.action_space.low, ref.action_space.high).astype(np.float32)
        theirs = ref.step(a)
        if name in FROM_BODY_POSITIONS:
            mujoco.mj_forward(ref.model, ref.data)
            theirs = (ref._get_obs(), *ref._get_rew(a)[:1], *theirs[2:4], ref._get_rew(a)[1])
        mine = ours.step(a)
        yield theirs, mine, before, ref.data.qpos.copy(), ref.dt
        if theirs[2]:
            ref.reset(seed=seed + t + 1)


def _planar_position(name: str, mj: mujoco.MjModel, qpos: np.ndarray) -> np.ndarray:
    """What a twin's x, y velocity is the displacement of: the root's position, or Humanoid's centre of mass."""
    if name != "Humanoid":
        return qpos[:2]
    data = mujoco.MjData(mj)
    data.qpos[:] = qpos
    mujoco.mj_kinematics(mj, data)
    return (mj.body_mass[:, None] * data.xipos).sum(0)[:2] / mj.body_mass.sum()


@pytest.mark.parametrize("name", sorted(GYM_TWINS))
def test_steps_match_gymnasium(name):
    """40 steps of full-range random actions from gymnasium's states: same info keys, terminations; observations
    within 1e-2 relative to 1 + |value| (the humanoids' contact forces reach hundreds of newtons; measured: max
    absolute 2e-2 on Humanoid and 0.15 N (6e-3 relative) on HumanoidStandup's cfrc_ext, 1.7e-3 on Ant), the
    median step within 1e-3, and rewards within 1e-3 + 0.1%."""
    obs_err = []
    for (o1, r1, te1, _, i1), (o2, r2, te2, tr2, i2), before, after, dt in _synced_steps(name):
        assert o2.shape == o1.shape and o2.dtype == np.float32
        assert set(i1) <= set(i2), set(i1) - set(i2)
        assert te1 == te2
        assert tr2 is False
        obs_err.append((np.abs(o1 - o2) / (1 + np.abs(o1))).max())
        if name in ("Ant", "Humanoid"):  # v5 takes the velocity from positions one physics step old (docstrings)
            mj = gymnasium.make(GYM_TWINS[name]).unwrapped.model
            v = (_planar_position(name, mj, after) - _planar_position(name, mj, before)) / dt
            assert np.allclose([i2["x_velocity"], i2["y_velocity"]], v, atol=1e-3)
            r1, r2 = r1 - i1["reward_forward"], r2 - i2["reward_forward"]
        assert abs(r1 - r2) < 1e-3 + 1e-3 * abs(r1)
        for key in set(i1) - {"x_velocity", "y_velocity", "reward_forward"}:
            assert np.allclose(i2[key], i1[key], atol=1e-3, rtol=1e-3), key
    assert max(obs_err) < 1e-2 and np.median(obs_err) < 1e-3


def test_kwargs_change_the_task():
    env = gymnasium.make("worldsim/HalfCheetah-v0", ctrl_cost_weight=0.0, forward_reward_weight=2.0,
                         exclude_current_positions_from_observation=False, frame_skip=1)  # fmt: skip
    obs, _ = env.reset(seed=0)
    assert obs.shape == (18,) and env.observation_space.shape == (18,)
    assert env.unwrapped.core.task.dt == pytest.approx(0.01)
    _, r, _, _, info = env.step(np.ones(6, np.float32))
    assert info["reward_ctrl"] == 0.0 and r == pytest.approx(2 * info["x_velocity"], rel=1e-5)
    hop = gymnasium.make("worldsim/Hopper-v0", terminate_when_unhealthy=False, healthy_z_range=(10.0, 20.0))
    hop.reset(seed=0)
    _, _, terminated, _, info = hop.step(np.zeros(3, np.float32))
    assert not terminated and info["reward_survive"] == 0.0
    swim = gymnasium.make("worldsim/Swimmer-v0", xml_file="swimmer.xml", default_camera_config={"distance": 3.0})
    assert swim.unwrapped.core.task.camera_eye != TASKS["Swimmer"].camera_eye


def test_bad_kwargs_are_named():
    with pytest.raises(TypeError, match="ctrl_cost_wieght"):
        gymnasium.make("worldsim/HalfCheetah-v0", ctrl_cost_wieght=0.1)
    with pytest.raises(ValueError, match="main_body"):
        gymnasium.make("worldsim/Ant-v0", main_body=2)
    with pytest.raises(ValueError, match="frame_skip"):
        gymnasium.make("worldsim/Hopper-v0", frame_skip=0)
    with pytest.raises(ValueError, match="healthy_z_range"):
        gymnasium.make("worldsim/Walker2d-v0", healthy_z_range=(2.0, 1.0))
    with pytest.raises(ValueError, match="xml_file"):
        gymnasium.make("worldsim/Reacher-v0", xml_file="no_such_file.xml")


def test_state_access_single_and_vector():
    env = gymnasium.make("worldsim/Reacher-v0").unwrapped
    env.reset(seed=0)
    q, v = env.qpos + 0.1, env.qvel + 0.2
    env.set_state(q, v)
    assert np.allclose(env.qpos, q) and np.allclose(env.qvel, v)
    assert np.allclose(env.observe()[:2], np.cos(q[:2]), atol=1e-6)
    with pytest.raises(ValueError, match="qpos"):
        env.set_state(q[:2], v)
    vec = gymnasium.make_vec("worldsim/Hopper-v0", num_envs=3)
    vec.reset(seed=0)
    qpos, qvel = vec.qpos, vec.qvel
    assert qpos.shape == (3, 6) and qvel.shape == (3, 6)
    qpos[1, 1] = 2.0
    vec.set_state(qpos[1:2], qvel[1:2], worlds=[1])
    assert vec.qpos[1, 1] == pytest.approx(2.0) and vec.observe()[1, 0] == pytest.approx(2.0)
    assert np.allclose(vec.qpos[[0, 2]], qpos[[0, 2]])
