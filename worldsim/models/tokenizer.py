"""Video tokenizer: a VQ-VAE on single frames that turns each ``H x W`` RGB frame into an ``h x w`` grid of codes.

Genie's tokenizer compresses video into discrete tokens for the dynamics model. This one works frame by frame (no
temporal mixing), which is what the dynamics model needs to tokenize a growing rollout one frame at a time:

    frames [..., H, W, 3] --encoder--> z [..., h, w, D] --quantizer--> codes [..., h, w] --decoder--> [..., H, W, 3]

with ``h = H / downsample``, ``w = W / downsample`` and ``D = code_dim``. The encoder is a conv stack (a 3x3 stem, then
per stage one stride-2 conv and ``res_blocks`` residual blocks with GroupNorm and SiLU) and a 1x1 projection to
``code_dim``; the decoder mirrors it with nearest-neighbour upsampling and convs, ending in a sigmoid so that
reconstructions always lie in [0, 1]. The quantizer is an EMA VQ codebook or FSQ (:mod:`.quantizers`).

Frames are channels-last in the API, as the simulator renders them: ``uint8`` in [0, 255] or floating in [0, 1].
:func:`to_unit` and :func:`to_uint8` convert between the two.

Example::

    tok = VideoTokenizer(TokenizerConfig(image_size=64, downsample=4))
    out = tok(frames)                       # frames uint8 [B, 64, 64, 3]
    out["loss"].backward()                  # recon MSE + commitment loss
    codes = tok.encode(video)               # video [B, T, 64, 64, 3] -> codes [B, T, 16, 16]
    video_hat = to_uint8(tok.decode(codes))  # [B, T, 64, 64, 3] uint8
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .quantizers import QUANTIZER_KINDS, make_quantizer

__all__ = ["TokenizerConfig", "VideoTokenizer", "check_frames", "to_uint8", "to_unit"]


# ------------------------------------------------------------------------------------------------------ frames


def _shape(x: Tensor) -> str:
    return "[" + ", ".join(str(s) for s in x.shape) + "]"


def to_unit(frames: Tensor) -> Tensor:
    """Frames as floating point in [0, 1]: ``uint8`` is divided by 255 (to float32), floating input is returned as is.

    Args:
        frames: images of any shape, ``uint8`` in [0, 255] or floating in [0, 1].

    Raises:
        ValueError: for another dtype, or floating values outside [0, 1] (or NaN), e.g. floats in [0, 255].
    """
    if not isinstance(frames, Tensor):
        raise TypeError(f"frames must be a torch.Tensor, got {type(frames).__name__}")
    if frames.dtype == torch.uint8:
        return frames.float() / 255.0
    if not frames.is_floating_point():
        raise ValueError(f"frames have dtype {frames.dtype}, expected torch.uint8 in [0, 255] or floating in [0, 1]")
    if frames.numel() > 0:
        lo, hi = float(frames.min()), float(frames.max())
        if not (lo >= 0.0 and hi <= 1.0):  # also catches NaN
            raise ValueError(
                f"floating frames must lie in [0, 1], got values in [{lo:g}, {hi:g}]; pass uint8 frames in [0, 255] "
                "or divide by 255"
            )
    return frames


def to_uint8(x: Tensor) -> Tensor:
    """Floating frames in [0, 1] as ``uint8`` in [0, 255] (``round(255 x)``; values outside [0, 1] are clamped).
    ``uint8`` input is returned as is."""
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dtype == torch.uint8:
        return x
    if not x.is_floating_point():
        raise ValueError(f"x has dtype {x.dtype}, expected floating in [0, 1] (or uint8)")
    return (x.detach().clamp(0.0, 1.0) * 255.0).round().to(torch.uint8)


def check_frames(frames: Tensor, image_size: int, *, name: str = "frames", layout: str = "[..., H, W, 3]") -> Tensor:
    """Validate channels-last square frames ``[..., image_size, image_size, 3]`` and return them via :func:`to_unit`.

    Shared by the tokenizer and the latent action model; the caller checks the number of leading dims."""
    if not isinstance(frames, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor {layout}, got {type(frames).__name__}")
    if frames.ndim < 3 or frames.shape[-1] != 3:
        hint = ""
        if frames.ndim >= 3 and frames.shape[-3] == 3:
            hint = " (it looks channels-first; use frames.movedim(-3, -1))"
        raise ValueError(f"{name} must be channels-last {layout} with 3 channels, got shape {_shape(frames)}{hint}")
    if frames.shape[-3] != image_size or frames.shape[-2] != image_size:
        raise ValueError(
            f"{name} must be {image_size}x{image_size} images {layout} (the model's image_size), got "
            f"{frames.shape[-3]}x{frames.shape[-2]} in shape {_shape(frames)}"
        )
    try:
        return to_unit(frames)
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from None


# ------------------------------------------------------------------------------------------------------ config


@dataclass
class TokenizerConfig:
    """Hyperparameters of :class:`VideoTokenizer`.

    Attributes:
        image_size: side of the square input frames [pixels]; divisible by ``downsample``.
        downsample: 4 or 8: the token grid is ``image_size / downsample`` on each side.
        channels: conv channels of the ``log2(downsample)`` stages (encoder order; the decoder mirrors them).
        res_blocks: residual blocks per stage.
        quantizer: ``"vq"`` (EMA codebook with dead-code restarts) or ``"fsq"``.
        num_codes: codebook size. ``None`` means 512 for VQ; for FSQ it is ``prod(fsq_levels)`` (filled in).
        code_dim: channels of a token vector. ``None`` means 32 for VQ; for FSQ it is ``len(fsq_levels)``.
        fsq_levels: values per channel for FSQ (ignored for VQ).
        beta: VQ commitment weight.
    """

    image_size: int = 64
    downsample: int = 4
    channels: tuple[int, ...] = (64, 128)
    res_blocks: int = 1
    quantizer: str = "vq"
    num_codes: int | None = None
    code_dim: int | None = None
    fsq_levels: tuple[int, ...] = (8, 5, 5, 5)
    beta: float = 0.25

    def __post_init__(self) -> None:
        self.channels = tuple(self.channels)
        self.fsq_levels = tuple(self.fsq_levels)
        if self.downsample not in (4, 8):
            raise ValueError(f"TokenizerConfig: downsample must be 4 or 8, got {self.downsample!r}")
        if not isinstance(self.image_size, int) or self.image_size < 1 or self.image_size % self.downsample:
            raise ValueError(
                f"TokenizerConfig: image_size must be a positive multiple of downsample={self.downsample}, "
                f"got {self.image_size!r}"
            )
        stages = int(math.log2(self.downsample))
        if len(self.channels) != stages or any(not isinstance(c, int) or c < 1 for c in self.channels):
            raise ValueError(
                f"TokenizerConfig: channels must hold log2(downsample) = {stages} positive ints (one per stride-2 "
                f"stage), got {self.channels!r}"
            )
        if not isinstance(self.res_blocks, int) or self.res_blocks < 0:
            raise ValueError(f"TokenizerConfig: res_blocks must be an int >= 0, got {self.res_blocks!r}")
        if self.quantizer == "vq":
            self.num_codes = 512 if self.num_codes is None else self.num_codes
            self.code_dim = 32 if self.code_dim is None else self.code_dim
        elif self.quantizer == "fsq":
            implied = (math.prod(self.fsq_levels), len(self.fsq_levels))
            given = (self.num_codes, self.code_dim)
            if given[0] not in (None, implied[0]) or given[1] not in (None, implied[1]):
                raise ValueError(
                    f"TokenizerConfig: with quantizer='fsq', num_codes and code_dim follow from fsq_levels="
                    f"{list(self.fsq_levels)} (prod {implied[0]}, len {implied[1]}); got num_codes={given[0]}, "
                    f"code_dim={given[1]} (leave them None)"
                )
            self.num_codes, self.code_dim = implied
        else:
            raise ValueError(
                f"TokenizerConfig: quantizer must be one of {', '.join(map(repr, QUANTIZER_KINDS))}, "
                f"got {self.quantizer!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (tuples as lists) that :meth:`from_dict` turns back into an equal config."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TokenizerConfig:
        """Config from :meth:`to_dict`'s output; unknown keys are an error."""
        return _config_from_dict(cls, d)


