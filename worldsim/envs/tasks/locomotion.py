"""Locomotion tasks, twins of gymnasium's v5 envs on the same MJCF files: HalfCheetah, Ant, Hopper, Walker2d and
Swimmer. Each takes its v5 constructor kwargs and reports its v5 ``info`` keys; differences are in the docstrings.

Shared: forward velocity is the root's x displacement over the env step (``dt = frame_skip · timestep``),
reward = ``forward_reward_weight`` · forward velocity (+ healthy reward) − ``ctrl_cost_weight`` · |a|²."""

from __future__ import annotations

import torch

from ..task import Task
from ._common import TWIN_OPTIONS, apply_camera_config, check_range, gym_model, uniform

_LOCOMOTION_OPTIONS = {**TWIN_OPTIONS, "forward_reward_weight": 1.0, "ctrl_cost_weight": 0.1,
                       "reset_noise_scale": 0.1, "exclude_current_positions_from_observation": True}  # fmt: skip


class _Locomotion(Task):
    """The shared machinery. Subclasses set ``options`` (their v5 defaults), ``skipped`` (how many leading qpos
    entries the observation leaves out), ``qvel_noise`` ("normal" or "uniform") and ``qvel_clip`` (None or the
    bound of the observed velocities)."""

    horizon = 1000
    camera_follows_root = True
    dr_gravity_tilt_deg = 2.0
    skipped = 1
    qvel_noise = "normal"
    qvel_clip: float | None = None

    def check_options(self):
        super().check_options()
        for name in ("healthy_z_range", "healthy_angle_range", "healthy_state_range"):
            if name in self.options:
                setattr(self, name, check_range(name, getattr(self, name)))

    def build_model(self, num_worlds, device):
        apply_camera_config(self, self.default_camera_config)
        model = gym_model(self.xml_file, num_worlds, device)
        keep = self.skipped if self.exclude_current_positions_from_observation else 0
        self.obs_size = model.nq - keep + model.nv
        return model

    def sample_reset(self, count, generator):
        qpos0, qvel0 = self.model.default_state()
        s, m = self.reset_noise_scale, self.model
        qpos = qpos0[:count] + uniform((count, m.nq), -s, s, generator)
        if self.qvel_noise == "normal":
            noise = s * torch.randn(count, m.nv, generator=generator)
        else:
            noise = uniform((count, m.nv), -s, s, generator)
        return qpos, qvel0[:count] + noise

    def observation(self, qpos, qvel):
        keep = self.skipped if self.exclude_current_positions_from_observation else 0
        v = qvel if self.qvel_clip is None else qvel.clamp(-self.qvel_clip, self.qvel_clip)
        return torch.cat([qpos[..., keep:], v], dim=-1)

    def is_healthy(self, qpos, qvel) -> torch.Tensor:
        return torch.ones(qpos.shape[:-1], dtype=torch.bool, device=qpos.device)

    def is_terminated(self, qpos, qvel):
        if not getattr(self, "terminate_when_unhealthy", False):
            return Task.is_terminated(self, qpos, qvel)
        return ~self.is_healthy(qpos, qvel)

    def velocity(self, qpos_before, qpos, axis: int = 0):
        return (qpos[..., axis] - qpos_before[..., axis]) / self.dt

    def state_reward(self, qpos_before, qpos, qvel, action):
        vx = self.velocity(qpos_before, qpos)
        forward = self.forward_reward_weight * vx
        ctrl = self.ctrl_cost_weight * action.square().sum(-1)
        info = {"x_position": qpos[..., 0], "x_velocity": vx, "reward_forward": forward, "reward_ctrl": -ctrl}
        reward = forward - ctrl
        if "healthy_reward" in self.options:
            survive = self.healthy_reward * self.is_healthy(qpos, qvel).to(qpos.dtype)
            info["reward_survive"] = survive
            reward = reward + survive
        return reward, info


