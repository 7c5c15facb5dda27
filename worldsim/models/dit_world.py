"""The flow-matching video world model: a :class:`~worldsim.models.dit.VideoDiT` with diffusion forcing, trained on
a recorded dataset and used through the inference interface shared with the Genie-style model.

What the DiT generates. Every DiT frame ``i`` is one transition of the video: its data is the **frame residual**
``r_i = x_{i+1} - x_i`` (pixels scaled to [-1, 1]), its clean conditioning image is the previous frame ``x_i``
(``cond``, plus optionally the simulator's depth or body-id image of ``x_{i+1}``), and its action is ``a_i``. A
rollout integrates the new residual from noise with the earlier residuals clean as context and adds it to the last
frame. Generating residuals rather than whole frames leaves the static background exact (copy-last-frame is the
residual 0, which the model starts from), so the network's capacity goes to what moves.

Diffusion forcing (Chen et al. 2024): in training every frame of a clip gets its own signal level
(logit-normal); with probability ``clean_context`` all frames but the last are clean (level 1, not scored), the
configuration a rollout uses. At rollout the context residuals are clean (``context_level`` 1, or slightly noised
against drift) and the same network also predicts several frames at once (``predict_frames``).

Directory layout of a trained model (``worldsim train dit --out DIR``)::

    DIR/dit.json     what the model is: dataset, task, dt, preset, action space, action mode, conditioning, sampler
    DIR/dit/         checkpoint.pt (weights, EMA, optimizer, ...) and tb/ (TensorBoard)
    DIR/lam/         the latent action model (``--actions latent`` only)

Sampling uses the EMA weights, ``steps`` Euler or Heun steps (default: :data:`DEFAULT_SAMPLER`) and
classifier-free guidance on the action (``guidance``; 1 = the conditional model, see
:meth:`~worldsim.models.dit.VideoDiT.guided`).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..data import ClipDataset, dataset_info, open_dataset
from .dit import DiTConfig, VideoDiT, sample_next_frame
from .flow import euler_sample, flow_matching_loss, heun_sample, logit_normal_time
from .genie import _load_part, train_part
from .interface import WorldModel, write_model_json
from .training import CHECKPOINT, TrainConfig, train

DIT_FILE = "dit.json"
CONDITIONS = (None, "depth", "body_id")
"""Physics conditioning of :func:`train_dit`: none, the simulator's depth image of each generated frame (1 channel,
``2 / (1 + depth) - 1``, -1 where nothing is hit) or its body-id image (3 channels, a fixed color per body)."""
DEFAULT_SAMPLER = {"sampler": "euler", "steps": 2, "guidance": 1.0, "context_level": 1.0}
"""Sampling settings of a rollout unless given (stored in ``dit.json``; :meth:`DiTWorldModel.rollout` overrides)."""


@dataclass(frozen=True)
class DiTPreset:
    """Network size and training batch of one preset (``small``: minutes on a 2-core CPU; ``base``: a GPU).
    ``network["max_frames"]`` transitions are seen at once: clips of ``max_frames + 1`` frames."""

    network: dict
    batch: int
    lr: float
    clean_context: float = 0.5


DIT_PRESETS = {
    "small": DiTPreset(
        network={
            "patch": 8,
            "dim": 192,
            "depth": 4,
            "heads": 4,
            "max_frames": 3,
            "action_dropout": 0.1,
            "prediction": "data",
        },
        batch=16,
        lr=5e-4,
    ),
    "base": DiTPreset(
        network={
            "patch": 4,
            "dim": 384,
            "depth": 8,
            "heads": 6,
            "max_frames": 8,
            "action_dropout": 0.1,
            "prediction": "data",
        },
        batch=32,
        lr=3e-4,
    ),
}


# ------------------------------------------------------------------------------------------------- the data


def to_signed(frames: Tensor) -> Tensor:
    """uint8 frames ``[..., H, W, 3]`` -> float32 in [-1, 1]."""
    return frames.float() / 127.5 - 1.0


def to_uint8_signed(x: Tensor) -> Tensor:
    """Float frames in [-1, 1] -> uint8 (rounded, clamped)."""
    return ((x.clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)


_BODY_COLORS = torch.rand(256, 3, generator=torch.Generator().manual_seed(1234)) * 2.0 - 1.0


def physics_image(condition: str | None, values: Tensor) -> Tensor | None:
    """The conditioning channels ``[..., H, W, c]`` of a depth image (float m, ``[..., H, W]``; 0 = nothing hit) or
    a body-id image (int, -1 = background); None when ``condition`` is None."""
    if condition is None:
        return None
    if condition == "depth":
        v = values.float()
        return torch.where(v > 0, 2.0 / (1.0 + v.clamp_min(0)) - 1.0, torch.full_like(v, -1.0))[..., None]
    if condition == "body_id":
        ids = values.long()
        colors = _BODY_COLORS.to(ids.device)[ids.clamp(0, 255)]
        return torch.where((ids >= 0)[..., None], colors, torch.zeros_like(colors))
    raise ValueError(f"condition must be one of {CONDITIONS}, got {condition!r}")


def _cond_channels(condition: str | None) -> int:
    return {None: 0, "depth": 1, "body_id": 3}[condition]


def _transitions(frames: Tensor, physics: Tensor | None, condition: str | None) -> tuple[Tensor, Tensor]:
    """(residuals ``[B, T, H, W, 3]``, conditioning images ``[B, T, H, W, c]``) of uint8 frames ``[B, T+1, ...]``;
    ``physics`` ``[B, T+1, H, W]`` is the simulator's depth or body-id image of every frame (or None)."""
    x = to_signed(frames)
    cond = x[:, :-1]
    extra = physics_image(condition, physics[:, 1:]) if condition is not None else None
    if extra is not None:
        cond = torch.cat([cond, extra.to(cond.dtype)], dim=-1)
    return x[:, 1:] - x[:, :-1], cond


