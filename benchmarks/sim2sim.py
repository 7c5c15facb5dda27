"""Sim-to-sim transfer: does a policy trained in worldsim work in MuJoCo, and the reverse?

For each task, Stable-Baselines3's PPO (same hyperparameters everywhere, observations normalized by VecNormalize)
is trained three times: in worldsim's native vector env through :class:`worldsim.envs.SB3VecEnv`, in worldsim with
``randomization="default"``, and in gymnasium's MuJoCo twin (SB3's DummyVecEnv). Each policy is then evaluated,
unchanged (deterministic actions, its own frozen normalization), in both simulators. Printed: a table of mean
returns and, for each worldsim-trained policy, the share of its worldsim return it keeps in MuJoCo, measured above
a random policy's return: (R_mujoco − R_random) / (R_worldsim − R_random). The goal is ≥ 90%.

    python benchmarks/sim2sim.py                         # CartPole, Reacher, Hopper, HalfCheetah (~1 h on 2 cores)
    python benchmarks/sim2sim.py --tasks CartPole --scale 0.5
Results also go to ``--out`` (JSON, written atomically).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import gymnasium
import numpy as np

import worldsim  # noqa: F401
from worldsim._files import atomic_path
from worldsim.envs import GYM_TWINS, SB3VecEnv

#: PPO steps per task (scaled by --scale)
STEPS = {"CartPole": 60_000, "Reacher": 300_000, "Hopper": 400_000, "HalfCheetah": 400_000}
NUM_ENVS = 16


def make_train_env(task: str, sim: str):
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    if sim == "mujoco":
        venv = make_vec_env(GYM_TWINS[task], n_envs=NUM_ENVS)
    else:
        dr = {"randomization": "default"} if sim == "worldsim+dr" else {}
        venv = SB3VecEnv(gymnasium.make_vec(f"worldsim/{task}-v0", num_envs=NUM_ENVS, **dr))
    return VecNormalize(venv, norm_obs=True, norm_reward=True, clip_obs=10.0)


def train(task: str, sim: str, steps: int, seed: int):
    from stable_baselines3 import PPO

    venv = make_train_env(task, sim)
    model = PPO("MlpPolicy", venv, n_steps=2048 // NUM_ENVS, batch_size=64, seed=seed, verbose=0)
    model.learn(total_timesteps=steps)
    venv.training = False
    return model, venv


def evaluate(policy, env_id: str, episodes: int, seed: int = 1000) -> float:
    """Mean return of ``policy(obs) -> action`` over ``episodes`` episodes of ``env_id`` (gymnasium id)."""
    env = gymnasium.make(env_id)
    returns = []
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        total, done = 0.0, False
        while not done:
            obs, r, terminated, truncated, _ = env.step(policy(obs))
            total += float(r)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return float(np.mean(returns))


def random_policy(space):
    rng = np.random.default_rng(0)
    return lambda _obs: rng.uniform(space.low, space.high).astype(np.float32)


def frozen_policy(model, venv):
    """The trained policy with its observation normalization frozen, for observations of either simulator."""

    def act(obs):
        norm = venv.normalize_obs(np.asarray(obs, dtype=np.float32)[None])
        return model.predict(norm, deterministic=True)[0][0]

    return act


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", nargs="+", default=list(STEPS), choices=sorted(STEPS))
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every task's PPO steps")
    ap.add_argument("--episodes", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="outputs/benchmarks/sim2sim.json")
    args = ap.parse_args()
    results = {}
    for task in args.tasks:
        steps = int(STEPS[task] * args.scale)
        ids = {"worldsim": f"worldsim/{task}-v0", "mujoco": GYM_TWINS[task]}
        policy = random_policy(gymnasium.make(ids["mujoco"]).action_space)
        rand = {k: evaluate(policy, env_id, args.episodes) for k, env_id in ids.items()}
        row = {"steps": steps, "random": rand}
        for sim in ("worldsim", "worldsim+dr", "mujoco"):
            t0 = time.perf_counter()
            model, venv = train(task, sim, steps, args.seed)
            seconds = time.perf_counter() - t0
            policy = frozen_policy(model, venv)
            row[sim] = {"train_s": seconds, **{k: evaluate(policy, env_id, args.episodes) for k, env_id in ids.items()}}
            print(f"{task:12s} trained in {sim:12s} ({steps} steps, {seconds:5.0f} s): return in worldsim "
                  f"{row[sim]['worldsim']:8.1f}, in MuJoCo {row[sim]['mujoco']:8.1f}", flush=True)  # fmt: skip
        for sim in ("worldsim", "worldsim+dr"):
            gain_ws = row[sim]["worldsim"] - rand["worldsim"]
            gain_mj = row[sim]["mujoco"] - rand["mujoco"]
            row[sim]["kept_in_mujoco"] = gain_mj / gain_ws if gain_ws > 0 else float("nan")
        gain_mj = row["mujoco"]["mujoco"] - rand["mujoco"]
        gain_ws = row["mujoco"]["worldsim"] - rand["worldsim"]
        row["mujoco"]["kept_in_worldsim"] = gain_ws / gain_mj if gain_mj > 0 else float("nan")
        results[task] = row
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as tmp:
            tmp.write_text(json.dumps(results, indent=2))
    print("\n| task | steps | trained in | return in worldsim | return in MuJoCo | kept in the other sim |")
    print("|---|---|---|---|---|---|")
    for task, row in results.items():
        for sim in ("worldsim", "worldsim+dr", "mujoco"):
            kept = row[sim].get("kept_in_mujoco", row[sim].get("kept_in_worldsim"))
            print(f"| {task} | {row['steps']} | {sim} | {row[sim]['worldsim']:.1f} | {row[sim]['mujoco']:.1f} | "
                  f"{100 * kept:.0f}% |")  # fmt: skip
        print(f"| {task} | | random | {row['random']['worldsim']:.1f} | {row['random']['mujoco']:.1f} | |")
    ok = all(results[t][s]["kept_in_mujoco"] >= 0.9 for t in results for s in ("worldsim", "worldsim+dr"))
    print(f"\nevery worldsim-trained policy keeps >= 90% in MuJoCo: {ok}")


if __name__ == "__main__":
    main()
