"""The Genie-style world model: video tokenizer + latent action model + dynamics model, trained part by part on a
recorded dataset, and behind one inference interface.

Directory layout of a trained model (``worldsim train genie --out DIR``)::

    DIR/genie.json            what the model is: dataset, action mode, action space, preset, dt
    DIR/tokenizer/            checkpoint.pt (weights, EMA, optimizer, ...) and tb/ (TensorBoard)
    DIR/lam/                  the same for the latent action model (when trained)
    DIR/dynamics/             the same for the dynamics model

:func:`train_part` trains one part (``tokenizer``, ``lam``, ``dynamics``) or all three (``genie``) with
:func:`worldsim.models.training.train`; :func:`load` returns a :class:`GenieWorldModel` built from the EMA weights.

Inference interface (shared by every world model of worldsim): ``rollout(context uint8 [B, k, H, W, 3], actions
[B, T] int (latent) or [B, T, A] float (true)) -> uint8 [B, T, H, W, 3]`` where the action at index t moves the last
known frame to the next; ``infer_actions(frames [B, T+1, H, W, 3]) -> int [B, T]`` for models with a LAM; and the
stepwise form that :class:`~worldsim.models.DreamEnv` uses, ``state = start(context)``, ``frame, state =
step(state, action)``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from ..data import ClipDataset, dataset_info, open_dataset, split_episodes
from .dynamics import DynamicsConfig, DynamicsModel
from .interface import WorldModel, infer_episode_actions, write_model_json
from .lam import LAMConfig, LatentActionModel
from .tokenizer import TokenizerConfig, VideoTokenizer, to_uint8
from .training import CHECKPOINT, TrainConfig, train

PARTS = ("tokenizer", "lam", "dynamics")
GENIE_FILE = "genie.json"


@dataclass(frozen=True)
class Preset:
    """Model sizes and batch/clip settings of one preset (``small``: minutes on a 2-core CPU; ``base``: a GPU).

    The dynamics model trains on clips of exactly ``dynamics["max_context"]`` frames, so that every temporal position
    a rollout uses has been trained (a shorter training clip leaves the last positions' embeddings untrained, and a
    rollout collapses when its window reaches them).
    """

    tokenizer: dict
    lam: dict
    dynamics: dict
    tokenizer_batch: int
    lam_batch: int
    lam_clip: int
    dynamics_batch: int
    lr: float


PRESETS = {
    "small": Preset(
        tokenizer={"downsample": 8, "channels": (32, 64, 128), "res_blocks": 1, "num_codes": 256, "code_dim": 32},
        lam={"patch": 8, "dim": 96, "depth": 2, "decoder_depth": 2, "heads": 4, "max_frames": 8},
        dynamics={"dim": 128, "depth": 3, "heads": 4, "max_context": 6, "context_noise": 0.05},
        tokenizer_batch=32,
        lam_batch=8,
        lam_clip=4,
        dynamics_batch=8,
        lr=1e-3,
    ),
    "base": Preset(
        tokenizer={"downsample": 4, "channels": (64, 128), "res_blocks": 2, "num_codes": 1024, "code_dim": 32},
        lam={"patch": 8, "dim": 256, "depth": 4, "decoder_depth": 4, "heads": 8, "max_frames": 16},
        dynamics={"dim": 512, "depth": 8, "heads": 8, "max_context": 12},
        tokenizer_batch=64,
        lam_batch=16,
        lam_clip=8,
        dynamics_batch=16,
        lr=3e-4,
    ),
}


def _preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {sorted(PRESETS)}")
    return PRESETS[name]


# ------------------------------------------------------------------------------------------------ training steps


def _tokenizer_step(model, batch):
    frames = batch["frames"].flatten(0, 1)  # [B·L, H, W, 3]
    out = model(frames)
    return out["loss"], {
        "recon_loss": out["recon_loss"].item(),
        "perplexity": out["perplexity"].item(),
        "usage": out["usage"].item(),
    }


def _lam_step(model, batch):
    out = model(batch["frames"])
    return out["loss"], {
        "recon_loss": out["recon_loss"].item(),
        "perplexity": out["perplexity"].item(),
        "usage": out["usage"].item(),
    }


def _dynamics_step(model, batch):
    out = model(batch["tokens"], batch["actions"])
    return out["loss"], {"acc": out["acc"].item()}


def _tokenizer_samples(model, batch):
    frames = batch["frames"][:4, 0]
    recon = to_uint8(model(frames)["recon"])
    return torch.cat([torch.cat(list(frames.cpu()), 1), torch.cat(list(recon.cpu()), 1)], 0)  # real over recon


def _lam_samples(model, batch):
    """Per clip (up to 4): the real frames 1..T over the LAM decoder's predictions of them."""
    frames = batch["frames"][:4]
    recon = to_uint8(model(frames)["recon"]).cpu()
    rows = [torch.cat(list(clip), 1) for pair in zip(frames[:, 1:].cpu(), recon, strict=True) for clip in pair]
    return torch.cat(rows, 0)


