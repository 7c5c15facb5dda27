"""Locomotion tasks, twins of gymnasium's v5 envs on the same MJCF files: HalfCheetah, Ant, Hopper, Walker2d,
Swimmer, Humanoid and HumanoidStandup. Each takes its v5 constructor kwargs and reports its v5 ``info`` keys;
differences are in the docstrings.

Shared: forward velocity is the root's x displacement over the env step (``dt = frame_skip · timestep``),
reward = ``forward_reward_weight`` · forward velocity (+ healthy reward) − ``ctrl_cost_weight`` · |a|²."""

from __future__ import annotations

import torch

from ..task import Task, finite_states
from . import mujoco_data
from ._common import TWIN_OPTIONS, apply_camera_config, body_centres_of_mass, check_range, gym_model, uniform

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
    """Walk forward with a quadruped (gymnasium's ``Ant-v5``). Observation [105]: qpos without the root x, y, qvel,
    and the external contact force on each body but the world, clipped to ``contact_force_range`` (``cfrc_ext``,
    13 × 6; ``include_cfrc_ext_in_observation=False`` leaves it out: 27). Action [8]: joint torques in [-1, 1].
    Reward: forward velocity + ``healthy_reward`` while healthy − 0.5 |a|² − 5e-4 |clipped cfrc_ext|². Healthy
    while the state is finite and the torso height is in ``healthy_z_range`` (closed). ``info``: ``x_position``,
    ``y_position``, ``distance_from_origin``, ``x_velocity``, ``y_velocity``, ``reward_forward``, ``reward_ctrl``,
    ``reward_contact``, ``reward_survive``. Horizon 1000 steps of 0.05 s.

    ``cfrc_ext`` is the simulator's, at the state its last step started from (as gymnasium reads MuJoCo's after
    ``mj_step`` and ``mj_rnePostConstraint``); after a reset it is that of the reset state (gymnasium: zeros).
    :meth:`observation` (the state function) has zeros there: contact forces are results of a step.
    Differences from v5: ``main_body`` must be the torso (1), the root whose x, y the velocity is taken from. The
    velocity is the displacement of the root's position ``qpos[:2]`` over the step, as in HalfCheetah-v5; Ant-v5
    reads the body's ``xpos``, which ``mj_step`` leaves at the state before the last physics step, so its velocity
    is that of the window shifted back by one physics step (they differ by ~1%).
    """

    frame_skip, skipped = 5, 2
    step_data = ("cfrc_ext", "subtree_com")
    options = {**_LOCOMOTION_OPTIONS, "xml_file": "ant.xml", "frame_skip": 5, "ctrl_cost_weight": 0.5,
               "contact_cost_weight": 5e-4, "healthy_reward": 1.0, "main_body": 1, "terminate_when_unhealthy": True,
               "healthy_z_range": (0.2, 1.0), "contact_force_range": (-1.0, 1.0),
               "include_cfrc_ext_in_observation": True}  # fmt: skip

    def check_options(self):
        super().check_options()
        if self.main_body not in (1, "torso"):
            raise ValueError(f"main_body must be the torso (1 or 'torso'), got {self.main_body!r}")
        self.contact_force_range = check_range("contact_force_range", self.contact_force_range)

    def build_model(self, num_worlds, device):
        model = super().build_model(num_worlds, device)
        if self.include_cfrc_ext_in_observation:
            self.obs_size += 6 * (model.nbody - 1)
        return model

    def contact_forces(self) -> torch.Tensor:
        """``cfrc_ext`` of the last step, clipped to ``contact_force_range`` [N, nbody, 6]."""
        lo, hi = self.contact_force_range
        return mujoco_data.cfrc_ext(self).clamp(lo, hi)

    def _with_forces(self, state_obs, forces):
        if not self.include_cfrc_ext_in_observation:
            return state_obs
        return torch.cat([state_obs, forces[..., 1:, :].flatten(-2)], dim=-1)

    def observation(self, qpos, qvel):
        zeros = torch.zeros(*qpos.shape[:-1], self.model.nbody, 6, dtype=qpos.dtype, device=qpos.device)
        return self._with_forces(super().observation(qpos, qvel), zeros)

    def obs(self):
        return self._with_forces(super().observation(self.sim.qpos, self.sim.qvel), self.contact_forces())

    def is_healthy(self, qpos, qvel):
        z = qpos[..., 2]
        finite = finite_states(qpos, qvel)
        lo, hi = self.healthy_z_range
        return finite & (z >= lo) & (z <= hi)

    def state_reward(self, qpos_before, qpos, qvel, action):
        reward, info = super().state_reward(qpos_before, qpos, qvel, action)
        info.update(_planar_info(self, qpos_before, qpos))
        return reward, info

    def reward(self, action, before):
        """:meth:`state_reward` less the contact cost of the last step (not a function of the state)."""
        reward, info = super().reward(action, before)
        contact = self.contact_cost_weight * self.contact_forces().square().sum((-1, -2))
        info["reward_contact"] = -contact
        return reward - contact, info


