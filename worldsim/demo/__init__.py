"""``worldsim demo``: the whole pipeline in one command (simulate with domain randomization → render → record a
dataset → train world models → evaluate them against the simulator → trajectory optimization → system
identification from pixels → a self-contained HTML report). See :mod:`worldsim.demo.pipeline`."""

from .config import FULL, QUICK, DemoConfig
from .pipeline import STAGE_NAMES, run_demo

__all__ = ["FULL", "QUICK", "STAGE_NAMES", "DemoConfig", "run_demo"]
