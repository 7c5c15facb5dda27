"""The training-library adapters: Stable-Baselines3's VecEnv (SB3VecEnv) and TorchRL's EnvBase (TorchRLEnv), each
checked against its library's contract and used to train PPO for a few thousand steps."""

import sys
from pathlib import Path

import gymnasium
import numpy as np
import pytest
import torch

import worldsim  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "demos"))
pytest.importorskip("stable_baselines3")
pytest.importorskip("torchrl")

from worldsim.envs import SB3VecEnv, TorchRLEnv  # noqa: E402


def test_sb3_vec_env_follows_sb3_conventions():
    envs = SB3VecEnv(gymnasium.make_vec("worldsim/CartPole-v0", num_envs=4))
    envs.seed(3)
    obs = envs.reset()
    assert obs.shape == (4, 4) and obs.dtype == np.float32
    assert envs.get_attr("num_envs") == [4, 4, 4, 4] and envs.env_is_wrapped(object) == [False] * 4
    push = np.array([[3.0], [-3.0], [0.0], [3.0]], np.float32)
    for _ in range(100):
        obs, reward, dones, infos = envs.step(push)
        if dones.any():
            break
    assert dones[[0, 1, 3]].all() and not dones[2]
    for i in np.flatnonzero(dones):
        assert abs(infos[i]["terminal_observation"][1]) > 0.2  # the pole fell: the last observation, not the reset's
        assert infos[i]["TimeLimit.truncated"] is False
        assert np.abs(obs[i]).max() < 0.05  # reset at once (SB3's convention)
    with pytest.raises(ValueError, match="WorldsimVectorEnv"):
        SB3VecEnv(gymnasium.make_vec("InvertedPendulum-v5", num_envs=2, vectorization_mode="sync"))


def test_sb3_ppo_trains_through_the_adapter():
    from sb3_ppo import evaluate, train

    random_return = evaluate(_RandomPolicy(), "worldsim/CartPole-v0", episodes=5)
    model = train("CartPole", num_envs=8, steps=8192, n_steps=256)
    trained = evaluate(model, "worldsim/CartPole-v0", episodes=3)
    assert trained > 3 * random_return, (trained, random_return)
    assert evaluate(model, "InvertedPendulum-v5", episodes=3) > 3 * random_return  # the same policy in MuJoCo


class _RandomPolicy:
    def __init__(self):
        self.rng = np.random.default_rng(0)

    def predict(self, obs, deterministic=True):
        return self.rng.uniform(-3, 3, 1).astype(np.float32), None


def test_torchrl_env_specs_and_partial_reset():
    from torchrl.envs.utils import check_env_specs

    env = TorchRLEnv("CartPole", num_envs=3)
    check_env_specs(env)
    pix = TorchRLEnv("Reacher", num_envs=2, obs_mode="state+pixels", width=16, height=16)
    check_env_specs(pix)
    td = env.reset()
    td["action"] = torch.full((3, 1), 3.0)
    for _ in range(100):
        td = env.step(td)["next"].set("action", torch.full((3, 1), 3.0))
        if td["done"].any():
            break
    done = td["done"].clone()
    assert done.all()
    before = env.venv.qpos
    out = env.reset(td.set("_reset", torch.tensor([[True], [False], [False]])))
    assert out["observation"].abs()[0].max() < 0.05  # world 0 reset
    assert np.allclose(env.venv.qpos[1:], before[1:])  # the others untouched
    with pytest.raises(ValueError, match="return_torch"):
        TorchRLEnv(gymnasium.make_vec("worldsim/CartPole-v0", num_envs=2))


def test_torchrl_ppo_trains_through_the_adapter():
    from torchrl_ppo import train

    _, _, history = train("CartPole", num_envs=8, steps=8192, rollout=64, epochs=4)
    assert np.mean(history[-3:]) > history[0] + 0.05, history  # fewer falls per step as it learns