def _dit_step(model, batch, *, condition: str | None, clean_context: float, lam=None):
    """Diffusion-forcing flow-matching loss of one batch of clips ``frames`` uint8 [B, L, H, W, 3] and ``actions``
    [B, L-1, A] (or latent codes inferred by ``lam``)."""
    frames = batch["frames"]
    actions = batch["actions"]
    if lam is not None:
        with torch.no_grad():
            actions = lam.to(frames.device).infer_actions(frames)
    data, cond = _transitions(frames, batch.get(condition) if condition else None, condition)
    b, t = data.shape[:2]
    level = logit_normal_time((b, t), device=data.device)
    clean = torch.rand(b, device=data.device) < clean_context
    level[:, :-1] = torch.where(clean[:, None], torch.ones_like(level[:, :-1]), level[:, :-1])
    weight = (level < 1.0).to(data.dtype)  # a clean frame carries no velocity to learn

    def velocity(x, lv):
        return model(x, lv, actions, cond=cond)

    loss = flow_matching_loss(velocity, data, level, weight=weight)
    return loss, {"clean_context": clean.float().mean().item()}


@torch.no_grad()
def _dit_samples(model, batch, *, condition: str | None, lam=None):
    """Per clip (up to 4): the real frames after the first over the frames each generated from the real ones
    before it (one step, 2 Euler steps)."""
    frames = batch["frames"][:4]
    actions = batch["actions"][:4] if lam is None else lam.infer_actions(frames)
    data, cond = _transitions(frames, batch.get(condition)[:4] if condition else None, condition)
    rows = []
    for i in range(len(frames)):
        gen = []
        for s in range(data.shape[1]):
            vel = functools.partial(model, cond=cond[i : i + 1, : s + 1])
            r = sample_next_frame(vel, data[i : i + 1, :s], actions[i : i + 1, : s + 1], steps=2, sampler="euler")
            gen.append(to_uint8_signed(to_signed(frames[i, s]) + r[0]))
        rows += [torch.cat(list(frames[i, 1:].cpu()), 1), torch.cat([g.cpu() for g in gen], 1)]
    return torch.cat(rows, 0)


# --------------------------------------------------------------------------------------------------- training


