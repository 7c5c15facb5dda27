"""worldsim.envs: Gymnasium environments on worldsim (``worldsim/<Task>-v0``, registered on ``import worldsim``).

Tasks (see :mod:`worldsim.envs.tasks`): a twin of every gymnasium MuJoCo env (CartPole = InvertedPendulum,
InvertedDoublePendulum, Reacher, Pusher, HalfCheetah, Ant, Hopper, Walker2d, Swimmer, Humanoid, HumanoidStandup; v5
constructor kwargs and ``info`` keys), and CartPoleSwingUp, Pendulum, PushBox.
``gymnasium.make("worldsim/Ant-v0", obs_mode="pixels")`` gives a single env, ``gymnasium.make_vec(...,
num_envs=N)`` the native batched :class:`WorldsimVectorEnv`; :class:`SB3VecEnv` and :class:`TorchRLEnv` adapt
the vector env to Stable-Baselines3 and TorchRL (optional dependencies).

The names load lazily, so ``import worldsim`` stays light.
"""

from .._lazy import lazy_attributes
from .registration import GYM_TWINS, TASK_HORIZONS, register_envs

_LAZY = {
    "OBS_MODES": "worldsim.envs.core",
    "TASKS": "worldsim.envs.tasks",
    "WorldsimEnv": "worldsim.envs.env",
    "WorldsimVectorEnv": "worldsim.envs.vector_env",
    "SB3VecEnv": "worldsim.envs.sb3_vec_env",
    "TorchRLEnv": "worldsim.envs.torchrl_env",
}

__all__ = ["GYM_TWINS", "TASK_HORIZONS", "register_envs", *_LAZY]


__getattr__, __dir__ = lazy_attributes("worldsim.envs", globals(), _LAZY)
