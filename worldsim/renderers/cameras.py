"""Cameras in gsplat's conventions: world-to-camera ``viewmats`` (OpenCV: +x right, +y down, +z forward) and
intrinsics ``Ks`` in pixels."""

from __future__ import annotations

import torch

from ..physics.model import Model
from .poses import body_poses
from .projection import quat_to_rotmat


def look_at(eye, target, up=(0.0, 0.0, 1.0)) -> torch.Tensor:
    """World-to-camera matrix [4, 4] of a camera at ``eye`` [m] looking at ``target`` [m], ``up`` roughly up; with
    batches of cameras ``eye``, ``target`` [..., 3], matrices [..., 4, 4]."""
    eye = torch.as_tensor(eye, dtype=torch.float32)
    target = torch.as_tensor(target, dtype=torch.float32)
    eye, target = torch.broadcast_tensors(eye, target)
    up = torch.as_tensor(up, dtype=torch.float32).expand_as(eye)
    forward = target - eye
    dist = forward.norm(dim=-1, keepdim=True)
    if (dist < 1e-9).any():
        raise ValueError("look_at: eye and target coincide")
    forward = forward / dist
    right = torch.linalg.cross(forward, up, dim=-1)
    norm = right.norm(dim=-1, keepdim=True)
    if (norm < 1e-9).any():
        raise ValueError("look_at: up is parallel to the viewing direction")
    right = right / norm
    down = torch.linalg.cross(forward, right, dim=-1)
    view = torch.zeros(*eye.shape[:-1], 4, 4)
    view[..., :3, :3] = torch.stack([right, down, forward], dim=-2)
    view[..., :3, 3] = -(view[..., :3, :3] @ eye[..., None])[..., 0]
    view[..., 3, 3] = 1.0
    return view


def intrinsics(fov_y, width: int, height: int) -> torch.Tensor:
    """Pinhole intrinsics [3, 3] (pixels) for a vertical field of view ``fov_y`` [degrees], square pixels, the
    principal point at the image centre; for a tensor of fields of view [...], intrinsics [..., 3, 3]."""
    fov = torch.as_tensor(fov_y, dtype=torch.float64)
    if not ((fov > 0) & (fov < 180)).all():
        raise ValueError(f"fov_y must be in (0, 180) degrees, got {fov_y!r}")
    f = (0.5 * height / torch.tan(torch.deg2rad(fov) / 2)).to(torch.float32)
    K = torch.zeros(*fov.shape, 3, 3)
    K[..., 0, 0] = f
    K[..., 1, 1] = f
    K[..., 0, 2] = width / 2
    K[..., 1, 2] = height / 2
    K[..., 2, 2] = 1.0
    return K


def model_cameras(model: Model, qpos: torch.Tensor, width: int, height: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The MJCF ``<camera>`` elements seen at ``qpos`` [N, nq]: viewmats [N, ncam, 4, 4] (differentiable w.r.t.
    qpos for cameras attached to moving bodies) and Ks [ncam, 3, 3] from each camera's ``fovy``.

    MuJoCo cameras look along their −z axis with +y up; they are converted to gsplat's +z forward, +y down.
    Only ``mode="fixed"`` cameras are supported (tracking modes raise ``ValueError``).
    """
    mjm = model.mj_model
    if mjm.ncam == 0:
        raise ValueError("the model has no <camera> elements")
    if (mjm.cam_mode != 0).any():
        bad = int((mjm.cam_mode != 0).nonzero()[0][0])
        raise ValueError(f"camera #{bad}: attribute 'mode' is not supported (only mode='fixed')")
    xpos, xquat = body_poses(model, qpos)
    body = torch.as_tensor(mjm.cam_bodyid, dtype=torch.long)
    cam_pos = torch.as_tensor(mjm.cam_pos, dtype=torch.float32)
    cam_rot = quat_to_rotmat(torch.as_tensor(mjm.cam_quat, dtype=torch.float32))  # camera axes in the body frame
    body_rot = quat_to_rotmat(xquat[:, body])  # [N, ncam, 3, 3]
    world_rot = body_rot @ cam_rot  # columns: camera x, y, z axes in the world (MuJoCo/OpenGL convention)
    eye = xpos[:, body] + (body_rot @ cam_pos[..., None])[..., 0]
    flip = torch.diag(torch.tensor([1.0, -1.0, -1.0]))  # OpenGL (y up, looking along −z) -> OpenCV
    r_wc = (world_rot @ flip).transpose(-1, -2)  # world-to-camera rotation
    view = torch.zeros(*r_wc.shape[:-2], 4, 4)
    view[..., :3, :3] = r_wc
    view[..., :3, 3] = -(r_wc @ eye[..., None])[..., 0]
    view[..., 3, 3] = 1.0
    Ks = intrinsics(torch.as_tensor(mjm.cam_fovy), width, height)
    return view, Ks
