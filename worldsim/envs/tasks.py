"""The tasks. Those built on gymnasium's MuJoCo files follow the observation, action, reward and termination of
gymnasium's v5 envs (differences are listed in each docstring) so that results compare."""

from __future__ import annotations

import math
import os

import gymnasium
import torch

from ..physics.builder import ModelBuilder
from ..physics.mjcf import load_mjcf
from ..renderers.poses import body_poses
from .task import Task, uniform

GYM_ASSETS = os.path.join(os.path.dirname(gymnasium.__file__), "envs", "mujoco", "assets")


def _gym_model(name: str, num_worlds: int, device: str):
    return load_mjcf(os.path.join(GYM_ASSETS, name), num_worlds=num_worlds, device=device)


class CartPole(Task):
    """Balance a pole on a cart with a continuous force (gymnasium's ``InvertedPendulum-v5``, same MJCF file).

    Observation [4]: cart position, pole angle [rad], their velocities. Action [1]: force in [-3, 3].
    Reward: 1 per step while the pole is up. Terminated when |angle| > 0.2 rad. Horizon 1000 steps of 0.04 s.
    Reset: qpos0 and zero velocity plus U(-0.01, 0.01) noise.
    """

    frame_skip, horizon, obs_size = 2, 1000, 4
    camera_eye = (0.0, -1.8, 0.6)  # close enough that cart and pole span many pixels at 64x64
    camera_target = (0.0, 0.0, 0.25)

    def build_model(self, num_worlds, device):
        return _gym_model("inverted_pendulum.xml", num_worlds, device)

    def sample_reset(self, count, generator):
        qpos0, _ = self.model.default_state()
        return qpos0[:count] + uniform((count, 2), -0.01, 0.01, generator), uniform((count, 2), -0.01, 0.01, generator)

    def observation(self, qpos, qvel):
        return torch.cat([qpos, qvel], dim=-1)

    def is_terminated(self, qpos, qvel):
        return qpos[..., 1].abs() > 0.2

    def state_reward(self, qpos_before, qpos, qvel, action):
        return (~self.is_terminated(qpos, qvel)).float(), {}


class CartPoleSwingUp(CartPole):
    """Swing the pole up from hanging down and keep it up: CartPole's model (gymnasium's ``inverted_pendulum.xml``)
    with the hinge's ±90° limit removed, as DeepMind Control's ``cartpole-swingup``.

    Observation [5]: cart position, cos θ, sin θ (θ = 0 upright), cart and pole velocities. Action [1]: force in
    [-3, 3]. Reward (smooth, for trajectory optimization as well as RL): (1 + cos θ)/2 − 0.1 x² − 0.01 a². Never
    terminates; horizon 100 steps of 0.04 s. Reset: hanging down, θ = π + U(−0.05, 0.05), cart U(−0.05, 0.05).
    """

    horizon, obs_size = 100, 5
    camera_eye = (0.0, -3.4, 0.4)  # the whole ±1 m rail in view
    camera_target = (0.0, 0.0, 0.0)

    def build_model(self, num_worlds, device):
        import mujoco

        from ..physics.mjcf import from_mjmodel

        spec = mujoco.MjSpec.from_file(os.path.join(GYM_ASSETS, "inverted_pendulum.xml"))
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


