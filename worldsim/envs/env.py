"""`WorldsimEnv`: one world of a task as a ``gymnasium.Env``. Observations are state vectors, splat-rendered
pixels, or both (see :mod:`worldsim.envs.core`)."""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import Env

from .core import CoreAccess, EnvCore, index, to_numpy


class WorldsimEnv(CoreAccess, Env):
    """One world of a task as a ``gymnasium.Env`` (``gymnasium.make("worldsim/<Task>-v0")``). The time limit comes
    from the registration's ``max_episode_steps``; a diverged state is truncated with ``info["diverged"]``.

    Keyword arguments besides the env's own go to the task: the v5 constructor kwargs of its gymnasium twin
    (``gymnasium.make("worldsim/HalfCheetah-v0", ctrl_cost_weight=0.05)``). ``width``/``height`` size the pixel
    observations and ``render()`` (pixels). State access as ``MujocoEnv``: :attr:`qpos` [nq], :attr:`qvel` [nv]
    (copies, MuJoCo's layout), :meth:`set_state`, and :attr:`sim` (the :class:`~worldsim.Simulator`).
    ``fused_step`` (default: on for the CPU) runs each physics step as one kernel, see :class:`~worldsim.Simulator`:
    the first step of a task compiles it (10 s to 1-2 min once, then cached with Warp's kernels).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 25}

    def __init__(self, task: str | type = "CartPole", *, obs_mode: str = "state", render_mode: str | None = None,
                 width: int = 64, height: int = 64, device: str = "cpu", randomization=None,
                 fused_step: bool | None = None, **task_kwargs):  # fmt: skip
        self.core = EnvCore(task, 1, obs_mode=obs_mode, render_mode=render_mode, width=width, height=height,
                            device=device, randomization=randomization, task_kwargs=task_kwargs,
                            fused_step=fused_step)  # fmt: skip
        self.render_mode = render_mode
        self.observation_space = self.core.single_observation_space
        self.action_space = self.core.single_action_space
        self.metadata = {**self.metadata, "render_fps": int(round(1.0 / self.core.task.dt))}

    # ---- state access
    @property
    def qpos(self) -> np.ndarray:
        """Positions [nq] (MuJoCo's layout), a copy."""
        return self.sim.qpos[0].detach().cpu().numpy().copy()

    @property
    def qvel(self) -> np.ndarray:
        """Velocities [nv], a copy."""
        return self.sim.qvel[0].detach().cpu().numpy().copy()

    def set_state(self, qpos, qvel) -> None:
        """Set the state to ``qpos`` [nq], ``qvel`` [nv], as ``MujocoEnv.set_state``. The next ``step`` starts from
        it; :meth:`observe` gives its observation. Shapes and values are checked by :meth:`Simulator.reset`."""
        self.core.set_state(np.asarray(qpos, dtype=np.float32)[None], np.asarray(qvel, dtype=np.float32)[None])

    def observe(self):
        """The observation of the current state (what ``reset``/``step`` would return)."""
        return index(self.core.observe(), 0)

    # ---- gymnasium API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.core.seed(seed)
        self.core.reset_worlds(torch.arange(1))
        return self.observe(), self.core.randomization_info()

    def step(self, action):
        task = self.core.task
        a = self.core.check_action(action, self.action_space.shape)
        reward, info = self.core.step(a)
        diverged = bool(task.diverged()[0])
        terminated = bool(task.terminated()[0]) and not diverged
        if diverged:
            self.core.reset_worlds(torch.arange(1))
        info = {k: to_numpy(v)[0] for k, v in info.items()}
        info["diverged"] = diverged
        info.update(self.core.randomization_info())
        r = 0.0 if diverged else float(reward[0])
        return self.observe(), r, terminated, diverged, info

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        return self.core.camera.pixels()[0].cpu().numpy()
