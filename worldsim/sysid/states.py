"""System identification from logged states: fit entries of the per-world parameter table (and optionally each
window's initial state) by minimizing the multi-step prediction error of :func:`worldsim.rollout`.

The logged trajectories are cut into windows; every window is simulated from its logged first state for
``window`` control steps under the logged controls, and compared with the logged states. Several candidate
initializations run at once, in parallel worlds (world c·M + m simulates window m under candidate c). The fit is
Adam on the log of each (positive) parameter; the uncertainty is a Laplace approximation at the best candidate:
the Hessian of the loss from finite differences of its exact gradient (all P+1 gradients in one batched
backward pass), scaled by the residual variance, widened to the spread of the converged candidates where that is
larger. :meth:`SysIDResult.to_randomization` turns the fit into a
domain-randomization distribution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from ..physics.mjcf import from_mjmodel
from ..physics.model import Model
from ..physics.params import PARAM_SPECS
from ..physics.rollout import rollout
from ..randomization import DomainRandomization, Normal, ParamRandomization, Uniform


@dataclass(frozen=True)
class FitParam:
    """One identified quantity: the elements ``index`` of parameter-table entry ``name`` (index without the world
    dim; None: every element), all tied to one positive value.

    Examples: ``FitParam("body_mass", (1,))``, ``FitParam("geom_friction", (slice(None), 0), "friction")``.
    """

    name: str
    index: tuple | None = None
    label: str | None = None

    def __post_init__(self):
        if self.name not in PARAM_SPECS:
            raise ValueError(f"unknown parameter {self.name!r}; known: {sorted(PARAM_SPECS)}")
        if self.index is not None and not isinstance(self.index, tuple):
            raise ValueError(f"FitParam index must be a tuple or None, got {self.index!r}")

    @property
    def title(self) -> str:
        return self.label or (self.name if self.index is None else f"{self.name}{list(self.index)}")

    def mask(self, model: Model) -> torch.Tensor:
        """bool [*entry shape]: the elements this parameter sets."""
        mask = torch.zeros(model.param_shape(self.name)[1:], dtype=torch.bool)
        try:
            mask[self.index or ()] = True
        except IndexError as e:
            raise ValueError(f"index {self.index} does not fit {self.name} of shape {list(mask.shape)}") from e
        return mask


@dataclass
class Trajectories:
    """Logged trajectories: ``qpos`` [K, T+1, nq], ``qvel`` [K, T+1, nv] (states at each control step, the first
    one included), ``ctrl`` [K, T, nu] (each held for ``frame_skip`` physics steps)."""

    qpos: torch.Tensor
    qvel: torch.Tensor
    ctrl: torch.Tensor
    frame_skip: int = 1

    def check(self, model: Model) -> None:
        K = self.qpos.shape[0]
        T = self.ctrl.shape[1] if self.ctrl.ndim == 3 else -1
        for name, x, shape in (("qpos", self.qpos, (K, T + 1, model.nq)), ("qvel", self.qvel, (K, T + 1, model.nv)),
                               ("ctrl", self.ctrl, (K, T, model.nu))):  # fmt: skip
            if tuple(x.shape) != shape:
                raise ValueError(f"trajectories.{name} has shape {list(x.shape)}, expected {list(shape)} "
                                 "([K, T+1, nq], [K, T+1, nv], [K, T, nu])")  # fmt: skip
            if not torch.isfinite(x).all():
                raise ValueError(f"trajectories.{name} contains NaN or inf values")
        if not isinstance(self.frame_skip, int) or self.frame_skip < 1:
            raise ValueError(f"frame_skip must be a positive integer, got {self.frame_skip!r}")


@dataclass
class SysIDResult:
    """The fit: ``values`` [P] (the parameters' units); ``std`` [P] (same units), the larger of ``laplace_std``
    (the Laplace approximation, from ``log_covariance`` [P, P] of the log-parameters) and ``candidate_std`` (the
    spread of the candidates that ended within 10% of the best loss: the optimizer's own imprecision, which the
    Laplace approximation ignores); ``loss`` (best candidate's final loss), ``history`` (best loss per iteration),
    ``candidate_values`` [C, P] and ``candidate_losses`` [C] at the end, ``fit`` (the FitParams)."""

    fit: list[FitParam]
    values: torch.Tensor
    std: torch.Tensor
    log_covariance: torch.Tensor
    loss: float
    history: list[float] = field(default_factory=list)
    candidate_values: torch.Tensor | None = None
    candidate_losses: torch.Tensor | None = None
    laplace_std: torch.Tensor | None = None
    candidate_std: torch.Tensor | None = None

    def table(self, truth: dict[str, float] | None = None) -> str:
        """A text table: parameter, fitted value ± std (and the truth and relative error when given, by title)."""
        lines = [
            f"{'parameter':24s} {'fitted':>10s} {'± std':>9s}" + (f" {'true':>10s} {'error':>8s}" if truth else "")
        ]
        for p, v, s in zip(self.fit, self.values.tolist(), self.std.tolist(), strict=True):
            row = f"{p.title:24s} {v:10.4f} {s:9.4f}"
            if truth and p.title in truth:
                row += f" {truth[p.title]:10.4f} {100 * (v - truth[p.title]) / truth[p.title]:+7.2f}%"
            lines.append(row)
        return "\n".join(lines)

    def apply(self, model: Model) -> None:
        """Write the fitted values into every world of ``model``'s parameter table."""
        params = model.get_params()
        new = {}
        for p, v in zip(self.fit, self.values, strict=True):
            base = new.get(p.name, params[p.name].detach().clone())
            base[:, p.mask(model)] = float(v)
            new[p.name] = base
        model.set_params(**new)

    def to_randomization(self, *, width: float = 2.0, dist: str = "uniform") -> DomainRandomization:
        """A domain randomization centred on the fit: each parameter set per world (shared by its elements) to a
        draw of U(v − width·std, v + width·std) (``dist="uniform"``, its low end kept positive) or N(v, (width·std)²)
        (``"normal"``: unbounded, so it can draw non-positive values when std is not small against v)."""
        if dist not in ("uniform", "normal"):
            raise ValueError(f"dist must be 'uniform' or 'normal', got {dist!r}")
        if not width > 0:
            raise ValueError(f"width must be positive, got {width!r}")
        params = []
        for p, v, s in zip(self.fit, self.values.tolist(), self.std.tolist(), strict=True):
            d = Uniform(max(v - width * s, 1e-9), v + width * s) if dist == "uniform" else Normal(v, width * s)
            params.append(ParamRandomization(p.name, d, mode="set", index=p.index or (), shared=True))
        return DomainRandomization(params=params)


def synthetic_trajectories(
    model: Model,
    qpos0: torch.Tensor,
    qvel0: torch.Tensor,
    ctrl: torch.Tensor,
    params: dict[str, torch.Tensor] | None = None,
    *,
    frame_skip: int = 1,
    noise: tuple[float, float] = (0.0, 0.0),
    seed: int = 0,
) -> Trajectories:
    """Log K trajectories of ``model`` (``num_worlds`` = K) from ``qpos0`` [K, nq], ``qvel0`` [K, nv] under ``ctrl``
    [K, T, nu] (each held ``frame_skip`` steps) with parameter overrides ``params`` (the hidden truth), plus
    Gaussian measurement noise of standard deviation ``noise`` = (position, velocity) on every logged state."""
    with torch.no_grad():
        out = rollout(model, qpos0, qvel0, ctrl.transpose(0, 1).repeat_interleave(frame_skip, 0), params)
    q = torch.cat([qpos0[None], out[0][frame_skip - 1 :: frame_skip]]).transpose(0, 1)
    v = torch.cat([qvel0[None], out[1][frame_skip - 1 :: frame_skip]]).transpose(0, 1)
    gen = torch.Generator().manual_seed(seed)
    q = q + noise[0] * torch.randn(q.shape, generator=gen)
    v = v + noise[1] * torch.randn(v.shape, generator=gen)
    return Trajectories(q, v, ctrl.clone(), frame_skip)


def fit_parameters(
    model: Model,
    data: Trajectories,
    fit: list[FitParam],
    *,
    window: int = 10,
    candidates: int = 4,
    spread: float = 0.3,
    iters: int = 150,
    lr: float = 0.05,
    fit_initial_state: bool = False,
    seed: int = 0,
    progress: bool = False,
) -> SysIDResult:
    """Fit ``fit`` to ``data`` by multi-step prediction error.

    Args:
        model: the model (its parameter table's world 0 gives the nominal values and the parameters not fitted).
        data: the logged trajectories.
        fit: the parameters to identify (each tied to one positive value).
        window: control steps predicted from each logged state (the trajectories are cut into windows).
        candidates: initializations run in parallel: the nominal values, and log-normal perturbations of them.
        spread: standard deviation of the candidates' log-perturbation (0.3: about ±30%).
        iters: Adam iterations.
        lr: Adam's step on the log-parameters.
        fit_initial_state: also fit each window's initial state (a correction to the noisy logged one).
        seed: candidates' seed.
        progress: show a progress bar.

    The loss is the mean squared prediction error, each state coordinate divided by its standard deviation over
    the data. Returns a :class:`SysIDResult`.
    """
    if not fit:
        raise ValueError("fit must name at least one FitParam")
    data.check(model)
    K, T = data.ctrl.shape[:2]
    if not isinstance(window, int) or not 1 <= window <= T:
        raise ValueError(f"window must be an integer in [1, {T}] (the trajectories' length), got {window!r}")
    if not isinstance(candidates, int) or candidates < 1:
        raise ValueError(f"candidates must be a positive integer, got {candidates!r}")
    W = T // window
    M, C, fs = K * W, candidates, data.frame_skip
    starts = torch.arange(W) * window
    steps = starts[:, None] + torch.arange(1, window + 1)  # [W, window]
    q0 = data.qpos[:, starts].reshape(M, -1).float()
    v0 = data.qvel[:, starts].reshape(M, -1).float()
    target_q = data.qpos[:, steps].reshape(M, window, -1).transpose(0, 1).float()  # [window, M, nq]
    target_v = data.qvel[:, steps].reshape(M, window, -1).transpose(0, 1).float()
    ctrl = data.ctrl[:, steps - 1].reshape(M, window, -1).transpose(0, 1).float()
    ctrl = ctrl.repeat_interleave(fs, 0).repeat(1, C, 1)  # [window·fs, C·M, nu]
    scale_q = data.qpos.reshape(-1, model.nq).std(0).clamp_min(1e-3)
    scale_v = data.qvel.reshape(-1, model.nv).std(0).clamp_min(1e-3)

    fit_model = from_mjmodel(model.mj_model, num_worlds=C * M, device=model.device, substeps=model.substeps)
    base = {k: v[:1].detach() for k, v in model.get_params().items()}
    fit_model.set_params(**{k: v.expand(C * M, *v.shape[1:]) for k, v in base.items()})
    masks = [p.mask(model) for p in fit]
    nominal = torch.tensor([float(base[p.name][0][m].mean()) for p, m in zip(fit, masks, strict=True)])
    if not (nominal > 0).all():
        bad = [p.title for p, v in zip(fit, nominal.tolist(), strict=True) if v <= 0]
        raise ValueError(f"fitted parameters must have positive nominal values (fitted in log space): {bad}")
    gen = torch.Generator().manual_seed(seed)
    log_theta = nominal.log()[None].repeat(C, 1) + spread * torch.randn(C, len(fit), generator=gen) * (
        torch.arange(C)[:, None] > 0
    )
    log_theta.requires_grad_(True)
    dq0 = torch.zeros(C * M, model.nq, requires_grad=fit_initial_state)
    dv0 = torch.zeros(C * M, model.nv, requires_grad=fit_initial_state)

    def losses(log_th: torch.Tensor) -> torch.Tensor:
        params = {}
        for p, m, col in zip(fit, masks, log_th.exp().T, strict=True):
            b = params.get(p.name, base[p.name].expand(C * M, *base[p.name].shape[1:]))
            val = col.repeat_interleave(M).reshape(C * M, *([1] * m.ndim))
            params[p.name] = torch.where(m, val, b)
        out = rollout(fit_model, q0.repeat(C, 1) + dq0, v0.repeat(C, 1) + dv0, ctrl, params)
        q, v = out[0][fs - 1 :: fs], out[1][fs - 1 :: fs]  # [window, C·M, ...]
        err = ((q - target_q.repeat(1, C, 1)) / scale_q).square().sum(-1) + (
            (v - target_v.repeat(1, C, 1)) / scale_v
        ).square().sum(-1)
        return err.reshape(window, C, M).mean((0, 2)) / (model.nq + model.nv)  # [C]

    variables = [log_theta] + ([dq0, dv0] if fit_initial_state else [])
    opt = torch.optim.Adam([{"params": [log_theta], "lr": lr}] + (
        [{"params": [dq0, dv0], "lr": 0.1 * lr * float(scale_q.mean())}] if fit_initial_state else []))  # fmt: skip
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, iters, eta_min=0.05 * lr)  # settle at the end
    history = []
    bar = range(iters)
    if progress:
        from tqdm import tqdm

        bar = tqdm(bar, desc="sysid")
    for _ in bar:
        opt.zero_grad()
        per_candidate = losses(log_theta)
        per_candidate.sum().backward()
        opt.step()
        schedule.step()
        history.append(float(per_candidate.detach().min()))
        if progress:
            bar.set_postfix(loss=f"{history[-1]:.3e}")
    del variables
    with torch.no_grad():
        final = losses(log_theta)
    best = int(torch.argmin(final))
    theta = log_theta.detach()[best]
    if fit_initial_state:  # the Laplace step evaluates every candidate slot at the best candidate's states
        with torch.no_grad():
            dq0.copy_(dq0.reshape(C, M, -1)[best].repeat(C, 1))
            dv0.copy_(dv0.reshape(C, M, -1)[best].repeat(C, 1))
    hessian = _loss_hessian(losses, theta, C)
    residuals = window * M * (model.nq + model.nv)
    # loss = mean r², r ~ N(0, s²) with s² = the final loss: negative log-likelihood = R / (2 s²) · loss
    nll_hessian = residuals / (2 * float(final[best])) * hessian
    cov = torch.linalg.pinv(nll_hessian)
    values = theta.exp()
    laplace = values * cov.diagonal().clamp_min(0).sqrt()
    converged = final <= 1.1 * final[best]  # candidates that ended within 10% of the best loss
    spread = log_theta.detach()[converged].std(0) * values if int(converged.sum()) > 1 else torch.zeros_like(values)
    std = torch.maximum(laplace, spread)
    return SysIDResult(fit, values, std, cov, float(final[best]), history, log_theta.detach().exp(), final,
                       laplace_std=laplace, candidate_std=spread)  # fmt: skip


def _loss_hessian(losses, theta: torch.Tensor, C: int, eps: float = 1e-3) -> torch.Tensor:
    """d²loss/dθ² [P, P] at ``theta`` [P] from finite differences of the exact gradient: rows θ, θ + ε e_j are
    evaluated as candidates (C per batched rollout) and differentiated in one backward pass each."""
    P = theta.numel()
    points = torch.cat([theta[None], theta[None] + eps * torch.eye(P)])  # [P+1, P]
    grads = []
    for i in range(0, P + 1, C):
        chunk = points[i : i + C]
        padded = torch.cat([chunk, theta[None].repeat(C - len(chunk), 1)]).requires_grad_(True)
        losses(padded).sum().backward()
        grads.append(padded.grad[: len(chunk)])
    g = torch.cat(grads)
    h = (g[1:] - g[:1]) / eps
    h = 0.5 * (h + h.T)
    if not torch.isfinite(h).all():
        return torch.full((P, P), math.nan)
    return h
