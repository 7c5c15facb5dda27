"""The viewer without a display: drive a :class:`ViewerSession` for a number of steps under a policy, and write
what the window would show (simulator view, dream pane, status line) as a video and a screenshot.

    worldsim view Ant --headless --steps 200 --record ant.mp4 --screenshot ant.png
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .._media import write_png, write_video
from .images import compose
from .session import ViewerSession

POLICIES = ("smooth", "random", "zero", "plan")


def session_frame(session: ViewerSession, pane_size: int = 256) -> np.ndarray:
    """The window's content as one image: the live view, the dream pane (if any), and a status line."""
    st = session.status()
    panes = [(f"{session.name} · {session.view}", session.image())]
    lines = [f"step {st['step']}  reward {st['reward']:+.3f}  return {st['return']:+.2f}  fps {st['fps']:.0f}"]
    if session.dream is not None:
        panes.append(("dream (world model)", session.dream.image(session.size)))
        last, mean = st["dream_psnr"], st["dream_mean_psnr"]
        lines.append("dream PSNR " + ("-" if last is None else f"{last:.1f} dB (mean {mean:.1f} dB)"))
    if session.plan is not None:
        lines.append(f"plan: {session.plan.method}, cost {session.plan.cost:.2f} (ghost: its states ahead)")
    return compose(panes, lines, pane_size)


def run_headless(session: ViewerSession, steps: int, *, policy: str = "smooth", record: str | Path | None = None,
                 screenshot: str | Path | None = None, fps: int = 30, seed: int = 0,
                 plan_every: int = 25) -> dict:  # fmt: skip
    """Run ``steps`` env steps and return the session's final :meth:`~ViewerSession.status` plus ``seconds``
    (wall time) and ``steps_per_second`` (physics + rendering of every step).

    Args:
        policy: ``"smooth"`` (Ornstein-Uhlenbeck random actions), ``"random"`` (uniform), ``"zero"``, or ``"plan"``
            (a CEM plan from the current state every ``plan_every`` steps, followed and overlaid).
        record: write every frame (:func:`session_frame`) to this video file (``.mp4``, H.264) at ``fps``.
        screenshot: write the last frame to this PNG.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    for path, suffix in ((record, ".mp4"), (screenshot, ".png")):
        if path is not None and Path(path).suffix.lower() != suffix:
            raise ValueError(f"{path} must end in {suffix}")
    from ..data.policies import make_policy

    pol = None
    if policy in ("smooth", "random"):
        pol = make_policy(policy, session.env.single_action_space, 1, seed)
    elif policy == "plan":
        session.follow_plan = True
    frames = []
    start = time.perf_counter()
    for i in range(steps):
        if pol is not None:
            session.set_action(pol(None)[0])
        elif policy == "plan" and (session.plan is None or i % plan_every == 0):
            session.make_plan("cem", iters=5)
        session.tick()
        if record is not None or (screenshot is not None and i == steps - 1):
            frames.append(session_frame(session))
    seconds = time.perf_counter() - start
    if record is not None:
        write_video(record, frames, fps)
    if screenshot is not None:
        write_png(screenshot, frames[-1])
    return {**session.status(), "seconds": seconds, "steps_per_second": steps / seconds}