class HalfCheetah(_Locomotion):
    """Run forward (gymnasium's ``HalfCheetah-v5``). Observation [17]: qpos without the root x, and qvel. Action
    [6]: joint torques in [-1, 1]. Never terminates; horizon 1000 steps of 0.05 s. ``info``: ``x_position``,
    ``x_velocity``, ``reward_forward``, ``reward_ctrl``."""

    frame_skip = 5
    options = {**_LOCOMOTION_OPTIONS, "xml_file": "half_cheetah.xml", "frame_skip": 5}


class Hopper(_Locomotion):
    """Hop forward on one leg (gymnasium's ``Hopper-v5``). Observation [11]: qpos without the root x, qvel clipped
    to ±10. Action [3]. Healthy while every state entry but the first two is within ``healthy_state_range``, the
    height in ``healthy_z_range`` and the torso angle in ``healthy_angle_range`` (open intervals); terminated when
    unhealthy (``terminate_when_unhealthy``). ``info``: ``x_position``, ``z_distance_from_origin``,
    ``x_velocity``, ``reward_forward``, ``reward_ctrl``, ``reward_survive``. Horizon 1000 steps of 0.008 s."""

    frame_skip = 4
    qvel_noise, qvel_clip = "uniform", 10.0
    options = {**_LOCOMOTION_OPTIONS, "xml_file": "hopper.xml", "frame_skip": 4, "ctrl_cost_weight": 1e-3,
               "healthy_reward": 1.0, "terminate_when_unhealthy": True, "healthy_state_range": (-100.0, 100.0),
               "healthy_z_range": (0.7, float("inf")), "healthy_angle_range": (-0.2, 0.2),
               "reset_noise_scale": 5e-3}  # fmt: skip

    def is_healthy(self, qpos, qvel):
        z, angle = qpos[..., 1], qpos[..., 2]
        state = torch.cat([qpos, qvel], dim=-1)[..., 2:]
        lo, hi = self.healthy_state_range
        zlo, zhi = self.healthy_z_range
        alo, ahi = self.healthy_angle_range
        ok_state = ((state > lo) & (state < hi)).all(-1)
        return ok_state & (z > zlo) & (z < zhi) & (angle > alo) & (angle < ahi)

    def state_reward(self, qpos_before, qpos, qvel, action):
        reward, info = super().state_reward(qpos_before, qpos, qvel, action)
        info["z_distance_from_origin"] = qpos[..., 1] - float(self.model.mj_model.qpos0[1])
        return reward, info


class Walker2d(Hopper):
    """Walk forward on two legs (gymnasium's ``Walker2d-v5``, ``walker2d_v5.xml``). Observation [17]: qpos without
    the root x, qvel clipped to ±10. Action [6]. Healthy while the height is in ``healthy_z_range`` and the torso
    angle in ``healthy_angle_range``. ``info`` as Hopper's. Horizon 1000 steps of 0.008 s."""

    options = {**_LOCOMOTION_OPTIONS, "xml_file": "walker2d_v5.xml", "frame_skip": 4, "ctrl_cost_weight": 1e-3,
               "healthy_reward": 1.0, "terminate_when_unhealthy": True, "healthy_z_range": (0.8, 2.0),
               "healthy_angle_range": (-1.0, 1.0), "reset_noise_scale": 5e-3}  # fmt: skip

    def is_healthy(self, qpos, qvel):
        z, angle = qpos[..., 1], qpos[..., 2]
        zlo, zhi = self.healthy_z_range
        alo, ahi = self.healthy_angle_range
        return (z > zlo) & (z < zhi) & (angle > alo) & (angle < ahi)


