"""The Gym tasks as trajectory-optimization problems: the env's own reward, as a torch function of the state,
becomes the cost (cost = −Σ_t reward_t over the horizon), so ``worldsim/Reacher-v0``, ``worldsim/PushBox-v0`` or
``worldsim/CartPoleSwingUp-v0`` are solved by the optimizers of :mod:`worldsim.optim` directly.

Termination is ignored inside the horizon (the plan is scored over all of it).
"""

from __future__ import annotations

import torch

from ..envs.task import Task
from ..envs.tasks import TASKS
from .problem import TrajectoryProblem


def _task_class(task: str | type) -> type:
    if isinstance(task, type) and issubclass(task, Task):
        return task
    name = task.removeprefix("worldsim/").removesuffix("-v0") if isinstance(task, str) else task
    if name not in TASKS:
        raise ValueError(f"unknown task {task!r}; known: {sorted(TASKS)} (or worldsim/<Task>-v0)")
    return TASKS[name]


class TaskProblem(TrajectoryProblem):
    """A task's episode as a :class:`TrajectoryProblem` over ``num_worlds`` worlds, all starting from one initial
    state drawn by the task's reset distribution (``seed``).

    Args:
        task: a task name (``"PushBox"``, ``"worldsim/PushBox-v0"``) or :class:`~worldsim.envs.task.Task` class.
        num_worlds: the optimizer's batch (samples for CEM/MPPI, candidates for gradient shooting).
        horizon: control steps (default: the task's episode length).
        seed: seed of the initial state (and goal) drawn from the task's reset distribution.
        device: torch device.

    Attributes:
        task: the task instance (its model is the problem's model).
    """

    def __init__(self, task: str | type, *, num_worlds: int, horizon: int | None = None, seed: int = 0,
                 device: str = "cpu"):  # fmt: skip
        cls = _task_class(task)
        self.task: Task = cls(num_worlds, device)
        low, high = self.task.action_bounds()
        gen = torch.Generator().manual_seed(seed)
        self.task.reset_worlds(torch.zeros(1, dtype=torch.long), gen)
        horizon = cls.horizon if horizon is None else horizon
        super().__init__(
            self.task.model,
            self._cost,
            self.task.sim.qpos[0],
            self.task.sim.qvel[0],
            horizon,
            frame_skip=cls.frame_skip,
            ctrl_low=torch.as_tensor(low),
            ctrl_high=torch.as_tensor(high),
        )
        self._broadcast_context(self.task, 0)

    def _cost(self, qpos: torch.Tensor, qvel: torch.Tensor, ctrl: torch.Tensor) -> torch.Tensor:
        reward, _ = self.task.state_reward(qpos[:-1], qpos[1:], qvel[1:], ctrl)
        return -reward.sum(0)

    def _broadcast_context(self, source: Task, world: int) -> None:
        for name in self.task.episode_context:
            value = getattr(source, name)[world].detach()
            getattr(self.task, name)[:] = value.to(getattr(self.task, name))

    def sync(self, source: Task, world: int = 0) -> None:
        """Start every world from world ``world`` of another instance of the task (an env's), episode context
        (goal) included: what MPC does before each plan."""
        if type(source) is not type(self.task):
            raise ValueError(f"cannot sync a {type(self.task).__name__} problem from a {type(source).__name__} task")
        self.set_initial_state(source.sim.qpos[world], source.sim.qvel[world])
        self._broadcast_context(source, world)

    def rewards(self, ctrl: torch.Tensor) -> torch.Tensor:
        """Per-step rewards [T] of one control sequence ``ctrl`` [T, nu] in world 0."""
        with torch.no_grad():
            u = self.clip(self.check_ctrl(ctrl))
            q, v = self.simulate(u)
            reward, _ = self.task.state_reward(q[:-1], q[1:], v[1:], u)
        return reward[:, 0]

    def render(self, qpos: torch.Tensor, *, width: int = 128, height: int = 128):
        """Frames uint8 [T+1, H, W, 3] of a trajectory ``qpos`` [T+1, nq] (an :class:`OptimResult`'s), seen by the
        task's camera (the env's ``rgb_array`` rendering)."""
        import numpy as np

        from ..envs.env import WorldsimEnv

        if qpos.ndim != 2 or qpos.shape[1] != self.model.nq:
            raise ValueError(f"qpos must have shape [T+1, {self.model.nq}], got {list(qpos.shape)}")
        env = WorldsimEnv(type(self.task), render_mode="rgb_array", width=width, height=height)
        env.reset(seed=0)
        sim = env.core.task.sim
        frames = []
        for q in qpos.detach():
            sim.reset(q[None], torch.zeros(1, self.model.nv))
            frames.append(env.render())
        env.close()
        return np.stack(frames)
