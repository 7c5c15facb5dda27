"""`rasterize`: differentiable Gaussian-splat rendering with gsplat's conventions, on CPU and CUDA (Warp)."""

from __future__ import annotations

import torch
import warp as wp

from .projection import project
from .raster_kernels import rasterize_backward, rasterize_forward
from .sh import eval_sh, num_sh_bases
from .tiles import TILE, bin_gaussians

RENDER_MODES = ("RGB", "D", "RGB+D")


def _device(t: torch.Tensor) -> str:
    return f"cuda:{t.device.index or 0}" if t.is_cuda else "cpu"


class _RasterizeToPixels(torch.autograd.Function):
    """Composite projected Gaussians: (means2d, conics, colors, opacities, depths, backgrounds) → images."""

    @staticmethod
    def forward(ctx, means2d, conics, colors, opacities, depths, backgrounds, flat_ids, offsets, size):
        width, height, tiles_x, tiles_y = size
        C, N, D = colors.shape
        dev = _device(colors)
        args = _warp_inputs(means2d, conics, colors, opacities, depths, flat_ids, offsets, backgrounds, D)
        out_color = torch.empty(C, height, width, D, device=colors.device)
        out_alpha = torch.empty(C, height, width, device=colors.device)
        out_depth = torch.empty(C, height, width, device=colors.device)
        out_count = torch.empty(C, height, width, dtype=torch.int32, device=colors.device)
        out_top = torch.empty(C, height, width, dtype=torch.int32, device=colors.device)
        wp.launch(
            rasterize_forward,
            dim=(C, tiles_y * TILE, tiles_x * TILE),
            inputs=[*args[:7], width, height, tiles_x, tiles_x * tiles_y, D, *args[7:]],
            outputs=[wp.from_torch(out_color), wp.from_torch(out_alpha), wp.from_torch(out_depth),
                     wp.from_torch(out_count, dtype=wp.int32), wp.from_torch(out_top, dtype=wp.int32)],
            device=dev,
        )  # fmt: skip
        ctx.size = size
        ctx.has_bg = backgrounds is not None
        ctx.save_for_backward(means2d, conics, colors, opacities, depths, backgrounds if ctx.has_bg else colors,
                              flat_ids, offsets, out_alpha, out_count)  # fmt: skip
        ctx.mark_non_differentiable(out_top)
        return out_color, out_alpha.unsqueeze(-1), out_depth.unsqueeze(-1), out_top

    @staticmethod
    def backward(ctx, g_color, g_alpha, g_depth, _g_top):
        means2d, conics, colors, opacities, depths, bg, flat_ids, offsets, out_alpha, out_count = ctx.saved_tensors
        backgrounds = bg if ctx.has_bg else None
        width, height, tiles_x, tiles_y = ctx.size
        C, N, D = colors.shape
        dev = _device(colors)
        grads = [torch.zeros_like(x) for x in (means2d, conics, opacities, colors, depths)]
        d_means2d, d_conics, d_opac, d_colors, d_depths = grads
        args = _warp_inputs(means2d, conics, colors, opacities, depths, flat_ids, offsets, backgrounds, D)
        wp.launch(
            rasterize_backward,
            dim=(C, tiles_y * TILE, tiles_x * TILE),
            inputs=[*args[:7], width, height, tiles_x, tiles_x * tiles_y, D, *args[7:],
                    wp.from_torch(out_alpha.contiguous()), wp.from_torch(out_count, dtype=wp.int32),
                    wp.from_torch(g_color.contiguous()), wp.from_torch(g_alpha[..., 0].contiguous()),
                    wp.from_torch(g_depth[..., 0].contiguous())],
            outputs=[wp.from_torch(d_means2d.reshape(-1, 2), dtype=wp.vec2),
                     wp.from_torch(d_conics.reshape(-1, 3), dtype=wp.vec3), wp.from_torch(d_opac.reshape(-1)),
                     wp.from_torch(d_colors.reshape(-1, D)), wp.from_torch(d_depths.reshape(-1))],
            device=dev,
        )  # fmt: skip
        d_bg = None
        if ctx.has_bg:
            d_bg = (g_color * (1.0 - out_alpha).unsqueeze(-1)).sum(dim=(1, 2))
        return d_means2d, d_conics, d_colors, d_opac, d_depths, d_bg, None, None, None


def _warp_inputs(means2d, conics, colors, opacities, depths, flat_ids, offsets, backgrounds, D):
    """Warp views of the kernels' inputs, the per-Gaussian ones packed in tile order (see raster_kernels)."""
    C = colors.shape[0]
    bg = backgrounds if backgrounds is not None else torch.zeros(C, D, device=colors.device)
    ids = flat_ids.long()
    return [
        wp.from_torch(means2d.detach().reshape(-1, 2)[ids].contiguous(), dtype=wp.vec2),
        wp.from_torch(conics.detach().reshape(-1, 3)[ids].contiguous(), dtype=wp.vec3),
        wp.from_torch(opacities.detach().reshape(-1)[ids].contiguous()),
        wp.from_torch(colors.detach().reshape(-1, D)[ids].contiguous()),
        wp.from_torch(depths.detach().reshape(-1)[ids].contiguous()),
        wp.from_torch(flat_ids, dtype=wp.int32),
        wp.from_torch(offsets, dtype=wp.int32),
        wp.from_torch(bg.detach().contiguous()),
        int(backgrounds is not None),
    ]


