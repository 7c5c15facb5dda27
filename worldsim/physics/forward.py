"""Public kinematics for other layers (renderers, envs, metrics): body poses from ``qpos``, differentiable."""

from __future__ import annotations

import torch
import warp as wp

from .data import Workspace
from .kinematics import eval_body_poses
from .launch import Namespace, resolve_args
from .model import Model
from .step import param_to_warp


class _BodyPoses(torch.autograd.Function):
    @staticmethod
    def forward(ctx, model: Model, qpos: torch.Tensor, body_ipos: torch.Tensor):
        ws = _workspace(model)
        q = wp.from_torch(qpos.detach().clone(), requires_grad=True)  # own copy: backward re-runs from it
        ipos = param_to_warp("body_ipos", body_ipos.contiguous())
        ipos.requires_grad = True
        no_remainder = wp.zeros_like(q, requires_grad=False)  # qpos alone, without compensation remainders
        ns = Namespace(model.const, model.sizes, {"qpos": q, "qpos_err": no_remainder, "body_ipos": ipos}, ws.arrays)
        args = resolve_args(eval_body_poses, ns)

        def launch():
            wp.launch(eval_body_poses, dim=model.num_worlds, inputs=args, device=model.wp_device)

        tape = wp.Tape()
        with tape:
            launch()
        ctx.tape, ctx.ws, ctx.q, ctx.launch = tape, ws, q, launch
        origin = wp.to_torch(ws.root_origin)
        xpos = (wp.to_torch(ws.xpos) + origin).clone()
        xquat = wp.to_torch(ws.xquat).clone()[..., [3, 0, 1, 2]]  # Warp (x, y, z, w) -> (w, x, y, z)
        return xpos, xquat

    @staticmethod
    def backward(ctx, g_xpos, g_xquat):
        ws = ctx.ws
        ctx.launch()  # the workspace is shared by every call: restore this call's forward values before the adjoint
        ws.zero_grad()
        ctx.q.grad.zero_()
        if g_xpos is not None:
            wp.to_torch(ws.xpos.grad).copy_(g_xpos)
            wp.to_torch(ws.root_origin.grad).copy_(g_xpos)
        if g_xquat is not None:
            wp.to_torch(ws.xquat.grad).copy_(g_xquat[..., [1, 2, 3, 0]])
        ctx.tape.backward()
        return None, wp.to_torch(ctx.q.grad).clone(), None


def _workspace(model: Model) -> Workspace:
    key = ("forward-kinematics", True)
    if key not in model._workspaces:
        model._workspaces[key] = Workspace(model, requires_grad=True)
    return model._workspaces[key]


def forward_kinematics(model: Model, qpos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """World poses of every body for configurations ``qpos`` [N, nq] (MuJoCo's layout).

    Returns positions [N, nbody, 3] (m, of each body frame, as ``mujoco.MjData.xpos``) and orientations
    [N, nbody, 4] (w, x, y, z, as ``xquat``); both differentiable w.r.t. ``qpos``.
    """
    if qpos.shape != (model.num_worlds, model.nq):
        raise ValueError(f"qpos has shape {list(qpos.shape)}, expected [{model.num_worlds}, {model.nq}]")
    if not torch.isfinite(qpos).all():
        raise ValueError("qpos contains NaN or inf values")
    qpos = qpos.to(device=model.device, dtype=torch.float32)
    return _BodyPoses.apply(model, qpos, model.get_params()["body_ipos"])
