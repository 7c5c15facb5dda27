"""Roll out a few falling shapes and film them with Gaussian splats from two cameras, depth beside RGB.

Writes ``rollout.mp4`` and ``rollout.gif`` (and a contact sheet ``frames.png``) to ``--out``.

    python demos/render_rollout.py       # about a minute on a 2-core CPU
"""

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # run from a checkout
import worldsim  # noqa: E402
from worldsim.renderers import SplatScene, intrinsics, look_at  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--seconds", type=float, default=2.0, help="simulated time [s]")
parser.add_argument("--fps", type=int, default=30, help="video frame rate")
parser.add_argument("--width", type=int, default=160)
parser.add_argument("--height", type=int, default=120)
parser.add_argument("--out", default="outputs/render_rollout", help="output folder")
args = parser.parse_args()

import imageio.v2 as imageio  # noqa: E402
from tqdm import tqdm  # noqa: E402

# ---- a scene: a box, a ball, a capsule and a cylinder dropped on a checkerboard
b = worldsim.ModelBuilder(timestep=0.002)
b.add_ground_plane(friction=0.8)
shapes = [
    ("box", (0.0, 0.0, 0.6), (0.9, 0.3, 0.2, 1)),
    ("sphere", (0.35, 0.1, 0.9), (0.2, 0.5, 0.9, 1)),
    ("capsule", (-0.35, -0.1, 1.1), (0.2, 0.8, 0.3, 1)),
    ("cylinder", (0.1, -0.35, 1.3), (0.9, 0.8, 0.2, 1)),
]
for kind, pos, rgba in shapes:
    body = b.add_body(pos=pos, quat=(0.92, 0.2, 0.3, 0.1))
    b.add_joint_free(body)
    if kind == "box":
        b.add_shape_box(body, half_extents=(0.12, 0.09, 0.07), mass=0.5, rgba=rgba, friction=0.8)
    elif kind == "sphere":
        b.add_shape_sphere(body, radius=0.1, mass=0.3, rgba=rgba, friction=0.8)
    elif kind == "capsule":
        b.add_shape_capsule(body, radius=0.05, half_height=0.12, mass=0.3, rgba=rgba, friction=0.8)
    else:
        b.add_shape_cylinder(body, radius=0.08, half_height=0.06, mass=0.3, rgba=rgba, friction=0.8)
model = b.finalize()

steps_per_frame = round(1.0 / (args.fps * model.timestep))
frames = round(args.seconds * args.fps)
qpos0, qvel0 = model.default_state()
qpos, _ = worldsim.rollout(model, qpos0, qvel0, torch.zeros(frames * steps_per_frame, 1, 0))
qpos = qpos[steps_per_frame - 1 :: steps_per_frame, 0]  # one state per video frame, [frames, nq]

scene = SplatScene.from_model(model, density=6000, ground_density=800, ground_size=1.5, checker=0.25)
W, H = args.width, args.height
views = torch.stack([look_at((1.6, -1.6, 1.1), (0, 0, 0.2)), look_at((0.0, -2.2, 0.4), (0, 0, 0.3))])
Ks = torch.stack([intrinsics(45, W, H)] * 2)
background = torch.tensor([[0.75, 0.85, 1.0]] * 2)

os.makedirs(args.out, exist_ok=True)
video = []
with torch.no_grad():
    for q in tqdm(qpos, desc=f"rendering {len(qpos)} frames"):
        out = scene.render(q[None], views, Ks, W, H, backgrounds=background)
        depth = out.depth[0] / 3.0  # [C, H, W, 1], 0-3 m to 0-1
        tiles = [torch.cat([out.rgb[0, c], depth[c].expand(-1, -1, 3)], dim=1) for c in range(2)]
        video.append((torch.cat(tiles, dim=0).clamp(0, 1).numpy() * 255).astype(np.uint8))

mp4 = os.path.join(args.out, "rollout.mp4")
gif = os.path.join(args.out, "rollout.gif")
sheet = os.path.join(args.out, "frames.png")
imageio.mimwrite(mp4, video, fps=args.fps, macro_block_size=8)
imageio.mimwrite(gif, video[::2], duration=2000 / args.fps, loop=0)
imageio.imwrite(sheet, np.concatenate([video[i] for i in np.linspace(0, len(video) - 1, 4).astype(int)], axis=1))
print(f"{scene.num_splats} splats, {len(video)} frames of {video[0].shape[1]}x{video[0].shape[0]} "
      f"(two cameras, RGB | depth)")  # fmt: skip
print(f"wrote {mp4}\nwrote {gif}\nwrote {sheet}")
