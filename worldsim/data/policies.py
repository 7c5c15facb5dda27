"""Action sources for recording: uniform random, smooth random (so that motion is visible), or any callable.

A policy maps a batch of state observations [N, obs_dim] (float32 numpy) to actions [N, A] inside the task's
action box, and is told when worlds start a new episode (:meth:`Policy.reset`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from gymnasium import spaces

POLICIES = ("random", "smooth")


class Policy:
    """Base class: ``__call__(obs [N, obs_dim]) -> actions [N, A]``; ``reset(worlds)`` at episode starts."""

    name = "policy"

    def __init__(self, action_space: spaces.Box, num_envs: int, seed: int = 0):
        if not isinstance(action_space, spaces.Box) or len(action_space.shape) != 1:
            raise ValueError(f"policies need a 1-D Box action space, got {action_space}")
        self.low = np.asarray(action_space.low, np.float64)
        self.high = np.asarray(action_space.high, np.float64)
        if not (np.isfinite(self.low).all() and np.isfinite(self.high).all()):
            raise ValueError("random policies need a bounded action space (finite low and high)")
        self.num_envs = num_envs
        self.rng = np.random.default_rng(seed)

    def reset(self, worlds: np.ndarray) -> None:
        """Worlds (indices) that start a new episode."""

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class RandomPolicy(Policy):
    """Independent uniform actions over the whole action box at every step (what SAC/TD3 warm up with)."""

    name = "random"

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return self.rng.uniform(self.low, self.high, (self.num_envs, len(self.low))).astype(np.float32)


class SmoothRandomPolicy(Policy):
    """A stationary Ornstein-Uhlenbeck (AR(1)) process per action dimension, clipped to the action box:

        a_t = c + ρ (a_{t-1} - c) + sqrt(1 - ρ²) σ ε_t,   ε_t ~ N(0, 1)

    with c the box centre, σ = ``scale`` × half its width, and ρ = exp(-1 / ``correlation_steps``): actions
    stay correlated over about ``correlation_steps`` env steps, so bodies move far enough between frames for a
    world model to see what actions do. Each episode starts from a draw of the stationary distribution.
    """

    name = "smooth"

    def __init__(self, action_space: spaces.Box, num_envs: int, seed: int = 0, correlation_steps: float = 10.0,
                 scale: float = 0.6):  # fmt: skip
        super().__init__(action_space, num_envs, seed)
        if not correlation_steps > 0 or not scale > 0:
            raise ValueError(f"correlation_steps and scale must be positive, got {correlation_steps}, {scale}")
        self.rho = float(np.exp(-1.0 / correlation_steps))
        self.centre = (self.low + self.high) / 2
        self.sigma = scale * (self.high - self.low) / 2
        self.state = self.centre + self.sigma * self.rng.standard_normal((num_envs, len(self.low)))

    def reset(self, worlds: np.ndarray) -> None:
        worlds = np.asarray(worlds, dtype=np.int64)
        self.state[worlds] = self.centre + self.sigma * self.rng.standard_normal((len(worlds), len(self.low)))

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        noise = self.rng.standard_normal(self.state.shape)
        self.state = self.centre + self.rho * (self.state - self.centre) + np.sqrt(1 - self.rho**2) * self.sigma * noise
        return np.clip(self.state, self.low, self.high).astype(np.float32)


class CallablePolicy(Policy):
    """Wraps ``fn(obs [N, obs_dim]) -> actions [N, A]``; its output is checked and clipped to the box."""

    name = "callable"

    def __init__(self, fn: Callable, action_space: spaces.Box, num_envs: int, seed: int = 0):
        super().__init__(action_space, num_envs, seed)
        self.fn = fn
        self.name = getattr(fn, "__name__", type(fn).__name__)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        a = np.asarray(self.fn(obs), dtype=np.float32)
        if a.shape != (self.num_envs, len(self.low)):
            raise ValueError(f"policy {self.name!r} returned actions of shape {list(a.shape)}, expected "
                             f"[{self.num_envs}, {len(self.low)}]")  # fmt: skip
        if not np.isfinite(a).all():
            raise ValueError(f"policy {self.name!r} returned NaN or inf actions")
        return np.clip(a, self.low, self.high).astype(np.float32)


class NoisyBalancePolicy(Policy):
    """CartPole: a linear balancing controller ``a = k · obs`` plus Ornstein-Uhlenbeck noise (correlated over
    ~10 steps), clipped to the action box. The noise pushes the cart back and forth while the pole stays up."""

    name = "noisy_balance"
    gains = np.array([3.0, 60.0, 3.0, 8.0])  # cart x, pole angle, their velocities

    def __init__(self, action_space, num_envs, seed=0, noise=2.0):
        super().__init__(action_space, num_envs, seed)
        self.rho, self.sigma = float(np.exp(-0.1)), noise
        self.state = np.zeros((num_envs, 1))

    def reset(self, worlds):
        self.state[np.asarray(worlds, np.int64)] = self.sigma * self.rng.standard_normal((len(worlds), 1))

    def __call__(self, obs):
        eps = self.rng.standard_normal(self.state.shape)
        self.state = self.rho * self.state + np.sqrt(1 - self.rho**2) * self.sigma * eps
        return np.clip(obs @ self.gains[:, None] + self.state, self.low, self.high).astype(np.float32)


class WaypointPusherPolicy(Policy):
    """PushBox: the pusher is steered (PD control) to waypoints inside the camera's view, a new one every 8-16
    steps; every other waypoint lies 15 cm beyond the box, so the pusher runs through it and pushes it. Plus
    Ornstein-Uhlenbeck noise on the force. ``hold`` (recorded steps per waypoint) is scaled by the caller to the
    action repeat. Pure OU forces (the ``smooth`` policy) drive the pusher out of the
    64 px view within ~15 steps, leaving clips of a still box."""

    name = "waypoint_pusher"
    region = np.array([[0.05, -0.2], [0.55, 0.2]])  # x, y (m) that the camera sees
    kp, kd, noise = 6.0, 1.5, 0.3

    def __init__(self, action_space, num_envs, seed=0, hold=(8, 17)):
        super().__init__(action_space, num_envs, seed)
        self.hold = hold
        self.target = np.zeros((num_envs, 2))
        self.countdown = np.zeros(num_envs, np.int64)
        self.state = np.zeros((num_envs, 2))

    def reset(self, worlds):
        self.countdown[np.asarray(worlds, np.int64)] = 0

    def __call__(self, obs):
        pusher, vel, box = obs[:, 0:2], obs[:, 2:4], obs[:, 4:6]
        new = self.countdown <= 0
        if new.any():
            n = int(new.sum())
            free = self.rng.uniform(self.region[0], self.region[1], (n, 2))
            push_dir = box[new] - pusher[new]
            push_dir /= np.linalg.norm(push_dir, axis=1, keepdims=True) + 1e-6
            through = np.clip(box[new] + 0.15 * push_dir, self.region[0], self.region[1])
            self.target[new] = np.where(self.rng.random((n, 1)) < 0.5, free, through)
            self.countdown[new] = self.rng.integers(*self.hold, n)
        self.countdown -= 1
        eps = self.rng.standard_normal(self.state.shape)
        self.state = 0.9 * self.state + np.sqrt(1 - 0.81) * self.noise * eps
        a = self.kp * (self.target - pusher) - self.kd * vel + self.state
        return np.clip(a, self.low, self.high).astype(np.float32)


def make_policy(policy: str | Callable | Policy, action_space: spaces.Box, num_envs: int, seed: int = 0) -> Policy:
    """``"random"``, ``"smooth"``, a :class:`Policy` instance, or a callable ``obs -> actions``."""
    if isinstance(policy, Policy):
        return policy
    if isinstance(policy, str):
        if policy == "random":
            return RandomPolicy(action_space, num_envs, seed)
        if policy == "smooth":
            return SmoothRandomPolicy(action_space, num_envs, seed)
        raise ValueError(f"unknown policy {policy!r}; use one of {POLICIES} or a callable obs -> actions")
    if callable(policy):
        return CallablePolicy(policy, action_space, num_envs, seed)
    raise ValueError(f"policy must be one of {POLICIES}, a Policy or a callable, got {type(policy).__name__}")
