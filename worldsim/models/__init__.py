"""World models learned from worldsim's rollouts, the Genie way: a video tokenizer (:mod:`.tokenizer`), a latent
action model (:mod:`.lam`) and a MaskGIT dynamics model (:mod:`.dynamics`) over one shared quantizer interface
(:mod:`.quantizers`), trained by one loop (:mod:`.training`) and used through one inference interface:

    model = worldsim.models.load(DIR)
    frames = model.rollout(context, actions)  # uint8 [B, k, H, W, 3] + [B, T] or [B, T, A] -> uint8 [B, T, H, W, 3]
    codes = model.infer_actions(frames)       # latent codes [B, T] of frames [B, T+1, H, W, 3]
    env = worldsim.models.DreamEnv(model)     # the model as a gymnasium.Env ("worldsim/Dream-v0")

The second world model is a flow-matching video DiT with diffusion forcing (:mod:`.dit`, :mod:`.dit_world`,
:mod:`.flow`), trained by :func:`train_dit` (``worldsim train dit``) and loaded by the same :func:`load`.
"""

from .dit_world import DIT_PRESETS, DiTWorldModel, train_dit
from .dream_env import DreamEnv
from .genie import PRESETS, GenieWorldModel, train_part
from .interface import WorldModel, load

__all__ = [
    "DIT_PRESETS",
    "PRESETS",
    "DiTWorldModel",
    "DreamEnv",
    "GenieWorldModel",
    "WorldModel",
    "load",
    "train_dit",
    "train_part",
]