class Reacher(Task):
    """Move a 2-link arm's fingertip to a target (gymnasium's ``Reacher-v5``, same MJCF file).

    Observation [10]: cos and sin of the joint angles, target position, joint velocities, fingertip − target
    (x, y). Action [2]: torques in [-1, 1]. Reward: −|fingertip − target| − |a|². Never terminates; horizon 50.
    Reset: joint noise U(−0.1, 0.1), target uniform in a 0.2 m disk, small velocity noise.
    """

    frame_skip, horizon, obs_size = 2, 50, 10
    camera_eye = (0.0, -0.3, 0.6)

    def build_model(self, num_worlds, device):
        model = _gym_model("reacher.xml", num_worlds, device)
        self._tip = model.names["body"].index("fingertip")
        self._target = model.names["body"].index("target")
        return model

    def sample_reset(self, count, generator):
        qpos0, _ = self.model.default_state()
        qpos = qpos0[:count] + uniform((count, 4), -0.1, 0.1, generator)
        r = 0.2 * torch.sqrt(torch.rand(count, generator=generator))
        a = uniform((count,), -math.pi, math.pi, generator)
        qpos[:, 2:] = torch.stack([r * torch.cos(a), r * torch.sin(a)], dim=1)
        qvel = uniform((count, 4), -0.005, 0.005, generator)
        qvel[:, 2:] = 0.0
        return qpos, qvel

    def _tip_minus_target(self, qpos):
        """Fingertip − target [..., N, 3] at ``qpos`` [..., N, nq] (differentiable)."""
        flat = qpos.reshape(-1, self.num_worlds, self.model.nq)
        xpos = torch.stack([body_poses(self.model, q)[0] for q in flat])
        tip = xpos[:, :, self._tip] - xpos[:, :, self._target]
        return tip.reshape(*qpos.shape[:-1], 3)

    def observation(self, qpos, qvel):
        q, v = qpos, qvel
        tip = self._tip_minus_target(q)[..., :2]
        return torch.cat([torch.cos(q[..., :2]), torch.sin(q[..., :2]), q[..., 2:], v[..., :2], tip], -1)

    def state_reward(self, qpos_before, qpos, qvel, action):
        dist = self._tip_minus_target(qpos).norm(dim=-1)
        ctrl = action.square().sum(-1)
        return -dist - ctrl, {"reward_dist": -dist, "reward_ctrl": -ctrl}


class _Locomotion(Task):
    """Shared by HalfCheetah and Ant: forward reward from the root's x displacement, gymnasium v5 reset noise."""

    frame_skip, horizon = 5, 1000
    camera_follows_root = True
    ctrl_cost_weight = 0.1
    noise = 0.1

    def sample_reset(self, count, generator):
        qpos0, _ = self.model.default_state()
        qpos = qpos0[:count] + uniform((count, self.model.nq), -self.noise, self.noise, generator)
        qvel = self.noise * torch.randn(count, self.model.nv, generator=generator)
        return qpos, qvel

    def forward_velocity(self, qpos_before, qpos):
        return (qpos[..., 0] - qpos_before[..., 0]) / self.dt


class HalfCheetah(_Locomotion):
    """Run forward (gymnasium's ``HalfCheetah-v5``, same MJCF file).

    Observation [17]: qpos without the root x, and qvel. Action [6]: joint torques in [-1, 1]. Reward: forward
    velocity − 0.1 |a|². Never terminates; horizon 1000 steps of 0.05 s.
    """

    obs_size = 17

    def build_model(self, num_worlds, device):
        return _gym_model("half_cheetah.xml", num_worlds, device)

    def observation(self, qpos, qvel):
        return torch.cat([qpos[..., 1:], qvel], dim=-1)

    def state_reward(self, qpos_before, qpos, qvel, action):
        forward = self.forward_velocity(qpos_before, qpos)
        ctrl = self.ctrl_cost_weight * action.square().sum(-1)
        return forward - ctrl, {"x_velocity": forward, "reward_ctrl": -ctrl}


class Ant(_Locomotion):
    """Walk forward with a quadruped (gymnasium's ``Ant-v5``, same MJCF file).

    Observation [27]: qpos without the root x, y, and qvel (gymnasium's ``include_cfrc_ext_in_observation=False``:
    the per-body external contact forces ``cfrc_ext`` are not exposed yet). Action [8]: joint torques in [-1, 1].
    Reward: forward velocity + 1 while healthy − 0.5 |a|² (gymnasium's contact cost, computed from ``cfrc_ext``,
    is left out for the same reason). Terminated when the torso height leaves [0.2, 1.0] m. Horizon 1000 steps of
    0.05 s.
    """

    obs_size = 27
    ctrl_cost_weight = 0.5

    def build_model(self, num_worlds, device):
        return _gym_model("ant.xml", num_worlds, device)

    def observation(self, qpos, qvel):
        return torch.cat([qpos[..., 2:], qvel], dim=-1)

    def is_terminated(self, qpos, qvel):
        z = qpos[..., 2]
        return (z < 0.2) | (z > 1.0)

    def state_reward(self, qpos_before, qpos, qvel, action):
        forward = self.forward_velocity(qpos_before, qpos)
        healthy = (~self.is_terminated(qpos, qvel)).float()
        ctrl = self.ctrl_cost_weight * action.square().sum(-1)
        return forward + healthy - ctrl, {"x_velocity": forward, "reward_ctrl": -ctrl}