def train_dit(
    data: str,
    out: str | Path,
    *,
    minutes: float | None = None,
    steps: int | None = None,
    preset: str = "small",
    actions: str = "true",
    condition: str | None = None,
    resume: bool = False,
    seed: int = 0,
    progress: bool = True,
    network: dict | None = None,
    batch_size: int | None = None,
) -> dict:
    """Train a DiT world model on dataset ``data`` into ``out`` (see the module docstring); returns {part: final
    metrics}.

    Args:
        actions: ``"true"`` (the recorded actions) or ``"latent"`` (codes of a latent action model, trained first
            into ``out/lam`` with 30% of the budget unless one is already there, e.g. a Genie model's copied LAM;
            then the DiT gets the whole budget).
        condition: physics conditioning (:data:`CONDITIONS`); the dataset must hold that image.
        minutes / steps: exactly one: the budget (for ``"latent"``, of LAM and DiT together).
        resume: continue ``out/dit/checkpoint.pt``.
        network, batch_size: overrides of the preset's :class:`~worldsim.models.dit.DiTConfig` fields and batch
            (experiments and tests).
    """
    if actions not in ("latent", "true"):
        raise ValueError(f"actions must be 'latent' or 'true', got {actions!r}")
    if condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {CONDITIONS}, got {condition!r}")
    if (minutes is None) == (steps is None):
        raise ValueError("give exactly one of minutes and steps")
    if preset not in DIT_PRESETS:
        raise ValueError(f"unknown preset {preset!r}; known: {sorted(DIT_PRESETS)}")
    p = DIT_PRESETS[preset]
    out = Path(out)
    info = dataset_info(data)
    if info is None:
        raise ValueError(f"dataset {data!r} was not recorded by worldsim.data.record (no worldsim.json)")
    ds = open_dataset(data)
    results: dict = {}
    lam = None
    if actions == "latent":
        if not (out / "lam" / CHECKPOINT).is_file():  # the LAM takes 30% of the budget, the DiT the rest
            lam_budget = {"minutes": None if minutes is None else 0.3 * minutes,
                          "steps": None if steps is None else max(1, round(0.3 * steps))}  # fmt: skip
            results.update(train_part("lam", data, out, **lam_budget, preset=preset, seed=seed, progress=progress,
                                      describe=False))  # fmt: skip
            minutes = None if minutes is None else 0.7 * minutes
            steps = None if steps is None else max(1, round(0.7 * steps))
        lam = _load_part(out, "lam").requires_grad_(False)

    space = ds.action_space
    net = {"image_size": info["size"], "channels": 3, "cond_channels": 3 + _cond_channels(condition), **p.network,
           **(network or {})}  # fmt: skip
    if actions == "latent":
        net["num_actions"] = lam.num_actions
    else:
        net["action_dim"] = int(np.prod(space.shape))
    torch.manual_seed(seed)
    model = VideoDiT(DiTConfig(**net))
    extra_keys = (condition,) if condition else ()
    try:
        clips = ClipDataset(ds, model.config.max_frames + 1, split="train", seed=seed, extra_keys=extra_keys)
    except KeyError as e:
        raise ValueError(f"dataset {data!r} has no {condition!r} images for condition={condition!r}") from e
    cfg = TrainConfig(steps=steps, minutes=minutes, lr=p.lr, seed=seed, batch_size=batch_size or p.batch)
    write_model_json(out / DIT_FILE, data, info, ds, preset, kind="dit", actions=actions,
                     condition=condition or "none", sampling=DEFAULT_SAMPLER)  # fmt: skip
    ck = train(
        model,
        functools.partial(_dit_step, condition=condition, clean_context=p.clean_context, lam=lam),
        clips,
        out / "dit",
        cfg,
        resume=resume,
        sample_fn=functools.partial(_dit_samples, condition=condition, lam=lam),
        extra_state={"config": model.to_config(), "part": "dit", "data": str(data)},
        desc="train dit",
        progress=progress,
    )
    results["dit"] = ck["metrics"]
    return results


# ---------------------------------------------------------------------------------------------- the world model


