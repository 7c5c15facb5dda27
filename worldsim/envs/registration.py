"""Gymnasium registration of worldsim's envs, kept free of heavy imports: ``import worldsim`` registers every
``worldsim/<Task>-v0`` id without loading the physics (torch, the Warp kernels) until an env is made."""

from __future__ import annotations

import gymnasium

#: task name -> max_episode_steps of its registration (the task class's ``horizon``; a test checks they agree)
TASK_HORIZONS: dict[str, int] = {
    "CartPole": 1000,
    "CartPoleSwingUp": 100,
    "Pendulum": 200,
    "InvertedDoublePendulum": 1000,
    "Reacher": 50,
    "Pusher": 100,
    "PushBox": 200,
    "HalfCheetah": 1000,
    "Ant": 1000,
    "Hopper": 1000,
    "Walker2d": 1000,
    "Swimmer": 1000,
    "Humanoid": 1000,
    "HumanoidStandup": 1000,
}

#: worldsim task -> the gymnasium MuJoCo env it twins (same MJCF file, v5 kwargs, observation and info keys)
GYM_TWINS: dict[str, str] = {
    "CartPole": "InvertedPendulum-v5",
    "InvertedDoublePendulum": "InvertedDoublePendulum-v5",
    "Reacher": "Reacher-v5",
    "Pusher": "Pusher-v5",
    "HalfCheetah": "HalfCheetah-v5",
    "Ant": "Ant-v5",
    "Hopper": "Hopper-v5",
    "Walker2d": "Walker2d-v5",
    "Swimmer": "Swimmer-v5",
    "Humanoid": "Humanoid-v5",
    "HumanoidStandup": "HumanoidStandup-v5",
}


def register_envs() -> None:
    """Register ``worldsim/<Task>-v0`` for every task (single env and the native vector env as its
    ``vector_entry_point``) and ``worldsim/Dream-v0`` (a trained world model as an env:
    ``gymnasium.make("worldsim/Dream-v0", model=DIR)``); idempotent."""
    if "worldsim/Dream-v0" not in gymnasium.registry:
        gymnasium.register(id="worldsim/Dream-v0", entry_point="worldsim.models.dream_env:DreamEnv")
    for name, horizon in TASK_HORIZONS.items():
        env_id = f"worldsim/{name}-v0"
        if env_id in gymnasium.registry:
            continue
        gymnasium.register(
            id=env_id,
            entry_point="worldsim.envs.env:WorldsimEnv",
            vector_entry_point="worldsim.envs.vector_env:WorldsimVectorEnv",
            max_episode_steps=horizon,
            kwargs={"task": name},
        )
