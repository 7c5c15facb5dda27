"""Warp kernels of the tile rasterizer: front-to-back alpha compositing and its hand-written adjoint.

One thread per pixel; a pixel walks the depth-sorted Gaussians of its 16×16 tile. The per-Gaussian inputs
(means2d, conics, opacities, colors, depths) are *packed* in tile order (entry k of the binning, Gaussian
flat_ids[k]) so a pixel reads them sequentially; gradients go back to Gaussian flat_ids[k]. Constants as in the 3DGS
kernels: a Gaussian is skipped when its alpha < 1/255, alpha is clamped to 0.99, and compositing stops before
the transmittance would fall to 1e-4. Pixel centres are at +0.5.
"""

import warp as wp

TILE = wp.constant(16)
ALPHA_MIN = wp.constant(1.0 / 255.0)
ALPHA_MAX = wp.constant(0.99)
T_MIN = wp.constant(1.0e-4)
SIGMA_MAX = wp.constant(5.5413)  # ln(255): beyond it even an opaque Gaussian has alpha < 1/255


@wp.kernel(enable_backward=False)
def rasterize_forward(
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
    nchannel: int,
    backgrounds: wp.array2d(dtype=wp.float32),
    use_background: int,
    out_color: wp.array4d(dtype=wp.float32),
    out_alpha: wp.array3d(dtype=wp.float32),
    out_depth: wp.array3d(dtype=wp.float32),
    out_count: wp.array3d(dtype=wp.int32),
    out_top: wp.array3d(dtype=wp.int32),
):
    """Composite camera c's pixel (px, py): color [D], alpha = 1 − T, accumulated depth Σ zᵢ αᵢ Tᵢ, the index
    one past the last Gaussian that contributed (the backward pass walks back from there) and the Gaussian with
    the largest weight αᵢ Tᵢ (−1 if none)."""
    c, py, px = wp.tid()
    if px >= width or py >= height:
        return
    tile = c * ntile + (py // TILE) * tiles_x + px // TILE
    fx = float(px) + 0.5
    fy = float(py) + 0.5
    t = float(1.0)
    depth = float(0.0)
    last = tile_offsets[tile]
    top = int(-1)
    top_w = float(0.0)
    for ch in range(nchannel):
        out_color[c, py, px, ch] = 0.0
    for k in range(tile_offsets[tile], tile_offsets[tile + 1]):
        g = flat_ids[k]
        m = means2d[k]
        con = conics[k]
        dx = m[0] - fx
        dy = m[1] - fy
        sigma = 0.5 * (con[0] * dx * dx + con[2] * dy * dy) + con[1] * dx * dy
        if sigma < 0.0 or sigma > SIGMA_MAX:  # alpha < 1/255 for any opacity <= 1: skip without the exp
            continue
        alpha = wp.min(ALPHA_MAX, opacities[k] * wp.exp(-sigma))
        if alpha >= ALPHA_MIN:
            next_t = t * (1.0 - alpha)
            if next_t <= T_MIN:
                break
            w = alpha * t
            for ch in range(nchannel):
                out_color[c, py, px, ch] += colors[k, ch] * w
            depth += depths[k] * w
            if w > top_w:
                top_w = w
                top = g
            t = next_t
            last = k + 1
    if use_background != 0:
        for ch in range(nchannel):
            out_color[c, py, px, ch] += t * backgrounds[c, ch]
    out_alpha[c, py, px] = 1.0 - t
    out_depth[c, py, px] = depth
    out_count[c, py, px] = last
    out_top[c, py, px] = top


@wp.kernel(enable_backward=False)
def rasterize_backward(
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
    nchannel: int,
    backgrounds: wp.array2d(dtype=wp.float32),
    use_background: int,
    out_alpha: wp.array3d(dtype=wp.float32),
    out_count: wp.array3d(dtype=wp.int32),
    grad_color: wp.array4d(dtype=wp.float32),
    grad_alpha: wp.array3d(dtype=wp.float32),
    grad_depth: wp.array3d(dtype=wp.float32),
    # out (accumulated)
    d_means2d: wp.array(dtype=wp.vec2),
    d_conics: wp.array(dtype=wp.vec3),
    d_opacities: wp.array(dtype=wp.float32),
    d_colors: wp.array2d(dtype=wp.float32),
    d_depths: wp.array(dtype=wp.float32),
):
    """Adjoint of :func:`rasterize_forward` for one pixel, walking its contributors back to front.

    With Tᵢ the transmittance in front of Gaussian i and gᶜ = dL/d color, each channel C = Σ cᵢ αᵢ Tᵢ + T_end·bg
    gives dC/dαᵢ = Tᵢ cᵢ − (what lies behind i)/(1 − αᵢ); only the scalars Σ_c gᶜ·(...) are carried, so any
    number of channels needs O(1) registers."""
    c, py, px = wp.tid()
    if px >= width or py >= height:
        return
    tile = c * ntile + (py // TILE) * tiles_x + px // TILE
    fx = float(px) + 0.5
    fy = float(py) + 0.5
    t_end = 1.0 - out_alpha[c, py, px]
    ga = grad_alpha[c, py, px]
    gd = grad_depth[c, py, px]
    behind = float(0.0)  # Σ_{j behind} (Σ_c gᶜ c_j) α_j T_j, plus the background
    if use_background != 0:
        for ch in range(nchannel):
            behind += grad_color[c, py, px, ch] * backgrounds[c, ch]
        behind *= t_end
    behind_depth = float(0.0)
    t = t_end
    start = tile_offsets[tile]
    last = out_count[c, py, px]
    for kk in range(last - start):
        k = last - 1 - kk
        g = flat_ids[k]
        m = means2d[k]
        con = conics[k]
        dx = m[0] - fx
        dy = m[1] - fy
        sigma = 0.5 * (con[0] * dx * dx + con[2] * dy * dy) + con[1] * dx * dy
        if sigma < 0.0 or sigma > SIGMA_MAX:
            continue
        gauss = wp.exp(-sigma)
        raw = opacities[k] * gauss
        alpha = wp.min(ALPHA_MAX, raw)
        if alpha >= ALPHA_MIN:
            t_front = t / (1.0 - alpha)
            w = alpha * t_front
            s = float(0.0)
            for ch in range(nchannel):
                gc = grad_color[c, py, px, ch]
                s += gc * colors[k, ch]
                wp.atomic_add(d_colors, g, ch, gc * w)
            z = depths[k]
            wp.atomic_add(d_depths, g, gd * w)
            inv = 1.0 / (1.0 - alpha)
            d_alpha = t_front * s - behind * inv + gd * (t_front * z - behind_depth * inv) + ga * t_end * inv
            behind += s * w
            behind_depth += z * w
            t = t_front
            if raw < ALPHA_MAX:  # clamped alphas pass no gradient
                wp.atomic_add(d_opacities, g, d_alpha * gauss)
                d_sigma = -d_alpha * alpha
                wp.atomic_add(d_conics, g, d_sigma * wp.vec3(0.5 * dx * dx, dx * dy, 0.5 * dy * dy))
                wp.atomic_add(d_means2d, g, d_sigma * wp.vec2(con[0] * dx + con[1] * dy, con[1] * dx + con[2] * dy))
