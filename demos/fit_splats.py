"""Recover the colors and positions of an object's splats from 8 rendered views, by gradient descent through the
differentiable rasterizer. Prints the PSNR at every iteration (it should rise well above 30 dB) and writes
``fit.png`` (target, start, result for two views) and ``psnr.png`` to ``--out``.

    python demos/fit_splats.py        # about a minute on a 2-core CPU
"""

import argparse
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # run from a checkout
import worldsim  # noqa: E402
from worldsim.renderers import SplatScene, intrinsics, look_at  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--iters", type=int, default=100)
parser.add_argument("--size", type=int, default=64, help="image width and height [px]")
parser.add_argument("--jitter", type=float, default=0.02, help="initial position error [m]")
parser.add_argument("--out", default="outputs/fit_splats")
args = parser.parse_args()

import imageio.v2 as imageio  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

torch.manual_seed(0)
# ---- the object: a box, its splats colored by their position (a smooth rainbow), as the ground truth
b = worldsim.ModelBuilder()
obj = b.add_body()  # no joint: fixed
b.add_shape_box(obj, half_extents=(0.2, 0.15, 0.1), rgba=(1, 1, 1, 1))
model = b.finalize()
truth = SplatScene.from_model(model, density=6000)
truth.colors = (0.5 + 0.5 * torch.sin(truth.means * torch.tensor([12.0, 15.0, 20.0]))).contiguous()
qpos = torch.zeros(1, 0)

W = H = args.size
views = torch.stack(
    [look_at((0.9 * math.cos(a), 0.9 * math.sin(a), 0.5 * (-1) ** k), (0, 0, 0)) for k, a in
     enumerate(np.linspace(0, 2 * math.pi, 8, endpoint=False))]
)  # fmt: skip
Ks = torch.stack([intrinsics(40, W, H)] * 8)
bg = torch.ones(8, 3)
with torch.no_grad():
    target = truth.render(qpos, views, Ks, W, H, backgrounds=bg).rgb[0]

# ---- the guess: right count, jittered positions, uniform grey
colors = torch.full_like(truth.colors, 0.5).requires_grad_(True)
means = (truth.means + args.jitter * torch.randn_like(truth.means)).requires_grad_(True)
guess = SplatScene(model, truth.body, means, truth.quats, truth.scales, truth.opacities, colors)
optimizer = torch.optim.Adam([{"params": [colors], "lr": 0.05}, {"params": [means], "lr": 5e-4}])


def psnr(image: torch.Tensor) -> float:
    return float(-10 * torch.log10(((image.clamp(0, 1) - target) ** 2).mean()))


with torch.no_grad():
    start = guess.render(qpos, views, Ks, W, H, backgrounds=bg).rgb[0]
history = []
for it in range(args.iters):
    optimizer.zero_grad()
    image = guess.render(qpos, views, Ks, W, H, backgrounds=bg).rgb[0]
    loss = ((image - target) ** 2).mean()
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        colors.clamp_(0, 1)
    history.append(psnr(image.detach()))
    print(f"iter {it:4d}  PSNR {history[-1]:6.2f} dB", flush=True)

with torch.no_grad():
    final = guess.render(qpos, views, Ks, W, H, backgrounds=bg).rgb[0]
error = (means.detach() - truth.means).norm(dim=1).mean().item()
print(f"final PSNR {psnr(final):.2f} dB over 8 views; mean splat position error {error * 1000:.1f} mm "
      f"(started at {args.jitter * 1000 * math.sqrt(3):.1f} mm)")  # fmt: skip

os.makedirs(args.out, exist_ok=True)
rows = [torch.cat([target[v], start[v], final[v]], dim=1) for v in (0, 3)]
grid = (torch.cat(rows, dim=0).clamp(0, 1).numpy() * 255).astype(np.uint8)
imageio.imwrite(os.path.join(args.out, "fit.png"), grid)
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(history)
ax.axhline(30, color="gray", ls="--", lw=1)
ax.set_xlabel("iteration")
ax.set_ylabel("PSNR [dB]")
ax.set_title("fit splats to 8 views")
fig.tight_layout()
fig.savefig(os.path.join(args.out, "psnr.png"), dpi=120)
print(f"wrote {os.path.join(args.out, 'fit.png')} (target | start | result, two views)\n"
      f"wrote {os.path.join(args.out, 'psnr.png')}")  # fmt: skip
