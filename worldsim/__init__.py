"""worldsim: differentiable physics and learned world models.

Everything a user needs is importable from here::

    import worldsim
    model = worldsim.load_mjcf("scene.xml", num_worlds=16)
    qpos, qvel = worldsim.rollout(model, qpos0, qvel0, ctrl)
"""

from ._warp_setup import init_warp

init_warp()

from .envs import register_envs  # noqa: E402
from .physics import (  # noqa: E402
    PARAM_SPECS,
    MJCFError,
    Model,
    ModelBuilder,
    Simulator,
    forward_kinematics,
    from_mjmodel,
    load_mjcf,
    rollout,
    smoothed_rollout,
)

register_envs()

__version__ = "0.1.0"

__all__ = [
    "MJCFError",
    "Model",
    "ModelBuilder",
    "PARAM_SPECS",
    "Simulator",
    "forward_kinematics",
    "from_mjmodel",
    "load_mjcf",
    "rollout",
    "smoothed_rollout",
]
