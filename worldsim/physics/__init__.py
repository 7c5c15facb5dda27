"""worldsim.physics: batched, differentiable rigid-body simulation in Warp.

Public API: :func:`load_mjcf`, :class:`Model`, :class:`Simulator`, :func:`rollout`, ``PARAM_SPECS``.
"""

from .builder import ModelBuilder
from .mjcf import MJCFError, from_mjmodel, load_mjcf
from .model import Model
from .params import CONTACT_DEFAULTS, PARAM_SPECS
from .rollout import rollout
from .simulator import Simulator
from .smoothing import smoothed_rollout

__all__ = [
    "CONTACT_DEFAULTS",
    "MJCFError",
    "Model",
    "ModelBuilder",
    "PARAM_SPECS",
    "Simulator",
    "from_mjmodel",
    "load_mjcf",
    "rollout",
    "smoothed_rollout",
]
