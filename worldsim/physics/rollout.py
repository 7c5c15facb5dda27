"""`rollout`: a differentiable multi-step simulation for torch users.

Forward runs the fast in-place step (no tape). Backward walks the trajectory in reverse: for each step it
re-runs that one step from the stored state and then its adjoint kernels (recorded once, like a ``wp.Tape`` that
can run chunks of worlds in parallel threads). The returned trajectory doubles as the checkpoint store, so memory
is the trajectory itself plus one step's intermediates, whatever the horizon (no tape over the whole rollout is
ever kept).

Contacts and limits are solved by MuJoCo's constraint solver; their gradient is the implicit derivative of the
solver's optimality conditions (see :mod:`worldsim.physics.solver`), exact between changes of the active set.
"""

from __future__ import annotations

import torch
import warp as wp

from .checks import as_state_tensor
from .model import Model
from .params import PARAM_SPECS
from .step import ParallelStep, State, StepWorkspace, param_to_warp

PARAM_NAMES = tuple(PARAM_SPECS)


def rollout(
    model: Model,
    qpos0: torch.Tensor,
    qvel0: torch.Tensor,
    ctrl: torch.Tensor,
    params: dict[str, torch.Tensor] | None = None,
    *,
    act0: torch.Tensor | None = None,
    grad_clip: float | None = None,
    grad_window: int | None = None,
):
    """Simulate T steps of all N worlds and return the states after each step.

    Args:
        model: the :class:`Model` to simulate.
        qpos0: initial positions [N, nq] (MuJoCo's qpos layout).
        qvel0: initial velocities [N, nv].
        ctrl: controls [T, N, nu] applied at each step (clamped to ``ctrlrange`` as MuJoCo does).
        params: optional overrides of the per-world parameter table, ``{name: tensor}`` with the shapes of
            ``model.get_params()`` (or shapes that broadcast to them). Entries not given come from the model.
        act0: initial actuator activations [N, na] for models with stateful actuators (default zeros).

    Returns:
        ``(qpos, qvel)`` of shapes [T, N, nq] and [T, N, nv]: the state after steps 1..T; for a model with
        actuator activations (``model.na > 0``) ``(qpos, qvel, act)`` with act [T, N, na].
        Differentiable w.r.t. ``qpos0``, ``qvel0``, ``act0``, ``ctrl`` and every parameter tensor that requires
        grad (including the model's own when it was loaded with ``requires_grad=True``).

    Gradient options for long horizons (they change only the backward pass, and make it a biased estimate):
        grad_clip: clip, per world and after every step, the norm of the adjoint state (d loss / d (qpos, qvel,
            act)) to this value, so exploding sensitivities (chaotic contact sequences) cannot overflow.
        grad_window: truncated back-propagation: the adjoint state is reset every ``grad_window`` steps
            (counted from the end), so a loss term at step t reaches only the controls, states and parameter
            uses of its own window; the initial state gets gradient only from the first window.

    Raises:
        ValueError: a wrong shape, a NaN/inf in any input, or an unknown parameter name.
    """
    n, dev = model.num_worlds, model.device
    if grad_clip is not None and not grad_clip > 0:
        raise ValueError(f"grad_clip must be a positive number or None, got {grad_clip!r}")
    if grad_window is not None and (not isinstance(grad_window, int) or grad_window < 1):
        raise ValueError(f"grad_window must be a positive integer or None, got {grad_window!r}")
    if not isinstance(ctrl, torch.Tensor) or ctrl.ndim != 3:
        shape = list(ctrl.shape) if isinstance(ctrl, torch.Tensor) else type(ctrl).__name__
        raise ValueError(f"ctrl must be a tensor of shape [T, {n}, {model.nu}], got {shape}")
    horizon = ctrl.shape[0]
    if horizon < 1:
        raise ValueError(f"ctrl has shape {list(ctrl.shape)}: the horizon T must be at least 1")
    qpos0 = as_state_tensor("qpos0", qpos0, (n, model.nq), dev, grad_ok=True)
    qvel0 = as_state_tensor("qvel0", qvel0, (n, model.nv), dev, grad_ok=True)
    if act0 is None:
        act0 = torch.zeros(n, model.na, device=dev)
    act0 = as_state_tensor("act0", act0, (n, model.na), dev, grad_ok=True)
    ctrl = as_state_tensor("ctrl", ctrl, (horizon, n, model.nu), dev, grad_ok=True)
    merged = model.get_params()
    for name, value in (params or {}).items():
        if name not in merged:
            raise ValueError(f"unknown parameter {name!r} in params; known: {sorted(merged)}")
        shape = model.param_shape(name)
        v = value if isinstance(value, torch.Tensor) else torch.as_tensor(value, dtype=torch.float32)
        try:
            v = torch.broadcast_to(v.to(device=dev, dtype=torch.float32), shape)
        except RuntimeError:
            raise ValueError(f"params[{name!r}] has shape {list(v.shape)}, expected {list(shape)}") from None
        if not torch.isfinite(v).all():
            raise ValueError(f"params[{name!r}] contains NaN or inf values")
        merged[name] = v
    plist = [merged[k].contiguous() for k in PARAM_NAMES]
    qpos, qvel, act = _Rollout.apply(model, (grad_clip, grad_window), qpos0, qvel0, act0, ctrl, *plist)
    return (qpos, qvel) if model.na == 0 else (qpos, qvel, act)


