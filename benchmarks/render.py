"""Rendering speed: worldsim's Warp rasterizer vs (a) its torch reference and (b) MuJoCo's own renderer.

(a) frames/s of one 64×64 and one 256×256 camera over 2k and 50k random Gaussians in view, forward and
    forward+backward, for ``worldsim.renderers.rasterize`` and ``rasterize_reference`` (skipped where the
    reference's [H, W, N] tensors would not fit in memory), and the ratio.
(b) frames/s of gymnasium's ant: ``SplatScene.render`` (forward) vs ``mujoco.Renderer`` (``MUJOCO_GL=egl``, the
    software OpenGL of Mesa on a machine without a GPU) at the same sizes, and the ratio.
(c) the batched case, as an env's pixel observations: 64×64 frames/s of ``--worlds`` worlds rendered in one
    ``SplatScene.render`` call (the envs' splat density, one camera per world, without gradients: the Warp CPU
    forward of ``worldsim.renderers.batched``) vs ``mujoco.Renderer`` rendering the same model frame after frame.

    python benchmarks/render.py       # ~3 min on a 2-core CPU
"""

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import sys  # noqa: E402
import time  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402

import gymnasium  # noqa: E402
import mujoco  # noqa: E402
import torch  # noqa: E402
import warp as wp  # noqa: E402

wp.config.log_level = wp.LOG_WARNING
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import worldsim  # noqa: E402
from worldsim.renderers import SplatScene, intrinsics, look_at, rasterize, rasterize_reference  # noqa: E402

ANT = Path(gymnasium.__file__).resolve().parent / "envs" / "mujoco" / "assets" / "ant.xml"
REFERENCE_MAX_ELEMENTS = 6e7  # H * W * N floats per reference tensor


def fps(fn, min_seconds: float = 1.0, max_frames: int = 200) -> float:
    fn()  # warm-up (kernel load)
    frames, t0 = 0, time.perf_counter()
    while frames < max_frames and (frames == 0 or time.perf_counter() - t0 < min_seconds):
        fn()
        frames += 1
    return frames / (time.perf_counter() - t0)


