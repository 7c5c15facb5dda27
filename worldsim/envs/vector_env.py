"""`WorldsimVectorEnv`: the native batched ``gymnasium.vector.VectorEnv``, all worlds in one simulator call."""

from __future__ import annotations

import numpy as np
import torch
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from .core import CoreAccess, EnvCore, index, to_numpy


class WorldsimVectorEnv(CoreAccess, VectorEnv):
    """N worlds of a task stepped in one simulator call (``gymnasium.make_vec("worldsim/<Task>-v0", num_envs=N)``).

    Autoreset as gymnasium defines it: ``NEXT_STEP`` (default; a finished world is reset on the next ``step``,
    whose action it ignores, returning the reset observation with reward 0) or ``SAME_STEP`` (reset at once; the
    last observation goes in ``info["final_obs"]``). ``reset(options={"reset_mask": mask})`` resets some worlds.
    A world whose state becomes non-finite or explodes is truncated, reset at once and flagged in
    ``info["diverged"]``: observations never contain NaN. ``return_torch=True`` returns torch tensors on the
    simulator's device (no copy to the host). ``randomization`` (None, ``"default"``, a
    :class:`~worldsim.randomization.DomainRandomization` or an ``AutomaticDomainRandomization``) is resampled
    per world at every reset, with the values in ``info["randomization"]``. Other keyword arguments go to the
    task: the v5 constructor kwargs of its gymnasium twin (``ctrl_cost_weight=``, ``frame_skip=``, ...).
    ``fused_step`` (default: on for the CPU) runs each physics step as one kernel, see :class:`~worldsim.Simulator`.

    State access: :attr:`qpos` [N, nq] and :attr:`qvel` [N, nv] (MuJoCo's layout; copies), :meth:`set_state`,
    and :attr:`sim` (the :class:`~worldsim.Simulator`, whose tensors share memory with the simulation).
    """

    metadata = {"render_modes": ["rgb_array"], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        task: str | type = "CartPole",
        num_envs: int = 1,
        *,
        obs_mode: str = "state",
        render_mode: str | None = None,
        width: int = 64,
        height: int = 64,
        device: str = "cpu",
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        max_episode_steps: int | None = None,
        return_torch: bool = False,
        randomization=None,
        fused_step: bool | None = None,
        **task_kwargs,
    ):
        self.core = EnvCore(task, num_envs, obs_mode=obs_mode, render_mode=render_mode, width=width, height=height,
                            device=device, return_torch=return_torch, randomization=randomization,
                            task_kwargs=task_kwargs, fused_step=fused_step)  # fmt: skip
        self.autoreset_mode = AutoresetMode(autoreset_mode)
        if self.autoreset_mode == AutoresetMode.DISABLED:
            raise ValueError("autoreset_mode DISABLED is not supported; use NEXT_STEP or SAME_STEP")
        self.metadata = {**self.metadata, "autoreset_mode": self.autoreset_mode,
                         "render_fps": int(round(1.0 / self.core.task.dt))}  # fmt: skip
        self.num_envs = num_envs
        self.render_mode = render_mode
        self.horizon = max_episode_steps or self.core.task.horizon
        self.single_observation_space = self.core.single_observation_space
        self.single_action_space = self.core.single_action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._elapsed = torch.zeros(num_envs, dtype=torch.long)
        self._needs_reset = torch.zeros(num_envs, dtype=torch.bool)

    # ---- state access
    @property
    def qpos(self):
        """Positions [N, nq] of every world (MuJoCo's layout), a copy."""
        q = self.sim.qpos.clone()
        return q if self.core.return_torch else q.cpu().numpy()

    @property
    def qvel(self):
        """Velocities [N, nv] of every world, a copy."""
        v = self.sim.qvel.clone()
        return v if self.core.return_torch else v.cpu().numpy()

    def set_state(self, qpos, qvel, worlds=None) -> None:
        """Set ``qpos`` [k, nq] and ``qvel`` [k, nv] of ``worlds`` (indices or a bool mask [N]; all by default).
        The next ``step`` starts from it; call :meth:`observe` for the observation of the new state."""
        self.core.set_state(qpos, qvel, worlds)

    def observe(self):
        """The observation of the current state of every world (what ``reset``/``step`` would return)."""
        return self.core.observe()

    # ---- gymnasium API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.core.seed(seed)
        mask = (options or {}).get("reset_mask")
        if mask is None:
            worlds = torch.arange(self.num_envs)
        else:
            mask = torch.as_tensor(np.asarray(mask), dtype=torch.bool)
            if mask.shape != (self.num_envs,):
                raise ValueError(f"reset_mask has shape {list(mask.shape)}, expected [{self.num_envs}]")
            worlds = torch.nonzero(mask).flatten()
        self.core.reset_worlds(worlds)
        self._elapsed[worlds] = 0
        self._needs_reset[worlds] = False
        return self.core.observe(), self.core.randomization_info()

    def step(self, actions):
        task = self.core.task
        a = self.core.check_action(actions, self.action_space.shape)
        resetting = (
            torch.nonzero(self._needs_reset).flatten() if self.autoreset_mode == AutoresetMode.NEXT_STEP else None
        )
        if resetting is not None and len(resetting):
            self.core.reset_worlds(resetting)
            kept = (task.sim.qpos[resetting].clone(), task.sim.qvel[resetting].clone())
        reward, info = self.core.step(a, ignored=resetting)
        self._elapsed += 1
        terminated = task.terminated().cpu()
        truncated = self._elapsed >= self.horizon
        diverged = task.diverged().cpu()
        terminated &= ~diverged
        truncated |= diverged
        reward = torch.where(diverged.to(reward.device), torch.zeros_like(reward), reward)
        if diverged.any():  # never hand out a NaN: those worlds restart now
            self.core.reset_worlds(torch.nonzero(diverged).flatten())
        if resetting is not None and len(resetting):
            task.sim.reset(kept[0], kept[1], worlds=resetting)  # the reset step ignores the action
            task.state_changed(resetting)
            reward[resetting.to(reward.device)] = 0.0
            terminated[resetting] = False
            truncated[resetting] = False
            diverged[resetting] = False
            self._elapsed[resetting] = 0
        done = terminated | truncated
        # copies: a task's info may view the simulator's arrays (x_position), which later steps and resets overwrite
        info = {k: v.clone() if self.core.return_torch else to_numpy(v).copy() for k, v in info.items()}
        info["diverged"] = diverged.numpy()
        info.update(self.core.randomization_info())
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            self._needs_reset = done.clone()
            obs = self.core.observe()
        else:
            if done.any():
                final = self.core.observe()
                # an object array filled element by element: np.array(list of equal arrays) would make it 2-D
                info["final_obs"] = np.empty(self.num_envs, dtype=object)
                for i in torch.nonzero(done).flatten().tolist():
                    info["final_obs"][i] = index(final, i)
                info["_final_obs"] = done.numpy()
                worlds = torch.nonzero(done).flatten()
                self.core.reset_worlds(worlds)
                self._elapsed[worlds] = 0
            obs = self.core.observe()
        rew = reward.to(torch.float32)
        out = (rew, terminated, truncated) if self.core.return_torch else (
            rew.cpu().numpy(), terminated.numpy(), truncated.numpy())  # fmt: skip
        return obs, *out, info

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        return self.core.camera.pixels().cpu().numpy()
