"""worldsim.envs: Gymnasium environments on worldsim (``worldsim/<Task>-v0``, registered on ``import worldsim``).

Tasks: CartPole, CartPoleSwingUp, Pendulum, Reacher, HalfCheetah, Ant, PushBox (see :mod:`worldsim.envs.tasks`).
``gymnasium.make("worldsim/Ant-v0", obs_mode="pixels")`` gives a single env, ``gymnasium.make_vec(...,
num_envs=N)`` the native batched :class:`WorldsimVectorEnv`.
"""

from functools import partial

import gymnasium

from .env import OBS_MODES, WorldsimEnv, WorldsimVectorEnv
from .tasks import TASKS

__all__ = ["OBS_MODES", "TASKS", "WorldsimEnv", "WorldsimVectorEnv", "register_envs"]


def _make_vec(task, num_envs=1, **kwargs):
    return WorldsimVectorEnv(task, num_envs, **kwargs)


def register_envs() -> None:
    """Register ``worldsim/<Task>-v0`` for every task and ``worldsim/Dream-v0`` (a trained world model as an env:
    ``gymnasium.make("worldsim/Dream-v0", model=DIR)``); idempotent."""
    if "worldsim/Dream-v0" not in gymnasium.registry:
        gymnasium.register(id="worldsim/Dream-v0", entry_point="worldsim.models.dream_env:DreamEnv")
    for name, cls in TASKS.items():
        env_id = f"worldsim/{name}-v0"
        if env_id in gymnasium.registry:
            continue
        gymnasium.register(
            id=env_id,
            entry_point=partial(WorldsimEnv, name),
            vector_entry_point=partial(_make_vec, name),
            max_episode_steps=cls.horizon,
        )