class Humanoid(_Locomotion):
    """Walk forward with a 3D humanoid (gymnasium's ``Humanoid-v5``). Observation [348]: qpos without the root x, y
    (22), qvel (23), and of every body but the world: ``cinert`` (13 × 10), ``cvel`` (13 × 6), the actuator forces
    ``qfrc_actuator[6:]`` (17) and ``cfrc_ext`` (13 × 6), each part switchable by its v5 ``include_*`` kwarg.
    Action [17] in [-0.4, 0.4]. Reward: 1.25 × forward velocity of the centre of mass + 5 while healthy − 0.1 |a|²
    − min(5e-7 |cfrc_ext|², 10). Healthy while the torso height is in ``healthy_z_range`` (open). ``info``:
    ``x_position``, ``y_position``, ``tendon_length``, ``tendon_velocity``, ``distance_from_origin``,
    ``x_velocity``, ``y_velocity``, ``reward_survive``, ``reward_forward``, ``reward_ctrl``, ``reward_contact``.
    Horizon 1000 steps of 0.015 s.

    The com-based quantities are the simulator's at the state its last step started from (as gymnasium reads
    MuJoCo's), see :mod:`worldsim.envs.tasks.mujoco_data`; :meth:`observation` (the state function) has zeros in
    their place. Difference from v5: the centre-of-mass velocity is taken between the current states (gymnasium:
    MuJoCo's ``xipos``, one physics step behind).
    """

    frame_skip, skipped, qvel_noise = 5, 2, "uniform"
    step_data = ("cfrc_ext", "subtree_com", "cvel", "xipos", "ximat", "qfrc_actuator", "ten_length", "ten_velocity")
    options = {**_LOCOMOTION_OPTIONS, "xml_file": "humanoid.xml", "frame_skip": 5, "forward_reward_weight": 1.25,
               "ctrl_cost_weight": 0.1, "contact_cost_weight": 5e-7, "contact_cost_range": (-float("inf"), 10.0),
               "healthy_reward": 5.0, "terminate_when_unhealthy": True, "healthy_z_range": (1.0, 2.0),
               "reset_noise_scale": 1e-2, "include_cinert_in_observation": True, "include_cvel_in_observation": True,
               "include_qfrc_actuator_in_observation": True, "include_cfrc_ext_in_observation": True}  # fmt: skip

    def check_options(self):
        super().check_options()
        self.contact_cost_range = check_range("contact_cost_range", self.contact_cost_range)

    def build_model(self, num_worlds, device):
        model = super().build_model(num_worlds, device)
        nb = model.nbody - 1
        sizes = {"include_cinert_in_observation": 10 * nb, "include_cvel_in_observation": 6 * nb,
                 "include_qfrc_actuator_in_observation": model.nv - 6,
                 "include_cfrc_ext_in_observation": 6 * nb}  # fmt: skip
        self.obs_size += sum(n for k, n in sizes.items() if getattr(self, k))
        self._mass = torch.as_tensor(model.mj_model.body_mass, dtype=torch.float32, device=model.device)
        return model

    def _extras(self, parts: dict) -> list:
        keys = ("include_cinert_in_observation", "include_cvel_in_observation",
                "include_qfrc_actuator_in_observation", "include_cfrc_ext_in_observation")  # fmt: skip
        return [parts[k] for k in keys if getattr(self, k)]

    def observation(self, qpos, qvel):
        lead, nb, kw = qpos.shape[:-1], self.model.nbody - 1, {"dtype": qpos.dtype, "device": qpos.device}
        parts = {"include_cinert_in_observation": torch.zeros(*lead, 10 * nb, **kw),
                 "include_cvel_in_observation": torch.zeros(*lead, 6 * nb, **kw),
                 "include_qfrc_actuator_in_observation": torch.zeros(*lead, self.model.nv - 6, **kw),
                 "include_cfrc_ext_in_observation": torch.zeros(*lead, 6 * nb, **kw)}  # fmt: skip
        return torch.cat([super().observation(qpos, qvel), *self._extras(parts)], dim=-1)

    def obs(self):
        parts = {"include_cinert_in_observation": mujoco_data.cinert(self)[:, 1:].flatten(1),
                 "include_cvel_in_observation": mujoco_data.cvel(self)[:, 1:].flatten(1),
                 "include_qfrc_actuator_in_observation": self.data["qfrc_actuator"][:, 6:],
                 "include_cfrc_ext_in_observation": mujoco_data.cfrc_ext(self)[:, 1:].flatten(1)}  # fmt: skip
        return torch.cat([super().observation(self.sim.qpos, self.sim.qvel), *self._extras(parts)], dim=-1)

    def is_healthy(self, qpos, qvel):
        lo, hi = self.healthy_z_range
        return (qpos[..., 2] > lo) & (qpos[..., 2] < hi)

    def mass_center(self, qpos) -> torch.Tensor:
        """Centre of mass of the whole body, x and y [..., N, 2], at ``qpos`` (differentiable)."""
        com = body_centres_of_mass(self, qpos)  # [..., N, nbody, 3]
        return (com[..., :2] * self._mass[:, None]).sum(-2) / self._mass.sum()

    def state_reward(self, qpos_before, qpos, qvel, action):
        before, after = self.mass_center(qpos_before), self.mass_center(qpos)
        v = (after - before) / self.dt
        forward = self.forward_reward_weight * v[..., 0]
        ctrl = self.ctrl_cost_weight * action.square().sum(-1)
        survive = self.healthy_reward * self.is_healthy(qpos, qvel).to(qpos.dtype)
        info = {"x_position": qpos[..., 0], "y_position": qpos[..., 1],
                "distance_from_origin": qpos[..., :2].norm(dim=-1), "x_velocity": v[..., 0], "y_velocity": v[..., 1],
                "reward_survive": survive, "reward_forward": forward, "reward_ctrl": -ctrl}  # fmt: skip
        return forward + survive - ctrl, info

    def reward(self, action, before):
        """:meth:`state_reward` less the contact cost of the last step, with the tendon state in ``info``."""
        reward, info = super().reward(action, before)
        lo, hi = self.contact_cost_range
        contact = (self.contact_cost_weight * mujoco_data.cfrc_ext(self).square().sum((-1, -2))).clamp(lo, hi)
        info.update(reward_contact=-contact, tendon_length=self.data["ten_length"].clone(),
                    tendon_velocity=self.data["ten_velocity"].clone())  # fmt: skip
        return reward - contact, info