def _config_from_dict(cls, d: dict[str, Any]):
    if not isinstance(d, dict):
        raise TypeError(f"{cls.__name__}.from_dict: expected a dict, got {type(d).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ValueError(f"{cls.__name__}.from_dict: unknown keys {unknown}; expected a subset of {sorted(names)}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


# ------------------------------------------------------------------------------------------------------ modules


def _group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with at most 32 groups of at least 4 channels (fewer for tiny widths)."""
    return nn.GroupNorm(math.gcd(channels, min(32, max(1, channels // 4))), channels)


class _ResBlock(nn.Module):
    """``x + conv(SiLU(GN(conv(SiLU(GN(x))))))`` on ``[N, C, h, w]``; the last conv starts at zero (identity)."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm1 = _group_norm(channels)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.norm2 = _group_norm(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        return x + self.conv2(F.silu(self.norm2(h)))


class _Encoder(nn.Module):
    """``[N, 3, H, W]`` in [0, 1] -> ``[N, code_dim, H / downsample, W / downsample]``."""

    def __init__(self, cfg: TokenizerConfig):
        super().__init__()
        self.stem = nn.Conv2d(3, cfg.channels[0], 3, padding=1)
        stages = []
        c_in = cfg.channels[0]
        for c in cfg.channels:
            stages.append(nn.Conv2d(c_in, c, 4, stride=2, padding=1))  # halves h and w
            stages.extend(_ResBlock(c) for _ in range(cfg.res_blocks))
            c_in = c
        self.stages = nn.Sequential(*stages)
        self.norm = _group_norm(c_in)
        self.proj = nn.Conv2d(c_in, cfg.code_dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = self.stages(self.stem(2.0 * x - 1.0))  # inputs centred to [-1, 1]
        return self.proj(F.silu(self.norm(h)))


class _Decoder(nn.Module):
    """``[N, code_dim, h, w]`` -> ``[N, 3, h * downsample, w * downsample]`` logits (sigmoid outside)."""

    def __init__(self, cfg: TokenizerConfig):
        super().__init__()
        chans = cfg.channels[::-1]
        self.proj = nn.Conv2d(cfg.code_dim, chans[0], 1)
        stages: list[nn.Module] = []
        for i, c in enumerate(chans):
            c_out = chans[i + 1] if i + 1 < len(chans) else chans[-1]
            stages.extend(_ResBlock(c) for _ in range(cfg.res_blocks))
            stages.append(nn.Upsample(scale_factor=2, mode="nearest"))  # doubles h and w
            stages.append(nn.Conv2d(c, c_out, 3, padding=1))
        self.stages = nn.Sequential(*stages)
        self.norm = _group_norm(chans[-1])
        self.out = nn.Conv2d(chans[-1], 3, 3, padding=1)

    def forward(self, z: Tensor) -> Tensor:
        h = self.stages(self.proj(z))
        return self.out(F.silu(self.norm(h)))


class VideoTokenizer(nn.Module):
    """Frame-wise VQ-VAE: frames ``[..., H, W, 3]`` <-> codes ``[..., h, w]`` (see the module docstring).

    Attributes:
        config: the :class:`TokenizerConfig` it was built from.
        encoder, quantizer, decoder: the three parts.
    """

    def __init__(self, config: TokenizerConfig | None = None):
        super().__init__()
        self.config = config if config is not None else TokenizerConfig()
        cfg = self.config
        self.encoder = _Encoder(cfg)
        if cfg.quantizer == "vq":
            self.quantizer = make_quantizer("vq", dim=cfg.code_dim, num_codes=cfg.num_codes, beta=cfg.beta)
        else:
            self.quantizer = make_quantizer("fsq", dim=cfg.code_dim, levels=cfg.fsq_levels)
        self.decoder = _Decoder(cfg)

    # -------------------------------------------------------------------------------------------- config

    def to_config(self) -> dict[str, Any]:
        """JSON-able dict of the config; :meth:`from_config` rebuilds an identically shaped (untrained) model."""
        return self.config.to_dict()

    @classmethod
    def from_config(cls, config: dict[str, Any] | TokenizerConfig) -> VideoTokenizer:
        """A fresh model from :meth:`to_config`'s dict (or a :class:`TokenizerConfig`); load weights separately."""
        if isinstance(config, TokenizerConfig):
            return cls(config)
        return cls(TokenizerConfig.from_dict(config))

    @property
    def num_codes(self) -> int:
        """Number of distinct token values."""
        return self.quantizer.num_codes

    @property
    def token_shape(self) -> tuple[int, int]:
        """``(h, w)``: the token grid of one frame."""
        side = self.config.image_size // self.config.downsample
        return (side, side)

    # -------------------------------------------------------------------------------------------- internals

    def _frames(self, frames: Tensor) -> Tensor:
        """Validate ``[..., H, W, 3]`` and return ``[N, 3, H, W]`` float in [0, 1] in the model's dtype."""
        x = check_frames(frames, self.config.image_size)
        if x.ndim < 4:
            raise ValueError(f"frames must be [..., H, W, 3] with at least one leading dim, got {_shape(frames)}")
        x = x.to(self.decoder.out.weight.dtype)
        return x.reshape(-1, *x.shape[-3:]).permute(0, 3, 1, 2)

    def _decode_vectors(self, z_q: Tensor) -> Tensor:
        """``z_q [N, h, w, D]`` -> frames ``[N, H, W, 3]`` in [0, 1] (sigmoid of the decoder's logits)."""
        logits = self.decoder(z_q.permute(0, 3, 1, 2).to(self.decoder.out.weight.dtype))
        return torch.sigmoid(logits).permute(0, 2, 3, 1)

    # -------------------------------------------------------------------------------------------- API

    def forward(self, frames: Tensor) -> dict[str, Tensor]:
        """Reconstruct frames through the quantized bottleneck. In training mode a VQ codebook is updated (EMA).

        Args:
            frames: ``[B, H, W, 3]`` (any number of leading dims), uint8 in [0, 255] or floating in [0, 1].

        Returns:
            dict with ``recon`` float ``[B, H, W, 3]`` in [0, 1] (a sigmoid output); ``loss`` scalar to minimize,
            ``recon_loss + quantizer_loss``; ``recon_loss`` the pixel MSE (in [0, 1] units); ``quantizer_loss`` the
            commitment loss (0 for FSQ); ``codes`` int64 ``[B, h, w]``; ``perplexity`` and ``usage`` of this
            batch's codes (see :class:`~worldsim.models.quantizers.QuantizerOutput`).
        """
        lead = frames.shape[:-3] if isinstance(frames, Tensor) else ()
        x = self._frames(frames)  # [N, 3, H, W]
        z = self.encoder(x).permute(0, 2, 3, 1)  # [N, h, w, D]
        q = self.quantizer(z)
        recon = self._decode_vectors(q.z_q)  # [N, H, W, 3]
        target = x.permute(0, 2, 3, 1)  # [N, H, W, 3]
        recon_loss = F.mse_loss(recon, target)
        return {
            "recon": recon.reshape(*lead, *recon.shape[1:]),
            "loss": recon_loss + q.loss,
            "recon_loss": recon_loss,
            "quantizer_loss": q.loss,
            "codes": q.codes.reshape(*lead, *q.codes.shape[1:]),
            "perplexity": q.perplexity,
            "usage": q.usage,
        }

    @torch.no_grad()
    def encode(self, frames: Tensor) -> Tensor:
        """Token codes of frames; never updates the codebook (not even in training mode).

        Args:
            frames: ``[..., H, W, 3]`` with at least one leading dim (e.g. ``[B, T, H, W, 3]``), uint8 or float.

        Returns:
            int64 codes ``[..., h, w]`` in ``[0, num_codes)``.
        """
        lead = frames.shape[:-3] if isinstance(frames, Tensor) else ()
        z = self.encoder(self._frames(frames)).permute(0, 2, 3, 1)  # [N, h, w, D]
        was_training = self.quantizer.training
        self.quantizer.eval()
        try:
            codes = self.quantizer(z).codes  # [N, h, w]
        finally:
            self.quantizer.train(was_training)
        return codes.reshape(*lead, *codes.shape[1:])

    def decode(self, codes: Tensor) -> Tensor:
        """Frames from token codes.

        Args:
            codes: integer ``[..., h, w]`` in ``[0, num_codes)``, at least one leading dim.

        Returns:
            float frames ``[..., H, W, 3]`` in [0, 1].
        """
        if not isinstance(codes, Tensor):
            raise TypeError(f"codes must be a torch.Tensor [..., h, w], got {type(codes).__name__}")
        if codes.ndim < 3 or tuple(codes.shape[-2:]) != self.token_shape:
            raise ValueError(
                f"codes must have shape [..., {self.token_shape[0]}, {self.token_shape[1]}] (the token grid, with "
                f"at least one leading dim), got {_shape(codes)}"
            )
        lead = codes.shape[:-2]
        z_q = self.quantizer.embed(codes.reshape(-1, *self.token_shape))  # [N, h, w, D]
        recon = self._decode_vectors(z_q)  # [N, H, W, 3]
        return recon.reshape(*lead, *recon.shape[1:])
