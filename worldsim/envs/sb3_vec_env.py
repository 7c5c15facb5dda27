"""`SB3VecEnv`: worldsim's native vector env as a Stable-Baselines3 ``VecEnv`` (one simulator call per step for all
envs, no subprocesses). Needs ``stable-baselines3`` (``pip install 'worldsim[rl]'``)."""

from __future__ import annotations

import numpy as np
from gymnasium.vector import AutoresetMode

from ._optional import require

_vec_env = require("stable_baselines3.common.vec_env", "stable-baselines3")


class SB3VecEnv(_vec_env.VecEnv):
    """Stable-Baselines3 ``VecEnv`` over a :class:`~worldsim.envs.WorldsimVectorEnv`::

        envs = worldsim.envs.SB3VecEnv(gymnasium.make_vec("worldsim/HalfCheetah-v0", num_envs=16))
        model = stable_baselines3.PPO("MlpPolicy", envs).learn(100_000)

    SB3's conventions: a finished env is reset in the same step (the vector env is switched to gymnasium's
    ``SAME_STEP`` autoreset), its last observation in ``infos[i]["terminal_observation"]`` and
    ``infos[i]["TimeLimit.truncated"]`` telling a time limit (or a diverged world) from a termination.
    ``seed(s)`` seeds the next ``reset``. Per-env ``infos`` hold only those keys (and ``"is_success"`` for tasks
    that report ``success``), not the task's other ``info`` arrays: building N dicts of every key each step would
    cost more than the step; read them from the vector env's own ``step`` if needed. State observations only
    (``obs_mode="state"``).
    """

    def __init__(self, vector_env):
        from .vector_env import WorldsimVectorEnv

        env = getattr(vector_env, "unwrapped", vector_env)
        if not isinstance(env, WorldsimVectorEnv):
            raise ValueError(f"SB3VecEnv needs a WorldsimVectorEnv (gymnasium.make_vec('worldsim/...')), got "
                             f"{type(vector_env).__name__}")  # fmt: skip
        if env.core.obs_mode != "state" or env.core.return_torch:
            raise ValueError("SB3VecEnv needs obs_mode='state' and return_torch=False")
        env.autoreset_mode = AutoresetMode.SAME_STEP
        env.metadata = {**env.metadata, "autoreset_mode": AutoresetMode.SAME_STEP}
        self.venv = env
        self.render_mode = env.render_mode
        super().__init__(env.num_envs, env.single_observation_space, env.single_action_space)
        self._actions: np.ndarray | None = None

    def reset(self) -> np.ndarray:
        seed = self._seeds[0]
        obs, _ = self.venv.reset(seed=seed)
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions, dtype=np.float32).reshape(self.num_envs, -1)

    def step_wait(self):
        obs, reward, terminated, truncated, info = self.venv.step(self._actions)
        dones = terminated | truncated
        infos: list[dict] = [{} for _ in range(self.num_envs)]
        if "success" in info:
            for i in np.flatnonzero(info["success"]):
                infos[i]["is_success"] = True
        for i in np.flatnonzero(dones):
            infos[i]["terminal_observation"] = info["final_obs"][i]
            infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
        return obs, reward, dones, infos

    def close(self) -> None:
        self.venv.close()

    # ---- attribute access, as SB3's DummyVecEnv (all envs are one object here)
    def _indices(self, indices) -> list[int]:
        return list(self._get_indices(indices))

    def get_attr(self, attr_name: str, indices=None) -> list:
        return [getattr(self.venv, attr_name) for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value, indices=None) -> None:
        if self._indices(indices) != list(range(self.num_envs)):
            raise ValueError("SB3VecEnv.set_attr sets an attribute of all envs at once (they are one vector env)")
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name: str, *args, indices=None, **kwargs) -> list:
        return [getattr(self.venv, method_name)(*args, **kwargs) for _ in self._indices(indices)]

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False for _ in self._indices(indices)]

    def get_images(self) -> list[np.ndarray]:
        frames = self.venv.core.camera.pixels().cpu().numpy()
        return list(frames)