def _dynamics_samples(tokenizer, model, batch):
    """Per clip (up to 4): the real clip over the same clip with its last frame generated from the others (greedy
    MaskGIT), both decoded by the tokenizer."""
    tokens, actions = batch["tokens"][:4], batch["actions"][:4]
    nxt = model.generate(tokens[:, :-1], actions[:, -1], past_actions=actions[:, :-1], temperature=0.0)
    real = to_uint8(tokenizer.decode(tokens)).cpu()  # [b, L, H, W, 3]
    fake = torch.cat([real[:, :-1], to_uint8(tokenizer.decode(nxt[:, None])).cpu()], 1)
    return torch.cat([torch.cat(list(clip), 1) for pair in zip(real, fake, strict=True) for clip in pair], 0)


# ------------------------------------------------------------------------------------------------- token clips


class TokenClips(Dataset):
    """Clips of tokenized frames for the dynamics model: ``tokens`` long [L, h, w] and ``actions`` [L-1] (latent
    codes from the LAM) or [L-1, A] (true actions), over the episodes of ``split``."""

    def __init__(self, episodes: list[dict], clip_len: int):
        self.episodes = episodes
        self.clip_len = clip_len
        self.index = [(e, s) for e, ep in enumerate(episodes) for s in range(len(ep["tokens"]) - clip_len + 1)]
        if not self.index:
            raise ValueError(f"no episode has {clip_len} frames for the dynamics model's clips")

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict:
        e, s = self.index[i]
        ep, L = self.episodes[e], self.clip_len
        return {"tokens": ep["tokens"][s : s + L], "actions": ep["actions"][s : s + L - 1]}


@torch.no_grad()
def tokenize_episodes(
    data: str, tokenizer: VideoTokenizer, lam: LatentActionModel | None, episode_ids: list[int], batch: int = 64
) -> list[dict]:
    """Per episode: ``tokens`` [T+1, h, w] and ``actions`` (true actions [T, A], or with a LAM its inferred codes
    [T], each inferred from a window of up to ``max_frames`` frames ending at the transition's target frame)."""
    ds = open_dataset(data)
    tokenizer.eval()
    out = []
    for ep in ds.iterate_episodes(episode_indices=episode_ids):
        frames = torch.from_numpy(np.ascontiguousarray(ep.observations["pixels"]))
        tokens = torch.cat([tokenizer.encode(frames[i : i + batch]) for i in range(0, len(frames), batch)])
        if lam is None:
            actions = torch.from_numpy(np.asarray(ep.actions, np.float32))
        else:
            actions = infer_episode_actions(lam, frames)
        out.append({"tokens": tokens, "actions": actions})
    return out


# --------------------------------------------------------------------------------------------------- training


def _parts_dir(out: Path, part: str) -> Path:
    return out / part


def _load_part(out: Path, part: str, ema: bool = True) -> nn.Module:
    path = _parts_dir(out, part) / CHECKPOINT
    if not path.is_file():
        raise FileNotFoundError(f"no trained {part} at {path}: run `worldsim train {part} --out {out}` first")
    ck = torch.load(path, map_location="cpu", weights_only=False)
    cls = {"tokenizer": VideoTokenizer, "lam": LatentActionModel, "dynamics": DynamicsModel}[part]
    model = cls.from_config(ck["extra"]["config"])
    model.load_state_dict(ck["ema"] if ema else ck["model"])
    return model.eval()


