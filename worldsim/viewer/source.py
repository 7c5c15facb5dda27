"""What the viewer shows: one of the registered tasks, or any MJCF file wrapped as a task without a reward."""

from __future__ import annotations

import math
from pathlib import Path

import mujoco
import numpy as np
import torch

from ..envs.task import Task
from ..envs.tasks import TASKS
from ..physics.mjcf import load_mjcf

#: the viewer steps an MJCF scene by about this much simulated time per frame [s]
MJCF_FRAME_TIME = 1.0 / 60.0


class MJCFTask(Task):
    """Any MJCF file as a viewer task: observation = (qpos, qvel), reward 0, never terminates, reset to the file's
    ``qpos0`` (and its first keyframe, if any) at rest. The camera looks at MuJoCo's ``stat.center`` from a
    distance of 2 ``stat.extent``. Subclassed per file by :func:`task_class` (``path`` is a class attribute)."""

    path: str = ""
    horizon = 10**9

    def build_model(self, num_worlds, device):
        model = load_mjcf(self.path, num_worlds=num_worlds, device=device)
        mjm = model.mj_model
        type(self).obs_size = model.nq + model.nv
        self.frame_skip = max(1, round(MJCF_FRAME_TIME / mjm.opt.timestep))
        data = mujoco.MjData(mjm)
        if mjm.nkey:
            mujoco.mj_resetDataKeyframe(mjm, data, 0)
        mujoco.mj_forward(mjm, data)
        self._qpos0 = torch.tensor(data.qpos, dtype=torch.float32)
        centre, extent = np.asarray(mjm.stat.center, np.float64), max(float(mjm.stat.extent), 0.1)
        self.camera_target = tuple(centre.tolist())
        az, el = math.radians(-90.0), math.radians(25.0)  # from −y, 25° above the horizon
        direction = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
        self.camera_eye = tuple((centre + 2.0 * extent * direction).tolist())
        return model

    def action_bounds(self):
        mjm = self.model.mj_model
        low, high = mjm.actuator_ctrlrange[:, 0].copy(), mjm.actuator_ctrlrange[:, 1].copy()
        unlimited = ~mjm.actuator_ctrllimited.astype(bool)
        low[unlimited], high[unlimited] = -1.0, 1.0  # a slider needs a range: unlimited controls get [-1, 1]
        return low.astype(np.float32), high.astype(np.float32)

    def sample_reset(self, count, generator):
        return self._qpos0.expand(count, -1).clone(), torch.zeros(count, self.model.nv)

    def observation(self, qpos, qvel):
        return torch.cat([qpos, qvel], dim=-1)

    def state_reward(self, qpos_before, qpos, qvel, action):
        return torch.zeros(qpos.shape[:-1], device=qpos.device), {}


def task_class(source: str | Path) -> type[Task]:
    """The task class for ``source``: a task name (``"Ant"``), an env id (``"worldsim/Ant-v0"``) or the path of an
    MJCF file (``*.xml``)."""
    text = str(source)
    if text.endswith(".xml"):
        path = Path(text)
        if not path.is_file():
            raise FileNotFoundError(f"MJCF file {text!r} does not exist")
        return type(f"MJCF[{path.name}]", (MJCFTask,), {"path": str(path.resolve())})
    name = text.removeprefix("worldsim/").removesuffix("-v0")
    if name not in TASKS:
        raise ValueError(f"unknown task {text!r}: give one of {sorted(TASKS)}, an env id worldsim/<Task>-v0, or an "
                         f"MJCF file path ending in .xml")  # fmt: skip
    return TASKS[name]
