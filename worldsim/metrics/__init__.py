"""Evaluation metrics for video world models (Genie-style).

Frame quality (images channels-last ``[..., H, W, 3]``, uint8 in [0, 255] or floating in [0, 1]):
:func:`psnr`, :func:`ssim`, their per-step curves over videos ``[B, T, H, W, 3]`` (:func:`psnr_per_step`,
:func:`ssim_per_step`), and Genie's controllability metric :func:`delta_t_psnr` / :func:`delta_psnr_per_step`.

Latent codes and features: :func:`codebook_usage` (usage and perplexity), :func:`normalized_mutual_information`
between codes and :func:`discretize_actions` of true actions, and :func:`linear_probe_r2`.

Physics (``[..., T, H, W]`` masks of one body over time): :func:`color_mask` (segmentation by a body's color),
:func:`mask_centroids`, :func:`mask_areas`, :func:`area_drift`, :func:`finite_difference` (velocities and
accelerations of centroid tracks) and NewtonGen's :func:`physical_invariance_score`.

The motion suite (:mod:`worldsim.metrics.motion_suite`): one scene per Newtonian motion category
(:data:`MOTION_CATEGORIES`), rendered with ground-truth masks (:func:`render_motion_suite`), recorded as one dataset
(:func:`record_motion_suite`), and scored by the PIS of each category's invariant (:func:`motion_invariants`,
:func:`motion_pis`, :func:`evaluate_motion`).
"""

from ._image import (
    PSNR_CAP_DB,
    delta_psnr_per_step,
    delta_t_psnr,
    psnr,
    psnr_per_step,
    ssim,
    ssim_per_step,
)
from ._latent import codebook_usage, discretize_actions, linear_probe_r2, normalized_mutual_information
from ._physics import (
    area_drift,
    color_mask,
    finite_difference,
    mask_areas,
    mask_centroids,
    physical_invariance_score,
)
from .motion_suite import (
    MOTION_CATEGORIES,
    MOTION_SCENES,
    MotionClips,
    MotionScene,
    evaluate_motion,
    motion_invariants,
    motion_pis,
    record_motion_suite,
    render_motion_suite,
)

__all__ = [
    "MOTION_CATEGORIES",
    "MOTION_SCENES",
    "MotionClips",
    "MotionScene",
    "PSNR_CAP_DB",
    "area_drift",
    "codebook_usage",
    "color_mask",
    "delta_psnr_per_step",
    "delta_t_psnr",
    "discretize_actions",
    "evaluate_motion",
    "finite_difference",
    "linear_probe_r2",
    "mask_areas",
    "mask_centroids",
    "motion_invariants",
    "motion_pis",
    "normalized_mutual_information",
    "physical_invariance_score",
    "psnr",
    "psnr_per_step",
    "record_motion_suite",
    "render_motion_suite",
    "ssim",
    "ssim_per_step",
]