class HumanoidStandup(Humanoid):
    """Stand up from lying on the floor (gymnasium's ``HumanoidStandup-v5``, ``humanoidstandup.xml``). Observation
    [348] and action [17] as Humanoid. Reward: ``uph_cost_weight`` · torso height / timestep − 0.1 |a|²
    − min(5e-7 |cfrc_ext|², 10) + 1 (v5 ignores ``uph_cost_weight``; at its default 1 they agree). Never
    terminates. ``info``: ``x_position``, ``y_position``, ``z_distance_from_origin``, ``tendon_length``,
    ``tendon_velocity``, ``reward_linup``, ``reward_quadctrl``, ``reward_impact``. Horizon 1000 steps of 0.05 s.
    """

    options = {**TWIN_OPTIONS, "xml_file": "humanoidstandup.xml", "frame_skip": 5, "uph_cost_weight": 1.0,
               "ctrl_cost_weight": 0.1, "impact_cost_weight": 0.5e-6, "impact_cost_range": (-float("inf"), 10.0),
               "reset_noise_scale": 1e-2, "exclude_current_positions_from_observation": True,
               "include_cinert_in_observation": True, "include_cvel_in_observation": True,
               "include_qfrc_actuator_in_observation": True, "include_cfrc_ext_in_observation": True}  # fmt: skip

    def check_options(self):
        _Locomotion.check_options(self)
        self.impact_cost_range = check_range("impact_cost_range", self.impact_cost_range)

    def is_terminated(self, qpos, qvel):
        return Task.is_terminated(self, qpos, qvel)

    def state_reward(self, qpos_before, qpos, qvel, action):
        up = self.uph_cost_weight * qpos[..., 2] / self.model.timestep
        ctrl = self.ctrl_cost_weight * action.square().sum(-1)
        info = {"x_position": qpos[..., 0], "y_position": qpos[..., 1],
                "z_distance_from_origin": qpos[..., 2] - float(self.model.mj_model.qpos0[2]),
                "reward_linup": up, "reward_quadctrl": -ctrl}  # fmt: skip
        return up - ctrl + 1.0, info

    def reward(self, action, before):
        """:meth:`state_reward` less the impact cost of the last step, with the tendon state in ``info``."""
        reward, info = Task.reward(self, action, before)
        lo, hi = self.impact_cost_range
        impact = (self.impact_cost_weight * mujoco_data.cfrc_ext(self).square().sum((-1, -2))).clamp(lo, hi)
        info.update(reward_impact=-impact, tendon_length=self.data["ten_length"].clone(),
                    tendon_velocity=self.data["ten_velocity"].clone())  # fmt: skip
        return reward - impact, info


def _planar_info(task: _Locomotion, qpos_before, qpos) -> dict:
    """The v5 info entries of a root that moves in the plane: y position and velocity, distance from the origin."""
    return {"y_position": qpos[..., 1], "distance_from_origin": qpos[..., :2].norm(dim=-1),
            "y_velocity": task.velocity(qpos_before, qpos, axis=1)}  # fmt: skip
