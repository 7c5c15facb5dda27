"""Environment throughput: worldsim's native vector env vs gymnasium's MuJoCo envs (sync vector env), side by
side on the same tasks (CartPole-v0 ↔ InvertedPendulum-v5, HalfCheetah-v0 ↔ HalfCheetah-v5), random actions.
Prints env-steps/s and the ratio, for --num-envs and for each of --sweep (state observations); worldsim also with
64×64 pixel observations at --num-envs; and a single env (gymnasium.make) of each.

    python benchmarks/envs.py       # ~3 min on a 2-core CPU
"""

import argparse
import os
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import warp as wp

wp.config.log_level = wp.LOG_WARNING
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import worldsim  # noqa: E402, F401

PAIRS = [("CartPole", "InvertedPendulum-v5"), ("HalfCheetah", "HalfCheetah-v5")]


def steps_per_second(envs, steps: int) -> float:
    envs.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = [rng.uniform(-1, 1, envs.action_space.shape).astype(np.float32) for _ in range(steps)]
    envs.step(actions[0])  # warm-up
    t0 = time.perf_counter()
    for a in actions:
        envs.step(a)
    return envs.num_envs * steps / (time.perf_counter() - t0)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--num-envs", type=int, default=512)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--single-steps", type=int, default=2000)
    p.add_argument("--sweep", type=int, nargs="*", default=[64, 256, 1024, 4096],
                   help="numbers of envs for the state-observation sweep (none: skip it)")  # fmt: skip
    args = p.parse_args()
    print(f"{os.cpu_count()} CPU cores, {args.num_envs} envs, {args.steps} steps of random actions")
    header = ["task".rjust(12), "gymnasium sync".rjust(15), "worldsim state".rjust(15), "ratio".rjust(7)]
    print(" | ".join([*header, "worldsim pixels".rjust(16), "ratio"]))
    for ours, theirs in PAIRS:
        ref = gym.make_vec(theirs, num_envs=args.num_envs, vectorization_mode="sync")
        ref_sps = steps_per_second(ref, args.steps)
        ref.close()
        state = gym.make_vec(f"worldsim/{ours}-v0", num_envs=args.num_envs)
        sps = steps_per_second(state, args.steps)
        pixels = gym.make_vec(f"worldsim/{ours}-v0", num_envs=args.num_envs, obs_mode="pixels")
        pps = steps_per_second(pixels, max(5, args.steps // 10))
        print(f"{ours:>12} | {ref_sps:15,.0f} | {sps:15,.0f} | {sps / ref_sps:6.1f}x | {pps:16,.0f} | "
              f"{pps / ref_sps:.2f}x")  # fmt: skip
    print("env-steps/s = num_envs * steps / seconds; gymnasium: gym.make_vec(..., vectorization_mode='sync').")
    if args.sweep:
        print("\nstate observations by number of envs (goal: >= 10x gymnasium's sync vector env), env-steps/s:")
        print(f"{'task':>12} | {'envs':>5} | {'gymnasium sync':>14} | {'worldsim':>9} | ratio")
        for ours, theirs in PAIRS:
            for n in args.sweep:
                steps = max(10, args.steps * 512 // n)  # about the same number of env-steps at every size
                ref = gym.make_vec(theirs, num_envs=n, vectorization_mode="sync")
                ref_sps = steps_per_second(ref, steps)
                ref.close()
                sps = steps_per_second(gym.make_vec(f"worldsim/{ours}-v0", num_envs=n), steps)
                print(f"{ours:>12} | {n:>5} | {ref_sps:14,.0f} | {sps:9,.0f} | {sps / ref_sps:5.1f}x", flush=True)
    print("\nsingle env (gymnasium.make, what SB3 and most RL code wrap), steps/s:")
    for ours, theirs in PAIRS:
        ref_sps = single_steps_per_second(gym.make(theirs), args.single_steps)
        sps = single_steps_per_second(gym.make(f"worldsim/{ours}-v0"), args.single_steps)
        print(f"{ours:>12} | gymnasium {ref_sps:9,.0f} | worldsim {sps:9,.0f} | {sps / ref_sps:5.2f}x")
    return 0


def single_steps_per_second(env, steps: int) -> float:
    """Steps/s of one env under random actions, resetting when an episode ends."""
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    space = env.action_space
    actions = [rng.uniform(space.low, space.high).astype(np.float32) for _ in range(steps)]
    env.step(actions[0])  # warm-up
    t0 = time.perf_counter()
    for a in actions:
        _, _, terminated, truncated, _ = env.step(a)
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - t0)


if __name__ == "__main__":
    raise SystemExit(main())
