"""`Simulator`: the fast stateful path for environments (no gradients, no tape, no per-step allocations)."""

from __future__ import annotations

import numpy as np
import torch
import warp as wp

from .checks import as_state_tensor
from .model import Model
from .step import ParallelStep, StepWorkspace, params_to_warp


class Simulator:
    """Steps all worlds of a :class:`Model` in place.

    ``qpos`` [N, nq] and ``qvel`` [N, nv] are torch tensors that share memory with the simulator's Warp
    state (no copies on CPU or CUDA): they always show the current state, and writing to them changes it.
    Parameters are read from ``model.get_params()`` at every step, so ``model.set_params`` takes effect at once.
    On CPU the worlds are split over ``num_threads`` threads (default: ``WORLDSIM_NUM_THREADS`` or every core,
    at most one per 16 worlds).

    Example::

        sim = worldsim.Simulator(model)
        sim.reset()
        for _ in range(100):
            sim.step(torch.zeros(model.num_worlds, model.nu))
        print(sim.qpos)
    """

    def __init__(self, model: Model, *, num_threads: int | None = None):
        self.model = model
        dev = model.wp_device
        n = model.num_worlds
        self._qpos = wp.zeros((n, max(model.nq, 1)), dtype=wp.float32, device=dev)
        self._qvel = wp.zeros((n, max(model.nv, 1)), dtype=wp.float32, device=dev)
        self._ctrl = wp.zeros((n, max(model.nu, 1)), dtype=wp.float32, device=dev)
        self.qpos = wp.to_torch(self._qpos)[:, : model.nq]
        self.qvel = wp.to_torch(self._qvel)[:, : model.nv]
        self.ctrl = wp.to_torch(self._ctrl)[:, : model.nu]
        self._ws = StepWorkspace(model)
        # the parameter tensors are persistent (set_params copies into them), so their views are made once
        self._step = ParallelStep(
            model, self._ws, params_to_warp(model.get_params()), self._qpos, self._qvel, self._ctrl, self._qpos,
            self._qvel, num_threads,
        )  # fmt: skip
        self.time = torch.zeros(n, dtype=torch.float64)
        self.reset()

    def reset(self, qpos=None, qvel=None, worlds=None) -> None:
        """Reset the selected worlds (all by default) to ``qpos``/``qvel`` (default: ``qpos0`` and zero).

        Args:
            qpos: [k, nq] (or [nq], used for every selected world), k the number of selected worlds.
            qvel: [k, nv] or [nv].
            worlds: indices (int tensor/array/list) or a boolean mask [N] of the worlds to reset.
        """
        m = self.model
        idx = self._world_index(worlds)
        k = len(idx)
        q0, v0 = m.default_state()
        qpos = q0[:k] if qpos is None else qpos
        qvel = v0[:k] if qvel is None else qvel
        qpos = self._per_world("qpos", qpos, k, m.nq)
        qvel = self._per_world("qvel", qvel, k, m.nv)
        self.qpos[idx] = qpos
        self.qvel[idx] = qvel
        self.ctrl[idx] = 0.0
        self.time[idx.cpu()] = 0.0

    def step(self, ctrl=None, *, steps: int = 1) -> None:
        """Advance every world by ``steps`` × ``model.timestep`` holding controls ``ctrl`` [N, nu] (default: the
        previous controls; zero after a reset). Several steps in one call save the per-call overhead (an env's
        frame skip)."""
        m = self.model
        if not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps must be a positive integer, got {steps!r}")
        if ctrl is not None:
            self.ctrl.copy_(as_state_tensor("ctrl", ctrl, (m.num_worlds, m.nu), m.device))
        self._step(m.timestep / m.substeps, m.substeps * steps)
        self.time += m.timestep * steps

    def _world_index(self, worlds) -> torch.Tensor:
        n = self.model.num_worlds
        if worlds is None:
            return torch.arange(n, device=self.model.device)
        w = torch.as_tensor(np.asarray(worlds) if not isinstance(worlds, torch.Tensor) else worlds)
        if w.dtype == torch.bool:
            if w.shape != (n,):
                raise ValueError(f"worlds mask has shape {list(w.shape)}, expected [{n}]")
            w = torch.nonzero(w).flatten()
        w = w.long().flatten()
        if len(w) and (w.min() < 0 or w.max() >= n):
            raise ValueError(f"worlds indices must be in [0, {n}), got {w.tolist()}")
        return w.to(self.model.device)

    def _per_world(self, name: str, x, k: int, size: int) -> torch.Tensor:
        t = torch.as_tensor(x, dtype=torch.float32) if not isinstance(x, torch.Tensor) else x
        if t.ndim == 1:
            t = as_state_tensor(name, t, (size,), self.model.device).expand(k, size)
        return as_state_tensor(name, t, (k, size), self.model.device)
