"""Differentiable body poses from ``qpos`` for the renderer: the physics' public forward kinematics."""

from __future__ import annotations

import torch

from ..physics import Model, forward_kinematics


def body_poses(model: Model, qpos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """World poses of every body: positions [N, nbody, 3] (m) and quaternions [N, nbody, 4] (w, x, y, z),
    differentiable w.r.t. ``qpos`` [N, nq] (MuJoCo's layout). See :func:`worldsim.physics.forward_kinematics`."""
    return forward_kinematics(model, qpos)
