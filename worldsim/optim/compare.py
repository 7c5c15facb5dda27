"""Gradient shooting against the sampling methods on the Gym tasks, in the currency that matters: physics steps
simulated (forward + backward, all worlds) and wall time to reach a cost. Used by ``demos/trajopt.py`` and
``benchmarks/trajopt.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .problem import OptimResult
from .sampling import CEM, MPPI
from .shooting import GradientShooting
from .tasks import TaskProblem


@dataclass
class Method:
    """An optimizer with the number of worlds it runs (samples or candidates) and its iterations."""

    solver: GradientShooting | CEM | MPPI
    num_worlds: int
    iters: int


#: planning horizon (env steps) per task: the whole swing-up / push / reach
HORIZONS = {"Reacher": 50, "PushBox": 50, "CartPoleSwingUp": 75}
#: gradient-shooting options per task beyond the defaults: PushBox clips the adjoint, without which its contact
#: gradients stall Adam (benchmarks/trajopt.py shows it)
GRADIENT_OPTIONS = {"PushBox": {"grad_clip": 10.0}}


def default_methods(task: str) -> dict[str, Method]:
    """The three methods (gradient: Adam, steps of 0.1 half control ranges, 1 world, 100 iterations, plus
    ``GRADIENT_OPTIONS``; CEM and MPPI: 256 samples, 50 iterations)."""
    return {
        "gradient": Method(GradientShooting(lr=0.1, **GRADIENT_OPTIONS.get(task, {})), 1, 100),
        "CEM": Method(CEM(), 256, 50),
        "MPPI": Method(MPPI(), 256, 50),
    }


def compare_methods(
    task: str,
    methods: dict[str, Method] | None = None,
    *,
    horizon: int | None = None,
    seed: int = 0,
    log: Callable[[str], None] | None = print,
) -> dict[str, OptimResult]:
    """Solve one episode of ``task`` (initial state and goal from ``seed``) with each method; {name: result}."""
    methods = methods or default_methods(task)
    horizon = horizon or HORIZONS.get(task)
    results = {}
    for name, m in methods.items():
        problem = TaskProblem(task, num_worlds=m.num_worlds, horizon=horizon, seed=seed)
        results[name] = m.solver.solve(problem, iters=m.iters)
        if log:
            h = results[name].history[-1]
            log(f"{task:16s} {name:9s} cost {results[name].cost:10.3f}  steps {h['sim_steps'] + h['grad_steps']:>10,d}"
                f"  wall {h['wall_time']:6.1f} s")  # fmt: skip
    return results


def reach_table(results: dict[str, OptimResult], *, against: str = "CEM", method: str = "gradient") -> dict:
    """Steps and wall time ``method`` and ``against`` need to reach ``against``'s final cost, and their ratios
    (None where ``method`` never gets there); the same within 1% of that cost (``near_against_cost``: a sampler's
    last percent can take most of its run) and at ``method``'s own final cost."""
    ref, res = results[against], results[method]
    out = {"target": ref.cost, "method_cost": res.cost, "against_cost": ref.cost}
    targets = (("at_against_cost", ref.cost), ("near_against_cost", ref.cost + 0.01 * abs(ref.cost)),
               ("at_method_cost", res.cost))  # fmt: skip
    for key, target in targets:
        s_m, s_a = res.steps_to_reach(target), ref.steps_to_reach(target)
        t_m, t_a = res.time_to_reach(target), ref.time_to_reach(target)
        out[key] = {
            "target": target, "method_steps": s_m, "against_steps": s_a, "method_time": t_m, "against_time": t_a,
            "steps_ratio": s_a / s_m if s_m and s_a else None, "time_ratio": t_a / t_m if t_m and t_a else None,
        }  # fmt: skip
    return out
