"""`EnvCore`: what the single env and the native vector env share. It builds the task and composes the parts
that each do one job: :class:`~worldsim.envs.randomizer.WorldRandomizer` (domain randomization),
:class:`~worldsim.envs.action_delay.ActionDelay` (delayed actions), :class:`~worldsim.envs.pixels.PixelCamera`
(pixel observations). It also seeds, checks inputs, observes and sets states."""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import spaces

from .action_delay import ActionDelay
from .pixels import PixelCamera
from .randomizer import WorldRandomizer
from .task import Task
from .tasks import TASKS

OBS_MODES = ("state", "pixels", "state+pixels")


def make_task(task, num_worlds: int, device: str, task_kwargs: dict, fused_step: bool | None = None) -> Task:
    """A :class:`Task` of ``num_worlds`` worlds from a task name or class, with its constructor kwargs (the v5
    kwargs of a gymnasium twin: ``ctrl_cost_weight``, ``frame_skip``, ...)."""
    if isinstance(task, str):
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; known: {sorted(TASKS)}")
        task = TASKS[task]
    if not (isinstance(task, type) and issubclass(task, Task)):
        raise ValueError(f"task must be a task name or a Task subclass, got {task!r}")
    if not isinstance(num_worlds, int) or num_worlds < 1:
        raise ValueError(f"num_envs must be a positive integer, got {num_worlds!r}")
    return task(num_worlds, device, fused_step=fused_step, **task_kwargs)


class EnvCore:
    """The task of ``num_envs`` worlds with its randomization, action delay and pixel camera.

    Attributes:
        task: the :class:`Task` (its ``sim`` is the :class:`~worldsim.Simulator`).
        randomizer, delay, camera: the parts (see the module docstring).
        generator: the torch generator every random draw of the env uses (seeded by ``reset(seed=...)``).
    """

    def __init__(self, task, num_envs, *, obs_mode, render_mode, width, height, device, return_torch=False,
                 randomization=None, task_kwargs=None, fused_step=None):  # fmt: skip
        if obs_mode not in OBS_MODES:
            raise ValueError(f"obs_mode must be one of {OBS_MODES}, got {obs_mode!r}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.task: Task = make_task(task, num_envs, device, task_kwargs or {}, fused_step)
        self.obs_mode, self.return_torch = obs_mode, return_torch
        self.generator = torch.Generator()
        self.generator.manual_seed(0)
        self.randomizer = WorldRandomizer(self.task, randomization)
        self.camera = PixelCamera(self.task, self.randomizer, width, height)
        nu = self.task.single_action_space.shape[0]
        self.delay = ActionDelay(self.randomizer.action_delay, num_envs, nu)
        state = self.task.single_observation_space
        pixels = spaces.Box(0, 255, shape=(height, width, 3), dtype=np.uint8)
        self.single_observation_space = {
            "state": state, "pixels": pixels, "state+pixels": spaces.Dict({"state": state, "pixels": pixels})
        }[obs_mode]  # fmt: skip
        self.single_action_space = self.task.single_action_space

    def reset_worlds(self, worlds: torch.Tensor) -> None:
        """Resample the randomization of ``worlds`` (int tensor [k]), empty their action queues, reset their state
        from the task's reset distribution."""
        self.randomizer.apply(worlds, self.generator)
        self.delay.reset(worlds)
        self.task.reset_worlds(worlds, self.generator)

    def step(self, action: torch.Tensor, ignored: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        """One env step of every world under ``action`` [N, nu] (through the delay queue; ``ignored``: worlds whose
        action is discarded, see :meth:`ActionDelay.push`). Returns the task's (reward [N], info)."""
        return self.task.step(self.delay.push(action, ignored))

    def seed(self, seed) -> None:
        if seed is not None:
            self.generator.manual_seed(int(seed))

    def check_action(self, action, shape) -> torch.Tensor:
        """``action`` as a float32 tensor [N, nu] on the simulator's device; ValueError on a wrong shape or NaN/inf."""
        if isinstance(action, torch.Tensor):
            a = action
            finite = bool(torch.isfinite(a).all())
        else:
            a = np.ascontiguousarray(action, dtype=np.float32)  # from_numpy below takes no negative strides
            total = float(a.sum(dtype=np.float64))  # finite exactly when every entry is (float32s cannot overflow it)
            finite = total - total == 0.0
            a = torch.from_numpy(a if a.flags.writeable else a.copy())  # shares memory: no copy on the host
        if tuple(a.shape) != tuple(shape):
            raise ValueError(f"action has shape {list(a.shape)}, expected {list(shape)}")
        if not finite:
            raise ValueError("action contains NaN or inf values")
        if a.device != self.task.model.device or a.dtype != torch.float32:
            a = a.to(device=self.task.model.device, dtype=torch.float32)
        return a.reshape(self.task.num_worlds, -1)

    def set_state(self, qpos, qvel, worlds=None) -> None:
        """Set the simulator state of ``worlds`` (all by default) to ``qpos`` [k, nq] and ``qvel`` [k, nv] (MuJoCo's
        layout), as gymnasium's ``MujocoEnv.set_state``; the action queues of those worlds are emptied."""
        sim = self.task.sim
        idx = sim._world_index(worlds)
        sim.reset(qpos, qvel, worlds=idx)
        self.task.state_changed(idx.cpu())
        self.delay.reset(idx.cpu())

    def randomization_info(self) -> dict:
        return self.randomizer.info(with_visual=self.obs_mode != "state")

    def observe(self):
        """The observation of every world in the env's ``obs_mode`` (numpy unless ``return_torch``)."""
        state = self.task.obs().to(torch.float32)
        noise = self.randomizer.obs_noise
        if noise > 0:
            state = state + noise * torch.randn(state.shape, generator=self.generator).to(state)
        if self.obs_mode == "state":
            out = state
        elif self.obs_mode == "pixels":
            out = self.camera.pixels()
        else:
            out = {"state": state, "pixels": self.camera.pixels()}
        return out if self.return_torch else to_numpy(out)


class CoreAccess:
    """What both env classes expose of their :class:`EnvCore` (``self.core``): the simulator and the env's step as
    a differentiable function."""

    core: EnvCore

    @property
    def sim(self):
        """The :class:`~worldsim.Simulator` of the env's worlds (its tensors share memory with the simulation)."""
        return self.core.task.sim

    def differentiable_step(self, qpos, qvel, action, params=None):
        """The env's dynamics, observation and reward as one torch function of the state (for optimization):
        ``(qpos, qvel, observation, reward)`` after one env step from states [N, nq], [N, nv] under actions
        [N, nu] (N = the number of envs). See :meth:`worldsim.envs.task.Task.differentiable_step`."""
        return self.core.task.differentiable_step(qpos, qvel, action, params)


def to_numpy(x):
    if isinstance(x, dict):
        return {k: to_numpy(v) for k, v in x.items()}
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def index(x, i):
    return {k: v[i] for k, v in x.items()} if isinstance(x, dict) else x[i]
