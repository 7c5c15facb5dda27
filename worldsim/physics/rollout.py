"""`rollout`: a differentiable multi-step simulation for torch users.

Forward runs the fast in-place step (no tape). Backward walks the trajectory in reverse: for each step it
re-runs that one step from the stored state and then its adjoint kernels (recorded once, like a ``wp.Tape`` that
can run chunks of worlds in parallel threads). The returned
trajectory doubles as the checkpoint store, so memory is the trajectory itself plus one step's intermediates,
whatever the horizon (no tape over the whole rollout is ever kept).
"""

from __future__ import annotations

import torch
import warp as wp

from .checks import as_state_tensor
from .model import Model
from .params import PARAM_SPECS
from .step import ParallelStep, StepWorkspace, param_to_warp, params_to_warp

PARAM_NAMES = tuple(PARAM_SPECS)


def rollout(
    model: Model,
    qpos0: torch.Tensor,
    qvel0: torch.Tensor,
    ctrl: torch.Tensor,
    params: dict[str, torch.Tensor] | None = None,
    *,
    grad_clip: float | None = None,
    grad_window: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Simulate T steps of all N worlds and return the states after each step.

    Args:
        model: the :class:`Model` to simulate.
        qpos0: initial positions [N, nq] (MuJoCo's qpos layout).
        qvel0: initial velocities [N, nv].
        ctrl: controls [T, N, nu] applied at each step (clamped to ``ctrlrange`` as MuJoCo does).
        params: optional overrides of the per-world parameter table, ``{name: tensor}`` with the shapes of
            ``model.get_params()`` (or shapes that broadcast to them). Entries not given come from the model.

    Returns:
        ``(qpos, qvel)`` of shapes [T, N, nq] and [T, N, nv]: the state after steps 1..T.
        Differentiable w.r.t. ``qpos0``, ``qvel0``, ``ctrl`` and every parameter tensor that requires grad
        (including the model's own when it was loaded with ``requires_grad=True``).

    Gradient options for long horizons (they change only the backward pass, and make it a biased estimate):
        grad_clip: clip, per world and after every step, the norm of the adjoint state (d loss / d (qpos, qvel))
            to this value, so exploding sensitivities (chaotic contact sequences) cannot overflow.
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
    return _Rollout.apply(model, (grad_clip, grad_window), qpos0, qvel0, ctrl, *plist)


class _StepBuffers:
    """Padded Warp state arrays (a model may have nu = 0) with torch views of their valid part."""

    def __init__(self, model: Model, requires_grad: bool):
        n, dev = model.num_worlds, model.wp_device

        def make(size):
            a = wp.zeros((n, max(size, 1)), dtype=wp.float32, device=dev, requires_grad=requires_grad)
            return a, wp.to_torch(a)[:, :size], (wp.to_torch(a.grad)[:, :size] if requires_grad else None)

        self.q_in, self.tq_in, self.gq_in = make(model.nq)
        self.v_in, self.tv_in, self.gv_in = make(model.nv)
        self.u, self.tu, self.gu = make(model.nu)
        self.q_out, self.tq_out, self.gq_out = make(model.nq)
        self.v_out, self.tv_out, self.gv_out = make(model.nv)


def _workspace(model: Model, requires_grad: bool) -> tuple[StepWorkspace, _StepBuffers]:
    key = ("rollout", requires_grad)
    if key not in model._workspaces:
        model._workspaces[key] = (StepWorkspace(model, requires_grad), _StepBuffers(model, requires_grad))
    return model._workspaces[key]


class _Rollout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, model: Model, grad_options, qpos0, qvel0, ctrl, *params):
        horizon = ctrl.shape[0]
        ws, buf = _workspace(model, requires_grad=False)
        wparams = params_to_warp(dict(zip(PARAM_NAMES, params, strict=True)))
        h = model.timestep / model.substeps
        qpos = torch.empty(horizon, model.num_worlds, model.nq, device=model.device)
        qvel = torch.empty(horizon, model.num_worlds, model.nv, device=model.device)
        buf.tq_in.copy_(qpos0)
        buf.tv_in.copy_(qvel0)
        step = ParallelStep(model, ws, wparams, buf.q_in, buf.v_in, buf.u, buf.q_in, buf.v_in)
        for t in range(horizon):
            buf.tu.copy_(ctrl[t])
            step(h, model.substeps)
            qpos[t] = buf.tq_in
            qvel[t] = buf.tv_in
        ctx.model = model
        ctx.grad_clip, ctx.grad_window = grad_options
        ctx.save_for_backward(qpos0, qvel0, ctrl, qpos, qvel, *params)
        return qpos, qvel

    @staticmethod
    def backward(ctx, grad_qpos, grad_qvel):
        model: Model = ctx.model
        qpos0, qvel0, ctrl, qpos, qvel, *params = ctx.saved_tensors
        horizon = ctrl.shape[0]
        h = model.timestep / model.substeps
        ws, buf = _workspace(model, requires_grad=True)
        param_grads = [torch.zeros_like(p) for p in params]
        wparams = {
            name: param_to_warp(name, p, grad=g) for name, p, g in zip(PARAM_NAMES, params, param_grads, strict=True)
        }
        # forward and adjoint launches recorded once, run per chunk of worlds in parallel
        step = ParallelStep(model, ws, wparams, buf.q_in, buf.v_in, buf.u, buf.q_out, buf.v_out, adjoint=True)
        grad_ctrl = torch.zeros_like(ctrl)
        adj_q = torch.zeros_like(qpos0)
        adj_v = torch.zeros_like(qvel0)
        for t in range(horizon - 1, -1, -1):
            if ctx.grad_window is not None and (horizon - 1 - t) % ctx.grad_window == 0:
                adj_q = torch.zeros_like(adj_q)  # truncation: a new window starts
                adj_v = torch.zeros_like(adj_v)
            if grad_qpos is not None:
                adj_q = adj_q + grad_qpos[t]
            if grad_qvel is not None:
                adj_v = adj_v + grad_qvel[t]
            buf.tu.copy_(ctrl[t])
            # states at the start of each substep, recomputed forward
            starts = [(qpos0, qvel0) if t == 0 else (qpos[t - 1], qvel[t - 1])]
            for _ in range(model.substeps - 1):
                buf.tq_in.copy_(starts[-1][0])
                buf.tv_in.copy_(starts[-1][1])
                step(h)
                starts.append((buf.tq_out.clone(), buf.tv_out.clone()))
            for q_s, v_s in reversed(starts):
                buf.tq_in.copy_(q_s)
                buf.tv_in.copy_(v_s)
                for g in (buf.gq_in, buf.gv_in, buf.gu):
                    g.zero_()
                ws.zero_accumulated_grad()
                buf.gq_out.copy_(adj_q)
                buf.gv_out.copy_(adj_v)
                step.forward_backward(h)
                adj_q = buf.gq_in.clone()
                adj_v = buf.gv_in.clone()
                grad_ctrl[t] += buf.gu
                if ctx.grad_clip is not None:
                    norm = torch.sqrt(adj_q.square().sum(1, keepdim=True) + adj_v.square().sum(1, keepdim=True))
                    scale = torch.clamp(ctx.grad_clip / (norm + 1e-30), max=1.0)
                    adj_q, adj_v = adj_q * scale, adj_v * scale
        return (None, None, adj_q, adj_v, grad_ctrl, *param_grads)
