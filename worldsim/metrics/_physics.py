"""Physics-grounded measurements of videos: body masks, their centroids and areas, finite-difference derivatives,
and NewtonGen's Physical Invariance Score.

Masks come from the simulator's body-id images (ground truth) or, for generated frames, from color segmentation
(each body of a motion-suite scene has its own color). Positions are pixel coordinates ``(x, y)`` with ``x`` to the
right and ``y`` down, of pixel centres (the top-left pixel's centre is ``(0, 0)``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .._checks import describe as _describe


def color_mask(frames: Tensor, color, tolerance: float = 40.0) -> Tensor:
    """Pixels of ``frames`` (uint8 ``[..., H, W, 3]``) within ``tolerance`` (Euclidean distance in 0-255 RGB) of
    ``color`` (three numbers in 0-255) -> bool ``[..., H, W]``."""
    if not isinstance(frames, Tensor) or frames.dtype != torch.uint8 or frames.dim() < 3 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be a uint8 tensor [..., H, W, 3], got {_describe(frames)}")
    c = torch.as_tensor(color, dtype=torch.float32)
    if c.shape != (3,) or not bool(((c >= 0) & (c <= 255)).all()):
        raise ValueError(f"color must be three numbers in [0, 255], got {color!r}")
    if not tolerance > 0:
        raise ValueError(f"tolerance must be positive, got {tolerance}")
    return (frames.float() - c).square().sum(-1) <= tolerance**2


def mask_centroids(masks: Tensor) -> Tensor:
    """Centroids ``[..., 2]`` (x, y in pixels) of bool masks ``[..., H, W]``; NaN where a mask is empty."""
    if not isinstance(masks, Tensor) or masks.dtype != torch.bool or masks.dim() < 2:
        raise ValueError(f"masks must be a bool tensor [..., H, W], got {_describe(masks)}")
    h, w = masks.shape[-2:]
    m = masks.to(torch.float64)
    area = m.sum((-2, -1))
    ys = torch.arange(h, dtype=torch.float64)
    xs = torch.arange(w, dtype=torch.float64)
    cx = (m.sum(-2) * xs).sum(-1) / area
    cy = (m.sum(-1) * ys).sum(-1) / area
    return torch.stack([cx, cy], -1)  # 0 / 0 = NaN for empty masks


def mask_areas(masks: Tensor) -> Tensor:
    """Pixel counts ``[...]`` of bool masks ``[..., H, W]``."""
    if not isinstance(masks, Tensor) or masks.dtype != torch.bool or masks.dim() < 2:
        raise ValueError(f"masks must be a bool tensor [..., H, W], got {_describe(masks)}")
    return masks.sum((-2, -1))


def area_drift(masks: Tensor) -> Tensor:
    """Relative change of a rigid body's visible area over a video: ``max |area_t - area_0| / area_0`` per video
    for masks ``[..., T, H, W]`` -> ``[...]`` (0 for a body that neither grows, shrinks nor vanishes)."""
    areas = mask_areas(masks).to(torch.float64)
    if areas.dim() < 1 or areas.shape[-1] < 1:
        raise ValueError(f"masks must be [..., T, H, W] with T >= 1, got {tuple(masks.shape)}")
    first = areas[..., :1]
    return ((areas - first).abs() / first.clamp_min(1.0)).amax(-1)


def finite_difference(x: Tensor, dt: float, order: int = 1) -> Tensor:
    """Central finite differences along the time axis (dim -2) of ``x [..., T, D]`` sampled every ``dt`` seconds:
    ``order=1`` velocities ``(x[t+1] - x[t-1]) / 2dt`` and ``order=2`` accelerations
    ``(x[t+1] - 2x[t] + x[t-1]) / dt²``, both ``[..., T-2, D]`` (at the interior samples); exact for quadratics."""
    if not isinstance(x, Tensor) or not x.dtype.is_floating_point or x.dim() < 2:
        raise ValueError(f"x must be a floating tensor [..., T, D], got {_describe(x)}")
    if x.shape[-2] < 3:
        raise ValueError(f"finite differences need T >= 3 samples, got T={x.shape[-2]}")
    if not dt > 0:
        raise ValueError(f"dt must be positive, got {dt}")
    if order == 1:
        return (x[..., 2:, :] - x[..., :-2, :]) / (2.0 * dt)
    if order == 2:
        return (x[..., 2:, :] - 2.0 * x[..., 1:-1, :] + x[..., :-2, :]) / (dt * dt)
    raise ValueError(f"order must be 1 or 2, got {order}")


def physical_invariance_score(values: Tensor, eps: float = 1e-6) -> Tensor:
    """NewtonGen's Physical Invariance Score of a quantity that physics keeps constant (``v_x`` in uniform motion,
    ``a_z`` in free fall, ...), measured over time: ``PIS = 1 / (1 + C_σ / (|C_μ| + ε))`` with ``C_μ`` and ``C_σ``
    the mean and (population) standard deviation over the last axis of ``values [..., T]`` -> ``[...]`` in (0, 1].

    1 for a perfectly invariant series; it falls as the series fluctuates relative to its mean. NaN samples (a body
    out of view) are left out; a series with fewer than two finite samples scores NaN.
    """
    if not isinstance(values, Tensor) or not values.dtype.is_floating_point or values.dim() < 1:
        raise ValueError(f"values must be a floating tensor [..., T], got {_describe(values)}")
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")
    v = values.to(torch.float64)
    finite = torch.isfinite(v)
    n = finite.sum(-1)
    filled = torch.where(finite, v, torch.zeros_like(v))
    mean = filled.sum(-1) / n
    var = torch.where(finite, (v - mean[..., None]).square(), torch.zeros_like(v)).sum(-1) / n
    pis = 1.0 / (1.0 + var.sqrt() / (mean.abs() + eps))
    return torch.where(n >= 2, pis, torch.full_like(pis, float("nan")))
