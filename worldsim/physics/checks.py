"""Input validation shared by the simulator and the differentiable rollout."""

from __future__ import annotations

import numpy as np
import torch


def as_state_tensor(
    name: str, x, shape: tuple[int, ...], device: torch.device, *, grad_ok: bool = False
) -> torch.Tensor:
    """``x`` as a float32 tensor of exactly ``shape`` on ``device``; ValueError naming ``name`` otherwise.

    With ``grad_ok`` the autograd graph is kept (only dtype/device conversions, which torch differentiates).
    """
    if not isinstance(x, (torch.Tensor, np.ndarray, list, tuple, float, int)):
        raise ValueError(f"{name} must be a torch tensor or array of shape {list(shape)}, got {type(x).__name__}")
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x, dtype=np.float32))
    if tuple(t.shape) != tuple(shape):
        raise ValueError(f"{name} has shape {list(t.shape)}, expected {list(shape)}")
    if not t.is_floating_point() and t.dtype != torch.bool:
        t = t.float()
    t = t.to(device=device, dtype=torch.float32)
    if not grad_ok:
        t = t.detach()
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or inf values")
    return t
