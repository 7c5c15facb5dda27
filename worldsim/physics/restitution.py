"""The coefficient of restitution of MuJoCo's soft contact, in closed form.

MuJoCo's positive ``solref = (timeconst, dampratio)`` makes a contact a spring-damper along its normal with natural
frequency 1 / (timeconst · dampratio) and damping ratio ζ = dampratio. A linear spring-damper that lets go when
the spring comes back to rest length returns a fraction

    e = exp(−π ζ / sqrt(1 − ζ²))     (ζ < 1;  e = 0 for ζ ≥ 1: no rebound)

of the impact speed. How close a simulated contact comes to it: :func:`worldsim.sysid.measured_restitution`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["damping_ratio_from_restitution", "restitution_from_damping_ratio"]


def _check_range(name: str, x, low: float, high: float | None) -> None:
    a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite, got {x!r}")
    if np.any(a < low) or (high is not None and np.any(a > high)):
        bounds = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be {bounds}, got {x!r}")


def restitution_from_damping_ratio(damping_ratio):
    """The coefficient of restitution e of a linear spring-damper contact with damping ratio ζ (``solref[1]``):
    exp(−πζ/sqrt(1−ζ²)) for ζ < 1, 0 for ζ ≥ 1.

    Args:
        damping_ratio: ζ >= 0 [1]: a float, a numpy array or a torch tensor (differentiable).

    Returns:
        e in [0, 1], of the same kind and shape as ``damping_ratio``.

    Raises:
        ValueError: ζ negative, NaN or infinite.
    """
    _check_range("damping_ratio", damping_ratio, 0.0, None)
    if isinstance(damping_ratio, torch.Tensor):
        z = damping_ratio.clamp(max=1 - 1e-7)
        e = torch.exp(-math.pi * z / torch.sqrt(1 - z * z))
        return torch.where(damping_ratio >= 1, torch.zeros_like(e), e)
    z = np.asarray(damping_ratio, dtype=np.float64)
    zc = np.minimum(z, 1 - 1e-12)
    e = np.where(z >= 1, 0.0, np.exp(-np.pi * zc / np.sqrt(1 - zc * zc)))
    return float(e) if e.ndim == 0 else e


def damping_ratio_from_restitution(restitution):
    """The damping ratio ζ (``solref[1]``) whose linear spring-damper contact has coefficient of restitution e:
    ζ = −ln e / sqrt(π² + ln² e), the inverse of :func:`restitution_from_damping_ratio` (e = 0 gives ζ = 1, the
    smallest ratio that does not bounce; e = 1 gives ζ = 0).

    Args:
        restitution: e in [0, 1]: a float, a numpy array or a torch tensor (differentiable for 0 < e < 1).

    Raises:
        ValueError: e outside [0, 1], NaN or infinite.
    """
    _check_range("restitution", restitution, 0.0, 1.0)
    if isinstance(restitution, torch.Tensor):
        log_e = torch.log(restitution.clamp_min(1e-300 if restitution.dtype == torch.float64 else 1e-38))
        zeta = -log_e / torch.sqrt(math.pi**2 + log_e * log_e)
        return torch.where(restitution <= 0, torch.ones_like(zeta), zeta)
    e = np.asarray(restitution, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_e = np.log(e)
    zeta = np.where(e <= 0, 1.0, -log_e / np.sqrt(np.pi**2 + np.where(e <= 0, 0.0, log_e) ** 2))
    return float(zeta) if zeta.ndim == 0 else zeta
