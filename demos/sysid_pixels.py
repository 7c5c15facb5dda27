"""System identification from pixels: a ball's restitution, gravity vector and initial velocity, recovered from
three 64×64 videos by gradient descent on a pixel loss through the splat renderer and the simulator.

A ball is thrown over a checkerboard (``worldsim.sysid.BOUNCE_SCENE``) with hidden parameters: a coefficient of
restitution of 0.7 (contact damping ratio ζ = 0.113), gravity of 9.5 m/s² tilted 4° from the vertical, an initial
velocity with horizontal components. Three cameras film 50 frames (1.57 s, two bounces), with pixel noise. Then
``worldsim.sysid.fit_bounce_from_pixels`` infers ζ, g and v0 from the videos alone (the initial position and the
rest of the scene are known; its docstring describes the phases). Prints true vs recovered values with their
errors, and writes to ``--out``:

    loss.png        the training loss per iteration, phases marked
    trajectory.png  recovered vs true ball centre, x, y and z against time
    fit.mp4         the given views (top row) above the fitted parameters re-rendered (bottom row)

    python demos/sysid_pixels.py            # about 2.5 minutes on a 2-core CPU
"""

import argparse
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # run from a checkout
import worldsim  # noqa: E402
from worldsim._files import atomic_path  # noqa: E402
from worldsim.physics import damping_ratio_from_restitution  # noqa: E402
from worldsim.renderers import intrinsics, look_at  # noqa: E402
from worldsim.sysid import (  # noqa: E402
    BOUNCE_SCENE,
    BounceParams,
    bounce_fit_figure,
    fit_bounce_from_pixels,
    make_bounce_video,
    measured_restitution,
)

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--restitution", type=float, default=0.7, help="hidden coefficient of restitution e")
parser.add_argument("--gravity", type=float, default=9.5, help="hidden gravity magnitude [m/s²]")
parser.add_argument("--tilt", type=float, default=4.0, help="hidden tilt of gravity from the vertical [deg]")
parser.add_argument("--azimuth", type=float, default=150.0, help="direction of the tilt, from +x [deg]")
parser.add_argument("--velocity", type=float, nargs=3, default=(1.4, -0.3, 2.2), help="hidden v0 [m/s]")
parser.add_argument("--frames", type=int, default=50, help="video frames (32 ms apart)")
parser.add_argument("--size", type=int, default=64, help="image width and height [pixels]")
parser.add_argument("--noise", type=float, default=0.02, help="std of Gaussian pixel noise added to the videos")
parser.add_argument("--iterations", type=int, nargs=4, default=(60, 40, 50, 30), help="Adam steps per fit phase")
parser.add_argument("--seed", type=int, default=0, help="seed of the candidate initializations and the noise")
parser.add_argument("--out", default="outputs/sysid_pixels", help="output folder")
args = parser.parse_args()

import imageio.v2 as imageio  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

STEPS_PER_FRAME = 16  # 32 ms between frames at the scene's 2 ms timestep
start = time.perf_counter()
here = os.path.dirname(os.path.abspath(__file__))
model = worldsim.load_mjcf(BOUNCE_SCENE)
tilt, azimuth = math.radians(args.tilt), math.radians(args.azimuth)
gravity = args.gravity * np.array([math.sin(tilt) * math.cos(azimuth), math.sin(tilt) * math.sin(azimuth),
                                   -math.cos(tilt)])  # fmt: skip
truth = BounceParams(damping_ratio_from_restitution(args.restitution), tuple(gravity), tuple(args.velocity))

# three cameras around the throw: front, right, behind-left (above the ground, looking at the middle of the arc)
centre = (-0.1, 0.0, 0.5)
viewmats = torch.stack([look_at(eye, centre) for eye in ((-0.1, -3.6, 1.4), (2.8, -2.2, 2.2), (-2.6, 2.4, 2.6))])
Ks = torch.stack([intrinsics(50.0, args.size, args.size)] * 3)
video = make_bounce_video(model, truth, viewmats, Ks, num_frames=args.frames, steps_per_frame=STEPS_PER_FRAME,
                          width=args.size, height=args.size, noise_std=args.noise, seed=args.seed)  # fmt: skip
print(f"filmed {args.frames} frames from 3 cameras at {args.size}x{args.size}; fitting ...")

fit = fit_bounce_from_pixels(model, video, viewmats, Ks, steps_per_frame=STEPS_PER_FRAME, truth=truth,
                             iterations=tuple(args.iterations), seed=args.seed, progress=True)  # fmt: skip

