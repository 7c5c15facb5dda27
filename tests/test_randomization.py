"""Domain randomization and ADR on the environments; a hypothesis fuzz test over every task."""

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worldsim.envs import TASKS, WorldsimVectorEnv
from worldsim.randomization import (
    AutomaticDomainRandomization,
    DomainRandomization,
    LogUniform,
    ParamRandomization,
    Uniform,
    default_randomization,
)


def test_default_preset_resampled_per_world_at_every_reset():
    envs = WorldsimVectorEnv("PushBox", 8, randomization="default")
    nominal = envs.core.randomizer.nominal["body_mass"][0]
    _, info = envs.reset(seed=0)
    mass = info["randomization"]["body_mass"]
    assert mass.shape == (8, envs.core.task.model.nbody)
    ratio = mass[:, 1:] / nominal[1:].numpy()
    assert (ratio >= 0.8 - 1e-6).all() and (ratio <= 1.2 + 1e-6).all() and ratio.std() > 0.05
    friction = info["randomization"]["geom_friction"]
    assert not np.allclose(friction[0], friction[1])  # every world its own draw
    _, info2 = envs.reset(options={"reset_mask": np.array([True] + [False] * 7)})
    assert not np.allclose(info2["randomization"]["body_mass"][0], mass[0])  # world 0 resampled
    np.testing.assert_array_equal(info2["randomization"]["body_mass"][1:], mass[1:])  # the others kept theirs


def test_action_delay_gravity_tilt_and_com_offset():
    dr = DomainRandomization(action_delay=2, gravity_tilt=math.radians(10), com_offset=0.02)
    envs = WorldsimVectorEnv("Pendulum", 4, randomization=dr)
    _, info = envs.reset(seed=0)
    g = info["randomization"]["gravity"]
    np.testing.assert_allclose(np.linalg.norm(g, axis=1), 10.0, rtol=1e-5)  # magnitude kept
    tilt = np.arccos(-g[:, 2] / 10.0)
    assert (tilt <= math.radians(10) + 1e-4).all() and tilt.max() > 0.01
    ipos = info["randomization"]["body_ipos"]
    assert np.abs(ipos - envs.core.randomizer.nominal["body_ipos"].numpy()).max() <= 0.02 + 1e-6
    # with a 2-step delay, the first two actions apply the zero action
    envs.reset(seed=1)
    q0 = envs.core.task.sim.qpos.clone()
    plain = WorldsimVectorEnv("Pendulum", 4, randomization=DomainRandomization(gravity_tilt=math.radians(10),
                                                                               com_offset=0.02))  # fmt: skip
    plain.reset(seed=1)
    plain.core.task.model.set_params(**{k: v for k, v in envs.core.task.model.get_params().items()})
    plain.core.task.sim.qpos[:] = q0
    for _ in range(2):
        a, *_ = envs.step(np.full((4, 1), 2.0, np.float32))
        b, *_ = plain.step(np.zeros((4, 1), np.float32))
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_bad_randomization_arguments():
    with pytest.raises(ValueError, match="unknown parameter 'mass'"):
        ParamRandomization("mass", Uniform(0.5, 1.5))
    with pytest.raises(ValueError, match="mode must be one of"):
        ParamRandomization("body_mass", Uniform(0.5, 1.5), mode="multiply")
    with pytest.raises(ValueError, match="action_delay must be a non-negative integer"):
        DomainRandomization(action_delay=-1)
    with pytest.raises(ValueError, match="randomization must be None, 'default'"):
        WorldsimVectorEnv("CartPole", 2, randomization={"friction": 2})


