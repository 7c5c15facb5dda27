"""Helpers shared by the tasks: gymnasium's MJCF files, v5 camera configs, body and site positions."""

from __future__ import annotations

import math
import os

import gymnasium
import torch

from ...physics.mjcf import load_mjcf
from ...renderers.poses import body_poses
from ...renderers.projection import quat_to_rotmat
from ..task import Task, uniform  # noqa: F401 (re-exported for the task modules)

GYM_ASSETS = os.path.join(os.path.dirname(gymnasium.__file__), "envs", "mujoco", "assets")

#: v5 constructor kwargs every gymnasium twin takes (MujocoEnv's); ``default_camera_config`` moves the pixel camera
TWIN_OPTIONS = {"xml_file": None, "default_camera_config": None}


def gym_model(xml_file: str, num_worlds: int, device: str):
    """Load a gymnasium MJCF file: a path, or a file name in gymnasium's MuJoCo assets (as ``MujocoEnv``)."""
    path = xml_file if os.path.isabs(xml_file) or os.path.exists(xml_file) else os.path.join(GYM_ASSETS, xml_file)
    if not os.path.exists(path):
        raise ValueError(f"xml_file {xml_file!r} not found (as a path or in {GYM_ASSETS})")
    return load_mjcf(path, num_worlds=num_worlds, device=device)


def apply_camera_config(task: Task, config: dict | None) -> None:
    """Point the task's pixel camera as MuJoCo's free camera of a v5 ``default_camera_config`` would: ``lookat``
    [m], ``distance`` [m], ``azimuth`` and ``elevation`` [degrees] (MuJoCo's defaults 90 and -45 where absent);
    ``trackbodyid`` != -1 keeps following the root along x. None leaves the task's own camera."""
    if config is None:
        return
    if not isinstance(config, dict):
        raise ValueError(f"default_camera_config must be a dict, got {type(config).__name__}")
    unknown = set(config) - {"lookat", "distance", "azimuth", "elevation", "trackbodyid", "type"}
    if unknown:
        raise ValueError(f"default_camera_config: unknown keys {sorted(unknown)}")
    lookat = [float(x) for x in config.get("lookat", task.camera_target)]
    dist = float(config.get("distance", 4.0))
    az, el = math.radians(float(config.get("azimuth", 90.0))), math.radians(float(config.get("elevation", -45.0)))
    forward = (math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el))
    task.camera_target = tuple(lookat)
    task.camera_eye = tuple(c - dist * f for c, f in zip(lookat, forward, strict=True))
    if "trackbodyid" in config:
        task.camera_follows_root = config["trackbodyid"] != -1


def body_positions(task: Task, qpos: torch.Tensor, bodies: list[int]) -> torch.Tensor:
    """Body frame origins [..., N, len(bodies), 3] (MuJoCo's ``xpos``, what gymnasium's ``get_body_com`` returns)
    at ``qpos`` [..., N, nq], differentiable."""
    flat = qpos.reshape(-1, task.num_worlds, task.model.nq)
    out = torch.stack([body_poses(task.model, q)[0][:, bodies] for q in flat])
    return out.reshape(*qpos.shape[:-1], len(bodies), 3)


def body_centres_of_mass(task: Task, qpos: torch.Tensor) -> torch.Tensor:
    """Centres of mass of every body [..., N, nbody, 3] (MuJoCo's ``xipos``, world frame) at ``qpos`` [..., N, nq],
    differentiable."""
    flat = qpos.reshape(-1, task.num_worlds, task.model.nq)
    ipos = task.model.get_params()["body_ipos"].to(qpos)  # [N, nbody, 3]
    out = []
    for q in flat:
        pos, quat = body_poses(task.model, q)
        out.append(pos + (quat_to_rotmat(quat) @ ipos[..., None])[..., 0])
    return torch.stack(out).reshape(*qpos.shape[:-1], task.model.nbody, 3)


def site_position(task: Task, qpos: torch.Tensor, site: int) -> torch.Tensor:
    """World position [..., N, 3] of site ``site`` at ``qpos`` [..., N, nq], differentiable."""
    mjm = task.model.mj_model
    body = int(mjm.site_bodyid[site])
    local = torch.as_tensor(mjm.site_pos[site], dtype=qpos.dtype, device=qpos.device)
    flat = qpos.reshape(-1, task.num_worlds, task.model.nq)
    out = []
    for q in flat:
        pos, quat = body_poses(task.model, q)
        out.append(pos[:, body] + quat_to_rotmat(quat[:, body]) @ local)
    return torch.stack(out).reshape(*qpos.shape[:-1], 3)


def check_range(name: str, value) -> tuple[float, float]:
    """A (low, high) pair of floats with low <= high; ValueError naming ``name`` otherwise."""
    try:
        low, high = (float(x) for x in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (low, high) pair, got {value!r}") from None
    if not low <= high:
        raise ValueError(f"{name} must have low <= high, got {value!r}")
    return low, high
