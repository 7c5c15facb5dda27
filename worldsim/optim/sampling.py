"""Derivative-free baselines: the cross-entropy method (CEM) and model-predictive path integral (MPPI).

Both draw one control sequence per world of the problem (N samples per iteration, evaluated in one batched
rollout without gradients) from a Gaussian around a mean sequence, and move the mean towards the low-cost samples.
The current mean is always one of the samples, so the best cost never gets worse.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..physics.checks import as_state_tensor
from .problem import OptimResult, TrajectoryProblem, _check_iters, _Recorder


def _check_common(cfg) -> None:
    if not isinstance(cfg.iters, int) or cfg.iters < 1:
        raise ValueError(f"iters must be a positive integer, got {cfg.iters!r}")
    if not cfg.std > 0:
        raise ValueError(f"std must be positive, got {cfg.std!r}")


def _samples(problem: TrajectoryProblem, mean: torch.Tensor, std: torch.Tensor, gen: torch.Generator):
    """N control sequences [T, N, nu] around ``mean`` [T, nu] with per-step std ``std`` [T, nu], clamped into the
    bounds; sample 0 is the mean itself."""
    T, N, nu = problem.horizon, problem.num_worlds, problem.nu
    noise = torch.randn(T, N, nu, generator=gen).to(mean) * std[:, None]
    noise[:, 0] = 0.0
    return problem.clip(mean[:, None] + noise)


def _initial_mean(problem: TrajectoryProblem, ctrl_init) -> torch.Tensor:
    if ctrl_init is None:
        return problem.clip(torch.zeros(problem.horizon, problem.nu, device=problem.model.device))
    return problem.clip(as_state_tensor("ctrl_init", ctrl_init, (problem.horizon, problem.nu), problem.model.device))


class _Sampler:
    """The loop both share: sample around the mean, score in one batched rollout, keep the best, update."""

    def update(self, problem, mean, std, ctrl, costs) -> tuple[torch.Tensor, torch.Tensor]:
        """New (mean, std) [T, nu] from the samples ``ctrl`` [T, N, nu] and their ``costs`` [N]."""
        raise NotImplementedError

    def solve(self, problem: TrajectoryProblem, ctrl_init=None, *, iters=None, target_cost=None) -> OptimResult:
        """Optimize from the mean ``ctrl_init`` [T, nu] (default zeros in the bounds) for ``iters`` iterations
        (default ``self.iters``), stopping early once the best cost is at or below ``target_cost``."""
        if problem.num_worlds < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 worlds (samples) in the problem's model")
        gen = torch.Generator().manual_seed(self.seed)
        mean = _initial_mean(problem, ctrl_init)
        std = torch.full_like(mean, self.std) * problem.ctrl_scale()
        rec = _Recorder(problem)
        for it in range(_check_iters(self.iters if iters is None else iters)):
            ctrl = _samples(problem, mean, std, gen)
            costs = problem.evaluate(ctrl)
            rec.offer(ctrl, costs)
            mean, std = self.update(problem, mean, std, ctrl, costs)
            rec.record(it)
            if target_cost is not None and rec.best_cost <= target_cost:
                break
        return rec.result(costs)


@dataclass
class CEM(_Sampler):
    """Cross-entropy method: refit a diagonal Gaussian over control sequences to the ``elite_frac`` best samples.

    Args:
        iters: iterations (each one batched rollout of the problem's N worlds).
        elite_frac: fraction of samples kept as elites (at least 2).
        std: initial standard deviation, in units of half the control range.
        min_std: floor on the standard deviation (same units), so the search never freezes.
        momentum: weight of the previous mean and std in each refit (0: replace them).
        seed: sampling seed.
    """

    iters: int = 50
    elite_frac: float = 0.1
    std: float = 0.5
    min_std: float = 0.02
    momentum: float = 0.1
    seed: int = 0

    def __post_init__(self):
        _check_common(self)
        if not 0 < self.elite_frac <= 1:
            raise ValueError(f"elite_frac must be in (0, 1], got {self.elite_frac!r}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")

    def update(self, problem, mean, std, ctrl, costs):
        finite = torch.where(torch.isfinite(costs), costs, torch.full_like(costs, float("inf")))
        n_elite = max(2, round(self.elite_frac * problem.num_worlds))
        elite = ctrl[:, torch.argsort(finite)[:n_elite]]  # [T, E, nu]
        m = self.momentum
        std = torch.maximum(m * std + (1 - m) * elite.std(1), self.min_std * problem.ctrl_scale())
        return m * mean + (1 - m) * elite.mean(1), std


@dataclass
class MPPI(_Sampler):
    """Model-predictive path integral: the mean moves by the exponentially weighted average of the sampled
    perturbations, weights exp(−(cost − min cost) / λ) with λ = ``temperature`` × the samples' cost spread (std),
    so the temperature is independent of the cost's scale.

    Args:
        iters: iterations (each one batched rollout of the problem's N worlds).
        std: perturbation standard deviation, in units of half the control range (fixed, as in MPPI).
        temperature: λ relative to the cost spread (smaller: greedier).
        seed: sampling seed.
    """

    iters: int = 50
    std: float = 0.3
    temperature: float = 0.1
    seed: int = 0

    def __post_init__(self):
        _check_common(self)
        if not self.temperature > 0:
            raise ValueError(f"temperature must be positive, got {self.temperature!r}")

    def update(self, problem, mean, std, ctrl, costs):
        finite = torch.isfinite(costs)
        c = torch.where(finite, costs, costs[finite].max() if finite.any() else torch.zeros(()))
        lam = self.temperature * c.std().clamp_min(1e-12)
        w = torch.softmax(-(c - c.min()) / lam, dim=0) * finite
        w = w / w.sum().clamp_min(1e-12)
        return problem.clip(mean + ((ctrl - mean[:, None]) * w[None, :, None]).sum(1)), std