class PushBox(Task):
    """Push a box to a goal on a table: a ball-shaped pusher moved by two slide motors; friction and the box's mass
    matter.

    Observation [10]: pusher x, y and velocity, box x, y and velocity, goal − box (x, y). Action [2]: pusher
    forces in [-1, 1] (× 20 N). Reward: −|goal − box| − 0.2 |box − pusher| − 0.01 |a|², +10 on success.
    Terminated when the box centre is within 5 cm of the goal. Horizon 200 steps of 0.04 s. Reset: pusher near
    the origin, box at U(0.2, 0.4) m in x and ±0.2 m in y, goal 0.3-0.6 m beyond it.
    """

    frame_skip, horizon, obs_size = 20, 200, 10
    episode_context = ("goal",)
    # looking down on the work area x in [0.05, 0.55] m, y in [-0.2, 0.2] m, which fills the frame: pusher and box
    # span ~10 px at 64x64 and move visibly from frame to frame
    camera_eye = (0.3, -0.55, 0.9)
    camera_target = (0.3, 0.0, 0.0)

    def build_model(self, num_worlds, device):
        b = ModelBuilder(timestep=0.002)
        b.add_ground_plane(friction=0.6)
        pusher = b.add_body(pos=(0, 0, 0.05))
        jx = b.add_joint_slide(pusher, axis=(1, 0, 0), damping=5.0)
        jy = b.add_joint_slide(pusher, axis=(0, 1, 0), damping=5.0)
        b.add_shape_sphere(pusher, radius=0.05, mass=1.0, friction=0.0, rgba=(0.2, 0.4, 0.9, 1))
        box = b.add_body(pos=(0.3, 0, 0.05))
        b.add_joint_free(box)
        b.add_shape_box(box, half_extents=(0.05, 0.05, 0.05), mass=0.5, friction=0.6, rgba=(0.9, 0.3, 0.2, 1))
        b.add_actuator_motor(jx, gear=20.0, ctrlrange=(-1, 1))
        b.add_actuator_motor(jy, gear=20.0, ctrlrange=(-1, 1))
        model = b.finalize(num_worlds=num_worlds, device=device)
        self.goal = torch.zeros(num_worlds, 2, device=model.device)
        return model

    def sample_reset(self, count, generator):
        qpos0, _ = self.model.default_state()
        qpos = qpos0[:count].clone()
        qpos[:, :2] = uniform((count, 2), -0.05, 0.05, generator)
        qpos[:, 2] = uniform((count,), 0.2, 0.4, generator)
        qpos[:, 3] = uniform((count,), -0.2, 0.2, generator)
        qpos[:, 4] = 0.0505
        self._pending_goal = qpos[:, 2:4] + torch.stack(
            [uniform((count,), 0.3, 0.6, generator), uniform((count,), -0.3, 0.3, generator)], dim=1
        )
        return qpos, torch.zeros(count, self.model.nv)

    def reset_worlds(self, worlds, generator):
        super().reset_worlds(worlds, generator)
        if len(worlds):
            self.goal[worlds] = self._pending_goal.to(self.goal.device)

    def observation(self, qpos, qvel):
        q, v = qpos, qvel
        return torch.cat([q[..., :2], v[..., :2], q[..., 2:4], v[..., 2:4], self.goal - q[..., 2:4]], dim=-1)

    def is_terminated(self, qpos, qvel):
        return (self.goal - qpos[..., 2:4]).norm(dim=-1) < 0.05

    def state_reward(self, qpos_before, qpos, qvel, action):
        to_goal = (self.goal - qpos[..., 2:4]).norm(dim=-1)
        to_box = (qpos[..., 2:4] - qpos[..., :2]).norm(dim=-1)
        success = self.is_terminated(qpos, qvel).float()
        reward = -to_goal - 0.2 * to_box - 0.01 * action.square().sum(-1) + 10.0 * success
        return reward, {"success": success > 0}


TASKS = {
    "CartPole": CartPole,
    "CartPoleSwingUp": CartPoleSwingUp,
    "Pendulum": Pendulum,
    "Reacher": Reacher,
    "HalfCheetah": HalfCheetah,
    "Ant": Ant,
    "PushBox": PushBox,
}