def rasterize(
    means: torch.Tensor,
    quats: torch.Tensor,
    scales: torch.Tensor,
    opacities: torch.Tensor,
    colors: torch.Tensor,
    viewmats: torch.Tensor,
    Ks: torch.Tensor,
    width: int,
    height: int,
    *,
    near_plane: float = 0.01,
    far_plane: float = 1e10,
    eps2d: float = 0.3,
    sh_degree: int | None = None,
    render_mode: str = "RGB",
    backgrounds: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Render N Gaussians into C cameras (gsplat's ``rasterization`` conventions).

    Args:
        means: [N, 3] centres (world, m). quats: [N, 4] rotations (w, x, y, z; normalized inside).
        scales: [N, 3] standard deviations along the Gaussian's axes (m, already activated).
        opacities: [N] in [0, 1] (already activated).
            means, quats, scales and opacities may instead carry a leading camera dimension [C, N, ...]: a
            different set of Gaussians per camera (worlds of a batch rendered in one call; no SH then).
        colors: [N, D] or [C, N, D] colors, or with ``sh_degree`` SH coefficients [N, K, 3] (gsplat adds 0.5 to
            the SH value and clamps at 0).
        viewmats: [C, 4, 4] world-to-camera (OpenCV: +z forward, +y down). Ks: [C, 3, 3] intrinsics (pixels).
        width, height: image size (pixels).
        near_plane, far_plane: camera-z range kept (m). eps2d: added to the 2D covariance's diagonal (px²).
        render_mode: ``"RGB"``, ``"D"`` (accumulated depth Σ zᵢ αᵢ Tᵢ) or ``"RGB+D"`` (depth as the last channel).
        backgrounds: [C, D] colors behind the splats (``RGB`` channels only).

    Returns:
        ``(colors [C, H, W, D(+1)], alphas [C, H, W, 1], meta)``; meta holds the projection (``means2d``,
        ``conics``, ``depths``, ``radii``) and the tile binning. Differentiable w.r.t. means, quats, scales,
        opacities, colors (or SH), viewmats, Ks and backgrounds.
    """
    if render_mode not in RENDER_MODES:
        raise ValueError(f"render_mode must be one of {RENDER_MODES}, got {render_mode!r}")
    if not (isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0):
        raise ValueError(f"width and height must be positive integers, got {width!r}, {height!r}")
    if viewmats.ndim != 3 or viewmats.shape[1:] != (4, 4):
        raise ValueError(f"viewmats must be [C, 4, 4], got {list(viewmats.shape)}")
    C = viewmats.shape[0]
    per_camera = means.ndim == 3  # a different set of N Gaussians for each camera
    lead = (C,) if per_camera else ()
    n = means.shape[-2] if means.ndim in (2, 3) else -1
    _check("means", means, (*lead, n, 3))
    _check("quats", quats, (*lead, n, 4))
    _check("scales", scales, (*lead, n, 3))
    _check("opacities", opacities, (*lead, n))
    _check("Ks", Ks, (C, 3, 3))
    proj = project(means, quats, scales, viewmats, Ks, width, height, near_plane=near_plane, far_plane=far_plane,
                   eps2d=eps2d)  # fmt: skip
    if sh_degree is not None:
        k = num_sh_bases(sh_degree)
        if colors.ndim != 3 or colors.shape[0] != n or colors.shape[1] < k or colors.shape[2] != 3 or per_camera:
            raise ValueError(f"with sh_degree={sh_degree}, colors must be SH coefficients [N, >={k}, 3], "
                             f"got {list(colors.shape)}")  # fmt: skip
        cam_pos = -torch.einsum("cji,cj->ci", viewmats[:, :3, :3], viewmats[:, :3, 3])  # camera centres
        dirs = means[None] - cam_pos[:, None]
        colors = torch.clamp_min(eval_sh(sh_degree, colors[None].expand(C, -1, -1, -1), dirs) + 0.5, 0.0)
    elif colors.ndim == 2:
        _check("colors", colors, (n, colors.shape[-1]))
        colors = colors[None].expand(C, -1, -1)
    else:
        _check("colors", colors, (C, n, colors.shape[-1]))
    D = colors.shape[-1]
    if backgrounds is not None:
        _check("backgrounds", backgrounds, (C, D))
    flat_ids, offsets, tiles_x, tiles_y = bin_gaussians(proj["means2d"], proj["radii"], proj["depths"], width, height)
    visible = (proj["radii"] > 0).to(colors.dtype)  # culled Gaussians have undefined conics: keep them out
    opac = (opacities if per_camera else opacities[None].expand(C, -1)) * visible
    out_color, out_alpha, out_depth, out_top = _RasterizeToPixels.apply(
        proj["means2d"].contiguous(), proj["conics"].contiguous(), colors.contiguous(), opac.contiguous(),
        proj["depths"].contiguous(), backgrounds, flat_ids, offsets, (width, height, tiles_x, tiles_y),
    )  # fmt: skip
    if render_mode == "D":
        image = out_depth
    elif render_mode == "RGB+D":
        image = torch.cat([out_color, out_depth], dim=-1)
    else:
        image = out_color
    meta = {**proj, "flat_ids": flat_ids, "tile_offsets": offsets, "tiles": (tiles_x, tiles_y), "top": out_top}
    return image, out_alpha, meta


def _check(name: str, t: torch.Tensor, shape: tuple) -> None:
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{name} must be a torch tensor of shape {list(shape)}, got {type(t).__name__}")
    if t.ndim != len(shape) or any(s >= 0 and a != s for a, s in zip(t.shape, shape, strict=True)):
        raise ValueError(f"{name} has shape {list(t.shape)}, expected {list(shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or inf values")
