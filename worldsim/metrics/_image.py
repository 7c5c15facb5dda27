"""Image and video quality: PSNR, SSIM, per-step curves and Genie's controllability metric ΔtPSNR.

Images are channels-last tensors ``[..., H, W, C]`` (``C`` = 3 for RGB, 1 for grayscale), either ``uint8`` with values
in [0, 255] or floating point with values in [0, 1]. The dtype picks the default ``data_range`` (255 or 1.0); ``pred``
and ``target`` must share it. Values are not clamped. Everything is computed in float64 on the inputs' device and
is differentiable with respect to floating-point inputs.
"""

import math

import torch
import torch.nn.functional as F

PSNR_CAP_DB = 100.0
"""PSNR [dB] that per-step curves use for a frame identical to its target (whose PSNR is +inf)."""

SSIM_WINDOW = 11
"""Side of the square Gaussian SSIM window [pixels]."""

SSIM_SIGMA = 1.5
"""Standard deviation of the Gaussian SSIM window [pixels]."""


def _shape(x: torch.Tensor) -> str:
    return "[" + ", ".join(str(s) for s in x.shape) + "]"


def _check_images(
    pred: torch.Tensor,
    target: torch.Tensor,
    data_range: float | None,
    *,
    names: tuple[str, str] = ("pred", "target"),
    video: bool = False,
) -> float:
    """Validate an image pair ``[..., H, W, C]`` (``[B, T, H, W, C]`` if ``video``) and return the data range."""
    expected = "[B, T, H, W, 3]" if video else "[..., H, W, 3]"
    for name, x in zip(names, (pred, target), strict=True):
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if x.dtype != torch.uint8 and not x.is_floating_point():
            raise ValueError(f"{name} has dtype {x.dtype}, expected torch.uint8 (in [0, 255]) or floating (in [0, 1])")
        if (x.ndim != 5 if video else x.ndim < 3) or x.shape[-1] not in (1, 3):
            raise ValueError(f"{name} has shape {_shape(x)}, expected channels-last {expected} (or C = 1)")
    if pred.shape != target.shape:
        raise ValueError(
            f"{names[0]} has shape {_shape(pred)} but {names[1]} has shape {_shape(target)}; they must match"
        )
    if (pred.dtype == torch.uint8) != (target.dtype == torch.uint8):
        raise ValueError(
            f"{names[0]} has dtype {pred.dtype} but {names[1]} has dtype {target.dtype}; both must be uint8 in "
            "[0, 255] or both floating in [0, 1]"
        )
    if data_range is None:
        return 255.0 if pred.dtype == torch.uint8 else 1.0
    if isinstance(data_range, bool) or not isinstance(data_range, int | float) or not 0 < data_range < math.inf:
        raise ValueError(f"data_range must be a positive finite number, got {data_range!r}")
    return float(data_range)


def psnr(pred: torch.Tensor, target: torch.Tensor, *, data_range: float | None = None) -> torch.Tensor:
    """Peak signal-to-noise ratio of each image, ``10 log10(data_range² / MSE)``.

    Args:
        pred: predicted images ``[..., H, W, C]``, uint8 in [0, 255] or floating in [0, 1].
        target: reference images, same shape and dtype family as ``pred``.
        data_range: peak-to-peak range of the pixel values; default 255 for uint8 inputs, 1.0 for floating ones.

    Returns:
        PSNR [dB], float64 of shape ``[...]`` (the MSE is taken over H, W and C only). An image identical to its
        target has PSNR +inf; per-step curves (:func:`psnr_per_step`) cap it at :data:`PSNR_CAP_DB`.
    """
    data_range = _check_images(pred, target, data_range)
    mse = (pred.double() - target.double()).square().mean(dim=(-3, -2, -1))
    return 10.0 * torch.log10(data_range**2 / mse)


def _gaussian_window(device: torch.device) -> torch.Tensor:
    """Normalized 1-D Gaussian taps ``[SSIM_WINDOW]``; their outer product is the 2-D SSIM window."""
    x = torch.arange(SSIM_WINDOW, dtype=torch.float64, device=device) - (SSIM_WINDOW - 1) / 2
    g = torch.exp(-(x**2) / (2 * SSIM_SIGMA**2))
    return g / g.sum()