class _Buffers:
    """Input and output states of one step with torch views of their valid parts (and of their gradients)."""

    def __init__(self, model: Model, requires_grad: bool):
        self.inp = State(model, requires_grad)
        self.out = State(model, requires_grad)
        sizes = {"qpos": model.nq, "qvel": model.nv, "act": model.na, "ctrl": model.nu, "qpos_err": model.nq}
        for side, state in (("in", self.inp), ("out", self.out)):
            for name, arr in state.arrays().items():
                setattr(self, f"{name}_{side}", wp.to_torch(arr)[:, : sizes[name]])
                if requires_grad and arr.grad is not None:
                    setattr(self, f"g{name}_{side}", wp.to_torch(arr.grad)[:, : sizes[name]])


class _RecordedStep:
    """A model's rollout step, recorded once and kept on the model (recording a step's launches costs ~5 ms
    forward and ~10 ms with its adjoint, as much as a 1-world rollout of 50 steps): its workspace, its input and
    output states, and parameter tables that every call copies its parameters into (and, with gradients, reads the
    parameter gradients from)."""

    def __init__(self, model: Model, requires_grad: bool):
        self.ws = StepWorkspace(model, requires_grad)
        self.buf = _Buffers(model, requires_grad)
        table = model.get_params()
        self.params = {name: table[name].detach().clone().contiguous() for name in PARAM_NAMES}
        self.grads = {name: torch.zeros_like(p) for name, p in self.params.items()} if requires_grad else None
        wparams = {name: param_to_warp(name, p, grad=self.grads[name] if requires_grad else None)
                   for name, p in self.params.items()}  # fmt: skip
        # forward only: the step works in place on the input state; with gradients: input -> output (kept apart)
        out = self.buf.out if requires_grad else self.buf.inp
        self.step = ParallelStep(model, self.ws, wparams, self.buf.inp, out, adjoint=requires_grad)

    def load_params(self, params) -> None:
        """Copy ``params`` (tensors in :data:`PARAM_NAMES` order) into the step's table; zero their gradients."""
        with torch.no_grad():
            for name, p in zip(PARAM_NAMES, params, strict=True):
                self.params[name].copy_(p)
            for g in (self.grads or {}).values():
                g.zero_()


def _recorded(model: Model, requires_grad: bool) -> _RecordedStep:
    key = ("rollout", requires_grad)
    if key not in model._workspaces:
        model._workspaces[key] = _RecordedStep(model, requires_grad)
    return model._workspaces[key]


