"""Binning of projected Gaussians into 16×16-pixel tiles, sorted front to back within each tile (torch, integer
work only; nothing here is differentiated)."""

from __future__ import annotations

import torch

TILE = 16


def bin_gaussians(means2d: torch.Tensor, radii: torch.Tensor, depths: torch.Tensor, width: int, height: int):
    """Per camera and tile, the Gaussians whose 3σ box overlaps the tile, nearest first.

    Args:
        means2d: [C, N, 2] pixels. radii: [C, N] int (0 = culled). depths: [C, N].
    Returns:
        ``flat_ids`` [P] int32: indices c·N + g, grouped by (camera, tile) and sorted by depth in each group;
        ``tile_offsets`` [C·tiles_y·tiles_x + 1] int32: group k is flat_ids[offsets[k]:offsets[k+1]];
        ``tiles_x``, ``tiles_y``.
    """
    C, N = radii.shape
    tiles_x = (width + TILE - 1) // TILE
    tiles_y = (height + TILE - 1) // TILE
    ntile = tiles_x * tiles_y
    dev = means2d.device
    with torch.no_grad():
        m = means2d.detach().reshape(-1, 2)
        r = radii.reshape(-1).to(torch.float32)
        vis = torch.nonzero(radii.reshape(-1) > 0).flatten()
        x0 = ((m[vis, 0] - r[vis]) / TILE).floor().clamp(0, tiles_x).long()
        x1 = ((m[vis, 0] + r[vis]) / TILE).ceil().clamp(0, tiles_x).long()
        y0 = ((m[vis, 1] - r[vis]) / TILE).floor().clamp(0, tiles_y).long()
        y1 = ((m[vis, 1] + r[vis]) / TILE).ceil().clamp(0, tiles_y).long()
        nx, ny = x1 - x0, y1 - y0
        counts = nx * ny
        keep = counts > 0
        vis, x0, y0, nx, counts = vis[keep], x0[keep], y0[keep], nx[keep], counts[keep]
        owner = torch.repeat_interleave(torch.arange(len(vis), device=dev), counts)
        start = torch.cumsum(counts, 0) - counts
        local = torch.arange(int(counts.sum()), device=dev) - start[owner]
        tx = x0[owner] + local % nx[owner]
        ty = y0[owner] + local // nx[owner]
        ids = vis[owner]
        cam = ids // N
        tile = cam * ntile + ty * tiles_x + tx
        # sort by depth, then (stably) by tile: front to back within each tile
        order = torch.argsort(depths.detach().reshape(-1)[ids], stable=True)
        order = order[torch.argsort(tile[order], stable=True)]
        flat_ids = ids[order].to(torch.int32)
        counts_per_tile = torch.bincount(tile, minlength=C * ntile)
        offsets = torch.zeros(C * ntile + 1, dtype=torch.int64, device=dev)
        offsets[1:] = torch.cumsum(counts_per_tile, 0)
    return flat_ids.contiguous(), offsets.to(torch.int32).contiguous(), tiles_x, tiles_y
