"""worldsim.sysid: system identification through the differentiable simulator.

- From states: :func:`fit_parameters` fits entries of the per-world parameter table (:class:`FitParam`) to logged
  :class:`Trajectories` by multi-step prediction error, with several candidate initializations in parallel worlds
  and a Laplace uncertainty; :meth:`SysIDResult.to_randomization` hands the fit to domain randomization.
- From pixels: :func:`fit_bounce_from_pixels` recovers a bouncing ball's restitution, gravity vector and initial
  velocity from multi-view video through the splat renderer and the simulator (:func:`make_bounce_video` films
  one); :func:`measured_restitution` measures the coefficient of restitution a contact damping ratio gives (the
  closed forms are :func:`worldsim.physics.restitution_from_damping_ratio` and its inverse).
"""

from pathlib import Path

from .pixels import (
    BounceFit,
    BounceParams,
    bounce_fit_figure,
    bounce_trajectory,
    fit_bounce_from_pixels,
    make_bounce_video,
)
from .restitution import measured_restitution
from .states import FitParam, SysIDResult, Trajectories, fit_parameters, synthetic_trajectories

#: the scene of the pixel SysID demo: a 0.1 m ball over a checkerboard plane (timestep 2 ms)
BOUNCE_SCENE = Path(__file__).parent / "assets" / "bounce.xml"

__all__ = [
    "BOUNCE_SCENE",
    "BounceFit",
    "BounceParams",
    "bounce_fit_figure",
    "FitParam",
    "SysIDResult",
    "Trajectories",
    "bounce_trajectory",
    "fit_bounce_from_pixels",
    "fit_parameters",
    "make_bounce_video",
    "measured_restitution",
    "synthetic_trajectories",
]
