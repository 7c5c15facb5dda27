"""Writing videos, pictures and figures atomically (a killed run leaves no torn file): H.264 MP4s that browsers
play, PNGs, matplotlib figures. imageio and matplotlib are imported on use."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._files import atomic_path


def write_video(path: str | os.PathLike, frames, fps: float = 30.0) -> Path:
    """Frames uint8 [T, H, W, 3] (a list or array) → an H.264 MP4 (yuv420p, what browsers and players decode);
    H and W are padded to even sizes by the encoder's macro blocks. Returns the path."""
    import imageio.v2 as imageio

    frames = [np.ascontiguousarray(f) for f in frames]
    if not frames:
        raise ValueError(f"no frames to write to {path}")
    if any(f.dtype != np.uint8 or f.ndim != 3 or f.shape[2] != 3 for f in frames):
        raise ValueError(f"frames must be uint8 [H, W, 3], got {frames[0].dtype} {list(frames[0].shape)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        imageio.mimwrite(tmp, frames, fps=fps, format="FFMPEG", codec="libx264", pixelformat="yuv420p",
                         macro_block_size=16)  # fmt: skip
    return path


def write_png(path: str | os.PathLike, image: np.ndarray) -> Path:
    """uint8 [H, W, 3] → PNG. Returns the path."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Image.fromarray(np.ascontiguousarray(image)).save(tmp, format="PNG")
    return path


def save_figure(fig, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Save a matplotlib figure and close it. Returns the path."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi)
    plt.close(fig)
    return path


def grid(images: np.ndarray, cols: int, scale: int = 1) -> np.ndarray:
    """Images [N, H, W, 3] tiled into rows of ``cols`` (blank tiles fill the last row), each upscaled ``scale``×."""
    n, h, w, c = images.shape
    rows = -(-n // cols)
    canvas = np.zeros((rows * h, cols * w, c), images.dtype)
    for i, img in enumerate(images):
        r, k = divmod(i, cols)
        canvas[r * h : (r + 1) * h, k * w : (k + 1) * w] = img
    return np.repeat(np.repeat(canvas, scale, 0), scale, 1) if scale > 1 else canvas
