"""MuJoCo's com-based quantities (``cfrc_ext``, ``cvel``, ``cinert``) from the simulator's step data, for the
observations of gymnasium's Ant and Humanoid.

worldsim keeps spatial vectors about the origin of each body's tree (see :mod:`worldsim.physics.sensors`); MuJoCo
about the tree's centre of mass ``subtree_com[body_rootid[b]]``. These move them there. Inputs are a task's
``data`` (:attr:`worldsim.envs.task.Task.step_data`), values of the state its last step started from, as
gymnasium reads them after ``mj_step``. Not differentiable (results of the step, not functions of the state)."""

from __future__ import annotations

import torch

from ..task import Task


def _root_com(task: Task) -> torch.Tensor:
    """Per body, its tree's centre of mass relative to the tree origin [N, nbody, 3]."""
    roots = torch.as_tensor(task.model.mj_model.body_rootid, dtype=torch.long, device=task.model.device)
    return task.data["subtree_com"][:, roots]


def cfrc_ext(task: Task) -> torch.Tensor:
    """External (contact) force on each body [N, nbody, 6] (torque, force) about its tree's centre of mass, as
    MuJoCo's ``cfrc_ext`` after ``mj_rnePostConstraint``. Needs ``step_data`` ⊇ ("cfrc_ext", "subtree_com")."""
    f = task.data["cfrc_ext"]
    torque, force = f[..., :3], f[..., 3:]
    return torch.cat([torque - torch.cross(_root_com(task), force, dim=-1), force], dim=-1)


def cvel(task: Task) -> torch.Tensor:
    """Body spatial velocities [N, nbody, 6] (angular, linear) at the tree's centre of mass, as MuJoCo's ``cvel``.
    Needs ``step_data`` ⊇ ("cvel", "subtree_com")."""
    v = task.data["cvel"]
    ang, lin = v[..., :3], v[..., 3:]
    return torch.cat([ang, lin + torch.cross(ang, _root_com(task), dim=-1)], dim=-1)


def cinert(task: Task) -> torch.Tensor:
    """Body inertias [N, nbody, 10] about the tree's centre of mass in world axes, as MuJoCo's ``cinert``: the
    rotational inertia (xx, yy, zz, xy, xz, yz), mass × (centre of mass − tree com) and the mass. Needs
    ``step_data`` ⊇ ("xipos", "ximat", "subtree_com")."""
    params = task.model.get_params()
    mass = params["body_mass"].to(task.data["xipos"])  # [N, nbody]
    inertia = params["body_inertia"].to(task.data["xipos"])  # [N, nbody, 3] principal moments
    R = task.data["ximat"]  # [N, nbody, 3, 3]
    d = task.data["xipos"] - _root_com(task)
    rot = R @ torch.diag_embed(inertia) @ R.transpose(-1, -2)
    m = mass[..., None]
    dd = d * d
    diag = torch.stack([rot[..., 0, 0] + m[..., 0] * (dd[..., 1] + dd[..., 2]),
                        rot[..., 1, 1] + m[..., 0] * (dd[..., 0] + dd[..., 2]),
                        rot[..., 2, 2] + m[..., 0] * (dd[..., 0] + dd[..., 1])], -1)  # fmt: skip
    off = torch.stack([rot[..., 0, 1] - m[..., 0] * d[..., 0] * d[..., 1],
                       rot[..., 0, 2] - m[..., 0] * d[..., 0] * d[..., 2],
                       rot[..., 1, 2] - m[..., 0] * d[..., 1] * d[..., 2]], -1)  # fmt: skip
    return torch.cat([diag, off, m * d, m], dim=-1)
