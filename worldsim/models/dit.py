"""Video diffusion transformer (DiT) with diffusion forcing: the network of worldsim's flow-matching world model.

Input: a clip ``x [B, T, H, W, C]`` in which every frame ``t`` sits at its own signal level ``level[b, t]`` in [0, 1]
on the flow-matching path (:mod:`worldsim.models.flow`: 0 is noise, 1 is the clean frame), the action that led to
frame ``t`` (``[B, T-1]`` actions: frame 0's is a learned "no action"; or ``[B, T]``, one per frame), and optionally
``cond [B, T, H, W, cond_channels]``, clean images concatenated to each frame's channels before the patch embedding
(the world model gives each frame the previous real frame there, and optionally the simulator's depth or body-id
image). Output: the velocity ``[B, T, H, W, C]`` of every frame. Training draws an independent level per frame
(diffusion forcing, Chen et al. 2024); rollouts keep the context frames clean (level 1, or slightly below against
drift) and integrate the new frame from noise.

Network: patchify (``patch`` px) -> linear embedding + learned spatial positions + learned temporal positions ->
``depth`` :class:`~worldsim.models.dit_blocks.AdaLNZeroBlock` (spatial attention, causal temporal attention, MLP)
conditioned per frame on ``c = MLP(sinusoid(level)) + action embedding`` -> AdaLN-modulated final linear layer
(zero-initialized, so the untrained network outputs 0: velocity 0, or with ``prediction="data"`` the clean
frame 0) -> unpatchify. Frame ``t``'s output depends on
frames, levels and actions ``0..t`` only.

Classifier-free guidance: with ``action_dropout`` in training, a frame's action embedding is replaced by the learned
"null action" vector; :meth:`VideoDiT.guided` combines ``v = v_null + w · (v_cond - v_null)`` (w = 1: conditional).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
from torch import Tensor, nn

from .blocks import MLP, patchify, unpatchify
from .dit_blocks import AdaLNZeroBlock
from .flow import euler_sample, heun_sample, interpolate

__all__ = ["DiTConfig", "PREDICTIONS", "VideoDiT", "level_embedding", "sample_next_frame"]

PREDICTIONS = ("velocity", "data")
MIN_NOISE = 0.05
"""Floor of ``1 - t`` when a data prediction is turned into a velocity (bounds the velocity as ``t -> 1``)."""


@dataclass
class DiTConfig:
    """Shape of a :class:`VideoDiT`.

    Attributes:
        image_size: frame height and width in pixels (square frames).
        channels: channels per pixel (3 for RGB, or a latent's channels).
        patch: patch size in pixels (divides ``image_size``).
        dim, depth, heads, mlp_ratio: transformer width, blocks, heads, MLP hidden channels per channel.
        max_frames: the most frames seen at once (learned temporal positions).
        action_dim: channels of a true action (float); ``None`` with ``num_actions`` for latent codes.
        num_actions: number of latent action codes (int actions) when ``action_dim`` is None.
        action_dropout: probability, in training, that a frame's action is replaced by the null action (for
            classifier-free guidance).
        cond_channels: channels of the clean conditioning images ``cond`` given with every frame (0: none).
        prediction: what the output layer predicts: ``"velocity"`` (directly), or ``"data"``, the clean frame
            ``x̂1``, turned into the velocity ``(x̂1 - x_t) / max(1 - t, 0.05)`` (x-prediction, as in Li & He 2025,
            "Back to Basics: Let Denoising Generative Models Denoise"). With large patches (8x8x3 = 192 values per
            token of a 192-channel model) a velocity network must carry the noise through its bottleneck; a data
            network only outputs the clean frame, and the noise is added back exactly.
    """

    image_size: int = 64
    channels: int = 3
    patch: int = 4
    dim: int = 256
    depth: int = 6
    heads: int = 4
    mlp_ratio: float = 4.0
    max_frames: int = 8
    action_dim: int | None = None
    num_actions: int | None = None
    action_dropout: float = 0.1
    cond_channels: int = 0
    prediction: str = "velocity"

    def __post_init__(self):
        if self.image_size < 1 or self.patch < 1 or self.image_size % self.patch:
            raise ValueError(f"DiTConfig.patch={self.patch} must divide image_size={self.image_size}")
        if self.dim % self.heads:
            raise ValueError(f"DiTConfig.dim={self.dim} is not a multiple of heads={self.heads}")
        if (self.action_dim is None) == (self.num_actions is None):
            raise ValueError("DiTConfig needs exactly one of action_dim (true actions) and num_actions (latent codes)")
        if (self.action_dim is not None and self.action_dim < 1) or (
            self.num_actions is not None and self.num_actions < 1
        ):
            raise ValueError("DiTConfig.action_dim / num_actions must be positive")
        if not 0.0 <= self.action_dropout < 1.0:
            raise ValueError(f"DiTConfig.action_dropout must be in [0, 1), got {self.action_dropout}")
        if self.max_frames < 1 or self.depth < 1 or self.channels < 1:
            raise ValueError("DiTConfig.max_frames, depth and channels must be positive")
        if self.prediction not in PREDICTIONS:
            raise ValueError(f"DiTConfig.prediction must be one of {PREDICTIONS}, got {self.prediction!r}")
        if self.cond_channels < 0:
            raise ValueError(f"DiTConfig.cond_channels must be >= 0, got {self.cond_channels}")


def level_embedding(level: Tensor, dim: int, max_period: float = 10_000.0) -> Tensor:
    """Sinusoidal features ``[..., dim]`` of signal levels ``level [...]`` in [0, 1] (scaled by 1000, as DiT does
    with diffusion timesteps)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=level.device) / half)
    args = 1000.0 * level.float()[..., None] * freqs
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    return nn.functional.pad(emb, (0, dim % 2))


