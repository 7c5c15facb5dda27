"""Differentiable body poses from ``qpos``: worldsim's Warp forward kinematics as a torch function."""

from __future__ import annotations

import torch
import warp as wp

from ..physics.kinematics import eval_kinematics
from ..physics.model import Model
from ..physics.step import Workspace, _opt


class _BodyPoses(torch.autograd.Function):
    @staticmethod
    def forward(ctx, model: Model, qpos: torch.Tensor, body_ipos: torch.Tensor):
        ws = _workspace(model)
        c, dev = model.const, model.wp_device
        q = wp.from_torch(qpos.detach().contiguous(), requires_grad=True)
        ipos = wp.from_torch(body_ipos.detach().contiguous(), dtype=wp.vec3, requires_grad=True)
        qvel = wp.zeros((model.num_worlds, max(model.nv, 1)), dtype=wp.float32, device=dev)
        tape = wp.Tape()
        with tape:
            wp.launch(
                eval_kinematics,
                dim=model.num_worlds,
                inputs=[
                    q, qvel, model.nbody, c["body_parent"], c["body_pos"], c["body_quat"], c["body_jntadr"],
                    c["body_jntnum"], c["body_frameadr"], _opt(c, "jnt_type", wp.int32, dev),
                    _opt(c, "jnt_qposadr", wp.int32, dev), _opt(c, "jnt_dofadr", wp.int32, dev),
                    _opt(c, "jnt_pos", wp.vec3, dev), _opt(c, "jnt_axis", wp.vec3, dev),
                    _opt(c, "qpos0", wp.float32, dev), ipos,
                ],
                outputs=[ws.frame_pos, ws.frame_quat, ws.frame_vel, ws.xpos, ws.xquat, ws.xipos, ws.cdof, ws.cdof_dot,
                         ws.cvel],
                device=dev,
            )  # fmt: skip
        ctx.tape, ctx.ws, ctx.q, ctx.ipos = tape, ws, q, ipos
        xpos = wp.to_torch(ws.xpos).clone()
        xquat = wp.to_torch(ws.xquat).clone()[..., [3, 0, 1, 2]]  # Warp (x, y, z, w) -> (w, x, y, z)
        return xpos, xquat

    @staticmethod
    def backward(ctx, g_xpos, g_xquat):
        ws = ctx.ws
        for a in ws.arrays.values():
            a.grad.zero_()
        ctx.q.grad.zero_()
        ctx.ipos.grad.zero_()
        wp.to_torch(ws.xpos.grad).copy_(g_xpos if g_xpos is not None else 0.0)
        if g_xquat is not None:
            wp.to_torch(ws.xquat.grad).copy_(g_xquat[..., [1, 2, 3, 0]])
        ctx.tape.backward()
        return None, wp.to_torch(ctx.q.grad).clone(), None


def _workspace(model: Model) -> Workspace:
    key = ("render-poses", True)
    if key not in model._workspaces:
        model._workspaces[key] = Workspace(model, requires_grad=True)
    return model._workspaces[key]


def body_poses(model: Model, qpos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """World poses of every body: positions [N, nbody, 3] (m) and quaternions [N, nbody, 4] (w, x, y, z),
    differentiable w.r.t. ``qpos`` [N, nq] (MuJoCo's layout)."""
    if qpos.shape != (model.num_worlds, model.nq):
        raise ValueError(f"qpos has shape {list(qpos.shape)}, expected [{model.num_worlds}, {model.nq}]")
    if not torch.isfinite(qpos).all():
        raise ValueError("qpos contains NaN or inf values")
    qpos = qpos.to(device=model.device, dtype=torch.float32)
    return _BodyPoses.apply(model, qpos, model.get_params()["body_ipos"])
