"""worldsim.renderers: differentiable Gaussian-splat rendering (gsplat's conventions) in Warp, on CPU and CUDA.

Public API: :func:`rasterize`, and :func:`rasterize_reference` (the slow torch oracle).
"""

from .rasterize import RENDER_MODES, rasterize
from .reference import rasterize_reference

__all__ = ["RENDER_MODES", "rasterize", "rasterize_reference"]
