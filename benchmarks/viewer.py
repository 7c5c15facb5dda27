"""Frame rate of the viewer (`worldsim view`) for the six tasks at 128×128 against the goal of 30 frames/s.

Per task, one frame = one env step under smooth random actions + the splat render of the view (what the window
shows), timed over ``--frames`` frames after a warm-up (``ViewerSession.tick`` + ``image``). With ``--window``, the
Open3D window itself is also opened under ``xvfb-run`` (Mesa's software Vulkan draws the GUI on the same CPU) and
its own frame rate printed; that one is bounded by software rendering of the whole window, which a GPU display
does not pay.

    python benchmarks/viewer.py [--window]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time

from worldsim.data.policies import make_policy
from worldsim.viewer import ViewerSession

TASKS = ("CartPole", "Pendulum", "Reacher", "HalfCheetah", "Ant", "PushBox")
GOAL = 30.0


def session_fps(task: str, size: int, frames: int) -> float:
    s = ViewerSession(task, size=size)
    policy = make_policy("smooth", s.env.single_action_space, 1, 0)
    for _ in range(5):
        s.set_action(policy(None)[0])
        s.tick()
        s.image()
    t0 = time.perf_counter()
    for _ in range(frames):
        s.set_action(policy(None)[0])
        s.tick()
        s.image()
    return frames / (time.perf_counter() - t0)


def window_fps(task: str, size: int, frames: int) -> float | None:
    cmd = ["xvfb-run", "-a", "-s", "-screen 0 1400x900x24", sys.executable, "-m", "worldsim.cli", "view", task,
           "--steps", str(frames), "--policy", "smooth", "--no-3d", "--size", str(size)]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600).stdout
    m = re.search(r"window at (\d+) frames/s", out)
    return float(m.group(1)) if m else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--window", action="store_true", help="also time the window under xvfb-run")
    args = parser.parse_args()
    if args.window and shutil.which("xvfb-run") is None:
        parser.error("--window needs xvfb-run (Debian's xvfb)")
    print(f"{'task':<12} {'session frames/s':>17} {'vs goal':>8}" + (f" {'window frames/s (Xvfb)':>24}" * args.window))
    for task in TASKS:
        fps = session_fps(task, args.size, args.frames)
        line = f"{task:<12} {fps:17.1f} {fps / GOAL:7.2f}×"
        if args.window:
            w = window_fps(task, args.size, args.frames)
            line += f" {'failed' if w is None else f'{w:.0f}':>24}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
