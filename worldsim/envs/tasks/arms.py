"""Arm and pushing tasks: Reacher (gymnasium's Reacher-v5), Pusher (Pusher-v5) and PushBox (a box pushed to a goal
on a table, for trajectory optimization and world models)."""

from __future__ import annotations

import math

import torch

from ...physics.builder import ModelBuilder
from ..task import Task
from ._common import TWIN_OPTIONS, apply_camera_config, body_positions, gym_model, uniform


class Reacher(Task):
    """Move a 2-link arm's fingertip to a target (gymnasium's ``Reacher-v5``, same MJCF file and v5 kwargs:
    ``frame_skip``, ``reward_dist_weight``, ``reward_control_weight``, ``xml_file``, ``default_camera_config``).

    Observation [10]: cos and sin of the joint angles, target position, joint velocities, fingertip − target
    (x, y). Action [2]: torques in [-1, 1]. Reward: −w_dist |fingertip − target| − w_ctrl |a|² (``info``:
    ``reward_dist``, ``reward_ctrl``). Never terminates; horizon 50. Reset: joint noise U(−0.1, 0.1), target
    uniform in a 0.2 m disk, velocity noise U(−0.005, 0.005).
    """

    frame_skip, horizon, obs_size = 2, 50, 10
    options = {**TWIN_OPTIONS, "xml_file": "reacher.xml", "frame_skip": 2, "reward_dist_weight": 1.0,
               "reward_control_weight": 1.0}  # fmt: skip
    camera_eye = (0.0, -0.3, 0.6)

    def build_model(self, num_worlds, device):
        apply_camera_config(self, self.default_camera_config)
        model = gym_model(self.xml_file, num_worlds, device)
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
        """Fingertip − target body positions [..., N, 3] at ``qpos`` [..., N, nq] (differentiable)."""
        com = body_positions(self, qpos, [self._tip, self._target])
        return com[..., 0, :] - com[..., 1, :]

    def observation(self, qpos, qvel):
        q, v = qpos, qvel
        tip = self._tip_minus_target(q)[..., :2]
        return torch.cat([torch.cos(q[..., :2]), torch.sin(q[..., :2]), q[..., 2:], v[..., :2], tip], -1)

    def state_reward(self, qpos_before, qpos, qvel, action):
        dist = -self.reward_dist_weight * self._tip_minus_target(qpos).norm(dim=-1)
        ctrl = -self.reward_control_weight * action.square().sum(-1)
        return dist + ctrl, {"reward_dist": dist, "reward_ctrl": ctrl}


class Pusher(Task):
    """Push a cylinder to a goal with a 7-dof arm (gymnasium's ``Pusher-v5``, same MJCF file and v5 kwargs:
    ``frame_skip``, ``reward_near_weight``, ``reward_dist_weight``, ``reward_control_weight``, ``xml_file``,
    ``default_camera_config``).

    Observation [23]: the arm's 7 joint angles and velocities, the positions of the fingertip, object and goal
    bodies [m]. Action [7]: torques in [-2, 2]. Reward: −w_near |object − tip| − w_dist |object − goal|
    − w_ctrl |a|² (``info``: ``reward_near``, ``reward_dist``, ``reward_ctrl``). Never terminates; horizon 100
    steps of 0.05 s. Reset: the arm at qpos0, the object uniform in [-0.3, 0] × [-0.2, 0.2] m at least 0.17 m from
    the goal at the origin, velocity noise U(−0.005, 0.005) on the arm.

    Difference from v5 (and Reacher's): body positions are those of the current state; gymnasium reads MuJoCo's
    ``xpos``, which ``mj_step`` leaves at the state before the last physics step (~2 mm apart for a moving arm).
    """

    frame_skip, horizon, obs_size = 5, 100, 23
    options = {**TWIN_OPTIONS, "xml_file": "pusher_v5.xml", "frame_skip": 5, "reward_near_weight": 0.5,
               "reward_dist_weight": 1.0, "reward_control_weight": 0.1}  # fmt: skip
    camera_eye = (0.0, -2.2, 1.6)
    camera_target = (0.0, -0.2, -0.3)

    def build_model(self, num_worlds, device):
        apply_camera_config(self, self.default_camera_config)
        model = gym_model(self.xml_file, num_worlds, device)
        self._bodies = [model.names["body"].index(n) for n in ("tips_arm", "object", "goal")]
        return model

    def sample_reset(self, count, generator):
        qpos0, qvel0 = self.model.default_state()
        qpos = qpos0[:count].clone()
        cyl = torch.empty(count, 2)
        todo = torch.ones(count, dtype=torch.bool)
        while todo.any():  # rejection sampling, as gymnasium
            k = int(todo.sum())
            cand = torch.stack([uniform((k,), -0.3, 0.0, generator), uniform((k,), -0.2, 0.2, generator)], 1)
            cyl[todo] = cand
            todo[todo.clone()] = cand.norm(dim=1) <= 0.17
        qpos[:, -4:-2] = cyl
        qpos[:, -2:] = 0.0
        qvel = qvel0[:count] + uniform((count, self.model.nv), -0.005, 0.005, generator)
        qvel[:, -4:] = 0.0
        return qpos, qvel

    def observation(self, qpos, qvel):
        com = body_positions(self, qpos, self._bodies)
        return torch.cat([qpos[..., :7], qvel[..., :7], com.flatten(-2)], dim=-1)

    def state_reward(self, qpos_before, qpos, qvel, action):
        tip, obj, goal = body_positions(self, qpos, self._bodies).unbind(-2)
        near = -self.reward_near_weight * (obj - tip).norm(dim=-1)
        dist = -self.reward_dist_weight * (obj - goal).norm(dim=-1)
        ctrl = -self.reward_control_weight * action.square().sum(-1)
        return near + dist + ctrl, {"reward_dist": dist, "reward_ctrl": ctrl, "reward_near": near}


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
