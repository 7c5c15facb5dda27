"""Images the viewer shows besides the RGB render: depth and body-id maps as colors, and the headless frame
(panes side by side with a line of status text)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

#: background of panels and of pixels that show no body
PANEL_GRAY = (32, 32, 36)


def depth_image(depth: np.ndarray) -> np.ndarray:
    """Depth [H, W] (metres, 0 where nothing is hit) as uint8 [H, W, 3]: near is bright, far is dark (a blue-to-
    yellow ramp over the image's own depth range), background gray."""
    hit = depth > 0
    out = np.empty((*depth.shape, 3), np.uint8)
    out[:] = PANEL_GRAY
    if hit.any():
        d = depth[hit]
        lo, hi = float(d.min()), float(d.max())
        t = 1.0 - (d - lo) / max(hi - lo, 1e-6)  # 1 near, 0 far
        ramp = np.stack([40 + 215 * t, 40 + 180 * t, 140 - 100 * t], -1)
        out[hit] = ramp.clip(0, 255).astype(np.uint8)
    return out


def body_id_image(body_id: np.ndarray) -> np.ndarray:
    """Body ids [H, W] (−1: background) as uint8 [H, W, 3], a fixed distinct color per body (golden-ratio hues)."""
    out = np.empty((*body_id.shape, 3), np.uint8)
    out[:] = PANEL_GRAY
    ids = np.unique(body_id[body_id >= 0])
    for b in ids:
        h = (b * 0.618034) % 1.0
        rgb = np.array(_hsv_to_rgb(h, 0.65, 0.95)) * 255
        out[body_id == b] = rgb.astype(np.uint8)
    return out


def _hsv_to_rgb(h: float, s: float, v: float) -> tuple[float, float, float]:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]


def compose(panes: list[tuple[str, np.ndarray]], lines: list[str], pane_size: int = 256) -> np.ndarray:
    """Panes (title, uint8 [h, w, 3]) side by side, each scaled (nearest) to ``pane_size``, titles above and
    ``lines`` of status text below; uint8 [H, W, 3] with H and W multiples of 16 (video codecs)."""
    pad, title_h, line_h = 8, 18, 16
    width = pad + len(panes) * (pane_size + pad)
    height = title_h + pane_size + pad + line_h * len(lines) + pad
    width, height = -(-width // 16) * 16, -(-height // 16) * 16
    canvas = Image.new("RGB", (width, height), PANEL_GRAY)
    draw = ImageDraw.Draw(canvas)
    for i, (title, img) in enumerate(panes):
        x = pad + i * (pane_size + pad)
        canvas.paste(Image.fromarray(img).resize((pane_size, pane_size), Image.NEAREST), (x, title_h))
        draw.text((x, 3), title, fill=(230, 230, 230))
    for j, line in enumerate(lines):
        draw.text((pad, title_h + pane_size + pad + j * line_h), line, fill=(230, 230, 230))
    return np.asarray(canvas)
