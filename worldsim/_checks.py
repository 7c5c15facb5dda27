"""Small helpers shared by worldsim's argument checks."""

from __future__ import annotations

from torch import Tensor


def describe(x) -> str:
    """What an argument is, for error messages: ``"torch.float32 tensor of shape [2, 3]"`` or the type name."""
    if isinstance(x, Tensor):
        return f"{x.dtype} tensor of shape {list(x.shape)}"
    return type(x).__name__
