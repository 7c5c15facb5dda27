"""Randomized smoothing: gradients of E_ε[f(x + σε)] where the plain gradient of a contact rollout is zero or
misleading (a ball that just misses a wall has no gradient towards the wall)."""

from __future__ import annotations

import torch

from .model import Model
from .rollout import rollout

PERTURBABLE = ("qpos0", "qvel0", "ctrl")


def smoothed_rollout(
    model: Model,
    qpos0: torch.Tensor,
    qvel0: torch.Tensor,
    ctrl: torch.Tensor,
    params: dict[str, torch.Tensor] | None = None,
    *,
    sigma: float | dict[str, float],
    num_samples: int = 16,
    perturb: tuple[str, ...] = ("qvel0", "ctrl"),
    generator: torch.Generator | None = None,
    **rollout_options,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean of ``num_samples`` rollouts from Gaussian-perturbed inputs: a Monte-Carlo estimate of the smoothed
    trajectory E_ε[rollout(x + σε)], whose autograd gradient is the first-order randomized-smoothing estimator
    (1/K) Σ_k ∇f(x + σ ε_k).

    Args:
        model, qpos0, qvel0, ctrl, params: as :func:`worldsim.rollout`.
        sigma: noise standard deviation, one value or ``{input name: value}`` (units of that input: m or rad for
            ``qpos0``, m/s or rad/s for ``qvel0``, control units for ``ctrl``).
        num_samples: K, rollouts averaged (cost K × a rollout; the estimate's variance falls as 1/K).
        perturb: which of ``qpos0``, ``qvel0``, ``ctrl`` are perturbed. Perturbing quaternion coordinates of
            ``qpos0`` is allowed (they are normalized inside) but changes the orientation distribution.
        generator: a ``torch.Generator`` for reproducible noise.
        rollout_options: ``grad_clip`` / ``grad_window``, passed on.

    Returns:
        ``(qpos, qvel)`` [T, N, nq] / [T, N, nv], averaged over the samples.
    """
    unknown = set(perturb) - set(PERTURBABLE)
    if unknown:
        raise ValueError(f"perturb may name {PERTURBABLE}, got unknown {sorted(unknown)}")
    if not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"num_samples must be a positive integer, got {num_samples!r}")
    sigmas = sigma if isinstance(sigma, dict) else dict.fromkeys(perturb, sigma)
    for name in perturb:
        s = sigmas.get(name)
        if s is None or not s >= 0:
            raise ValueError(f"sigma for {name!r} must be a number >= 0, got {s!r}")
    inputs = {"qpos0": qpos0, "qvel0": qvel0, "ctrl": ctrl}
    sum_q = sum_v = None
    for _ in range(num_samples):
        noisy = dict(inputs)
        for name in perturb:
            x = torch.as_tensor(inputs[name])
            noisy[name] = x + sigmas[name] * torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
        q, v = rollout(model, noisy["qpos0"], noisy["qvel0"], noisy["ctrl"], params, **rollout_options)
        sum_q = q if sum_q is None else sum_q + q
        sum_v = v if sum_v is None else sum_v + v
    return sum_q / num_samples, sum_v / num_samples
