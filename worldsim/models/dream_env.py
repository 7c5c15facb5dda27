"""DreamEnv: a trained world model behind the Gymnasium API of the simulator it learned.

``DreamEnv(model)`` (or ``gymnasium.make("worldsim/Dream-v0", model=DIR)``) is a ``gymnasium.Env`` whose
transition is the world model's ``step`` (one generated frame; the context stays in the model's token form): the
observation is the generated uint8 frame [H, W, 3]; the action
space is ``Discrete(num_actions)`` for a latent-action model and the source task's ``Box`` for a true-action model.
``reset`` starts from the first frames of a held-out episode of the model's dataset (or from
``options={"frames": uint8 [k, H, W, 3]}``, plus ``"actions"`` for the transitions between them when the model
takes true actions). The context kept for the model is bounded by its window, so an episode of any length runs
in constant memory.

Reward: world models here have no reward head, so the reward is 0.0 at every step; ``terminated`` is never set
and ``truncated`` is set after ``max_episode_steps``.
"""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import Env, spaces


class DreamEnv(Env):
    """A world model as a Gymnasium env (see the module docstring).

    Args:
        model: a world model with the inference interface (``start``, ``step``, ``action_mode``, ``num_actions``,
            ``action_space``, ``frame_shape``, ``context_window``, ``reset_frames``), or a directory to load.
        context: frames given to the model at reset (default 1).
        max_episode_steps: steps before ``truncated`` (default 200).
        render_mode: None or ``"rgb_array"`` (the current frame).
        sampling_steps: MaskGIT iterations (Genie) or ODE steps (DiT) per generated frame (the model's default if
            None); fewer is faster.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 25}

    def __init__(
        self,
        model,
        *,
        context: int = 1,
        max_episode_steps: int = 200,
        render_mode: str | None = None,
        sampling_steps: int | None = None,
    ):
        if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
            from . import load

            model = load(model)
        if getattr(model, "condition", None) is not None:
            raise ValueError(f"the model is conditioned on the simulator's {model.condition} images, which a DreamEnv "
                             "does not have (physics conditioning needs the simulator beside it)")  # fmt: skip
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        if not isinstance(context, int) or not 1 <= context <= model.context_window - 1:
            raise ValueError(f"context must be an integer in [1, {model.context_window - 1}], got {context!r}")
        if not isinstance(max_episode_steps, int) or max_episode_steps < 1:
            raise ValueError(f"max_episode_steps must be a positive integer, got {max_episode_steps!r}")
        self.model = model.eval()
        self.context, self.max_episode_steps, self.render_mode = context, max_episode_steps, render_mode
        self.sampling_steps = sampling_steps
        h, w, c = model.frame_shape
        self.observation_space = spaces.Box(0, 255, (h, w, c), np.uint8)
        if model.action_mode == "latent":
            self.action_space = spaces.Discrete(model.num_actions)
        else:
            low, high = model.action_space
            self.action_space = spaces.Box(np.asarray(low, np.float32), np.asarray(high, np.float32), dtype=np.float32)
        if model.dt:
            self.metadata = {**self.metadata, "render_fps": int(round(1.0 / model.dt))}
        self._state: dict | None = None  # the model's rollout state (bounded context, in its own form)
        self._frame: np.ndarray | None = None  # uint8 [H, W, 3], the current observation
        self._t = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        if "frames" in options:
            frames = torch.as_tensor(np.asarray(options["frames"]))
            if (
                frames.dtype != torch.uint8
                or frames.ndim != 4
                or tuple(frames.shape[1:]) != self.observation_space.shape
            ):
                raise ValueError(
                    f"options['frames'] must be uint8 [k, {', '.join(map(str, self.observation_space.shape))}]"
                    f", got {frames.dtype} {list(frames.shape)}"
                )
            actions = options.get("actions")
        else:
            frames, actions = self.model.reset_frames(self.context, self.np_random)
        if len(frames) > 1 and self.model.action_mode == "true" and actions is None:
            raise ValueError("a true-action model needs options['actions'] between the given context frames")
        self._state = self.model.start(frames[None], None if actions is None else torch.as_tensor(actions)[None])
        self._frame = frames[-1].numpy().copy()
        self._t = 0
        # the model's sampling noise (a DiT's) comes from the env's seeded RNG, so a seeded episode repeats exactly
        self._generator = torch.Generator().manual_seed(int(self.np_random.integers(2**62)))
        return self._frame.copy(), {}

    def step(self, action):
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        if not self.action_space.contains(
            np.asarray(action, dtype=self.action_space.dtype) if self.model.action_mode == "true" else action
        ):
            raise ValueError(f"action {action!r} is not in the action space {self.action_space}")
        if self.model.action_mode == "latent":
            a = torch.tensor([int(action)])
        else:
            a = torch.as_tensor(np.asarray(action, np.float32))[None]
        kwargs = {} if self.sampling_steps is None else {"steps": self.sampling_steps}
        frame, self._state = self.model.step(self._state, a, generator=self._generator, **kwargs)
        self._frame = frame[0].numpy()
        self._t += 1
        return self._frame.copy(), 0.0, False, self._t >= self.max_episode_steps, {}

    def render(self):
        if self.render_mode != "rgb_array" or self._frame is None:
            return None
        return self._frame.copy()
