"""Latent action model (LAM, Genie): discovers a small discrete set of actions from unlabeled video.

For a clip of ``T + 1`` frames it infers one latent action ``a_t`` in ``[0, num_codes)`` per transition
``t -> t + 1``, through a VQ bottleneck so narrow (Genie: 8 codes) that the only thing worth encoding is what the
agent did:

- **Encoder** (sees frames ``<= t + 1``): frames ``[B, T+1, H, W, 3]`` are cut into ``patch x patch`` patches, embedded
  linearly with learned space and time positions, and mixed by a spatiotemporal transformer whose blocks alternate
  spatial attention within a frame and *causal* temporal attention across frames at each patch position. The
  output tokens of frame ``t + 1`` (which by causality depend on frames ``0..t+1`` only) are mean-pooled, projected
  to ``code_dim`` and quantized: ``a_t``.
- **Decoder** (sees frames ``<= t`` and ``a_t``): the patch tokens of frames ``0..T-1``, with the projected action
  vector of ``a_t`` added to every token of frame ``t``, go through a second causal spatiotemporal transformer; a
  linear head per patch and a sigmoid give the pixels of frame ``t + 1`` (with ``residual``, the head gives their
  change from frame ``t``). Training minimizes the MSE to the true
  next frames plus the VQ commitment loss.

Anti-collapse: the decoder never sees frame ``t + 1``, so whatever changes from ``t`` to ``t + 1`` and cannot be
guessed from the past must pass through ``a_t`` (Genie's argument). On our scenes (small bodies over a still
background) that alone is not enough: every transition gets the same code within ~100 steps (the encoder's
output drifts as one cloud and one code catches all of it) and stays there while the decoder learns to ignore
the action. What helped, in 3-minute runs on the CartPole dataset of ``benchmarks/world_model.py`` (held-out
codes used; decoder PSNR with inferred minus random codes): ``beta`` 0.25 (VQ-VAE's usual weight): 1 of 8 codes;
``beta`` 0.001: 2 codes, 0.02 dB; plus ``motion_input`` (the encoder sees each patch beside its change from the
previous frame): 8 codes, 3.2 dB. Hence the defaults: a commitment weight on the scale of the per-pixel
reconstruction loss (~1e-4 on such frames) and ``motion_input``. Escaping the one-code state still depends on
the initial weights: other seeds stayed on 1-2 codes for the 3 minutes, and neither batch-normalizing the latent
actions, an attention-pooling action token, encoding each transition on its own, nor a faster codebook EMA
changed that (tried, not kept). In the 12-minute runs of the benchmark both tasks leave it after ~600 steps
(batch perplexity 5-6 of 8 from step ~1000 on). The EMA codebook is seeded by k-means++ and restarts dead codes
(:class:`~worldsim.models.quantizers.VectorQuantizer`). Options: ``residual`` (the decoder predicts the change
from frame ``t``), ``past_dropout`` (masks a fraction of the decoder's past-frame tokens in training).

Example::

    lam = LatentActionModel(LAMConfig(image_size=64))
    out = lam(clips)                           # clips uint8 [B, T+1, 64, 64, 3]
    out["loss"].backward()
    codes = lam.infer_actions(clips)           # [B, T] in [0, 8)
    nxt = lam.predict_next(clips[:, :1], torch.full((B,), 3))  # what code 3 does to the first frame
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .blocks import STBlock, patchify, unpatchify
from .quantizers import QUANTIZER_KINDS, make_quantizer
from .tokenizer import _config_from_dict, _shape, check_frames

__all__ = ["LAMConfig", "LatentActionModel"]


@dataclass
class LAMConfig:
    """Hyperparameters of :class:`LatentActionModel`.

    Attributes:
        image_size: side of the square frames [pixels]; divisible by ``patch``.
        patch: side of a patch [pixels].
        dim: transformer width.
        depth: spatiotemporal blocks of the encoder.
        decoder_depth: spatiotemporal blocks of the decoder.
        heads: attention heads (``dim`` divisible by ``heads``).
        mlp_ratio: MLP hidden width / ``dim``.
        max_frames: most frames per clip (``T + 1``): the length of the learned time embedding.
        quantizer: ``"vq"`` (EMA codebook with dead-code restarts; Genie) or ``"fsq"``.
        num_codes: number of latent actions. ``None`` means 8 for VQ; for FSQ it is ``prod(fsq_levels)``.
        code_dim: channels of a latent action vector. ``None`` means 16 for VQ; for FSQ ``len(fsq_levels)``.
        fsq_levels: values per channel for FSQ (ignored for VQ).
        beta: VQ commitment weight. Small (not VQ-VAE's 0.25): the reconstruction loss is a per-pixel mean, about
            1e-4 on frames where little moves, and a commitment term that outweighs it makes the encoder output
            one constant vector (one code for every transition) before the decoder learns to use the actions.
        past_dropout: fraction of the decoder's past-frame patch tokens replaced by a learned mask token in
            training mode (0 disables).
        motion_input: the encoder sees each patch beside its change from the previous frame (zero for the first
            frame), so that motion stands out from the start of training; without it, on scenes where small bodies
            move over a still background, the encoder's outputs collapse onto one code before the decoder learns
            to use them.
        residual: the decoder predicts the change from frame ``t`` to ``t + 1`` (added to frame ``t``, clamped to
            [0, 1]) instead of the frame itself.
    """

    image_size: int = 64
    patch: int = 8
    dim: int = 128
    depth: int = 2
    decoder_depth: int = 2
    heads: int = 4
    mlp_ratio: float = 4.0
    max_frames: int = 16
    quantizer: str = "vq"
    num_codes: int | None = None
    code_dim: int | None = None
    fsq_levels: tuple[int, ...] = (3, 3)
    beta: float = 0.001
    past_dropout: float = 0.0
    motion_input: bool = True
    residual: bool = False

    def __post_init__(self) -> None:
        self.fsq_levels = tuple(self.fsq_levels)
        for name in ("image_size", "patch", "dim", "depth", "decoder_depth", "heads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"LAMConfig: {name} must be a positive int, got {value!r}")
        if self.image_size % self.patch:
            raise ValueError(f"LAMConfig: image_size={self.image_size} must be divisible by patch={self.patch}")
        if self.dim % self.heads:
            raise ValueError(f"LAMConfig: dim={self.dim} must be divisible by heads={self.heads}")
        if not isinstance(self.max_frames, int) or self.max_frames < 2:
            raise ValueError(f"LAMConfig: max_frames must be an int >= 2, got {self.max_frames!r}")
        if not 0.0 <= self.past_dropout < 1.0:
            raise ValueError(f"LAMConfig: past_dropout must lie in [0, 1), got {self.past_dropout!r}")
        if self.quantizer == "vq":
            self.num_codes = 8 if self.num_codes is None else self.num_codes
            self.code_dim = 16 if self.code_dim is None else self.code_dim
        elif self.quantizer == "fsq":
            implied = (math.prod(self.fsq_levels), len(self.fsq_levels))
            given = (self.num_codes, self.code_dim)
            if given[0] not in (None, implied[0]) or given[1] not in (None, implied[1]):
                raise ValueError(
                    f"LAMConfig: with quantizer='fsq', num_codes and code_dim follow from fsq_levels="
                    f"{list(self.fsq_levels)} (prod {implied[0]}, len {implied[1]}); got num_codes={given[0]}, "
                    f"code_dim={given[1]} (leave them None)"
                )
            self.num_codes, self.code_dim = implied
        else:
            raise ValueError(
                f"LAMConfig: quantizer must be one of {', '.join(map(repr, QUANTIZER_KINDS))}, got {self.quantizer!r}"
            )

    @property
    def num_patches(self) -> int:
        """Patches per frame, ``(image_size / patch)^2``."""
        return (self.image_size // self.patch) ** 2

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (tuples as lists) that :meth:`from_dict` turns back into an equal config."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LAMConfig:
        """Config from :meth:`to_dict`'s output; unknown keys are an error."""
        return _config_from_dict(cls, d)


# ------------------------------------------------------------------------------------------------------ modules


class _SpatioTemporalTransformer(nn.Module):
    """Patch pixels ``[B, F, P, patch * patch * 3]`` -> tokens ``[B, F, P, D]``: linear patch embedding plus learned
    space and time positions, then ``depth`` :class:`~.blocks.STBlock` and a final LayerNorm. The output at
    frame ``f`` depends on frames ``<= f`` only. ``frame_bias [B, F, D]``, if given, is added to every token of its
    frame before the blocks (the decoder's actions); ``mask [B, F, P]`` (bool), if given, replaces those tokens by
    a learned mask token first."""

    def __init__(self, cfg: LAMConfig, depth: int, in_channels: int = 3):
        super().__init__()
        self.embed = nn.Linear(cfg.patch * cfg.patch * in_channels, cfg.dim)
        self.pos_space = nn.Parameter(0.02 * torch.randn(cfg.num_patches, cfg.dim))  # [P, D]
        self.pos_time = nn.Parameter(0.02 * torch.randn(cfg.max_frames, cfg.dim))  # [max_frames, D]
        self.mask_token = nn.Parameter(torch.zeros(cfg.dim))
        self.blocks = nn.ModuleList(STBlock(cfg.dim, cfg.heads, mlp_ratio=cfg.mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(cfg.dim)

    def forward(self, patches: Tensor, *, frame_bias: Tensor | None = None, mask: Tensor | None = None) -> Tensor:
        x = self.embed(patches)  # [B, F, P, D]
        if mask is not None:
            x = torch.where(mask[..., None], self.mask_token.to(x.dtype), x)
        x = x + self.pos_space + self.pos_time[: x.shape[1], None, :]
        if frame_bias is not None:
            x = x + frame_bias[:, :, None, :]
        for block in self.blocks:
            x = block(x)
        return self.norm(x)


class LatentActionModel(nn.Module):
    """Genie's latent action model (see the module docstring).

    Attributes:
        config: the :class:`LAMConfig` it was built from.
        encoder, to_code, quantizer: frames -> latent action vectors -> codes.
        decoder, action_embed, head: past frames + action vectors -> next frames.
    """

    def __init__(self, config: LAMConfig | None = None):
        super().__init__()
        self.config = config if config is not None else LAMConfig()
        cfg = self.config
        self.encoder = _SpatioTemporalTransformer(cfg, cfg.depth, in_channels=6 if cfg.motion_input else 3)
        self.to_code = nn.Linear(cfg.dim, cfg.code_dim)
        if cfg.quantizer == "vq":
            self.quantizer = make_quantizer("vq", dim=cfg.code_dim, num_codes=cfg.num_codes, beta=cfg.beta)
        else:
            self.quantizer = make_quantizer("fsq", dim=cfg.code_dim, levels=cfg.fsq_levels)
        self.decoder = _SpatioTemporalTransformer(cfg, cfg.decoder_depth)
        self.action_embed = nn.Linear(cfg.code_dim, cfg.dim)
        self.head = nn.Linear(cfg.dim, cfg.patch * cfg.patch * 3)

    # -------------------------------------------------------------------------------------------- config

    def to_config(self) -> dict[str, Any]:
        """JSON-able dict of the config; :meth:`from_config` rebuilds an identically shaped (untrained) model."""
        return self.config.to_dict()

    @classmethod
    def from_config(cls, config: dict[str, Any] | LAMConfig) -> LatentActionModel:
        """A fresh model from :meth:`to_config`'s dict (or a :class:`LAMConfig`); load weights separately."""
        if isinstance(config, LAMConfig):
            return cls(config)
        return cls(LAMConfig.from_dict(config))

    @property
    def num_actions(self) -> int:
        """Number of distinct latent actions (codes)."""
        return self.quantizer.num_codes

    # -------------------------------------------------------------------------------------------- internals

    def _clip(self, frames: Tensor, *, min_frames: int, name: str = "frames") -> Tensor:
        """Validate ``[B, F, H, W, 3]`` with ``min_frames <= F <= max_frames``; return float in the model's dtype."""
        layout = "[B, T+1, H, W, 3]" if min_frames >= 2 else "[B, k, H, W, 3]"
        x = check_frames(frames, self.config.image_size, name=name, layout=layout)
        if x.ndim != 5:
            raise ValueError(f"{name} must be a batch of clips {layout}, got shape {_shape(frames)}")
        if not min_frames <= x.shape[1] <= self.config.max_frames:
            raise ValueError(
                f"{name} must hold between {min_frames} and max_frames={self.config.max_frames} frames (dim 1), got "
                f"{x.shape[1]} in shape {_shape(frames)}"
            )
        return x.to(self.head.weight.dtype)

    def _patchify(self, x: Tensor) -> Tensor:
        """``[B, F, H, W, 3]`` -> ``[B, F, P, patch * patch * 3]`` (patches in row-major order)."""
        return patchify(x, self.config.patch)

    def _unpatchify(self, x: Tensor) -> Tensor:
        """``[B, F, P, patch * patch * 3]`` -> ``[B, F, H, W, 3]``."""
        return unpatchify(x, self.config.patch, self.config.image_size, self.config.image_size)

    def _encode(self, x: Tensor) -> Tensor:
        """Continuous latent actions ``[B, T, code_dim]`` (before quantization) of a clip ``x [B, T+1, H, W, 3]``;
        entry ``t`` depends on frames ``<= t + 1`` only."""
        patches = self._patchify(x)  # [B, T+1, P, p * p * 3]
        if self.config.motion_input:
            change = torch.cat([torch.zeros_like(patches[:, :1]), patches[:, 1:] - patches[:, :-1]], dim=1)
            patches = torch.cat([patches, change], dim=-1)  # [B, T+1, P, p * p * 6]
        tokens = self.encoder(patches)  # [B, T+1, P, D]
        return self.to_code(tokens[:, 1:].mean(dim=2))  # [B, T, code_dim]

    def _decode(self, past: Tensor, z_q: Tensor) -> Tensor:
        """Frames ``[B, T, H, W, 3]`` in [0, 1]: entry ``t`` predicts frame ``t + 1`` from ``past[:, :t+1]``
        (``past [B, T, H, W, 3]``) and the action vectors ``z_q[:, :t+1]`` (``[B, T, code_dim]``)."""
        patches = self._patchify(past)  # [B, T, P, p * p * 3]
        mask = None
        if self.training and self.config.past_dropout > 0:
            mask = torch.rand(patches.shape[:3], device=patches.device) < self.config.past_dropout  # [B, T, P]
        tokens = self.decoder(patches, frame_bias=self.action_embed(z_q.to(patches.dtype)), mask=mask)
        if self.config.residual:
            return (past + self._unpatchify(self.head(tokens))).clamp(0.0, 1.0)
        return self._unpatchify(torch.sigmoid(self.head(tokens)))

    def _quantize_frozen(self, z: Tensor) -> Tensor:
        """Codes of ``z [..., code_dim]`` without updating a VQ codebook (even in training mode)."""
        was_training = self.quantizer.training
        self.quantizer.eval()
        try:
            return self.quantizer(z).codes
        finally:
            self.quantizer.train(was_training)

    # -------------------------------------------------------------------------------------------- API

    def forward(self, frames: Tensor) -> dict[str, Tensor]:
        """Infer the actions of a clip and predict each next frame from the past and its action.
        In training mode a VQ codebook is updated (EMA, dead-code restarts).

        Args:
            frames: clips ``[B, T+1, H, W, 3]`` (``2 <= T+1 <= max_frames``), uint8 in [0, 255] or float in [0, 1].

        Returns:
            dict with ``recon`` float ``[B, T, H, W, 3]`` in [0, 1], the predictions of frames ``1..T``; ``loss``
            scalar to minimize, ``recon_loss + quantizer_loss``; ``recon_loss`` the pixel MSE to frames ``1..T``;
            ``quantizer_loss`` the commitment loss (0 for FSQ); ``codes`` int64 ``[B, T]``; ``perplexity`` and
            ``usage`` of this batch's codes.
        """
        x = self._clip(frames, min_frames=2)  # [B, T+1, H, W, 3]
        q = self.quantizer(self._encode(x))  # z_q [B, T, code_dim], codes [B, T]
        recon = self._decode(x[:, :-1], q.z_q)  # [B, T, H, W, 3]
        recon_loss = F.mse_loss(recon, x[:, 1:])
        return {
            "recon": recon,
            "loss": recon_loss + q.loss,
            "recon_loss": recon_loss,
            "quantizer_loss": q.loss,
            "codes": q.codes,
            "perplexity": q.perplexity,
            "usage": q.usage,
        }

    @torch.no_grad()
    def infer_actions(self, frames: Tensor) -> Tensor:
        """Latent action of each transition of a clip; never updates the codebook.

        Args:
            frames: ``[B, T+1, H, W, 3]``, uint8 or float in [0, 1].

        Returns:
            int64 ``[B, T]`` in ``[0, num_actions)``; entry ``t`` (the action from frame ``t`` to ``t + 1``)
            depends on frames ``<= t + 1`` only.
        """
        return self._quantize_frozen(self._encode(self._clip(frames, min_frames=2)))

    def predict(self, frames: Tensor, codes: Tensor) -> Tensor:
        """Decoder only: predict each next frame from the past frames and given latent actions.

        Args:
            frames: ``[B, T, H, W, 3]`` (``1 <= T <= max_frames``), uint8 or float in [0, 1].
            codes: integer ``[B, T]`` in ``[0, num_actions)``: ``codes[:, t]`` is applied to ``frames[:, t]``.

        Returns:
            float ``[B, T, H, W, 3]`` in [0, 1]: entry ``t`` is the predicted frame ``t + 1``, which depends on
            ``frames[:, :t+1]`` and ``codes[:, :t+1]`` only.
        """
        x = self._clip(frames, min_frames=1, name="frames")
        if not isinstance(codes, Tensor) or tuple(codes.shape) != tuple(x.shape[:2]):
            got = _shape(codes) if isinstance(codes, Tensor) else type(codes).__name__
            raise ValueError(f"codes must be an integer tensor [B, T] = [{x.shape[0]}, {x.shape[1]}], got {got}")
        return self._decode(x, self.quantizer.embed(codes))

    def predict_next(self, frames: Tensor, codes: Tensor) -> Tensor:
        """The frame that follows a context when latent action ``codes`` is applied to its last frame.

        The actions between the context frames are inferred by the encoder (:meth:`infer_actions`); only the last
        one is given, so this shows what each code does.

        Args:
            frames: context ``[B, k, H, W, 3]`` (``1 <= k <= max_frames``), uint8 or float in [0, 1].
            codes: integer ``[B]`` in ``[0, num_actions)``.

        Returns:
            float ``[B, H, W, 3]`` in [0, 1].
        """
        x = self._clip(frames, min_frames=1)
        if not isinstance(codes, Tensor) or tuple(codes.shape) != (x.shape[0],):
            got = _shape(codes) if isinstance(codes, Tensor) else type(codes).__name__
            raise ValueError(f"codes must be an integer tensor [B] = [{x.shape[0]}], got {got}")
        codes = codes.to(x.device)
        if x.shape[1] > 1:
            codes = torch.cat([self.infer_actions(x), codes[:, None]], dim=1)  # [B, k]
        else:
            codes = codes[:, None]
        return self.predict(x, codes)[:, -1]
