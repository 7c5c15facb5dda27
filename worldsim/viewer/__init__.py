"""The interactive viewer (``worldsim view``): a task or an MJCF file simulated live, rendered through the splat
renderer, with actuator and domain-randomization controls, a world model dreaming beside the simulator and a
trajectory-optimization plan to follow. :class:`ViewerSession` is the viewer without a window;
:func:`run_headless` records it to a video and a screenshot; :func:`run_app` opens the Open3D window."""

from .headless import run_headless, session_frame
from .session import VIEWS, Dream, Plan, Slider, ViewerSession
from .source import MJCFTask, task_class


def run_app(*args, **kwargs):
    """Open the Open3D window (see :func:`worldsim.viewer.app.run_app`); imported on use (Open3D's GUI)."""
    from .app import run_app as run

    return run(*args, **kwargs)


__all__ = ["VIEWS", "Dream", "MJCFTask", "Plan", "Slider", "ViewerSession", "run_app", "run_headless",
           "session_frame", "task_class"]  # fmt: skip
