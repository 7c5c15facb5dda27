"""Balance and swing-up tasks: CartPole (gymnasium's InvertedPendulum-v5), InvertedDoublePendulum (-v5),
CartPoleSwingUp (DeepMind Control's cartpole-swingup) and Pendulum (gymnasium's classic Pendulum-v1)."""

from __future__ import annotations

import math

import torch

from ...physics.builder import ModelBuilder
from ..task import Task, finite_states
from ._common import TWIN_OPTIONS, apply_camera_config, gym_model, site_position, uniform


class CartPole(Task):
    """Balance a pole on a cart with a continuous force (gymnasium's ``InvertedPendulum-v5``, same MJCF file, same
    v5 kwargs: ``frame_skip``, ``reset_noise_scale``, ``xml_file``, ``default_camera_config``).

    Observation [4]: cart position, pole angle [rad], their velocities. Action [1]: force in [-3, 3].
    Reward: 1 per step while the pole is up (``info["reward_survive"]``). Terminated when |angle| > 0.2 rad or
    the state is not finite. Horizon 1000 steps of 0.04 s. Reset: qpos0 and zero velocity plus
    U(-reset_noise_scale, reset_noise_scale).
    """

    frame_skip, horizon, obs_size = 2, 1000, 4
    options = {**TWIN_OPTIONS, "xml_file": "inverted_pendulum.xml", "frame_skip": 2, "reset_noise_scale": 0.01}
    camera_eye = (0.0, -1.8, 0.6)  # close enough that cart and pole span many pixels at 64x64
    camera_target = (0.0, 0.0, 0.25)

    def build_model(self, num_worlds, device):
        apply_camera_config(self, self.default_camera_config)
        return gym_model(self.xml_file, num_worlds, device)

    def sample_reset(self, count, generator):
        qpos0, _ = self.model.default_state()
        s = self.reset_noise_scale
        return qpos0[:count] + uniform((count, 2), -s, s, generator), uniform((count, 2), -s, s, generator)

    def observation(self, qpos, qvel):
        return torch.cat([qpos, qvel], dim=-1)

    def is_terminated(self, qpos, qvel):
        finite = finite_states(qpos, qvel)
        return ~finite | (qpos[..., 1].abs() > 0.2)

    def state_reward(self, qpos_before, qpos, qvel, action):
        alive = (~self.is_terminated(qpos, qvel)).float()
        return alive, {"reward_survive": alive}


class CartPoleSwingUp(CartPole):
    """Swing the pole up from hanging down and keep it up: CartPole's model (gymnasium's ``inverted_pendulum.xml``)
    with the hinge's ±90° limit removed, as DeepMind Control's ``cartpole-swingup``.

    Observation [5]: cart position, cos θ, sin θ (θ = 0 upright), cart and pole velocities. Action [1]: force in
    [-3, 3]. Reward (smooth, for trajectory optimization as well as RL): (1 + cos θ)/2 − 0.1 x² − 0.01 a². Never
    terminates; horizon 100 steps of 0.04 s. Reset: hanging down, θ = π + U(−0.05, 0.05), cart U(−0.05, 0.05).
    """

    horizon, obs_size = 100, 5
    options = {"frame_skip": 2}
    camera_eye = (0.0, -3.4, 0.4)  # the whole ±1 m rail in view
    camera_target = (0.0, 0.0, 0.0)

    def build_model(self, num_worlds, device):
        import mujoco

        from ...physics.mjcf import from_mjmodel
        from ._common import GYM_ASSETS

        spec = mujoco.MjSpec.from_file(f"{GYM_ASSETS}/inverted_pendulum.xml")
        spec.joint("hinge").limited = mujoco.mjtLimited.mjLIMITED_FALSE
        return from_mjmodel(spec.compile(), num_worlds=num_worlds, device=device)

    def sample_reset(self, count, generator):
        qpos = uniform((count, 2), -0.05, 0.05, generator)
        qpos[:, 1] += math.pi
        return qpos, uniform((count, 2), -0.01, 0.01, generator)

    def observation(self, qpos, qvel):
        th = qpos[..., 1:2]
        return torch.cat([qpos[..., :1], torch.cos(th), torch.sin(th), qvel], dim=-1)

    def is_terminated(self, qpos, qvel):
        return Task.is_terminated(self, qpos, qvel)

    def state_reward(self, qpos_before, qpos, qvel, action):
        upright = 0.5 * (1 + torch.cos(qpos[..., 1]))
        centred = 0.1 * qpos[..., 0].square()
        ctrl = 0.01 * action.square().sum(-1)
        return upright - centred - ctrl, {"upright": upright}


