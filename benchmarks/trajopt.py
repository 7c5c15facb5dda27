"""Trajectory optimization: gradient shooting vs CEM and MPPI on Reacher, PushBox (contact) and the cart-pole
swing-up, in one process: the physics steps (forward + backward, all worlds) and the wall time each method needs
to reach CEM's final cost, as ratios.

Settings (:func:`worldsim.optim.compare.default_methods`): gradient shooting with Adam, 1 world, 100 iterations
(PushBox clips the adjoint at 10; there also without clipping and with randomized smoothing instead); CEM and
MPPI with 256 samples, 50 iterations. One episode per task (initial state and goal from ``--seed``). Writes
``--out``/trajopt.json.

    python benchmarks/trajopt.py                    # about 25 minutes on 2 cores
    python benchmarks/trajopt.py --tasks Reacher    # one task
"""

from __future__ import annotations

import argparse
import json
import os

from worldsim._files import atomic_path
from worldsim.optim import GradientShooting
from worldsim.optim.compare import HORIZONS, Method, compare_methods, default_methods, reach_table

#: extra gradient variants per task: through PushBox's contacts, the gradient without clipping and with
#: randomized smoothing instead, to show what the gradient options change
VARIANTS = {
    "PushBox": {
        "grad-plain": Method(GradientShooting(lr=0.1), 1, 100),
        "grad-smooth": Method(GradientShooting(lr=0.1, smoothing=0.1, smoothing_samples=4), 1, 50),
    }
}


def methods_for(task: str) -> dict[str, Method]:
    """The default methods and the task's ``VARIANTS``."""
    return {**default_methods(task), **VARIANTS.get(task, {})}


def fmt(x, spec):
    return "never" if x is None else format(x, spec)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=list(HORIZONS), choices=list(HORIZONS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="outputs/trajopt_bench")
    args = parser.parse_args()

    report = {}
    for task in args.tasks:
        results = compare_methods(task, methods_for(task), seed=args.seed)
        gradients = [k for k in results if k.startswith("grad")]
        report[task] = {
            "final_cost": {k: r.cost for k, r in results.items()},
            **{f"{g}_vs_{s}": reach_table(results, against=s, method=g) for g in gradients for s in ("CEM", "MPPI")},
            "history": {k: r.history for k, r in results.items()},
        }
    print("\nsteps and wall time to reach the sampler's final cost, then within 1% of it (ratio: sampler / gradient; "
          "'never': the gradient does not get there, then the same at the gradient's own final cost)")  # fmt: skip
    print(f"{'task':16s} {'gradient':12s} {'vs':5s} {'target':>9s} {'grad steps':>11s} {'its steps':>11s} "
          f"{'steps x':>8s} {'grad s':>7s} {'its s':>7s} {'time x':>7s}")  # fmt: skip
    for task, rep in report.items():
        for key, table in rep.items():
            if "_vs_" not in key:
                continue
            grad, vs = key.split("_vs_")
            rows = [table["at_against_cost"], table["near_against_cost"]]
            if rows[0]["method_steps"] is None:
                rows = [table["at_method_cost"]]
            for row in rows:
                print(f"{task:16s} {grad:12s} {vs:5s} {row['target']:9.2f} {fmt(row['method_steps'], '11,d')} "
                      f"{fmt(row['against_steps'], '11,d')} {fmt(row['steps_ratio'], '8.1f')} "
                      f"{fmt(row['method_time'], '7.1f')} {fmt(row['against_time'], '7.1f')} "
                      f"{fmt(row['time_ratio'], '7.2f')}")  # fmt: skip
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "trajopt.json")
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(report, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
