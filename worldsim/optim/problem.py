"""`TrajectoryProblem`: what every optimizer of :mod:`worldsim.optim` solves, and `OptimResult`, what it returns.

A problem is a model whose ``num_worlds`` worlds are the optimizer's batch (candidate trajectories for gradient
shooting, samples for CEM and MPPI), an initial state, a horizon of control steps (each held for ``frame_skip``
physics steps, like an env's action), control bounds and a cost written in torch::

    def cost(qpos, qvel, ctrl):     # [T+1, N, nq], [T+1, N, nv] (index 0: the initial state), [T, N, nu]
        return (qpos[-1, :, 0] - 1.0).square() + 1e-3 * ctrl.square().sum((0, 2))   # [N]

    problem = TrajectoryProblem(model, cost, qpos0, qvel0, horizon=50)

The problem counts the physics steps its rollouts simulate (``sim_steps``: one per world per physics step,
forward; ``grad_steps``: the same for backward passes), the currency in which the optimizers are compared.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from ..physics.checks import as_state_tensor
from ..physics.mjcf import from_mjmodel
from ..physics.model import Model
from ..physics.rollout import rollout

#: cost(qpos [T+1, N, nq], qvel [T+1, N, nv], ctrl [T, N, nu]) -> cost [N]
CostFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


class TrajectoryProblem:
    """A finite-horizon optimal-control problem on ``model``, batched over its worlds.

    Args:
        model: the simulated model; its ``num_worlds`` is the optimizer's batch size N.
        cost: ``cost(qpos, qvel, ctrl) -> [N]`` (see the module docstring); differentiable for gradient shooting.
        qpos0: initial positions [nq] (shared by all worlds) or [N, nq].
        qvel0: initial velocities [nv] or [N, nv].
        horizon: T, the number of control steps.
        frame_skip: physics steps each control is held for (an env's ``frame_skip``).
        ctrl_low, ctrl_high: control bounds [nu] (default: the model's ``ctrlrange``; unbounded actuators get
            ±inf).
        params: overrides of the per-world parameter table, as :func:`worldsim.rollout`.
    """

    def __init__(
        self,
        model: Model,
        cost: CostFn,
        qpos0: torch.Tensor,
        qvel0: torch.Tensor,
        horizon: int,
        *,
        frame_skip: int = 1,
        ctrl_low: torch.Tensor | None = None,
        ctrl_high: torch.Tensor | None = None,
        params: dict[str, torch.Tensor] | None = None,
    ):
        if not isinstance(model, Model):
            raise ValueError(f"model must be a worldsim Model, got {type(model).__name__}")
        if not callable(cost):
            raise ValueError("cost must be a callable cost(qpos, qvel, ctrl) -> [N]")
        if not isinstance(horizon, int) or horizon < 1:
            raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
        if not isinstance(frame_skip, int) or frame_skip < 1:
            raise ValueError(f"frame_skip must be a positive integer, got {frame_skip!r}")
        if model.nu == 0:
            raise ValueError("the model has no actuators: there are no controls to optimize")
        self.model, self.cost_fn, self.horizon, self.frame_skip = model, cost, horizon, frame_skip
        self.params = params
        mjm = model.mj_model
        limited = torch.as_tensor(mjm.actuator_ctrllimited, dtype=torch.bool)
        rng = torch.as_tensor(mjm.actuator_ctrlrange, dtype=torch.float32)
        inf = torch.full((model.nu,), float("inf"))
        low = torch.where(limited, rng[:, 0], -inf) if ctrl_low is None else torch.as_tensor(ctrl_low).float()
        high = torch.where(limited, rng[:, 1], inf) if ctrl_high is None else torch.as_tensor(ctrl_high).float()
        if low.shape != (model.nu,) or high.shape != (model.nu,):
            raise ValueError(f"ctrl_low and ctrl_high must have shape [{model.nu}]")
        if not (low < high).all():
            raise ValueError(f"ctrl_low must be below ctrl_high, got {low.tolist()} and {high.tolist()}")
        self.ctrl_low, self.ctrl_high = low.to(model.device), high.to(model.device)
        self.set_initial_state(qpos0, qvel0)
        self.sim_steps = 0
        self.grad_steps = 0

    @property
    def num_worlds(self) -> int:
        return self.model.num_worlds

    @property
    def nu(self) -> int:
        return self.model.nu

    def set_initial_state(self, qpos0: torch.Tensor, qvel0: torch.Tensor) -> None:
        """Set the initial state: [nq] and [nv] for all worlds, or [N, nq] and [N, nv] (MPC calls this every
        step)."""
        n, dev = self.num_worlds, self.model.device
        # copies: the caller's tensor may be a live simulator state (an env's, for MPC)
        self.qpos0 = as_state_tensor(
            "qpos0", _per_world(qpos0, (self.model.nq,), 0, n), (n, self.model.nq), dev
        ).clone()
        self.qvel0 = as_state_tensor(
            "qvel0", _per_world(qvel0, (self.model.nv,), 0, n), (n, self.model.nv), dev
        ).clone()

    def ctrl_scale(self) -> torch.Tensor:
        """Half the control range [nu] (1 where unbounded): the unit of noise and step sizes."""
        half = 0.5 * (self.ctrl_high - self.ctrl_low)
        return torch.where(torch.isfinite(half), half, torch.ones_like(half))

    def clip(self, ctrl: torch.Tensor) -> torch.Tensor:
        """``ctrl`` [..., nu] clamped into the bounds."""
        return torch.maximum(torch.minimum(ctrl, self.ctrl_high), self.ctrl_low)

    def check_ctrl(self, ctrl: torch.Tensor, name: str = "ctrl") -> torch.Tensor:
        """``ctrl`` [T, nu] (the same for every world) or [T, N, nu] as a float32 tensor [T, N, nu] on the model's
        device; ValueError naming ``name`` for another shape or a NaN/inf."""
        return as_state_tensor(name, _per_world(ctrl, (self.horizon, self.nu), 1, self.num_worlds),
                               (self.horizon, self.num_worlds, self.nu), self.model.device, grad_ok=True)  # fmt: skip

    def simulate(
        self,
        ctrl: torch.Tensor,
        *,
        qpos0: torch.Tensor | None = None,
        qvel0: torch.Tensor | None = None,
        model: Model | None = None,
        params: dict | None = None,
        **rollout_options,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Roll out controls ``ctrl`` [T, N, nu] (each held ``frame_skip`` physics steps) and return the states at
        the control steps, initial state included: qpos [T+1, N, nq], qvel [T+1, N, nv]. Differentiable;
        ``rollout_options`` go to :func:`worldsim.rollout` (``grad_clip``, ``grad_window``). ``model`` and the
        initial state may be replaced (multiple shooting simulates its segments in a model with more worlds)."""
        model = model or self.model
        q0 = self.qpos0 if qpos0 is None else qpos0
        v0 = self.qvel0 if qvel0 is None else qvel0
        fs = self.frame_skip
        physics_ctrl = ctrl.repeat_interleave(fs, dim=0) if fs > 1 else ctrl
        out = rollout(model, q0, v0, physics_ctrl, self.params if params is None else params, **rollout_options)
        self.sim_steps += physics_ctrl.shape[0] * model.num_worlds
        q, v = out[0][fs - 1 :: fs], out[1][fs - 1 :: fs]
        return torch.cat([q0[None], q]), torch.cat([v0[None], v])

    def cost(self, ctrl: torch.Tensor) -> torch.Tensor:
        """Cost [N] of controls ``ctrl`` [T, N, nu] (clamped to the bounds first); differentiable."""
        ctrl = self.clip(ctrl)
        qpos, qvel = self.simulate(ctrl)
        return self.cost_fn(qpos, qvel, ctrl)

    def evaluate(self, ctrl: torch.Tensor) -> torch.Tensor:
        """Cost [N] of controls [T, N, nu] or [T, nu], without gradients."""
        with torch.no_grad():
            return self.cost(self.check_ctrl(ctrl))

    def tiled_model(self, copies: int) -> Model:
        """A copy of the model with ``copies`` × N worlds: world c·N + n has world n's parameters (multiple
        shooting simulates its segments in it)."""
        m = self.model
        model = from_mjmodel(m.mj_model, num_worlds=copies * m.num_worlds, device=m.device, substeps=m.substeps,
                             nconmax=m.nconmax)  # fmt: skip
        params = m.get_params()
        model.set_params(**{k: v.detach().repeat(copies, *([1] * (v.ndim - 1))) for k, v in params.items()})
        return model


def _check_iters(iters) -> int:
    if not isinstance(iters, int) or iters < 1:
        raise ValueError(f"iters must be a positive integer, got {iters!r}")
    return iters


def _per_world(x, shared_shape: tuple, dim: int, n: int):
    """``x`` with a world axis of size ``n`` inserted at ``dim`` when it has the shape ``shared_shape`` of one
    world's value (shared by all worlds); anything else unchanged, for :func:`as_state_tensor` to check."""
    if isinstance(x, (torch.Tensor, np.ndarray, list, tuple)) and tuple(np.shape(x)) == shared_shape:
        x = torch.as_tensor(x, dtype=torch.float32).unsqueeze(dim)
        return x.expand(*x.shape[:dim], n, *x.shape[dim + 1 :])
    return x


@dataclass
class OptimResult:
    """What an optimizer returns.

    Attributes:
        ctrl: the best control sequence found [T, nu].
        cost: its cost (float).
        costs: the cost of each world's candidate at its last evaluation [N] (gradient shooting: the last point the
            optimizer evaluated, before its last step) or of the last samples (CEM, MPPI).
        history: one dict per iteration: ``iteration``, ``cost`` (best so far), ``sim_steps`` and ``grad_steps``
            (physics steps simulated so far, forward and backward, all worlds) and ``wall_time`` [s].
        qpos, qvel: the best control sequence's trajectory [T+1, nq] / [T+1, nv].
    """

    ctrl: torch.Tensor
    cost: float
    costs: torch.Tensor
    history: list[dict] = field(default_factory=list)
    qpos: torch.Tensor | None = None
    qvel: torch.Tensor | None = None

    def steps_to_reach(self, target_cost: float) -> int | None:
        """Physics steps (forward + backward) simulated until the best cost was at or below ``target_cost``
        (None if never)."""
        for h in self.history:
            if h["cost"] <= target_cost:
                return h["sim_steps"] + h["grad_steps"]
        return None

    def time_to_reach(self, target_cost: float) -> float | None:
        """Wall time [s] until the best cost was at or below ``target_cost`` (None if never)."""
        for h in self.history:
            if h["cost"] <= target_cost:
                return h["wall_time"]
        return None


class _Recorder:
    """Tracks the best control sequence and appends history rows."""

    def __init__(self, problem: TrajectoryProblem):
        self.problem, self.start = problem, time.perf_counter()
        self.steps0, self.grad0 = problem.sim_steps, problem.grad_steps
        self.best_cost, self.best_ctrl, self.history = float("inf"), None, []

    def offer(self, ctrl: torch.Tensor, costs: torch.Tensor) -> None:
        """Candidates ``ctrl`` [T, N, nu] with ``costs`` [N]: keep the best."""
        costs = costs.detach()
        finite = torch.where(torch.isfinite(costs), costs, torch.full_like(costs, float("inf")))
        i = int(torch.argmin(finite))
        if float(finite[i]) < self.best_cost:
            self.best_cost, self.best_ctrl = float(finite[i]), ctrl[:, i].detach().clone()

    def record(self, iteration: int) -> None:
        self.history.append({
            "iteration": iteration, "cost": self.best_cost,
            "sim_steps": self.problem.sim_steps - self.steps0, "grad_steps": self.problem.grad_steps - self.grad0,
            "wall_time": time.perf_counter() - self.start,
        })  # fmt: skip

    def result(self, costs: torch.Tensor) -> OptimResult:
        if self.best_ctrl is None:
            raise RuntimeError("the optimizer produced no finite cost (every rollout diverged)")
        p = self.problem
        counted = p.sim_steps
        with torch.no_grad():  # the best controls' trajectory, for the result (not counted as the optimizer's work)
            q, v = p.simulate(p.clip(self.best_ctrl)[:, None].expand(-1, p.num_worlds, -1).contiguous())
        p.sim_steps = counted
        return OptimResult(self.best_ctrl, self.best_cost, costs.detach(), self.history, q[:, 0], v[:, 0])