class VideoDiT(nn.Module):
    """The velocity network; see the module docstring. ``forward(x, level, actions) -> velocity``."""

    def __init__(self, config: DiTConfig):
        super().__init__()
        self.config = cfg = config
        n_patches = (cfg.image_size // cfg.patch) ** 2
        patch_dim = cfg.patch * cfg.patch * cfg.channels
        self.embed = nn.Linear(cfg.patch * cfg.patch * (cfg.channels + cfg.cond_channels), cfg.dim)
        self.pos_spatial = nn.Parameter(torch.randn(n_patches, cfg.dim) * 0.02)
        self.pos_temporal = nn.Parameter(torch.randn(cfg.max_frames, cfg.dim) * 0.02)
        self.level_mlp = MLP(cfg.dim, cfg.dim, out_dim=cfg.dim)
        if cfg.action_dim is not None:
            self.action_embed = MLP(cfg.action_dim, cfg.dim, out_dim=cfg.dim)
        else:
            self.action_embed = nn.Embedding(cfg.num_actions, cfg.dim)
        self.no_action = nn.Parameter(torch.randn(cfg.dim) * 0.02)  # frame 0 (no action led to it)
        self.null_action = nn.Parameter(torch.randn(cfg.dim) * 0.02)  # dropped for classifier-free guidance
        self.blocks = nn.ModuleList(
            AdaLNZeroBlock(cfg.dim, cfg.heads, mlp_ratio=cfg.mlp_ratio) for _ in range(cfg.depth)
        )
        self.final_norm = nn.LayerNorm(cfg.dim, elementwise_affine=False)
        self.final_mod = nn.Sequential(nn.SiLU(), nn.Linear(cfg.dim, 2 * cfg.dim))
        self.final = nn.Linear(cfg.dim, patch_dim)
        for layer in (self.final_mod[1], self.final):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def to_config(self) -> dict:
        """A json-able dict; ``VideoDiT.from_config(model.to_config())`` rebuilds the architecture."""
        return asdict(self.config)

    @classmethod
    def from_config(cls, config: dict | DiTConfig) -> VideoDiT:
        if isinstance(config, DiTConfig):
            return cls(config)
        unknown = sorted(set(config) - {f.name for f in fields(DiTConfig)})
        if unknown:
            raise ValueError(f"VideoDiT.from_config: unknown keys {unknown}")
        return cls(DiTConfig(**config))

    def _action_cond(self, actions: Tensor, b: int, t: int, null_actions: bool) -> Tensor:
        """Per-frame action embeddings ``[B, T, dim]`` from ``T-1`` actions (frame 0 gets "no action") or ``T``."""
        cfg = self.config
        n = actions.shape[1] if actions.dim() >= 2 else -1
        if cfg.action_dim is not None:
            ok = actions.dtype.is_floating_point and actions.dim() == 3 and tuple(actions.shape[::2]) == (
                b, cfg.action_dim)  # fmt: skip
            want = f"float [B, T-1 or T, {cfg.action_dim}] with B={b}, T={t}"
        else:
            ok = not actions.dtype.is_floating_point and actions.dim() == 2 and actions.shape[0] == b
            want = f"int [B, T-1 or T] with B={b}, T={t}, codes in [0, {cfg.num_actions})"
        if not ok or n not in (t - 1, t):
            raise ValueError(f"actions must be {want}, got {actions.dtype} {list(actions.shape)}")
        emb = self.action_embed(actions.to(self.no_action.dtype) if cfg.action_dim is not None else actions)
        drop = None
        if null_actions:
            drop = torch.ones(b, n, dtype=torch.bool, device=emb.device)
        elif self.training and cfg.action_dropout > 0:
            drop = torch.rand(b, n, device=emb.device) < cfg.action_dropout
        if drop is not None:
            emb = torch.where(drop[..., None], self.null_action.expand_as(emb), emb)
        if n == t:
            return emb
        return torch.cat([self.no_action.expand(b, 1, -1), emb], dim=1)  # [B, T, dim]

    def forward(
        self, x: Tensor, level: Tensor, actions: Tensor, *, cond: Tensor | None = None, null_actions: bool = False
    ) -> Tensor:
        """Velocity of every frame.

        Args:
            x: ``[B, T, H, W, C]`` frames on the flow path (T <= max_frames).
            level: ``[B, T]`` signal levels in [0, 1].
            actions: ``[B, T-1, action_dim]`` floats or ``[B, T-1]`` latent codes, where ``actions[:, t]`` leads to
                frame ``t + 1``; or ``[B, T, ...]``, one per frame (``actions[:, t]`` leads to frame ``t``).
            cond: ``[B, T, H, W, cond_channels]`` clean conditioning images (required iff ``cond_channels > 0``).
            null_actions: replace every action by the null action (the unconditional branch of guidance).

        Returns:
            ``[B, T, H, W, C]`` velocities.
        """
        cfg = self.config
        shape = (cfg.image_size, cfg.image_size, cfg.channels)
        if x.dim() != 5 or tuple(x.shape[2:]) != shape or not 1 <= x.shape[1] <= cfg.max_frames:
            raise ValueError(
                f"x must be [B, T, {', '.join(map(str, shape))}] with 1 <= T <= {cfg.max_frames}, got {list(x.shape)}"
            )
        b, t = x.shape[:2]
        if tuple(level.shape) != (b, t):
            raise ValueError(f"level must have shape [B, T] = {[b, t]}, got {list(level.shape)}")
        if cfg.cond_channels:
            want = (b, t, *shape[:2], cfg.cond_channels)
            if cond is None or tuple(cond.shape) != want:
                got = None if cond is None else list(cond.shape)
                raise ValueError(f"cond must have shape [B, T, H, W, cond_channels] = {list(want)}, got {got}")
            x = torch.cat([x, cond.to(x.dtype)], dim=-1)
        elif cond is not None:
            raise ValueError("cond given to a VideoDiT built with cond_channels=0")
        c = self.level_mlp(level_embedding(level, cfg.dim).to(x.dtype)) + self._action_cond(actions, b, t, null_actions)
        h = self.embed(patchify(x, cfg.patch)) + self.pos_spatial + self.pos_temporal[:t, None]
        for block in self.blocks:
            h = block(h, c)
        shift, scale = self.final_mod(c)[:, :, None].chunk(2, dim=-1)
        out = self.final(self.final_norm(h) * (1 + scale) + shift)
        out = unpatchify(out, cfg.patch, cfg.image_size, cfg.image_size)
        if cfg.prediction == "data":
            noisy = x[..., : cfg.channels]
            return (out - noisy) / (1.0 - level).clamp_min(MIN_NOISE).reshape(b, t, 1, 1, 1).to(out.dtype)
        return out

    def guided(self, x: Tensor, level: Tensor, actions: Tensor, scale: float, *, cond: Tensor | None = None) -> Tensor:
        """Classifier-free guidance on the action: ``v_null + scale · (v_cond - v_null)`` (the convention of Ho &
        Salimans; ``scale = 1`` is the conditional model, one network call; ``scale = 0`` the unconditional one;
        ``scale > 1`` follows the action more strongly)."""
        v_cond = self(x, level, actions, cond=cond)
        if scale == 1.0:
            return v_cond
        v_null = self(x, level, actions, cond=cond, null_actions=True)
        return v_null + scale * (v_cond - v_null)


@torch.no_grad()
def sample_next_frame(
    velocity,
    context: Tensor,
    actions: Tensor,
    *,
    steps: int = 4,
    sampler: str = "heun",
    context_level: float = 1.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """The frame after ``context`` by integrating the flow ODE of the last frame only (diffusion forcing rollout).

    Args:
        velocity: ``velocity(x [B, k+1, ...], level [B, k+1], actions [B, k, ...]) -> [B, k+1, ...]``, e.g. a
            :class:`VideoDiT` or ``functools.partial(VideoDiT.guided, model, scale=w)``.
        context: ``[B, k, H, W, C]`` known frames (on the data scale the model was trained on).
        actions: the ``k`` actions: ``k-1`` between the context frames and the one leading to the new frame.
        steps: sampler steps (Euler: one network call each; Heun: two).
        sampler: ``"euler"`` or ``"heun"``.
        context_level: signal level given to the context frames (1 = clean; slightly lower, with that much noise
            mixed in, makes a model trained with diffusion forcing tolerate its own earlier errors).
        generator: draws the initial noise (and the context noise when ``context_level < 1``).

    Returns:
        ``[B, H, W, C]`` the new frame at level 1.
    """
    if sampler not in ("euler", "heun"):
        raise ValueError(f"sampler must be 'euler' or 'heun', got {sampler!r}")
    if not 0.0 < context_level <= 1.0:
        raise ValueError(f"context_level must be in (0, 1], got {context_level}")
    b, k = context.shape[:2]
    if context_level < 1.0:
        noise = torch.randn(context.shape, generator=generator, dtype=context.dtype, device=context.device)
        level = torch.full((b, k), context_level, dtype=context.dtype, device=context.device)
        context = interpolate(noise, context, level)
    ctx_level = torch.full((b, k), context_level, dtype=context.dtype, device=context.device)

    def last_frame_velocity(x: Tensor, t: Tensor) -> Tensor:
        clip = torch.cat([context, x[:, None]], dim=1)
        level = torch.cat([ctx_level, t[:, None]], dim=1)
        return velocity(clip, level, actions)[:, -1]

    x0 = torch.randn(context.shape[:1] + context.shape[2:], generator=generator, dtype=context.dtype)
    integrate = heun_sample if sampler == "heun" else euler_sample
    return integrate(last_frame_velocity, x0.to(context.device), steps)
