"""Throw a ball so that it lands on a target after one bounce, by gradient descent through the simulator.

The throw starts level or downward from 1 m, so the ball hits the ground before 0.45 s and must bounce to be
on the target at the end of the horizon (1 s). The loss is the squared distance to the target along x plus the
squared height above the ground, at the end of the horizon. Its gradient w.r.t. the initial velocity flows back
through the flight, the bounce (MuJoCo's soft contact constraint; the geoms' underdamped ``solref`` makes it
bounce) and the second flight, via ``worldsim.rollout``. Writes ``loss.png`` and ``trajectory.png`` to ``--out``.

    python demos/throw.py            # about a minute on a 2-core CPU
"""

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # run from a checkout
import worldsim  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--target", type=float, default=2.5, help="target distance along x [m]")
parser.add_argument("--horizon", type=float, default=1.0, help="time at which the ball must be on the target [s]")
parser.add_argument("--iters", type=int, default=40, help="gradient-descent iterations")
parser.add_argument("--lr", type=float, default=0.3, help="learning rate of gradient descent with momentum")
parser.add_argument("--out", default="outputs/throw", help="output folder for the plots")
args = parser.parse_args()

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from tqdm import trange  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
model = worldsim.load_mjcf(os.path.join(here, "assets", "throw.xml"))
radius = float(model.mj_model.geom_size[1, 0])
steps = round(args.horizon / model.timestep)
qpos0, _ = model.default_state()
ctrl = torch.zeros(steps, 1, 0)
target = torch.tensor([args.target, 0.0, radius])

# initial guess: a gentle horizontal throw that falls short
velocity = torch.tensor([1.0, 0.0, 0.0], requires_grad=True)
optimizer = torch.optim.SGD([velocity], lr=args.lr, momentum=0.5)


def simulate(v: torch.Tensor) -> torch.Tensor:
    qvel0 = torch.cat([v, torch.zeros(3)]).unsqueeze(0)  # linear velocity, no spin
    qpos, _ = worldsim.rollout(model, qpos0, qvel0, ctrl)
    return qpos[:, 0, :3]  # ball centre [T, 3]


initial_path = simulate(velocity.detach()).numpy()
losses = []
for _ in (bar := trange(args.iters, desc="optimizing the throw")):
    optimizer.zero_grad()
    path = simulate(velocity)
    # on the target in x, and touching the ground (not above it) at the end of the horizon
    loss = (path[-1, 0] - target[0]).square() + torch.relu(path[-1, 2] - target[2]).square()
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        velocity[2].clamp_(max=0.0)  # thrown level or downward from 1 m: it lands by 0.45 s, so it must bounce
    losses.append(loss.item())
    bar.set_postfix(loss=f"{loss.item():.2e}", v=[round(x, 3) for x in velocity.tolist()])

with torch.no_grad():
    final_path = simulate(velocity).numpy()
touch = final_path[:, 2] < radius + 1e-3  # within 1 mm of the ground (contacts rest a fraction of a mm deep)
bounces = int(((~touch[:-1]) & touch[1:]).sum())
error = abs(float(final_path[-1, 0]) - args.target)
print(f"optimized throw {velocity.detach().numpy().round(3)} m/s: {bounces} bounce(s), miss {error * 100:.1f} cm")

os.makedirs(args.out, exist_ok=True)
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.semilogy(losses)
ax.set_xlabel("iteration")
ax.set_ylabel("loss [m²]")
ax.set_title("throw: loss")
fig.tight_layout()
loss_png = os.path.join(args.out, "loss.png")
fig.savefig(loss_png, dpi=120)

fig, ax = plt.subplots(figsize=(7, 3.5))
ax.axhline(0, color="k", lw=1)
ax.plot(initial_path[:, 0], initial_path[:, 2], "--", color="gray", label="initial guess")
ax.plot(final_path[:, 0], final_path[:, 2], color="C0", label="optimized")
ax.plot([args.target], [radius], "rx", ms=12, mew=3, label="target")
ax.set_xlabel("x [m]")
ax.set_ylabel("z [m]")
ax.set_aspect("equal")
ax.legend(loc="upper right")
ax.set_title(f"ball centre over {args.horizon:.1f} s: {bounces} bounce(s), then on the target")
fig.tight_layout()
traj_png = os.path.join(args.out, "trajectory.png")
fig.savefig(traj_png, dpi=120)
print(f"wrote {loss_png}\nwrote {traj_png}")