# ---- the table: true vs recovered
e_meas = measured_restitution(model, [truth.damping_ratio, fit.damping_ratio], impact_speed=4.0)
g_true, g_fit = np.asarray(truth.gravity), fit.gravity


def tilt_deg(g):
    return math.degrees(math.acos(-g[2] / np.linalg.norm(g)))


rows = [
    ("damping ratio ζ", truth.damping_ratio, fit.damping_ratio, f"{100 * fit.errors['damping_ratio']:.2f} %", "5 %"),
    ("restitution e (closed form)", truth.restitution, fit.restitution, f"{100 * fit.errors['restitution']:.2f} %",
     "5 %"),
    ("restitution e (measured)", e_meas[0], e_meas[1], f"{100 * abs(e_meas[1] / e_meas[0] - 1):.2f} %", ""),
    ("|g| [m/s²]", np.linalg.norm(g_true), np.linalg.norm(g_fit), f"{100 * fit.errors['gravity_magnitude']:.2f} %",
     "3 %"),
    ("tilt of g [deg]", tilt_deg(g_true), tilt_deg(g_fit), f"{fit.errors['gravity_angle_deg']:.2f} deg (angle)",
     "2 deg"),
    *((f"g{a} [m/s²]", g_true[i], g_fit[i], "", "") for i, a in enumerate("xyz")),
    *((f"v0{a} [m/s]", truth.velocity[i], fit.velocity[i], "", "") for i, a in enumerate("xyz")),
    ("|v0 - v0 true| / |v0 true|", 0.0, fit.errors["velocity"], f"{100 * fit.errors['velocity']:.2f} %", "5 %"),
]  # fmt: skip
print(f"\n{'quantity':30s} {'true':>9s} {'recovered':>10s}  {'error':>18s}  {'target':>7s}")
for name, t, f, err, target in rows:
    print(f"{name:30s} {t:9.4f} {f:10.4f}  {err:>18s}  {target:>7s}")
print(f"1-std uncertainty from the pixel noise alone: ζ ± {fit.std['damping_ratio']:.2g}, |g| ± "
      f"{fit.std['gravity_magnitude']:.2g} m/s², v0 ± {np.round(fit.std['velocity'], 4)} m/s\n(the errors above are "
      f"far larger: the descent's convergence, not the noise, limits this fit)")  # fmt: skip


# ---- plots and video, each written to a temporary file and renamed
def save_figure(fig, name: str) -> str:
    path = os.path.join(args.out, name)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    return path


os.makedirs(args.out, exist_ok=True)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogy(fit.loss_history, lw=1)
for name, i in fit.phase_starts.items():
    ax.axvline(i, color="gray", ls=":", lw=1)
    ax.text(i + 1, max(fit.loss_history), name, va="top", fontsize=8)
ax.set_xlabel("iteration")
ax.set_ylabel("pixel loss (best world)")
ax.set_title("loss (blur and frames change between phases)")
fig.tight_layout()
loss_png = save_figure(fig, "loss.png")

fig = bounce_fit_figure(model, truth, fit, steps_per_frame=STEPS_PER_FRAME)
traj_png = save_figure(fig, "trajectory.png")

fitted = make_bounce_video(model, fit.params, viewmats, Ks, num_frames=args.frames, steps_per_frame=STEPS_PER_FRAME,
                           width=args.size, height=args.size)  # fmt: skip
scale = max(1, 256 // args.size)
frames = []
for f in range(args.frames):
    top = torch.cat(list(video[:, f]), dim=1)  # [H, 3W, 3]
    bottom = torch.cat(list(fitted[:, f]), dim=1)
    img = (torch.cat([top, bottom], dim=0).clamp(0, 1).numpy() * 255).astype(np.uint8)
    pil = Image.fromarray(np.kron(img, np.ones((scale, scale, 1), np.uint8)))
    draw = ImageDraw.Draw(pil)
    for row, label in enumerate(("given video", "fitted parameters, re-rendered")):
        draw.text((6, 4 + row * args.size * scale), f"{label}   t = {fit.times[f]:.2f} s", fill=(0, 0, 0))
    frames.append(np.asarray(pil))
mp4 = os.path.join(args.out, "fit.mp4")
with atomic_path(mp4) as tmp:
    imageio.mimwrite(tmp, frames, fps=round(1 / (STEPS_PER_FRAME * model.timestep)), macro_block_size=8)
print(f"wrote {loss_png}\nwrote {traj_png}\nwrote {mp4} (top: given views, bottom: fitted)")
print(f"fit {fit.wall_time:.0f} s, total {time.perf_counter() - start:.0f} s wall time")