def train_part(
    part: str,
    data: str,
    out: str | Path,
    *,
    minutes: float | None = None,
    steps: int | None = None,
    preset: str = "small",
    actions: str = "latent",
    resume: bool = False,
    seed: int = 0,
    progress: bool = True,
    describe: bool = True,
) -> dict:
    """Train ``part`` (``tokenizer``, ``lam``, ``dynamics`` or ``genie`` = all three in sequence, with the time or
    step budget split 40/25/35%) on dataset ``data`` into ``out``. Returns {part: final metrics}.

    The dynamics model needs the tokenizer (and for ``actions="latent"`` the LAM) already trained in ``out``.
    ``describe=False`` leaves out ``out/genie.json`` (for a LAM trained as a part of another kind of model).
    """
    if part not in (*PARTS, "genie"):
        raise ValueError(f"unknown part {part!r}; one of {(*PARTS, 'genie')}")
    if actions not in ("latent", "true"):
        raise ValueError(f"actions must be 'latent' or 'true', got {actions!r}")
    if (minutes is None) == (steps is None):
        raise ValueError("give exactly one of minutes and steps")
    p = _preset(preset)
    out = Path(out)
    info = dataset_info(data)
    if info is None:
        raise ValueError(f"dataset {data!r} was not recorded by worldsim.data.record (no worldsim.json)")
    if part == "genie":
        shares = (
            {"tokenizer": 0.4, "lam": 0.25, "dynamics": 0.35}
            if actions == "latent"
            else {"tokenizer": 0.5, "dynamics": 0.5}
        )
        results = {}
        for sub, share in shares.items():
            done = (_parts_dir(out, sub) / CHECKPOINT).is_file()
            results.update(
                train_part(
                    sub,
                    data,
                    out,
                    minutes=None if minutes is None else minutes * share,
                    steps=None if steps is None else max(1, round(steps * share)),
                    preset=preset,
                    actions=actions,
                    resume=resume and done,
                    seed=seed,
                    progress=progress,
                )
            )
        return results

    cfg = TrainConfig(steps=steps, minutes=minutes, lr=p.lr, seed=seed, batch_size=1)
    torch.manual_seed(seed)  # the model's initial weights
    ds = open_dataset(data)
    size = info["size"]
    if part == "tokenizer":
        model = VideoTokenizer.from_config(TokenizerConfig(image_size=size, **p.tokenizer))
        clips = ClipDataset(ds, 2, split="train", seed=seed)
        cfg.batch_size = max(1, p.tokenizer_batch // 2)
        step_fn, sample_fn = _tokenizer_step, _tokenizer_samples
    elif part == "lam":
        model = LatentActionModel.from_config(LAMConfig(image_size=size, **p.lam))
        clips = ClipDataset(ds, p.lam_clip, split="train", seed=seed)
        cfg.batch_size, step_fn, sample_fn = p.lam_batch, _lam_step, _lam_samples
    else:
        tokenizer = _load_part(out, "tokenizer")
        lam = _load_part(out, "lam") if actions == "latent" else None
        train_ids, _ = split_episodes(ds.episode_indices, 0.1, seed)
        episodes = tokenize_episodes(data, tokenizer, lam, train_ids)
        dyn = {"num_codes": tokenizer.num_codes, "token_shape": tokenizer.token_shape, "action": actions, **p.dynamics}
        if actions == "latent":
            dyn["num_actions"] = lam.num_actions
        else:
            dyn["action_dim"] = int(ds.action_space.shape[0])
        model = DynamicsModel.from_config(DynamicsConfig(**dyn))
        clips = TokenClips(episodes, model.config.max_context)
        cfg.batch_size, step_fn = p.dynamics_batch, _dynamics_step
        sample_fn = functools.partial(_dynamics_samples, tokenizer)
    if describe:
        write_model_json(out / GENIE_FILE, data, info, ds, preset, actions=actions if part == "dynamics" else None)
    ck = train(
        model,
        step_fn,
        clips,
        _parts_dir(out, part),
        cfg,
        resume=resume,
        sample_fn=sample_fn,
        extra_state={"config": model.to_config(), "part": part, "data": str(data)},
        desc=f"train {part}",
        progress=progress,
    )
    return {part: ck["metrics"]}


# ---------------------------------------------------------------------------------------------- the world model


class GenieWorldModel(WorldModel):
    """Tokenizer + dynamics (+ LAM) behind the inference interface (see the module docstring).

    Attributes: ``action_mode`` (``"latent"`` or ``"true"``), ``num_actions`` (latent codes, or None),
    ``action_space`` ((low, high) of true actions), ``frame_shape`` (H, W, 3), ``context_window`` (frames the
    dynamics model sees at once), ``dt`` (seconds per frame), ``data`` (the dataset it was trained on).
    """

    def __init__(self, tokenizer: VideoTokenizer, dynamics: DynamicsModel, lam: LatentActionModel | None, meta: dict):
        action_mode = dynamics.config.action
        super().__init__(
            meta,
            action_mode=action_mode,
            num_actions=dynamics.config.num_actions if action_mode == "latent" else None,
            image_size=tokenizer.config.image_size,
            context_window=dynamics.config.max_context,
            lam=lam,
        )
        self.tokenizer, self.dynamics = tokenizer.eval(), dynamics.eval()

    @torch.no_grad()
    def start(self, context: torch.Tensor, past_actions: torch.Tensor | None = None) -> dict:
        """The state of a stepwise rollout (:meth:`step`) from ``context`` uint8 [B, k, H, W, 3]: its tokens and the
        k-1 actions between its frames (inferred by the LAM for a latent model when not given; required for a
        true-action model with k > 1). Keeps at most ``context_window - 1`` frames."""
        context, past = self._check_context(context, past_actions)
        return self.dynamics.start(self.tokenizer.encode(context), past)

    @torch.no_grad()
    def step(
        self,
        state: dict,
        action: torch.Tensor,
        *,
        steps: int = 4,
        temperature: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, dict]:
        """One generated frame: ``action`` int [B] (latent) or float [B, A] (true) applied to the last frame of
        ``state`` (from :meth:`start`) -> (uint8 [B, H, W, 3], the next state). Only the new frame is tokenized
        back to pixels; the context stays in tokens (and in the dynamics model's KV cache)."""
        a = self._check_actions(torch.as_tensor(action)[:, None], state["tokens"].shape[0])  # [B, 1] or [B, 1, A]
        nxt, state = self.dynamics.step(state, a[:, 0], steps=steps, temperature=temperature, generator=generator)
        return to_uint8(self.tokenizer.decode(nxt[:, None]))[:, 0], state

    @torch.no_grad()
    def rollout(
        self,
        context: torch.Tensor,
        actions: torch.Tensor,
        *,
        past_actions: torch.Tensor | None = None,
        steps: int = 4,
        temperature: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Generate T frames: context uint8 [B, k, H, W, 3], actions [B, T] int (latent) or [B, T, A] float (true)
        → uint8 [B, T, H, W, 3]. ``past_actions`` are the k-1 actions between the context frames; for a latent model
        they are inferred by the LAM when not given; a true-action model with k > 1 needs them. ``steps`` MaskGIT
        iterations per frame; ``temperature`` 0 decodes greedily."""
        state = self.start(context, past_actions)
        actions = self._check_actions(actions, context.shape[0])
        if actions.shape[1] == 0:
            return context.new_zeros((context.shape[0], 0, *self.frame_shape))
        new, _ = self.dynamics.continue_rollout(
            state, actions, steps=steps, temperature=temperature, generator=generator
        )
        return to_uint8(self.tokenizer.decode(new))


def load_genie(path: str | Path) -> GenieWorldModel:
    """The world model trained into directory ``path`` (EMA weights), ready for ``rollout``."""
    path = Path(path)
    meta_path = path / GENIE_FILE
    if not meta_path.is_file():
        raise FileNotFoundError(f"{path} is not a trained world model (no {GENIE_FILE})")
    meta = json.loads(meta_path.read_text())
    dynamics = _load_part(path, "dynamics")
    lam = _load_part(path, "lam") if dynamics.config.action == "latent" else None
    return GenieWorldModel(_load_part(path, "tokenizer"), dynamics, lam, meta)
