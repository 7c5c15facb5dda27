"""worldsim.renderers: differentiable Gaussian-splat rendering (gsplat's conventions) in Warp, on CPU and CUDA.

Public API: :func:`rasterize` (and :func:`rasterize_reference`, the slow torch oracle), :class:`SplatScene`
(splats bound to a model's bodies, rendered from ``qpos``), cameras (:func:`look_at`, :func:`intrinsics`,
:func:`model_cameras`) and :func:`body_poses`.
"""

from .cameras import intrinsics, look_at, model_cameras
from .poses import body_poses
from .rasterize import RENDER_MODES, rasterize
from .reference import rasterize_reference
from .scene import RenderOutput, SplatScene

__all__ = [
    "RENDER_MODES",
    "RenderOutput",
    "SplatScene",
    "body_poses",
    "intrinsics",
    "look_at",
    "model_cameras",
    "rasterize",
    "rasterize_reference",
]
