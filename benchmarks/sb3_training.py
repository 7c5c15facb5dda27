"""Stable-Baselines3 PPO wall time, side by side: through worldsim's adapter (``SB3VecEnv`` over the native vector
env) and on gymnasium's MuJoCo env in SB3's own ``DummyVecEnv`` (what ``make_vec_env`` builds), same
hyperparameters and step count. Prints seconds and the ratio for CartPole ↔ InvertedPendulum-v5 and
HalfCheetah ↔ HalfCheetah-v5.

    python benchmarks/sb3_training.py --envs 16 --steps 50000      # ~5 min on 2 cores
"""

from __future__ import annotations

import argparse
import time

import gymnasium

import worldsim  # noqa: F401
from worldsim.envs import SB3VecEnv

PAIRS = [("CartPole", "InvertedPendulum-v5"), ("HalfCheetah", "HalfCheetah-v5")]


def ppo_seconds(venv, steps: int) -> float:
    from stable_baselines3 import PPO

    model = PPO("MlpPolicy", venv, n_steps=max(2048 // venv.num_envs, 8), batch_size=64, seed=0, verbose=0)
    t0 = time.perf_counter()
    model.learn(total_timesteps=steps)
    return time.perf_counter() - t0


def main() -> None:
    from stable_baselines3.common.env_util import make_vec_env

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--envs", type=int, nargs="+", default=[1, 16])
    ap.add_argument("--steps", type=int, default=50_000)
    args = ap.parse_args()
    print(f"PPO (SB3 defaults, 2048 transitions per rollout), {args.steps} env steps")
    for ours, theirs in PAIRS:
        for n in args.envs:
            mj = ppo_seconds(make_vec_env(theirs, n_envs=n), args.steps)
            ws = ppo_seconds(SB3VecEnv(gymnasium.make_vec(f"worldsim/{ours}-v0", num_envs=n)), args.steps)
            print(f"{ours:>12} {n:3d} envs | MuJoCo DummyVecEnv {mj:6.1f} s | worldsim SB3VecEnv {ws:6.1f} s | "
                  f"worldsim {mj / ws:.2f}x as fast")  # fmt: skip


if __name__ == "__main__":
    main()
