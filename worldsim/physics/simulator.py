"""`Simulator`: the fast stateful path for environments (no gradients, no tape, no per-step allocations)."""

from __future__ import annotations

import os

import numpy as np
import torch
import warp as wp

from .checks import as_state_tensor
from .model import Model
from .step import ParallelStep, State, StepWorkspace, params_to_warp


def fused_default(default: bool = False) -> bool:
    """``WORLDSIM_FUSED_STEP`` (``"0"`` or ``"1"``) if set, else ``default``."""
    value = os.environ.get("WORLDSIM_FUSED_STEP")
    if value is None:
        return default
    if value not in ("0", "1"):
        raise ValueError(f"WORLDSIM_FUSED_STEP must be 0 or 1, got {value!r}")
    return value == "1"


class Simulator:
    """Steps all worlds of a :class:`Model` in place.

    ``qpos`` [N, nq], ``qvel`` [N, nv], ``act`` [N, na] (actuator activations) and ``ctrl`` [N, nu] are torch
    tensors that share memory with the simulator's Warp state (no copies on CPU or CUDA): they always show the
    current state, and writing to them changes it. ``sensordata`` [N, nsensordata] (MuJoCo's layout) and
    ``energy`` [N, 2] (potential, kinetic; with ``<flag energy="enable"/>``) hold, as after ``mujoco.mj_step``, the
    values of the state the last step started from. Translations are integrated with compensated sums (see
    :mod:`worldsim.physics.integrator`); a position written into ``qpos`` directly keeps the previous position's
    sub-float32 remainder until the next :meth:`reset` of that world (at most half a float32 ulp). Parameters are
    read from ``model.get_params()`` at every step, so ``model.set_params`` takes effect at once. On CPU the worlds
    are split over ``num_threads`` threads (default: ``WORLDSIM_NUM_THREADS`` or every core, at most one per 16 worlds).

    ``fused=True`` runs each step (all its substeps) as one kernel per thread instead of one launch per stage (see
    :mod:`worldsim.physics.fused`): the same results bit for bit, ~10-30x faster for a few worlds on the CPU, where
    each launch costs more than a small world's work; the fused kernel is compiled once per model layout (10 s to
    a minute or two, then cached on disk with Warp's kernels). Default: ``WORLDSIM_FUSED_STEP`` (0 or 1) if set,
    else off (the Gymnasium envs turn it on for the CPU).

    Example::

        sim = worldsim.Simulator(model)
        sim.reset()
        for _ in range(100):
            sim.step(torch.zeros(model.num_worlds, model.nu))
        print(sim.qpos)
    """

    def __init__(self, model: Model, *, num_threads: int | None = None, fused: bool | None = None):
        self.model = model
        self.fused = fused_default() if fused is None else bool(fused)
        self._state = State(model)
        self.qpos = wp.to_torch(self._state.qpos)[:, : model.nq]
        self.qvel = wp.to_torch(self._state.qvel)[:, : model.nv]
        self.act = wp.to_torch(self._state.act)[:, : model.na]
        self.ctrl = wp.to_torch(self._state.ctrl)[:, : model.nu]
        self._qpos_err = wp.to_torch(self._state.qpos_err)[:, : model.nq]
        self._ws = StepWorkspace(model)
        self._warmstart = wp.to_torch(self._ws.qacc_warmstart)
        # the parameter tensors are persistent (set_params copies into them), so their views are made once
        self.time = torch.zeros(model.num_worlds, dtype=torch.float64, device=model.device)
        sensors = model.nsensor > 0 or model.opt.is_enabled("energy")
        # the clock advances inside each step (MuJoCo's d->time; the clock sensor reads it)
        self._step = ParallelStep(model, self._ws, params_to_warp(model.get_params()), self._state, self._state,
                                  num_threads, sensors=sensors, extra={"time": wp.from_torch(self.time)},
                                  fused=self.fused)  # fmt: skip
        self.sensordata = wp.to_torch(self._ws.stages[0].sensordata)[:, : model.nsensordata]
        self.energy = wp.to_torch(self._ws.stages[0].energy)
        self.reset()

    def forward(self) -> None:
        """MuJoCo's ``mj_forward``: compute every intermediate array (:meth:`data`, ``sensordata``) at the current
        state of every world, without stepping; the state, the clock and the solver's warm start are unchanged.
        Gymnasium's ``MujocoEnv.set_state`` does this after setting a state."""
        self._step.evaluate()

    def data(self, name: str) -> torch.Tensor:
        """A view [N, ...] of an intermediate array of the last step, as ``mujoco.MjData``'s field of that name
        after ``mujoco.mj_step`` (e.g. ``"qfrc_actuator"``, ``"cvel"``, ``"ten_length"``; the list and units are
        :data:`worldsim.physics.data.DATA_SPECS` and the sensors' ``SENSOR_DATA_SPECS``). Like MuJoCo's, the values
        are those of the last force evaluation of the step: the state the step started from (Euler), or RK4's
        fourth stage; after :meth:`reset` they stay the previous step's until :meth:`forward`.

        Computed only on request, set on the model before the simulator is made: ``efc_force`` and
        ``qfrc_constraint`` with ``model.want_constraint_forces``; ``cfrc_ext``, ``cfrc_int`` and ``subtree_com``
        (MuJoCo's mj_rnePostConstraint, which gymnasium calls after every step) with ``model.want_body_forces``,
        otherwise the sensors' values of the first evaluation when the model's sensors need them. Spatial vectors
        are about (positions relative to) each tree's origin, see :mod:`worldsim.physics.sensors`."""
        from .data import DATA_SPECS, _all_specs

        specs = _all_specs()
        if name not in specs:
            raise ValueError(f"unknown data field {name!r}; known: {sorted(specs)}")
        body_force = name in ("cfrc_ext", "cfrc_int", "subtree_com") and self.model.want_body_forces
        stage = self._ws.stages[-1] if name in DATA_SPECS or body_force else self._ws.stages[0]
        return wp.to_torch(getattr(stage, name))

    @property
    def contacts_dropped(self) -> torch.Tensor:
        """Per world, how many contacts did not fit in ``model.nconmax`` since the simulator was made [N]."""
        return wp.to_torch(self._ws.stages[0].ncon_dropped)[:, 0].clone()

    @property
    def ncon(self) -> torch.Tensor:
        """Per world, the number of contacts in the last step's (first) force evaluation [N]."""
        return wp.to_torch(self._ws.stages[0].ncon)[:, 0].clone()

    def reset(self, qpos=None, qvel=None, worlds=None, *, act=None) -> None:
        """Reset the selected worlds (all by default) to ``qpos``/``qvel``/``act`` (default: ``qpos0``, zero).

        Args:
            qpos: [k, nq] (or [nq], used for every selected world), k the number of selected worlds.
            qvel: [k, nv] or [nv].
            worlds: indices (int tensor/array/list) or a boolean mask [N] of the worlds to reset.
            act: [k, na] or [na] actuator activations.
        """
        m = self.model
        idx = self._world_index(worlds)
        k = len(idx)
        q0, v0 = m.default_state()
        qpos = q0[:k] if qpos is None else qpos
        qvel = v0[:k] if qvel is None else qvel
        act = torch.zeros(k, m.na) if act is None else act
        self.qpos[idx] = self._per_world("qpos", qpos, k, m.nq)
        self._qpos_err[idx] = 0.0
        self.qvel[idx] = self._per_world("qvel", qvel, k, m.nv)
        self.act[idx] = self._per_world("act", act, k, m.na)
        self.ctrl[idx] = 0.0
        self._warmstart[idx] = 0.0
        self.time[idx] = 0.0

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
