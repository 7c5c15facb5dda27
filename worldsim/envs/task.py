"""`Task`: a batched RL task on worldsim's simulator (N worlds stepped together), the core shared by the single
Gymnasium env and the native vector env. A task defines its model, spaces, reset distribution, observation,
reward and termination on torch tensors over all worlds at once."""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import spaces

from ..physics.model import Model
from ..physics.simulator import Simulator

#: a world whose |qpos| or |qvel| exceeds this, or is not finite, has diverged
DIVERGENCE_LIMIT = 1e4


class Task:
    """Base class. Subclasses set ``frame_skip``, ``horizon`` and implement :meth:`build_model`, :meth:`obs`,
    :meth:`reward` (returning (reward [N], info dict)), :meth:`terminated` and :meth:`sample_reset`; ``obs_size``
    and ``action_low``/``action_high`` (numpy, float32) define the spaces."""

    frame_skip: int = 1
    horizon: int = 1000
    obs_size: int = 0
    #: pixel-observation camera: eye and target [m] relative to the origin (or to the root's x when it follows)
    camera_eye: tuple = (0.0, -4.0, 2.4)
    camera_target: tuple = (0.0, 0.0, 0.2)
    camera_follows_root: bool = False

    def __init__(self, num_worlds: int, device: str = "cpu"):
        self.model: Model = self.build_model(num_worlds, device)
        self.num_worlds = num_worlds
        self.sim = Simulator(self.model)
        self.dt = self.model.timestep * self.frame_skip
        low, high = self.action_bounds()
        self.single_action_space = spaces.Box(low, high, dtype=np.float32)
        self.single_observation_space = spaces.Box(-np.inf, np.inf, shape=(self.obs_size,), dtype=np.float32)
        self._low = torch.as_tensor(low, device=self.model.device)
        self._high = torch.as_tensor(high, device=self.model.device)

    # ---- to implement
    def build_model(self, num_worlds: int, device: str) -> Model:
        raise NotImplementedError

    def action_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        mjm = self.model.mj_model
        return mjm.actuator_ctrlrange[:, 0].astype(np.float32), mjm.actuator_ctrlrange[:, 1].astype(np.float32)

    def sample_reset(self, count: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def obs(self) -> torch.Tensor:
        raise NotImplementedError

    def reward(self, action: torch.Tensor, before: dict) -> tuple[torch.Tensor, dict]:
        raise NotImplementedError

    def terminated(self) -> torch.Tensor:
        return torch.zeros(self.num_worlds, dtype=torch.bool, device=self.model.device)

    # ---- shared machinery
    def snapshot(self) -> dict:
        """State before a step, for rewards that need it (e.g. forward velocity from positions)."""
        return {"qpos": self.sim.qpos.clone()}

    def reset_worlds(self, worlds: torch.Tensor, generator: torch.Generator) -> None:
        if len(worlds):
            qpos, qvel = self.sample_reset(len(worlds), generator)
            self.sim.reset(qpos, qvel, worlds=worlds)

    def step(self, action: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Apply ``action`` [N, nu] (clipped to the action space) for ``frame_skip`` steps; (reward [N], info)."""
        before = self.snapshot()
        ctrl = torch.maximum(torch.minimum(action, self._high), self._low)
        self.sim.step(ctrl, steps=self.frame_skip)
        return self.reward(ctrl, before)

    def diverged(self) -> torch.Tensor:
        q, v = self.sim.qpos, self.sim.qvel
        bad = ~torch.isfinite(q).all(1) | ~torch.isfinite(v).all(1)
        return bad | (q.abs().amax(1) > DIVERGENCE_LIMIT) | (v.abs().amax(1) > DIVERGENCE_LIMIT)


def uniform(shape, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(shape, generator=generator)