class DiTWorldModel(WorldModel):
    """The DiT (+ LAM for latent actions) behind the inference interface of :mod:`worldsim.models`.

    Attributes as :class:`~worldsim.models.interface.WorldModel`, plus ``condition`` (physics conditioning or None:
    then ``rollout``/``step`` need the simulator's depth or body-id images of the generated frames) and ``sampling``
    (the default sampler settings).
    """

    def __init__(self, dit: VideoDiT, lam, meta: dict):
        cfg = dit.config
        mode = "latent" if cfg.num_actions is not None else "true"
        super().__init__(meta, action_mode=mode, num_actions=cfg.num_actions, image_size=cfg.image_size,
                         context_window=cfg.max_frames + 1, lam=lam)  # fmt: skip
        self.dit = dit.eval()
        cond = meta.get("condition", "none")
        self.condition = None if cond == "none" else cond
        self.sampling = {**DEFAULT_SAMPLER, **meta.get("sampling", {})}

    def _settings(self, overrides: dict) -> dict:
        s = {**self.sampling, **{k: v for k, v in overrides.items() if v is not None}}
        if s["sampler"] not in ("euler", "heun"):
            raise ValueError(f"sampler must be 'euler' or 'heun', got {s['sampler']!r}")
        if not isinstance(s["steps"], int) or s["steps"] < 1:
            raise ValueError(f"steps must be a positive int, got {s['steps']!r}")
        return s

    @torch.no_grad()
    def start(self, context: Tensor, past_actions: Tensor | None = None, physics: Tensor | None = None) -> dict:
        """The state of a stepwise rollout from ``context`` uint8 [B, k, H, W, 3] and the k-1 actions between its
        frames (see :meth:`~worldsim.models.interface.WorldModel._check_context`); ``physics`` [B, k, H, W], the
        simulator's depth or body-id images of the context frames, for a physics-conditioned model."""
        k_all = context.shape[1] if isinstance(context, Tensor) and context.ndim == 5 else 0
        context, past = self._check_context(context, past_actions)
        dev = self.dit.no_action.device
        frames = context.to(dev)
        phys = None
        if self.condition is not None:
            phys = self._check_physics(physics, frames.shape[0], k_all)[:, -frames.shape[1] :].to(dev)
        resid, cond = _transitions(frames, phys, self.condition)
        return {"last": to_signed(frames[:, -1]), "resid": resid, "cond": cond,
                "actions": None if past is None else past.to(dev)}  # fmt: skip

    def _check_physics(self, physics, b: int, t: int) -> Tensor:
        h, w = self.frame_shape[:2]
        if physics is None or not isinstance(physics, Tensor) or tuple(physics.shape) != (b, t, h, w):
            got = None if not isinstance(physics, Tensor) else list(physics.shape)
            raise ValueError(f"this model is conditioned on {self.condition} images: pass physics [B={b}, {t}, "
                             f"{h}, {w}], got {got}")  # fmt: skip
        return physics

    @torch.no_grad()
    def step(self, state: dict, action, *, physics: Tensor | None = None, generator: torch.Generator | None = None,
             **sampling) -> tuple[Tensor, dict]:  # fmt: skip
        """One generated frame: ``action`` int [B] (latent) or float [B, A] (true) applied to the last frame of
        ``state`` -> (uint8 [B, H, W, 3], the next state). ``physics`` [B, H, W]: the simulator's depth or body-id
        image of the new frame (physics-conditioned models). ``sampling``: ``sampler``, ``steps``, ``guidance``,
        ``context_level`` overriding :attr:`sampling`."""
        s = self._settings(sampling)
        b = state["last"].shape[0]
        a = self._check_actions(torch.as_tensor(action)[:, None], b).to(state["last"].device)
        acts = a if state["actions"] is None else torch.cat([state["actions"], a], 1)
        new_cond = state["last"][:, None]
        if self.condition is not None:
            phys = self._check_physics(None if physics is None else physics[:, None], b, 1).to(new_cond.device)
            new_cond = torch.cat([new_cond, physics_image(self.condition, phys).to(new_cond.dtype)], -1)
        cond = torch.cat([state["cond"], new_cond], 1)
        model = self.dit
        if s["guidance"] == 1.0:
            vel = functools.partial(model, cond=cond)
        else:
            vel = functools.partial(model.guided, scale=s["guidance"], cond=cond)
        r = sample_next_frame(vel, state["resid"], acts, steps=s["steps"], sampler=s["sampler"],
                              context_level=s["context_level"], generator=generator)  # fmt: skip
        frame = to_uint8_signed(state["last"] + r)
        nxt = to_signed(frame)
        resid = torch.cat([state["resid"], (nxt - state["last"])[:, None]], 1)
        resid = resid[:, resid.shape[1] - min(resid.shape[1], self.context_window - 2) :]  # next step: <= max_frames
        return frame.cpu(), {
            "last": nxt,
            "resid": resid,
            "cond": cond[:, cond.shape[1] - resid.shape[1] :],
            "actions": acts[:, acts.shape[1] - resid.shape[1] :] if resid.shape[1] else None,
        }

    @torch.no_grad()
    def rollout(self, context: Tensor, actions, *, past_actions=None, physics: Tensor | None = None,
                generator: torch.Generator | None = None, **sampling) -> Tensor:  # fmt: skip
        """Generate T frames: context uint8 [B, k, H, W, 3], actions [B, T] int (latent) or [B, T, A] float (true)
        -> uint8 [B, T, H, W, 3]. ``past_actions``: the k-1 actions between the context frames (inferred by the
        LAM for a latent model when not given). ``physics`` [B, k+T, H, W]: the simulator's depth or body-id
        images of context and generated frames (physics-conditioned models only). ``sampling`` as in
        :meth:`step`."""
        b = context.shape[0] if isinstance(context, Tensor) else 0
        actions = self._check_actions(actions, b)
        k = context.shape[1] if isinstance(context, Tensor) and context.ndim == 5 else 0
        if self.condition is not None:
            self._check_physics(physics, b, k + actions.shape[1])
        state = self.start(context, past_actions, None if physics is None else physics[:, :k])
        frames = []
        for t in range(actions.shape[1]):
            phys = None if physics is None else physics[:, k + t]
            frame, state = self.step(state, actions[:, t], physics=phys, generator=generator, **sampling)
            frames.append(frame)
        if not frames:
            return context.new_zeros((b, 0, *self.frame_shape))
        return torch.stack(frames, 1)

    @torch.no_grad()
    def predict_frames(self, context: Tensor, actions, *, past_actions=None, generator=None, **sampling) -> Tensor:
        """Video prediction of all T frames at once (diffusion forcing's joint mode): the T new residuals are
        integrated together from noise, each seeing the earlier ones at the same level and conditioned on the
        previous frame as the model's last evaluation predicts it; T + k - 1 <= ``context_window - 1``. Same
        arguments as :meth:`rollout` (no physics conditioning). Its quality beside the frame-by-frame
        :meth:`rollout` is not measured."""
        if self.condition is not None:
            raise ValueError("predict_frames does not take physics conditioning; use rollout")
        s = self._settings(sampling)
        state = self.start(context, past_actions)
        b = state["last"].shape[0]
        acts = self._check_actions(actions, b).to(state["last"].device)
        n_ctx, n_new = state["resid"].shape[1], acts.shape[1]
        if n_ctx + n_new > self.dit.config.max_frames:
            raise ValueError(f"{n_ctx} context transitions + {n_new} new frames exceed the model's "
                             f"{self.dit.config.max_frames}")  # fmt: skip
        all_acts = acts if state["actions"] is None else torch.cat([state["actions"], acts], 1)
        shape = state["last"].shape[1:]
        noise = torch.randn((b, n_new, *shape), generator=generator).to(state["last"].device)
        ctx_level = torch.ones(b, n_ctx, device=noise.device)

        estimate = {"resid": torch.zeros_like(noise)}  # the latest data prediction of the new residuals

        def joint_velocity(x, t):
            # each new frame is conditioned on the previous one as the model currently predicts it (self-conditioning
            # on the last evaluation's clean estimate; zeros = copy-last-frame before the first)
            frames = (state["last"][:, None] + torch.cumsum(estimate["resid"], 1)).clamp(-1, 1)
            prev = torch.cat([state["last"][:, None], frames[:, :-1]], 1)
            cond = torch.cat([state["cond"], prev], 1)
            clip = torch.cat([state["resid"], x], 1)
            level = torch.cat([ctx_level, t[:, None].expand(b, n_new)], 1)
            v = self.dit(clip, level, all_acts, cond=cond)[:, n_ctx:]
            estimate["resid"] = x + (1.0 - t).view(-1, 1, 1, 1, 1) * v
            return v

        integrate = heun_sample if s["sampler"] == "heun" else euler_sample
        resid = integrate(joint_velocity, noise, s["steps"])
        return to_uint8_signed(state["last"][:, None] + torch.cumsum(resid, 1)).cpu()


def load_dit(path: str | Path) -> DiTWorldModel:
    """The DiT world model trained into directory ``path`` (EMA weights)."""
    path = Path(path)
    meta_path = path / DIT_FILE
    if not meta_path.is_file():
        raise FileNotFoundError(f"{path} is not a trained DiT world model (no {DIT_FILE})")
    meta = json.loads(meta_path.read_text())
    ck_path = path / "dit" / CHECKPOINT
    if not ck_path.is_file():
        raise FileNotFoundError(f"no trained DiT at {ck_path}: run `worldsim train dit --out {path}` first")
    ck = torch.load(ck_path, map_location="cpu", weights_only=False)
    dit = VideoDiT.from_config(ck["extra"]["config"])
    dit.load_state_dict(ck["ema"])
    lam = _load_part(path, "lam") if meta.get("actions") == "latent" else None
    return DiTWorldModel(dit, lam, meta)
