"""Receding-horizon control (MPC) of a Gym env with any optimizer of :mod:`worldsim.optim`.

At every env step: copy the env's state (and goal) into a :class:`TaskProblem`, improve the plan for a few
iterations from the previous plan shifted by one step (warm start; the last control is repeated), apply its first
control to the env. The planner sees the task's nominal model; the env may be randomized (model mismatch).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from .tasks import TaskProblem


@dataclass
class MPCResult:
    """One MPC episode: ``rewards`` [steps], ``actions`` [steps, nu], ``qpos`` [steps+1, nq] of the env,
    ``frames`` (uint8 [steps+1, H, W, 3] when the env renders ``rgb_array``, else None), ``plan_time`` [s] spent in
    the optimizer, ``sim_steps`` physics steps the planner simulated (forward + backward)."""

    rewards: np.ndarray
    actions: np.ndarray
    qpos: np.ndarray
    frames: np.ndarray | None
    plan_time: float
    sim_steps: int

    @property
    def total_reward(self) -> float:
        return float(self.rewards.sum())


def mpc(
    env,
    planner,
    *,
    horizon: int,
    num_worlds: int,
    steps: int | None = None,
    iters: int = 5,
    first_iters: int | None = None,
    seed: int | None = None,
) -> MPCResult:
    """Run one episode of ``env`` (a single ``worldsim/<Task>-v0`` env) under MPC.

    Args:
        env: the env (``gymnasium.make("worldsim/Reacher-v0")``, wrappers allowed).
        planner: :class:`GradientShooting`, :class:`CEM` or :class:`MPPI` (anything with ``solve(problem,
            ctrl_init, iters=...)``).
        horizon: planning horizon in env steps.
        num_worlds: worlds of the planner's problem (samples for CEM/MPPI, candidates for shooting).
        steps: env steps to run (default: until the episode ends).
        iters: optimizer iterations per env step (warm-started).
        first_iters: iterations of the first plan (default ``4 × iters``).
        seed: ``env.reset`` seed.
    """
    core = getattr(env.unwrapped, "core", None)
    if core is None or core.task.num_worlds != 1:
        raise ValueError("mpc needs a single worldsim env (gymnasium.make('worldsim/<Task>-v0'))")
    if not isinstance(horizon, int) or horizon < 1:
        raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
    task = core.task
    problem = TaskProblem(type(task), num_worlds=num_worlds, horizon=horizon, device=str(task.model.device))
    env.reset(seed=seed)
    rgb = env.render_mode == "rgb_array"
    frames = [env.render()] if rgb else None
    plan, rewards, actions, qpos = None, [], [], [task.sim.qpos[0].cpu().numpy().copy()]
    plan_time, planner_steps, t = 0.0, 0, 0
    while steps is None or t < steps:
        problem.sync(task)
        start = time.perf_counter()
        n = (first_iters or 4 * iters) if plan is None else iters
        result = planner.solve(problem, plan, iters=n)
        plan_time += time.perf_counter() - start
        plan = result.ctrl
        planner_steps += result.history[-1]["sim_steps"] + result.history[-1]["grad_steps"]
        action = plan[0].cpu().numpy()
        _, reward, terminated, truncated, _ = env.step(action)
        rewards.append(float(reward))
        actions.append(action)
        qpos.append(task.sim.qpos[0].cpu().numpy().copy())
        if rgb:
            frames.append(env.render())
        plan = torch.cat([plan[1:], plan[-1:]])  # shift: warm start for the next step
        t += 1
        if terminated or truncated:
            break
    return MPCResult(np.array(rewards), np.array(actions), np.array(qpos),
                     np.array(frames) if rgb else None, plan_time, planner_steps)  # fmt: skip
