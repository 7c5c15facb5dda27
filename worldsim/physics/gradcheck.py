"""Checking gradients against central finite differences (used by the tests and benchmarks/accuracy.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import torch


def finite_difference(loss_fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, eps: float,
                      indices: Iterable[int]) -> np.ndarray:  # fmt: skip
    """Central differences (f(x + eps e_i) − f(x − eps e_i)) / (2 eps) of a scalar loss at the flat ``indices``."""
    out = []
    flat = x.detach().flatten()
    for i in indices:
        xp, xm = flat.clone(), flat.clone()
        xp[i] += eps
        xm[i] -= eps
        with torch.no_grad():
            out.append((loss_fn(xp.view_as(x)) - loss_fn(xm.view_as(x))).item() / (2 * eps))
    return np.array(out)


def autodiff(loss_fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, indices: Iterable[int]) -> np.ndarray:
    """The autograd gradient of a scalar loss at the flat ``indices`` of x."""
    x = x.detach().clone().requires_grad_(True)
    loss_fn(x).backward()
    return x.grad.flatten()[list(indices)].numpy()
