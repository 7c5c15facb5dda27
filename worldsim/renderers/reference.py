"""A slow, obviously-correct torch rasterizer: the oracle that the Warp kernels are tested (and benchmarked)
against. Same projection, same 3DGS constants, same 16×16 tile culling; every pixel against every Gaussian."""

from __future__ import annotations

import torch

from .projection import project
from .tiles import TILE


def rasterize_reference(
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
    backgrounds: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(colors [C, H, W, D], alphas [C, H, W, 1], accumulated depth [C, H, W, 1]); colors [N, D] or [C, N, D]."""
    proj = project(means, quats, scales, viewmats, Ks, width, height, near_plane=near_plane, far_plane=far_plane,
                   eps2d=eps2d)  # fmt: skip
    C, N = proj["radii"].shape
    cols = colors if colors.ndim == 3 else colors[None].expand(C, -1, -1)
    ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    pix = torch.stack([xs + 0.5, ys + 0.5], dim=-1).to(means.dtype)  # [H, W, 2]
    tile_x, tile_y = (xs // TILE)[..., None], (ys // TILE)[..., None]  # [H, W, 1]
    out_c, out_a, out_d = [], [], []
    for c in range(C):
        order = torch.argsort(proj["depths"][c].detach(), stable=True)
        m2d = proj["means2d"][c, order]
        con = proj["conics"][c, order]
        r = proj["radii"][c, order].to(means.dtype)
        d = m2d[None, None] - pix[:, :, None, :]  # [H, W, N, 2]
        dx, dy = d[..., 0], d[..., 1]
        sigma = 0.5 * (con[:, 0] * dx * dx + con[:, 2] * dy * dy) + con[:, 1] * dx * dy
        alpha = torch.clamp_max(opacities[order] * torch.exp(-sigma), 0.99)
        # the Gaussian reaches this pixel's tile (its 3σ box, rounded out to tiles)
        x0 = torch.floor((m2d[:, 0] - r) / TILE).detach()
        x1 = torch.ceil((m2d[:, 0] + r) / TILE).detach()
        y0 = torch.floor((m2d[:, 1] - r) / TILE).detach()
        y1 = torch.ceil((m2d[:, 1] + r) / TILE).detach()
        in_tile = (tile_x >= x0) & (tile_x < x1) & (tile_y >= y0) & (tile_y < y1) & (r > 0)
        used = in_tile & (sigma >= 0) & (alpha >= 1.0 / 255.0)
        alpha = torch.where(used, alpha, torch.zeros_like(alpha))
        t_front = torch.cumprod(torch.cat([torch.ones_like(alpha[..., :1]), 1 - alpha[..., :-1]], -1), -1)
        stop = used & (t_front * (1 - alpha) <= 1e-4)  # compositing stops before this one
        alive = torch.cumprod((~stop).to(alpha.dtype), dim=-1)
        w = alpha * t_front * alive  # [H, W, N]
        t_end = 1.0 - w.sum(-1)  # = Π (1 − αᵢ) over the included Gaussians
        img = torch.einsum("hwn,nd->hwd", w, cols[c, order])
        if backgrounds is not None:
            img = img + t_end[..., None] * backgrounds[c]
        out_c.append(img)
        out_a.append((1.0 - t_end)[..., None])
        out_d.append(torch.einsum("hwn,n->hw", w, proj["depths"][c, order])[..., None])
    return torch.stack(out_c), torch.stack(out_a), torch.stack(out_d)