def test_adr_widens_when_returns_hold_and_narrows_when_they_drop():
    base = DomainRandomization([ParamRandomization("geom_friction", Uniform(0.5, 1.5)),
                                ParamRandomization("body_mass", LogUniform(0.5, 2.0))])  # fmt: skip
    adr = AutomaticDomainRandomization(base, alpha=0.5, high=100.0, low=20.0, initial_scale=0.2)
    assert adr.ranges()["geom_friction"].low == pytest.approx(0.9)
    adr.update(150.0)
    assert adr.scale == pytest.approx(0.3) and adr.ranges()["geom_friction"].high == pytest.approx(1.15)
    adr.update(50.0)  # in between: unchanged
    assert adr.scale == pytest.approx(0.3)
    adr.update(5.0)
    assert adr.scale == pytest.approx(0.2)
    saved = adr.state_dict()
    other = AutomaticDomainRandomization(base, alpha=0.1, high=1.0, low=0.0)
    other.load_state_dict(saved)
    assert other.ranges()["geom_friction"] == adr.ranges()["geom_friction"]
    envs = WorldsimVectorEnv("CartPole", 4, randomization=adr)
    _, info = envs.reset(seed=0)
    assert "geom_friction" in info["randomization"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(task=st.sampled_from(sorted(TASKS)), seed=st.integers(0, 2**16), scale=st.floats(0.0, 5.0))
def test_fuzz_random_actions_and_randomization_never_give_nan(task, seed, scale):
    envs = WorldsimVectorEnv(task, 3, randomization=default_randomization(task))
    envs.reset(seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(15):
        action = (scale * rng.standard_normal(envs.action_space.shape)).astype(np.float32)
        obs, rew, term, trunc, info = envs.step(action)
        assert np.isfinite(obs).all() and np.isfinite(rew).all()
    assert torch.isfinite(envs.core.task.sim.qpos).all()


def test_visual_randomization_changes_pixels_per_world():
    dr = DomainRandomization(color_jitter=0.3, light_gain=Uniform(0.6, 1.2), background=Uniform(0.0, 1.0),
                             camera_jitter=0.05, fov_jitter=5.0)  # fmt: skip
    envs = WorldsimVectorEnv("CartPole", 2, obs_mode="pixels", width=32, height=32, randomization=dr)
    _, info = envs.reset(seed=0)
    envs.core.task.sim.reset()  # the same state in both worlds: only the visual draws differ
    pixels = envs.core.observe()
    assert pixels.shape == (2, 32, 32, 3)
    assert np.abs(pixels[0].astype(int) - pixels[1].astype(int)).mean() > 5
    vis = info["randomization"]
    assert vis["visual_background"].shape == (2, 3) and (vis["visual_background"] <= 1).all()
    assert np.abs(vis["visual_fov_offset"]).max() <= 5.0 and not np.allclose(vis["visual_color_gain"][0], 1.0)
    plain = WorldsimVectorEnv("CartPole", 2, obs_mode="pixels", width=32, height=32)
    plain.reset(seed=0)
    plain.core.task.sim.reset()
    same = plain.core.observe()
    np.testing.assert_array_equal(same[0], same[1])  # without randomization both worlds look alike


def _delayed_run(reset_step_action: float) -> np.ndarray:
    """CartPole, 2-step action delay: world 1 pushed over; on its NEXT_STEP reset step it is given
    ``reset_step_action``, then zeros. Returns the observations of the 4 steps after the reset step."""
    envs = WorldsimVectorEnv("CartPole", 2, randomization=DomainRandomization(action_delay=2))
    envs.reset(seed=3)
    push = np.array([[0.0], [3.0]], np.float32)
    for _ in range(200):
        _, _, term, trunc, _ = envs.step(push)
        if term[1] or trunc[1]:
            break
    assert term[1]
    envs.step(np.array([[0.0], [reset_step_action]], np.float32))  # world 1's reset step: its action is ignored
    return np.stack([envs.step(np.zeros((2, 1), np.float32))[0] for _ in range(4)])


def test_action_delay_drops_the_action_of_a_reset_step():
    """The action a NEXT_STEP reset step ignores is not queued and applied `action_delay` steps later."""
    ignored, zero = _delayed_run(3.0), _delayed_run(0.0)
    np.testing.assert_array_equal(ignored[:, 1], zero[:, 1])


def test_action_delay_queue():
    from worldsim.envs.action_delay import ActionDelay

    d = ActionDelay(2, num_worlds=2, nu=1)
    outs = [d.push(torch.tensor([[float(i)], [10.0 + i]])) for i in range(1, 5)]
    assert [o[:, 0].tolist() for o in outs] == [[0, 0], [0, 0], [1, 11], [2, 12]]
    d.reset(torch.tensor([1]))
    assert d.push(torch.tensor([[5.0], [15.0]]), ignored=torch.tensor([0]))[:, 0].tolist() == [3, 0]
    assert d.push(torch.zeros(2, 1))[:, 0].tolist() == [4, 0]
    assert d.push(torch.zeros(2, 1))[:, 0].tolist() == [0, 15]  # world 0's ignored action never applies
    assert ActionDelay(0, 2, 1).push(x := torch.ones(2, 1)) is x
    with pytest.raises(ValueError, match="action delay"):
        ActionDelay(-1, 2, 1)
