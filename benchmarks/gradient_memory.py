"""Memory of a differentiable rollout vs its horizon: worldsim's step-by-step backward against a whole-rollout tape.

worldsim.rollout keeps the returned trajectory (its checkpoints: every state) and one step's workspace; the
backward re-runs each step from its stored state. A ``wp.Tape`` over the whole rollout (the usual way to
differentiate a Warp simulation) must keep every step's intermediates instead. For each horizon T this prints
the measured peak resident memory of worldsim's forward+backward, the size of the returned trajectory, and the
memory a whole-rollout tape needs for its per-step workspaces (computed from worldsim's own workspace size).

    python benchmarks/gradient_memory.py       # ~1 min on a 2-core CPU
"""

import argparse
import gc
import os
import sys
from pathlib import Path

import gymnasium
import torch
import warp as wp

wp.config.log_level = wp.LOG_WARNING
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import worldsim  # noqa: E402
from worldsim.physics.step import StepWorkspace  # noqa: E402

ASSET = Path(gymnasium.__file__).resolve().parent / "envs" / "mujoco" / "assets" / "half_cheetah.xml"


def peak_rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("VmHWM not found")


def reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:  # "5" resets the peak resident set size (Linux)
        f.write("5")


def workspace_bytes(model) -> int:
    sws = StepWorkspace(model, requires_grad=True)
    rk = [a for state in sws.rk_states for a in state.arrays().values()]
    arrays = [a for ws in sws.stages for a in ws.arrays.values()] + rk + sws.rk_vel
    return sum(2 * a.capacity for a in arrays)  # values and gradients


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--num-worlds", type=int, default=64)
    p.add_argument("--horizons", type=int, nargs="+", default=[250, 1000, 4000])
    args = p.parse_args()
    model = worldsim.load_mjcf(ASSET, num_worlds=args.num_worlds)
    per_step = workspace_bytes(model)
    qpos0, qvel0 = model.default_state()
    print(f"half_cheetah, N={args.num_worlds}: one step's workspace with gradients = {per_step / 2**20:.2f} MiB")
    print(f"{'T':>6} | {'worldsim peak RSS growth':>25} | {'trajectory':>11} | {'whole-rollout tape (workspaces)':>32}")
    for horizon in args.horizons:
        ctrl = torch.zeros(horizon, args.num_worlds, model.nu, requires_grad=True)
        gc.collect()
        base = peak_rss_mib()
        reset_peak()
        base = peak_rss_mib()
        qs, vs = worldsim.rollout(model, qpos0, qvel0, ctrl)
        (qs.square().sum() + vs.square().sum()).backward()
        grown = peak_rss_mib() - base
        traj = (qs.numel() + vs.numel() + ctrl.numel()) * 4 * 2 / 2**20  # outputs and their gradients
        print(f"{horizon:>6} | {grown:>21.1f} MiB | {traj:>7.1f} MiB | {horizon * per_step / 2**20:>28.1f} MiB")
        del qs, vs, ctrl
    print(f"(peak resident memory measured via /proc/self/status VmHWM; {os.cpu_count()} CPU cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
