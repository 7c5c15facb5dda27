"""The tasks. Those built on gymnasium's MuJoCo files follow the observation, action, reward, termination,
constructor kwargs and ``info`` keys of gymnasium's v5 envs (differences are listed in each docstring) so that
results compare and code written for ``<Name>-v5`` runs on ``worldsim/<Name>-v0``.

Observations are float32 (gymnasium's MuJoCo envs: float64), as the simulator computes in float32."""

from .arms import PushBox, Pusher, Reacher
from .locomotion import Ant, HalfCheetah, Hopper, Humanoid, HumanoidStandup, Swimmer, Walker2d
from .pendulums import CartPole, CartPoleSwingUp, InvertedDoublePendulum, Pendulum

TASKS = {
    "CartPole": CartPole,
    "CartPoleSwingUp": CartPoleSwingUp,
    "Pendulum": Pendulum,
    "InvertedDoublePendulum": InvertedDoublePendulum,
    "Reacher": Reacher,
    "Pusher": Pusher,
    "PushBox": PushBox,
    "HalfCheetah": HalfCheetah,
    "Ant": Ant,
    "Hopper": Hopper,
    "Walker2d": Walker2d,
    "Swimmer": Swimmer,
    "Humanoid": Humanoid,
    "HumanoidStandup": HumanoidStandup,
}

__all__ = ["TASKS", *TASKS]
