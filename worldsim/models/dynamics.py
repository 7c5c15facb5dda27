"""Genie-style dynamics model: predicts the next frame's discrete tokens from past tokens and actions (MaskGIT).

Frames are grids of tokens ``[h, w]`` in ``[0, num_codes)`` (from the video tokenizer); the action ``a[t]`` moves
frame ``t`` to frame ``t + 1`` and is a latent code in ``[0, num_actions)`` (from the latent action model) or a float
vector of ``action_dim`` channels (true actions). The network is a stack of :class:`~worldsim.models.blocks.STBlock`
(spatial attention within a frame, causal temporal attention across frames), so the logits of frame ``t`` depend on
tokens and actions up to ``t`` only, and a clip of ``T`` frames trains all its frames in parallel.

Inputs per token: token embedding (``num_codes + 1`` entries, the last is ``[MASK]``) + learned spatial position +
learned temporal position (``max_context`` of them) + the embedding of the action ``a[t-1]`` that led to the frame
(frame 0 gets a learned "no action" embedding); the action embedding is added again at the input of every block.

Training (:meth:`DynamicsModel.forward`, as Genie and MaskGIT): frame 0 is context only, never masked and never
scored. For each frame ``t >= 1`` a mask ratio ``r = gamma(u)``, ``u ~ U(0, 1)`` (``gamma(u) = cos(pi/2 u)`` for the
cosine schedule), is drawn and ``ceil(r·h·w)`` of its tokens (at least one) are replaced by ``[MASK]``. Unmasked
tokens of every frame are then replaced by uniformly random tokens with probability ``context_noise`` (training mode
only), which teaches the model to tolerate its own mistakes in long rollouts. The loss is the cross-entropy at the
masked positions. Later frames see earlier frames partially masked, like a random-dropout augmentation of the
context; at generation the context is complete.

Generation (:meth:`DynamicsModel.generate`): a fully masked frame is appended to the context and filled in ``steps``
MaskGIT iterations: predict every masked token, keep the most confident so that a fraction ``gamma((i+1)/steps)`` of
the frame stays masked after iteration ``i``, re-mask the rest. The context frames' keys and values of the causal
temporal attention are computed once (a KV cache), so an iteration costs one frame, not ``k + 1``.
:meth:`DynamicsModel.start` / :meth:`DynamicsModel.step` (and :meth:`DynamicsModel.rollout_tokens` on top of them)
repeat this autoregressively over a window of at most ``max_context`` frames that keeps its cache between frames and
is cut to its last half when full, so the cost per frame does not grow with the horizon.

Example::

    cfg = DynamicsConfig(num_codes=512, token_shape=(16, 16), action="latent", num_actions=8)
    model = DynamicsModel(cfg)
    out = model(tokens, actions)            # tokens [B, T, 16, 16] long, actions [B, T-1] long
    out["loss"].backward()
    frames = model.eval().rollout_tokens(tokens[:, :1], actions)    # [B, T-1, 16, 16]
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import describe as _describe
from .blocks import MLP, STBlock

__all__ = ["ACTION_KINDS", "MASK_SCHEDULES", "ActionEmbedding", "DynamicsConfig", "DynamicsModel", "mask_ratio"]

ACTION_KINDS = ("latent", "true")
"""``DynamicsConfig.action``: discrete latent codes (long ``[..]``) or true float actions (``[.., action_dim]``)."""

MASK_SCHEDULES = ("cosine", "linear")
"""``DynamicsConfig.mask_schedule``: ``gamma(u) = cos(pi/2 u)`` or ``1 - u``, see :func:`mask_ratio`."""


def mask_ratio(u: Tensor, schedule: str) -> Tensor:
    """Fraction of tokens masked at progress ``u`` in [0, 1]: ``gamma(0) = 1`` (all masked), ``gamma(1) = 0``.

    Training draws ``u ~ U(0, 1)``; generation step ``i`` of ``n`` leaves ``gamma((i + 1) / n)`` masked.
    """
    if schedule == "cosine":
        return torch.cos(0.5 * math.pi * u)
    if schedule == "linear":
        return 1.0 - u
    raise ValueError(f"mask schedule {schedule!r} is not one of {MASK_SCHEDULES}")


@dataclass
class DynamicsConfig:
    """Shape and training options of a :class:`DynamicsModel`.

    Attributes:
        num_codes: token vocabulary ``K`` (the tokenizer's codebook size); ``[MASK]`` is the extra id ``K``.
        token_shape: ``(h, w)`` tokens per frame.
        dim: channels of the transformer.
        depth: number of :class:`~worldsim.models.blocks.STBlock`.
        heads: attention heads; ``dim`` must be a multiple.
        mlp_ratio: MLP hidden channels per channel.
        relative_position: add a learned 2-D relative position bias to spatial attention
            (:class:`~worldsim.models.blocks.RelativePositionBias`), besides the absolute position embeddings.
        max_context: the most frames the model sees at once (its temporal positions); longer inputs raise, and
            rollouts keep the last ``max_context`` frames.
        action: ``"latent"`` (codes in ``[0, num_actions)``) or ``"true"`` (float vectors of ``action_dim``).
        num_actions: number of latent action codes (``action="latent"``).
        action_dim: channels of a true action (``action="true"``, required there).
        mask_schedule: ``"cosine"`` or ``"linear"``, see :func:`mask_ratio`.
        context_noise: probability that an unmasked token is replaced by a uniformly random one in training.
        dropout: dropout probability in the transformer, in training mode.
    """

    num_codes: int
    token_shape: tuple[int, int]
    dim: int = 256
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 4.0
    relative_position: bool = True
    max_context: int = 16
    action: str = "latent"
    num_actions: int = 8
    action_dim: int | None = None
    mask_schedule: str = "cosine"
    context_noise: float = 0.1
    dropout: float = 0.0

    def __post_init__(self):
        self.token_shape = tuple(int(n) for n in self.token_shape)
        if len(self.token_shape) != 2 or min(self.token_shape) < 1:
            raise ValueError(f"DynamicsConfig.token_shape must be two positive ints (h, w), got {self.token_shape}")
        if self.num_codes < 1:
            raise ValueError(f"DynamicsConfig.num_codes must be >= 1, got {self.num_codes}")
        if self.dim % self.heads:
            raise ValueError(f"DynamicsConfig.dim={self.dim} is not a multiple of heads={self.heads}")
        if self.max_context < 2:
            raise ValueError(
                f"DynamicsConfig.max_context must be >= 2 (a context frame and a predicted one), got {self.max_context}"
            )
        if self.action not in ACTION_KINDS:
            raise ValueError(f"DynamicsConfig.action must be one of {ACTION_KINDS}, got {self.action!r}")
        if self.action == "latent" and self.num_actions < 1:
            raise ValueError(f"DynamicsConfig.num_actions must be >= 1, got {self.num_actions}")
        if self.action == "true" and (self.action_dim is None or self.action_dim < 1):
            raise ValueError(
                f"DynamicsConfig.action_dim must be a positive int for action='true', got {self.action_dim}"
            )
        if self.mask_schedule not in MASK_SCHEDULES:
            raise ValueError(
                f"DynamicsConfig.mask_schedule must be one of {MASK_SCHEDULES}, got {self.mask_schedule!r}"
            )
        if not 0.0 <= self.context_noise < 1.0:
            raise ValueError(f"DynamicsConfig.context_noise must be in [0, 1), got {self.context_noise}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"DynamicsConfig.dropout must be in [0, 1), got {self.dropout}")


class ActionEmbedding(nn.Module):
    """Per-frame conditioning from the actions between frames, for latent and true actions alike.

    ``forward(actions)`` with ``actions [B, T-1]`` (long, ``action="latent"``) or ``[B, T-1, action_dim]`` (float,
    ``action="true"``) returns ``[B, T, dim]``: row 0 a learned "no action" vector, row ``t`` the embedding of
    ``a[t-1]`` (an ``nn.Embedding`` for latent codes, an MLP for true actions). Inputs are checked by the caller.
    """

    def __init__(self, config: DynamicsConfig):
        super().__init__()
        self.kind = config.action
        if self.kind == "latent":
            self.embed = nn.Embedding(config.num_actions, config.dim)
        else:
            self.embed = MLP(config.action_dim, config.dim, out_dim=config.dim)
        self.no_action = nn.Parameter(torch.zeros(config.dim))

    def embed_steps(self, actions: Tensor) -> Tensor:
        """``actions [B, n]`` or ``[B, n, action_dim]`` -> ``[B, n, dim]``: the embeddings alone, without the "no
        action" row."""
        if self.kind == "true":
            actions = actions.to(self.no_action.dtype)
        return self.embed(actions)

    def forward(self, actions: Tensor) -> Tensor:
        """``actions [B, T-1]`` or ``[B, T-1, action_dim]`` -> ``[B, T, dim]``."""
        emb = self.embed_steps(actions)  # [B, T-1, dim]
        return torch.cat([self.no_action.expand(emb.shape[0], 1, -1), emb], dim=1)


class DynamicsModel(nn.Module):
    """MaskGIT dynamics model over token frames ``[B, T, h, w]``; see the module docstring.

    Attributes:
        config: the :class:`DynamicsConfig`.
        mask_id: the ``[MASK]`` token id, ``config.num_codes``.
    """

    def __init__(self, config: DynamicsConfig):
        super().__init__()
        self.config = config
        self.mask_id = config.num_codes
        h, w = config.token_shape
        self.token_embed = nn.Embedding(config.num_codes + 1, config.dim)
        self.pos_spatial = nn.Parameter(torch.zeros(h * w, config.dim))
        self.pos_temporal = nn.Parameter(torch.zeros(config.max_context, config.dim))
        self.action_embed = ActionEmbedding(config)
        self.blocks = nn.ModuleList(
            STBlock(
                config.dim,
                config.heads,
                mlp_ratio=config.mlp_ratio,
                dropout=config.dropout,
                grid=config.token_shape if config.relative_position else None,
            )
            for _ in range(config.depth)
        )
        self.norm = nn.LayerNorm(config.dim)
        self.head = nn.Linear(config.dim, config.num_codes)
        self.apply(_init_weights)
        for p in (self.pos_spatial, self.pos_temporal, self.action_embed.no_action):
            nn.init.normal_(p, std=0.02)

    # ------------------------------------------------------------------------------------------------ config

    def to_config(self) -> dict:
        """The config as a json-able dict; ``DynamicsModel.from_config(model.to_config())`` rebuilds the model."""
        d = asdict(self.config)
        d["token_shape"] = list(d["token_shape"])
        return d

    @classmethod
    def from_config(cls, config: dict | DynamicsConfig) -> DynamicsModel:
        """A freshly initialized model from :meth:`to_config`'s dict (or a :class:`DynamicsConfig`)."""
        if isinstance(config, DynamicsConfig):
            return cls(config)
        known = {f.name for f in fields(DynamicsConfig)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(f"DynamicsModel.from_config: unknown keys {unknown}; known are {sorted(known)}")
        return cls(DynamicsConfig(**config))

    # ------------------------------------------------------------------------------------------------ checks

    def _check_tokens(self, tokens: Tensor, name: str, *, allow_mask: bool = False, crop: bool = False) -> None:
        """``crop``: any number of frames (a context, of which the caller keeps the last), else ``T <= max_context``."""
        h, w = self.config.token_shape
        if not isinstance(tokens, Tensor) or tokens.dtype.is_floating_point or tokens.dtype == torch.bool:
            raise ValueError(f"{name} must be an integer tensor of token ids, got {_describe(tokens)}")
        if tokens.dim() != 4 or tuple(tokens.shape[2:]) != (h, w) or tokens.shape[1] < 1:
            raise ValueError(f"{name} must have shape [B, T, {h}, {w}] with T >= 1, got {tuple(tokens.shape)}")
        if not crop and tokens.shape[1] > self.config.max_context:
            raise ValueError(
                f"{name} has T={tokens.shape[1]} frames but max_context={self.config.max_context}: "
                f"crop to the last {self.config.max_context} frames"
            )
        top = self.mask_id if allow_mask else self.mask_id - 1
        if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) > top):
            what = f"[0, {self.mask_id}] ({self.mask_id} is [MASK])" if allow_mask else f"[0, {self.mask_id})"
            raise ValueError(f"{name} has ids in [{int(tokens.min())}, {int(tokens.max())}], expected {what}")

    def _check_actions(self, actions: Tensor, lead: tuple[int, ...], name: str) -> None:
        """``actions`` must be ``[*lead]`` latent codes or ``[*lead, action_dim]`` finite floats."""
        cfg = self.config
        if cfg.action == "latent":
            expect = f"an integer tensor of shape {list(lead)} with codes in [0, {cfg.num_actions})"
            ok = isinstance(actions, Tensor) and not actions.dtype.is_floating_point and actions.dtype != torch.bool
            if not ok or tuple(actions.shape) != lead:
                raise ValueError(f"{name} must be {expect} (action='latent'), got {_describe(actions)}")
            if actions.numel() and (int(actions.min()) < 0 or int(actions.max()) >= cfg.num_actions):
                raise ValueError(
                    f"{name} has codes in [{int(actions.min())}, {int(actions.max())}], expected [0, {cfg.num_actions})"
                )
        else:
            shape = (*lead, cfg.action_dim)
            if not isinstance(actions, Tensor) or not actions.dtype.is_floating_point or tuple(actions.shape) != shape:
                raise ValueError(
                    f"{name} must be a float tensor of shape {list(shape)} (action='true'), got {_describe(actions)}"
                )
            if not bool(torch.isfinite(actions).all()):
                raise ValueError(f"{name} has NaN or inf entries")

    # ------------------------------------------------------------------------------------------------ network

    def _embed(self, tokens: Tensor, cond: Tensor, start: int) -> Tensor:
        """Input vectors ``[B, T, S, dim]`` of ``tokens [B, T, S]`` at temporal positions ``start..start+T-1`` with
        their frames' action conditioning ``cond [B, T, dim]``."""
        pos = self.pos_temporal[start : start + tokens.shape[1], None]
        return self.token_embed(tokens) + self.pos_spatial + pos + cond[:, :, None]

    def _logits(self, tokens: Tensor, actions: Tensor) -> Tensor:
        """Unchecked network: ``tokens [B, T, S]`` (ids in ``[0, K]``), actions for ``T-1`` steps ->
        logits ``[B, T, S, K]``."""
        cond = self.action_embed(actions)  # [B, T, dim]
        x = self._embed(tokens, cond, 0)
        for block in self.blocks:
            x = block(x, cond)
        return self.head(self.norm(x))

    def _context_cache(self, tokens: Tensor, cond: Tensor) -> list[tuple[Tensor, Tensor]]:
        """Per block, the temporal keys and values of context frames ``tokens [B, k, S]`` (conditioning
        ``cond [B, k, dim]``), for :meth:`_next_frame_logits`. Computed once per generated frame."""
        x = self._embed(tokens, cond, 0)
        cache = []
        for block in self.blocks:
            x, kv = block(x, cond, return_kv=True)
            cache.append(kv)
        return cache

    def _next_frame_logits(self, frame: Tensor, cond: Tensor, cache: list[tuple[Tensor, Tensor]]) -> Tensor:
        """Logits ``[B, 1, S, K]`` of one frame ``frame [B, 1, S]`` (``cond [B, 1, dim]``) that follows the context
        of ``cache``: equal to the last frame of :meth:`_logits` on context + frame, at the cost of one frame."""
        k = cache[0][0].shape[2] if cache else 0
        x = self._embed(frame, cond, k)
        for block, kv in zip(self.blocks, cache, strict=True):
            x = block(x, cond, past_kv=kv)
        return self.head(self.norm(x))

    def predict_logits(self, tokens: Tensor, actions: Tensor) -> Tensor:
        """Logits of every token given the tokens as they are: no masking, no noise.

        Args:
            tokens: ``[B, T, h, w]`` integer ids in ``[0, K]``; ``K`` (``mask_id``) marks a token to predict.
            actions: ``[B, T-1]`` latent codes or ``[B, T-1, action_dim]`` floats; ``actions[:, t]`` moves frame
                ``t`` to ``t + 1``.

        Returns:
            ``[B, T, h, w, K]`` logits; those of frame ``t`` depend on frames and actions before ``t`` and the
            tokens of frame ``t`` only.
        """
        self._check_tokens(tokens, "tokens", allow_mask=True)
        b, t, h, w = tokens.shape
        self._check_actions(actions, (b, t - 1), "actions")
        return self._logits(tokens.reshape(b, t, h * w), actions).view(b, t, h, w, -1)

    def forward(self, tokens: Tensor, actions: Tensor, *, generator: torch.Generator | None = None) -> dict:
        """Masked-token training objective on a clip (see the module docstring).

        Args:
            tokens: ``[B, T, h, w]`` integer ids in ``[0, K)``, ``2 <= T <= max_context``.
            actions: ``[B, T-1]`` latent codes (long) or ``[B, T-1, action_dim]`` floats.
            generator: draws the masks and the context noise (on ``tokens.device``); torch's global RNG if None.

        Returns:
            dict with ``loss`` (scalar, cross-entropy at masked tokens), ``acc`` (scalar, no grad, argmax accuracy
            there), ``logits`` ``[B, T, h, w, K]`` and ``mask`` ``[B, T, h, w]`` bool (the scored tokens).
        """
        self._check_tokens(tokens, "tokens")
        b, t, h, w = tokens.shape
        if t < 2:
            raise ValueError(f"tokens must have T >= 2 frames to train (frame 0 is context only), got T={t}")
        self._check_actions(actions, (b, t - 1), "actions")
        s, dev = h * w, tokens.device
        target = tokens.reshape(b, t, s).long()
        # mask ceil(gamma(u)·S) >= 1 random tokens of each frame t >= 1
        n_masked = mask_ratio(torch.rand(b, t, 1, generator=generator, device=dev), self.config.mask_schedule) * s
        n_masked = n_masked.ceil().clamp_(1, s)
        rank = torch.rand(b, t, s, generator=generator, device=dev).argsort(-1).argsort(-1)  # random permutation
        mask = rank < n_masked
        mask[:, 0] = False
        inputs = target.masked_fill(mask, self.mask_id)
        if self.training and self.config.context_noise > 0:
            noisy = (torch.rand(b, t, s, generator=generator, device=dev) < self.config.context_noise) & ~mask
            random_tokens = torch.randint(0, self.config.num_codes, (b, t, s), generator=generator, device=dev)
            inputs = torch.where(noisy, random_tokens, inputs)
        logits = self._logits(inputs, actions)  # [B, T, S, K]
        picked, truth = logits[mask], target[mask]  # [M, K], [M]
        loss = F.cross_entropy(picked.float(), truth)
        with torch.no_grad():
            acc = (picked.argmax(-1) == truth).float().mean()
        return {"loss": loss, "acc": acc, "logits": logits.view(b, t, h, w, -1), "mask": mask.view(b, t, h, w)}

    # ------------------------------------------------------------------------------------------------ sampling

    def _check_sampling(self, steps: int, temperature: float) -> None:
        if not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps must be an int >= 1, got {steps!r}")
        if not temperature >= 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")

    def _decode_frame(
        self,
        cond: Tensor,
        cache: list[tuple[Tensor, Tensor]],
        steps: int,
        temperature: float,
        generator: torch.Generator | None,
    ) -> Tensor:
        """MaskGIT: the tokens ``[B, S]`` of the frame after the context of ``cache``, conditioned on ``cond
        [B, 1, dim]``, in ``steps`` iterations (see the module docstring)."""
        b, s = cond.shape[0], self.config.token_shape[0] * self.config.token_shape[1]
        current = torch.full((b, s), self.mask_id, dtype=torch.long, device=cond.device)  # the new frame
        n_masked = s
        for i in range(steps):
            if n_masked == 0:
                break
            logits = self._next_frame_logits(current[:, None], cond, cache)[:, 0].float()  # [B, S, K]
            masked = current == self.mask_id
            if temperature == 0:
                probs = logits.softmax(-1)
                sampled = probs.argmax(-1)
            else:
                probs = (logits / temperature).softmax(-1)
                sampled = torch.multinomial(probs.view(b * s, -1), 1, generator=generator).view(b, s)
            confidence = probs.gather(-1, sampled[..., None])[..., 0]
            sampled = torch.where(masked, sampled, current)
            confidence = torch.where(masked, confidence, torch.full_like(confidence, math.inf))
            # after this iteration gamma((i+1)/steps) of the frame stays masked, at least one fewer than before
            left = (
                0
                if i == steps - 1
                else int(s * float(mask_ratio(torch.tensor((i + 1) / steps), self.config.mask_schedule)))
            )
            left = max(0, min(left, n_masked - 1))
            rank = confidence.argsort(-1, descending=True).argsort(-1)  # 0 = most confident
            current = sampled.masked_fill(rank >= s - left, self.mask_id)
            n_masked = left
        return current

    def _context(self, context: Tensor, past_actions: Tensor | None, lead_action: Tensor) -> tuple[Tensor, Tensor]:
        """Check ``context [B, k, h, w]`` and its ``k-1`` ``past_actions`` (``lead_action`` is any action of the batch,
        for an empty default) and keep the last ``max_context - 1`` frames: ``(tokens [B, k', S], actions)``."""
        self._check_tokens(context, "context", crop=True)
        b, k, h, w = context.shape
        if past_actions is None:
            if k > 1:
                raise ValueError(
                    f"past_actions is required for a context of k={k} frames (the k-1 actions between them); "
                    "pass context[:, -1:] to start from the last frame alone"
                )
            past_actions = lead_action[:, None][:, :0]
        self._check_actions(past_actions, (b, k - 1), "past_actions")
        context, past_actions = _crop(context, past_actions, self.config.max_context - 1)
        return context.reshape(b, context.shape[1], h * w).long(), past_actions

    @torch.no_grad()
    def generate(
        self,
        context: Tensor,
        actions: Tensor,
        *,
        past_actions: Tensor | None = None,
        steps: int = 4,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """The next frame's tokens after ``context``, by ``steps`` MaskGIT iterations. Call in eval mode.

        Args:
            context: ``[B, k, h, w]`` integer ids in ``[0, K)``; only the last ``max_context - 1`` frames are used.
            actions: the action moving the last context frame to the new one: ``[B]`` latent codes or
                ``[B, action_dim]`` floats.
            past_actions: the ``k - 1`` actions between the context frames, ``[B, k-1]`` or ``[B, k-1, action_dim]``;
                required when ``k > 1`` (to start from the last frame alone, pass ``context[:, -1:]``).
            steps: MaskGIT iterations (>= 1); ``steps >= h·w`` decodes one token per iteration.
            temperature: softmax temperature of the sampling; 0 takes the most likely token (argmax).
            generator: random generator of the sampling (on ``context.device``); torch's global RNG if None.

        Returns:
            ``[B, h, w]`` long token ids in ``[0, K)``.
        """
        self._check_sampling(steps, temperature)
        self._check_tokens(context, "context", crop=True)
        b = context.shape[0]
        self._check_actions(actions, (b,), "actions")
        tokens, past = self._context(context, past_actions, actions)
        k = tokens.shape[1]
        cond = self.action_embed(torch.cat([past, actions[:, None]], dim=1))  # [B, k+1, dim]
        cache = self._context_cache(tokens, cond[:, :k])
        return self._decode_frame(cond[:, k:], cache, steps, temperature, generator).view(b, *self.config.token_shape)

    @torch.no_grad()
    def start(self, context: Tensor, past_actions: Tensor | None = None) -> dict:
        """State of a stepwise rollout (:meth:`step`) from ``context [B, k, h, w]`` and the ``k - 1``
        ``past_actions`` between its frames (as in :meth:`generate`). Call in eval mode.

        The state holds up to ``max_context`` frames (at first the last ``W = max_context - 1`` of ``context``), the
        actions between them and the temporal attention's keys and values of those frames (a KV cache). Each step
        appends the new frame to the cache at the cost of one frame; a step that finds no room for a new frame first
        cuts the window to its last ``ceil(W / 2)`` frames, whose cache is recomputed once (their positions restart
        at 0 and the first gets the "no action" embedding, as the first frame of a training clip). The model thus
        always predicts from between ``min(k, ceil(W / 2))`` and ``W`` past frames.
        """
        self._check_tokens(context, "context", crop=True)
        b = context.shape[0]
        lead = torch.zeros((b,), dtype=torch.long) if self.config.action == "latent" else None
        if lead is None:
            lead = torch.zeros((b, self.config.action_dim), dtype=self.pos_spatial.dtype)
        tokens, past = self._context(context, past_actions, lead.to(self.pos_spatial.device))
        return self._start(tokens, past)

    def _start(self, tokens: Tensor, past: Tensor) -> dict:
        cond = self.action_embed(past)  # [B, k, dim]
        return {"tokens": tokens, "actions": past, "cache": self._context_cache(tokens, cond)}

    @torch.no_grad()
    def step(
        self,
        state: dict,
        action: Tensor,
        *,
        steps: int = 4,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, dict]:
        """One new frame from a rollout state (:meth:`start`): ``action`` ``[B]`` (latent) or ``[B, action_dim]``
        (true) applied to its last frame -> (tokens ``[B, h, w]``, the next state). ``steps``, ``temperature``,
        ``generator`` as in :meth:`generate`. The state passed in is not modified."""
        self._check_sampling(steps, temperature)
        tokens, past, cache = state["tokens"], state["actions"], state["cache"]
        b, k = tokens.shape[:2]
        self._check_actions(action, (b,), "action")
        window = self.config.max_context - 1
        if k > window:  # no room for a new frame: cut the window to its last half and rebuild the cache
            keep = (window + 1) // 2
            tokens, past = tokens[:, k - keep :], past[:, past.shape[1] - (keep - 1) :]
            cache = self._start(tokens, past)["cache"]
            k = keep
        cond = self.action_embed.embed_steps(action[:, None])  # [B, 1, dim]
        new = self._decode_frame(cond, cache, steps, temperature, generator)  # [B, S]
        # append the new frame (with all its tokens now known) to the cache
        x = self._embed(new[:, None], cond, k)
        new_cache = []
        for block, (ck, cv) in zip(self.blocks, cache, strict=True):
            x, (nk, nv) = block(x, cond, past_kv=(ck, cv), return_kv=True)
            new_cache.append((torch.cat([ck, nk], dim=2), torch.cat([cv, nv], dim=2)))
        state = {
            "tokens": torch.cat([tokens, new[:, None]], dim=1),
            "actions": torch.cat([past, action[:, None].to(past.dtype)], dim=1),
            "cache": new_cache,
        }
        return new.view(b, *self.config.token_shape), state

    @torch.no_grad()
    def rollout_tokens(
        self,
        context: Tensor,
        actions: Tensor,
        *,
        past_actions: Tensor | None = None,
        steps: int = 4,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Autoregressive rollout of ``T`` new frames by :meth:`start` and :meth:`step` (a bounded window with a KV
        cache: the model never sees more than ``max_context`` frames, and memory does not grow). Call in eval mode.

        Args:
            context: ``[B, k, h, w]`` integer ids in ``[0, K)``.
            actions: ``[B, T]`` latent codes or ``[B, T, action_dim]`` floats; ``actions[:, t]`` moves the last known
                frame to new frame ``t``.
            past_actions, steps, temperature, generator: as in :meth:`generate`.

        Returns:
            ``[B, T, h, w]`` long token ids of the new frames.
        """
        self._check_tokens(context, "context", crop=True)
        b, k, h, w = context.shape
        ndim = 2 if self.config.action == "latent" else 3
        if not isinstance(actions, Tensor) or actions.dim() != ndim or actions.shape[0] != b:
            want = "[B, T]" if self.config.action == "latent" else f"[B, T, {self.config.action_dim}]"
            raise ValueError(f"actions must have shape {want} with B={b}, got {_describe(actions)}")
        self._check_actions(actions, (b, actions.shape[1]), "actions")
        self._check_sampling(steps, temperature)
        state = self.start(context, past_actions)
        return self.continue_rollout(state, actions, steps=steps, temperature=temperature, generator=generator)[0]

    @torch.no_grad()
    def continue_rollout(
        self,
        state: dict,
        actions: Tensor,
        *,
        steps: int = 4,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, dict]:
        """``T`` new frames from a rollout state (:meth:`start`) by :meth:`step`: ``actions [B, T]`` (latent) or
        ``[B, T, action_dim]`` (true) -> (tokens ``[B, T, h, w]``, the state after them)."""
        frames = []
        for t in range(actions.shape[1]):
            nxt, state = self.step(state, actions[:, t], steps=steps, temperature=temperature, generator=generator)
            frames.append(nxt)
        if not frames:
            b = state["tokens"].shape[0]
            return state["tokens"].new_zeros((b, 0, *self.config.token_shape)), state
        return torch.stack(frames, dim=1), state


def _crop(frames: Tensor, between: Tensor, keep: int) -> tuple[Tensor, Tensor]:
    """The last ``keep`` frames ``[B, <=keep, ...]`` and the ``<= keep - 1`` actions between them."""
    frames = frames[:, max(0, frames.shape[1] - keep) :]
    return frames, between[:, between.shape[1] - (frames.shape[1] - 1) :]


def _init_weights(module: nn.Module) -> None:
    """GPT-2 initialization: normal(0, 0.02) weights, zero biases, unit LayerNorms."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, std=0.02)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
