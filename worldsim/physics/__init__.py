"""worldsim.physics: batched, differentiable rigid-body simulation in Warp, in MuJoCo's formulation.

Public API: :func:`load_mjcf`, :class:`ModelBuilder`, :class:`Model`, :class:`Simulator`, :func:`rollout`,
:func:`smoothed_rollout`, :func:`forward_kinematics`, ``PARAM_SPECS``.
"""

from .builder import ModelBuilder
from .forward import forward_kinematics
from .mjcf import from_mjmodel, load_mjcf
from .model import Model
from .params import PARAM_SPECS
from .restitution import damping_ratio_from_restitution, restitution_from_damping_ratio
from .rollout import rollout
from .simulator import Simulator
from .smoothing import smoothed_rollout
from .support import MJCFError, unsupported_features

__all__ = [
    "MJCFError",
    "Model",
    "ModelBuilder",
    "PARAM_SPECS",
    "Simulator",
    "forward_kinematics",
    "from_mjmodel",
    "load_mjcf",
    "damping_ratio_from_restitution",
    "restitution_from_damping_ratio",
    "rollout",
    "smoothed_rollout",
    "unsupported_features",
]
