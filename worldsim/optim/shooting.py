"""Gradient shooting: optimize the controls by gradient descent through :func:`worldsim.rollout`.

- single shooting: the controls are the only variables; one rollout of the whole horizon per iteration.
- multiple shooting: the horizon is cut into ``segments`` simulated in parallel worlds from free start states;
  the mismatch between a segment's end and the next one's start (the *defect*) is driven to zero by a quadratic
  penalty or an augmented Lagrangian. Shorter segments keep gradients from exploding over long horizons.

Each of the problem's N worlds optimizes its own candidate (from its own initial guess); the best is returned.
Controls stay within the bounds: the optimizer's variables are the controls in units of half their range, each step
is projected back onto the bounds, and the cost is evaluated at the clamped controls.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .problem import OptimResult, TrajectoryProblem, _check_iters, _Recorder

OPTIMIZERS = ("adam", "lbfgs")
DEFECT_METHODS = ("penalty", "auglag")


@dataclass
class GradientShooting:
    """Gradient-based shooting.

    Args:
        iters: optimizer iterations (an L-BFGS iteration may evaluate the cost several times).
        optimizer: ``"adam"`` or ``"lbfgs"`` (with a strong-Wolfe line search).
        lr: Adam's step size, in units of half the control range (L-BFGS takes unit steps with a line search).
        segments: 1 for single shooting, more for multiple shooting (must divide the horizon).
        defect: ``"penalty"`` (quadratic, weight ``defect_weight``) or ``"auglag"`` (augmented Lagrangian:
            multipliers updated every ``auglag_every`` iterations).
        defect_weight: ρ, the quadratic weight on the defects (per state coordinate, squared units).
        grad_clip, grad_window: :func:`worldsim.rollout`'s gradient options.
        smoothing: σ of randomized smoothing as a fraction of half the control range (0: off): the gradient is
            that of E_ε[cost(u + σ ε)], estimated from ``smoothing_samples`` perturbed rollouts per iteration.
        seed: seed of the smoothing noise.
    """

    iters: int = 100
    optimizer: str = "adam"
    lr: float = 0.05
    segments: int = 1
    defect: str = "penalty"
    defect_weight: float = 100.0
    auglag_every: int = 10
    grad_clip: float | None = None
    grad_window: int | None = None
    smoothing: float = 0.0
    smoothing_samples: int = 8
    seed: int = 0

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.defect not in DEFECT_METHODS:
            raise ValueError(f"defect must be one of {DEFECT_METHODS}, got {self.defect!r}")
        for name in ("iters", "segments", "auglag_every", "smoothing_samples"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        for name in ("lr", "defect_weight"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if not self.smoothing >= 0:
            raise ValueError(f"smoothing must be >= 0, got {self.smoothing!r}")

    def solve(
        self,
        problem: TrajectoryProblem,
        ctrl_init: torch.Tensor | None = None,
        *,
        iters: int | None = None,
        target_cost: float | None = None,
    ) -> OptimResult:
        """Optimize from ``ctrl_init`` ([T, nu] shared, or [T, N, nu] per world; default zeros clamped into the
        bounds) for ``iters`` iterations (default ``self.iters``), stopping early once the best cost is at or
        below ``target_cost``."""
        T, S = problem.horizon, self.segments
        if T % S:
            raise ValueError(f"segments ({S}) must divide the horizon ({T})")
        init = torch.zeros(T, problem.nu, device=problem.model.device) if ctrl_init is None else ctrl_init
        iters = _check_iters(self.iters if iters is None else iters)
        scale = problem.ctrl_scale()  # the variables are controls in units of half their range
        z = (problem.clip(problem.check_ctrl(init, "ctrl_init")) / scale).clone().requires_grad_(True)
        rec = _Recorder(problem)  # before the objective: multiple shooting's seeding rollout counts
        objective = _Single(self, problem) if S == 1 else _Multiple(self, problem, z * scale)

        def make_optimizer():
            if self.optimizer == "adam":
                return torch.optim.Adam([z, *objective.variables], lr=self.lr)
            return torch.optim.LBFGS([z, *objective.variables], lr=1.0, max_iter=1, max_eval=25, history_size=20,
                                     line_search_fn="strong_wolfe")  # fmt: skip

        opt = make_optimizer()
        costs = torch.full((problem.num_worlds,), float("inf"))

        def closure():
            nonlocal costs
            opt.zero_grad()
            loss, costs = objective(z * scale)
            loss.backward()
            problem.grad_steps += objective.steps_per_eval
            if objective.exact:  # the loss is the cost of these controls: no extra rollout to score them
                rec.offer(problem.clip(z * scale).detach(), costs)
            return loss

        for it in range(iters):
            opt.step(closure)
            with torch.no_grad():
                z.copy_(problem.clip(z * scale) / scale)
                if not objective.exact:  # smoothed or multiple shooting: score the controls from the initial state
                    costs = problem.evaluate(z * scale)
                    rec.offer(z * scale, costs)
            if objective.after_step(it) and self.optimizer == "lbfgs":
                opt = make_optimizer()  # new multipliers, a new objective: L-BFGS's curvature pairs are stale
            rec.record(it)
            if target_cost is not None and rec.best_cost <= target_cost:
                break
        return rec.result(costs)


class _Single:
    """Single shooting (with optional randomized smoothing): loss = Σ_worlds cost."""

    def __init__(self, cfg: GradientShooting, problem: TrajectoryProblem):
        self.cfg, self.problem, self.variables = cfg, problem, []
        self.exact = cfg.smoothing == 0
        self.options = {"grad_clip": cfg.grad_clip, "grad_window": cfg.grad_window}
        self.generator = torch.Generator().manual_seed(cfg.seed)
        samples = cfg.smoothing_samples if cfg.smoothing > 0 else 1
        self.steps_per_eval = samples * problem.horizon * problem.frame_skip * problem.num_worlds

    def __call__(self, u: torch.Tensor):
        p = self.problem
        if self.cfg.smoothing == 0:
            ctrl = p.clip(u)
            costs = p.cost_fn(*p.simulate(ctrl, **self.options), ctrl)
            return costs.sum(), costs.detach()
        total = 0.0
        sigma = self.cfg.smoothing * p.ctrl_scale()
        for _ in range(self.cfg.smoothing_samples):
            noise = torch.randn(u.shape, generator=self.generator).to(u) * sigma
            ctrl = p.clip(u + noise)
            total = total + p.cost_fn(*p.simulate(ctrl, **self.options), ctrl)
        costs = total / self.cfg.smoothing_samples
        return costs.sum(), costs.detach()

    def after_step(self, it) -> bool:
        """Called after each iteration; True when the objective changed."""
        return False


class _Multiple:
    """Multiple shooting: S segments of L = T/S control steps, world s·N + n simulating segment s of candidate n
    from a free start state (segment 0 from the problem's initial state)."""

    def __init__(self, cfg: GradientShooting, problem: TrajectoryProblem, u: torch.Tensor):
        self.cfg, self.problem, self.exact = cfg, problem, False
        S, N = cfg.segments, problem.num_worlds
        self.S, self.L = S, problem.horizon // S
        self.model = problem.tiled_model(S)
        self.params = None
        if problem.params:
            self.params = {k: _tile(torch.as_tensor(v), S, N, problem.model.param_shape(k))
                           for k, v in problem.params.items()}  # fmt: skip
        with torch.no_grad():  # start states from a single-shooting rollout of the initial guess
            q, v = problem.simulate(problem.clip(u))
        idx = [s * self.L for s in range(1, S)]
        self.start_q = q[idx].clone().requires_grad_(True)  # [S-1, N, nq]
        self.start_v = v[idx].clone().requires_grad_(True)
        self.variables = [self.start_q, self.start_v]
        self.lam_q = torch.zeros_like(self.start_q)
        self.lam_v = torch.zeros_like(self.start_v)
        self.options = {"grad_clip": cfg.grad_clip, "grad_window": cfg.grad_window}
        self.steps_per_eval = problem.horizon * problem.frame_skip * N

    def _segments(self, u):
        p, S, L, N = self.problem, self.S, self.L, self.problem.num_worlds
        ctrl = p.clip(u)
        q0 = torch.cat([p.qpos0[None], self.start_q]).reshape(S * N, -1)
        v0 = torch.cat([p.qvel0[None], self.start_v]).reshape(S * N, -1)
        seg_ctrl = ctrl.reshape(S, L, N, -1).transpose(0, 1).reshape(L, S * N, -1)
        q, v = p.simulate(seg_ctrl, qpos0=q0, qvel0=v0, model=self.model, params=self.params, **self.options)
        q = q[1:].reshape(L, S, N, -1).transpose(0, 1)  # [S, L, N, nq]
        v = v[1:].reshape(L, S, N, -1).transpose(0, 1)
        return ctrl, q, v

    def __call__(self, u):
        p = self.problem
        ctrl, q, v = self._segments(u)
        qpos = torch.cat([p.qpos0[None], q.reshape(p.horizon, p.num_worlds, -1)])
        qvel = torch.cat([p.qvel0[None], v.reshape(p.horizon, p.num_worlds, -1)])
        costs = p.cost_fn(qpos, qvel, ctrl)
        self.dq, self.dv = q[:-1, -1] - self.start_q, v[:-1, -1] - self.start_v  # defects [S-1, N, ...]
        rho = self.cfg.defect_weight
        penalty = 0.5 * rho * (self.dq.square().sum() + self.dv.square().sum())
        if self.cfg.defect == "auglag":
            penalty = penalty + (self.lam_q * self.dq).sum() + (self.lam_v * self.dv).sum()
        return costs.sum() + penalty, costs.detach()

    def after_step(self, it) -> bool:
        if self.cfg.defect == "auglag" and (it + 1) % self.cfg.auglag_every == 0:
            with torch.no_grad():
                self.lam_q += self.cfg.defect_weight * self.dq.detach()
                self.lam_v += self.cfg.defect_weight * self.dv.detach()
            return True
        return False

    def max_defect(self) -> float:
        return float(torch.maximum(self.dq.abs().max(), self.dv.abs().max()))


def _tile(value: torch.Tensor, S: int, N: int, shape: tuple) -> torch.Tensor:
    """A per-world parameter override [N, ...] (or broadcastable) repeated for S segments: [S·N, ...]."""
    return torch.broadcast_to(value.float(), shape).repeat(S, *([1] * (len(shape) - 1)))
