"""Trajectory optimization on three tasks, each by gradient shooting (through the simulator), CEM and MPPI:
reach a Reacher target, push the PushBox box to its goal (contact), swing the cart-pole up.

For each task: one episode (initial state and goal from ``--seed``), each method's best cost against the physics
steps it simulated (forward + backward, all worlds) and against wall time (``cost.png``), and a video of each
method's solution side by side (``<task>.mp4``, left to right: gradient, CEM, MPPI), all in ``--out``.

    python demos/trajopt.py                   # about 7 minutes on a 2-core CPU
    python demos/trajopt.py --quick           # a fifth of the iterations, about 1.5 minutes (a first look)
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # run from a checkout
from worldsim._files import atomic_path  # noqa: E402
from worldsim.optim import TaskProblem  # noqa: E402
from worldsim.optim.compare import HORIZONS, compare_methods, default_methods, reach_table  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--tasks", nargs="+", default=list(HORIZONS), choices=list(HORIZONS))
parser.add_argument("--seed", type=int, default=0, help="episode seed (initial state and goal)")
parser.add_argument("--quick", action="store_true", help="a fifth of the iterations")
parser.add_argument("--size", type=int, default=128, help="video frame size [px]")
parser.add_argument("--out", default="outputs/trajopt", help="output folder")
args = parser.parse_args()

import imageio.v2 as imageio  # noqa: E402
import matplotlib  # noqa: E402
import numpy as np  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

os.makedirs(args.out, exist_ok=True)
fig, axes = plt.subplots(2, len(args.tasks), figsize=(4.5 * len(args.tasks), 7), squeeze=False)
summary = {}
for col, task in enumerate(args.tasks):
    methods = default_methods(task)
    if args.quick:
        for m in methods.values():
            m.iters = max(2, m.iters // 5)
    results = compare_methods(task, methods, seed=args.seed)
    summary[task] = {"cost": {k: r.cost for k, r in results.items()}, "vs_CEM": reach_table(results)}
    for name, r in results.items():
        steps = [h["sim_steps"] + h["grad_steps"] for h in r.history]
        axes[0, col].plot(steps, [h["cost"] for h in r.history], label=name)
        axes[1, col].plot([h["wall_time"] for h in r.history], [h["cost"] for h in r.history], label=name)
    axes[0, col].set_xscale("log")
    axes[0, col].set_title(f"{task} (horizon {HORIZONS[task]})")
    axes[0, col].set_xlabel("physics steps simulated (forward + backward)")
    axes[1, col].set_xlabel("wall time [s]")
    for row in range(2):
        axes[row, col].set_ylabel("best cost (−Σ reward)")
        axes[row, col].legend()
        axes[row, col].grid(alpha=0.3)
    # the solutions side by side
    problem = TaskProblem(task, num_worlds=1, horizon=HORIZONS[task], seed=args.seed)
    videos = [problem.render(r.qpos, width=args.size, height=args.size) for r in results.values()]
    frames = np.concatenate(videos, axis=2)
    path = os.path.join(args.out, f"{task}.mp4")
    with atomic_path(path) as tmp:
        imageio.mimwrite(tmp, list(frames), fps=int(round(1 / problem.task.dt)), macro_block_size=1)
    with atomic_path(os.path.join(args.out, f"{task}_last.png")) as tmp:
        imageio.imwrite(tmp, frames[-1])
    print(f"wrote {path} (left to right: {', '.join(results)})")
fig.tight_layout()
png = os.path.join(args.out, "cost.png")
with atomic_path(png) as tmp:
    fig.savefig(tmp, dpi=110)
with atomic_path(os.path.join(args.out, "summary.json")) as tmp:
    tmp.write_text(json.dumps(summary, indent=1))
for task, s in summary.items():
    row = s["vs_CEM"]["at_against_cost"]
    ratio = "never reaches CEM's cost" if row["steps_ratio"] is None else f"{row['steps_ratio']:.0f}x fewer steps"
    costs = ", ".join(f"{k} {v:.2f}" for k, v in s["cost"].items())
    print(f"{task}: {costs}; gradient vs CEM: {ratio}")
print(f"wrote {png}")