class Swimmer(_Locomotion):
    """Swim forward in a viscous fluid (gymnasium's ``Swimmer-v5``). Observation [8]: qpos without the root x, y,
    and qvel. Action [2]. Never terminates. ``info``: ``x_position``, ``y_position``, ``distance_from_origin``,
    ``x_velocity``, ``y_velocity``, ``reward_forward``, ``reward_ctrl``. Horizon 1000 steps of 0.04 s."""

    frame_skip, skipped, qvel_noise = 4, 2, "uniform"
    dr_gravity_tilt_deg = 0.0  # it swims in the plane: gravity does not act on it
    options = {**_LOCOMOTION_OPTIONS, "xml_file": "swimmer.xml", "frame_skip": 4, "ctrl_cost_weight": 1e-4}

    def state_reward(self, qpos_before, qpos, qvel, action):
        reward, info = super().state_reward(qpos_before, qpos, qvel, action)
        info.update(_planar_info(self, qpos_before, qpos))
        return reward, info


class Ant(_Locomotion):
    """Walk forward with a quadruped (gymnasium's ``Ant-v5``). Observation [27]: qpos without the root x, y, and
    qvel. Action [8]: joint torques in [-1, 1]. Reward: forward velocity + ``healthy_reward`` while healthy
    − 0.5 |a|² − contact cost. Healthy while the state is finite and the torso height is in ``healthy_z_range``
    (closed). ``info``: ``x_position``, ``y_position``, ``distance_from_origin``, ``x_velocity``, ``y_velocity``,
    ``reward_forward``, ``reward_ctrl``, ``reward_contact``, ``reward_survive``. Horizon 1000 steps of 0.05 s.

    Difference from v5: the per-body external contact forces ``cfrc_ext`` are not provided yet, so the default is
    ``include_cfrc_ext_in_observation=False`` (v5: True, 105 entries) and the contact cost is 0
    (``reward_contact`` reports 0); asking for ``include_cfrc_ext_in_observation=True`` raises ValueError.
    ``main_body`` must be the torso (1), the root whose x, y the velocity is taken from. The velocity is the
    displacement of the root's position ``qpos[:2]`` over the step, as in HalfCheetah-v5; Ant-v5 reads the body's
    ``xpos``, which ``mj_step`` leaves at the state before the last physics step, so its velocity is that of the
    window shifted back by one physics step (they differ by ~1%).
    """

    frame_skip, skipped = 5, 2
    options = {**_LOCOMOTION_OPTIONS, "xml_file": "ant.xml", "frame_skip": 5, "ctrl_cost_weight": 0.5,
               "contact_cost_weight": 5e-4, "healthy_reward": 1.0, "main_body": 1, "terminate_when_unhealthy": True,
               "healthy_z_range": (0.2, 1.0), "contact_force_range": (-1.0, 1.0),
               "include_cfrc_ext_in_observation": False}  # fmt: skip

    def check_options(self):
        super().check_options()
        if self.include_cfrc_ext_in_observation:
            raise ValueError("include_cfrc_ext_in_observation=True: worldsim does not provide the per-body contact "
                             "forces cfrc_ext yet; use False (27 observations)")  # fmt: skip
        if self.main_body not in (1, "torso"):
            raise ValueError(f"main_body must be the torso (1 or 'torso'), got {self.main_body!r}")
        self.contact_force_range = check_range("contact_force_range", self.contact_force_range)

    def is_healthy(self, qpos, qvel):
        z = qpos[..., 2]
        finite = torch.isfinite(qpos).all(-1) & torch.isfinite(qvel).all(-1)
        lo, hi = self.healthy_z_range
        return finite & (z >= lo) & (z <= hi)

    def state_reward(self, qpos_before, qpos, qvel, action):
        reward, info = super().state_reward(qpos_before, qpos, qvel, action)
        info["reward_contact"] = torch.zeros_like(reward)
        info.update(_planar_info(self, qpos_before, qpos))
        return reward, info


def _planar_info(task: _Locomotion, qpos_before, qpos) -> dict:
    """The v5 info entries of a root that moves in the plane: y position and velocity, distance from the origin."""
    return {"y_position": qpos[..., 1], "distance_from_origin": qpos[..., :2].norm(dim=-1),
            "y_velocity": task.velocity(qpos_before, qpos, axis=1)}  # fmt: skip