def gaussians(n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    means = torch.randn(n, 3, generator=g) * torch.tensor([0.6, 0.6, 0.4])
    quats = torch.randn(n, 4, generator=g)
    scales = torch.rand(n, 3, generator=g) * 0.03 + 0.005
    opac = torch.rand(n, generator=g) * 0.8 + 0.1
    colors = torch.rand(n, 3, generator=g)
    return means, quats, scales, opac, colors


def _forward(fn, args) -> None:
    with torch.no_grad():
        fn(*args)


def _forward_backward(fn, args) -> None:
    fn(*args)[0].sum().backward()


def rasterizer_rows():
    rows = []
    view = look_at((0.0, -2.5, 0.3), (0.0, 0.0, 0.0))[None]
    for n in (2000, 50000):
        leaves = [t.requires_grad_(True) for t in gaussians(n)]
        for size in (64, 256):
            args = (*leaves, view, intrinsics(45, size, size)[None], size, size)
            row = {
                "n": n,
                "size": size,
                "ws": fps(partial(_forward, rasterize, args)),
                "ws_grad": fps(partial(_forward_backward, rasterize, args)),
            }
            if size * size * n <= REFERENCE_MAX_ELEMENTS:
                row["ref"] = fps(partial(_forward, rasterize_reference, args), max_frames=20)
                row["ref_grad"] = fps(partial(_forward_backward, rasterize_reference, args), max_frames=10)
            rows.append(row)
    return rows


def _mujoco_frame(renderer, data, cam) -> None:
    renderer.update_scene(data, camera=cam)
    renderer.render()


def mujoco_rows():
    rows = []
    model = worldsim.load_mjcf(ANT)
    mjm = model.mj_model
    data = mujoco.MjData(mjm)
    mujoco.mj_forward(mjm, data)
    scene = SplatScene.from_model(model, density=3000, ground_density=400)
    qpos = torch.as_tensor(data.qpos, dtype=torch.float32)[None]
    view = look_at((2.0, -2.0, 1.5), (0.0, 0.0, 0.5))[None]
    cam = mujoco.MjvCamera()
    cam.lookat[:] = (0.0, 0.0, 0.5)
    cam.distance, cam.azimuth, cam.elevation = 3.2, 135.0, -28.0
    for size in (64, 256):
        ours = partial(_forward, scene.render, (qpos, view, intrinsics(45, size, size)[None], size, size))
        renderer = mujoco.Renderer(mjm, size, size)
        rows.append({"size": size, "splats": scene.num_splats, "ws": fps(ours),
                     "mj": fps(partial(_mujoco_frame, renderer, data, cam))})  # fmt: skip
        renderer.close()
    return rows


def batched_rows(worlds: int, size: int = 64):
    rows = []
    for name in ("inverted_pendulum", "half_cheetah", "ant"):
        path = ANT.parent / f"{name}.xml"
        model = worldsim.load_mjcf(path, num_worlds=worlds)
        scene = SplatScene.from_model(model, density=1500, ground_density=200)  # as the envs' pixel camera
        qpos, _ = model.default_state()
        views = look_at(torch.tensor([1.5, -2.5, 1.2]).expand(worlds, 3), torch.tensor([0.0, 0.0, 0.3]))[:, None]
        Ks = intrinsics(45, size, size)[None]
        ours = partial(_forward, scene.render, (qpos, views, Ks, size, size))
        mjm = model.mj_model
        data = mujoco.MjData(mjm)
        mujoco.mj_forward(mjm, data)
        cam = mujoco.MjvCamera()
        cam.lookat[:] = (0.0, 0.0, 0.3)
        cam.distance, cam.azimuth, cam.elevation = 3.1, 121.0, -23.0
        renderer = mujoco.Renderer(mjm, size, size)
        mj = fps(partial(_mujoco_frame, renderer, data, cam), min_seconds=2.0, max_frames=2000)
        renderer.close()
        rows.append({"name": name, "splats": scene.num_splats, "ws": worlds * fps(ours, max_frames=10), "mj": mj})
    return rows


def main() -> int:
    print(f"worldsim {worldsim.__version__}, warp {wp.__version__}, mujoco {mujoco.__version__} "
          f"(MUJOCO_GL={os.environ['MUJOCO_GL']}), {os.cpu_count()} CPU cores")  # fmt: skip
    print("\n(a) rasterizer vs torch reference, frames/s of one camera")
    print(f"{'N':>6} | {'size':>7} | {'worldsim fwd':>12} | {'reference fwd':>13} | {'ratio':>7} | "
          f"{'worldsim f+b':>12} | {'reference f+b':>13} | {'ratio':>7}")  # fmt: skip
    for r in rasterizer_rows():
        ref = f"{r['ref']:13.1f}" if "ref" in r else f"{'(memory)':>13}"
        ratio = f"{r['ws'] / r['ref']:6.0f}x" if "ref" in r else f"{'-':>7}"
        refg = f"{r['ref_grad']:13.1f}" if "ref" in r else f"{'(memory)':>13}"
        ratiog = f"{r['ws_grad'] / r['ref_grad']:6.0f}x" if "ref" in r else f"{'-':>7}"
        size = f"{r['size']}x{r['size']}"
        print(f"{r['n']:>6} | {size:>7} | {r['ws']:12.1f} | {ref} | {ratio} | {r['ws_grad']:12.1f} | {refg} | {ratiog}")
    print("\n(b) gymnasium's ant: SplatScene.render vs mujoco.Renderer, frames/s of one camera")
    print(f"{'size':>7} | {'splats':>7} | {'worldsim':>9} | {'mujoco':>9} | {'ratio':>7}")
    for r in mujoco_rows():
        size = f"{r['size']}x{r['size']}"
        print(f"{size:>7} | {r['splats']:>7} | {r['ws']:9.1f} | {r['mj']:9.1f} | {r['ws'] / r['mj']:6.2f}x")
    worlds = 512
    print(
        f"\n(c) batched: {worlds} worlds in one SplatScene.render call vs mujoco.Renderer, 64x64 frames/s (goal >= 10x)"
    )
    print(f"{'model':>17} | {'splats':>7} | {'worldsim':>9} | {'mujoco':>9} | {'ratio':>7}")
    for r in batched_rows(worlds):
        print(f"{r['name']:>17} | {r['splats']:>7} | {r['ws']:9.1f} | {r['mj']:9.1f} | {r['ws'] / r['mj']:6.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
