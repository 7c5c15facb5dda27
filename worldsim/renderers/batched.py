"""Forward-only rendering of a batch of worlds, every stage a Warp kernel, cameras split over CPU threads.

:meth:`SplatScene.render <worldsim.renderers.scene.SplatScene.render>` uses this on the CPU when no gradient is
wanted (an env's pixel observations, the viewer, datasets): the same images as the differentiable path
(:func:`~worldsim.renderers.rasterize.rasterize`: projection and binning in torch, compositing in Warp) to float
round-off, ~4x faster on the CPU. Per camera:

1. :func:`project_splats` (one thread per camera and splat): the splat's pose from its body's, gsplat's EWA
   projection (the same clamps and cut-offs as :func:`~worldsim.renderers.projection.project`), its 3σ radius
   and the rectangle of tiles it covers.
2. the splats are ordered by depth (``torch.argsort``, stable), so that
3. :func:`bin_splats` (one thread per camera, walking its splats nearest first) appends each splat to the lists
   of its tiles already front to back: no per-tile sort. It writes the per-splat values packed in tile order,
   as :mod:`~worldsim.renderers.raster_kernels` reads them.
4. :func:`composite_tiles` composites the pixels front to back, as
   :func:`~worldsim.renderers.raster_kernels.rasterize_forward` does (same per-pixel test, constants and
   cut-offs), but a thread takes a whole tile and each splat only where its ellipse can reach: the rows within
   its sigma cut-off and, in each, the pixels between the ellipse's ends (most of a tile's splats cover a few of
   its 256 pixels; a pixel-per-thread kernel tests every splat of the tile at every pixel).

Each stage runs over contiguous chunks of cameras in parallel threads (Warp's CPU launches release the GIL).
Binning walks each camera's splats in one thread, which suits the CPU; on CUDA the torch path (a parallel sort) is
the better one, and ``render`` keeps it there.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import torch
import warp as wp

from .raster_kernels import ALPHA_MAX, ALPHA_MIN, SIGMA_MAX, T_MIN, TILE

_POOL: dict[int, ThreadPoolExecutor] = {}
SLACK = wp.constant(0.01)  # pixels added to each end of a splat's row and column ranges, for round-off


@wp.func
def rotmat(q: wp.vec4) -> wp.mat33:
    """Rotation matrix of the quaternion (w, x, y, z) ``q``, normalized first (as ``projection.quat_to_rotmat``)."""
    q = q / wp.max(wp.length(q), 1.0e-12)
    w, x, y, z = q[0], q[1], q[2], q[3]
    return wp.mat33(
        1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - w * z), 2.0 * (x * z + w * y),
        2.0 * (x * y + w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - w * x),
        2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y),
    )  # fmt: skip


@wp.kernel(enable_backward=False)
def project_splats(
    c0: int,
    cams_per_world: int,
    xpos: wp.array2d(dtype=wp.vec3),
    xquat: wp.array2d(dtype=wp.vec4),
    body: wp.array(dtype=wp.int32),
    local_means: wp.array(dtype=wp.vec3),
    local_quats: wp.array(dtype=wp.vec4),
    scales: wp.array(dtype=wp.vec3),
    viewmats: wp.array(dtype=wp.mat44),
    Ks: wp.array(dtype=wp.mat33),
    width: int,
    height: int,
    tiles_x: int,
    tiles_y: int,
    near_plane: float,
    far_plane: float,
    eps2d: float,
    means2d: wp.array2d(dtype=wp.vec2),
    conics: wp.array2d(dtype=wp.vec3),
    depths: wp.array2d(dtype=wp.float32),
    rects: wp.array2d(dtype=wp.vec4i),
    ntiles: wp.array2d(dtype=wp.int32),
):
    """Camera c0 + i, splat s: ``means2d`` [px], ``conics``, ``depths`` (camera z, m), the tile rectangle
    (x0, x1, y0, y1) and its tile count ``ntiles`` (0: culled)."""
    i, s = wp.tid()
    c = c0 + i
    wld = c // cams_per_world
    b = body[s]
    rb = rotmat(xquat[wld, b])
    p = xpos[wld, b] + rb * local_means[s]
    rw = rb * rotmat(local_quats[s])
    sc = scales[s]
    m = wp.mat33(rw[0, 0] * sc[0], rw[0, 1] * sc[1], rw[0, 2] * sc[2],
                 rw[1, 0] * sc[0], rw[1, 1] * sc[1], rw[1, 2] * sc[2],
                 rw[2, 0] * sc[0], rw[2, 1] * sc[1], rw[2, 2] * sc[2])  # fmt: skip
    V = viewmats[c]
    rv = wp.mat33(V[0, 0], V[0, 1], V[0, 2], V[1, 0], V[1, 1], V[1, 2], V[2, 0], V[2, 1], V[2, 2])
    pc = rv * p + wp.vec3(V[0, 3], V[1, 3], V[2, 3])
    x, y, z = pc[0], pc[1], pc[2]
    ntiles[c, s] = 0
    depths[c, s] = z
    if not (z > near_plane and z < far_plane):
        return
    K = Ks[c]
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    mx = fx * x / z + cx
    my = fy * y / z + cy
    means2d[c, s] = wp.vec2(mx, my)
    # EWA with the slopes clamped 30% beyond the image edges (as projection.project)
    lim_xp = (float(width) - cx) / fx + 0.3 * (0.5 * float(width) / fx)
    lim_xn = cx / fx + 0.3 * (0.5 * float(width) / fx)
    lim_yp = (float(height) - cy) / fy + 0.3 * (0.5 * float(height) / fy)
    lim_yn = cy / fy + 0.3 * (0.5 * float(height) / fy)
    tx = z * wp.min(lim_xp, wp.max(-lim_xn, x / z))
    ty = z * wp.min(lim_yp, wp.max(-lim_yn, y / z))
    j0 = wp.vec3(fx / z, 0.0, -fx * tx / (z * z))
    j1 = wp.vec3(0.0, fy / z, -fy * ty / (z * z))
    rm = rv * m  # camera-frame R S: cov_cam = (rv m)(rv m)^T
    u0 = wp.transpose(rm) * j0  # (J rm)^T rows
    u1 = wp.transpose(rm) * j1
    a = wp.dot(u0, u0) + eps2d
    bb = wp.dot(u0, u1)
    cc = wp.dot(u1, u1) + eps2d
    det = a * cc - bb * bb
    if not (det > 1.0e-12):
        return
    conics[c, s] = wp.vec3(cc / det, -bb / det, a / det)
    mid = 0.5 * (a + cc)
    lam = mid + wp.sqrt(wp.max(mid * mid - det, 0.1))
    r = wp.ceil(3.0 * wp.sqrt(wp.max(lam, 0.0)))
    if not (mx + r > 0.0 and mx - r < float(width) and my + r > 0.0 and my - r < float(height)):
        return
    tile = float(TILE)
    x0 = wp.clamp(int(wp.floor((mx - r) / tile)), 0, tiles_x)
    x1 = wp.clamp(int(wp.ceil((mx + r) / tile)), 0, tiles_x)
    y0 = wp.clamp(int(wp.floor((my - r) / tile)), 0, tiles_y)
    y1 = wp.clamp(int(wp.ceil((my + r) / tile)), 0, tiles_y)
    rects[c, s] = wp.vec4i(x0, x1, y0, y1)
    ntiles[c, s] = wp.max(x1 - x0, 0) * wp.max(y1 - y0, 0)


@wp.kernel(enable_backward=False)
def bin_splats(
    c0: int,
    num_splats: int,
    ntile: int,
    tiles_x: int,
    nchannel: int,
    order: wp.array2d(dtype=wp.int64),
    cam_start: wp.array(dtype=wp.int64),
    ntiles: wp.array2d(dtype=wp.int32),
    rects: wp.array2d(dtype=wp.vec4i),
    means2d: wp.array2d(dtype=wp.vec2),
    conics: wp.array2d(dtype=wp.vec3),
    depths: wp.array2d(dtype=wp.float32),
    opacities: wp.array(dtype=wp.float32),
    colors: wp.array3d(dtype=wp.float32),
    color_world_stride: int,
    cams_per_world: int,
    tile_offsets: wp.array(dtype=wp.int32),
    cursor: wp.array(dtype=wp.int32),
    flat_ids: wp.array(dtype=wp.int32),
    p_means2d: wp.array(dtype=wp.vec2),
    p_conics: wp.array(dtype=wp.vec3),
    p_opacities: wp.array(dtype=wp.float32),
    p_colors: wp.array2d(dtype=wp.float32),
    p_depths: wp.array(dtype=wp.float32),
):
    """Camera c0 + i: its tiles' offsets (from the camera's first entry ``cam_start[c]``), then every visible
    splat, nearest first (``order[c]``), appended to each of its tiles with its values packed in tile order."""
    c = c0 + wp.tid()
    first = c * ntile
    for t in range(ntile):
        cursor[first + t] = 0
    for s in range(num_splats):
        n = ntiles[c, s]
        if n > 0:
            r = rects[c, s]
            for ty in range(r[2], r[3]):
                for tx in range(r[0], r[1]):
                    cursor[first + ty * tiles_x + tx] += 1
    k = int(cam_start[c])
    for t in range(ntile):
        tile_offsets[first + t] = k
        count = cursor[first + t]
        cursor[first + t] = k
        k += count
    wld = (c // cams_per_world) * color_world_stride
    for j in range(num_splats):
        s = int(order[c, j])
        if ntiles[c, s] > 0:
            r = rects[c, s]
            for ty in range(r[2], r[3]):
                for tx in range(r[0], r[1]):
                    t = first + ty * tiles_x + tx
                    e = cursor[t]
                    cursor[t] = e + 1
                    flat_ids[e] = c * num_splats + s
                    p_means2d[e] = means2d[c, s]
                    p_conics[e] = conics[c, s]
                    p_opacities[e] = opacities[s]
                    p_depths[e] = depths[c, s]
                    for ch in range(nchannel):
                        p_colors[e, ch] = colors[wld, s, ch]


@wp.kernel(enable_backward=False)
def composite_tiles(
    means2d: wp.array(dtype=wp.vec2),
    conics: wp.array(dtype=wp.vec3),
    opacities: wp.array(dtype=wp.float32),
    colors: wp.array2d(dtype=wp.float32),
    depths: wp.array(dtype=wp.float32),
    flat_ids: wp.array(dtype=wp.int32),
    tile_offsets: wp.array(dtype=wp.int32),
    width: int,
    height: int,
    tiles_x: int,
    ntile: int,
    backgrounds: wp.array2d(dtype=wp.float32),
    use_background: int,
    top_w: wp.array3d(dtype=wp.float32),
    out_color: wp.array4d(dtype=wp.float32),
    out_alpha: wp.array3d(dtype=wp.float32),
    out_depth: wp.array3d(dtype=wp.float32),
    out_top: wp.array3d(dtype=wp.int32),
):
    """Camera c, tile t: RGB, alpha = 1 − T, Σ zᵢ αᵢ Tᵢ and the heaviest splat (−1 if none) of the tile's pixels.

    The tile's splats are taken front to back, each only where it can reach: the rows where its ellipse's
    sigma can be below the cut-off, and in each row the pixels between the ellipse's ends (with :data:`SLACK` for
    round-off; each pixel then makes the per-pixel test of ``rasterize_forward``). While compositing, a pixel keeps its
    transmittance T in ``out_alpha`` (negated once the pixel is done) and the weight of its heaviest splat in
    ``top_w``; the tile stops when every pixel is done."""
    c, t = wp.tid()
    ty0 = (t // tiles_x) * TILE
    tx0 = (t % tiles_x) * TILE
    ny = wp.min(TILE, height - ty0)
    nx = wp.min(TILE, width - tx0)
    for y in range(ty0, ty0 + ny):
        for x in range(tx0, tx0 + nx):
            out_alpha[c, y, x] = 1.0
            out_depth[c, y, x] = 0.0
            out_top[c, y, x] = -1
            top_w[c, y, x] = 0.0
            for ch in range(3):
                out_color[c, y, x, ch] = 0.0
    active = nx * ny
    tile = c * ntile + t
    for k in range(tile_offsets[tile], tile_offsets[tile + 1]):
        m = means2d[k]
        con = conics[k]
        a = con[0]
        det = a * con[2] - con[1] * con[1]
        if a <= 0.0 or det <= 0.0:
            continue
        # rows whose smallest sigma, dy²·det/(2a), is within the cut-off
        ry = wp.sqrt(2.0 * SIGMA_MAX * a / det)
        y_lo = wp.max(int(wp.floor(m[1] - ry - 0.5 - SLACK)), ty0)
        y_hi = wp.min(int(wp.floor(m[1] + ry - 0.5 + SLACK)) + 1, ty0 + ny)
        opacity = opacities[k]
        for y in range(y_lo, y_hi):
            dy = m[1] - (float(y) + 0.5)
            bdy = con[1] * dy
            disc = bdy * bdy - a * (con[2] * dy * dy - 2.0 * SIGMA_MAX)
            if disc < 0.0:
                continue
            root = wp.sqrt(disc)
            # sigma <= SIGMA_MAX for dx = m[0] - (x + 0.5) in (-bdy ± root) / a
            x_lo = wp.max(int(wp.floor(m[0] - (root - bdy) / a - 0.5 - SLACK)), tx0)
            x_hi = wp.min(int(wp.floor(m[0] + (root + bdy) / a - 0.5 + SLACK)) + 1, tx0 + nx)
            for x in range(x_lo, x_hi):
                trans = out_alpha[c, y, x]
                if trans > 0.0:
                    dx = m[0] - (float(x) + 0.5)
                    sigma = 0.5 * (con[0] * dx * dx + con[2] * dy * dy) + con[1] * dx * dy
                    if sigma >= 0.0 and sigma <= SIGMA_MAX:
                        alpha = wp.min(ALPHA_MAX, opacity * wp.exp(-sigma))
                        if alpha >= ALPHA_MIN:
                            next_t = trans * (1.0 - alpha)
                            if next_t <= T_MIN:
                                out_alpha[c, y, x] = -trans  # done: no later splat reaches this pixel
                                active -= 1
                            else:
                                w = alpha * trans
                                for ch in range(3):
                                    out_color[c, y, x, ch] += colors[k, ch] * w
                                out_depth[c, y, x] += depths[k] * w
                                if w > top_w[c, y, x]:
                                    top_w[c, y, x] = w
                                    out_top[c, y, x] = flat_ids[k]
                                out_alpha[c, y, x] = next_t
        if active == 0:
            break
    for y in range(ty0, ty0 + ny):
        for x in range(tx0, tx0 + nx):
            trans = wp.abs(out_alpha[c, y, x])
            if use_background != 0:
                for ch in range(3):
                    out_color[c, y, x, ch] += trans * backgrounds[c, ch]
            out_alpha[c, y, x] = 1.0 - trans


def _chunks(count: int) -> list[tuple[int, int]]:
    """Contiguous ranges of cameras, one per CPU thread (``WORLDSIM_NUM_THREADS`` or all cores)."""
    k = max(1, min(int(os.environ.get("WORLDSIM_NUM_THREADS", os.cpu_count() or 1)), count))
    return [(i * count // k, (i + 1) * count // k) for i in range(k)]


def _parallel(fn, chunks: list[tuple[int, int]]) -> None:
    if len(chunks) == 1:
        fn(*chunks[0])
        return
    pool = _POOL.setdefault(len(chunks), ThreadPoolExecutor(len(chunks), thread_name_prefix="worldsim-render"))
    for future in [pool.submit(fn, a, b) for a, b in chunks]:
        future.result()


def render_batch(
    xpos: torch.Tensor,
    xquat: torch.Tensor,
    body: torch.Tensor,
    local_means: torch.Tensor,
    local_quats: torch.Tensor,
    scales: torch.Tensor,
    opacities: torch.Tensor,
    colors: torch.Tensor,
    viewmats: torch.Tensor,
    Ks: torch.Tensor,
    width: int,
    height: int,
    backgrounds: torch.Tensor | None = None,
    near_plane: float = 0.01,
    far_plane: float = 1e10,
    eps2d: float = 0.3,
) -> dict[str, torch.Tensor]:
    """Render the splats of N worlds from C cameras each (no gradient).

    Args:
        xpos, xquat: body poses [N, nbody, 3] (m), [N, nbody, 4] (w, x, y, z).
        body: the body of each splat [S] (int); local_means [S, 3] (m), local_quats [S, 4] and scales [S, 3] (std
            devs, m) in the body's frame; opacities [S] in [0, 1]; colors [S, 3] or per world [N, S, 3] (RGB).
        viewmats: [N·C, 4, 4] world-to-camera (OpenCV), camera k of world w at index w·C + k; Ks: [N·C, 3, 3].
        backgrounds: [N·C, 3] or None (black).

    Returns:
        ``color`` [N·C, H, W, 3], ``alpha`` [N·C, H, W], ``depth`` [N·C, H, W] (Σ zᵢ αᵢ Tᵢ, not normalized) and
        ``top`` [N·C, H, W] int32 (c·S + s of the splat weighing most in the pixel, −1 if none).
    """
    dev = xpos.device
    wdev = f"cuda:{dev.index or 0}" if dev.type == "cuda" else "cpu"
    n_world, ncam, S = xpos.shape[0], viewmats.shape[0], body.shape[0]
    if ncam % n_world:
        raise ValueError(f"viewmats has {ncam} cameras, not a multiple of the {n_world} worlds")
    per_world = ncam // n_world
    colors = colors if colors.ndim == 3 else colors[None]
    D = colors.shape[-1]
    if D != 3:
        raise ValueError(f"colors must have 3 channels (RGB), got {D}")
    tiles_x, tiles_y = (width + TILE - 1) // TILE, (height + TILE - 1) // TILE
    ntile = tiles_x * tiles_y
    f32 = {"dtype": torch.float32, "device": dev}

    def warp(t, dtype=None):
        return wp.from_torch(t.detach().contiguous(), dtype=dtype)

    # written by project_splats (entries of culled splats, ntiles = 0, are never read)
    means2d = torch.empty(ncam, S, 2, **f32)
    conics = torch.empty(ncam, S, 3, **f32)
    depths = torch.empty(ncam, S, **f32)
    rects = torch.empty(ncam, S, 4, dtype=torch.int32, device=dev)
    ntiles = torch.empty(ncam, S, dtype=torch.int32, device=dev)
    w_out = [warp(means2d, wp.vec2), warp(conics, wp.vec3), warp(depths), warp(rects, wp.vec4i), warp(ntiles)]
    w_in = [warp(xpos.float(), wp.vec3), warp(xquat.float(), wp.vec4), warp(body.to(torch.int32)),
            warp(local_means.float(), wp.vec3), warp(local_quats.float(), wp.vec4), warp(scales.float(), wp.vec3),
            warp(viewmats.float(), wp.mat44), warp(Ks.float(), wp.mat33)]  # fmt: skip
    chunks = _chunks(ncam) if dev.type == "cpu" else [(0, ncam)]

    def project(a, b):
        wp.launch(project_splats, dim=(b - a, S), device=wdev, inputs=[a, per_world, *w_in, width, height, tiles_x,
                  tiles_y, float(near_plane), float(far_plane), float(eps2d), *w_out])  # fmt: skip

    _parallel(project, chunks)
    order = torch.argsort(depths, dim=1, stable=True)
    per_cam = ntiles.sum(1)
    cam_start = torch.cumsum(per_cam, 0) - per_cam
    total = int(per_cam.sum())
    # written by bin_splats (every tile offset, every packed entry)
    tile_offsets = torch.empty(ncam * ntile + 1, dtype=torch.int32, device=dev)
    cursor = torch.empty(ncam * ntile, dtype=torch.int32, device=dev)
    p = max(total, 1)
    packed = {"flat_ids": torch.empty(p, dtype=torch.int32, device=dev), "means2d": torch.empty(p, 2, **f32),
              "conics": torch.empty(p, 3, **f32), "opacities": torch.empty(p, **f32),
              "colors": torch.empty(p, D, **f32), "depths": torch.empty(p, **f32)}  # fmt: skip
    w_packed = [warp(packed["flat_ids"]), warp(packed["means2d"], wp.vec2), warp(packed["conics"], wp.vec3),
                warp(packed["opacities"]), warp(packed["colors"]), warp(packed["depths"])]  # fmt: skip
    w_bin = [warp(order), warp(cam_start), w_out[4], w_out[3], w_out[0], w_out[1], w_out[2],
             warp(opacities.float()), warp(colors.float()), int(colors.shape[0] > 1), per_world,
             warp(tile_offsets), warp(cursor)]  # fmt: skip

    def bin_(a, b):
        wp.launch(bin_splats, dim=b - a, device=wdev, inputs=[a, S, ntile, tiles_x, D, *w_bin, *w_packed])

    _parallel(bin_, chunks)
    tile_offsets[-1] = total  # the end of the last tile (every other end is the next tile's start)
    out = {"color": torch.empty(ncam, height, width, D, **f32), "alpha": torch.empty(ncam, height, width, **f32),
           "depth": torch.empty(ncam, height, width, **f32),
           "top": torch.empty(ncam, height, width, dtype=torch.int32, device=dev)}  # fmt: skip
    bg = backgrounds if backgrounds is not None else torch.zeros(ncam, D, **f32)
    w_packed_in = [w_packed[1], w_packed[2], w_packed[3], w_packed[4], w_packed[5], w_packed[0]]

    top_w = torch.empty(ncam, height, width, **f32)

    def composite(a, b):
        wp.launch(composite_tiles, dim=(b - a, ntile), device=wdev,
                  inputs=[*w_packed_in, warp(tile_offsets[a * ntile : b * ntile + 1]), width, height, tiles_x,
                          ntile, warp(bg[a:b].float()), int(backgrounds is not None), warp(top_w[a:b])],
                  outputs=[warp(out[k][a:b]) for k in ("color", "alpha", "depth", "top")])  # fmt: skip

    _parallel(composite, chunks)
    return out