def ssim(pred: torch.Tensor, target: torch.Tensor, *, data_range: float | None = None) -> torch.Tensor:
    """Structural similarity of each image (Wang, Bovik, Sheikh & Simoncelli 2004).

    Local means, variances and covariance are weighted by an 11×11 Gaussian window (σ = 1.5 pixels), with
    ``K1 = 0.01``, ``K2 = 0.03`` and population (not sample) covariance. The SSIM map is kept only where the window
    lies inside the image ("valid" convolution, an ``(H - 10) × (W - 10)`` map), averaged over it, and averaged over
    channels. This matches ``skimage.metrics.structural_similarity(pred, target, channel_axis=-1,
    gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=data_range)``.

    Args:
        pred: predicted images ``[..., H, W, C]`` with H, W >= 11, uint8 in [0, 255] or floating in [0, 1].
        target: reference images, same shape and dtype family as ``pred``.
        data_range: peak-to-peak range of the pixel values; default 255 for uint8 inputs, 1.0 for floating ones.

    Returns:
        SSIM (dimensionless, at most 1; exactly 1 for identical images), float64 of shape ``[...]``.
    """
    data_range = _check_images(pred, target, data_range)
    *lead, h, w, c = pred.shape
    if h < SSIM_WINDOW or w < SSIM_WINDOW:
        raise ValueError(f"ssim needs images of at least {SSIM_WINDOW}×{SSIM_WINDOW} pixels, got H = {h}, W = {w}")
    x = pred.double().reshape(-1, h, w, c).permute(0, 3, 1, 2)  # [N, C, H, W]
    y = target.double().reshape(-1, h, w, c).permute(0, 3, 1, 2)  # [N, C, H, W]
    stats = torch.cat([x, y, x * x, y * y, x * y], dim=1)  # [N, 5C, H, W]
    g = _gaussian_window(x.device)
    groups = stats.shape[1]
    stats = F.conv2d(stats, g.view(1, 1, -1, 1).expand(groups, 1, -1, 1), groups=groups)  # along H
    stats = F.conv2d(stats, g.view(1, 1, 1, -1).expand(groups, 1, 1, -1), groups=groups)  # along W
    mu_x, mu_y, xx, yy, xy = stats.chunk(5, dim=1)  # each [N, C, H - 10, W - 10]
    var_x, var_y, cov = xx - mu_x**2, yy - mu_y**2, xy - mu_x * mu_y
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return ssim_map.mean(dim=(1, 2, 3)).reshape(lead)


def psnr_per_step(pred: torch.Tensor, target: torch.Tensor, *, data_range: float | None = None) -> torch.Tensor:
    """PSNR of each time step, averaged over the batch.

    Args:
        pred: predicted videos ``[B, T, H, W, C]``, uint8 in [0, 255] or floating in [0, 1].
        target: reference videos, same shape and dtype family as ``pred``.
        data_range: as in :func:`psnr`.

    Returns:
        Mean PSNR [dB] over B for each step, float64 ``[T]``. A frame identical to its target counts as
        :data:`PSNR_CAP_DB` (100 dB) instead of +inf, so that the mean stays finite.
    """
    _check_images(pred, target, data_range, video=True)
    return psnr(pred, target, data_range=data_range).clamp(max=PSNR_CAP_DB).mean(dim=0)


def ssim_per_step(pred: torch.Tensor, target: torch.Tensor, *, data_range: float | None = None) -> torch.Tensor:
    """SSIM of each time step, averaged over the batch.

    Args:
        pred: predicted videos ``[B, T, H, W, C]`` with H, W >= 11, uint8 in [0, 255] or floating in [0, 1].
        target: reference videos, same shape and dtype family as ``pred``.
        data_range: as in :func:`ssim`.

    Returns:
        Mean SSIM over B for each step, float64 ``[T]``.
    """
    _check_images(pred, target, data_range, video=True)
    return ssim(pred, target, data_range=data_range).mean(dim=0)


def delta_psnr_per_step(
    target: torch.Tensor,
    pred_inferred: torch.Tensor,
    pred_random: torch.Tensor,
    *,
    data_range: float | None = None,
) -> torch.Tensor:
    """Genie's controllability curve: PSNR with inferred actions minus PSNR with random actions, per step.

    All three videos are aligned on T: ``pred_inferred[:, k]`` and ``pred_random[:, k]`` are the (k+1)-th generated
    frames (context frames excluded), and ``target[:, k]`` is the ground-truth frame they should reproduce.

    Args:
        target: ground-truth videos ``[B, T, H, W, C]``, uint8 in [0, 255] or floating in [0, 1].
        pred_inferred: frames generated with the latent actions inferred from ``target``, same shape and dtype family.
        pred_random: frames generated from the same context with random latent actions, same shape and dtype family.
        data_range: as in :func:`psnr`.

    Returns:
        ``psnr_per_step(pred_inferred, target) - psnr_per_step(pred_random, target)`` [dB], float64 ``[T]``; positive
        when the actions control the generated frames. Identical frames count as :data:`PSNR_CAP_DB`.
    """
    _check_images(pred_inferred, target, data_range, names=("pred_inferred", "target"), video=True)
    _check_images(pred_random, target, data_range, names=("pred_random", "target"), video=True)
    inferred = psnr_per_step(pred_inferred, target, data_range=data_range)
    return inferred - psnr_per_step(pred_random, target, data_range=data_range)


def delta_t_psnr(
    target: torch.Tensor,
    pred_inferred: torch.Tensor,
    pred_random: torch.Tensor,
    *,
    t: int = 4,
    data_range: float | None = None,
) -> float:
    """Genie's ΔtPSNR: PSNR with inferred actions minus PSNR with random actions at generated step ``t``.

    Args:
        target, pred_inferred, pred_random: videos ``[B, T, H, W, C]`` aligned as in :func:`delta_psnr_per_step`.
        t: which generated frame, 1-based: ``t = 4`` (Genie's choice) is the 4th generated frame, index 3 on T.
        data_range: as in :func:`psnr`.

    Returns:
        ΔtPSNR [dB], the mean over the batch of the PSNR difference at step ``t``.
    """
    if isinstance(t, bool) or not isinstance(t, int):
        raise ValueError(f"t must be an int (1-based generated step), got {t!r}")
    curve = delta_psnr_per_step(target, pred_inferred, pred_random, data_range=data_range)
    if not 1 <= t <= curve.shape[0]:
        raise ValueError(f"t = {t} is out of range: t is 1-based and the videos have T = {curve.shape[0]} steps")
    return float(curve[t - 1])
