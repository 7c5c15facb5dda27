"""What every world model of worldsim shares: the inference interface's argument checks, the held-out start frames
of DreamEnv, LAM action inference, the model directory's description file, and :func:`load`, which opens any
trained model directory.

Inference interface (see :mod:`worldsim.models`): ``rollout(context uint8 [B, k, H, W, 3], actions [B, T] int
(latent) or [B, T, A] float (true)) -> uint8 [B, T, H, W, 3]``, the stepwise ``state = start(context,
past_actions)`` / ``frame, state = step(state, action)``, ``infer_actions(frames)`` for models with a LAM, and the
attributes ``action_mode``, ``num_actions``, ``action_space``, ``frame_shape``, ``context_window``, ``dt``,
``data``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._files import atomic_path
from ..data import open_dataset, split_episodes
from .lam import LatentActionModel


class WorldModel(nn.Module):
    """Base of the world models (:class:`~worldsim.models.GenieWorldModel`,
    :class:`~worldsim.models.DiTWorldModel`): the attributes and checks of the inference interface.

    Args:
        meta: the model directory's description (``action_space`` [[low...], [high...]], ``dt``, ``data``).
        action_mode: ``"latent"`` or ``"true"``.
        num_actions: latent codes (latent mode) or None.
        image_size: frame height and width in pixels.
        context_window: frames the model sees at once (a rollout keeps at most ``context_window - 1`` known frames).
        lam: the latent action model (latent mode), or None.
    """

    def __init__(self, meta: dict, *, action_mode: str, num_actions: int | None, image_size: int,
                 context_window: int, lam: LatentActionModel | None = None):  # fmt: skip
        super().__init__()
        self.lam = None if lam is None else lam.eval()
        self.action_mode = action_mode
        self.num_actions = num_actions
        self.action_space = tuple(np.asarray(x, np.float32) for x in meta["action_space"])
        self.frame_shape = (image_size, image_size, 3)
        self.context_window = context_window
        self.dt = float(meta.get("dt", 0.0))
        self.data = meta.get("data")
        self.task = meta.get("task")  # the task its dataset was recorded from (None if unknown)

    def _check_actions(self, actions, b: int) -> torch.Tensor:
        """``actions`` as the model takes them: int [B, T] (latent) or float [B, T, A] clamped to the action space
        (true)."""
        if self.action_mode == "latent":
            actions = torch.as_tensor(actions)
            if actions.dtype.is_floating_point or actions.ndim != 2 or actions.shape[0] != b:
                raise ValueError(
                    f"a latent-action model takes int actions [B={b}, T], got {actions.dtype} {list(actions.shape)}"
                )
            return actions.long()
        actions = torch.as_tensor(actions, dtype=torch.float32)
        if actions.ndim != 3 or actions.shape[0] != b or actions.shape[2] != len(self.action_space[0]):
            raise ValueError(
                f"a true-action model takes float actions [B={b}, T, A={len(self.action_space[0])}], got "
                f"{list(actions.shape)}"
            )
        return actions.clamp(torch.from_numpy(self.action_space[0]), torch.from_numpy(self.action_space[1]))

    def _check_context(self, context: torch.Tensor, past_actions) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(the last ``context_window - 1`` frames of ``context`` uint8 [B, k, H, W, 3], the actions between them);
        the k-1 ``past_actions`` are inferred by the LAM for a latent model when not given and required for a
        true-action model with k > 1."""
        if (
            not isinstance(context, torch.Tensor)
            or context.dtype != torch.uint8
            or context.ndim != 5
            or tuple(context.shape[2:]) != self.frame_shape
        ):
            got = f"{context.dtype} {list(context.shape)}" if isinstance(context, torch.Tensor) else type(context)
            raise ValueError(f"context must be uint8 [B, k, {', '.join(map(str, self.frame_shape))}], got {got}")
        b, k = context.shape[:2]
        if k == 0:
            raise ValueError("context must hold at least one frame")
        if past_actions is None and k > 1:
            if self.action_mode == "true":
                raise ValueError(f"a true-action model needs the {k - 1} past_actions between the {k} context frames")
            past_actions = self.infer_actions(context)
        past = None if past_actions is None else self._check_actions(past_actions, b)
        if past is not None and past.shape[1] != k - 1:
            raise ValueError(f"past_actions must hold k-1 = {k - 1} actions (dim 1), got {past.shape[1]}")
        context = context[:, -(self.context_window - 1) :]
        past = None if past is None else past[:, past.shape[1] - (context.shape[1] - 1) :]
        return context, past

    @torch.no_grad()
    def infer_actions(self, frames: torch.Tensor) -> torch.Tensor:
        """Latent codes int [B, T] of the T transitions of ``frames`` uint8 [B, T+1, H, W, 3] (by the LAM)."""
        if self.lam is None:
            raise ValueError("this world model was trained with true actions and has no latent action model")
        return torch.stack([infer_episode_actions(self.lam, f) for f in frames])

    def reset_frames(self, k: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``k`` consecutive frames (uint8 [k, H, W, 3]) from a random held-out episode of the training dataset, and
        the k-1 true actions between them (None for latent models: the LAM infers them)."""
        if self.data is None:
            raise ValueError("the model does not know its dataset; pass options={'frames': ...} to reset")
        if not hasattr(self, "_heldout"):
            ds = open_dataset(self.data)
            _, held = split_episodes(ds.episode_indices, 0.1, 0)
            self._heldout = list(ds.iterate_episodes(episode_indices=held))
        ep = self._heldout[int(rng.integers(len(self._heldout)))]
        start = int(rng.integers(0, max(1, len(ep.observations["pixels"]) - k + 1)))
        frames = torch.from_numpy(np.ascontiguousarray(ep.observations["pixels"][start : start + k]))
        acts = (
            None
            if self.action_mode == "latent"
            else torch.from_numpy(np.asarray(ep.actions[start : start + k - 1], np.float32))
        )
        return frames, acts


@torch.no_grad()
def infer_episode_actions(lam: LatentActionModel, frames: torch.Tensor) -> torch.Tensor:
    """Latent codes [T] of an episode's T transitions (frames uint8 [T+1, H, W, 3]), in windows of the LAM's
    ``max_frames`` frames overlapping by one frame (the LAM's encoder is causal in time)."""
    lam.eval()
    window = lam.config.max_frames
    codes = []
    start = 0
    while start < len(frames) - 1:
        chunk = frames[start : start + window]
        codes.append(lam.infer_actions(chunk[None])[0])
        start += len(chunk) - 1
    return torch.cat(codes)


def write_model_json(path: Path, data: str, info: dict, ds, preset: str, **fields) -> None:
    """Write (or update) a model directory's description file ``path`` atomically: the dataset, task, frame time,
    preset and action space, plus ``fields``."""
    meta = json.loads(path.read_text()) if path.is_file() else {}
    space = ds.action_space
    meta.update(
        {
            "data": str(data),
            "task": info["task"],
            "dt": info["dt"],
            "preset": preset,
            "action_space": [np.asarray(space.low).tolist(), np.asarray(space.high).tolist()],
            **{k: v for k, v in fields.items() if v is not None},
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(meta, indent=2))


def load(path: str | Path) -> WorldModel:
    """The world model trained into directory ``path`` (EMA weights), ready for ``rollout``: a
    :class:`~worldsim.models.DiTWorldModel` (``worldsim train dit``) or a :class:`~worldsim.models.GenieWorldModel`
    (``worldsim train genie`` / ``dynamics``)."""
    from .dit_world import DIT_FILE, load_dit
    from .genie import GENIE_FILE, load_genie

    path = Path(path)
    if (path / DIT_FILE).is_file():
        return load_dit(path)
    if (path / GENIE_FILE).is_file():
        return load_genie(path)
    raise FileNotFoundError(f"{path} is not a trained world model (no {DIT_FILE} or {GENIE_FILE})")
