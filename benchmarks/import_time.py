"""Import and first-env time: ``import worldsim`` and ``gymnasium.make("worldsim/CartPole-v0")`` in a fresh
interpreter, side by side with the same for gymnasium's MuJoCo ``InvertedPendulum-v5`` (and ``import torch``,
which worldsim's envs need). Medians of ``--repeats`` fresh processes; prints seconds and ratios.

    python benchmarks/import_time.py     # ~30 s
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

CASES = {
    "import worldsim": "import worldsim",
    "import torch": "import torch",
    "import worldsim + make CartPole-v0 + step": (
        "import worldsim, gymnasium as g; e = g.make('worldsim/CartPole-v0'); e.reset(seed=0); "
        "e.step(e.action_space.sample())"
    ),
    "import gymnasium + make InvertedPendulum-v5 + step": (
        "import gymnasium as g; e = g.make('InvertedPendulum-v5'); e.reset(seed=0); e.step(e.action_space.sample())"
    ),
}


def seconds(code: str) -> float:
    """Wall time of a fresh interpreter running ``code``, less that of an empty one's start."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    os.environ.setdefault("WARP_CACHE_PATH", os.path.join(os.path.dirname(__file__), "..", ".cache", "warp"))
    seconds(CASES["import worldsim + make CartPole-v0 + step"])  # warm the kernel cache
    base = statistics.median(seconds("pass") for _ in range(args.repeats))
    times = {name: statistics.median(seconds(code) for _ in range(args.repeats)) - base for name, code in CASES.items()}
    print(f"python start-up {base:.2f} s (subtracted)")
    for name, t in times.items():
        print(f"{name:52s} {t:6.2f} s")
    ws = times["import worldsim + make CartPole-v0 + step"]
    gym = times["import gymnasium + make InvertedPendulum-v5 + step"]
    print(f"import worldsim < 1 s: {times['import worldsim'] < 1.0}")
    print(f"first CartPole step: worldsim / gymnasium MuJoCo = {ws / gym:.2f}x the time")


if __name__ == "__main__":
    main()