class _Rollout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, model: Model, grad_options, qpos0, qvel0, act0, ctrl, *params):
        horizon = ctrl.shape[0]
        rec = _recorded(model, requires_grad=False)
        rec.load_params(params)
        ws, buf, step = rec.ws, rec.buf, rec.step
        h = model.timestep / model.substeps
        n = model.num_worlds
        qpos = torch.empty(horizon, n, model.nq, device=model.device)
        qvel = torch.empty(horizon, n, model.nv, device=model.device)
        act = torch.empty(horizon, n, model.na, device=model.device)
        buf.qpos_in.copy_(qpos0)
        buf.qvel_in.copy_(qvel0)
        buf.act_in.copy_(act0)
        buf.qpos_err_in.zero_()
        qerr = torch.empty(horizon, n, model.nq, device=model.device)
        wp.to_torch(ws.qacc_warmstart).zero_()
        for t in range(horizon):
            buf.ctrl_in.copy_(ctrl[t])
            step(h, model.substeps)
            qpos[t] = buf.qpos_in
            qvel[t] = buf.qvel_in
            act[t] = buf.act_in
            qerr[t] = buf.qpos_err_in
        ctx.model = model
        ctx.grad_clip, ctx.grad_window = grad_options
        ctx.qerr = qerr  # the compensation remainders, to replay each step exactly (not differentiated)
        ctx.save_for_backward(qpos0, qvel0, act0, ctrl, qpos, qvel, act, *params)
        return qpos, qvel, act

    @staticmethod
    def backward(ctx, grad_qpos, grad_qvel, grad_act):
        model: Model = ctx.model
        qpos0, qvel0, act0, ctrl, qpos, qvel, act, *params = ctx.saved_tensors
        horizon = ctrl.shape[0]
        h = model.timestep / model.substeps
        # forward and adjoint launches recorded once (per model), run per chunk of worlds in parallel
        rec = _recorded(model, requires_grad=True)
        rec.load_params(params)
        ws, buf, step = rec.ws, rec.buf, rec.step
        grad_ctrl = torch.zeros_like(ctrl)
        adj = [torch.zeros_like(qpos0), torch.zeros_like(qvel0), torch.zeros_like(act0)]
        incoming = (grad_qpos, grad_qvel, grad_act)
        trajectory = (qpos, qvel, act, ctx.qerr)
        initial = (qpos0, qvel0, act0, torch.zeros_like(qpos0))
        for t in range(horizon - 1, -1, -1):
            if ctx.grad_window is not None and (horizon - 1 - t) % ctx.grad_window == 0:
                adj = [torch.zeros_like(a) for a in adj]  # truncation: a new window starts
            adj = [a + g[t] if g is not None else a for a, g in zip(adj, incoming, strict=True)]
            buf.ctrl_in.copy_(ctrl[t])
            # states at the start of each substep, recomputed forward
            starts = [tuple(x if t == 0 else traj[t - 1] for x, traj in zip(initial, trajectory, strict=True))]
            for _ in range(model.substeps - 1):
                _load(buf, starts[-1])
                step(h)
                starts.append((buf.qpos_out.clone(), buf.qvel_out.clone(), buf.act_out.clone(),
                               buf.qpos_err_out.clone()))  # fmt: skip
            for start in reversed(starts):
                _load(buf, start)
                for g in (buf.gqpos_in, buf.gqvel_in, buf.gact_in, buf.gctrl_in):
                    g.zero_()
                ws.zero_grad()
                buf.gqpos_out.copy_(adj[0])
                buf.gqvel_out.copy_(adj[1])
                buf.gact_out.copy_(adj[2])
                step.forward_backward(h)
                adj = [buf.gqpos_in.clone(), buf.gqvel_in.clone(), buf.gact_in.clone()]
                grad_ctrl[t] += buf.gctrl_in
                if ctx.grad_clip is not None:
                    norm = torch.sqrt(sum(a.square().sum(1, keepdim=True) for a in adj))
                    scale = torch.clamp(ctx.grad_clip / (norm + 1e-30), max=1.0)
                    adj = [a * scale for a in adj]
        param_grads = [rec.grads[name].clone() for name in PARAM_NAMES]
        return (None, None, *adj, grad_ctrl, *param_grads)


def _load(buf: _Buffers, state: tuple) -> None:
    buf.qpos_in.copy_(state[0])
    buf.qvel_in.copy_(state[1])
    buf.act_in.copy_(state[2])
    buf.qpos_err_in.copy_(state[3])
