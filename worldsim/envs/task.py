"""`Task`: a batched RL task on worldsim's simulator (N worlds stepped together), the core shared by the single
Gymnasium env and the native vector env. A task defines its model, spaces, reset distribution, observation,
reward and termination on torch tensors over all worlds at once."""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import spaces

from ..physics.model import Model
from ..physics.simulator import Simulator, fused_default

#: a world whose |qpos| or |qvel| exceeds this, or is not finite, has diverged
DIVERGENCE_LIMIT = 1e4


class Task:
    """Base class. Subclasses set ``frame_skip``, ``horizon`` and implement :meth:`build_model`,
    :meth:`sample_reset` and, as torch functions of the state, :meth:`observation`, :meth:`state_reward` and
    :meth:`is_terminated`; ``obs_size`` and :meth:`action_bounds` define the spaces.

    The state functions take ``qpos`` [..., N, nq] and ``qvel`` [..., N, nv] with any leading dims (a trajectory
    [T, N, ...] as well as one state [N, ...]) and are differentiable, so trajectory optimization
    (:mod:`worldsim.optim`) uses the env's own reward as its cost, and :meth:`differentiable_step` gives the env's
    dynamics, observation and reward as one torch function."""

    frame_skip: int = 1
    horizon: int = 1000
    obs_size: int = 0
    #: constructor kwargs the task takes, with defaults (for a gymnasium twin: that env's v5 kwargs); each becomes
    #: an attribute of the same name
    options: dict = {}
    #: names of the simulator's intermediate arrays (:meth:`Simulator.data`) that the observation or reward reads
    #: (e.g. contact forces): copied into ``self.data`` [N, ...] after every step, and computed by a forward
    #: evaluation (MuJoCo's mj_forward) for worlds whose state is set from outside a step (reset, ``set_state``)
    step_data: tuple[str, ...] = ()
    #: gravity tilt [degrees] of :func:`worldsim.randomization.default_randomization` for this task
    dr_gravity_tilt_deg: float = 0.0
    #: pixel-observation camera: eye and target [m] relative to the origin (or to the root's x when it follows)
    camera_eye: tuple = (0.0, -4.0, 2.4)
    camera_target: tuple = (0.0, 0.0, 0.2)
    camera_follows_root: bool = False
    #: names of per-world tensor attributes [N, ...] that, with the state, define an episode (e.g. a goal)
    episode_context: tuple[str, ...] = ()

    def __init__(self, num_worlds: int, device: str = "cpu", *, fused_step: bool | None = None, **options):
        """``options``: the task's constructor kwargs (:attr:`options`). ``fused_step``: run each physics step as one
        kernel (see :class:`~worldsim.Simulator`); default ``WORLDSIM_FUSED_STEP`` if set, else on for the CPU."""
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            known = ", ".join(sorted(self.options)) or "none"
            raise TypeError(f"{type(self).__name__} got unexpected keyword argument(s) {unknown}; it takes: {known}")
        for name, default in self.options.items():
            setattr(self, name, options.get(name, default))
        self.check_options()
        self.model: Model = self.build_model(num_worlds, device)
        wanted = set(self.step_data)
        self.model.want_body_forces |= bool(wanted & {"cfrc_ext", "cfrc_int", "subtree_com"})
        self.model.want_constraint_forces |= bool(wanted & {"efc_force", "qfrc_constraint"})
        self.num_worlds = num_worlds
        if fused_step is None:
            fused_step = fused_default(default=self.model.device.type == "cpu")
        self.sim = Simulator(self.model, fused=fused_step)
        # views of the simulator's arrays (they persist), and the copies kept per world
        self._data_views = {name: self.sim.data(name) for name in self.step_data}
        self.data: dict[str, torch.Tensor] = {name: view.clone() for name, view in self._data_views.items()}
        self.dt = self.model.timestep * self.frame_skip
        low, high = self.action_bounds()
        self.single_action_space = spaces.Box(low, high, dtype=np.float32)
        self.single_observation_space = spaces.Box(-np.inf, np.inf, shape=(self.obs_size,), dtype=np.float32)
        self._low = torch.as_tensor(low, device=self.model.device)
        self._high = torch.as_tensor(high, device=self.model.device)
        self._qpos_before = torch.zeros_like(self.sim.qpos)
        # numpy views of the state (they share memory with the simulator) for the host's per-step checks
        cpu = self.model.device.type == "cpu"
        self._state_numpy = (self.sim.qpos.numpy(), self.sim.qvel.numpy()) if cpu else None

    # ---- to implement
    def check_options(self) -> None:
        """Validate the constructor kwargs (now attributes); ValueError naming a bad one. Default: frame_skip."""
        if not isinstance(self.frame_skip, int) or self.frame_skip < 1:
            raise ValueError(f"frame_skip must be a positive integer, got {self.frame_skip!r}")

    def build_model(self, num_worlds: int, device: str) -> Model:
        raise NotImplementedError

    def action_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        mjm = self.model.mj_model
        return mjm.actuator_ctrlrange[:, 0].astype(np.float32), mjm.actuator_ctrlrange[:, 1].astype(np.float32)

    def sample_reset(self, count: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def observation(self, qpos: torch.Tensor, qvel: torch.Tensor) -> torch.Tensor:
        """The observation [..., N, obs_size] of states ``qpos`` [..., N, nq], ``qvel`` [..., N, nv]."""
        raise NotImplementedError

    def state_reward(
        self, qpos_before: torch.Tensor, qpos: torch.Tensor, qvel: torch.Tensor, action: torch.Tensor
    ) -> tuple[torch.Tensor, dict]:
        """(reward [..., N], info) of the step from ``qpos_before`` to (``qpos``, ``qvel``) under ``action``
        [..., N, nu] (already clipped to the action space)."""
        raise NotImplementedError

    def is_terminated(self, qpos: torch.Tensor, qvel: torch.Tensor) -> torch.Tensor:
        """bool [..., N]: the states that end an episode (default: none)."""
        return torch.zeros(qpos.shape[:-1], dtype=torch.bool, device=qpos.device)

    # ---- the state functions on the simulator's current state
    def obs(self) -> torch.Tensor:
        return self.observation(self.sim.qpos, self.sim.qvel)

    def reward(self, action: torch.Tensor, before: dict) -> tuple[torch.Tensor, dict]:
        return self.state_reward(before["qpos"], self.sim.qpos, self.sim.qvel, action)

    def terminated(self) -> torch.Tensor:
        return self.is_terminated(self.sim.qpos, self.sim.qvel)

    # ---- shared machinery
    def snapshot(self) -> dict:
        """State before a step, for rewards that need it (e.g. forward velocity from positions): ``{"qpos": [N, nq]}``,
        a buffer that the next step overwrites."""
        self._qpos_before.copy_(self.sim.qpos)
        return {"qpos": self._qpos_before}

    def reset_worlds(self, worlds: torch.Tensor, generator: torch.Generator) -> None:
        if len(worlds):
            qpos, qvel = self.sample_reset(len(worlds), generator)
            self.sim.reset(qpos, qvel, worlds=worlds)
            self.state_changed(worlds)

    def state_changed(self, worlds: torch.Tensor) -> None:
        """Called after the state of ``worlds`` (int tensor [k]) was set from outside a step (reset,
        ``set_state``): the :attr:`step_data` of those worlds become those of their new state."""
        if self.data and len(worlds):
            self.sim.forward()
            idx = worlds.to(self.model.device)
            for name, kept in self.data.items():
                kept[idx] = self._data_views[name][idx]

    def step(self, action: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Apply ``action`` [N, nu] (clipped to the action space) for ``frame_skip`` steps; (reward [N], info)."""
        with torch.no_grad():  # nothing here is differentiated (see differentiable_step): skip autograd's work
            before = self.snapshot()
            ctrl = self.clip_action(action)
            self.sim.ctrl.copy_(ctrl)  # checked by the env (shape, NaN): the simulator's own check is skipped
            self.sim.step(steps=self.frame_skip)
            for name, kept in self.data.items():
                kept.copy_(self._data_views[name])
            return self.reward(ctrl, before)

    def clip_action(self, action: torch.Tensor) -> torch.Tensor:
        """``action`` [..., nu] clipped to the action space (differentiable inside the bounds)."""
        return torch.clamp(action, self._low, self._high)

    def differentiable_step(
        self, qpos: torch.Tensor, qvel: torch.Tensor, action: torch.Tensor, params: dict | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The env's step as a torch function of state and action, for optimization users: from states
        ``qpos`` [N, nq], ``qvel`` [N, nv] apply ``action`` [N, nu] (clipped) for ``frame_skip`` physics steps.

        Returns ``(qpos, qvel, observation, reward)`` after the step ([N, nq], [N, nv], [N, obs_size], [N]), all
        differentiable w.r.t. the inputs and ``params`` (overrides of the parameter table, as
        :func:`worldsim.rollout`). The task's simulator state is not touched. Tasks whose observation is not a
        function of the state (pixels) are not covered: this returns the state observation."""
        from ..physics.rollout import rollout

        ctrl = self.clip_action(action)
        q, v = rollout(self.model, qpos, qvel, ctrl[None].expand(self.frame_skip, -1, -1), params)[:2]
        reward, _ = self.state_reward(qpos, q[-1], v[-1], ctrl)
        return q[-1], v[-1], self.observation(q[-1], v[-1]), reward

    def diverged(self) -> torch.Tensor:
        """bool [N]: worlds whose state is not finite or exceeds :data:`DIVERGENCE_LIMIT` (NaN fails ``<=``)."""
        if self._state_numpy is not None:  # on the host numpy's reductions cost a fraction of torch's per call
            q, v = self._state_numpy
            return torch.from_numpy(~(np.maximum(np.abs(q).max(1), np.abs(v).max(1)) <= DIVERGENCE_LIMIT))
        q, v = self.sim.qpos, self.sim.qvel
        return ~(torch.maximum(q.abs().amax(1), v.abs().amax(1)) <= DIVERGENCE_LIMIT)


def finite_states(qpos: torch.Tensor, qvel: torch.Tensor) -> torch.Tensor:
    """bool [...]: whether every entry of ``qpos`` [..., nq] and ``qvel`` [..., nv] is finite (a sum is finite
    exactly when its terms are, short of overflow; s - s is 0 only for a finite s). Cheaper than ``isfinite``."""
    s = qpos.sum(-1) + qvel.sum(-1)
    return (s - s) == 0


def uniform(shape, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(shape, generator=generator)
