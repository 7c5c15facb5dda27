"""worldsim: differentiable physics and learned world models.

Everything a user needs is importable from here::

    import worldsim
    model = worldsim.load_mjcf("scene.xml", num_worlds=16)
    qpos, qvel = worldsim.rollout(model, qpos0, qvel0, ctrl)

``import worldsim`` is light: it starts Warp and registers the ``worldsim/<Task>-v0`` Gymnasium ids; the physics
(and torch) load on first use of a name below, the renderer's Open3D only when splats are sampled from meshes.
"""

from ._lazy import lazy_attributes
from ._warp_setup import init_warp

init_warp()

from .envs.registration import register_envs  # noqa: E402

register_envs()

__version__ = "0.1.0"

#: public name -> the module that defines it (imported on first access, PEP 562)
_LAZY = {
    "MJCFError": "worldsim.physics",
    "Model": "worldsim.physics",
    "ModelBuilder": "worldsim.physics",
    "PARAM_SPECS": "worldsim.physics",
    "Simulator": "worldsim.physics",
    "forward_kinematics": "worldsim.physics",
    "from_mjmodel": "worldsim.physics",
    "load_mjcf": "worldsim.physics",
    "rollout": "worldsim.physics",
    "smoothed_rollout": "worldsim.physics",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes("worldsim", globals(), _LAZY)
