"""Train Stable-Baselines3's PPO on worldsim's native vector env through :class:`worldsim.envs.SB3VecEnv`, then
evaluate the policy unchanged in gymnasium's MuJoCo twin (``worldsim/CartPole-v0`` ↔ ``InvertedPendulum-v5``).

    python demos/sb3_ppo.py --task CartPole --envs 16 --steps 100000
"""

from __future__ import annotations

import argparse
import time

import gymnasium
import numpy as np

import worldsim  # noqa: F401  (registers worldsim/<Task>-v0)
from worldsim.envs import GYM_TWINS, SB3VecEnv


def train(task: str = "CartPole", num_envs: int = 16, steps: int = 100_000, seed: int = 0, **ppo_kwargs):
    """PPO (SB3 defaults, ``n_steps`` scaled so a rollout holds 2048 transitions) for ``steps`` env steps."""
    from stable_baselines3 import PPO

    envs = SB3VecEnv(gymnasium.make_vec(f"worldsim/{task}-v0", num_envs=num_envs))
    ppo_kwargs = {"n_steps": max(2048 // num_envs, 8), "batch_size": 64, "seed": seed, "verbose": 0, **ppo_kwargs}
    model = PPO("MlpPolicy", envs, **ppo_kwargs)
    return model.learn(total_timesteps=steps)


def evaluate(model, env_id: str, episodes: int = 5, seed: int = 100, **make_kwargs) -> float:
    """Mean undiscounted return of ``model``'s deterministic policy over ``episodes`` episodes of ``env_id``."""
    env = gymnasium.make(env_id, **make_kwargs)
    returns = []
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        total, done = 0.0, False
        while not done:
            action, _ = model.predict(np.asarray(obs, dtype=np.float32), deterministic=True)
            obs, r, terminated, truncated, _ = env.step(action)
            total += float(r)
            done = terminated or truncated
        returns.append(total)
    return float(np.mean(returns))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", default="CartPole", choices=sorted(GYM_TWINS))
    ap.add_argument("--envs", type=int, default=16)
    ap.add_argument("--steps", type=int, default=100_000)
    args = ap.parse_args()
    t0 = time.perf_counter()
    model = train(args.task, args.envs, args.steps)
    print(f"trained {args.steps} steps in {time.perf_counter() - t0:.0f} s")
    print(f"return in worldsim/{args.task}-v0: {evaluate(model, f'worldsim/{args.task}-v0'):.1f}")
    print(f"return in {GYM_TWINS[args.task]}: {evaluate(model, GYM_TWINS[args.task]):.1f}")


if __name__ == "__main__":
    main()
