"""Rectified flow / flow matching: the training objective and ODE samplers of worldsim's video DiT.

Convention (used everywhere in worldsim): ``t`` runs from noise to data. ``x0 ~ N(0, I)`` is noise, ``x1`` is data,
and the straight path between them is ``x_t = (1 - t) · x0 + t · x1`` for ``t`` in [0, 1]; its velocity
``dx_t/dt = x1 - x0`` is the regression target of the network ``v(x_t, t)``. Sampling integrates
``dx/dt = v(x, t)`` from ``t = 0`` (pure noise) to ``t = 1`` (data). ``t`` is therefore the *signal level*: a clean
context frame has ``t = 1``, which is how diffusion forcing gives each frame its own level.

Training times are drawn logit-normal (Esser et al. 2024, SD3): ``t = sigmoid(n)``, ``n ~ N(mean, std²)``, which
puts more samples at intermediate levels, where the velocity is hardest to predict.

Samplers: :func:`euler_sample` (first order: global error O(h) in the step h, one network call per step) and
:func:`heun_sample` (Heun's predictor-corrector: O(h²), two network calls per step).

Example::

    t = logit_normal_time((B, T), generator=g)                 # one level per frame: diffusion forcing
    loss = flow_matching_loss(lambda x, t: net(x, t, actions), frames, t, generator=g)
    sample = heun_sample(lambda x, t: net(x, t, actions), torch.randn(shape), steps=4)
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .._checks import describe as _describe

__all__ = ["euler_sample", "flow_matching_loss", "heun_sample", "interpolate", "logit_normal_time"]

VelocityFn = Callable[[Tensor, Tensor], Tensor]
"""``v(x [B, ...], t [B] or [B, ...]) -> [B, ...]``: the network's velocity at state ``x`` and signal level ``t``."""


def logit_normal_time(
    shape: tuple[int, ...], *, mean: float = 0.0, std: float = 1.0, generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> Tensor:  # fmt: skip
    """Signal levels ``t = sigmoid(n)``, ``n ~ N(mean, std²)``, of the given shape (float32, in (0, 1))."""
    if not std > 0:
        raise ValueError(f"std must be positive, got {std}")
    return torch.sigmoid(mean + std * torch.randn(shape, generator=generator, device=device))


def interpolate(x0: Tensor, x1: Tensor, t: Tensor) -> Tensor:
    """``x_t = (1 - t) · x0 + t · x1``; ``t`` broadcasts from the left (``[B]`` or ``[B, T]`` against
    ``[B, T, ...]``)."""
    if x0.shape != x1.shape:
        raise ValueError(f"x0 and x1 must have the same shape, got {tuple(x0.shape)} and {tuple(x1.shape)}")
    tt = _expand(t, x1)
    return (1.0 - tt) * x0 + tt * x1


def flow_matching_loss(
    velocity: VelocityFn, x1: Tensor, t: Tensor, *, noise: Tensor | None = None,
    generator: torch.Generator | None = None, weight: Tensor | None = None,
) -> Tensor:  # fmt: skip
    """Mean squared error between ``velocity(x_t, t)`` and the path's velocity ``x1 - x0``.

    Args:
        velocity: the network (see :data:`VelocityFn`).
        x1: data ``[B, ...]``.
        t: signal levels in [0, 1], ``[B]`` or a prefix of ``x1``'s shape (``[B, T]``: one level per frame).
        noise: ``x0``, the same shape as ``x1``; drawn from N(0, I) with ``generator`` when None.
        weight: optional per-element weights broadcastable to ``x1`` (e.g. 0 on clean context frames that are not
            scored); the loss is then the weighted mean.

    Returns:
        The scalar loss.
    """
    if not isinstance(t, Tensor) or t.shape != x1.shape[: t.dim()]:
        raise ValueError(f"t must be a tensor shaped like a prefix of x1 {tuple(x1.shape)}, got {_describe(t)}")
    if bool(((t < 0) | (t > 1)).any()):
        raise ValueError("t must lie in [0, 1]")
    x0 = torch.randn(x1.shape, generator=generator, device=x1.device, dtype=x1.dtype) if noise is None else noise
    xt = interpolate(x0, x1, t)
    err = (velocity(xt, t) - (x1 - x0)).square()
    if weight is None:
        return err.mean()
    w = torch.broadcast_to(_expand(weight, err), err.shape)
    return (err * w).sum() / w.sum().clamp_min(1e-12)


@torch.no_grad()
def euler_sample(velocity: VelocityFn, x0: Tensor, steps: int, *, t_start: float = 0.0, t_end: float = 1.0) -> Tensor:
    """Integrate ``dx/dt = velocity(x, t)`` from ``x0`` at ``t_start`` to ``t_end`` in ``steps`` equal Euler steps
    (one network call each); returns the state at ``t_end``. ``t`` is passed as a ``[B]`` tensor."""
    _check_steps(steps, t_start, t_end)
    x, h = x0, (t_end - t_start) / steps
    for i in range(steps):
        x = x + h * velocity(x, _time(x, t_start + i * h))
    return x


@torch.no_grad()
def heun_sample(velocity: VelocityFn, x0: Tensor, steps: int, *, t_start: float = 0.0, t_end: float = 1.0) -> Tensor:
    """Heun's method (explicit trapezoid): per step an Euler predictor and a corrector that averages the velocities
    at both ends; two network calls per step, second-order accurate. Arguments as in :func:`euler_sample`."""
    _check_steps(steps, t_start, t_end)
    x, h = x0, (t_end - t_start) / steps
    for i in range(steps):
        t0 = t_start + i * h
        v0 = velocity(x, _time(x, t0))
        guess = x + h * v0
        v1 = velocity(guess, _time(x, t0 + h))
        x = x + 0.5 * h * (v0 + v1)
    return x


def _check_steps(steps: int, t_start: float, t_end: float) -> None:
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    if not (0.0 <= t_start < t_end <= 1.0):
        raise ValueError(f"need 0 <= t_start < t_end <= 1, got {t_start}, {t_end}")


def _time(x: Tensor, t: float) -> Tensor:
    return torch.full((x.shape[0],), t, dtype=x.dtype, device=x.device)


def _expand(t: Tensor, like: Tensor) -> Tensor:
    """``t`` with trailing singleton dims so that it broadcasts against ``like`` from the left."""
    return t.reshape(*t.shape, *([1] * (like.dim() - t.dim()))).to(like.dtype)