class InvertedDoublePendulum(Task):
    """Balance two poles stacked on a cart (gymnasium's ``InvertedDoublePendulum-v5``, same MJCF file and v5
    kwargs: ``frame_skip``, ``healthy_reward``, ``reset_noise_scale``, ``xml_file``, ``default_camera_config``).

    Observation [9]: cart x, sin and cos of the two hinge angles, velocities clipped to ±10, and the cart's
    constraint force (``qfrc_constraint[0]``, clipped to ±10; the simulator's value at the state its last step
    started from, as gymnasium reads MuJoCo's). Action [1]: force in [-1, 1]. Reward: ``healthy_reward``
    while the tip is above 1 m, − 0.01 x_tip² − (y_tip − 2)² − 1e-3 ω₁² − 5e-3 ω₂² (``info``: ``reward_survive``,
    ``distance_penalty``, ``velocity_penalty``). Terminated when the tip's height ≤ 1 m. Horizon 1000 steps of
    0.05 s. Reset: qpos0 + U(±noise), qvel noise·N(0, 1).
    """

    frame_skip, horizon, obs_size = 5, 1000, 9
    step_data = ("qfrc_constraint",)
    options = {**TWIN_OPTIONS, "xml_file": "inverted_double_pendulum.xml", "frame_skip": 5, "healthy_reward": 10.0,
               "reset_noise_scale": 0.1}  # fmt: skip
    camera_eye = (0.0, -3.2, 0.8)
    camera_target = (0.0, 0.0, 0.6)

    def build_model(self, num_worlds, device):
        apply_camera_config(self, self.default_camera_config)
        model = gym_model(self.xml_file, num_worlds, device)
        self._tip = model.names["site"].index("tip")
        return model

    def sample_reset(self, count, generator):
        qpos0, qvel0 = self.model.default_state()
        s = self.reset_noise_scale
        qpos = qpos0[:count] + uniform((count, self.model.nq), -s, s, generator)
        return qpos, qvel0[:count] + s * torch.randn(count, self.model.nv, generator=generator)

    def _observation(self, qpos, qvel, cart_force):
        return torch.cat([qpos[..., :1], torch.sin(qpos[..., 1:]), torch.cos(qpos[..., 1:]),
                          qvel.clamp(-10, 10), cart_force.clamp(-10, 10)[..., None]], dim=-1)  # fmt: skip

    def observation(self, qpos, qvel):
        """The observation as a function of the state alone: the constraint-force entry is 0 here (it is a
        result of the step, not of the state); :meth:`obs` has the simulator's value."""
        return self._observation(qpos, qvel, torch.zeros(qpos.shape[:-1], dtype=qpos.dtype, device=qpos.device))

    def obs(self):
        return self._observation(self.sim.qpos, self.sim.qvel, self.data["qfrc_constraint"][:, 0])

    def _tip_height(self, qpos):
        return site_position(self, qpos, self._tip)

    def is_terminated(self, qpos, qvel):
        return self._tip_height(qpos)[..., 2] <= 1.0

    def state_reward(self, qpos_before, qpos, qvel, action):
        tip = self._tip_height(qpos)
        x, y = tip[..., 0], tip[..., 2]
        dist = 0.01 * x.square() + (y - 2).square()
        vel = 1e-3 * qvel[..., 1].square() + 5e-3 * qvel[..., 2].square()
        alive = self.healthy_reward * (y > 1.0).to(qpos.dtype)
        return alive - dist - vel, {"reward_survive": alive, "distance_penalty": -dist, "velocity_penalty": -vel}


class Pendulum(Task):
    """Swing a torque-limited pendulum up and hold it (gymnasium's classic ``Pendulum-v1``: a 1 kg, 1 m rod, g = 10,
    50 ms steps).

    Observation [3]: cos θ, sin θ, θ̇ (θ = 0 upright). Action [1]: torque in [-2, 2] N m. Reward:
    −(θ² + 0.1 θ̇² + 0.001 u²), θ wrapped to [−π, π). Never terminates; horizon 200. Reset: θ ~ U(−π, π),
    θ̇ ~ U(−1, 1). Unlike gymnasium the angular speed is not clipped to 8 rad/s.
    """

    frame_skip, horizon, obs_size = 1, 200, 3
    camera_eye = (0.0, -3.0, 1.8)

    def build_model(self, num_worlds, device):
        b = ModelBuilder(timestep=0.05, gravity=(0, 0, -10.0))
        rod = b.add_body(pos=(0, 0, 0))
        hinge = b.add_joint_hinge(rod, axis=(0, 1, 0))
        b.add_shape_capsule(rod, radius=0.02, half_height=0.5, pos=(0, 0, 0.5), mass=1.0, contype=0, conaffinity=0)
        b.add_actuator_motor(hinge, gear=1.0, ctrlrange=(-2.0, 2.0))
        return b.finalize(num_worlds=num_worlds, device=device)

    def sample_reset(self, count, generator):
        return uniform((count, 1), -math.pi, math.pi, generator), uniform((count, 1), -1.0, 1.0, generator)

    def observation(self, qpos, qvel):
        th = qpos[..., 0]
        return torch.stack([torch.cos(th), torch.sin(th), qvel[..., 0]], dim=-1)

    def state_reward(self, qpos_before, qpos, qvel, action):
        th = torch.remainder(qpos[..., 0] + math.pi, 2 * math.pi) - math.pi
        return -(th**2 + 0.1 * qvel[..., 0] ** 2 + 0.001 * action[..., 0] ** 2), {}
