"""System identification from pixels: a bouncing ball's restitution, gravity and initial velocity from video.

The forward model is worldsim end to end: (ζ, g, v0) → :func:`~worldsim.rollout` (MuJoCo's soft contact; ζ is
the contact damping ratio ``solref[1]``, set on every geom) → ball pose per video frame →
:meth:`~worldsim.renderers.SplatScene.render` → images. The loss is the squared difference to the given frames,
after a Gaussian blur; Adam follows its gradient, backpropagated through the renderer and the simulator.

:func:`fit_bounce_from_pixels` runs four phases:

1. **flight**: candidate initial velocities side by side (one world each), gravity starting at (0, 0, −9.81);
   each candidate sees only the frames before its own first contact, over a growing horizon with a shrinking blur.
   The best fit of the frames they have in common wins.
2. **flight, sharp**: that candidate with a light blur, in better-conditioned coordinates: the ball's positions
   at a third and two thirds of its first flight instead of (v0, g), which trade off over a short flight.
3. **bounce**: copies with different restitutions fit ζ on every frame, v0 and g held. The rollout's gradient
   with respect to the state before an impact leaves out how the impact time moves (contact onset is not
   differentiated), so following it on frames after a bounce drags the vertical components of v0 and g off; the
   gradient with respect to ζ, at a fixed impact time, is sound.
4. **polish**: the best copy on every frame: ζ with the horizontal components of v0 and g, which do not move the
   impact time on flat ground (the later flights pin the tilt of gravity).

The initial ball position is taken as known (the model's, or ``position``). Moving splats (the ball) are rendered
per frame and composited over the static splats (the ground), rendered once per view; frames within a frame of a
contact are left out of the loss, since the soft contact lets the ball sink into the ground there, which the full
render shows (the ground's splats in front of the ball's bottom) and the composite does not.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ..physics.mjcf import from_mjmodel
from ..physics.model import Model
from ..physics.restitution import damping_ratio_from_restitution, restitution_from_damping_ratio
from ..physics.rollout import rollout
from ..renderers import SplatScene
from .restitution import _ball_and_ground

__all__ = ["BounceFit", "BounceParams", "bounce_trajectory", "fit_bounce_from_pixels", "make_bounce_video"]

SKY = (0.75, 0.85, 1.0)  # background color of the default videos (RGB in [0, 1])
BALL_DENSITY = 300.0  # ball splats per m² of surface (about 50 on a 12 cm ball: plenty at 64×64)
GROUND_DENSITY = 400.0  # ground splats per m²


@dataclass
class BounceParams:
    """The physical quantities of a thrown ball.

    Args:
        damping_ratio: ζ, the contact damping ratio ``solref[1]`` of ball and ground [1] (< 1 bounces).
        gravity: gravitational acceleration (3,) [m/s²].
        velocity: initial linear velocity of the ball (3,) [m/s] (no initial spin).
        position: initial ball centre (3,) [m]; None: the model's.
    """

    damping_ratio: float
    gravity: tuple[float, float, float]
    velocity: tuple[float, float, float]
    position: tuple[float, float, float] | None = None

    @property
    def restitution(self) -> float:
        """e of a linear spring-damper with this damping ratio (see :mod:`worldsim.sysid.restitution`)."""
        return restitution_from_damping_ratio(self.damping_ratio)


@dataclass
class BounceFit:
    """The result of :func:`fit_bounce_from_pixels`.

    Fields: fitted ``damping_ratio`` ζ [1] and ``restitution`` e [1] (closed form of ζ), ``gravity`` (3,) [m/s²],
    ``velocity`` v0 (3,) [m/s], ``position`` (3,) [m] (given, not fitted); ``trajectory`` [F, 3], the fitted ball
    centre at the frame ``times`` [F] [s]; ``loss_history`` (best world's training loss per iteration) with
    ``phase_starts`` (phase name → first iteration); ``errors`` against the truth when it was given
    (``damping_ratio`` and ``restitution``: relative, ``gravity_angle_deg``, ``gravity_magnitude``: relative,
    ``velocity``: relative norm of the difference); ``std``, one-standard-deviation uncertainties from pixel
    noise (a Gauss-Newton approximation, the noise estimated from the residual: ``damping_ratio``,
    ``restitution``, ``gravity`` (3,), ``gravity_magnitude``, ``velocity`` (3,), and ``cov``, the 7×7 covariance of
    (ζ, g, v0)); ``wall_time`` [s].
    """

    damping_ratio: float
    restitution: float
    gravity: np.ndarray
    velocity: np.ndarray
    position: np.ndarray
    trajectory: np.ndarray
    times: np.ndarray
    loss_history: list[float]
    phase_starts: dict[str, int]
    errors: dict[str, float] | None = None
    std: dict | None = None
    wall_time: float = 0.0

    @property
    def params(self) -> BounceParams:
        """The fitted quantities as :class:`BounceParams` (to simulate or render them)."""
        return BounceParams(self.damping_ratio, tuple(self.gravity.tolist()), tuple(self.velocity.tolist()),
                            tuple(self.position.tolist()))  # fmt: skip


@dataclass
class _Setup:
    """What the simulation and the renderer need of a ball-over-plane scene."""

    model: Model
    qadr: int  # the ball's free joint: qpos address
    dadr: int  # and dof address
    radius: float  # ball radius [m]
    ground: float  # plane height [m]
    scene: SplatScene  # every splat (world-count 1 model)
    ball: torch.Tensor  # [S] bool: splats that move with the ball
    render_models: dict[int, Model] = field(default_factory=dict)

    @classmethod
    def of(cls, model: Model, density: float, ground_density: float) -> _Setup:
        if not isinstance(model, Model):
            raise ValueError(f"model must be a worldsim Model, got {type(model).__name__}")
        mjm = model.mj_model
        jnt, _, radius, ground = _ball_and_ground(mjm)
        if np.any(mjm.geom_solref[:, 0] <= 0):
            raise ValueError("every geom's solref must be in the (timeconst, dampratio) form")
        one = from_mjmodel(mjm)
        scene = SplatScene.from_model(one, density=density, ground_density=ground_density)
        ball = scene.body == int(mjm.jnt_bodyid[jnt])
        return cls(model, int(mjm.jnt_qposadr[jnt]), int(mjm.jnt_dofadr[jnt]), radius, ground, scene, ball)

    def render_model(self, count: int) -> Model:
        if count not in self.render_models:
            self.render_models[count] = from_mjmodel(self.model.mj_model, num_worlds=count)
        return self.render_models[count]

    def splats(self, count: int, mask: torch.Tensor | None) -> SplatScene:
        """The scene's splats (those in ``mask``, or all) bound to a model of ``count`` worlds."""
        s = self.scene
        fields = [x if mask is None else x[mask] for x in (s.body, s.means, s.quats, s.scales, s.opacities, s.colors)]
        return SplatScene(self.render_model(count), *fields)

    def initial_state(self, velocity: torch.Tensor, position) -> tuple[torch.Tensor, torch.Tensor]:
        """qpos0 [N, nq] and qvel0 [N, nv] for ball velocities [N, 3] (differentiable w.r.t. them)."""
        n = velocity.shape[0]
        qpos0 = self.model.qpos0.to(torch.float32).expand(n, self.model.nq).clone()
        if position is not None:
            qpos0[:, self.qadr : self.qadr + 3] = torch.as_tensor(position, dtype=torch.float32)
        pad = (self.dadr, self.model.nv - self.dadr - 3)
        return qpos0, torch.nn.functional.pad(velocity, pad)

    def simulate(self, sim: Model, zeta, gravity, velocity, position, frames: int, steps_per_frame: int):
        """Ball qpos at frames 0..frames−1 [frames, N, nq] (frame f after f·steps_per_frame steps) and, per world
        and frame, whether the ball touches the ground in the steps up to the frame since the previous one
        [frames, N] (bool)."""
        n = sim.num_worlds
        qpos0, qvel0 = self.initial_state(velocity, position)
        base = sim.get_params()["geom_solref"][..., 0]
        solref = torch.stack([base, zeta[:, None].expand_as(base)], dim=-1)
        steps = (frames - 1) * steps_per_frame
        touching = torch.zeros(frames, n, dtype=torch.bool)
        if steps == 0:
            return qpos0[None], touching
        qpos, _ = rollout(sim, qpos0, qvel0, torch.zeros(steps, n, sim.nu), {"geom_solref": solref, "gravity": gravity})
        z = qpos[:, :, self.qadr + 2].detach()
        touching[1:] = (z < self.ground + self.radius).reshape(frames - 1, steps_per_frame, n).any(1)
        return torch.cat([qpos0[None], qpos[steps_per_frame - 1 :: steps_per_frame]]), touching


def _check_cameras(viewmats, Ks, width: int, height: int) -> int:
    if not isinstance(viewmats, torch.Tensor) or viewmats.ndim != 3 or viewmats.shape[1:] != (4, 4):
        raise ValueError(f"viewmats must be a tensor [V, 4, 4], got {getattr(viewmats, 'shape', viewmats)!r}")
    v = viewmats.shape[0]
    if not isinstance(Ks, torch.Tensor) or Ks.shape != (v, 3, 3):
        raise ValueError(f"Ks must be a tensor [{v}, 3, 3] (one per view), got {getattr(Ks, 'shape', Ks)!r}")
    for name, value in (("width", width), ("height", height)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return v


def bounce_trajectory(model: Model, params: BounceParams, *, num_frames: int = 50,
                      steps_per_frame: int = 16) -> np.ndarray:  # fmt: skip
    """The ball centre [F, 3] [m] at the frame times (frame f at f · steps_per_frame · timestep) when ``params``
    are simulated in ``model`` (as :func:`make_bounce_video` films it)."""
    if not isinstance(num_frames, int) or num_frames < 1:
        raise ValueError(f"num_frames must be a positive integer, got {num_frames!r}")
    if not isinstance(steps_per_frame, int) or steps_per_frame < 1:
        raise ValueError(f"steps_per_frame must be a positive integer, got {steps_per_frame!r}")
    setup = _Setup.of(model, BALL_DENSITY, GROUND_DENSITY)
    qf = _simulate_params(setup, params, num_frames, steps_per_frame)
    return qf[:, 0, setup.qadr : setup.qadr + 3].double().numpy()


def _simulate_params(setup: _Setup, params: BounceParams, num_frames: int, steps_per_frame: int) -> torch.Tensor:
    """qpos [F, 1, nq] of ``params`` at the frame times."""
    sim = from_mjmodel(setup.model.mj_model)
    with torch.no_grad():
        qf, _ = setup.simulate(sim, torch.tensor([float(params.damping_ratio)]),
                               torch.tensor([params.gravity], dtype=torch.float32),
                               torch.tensor([params.velocity], dtype=torch.float32), params.position, num_frames,
                               steps_per_frame)  # fmt: skip
    return qf


def make_bounce_video(
    model: Model,
    params: BounceParams,
    viewmats: torch.Tensor,
    Ks: torch.Tensor,
    *,
    num_frames: int = 50,
    steps_per_frame: int = 16,
    width: int = 64,
    height: int = 64,
    background=SKY,
    noise_std: float = 0.0,
    seed: int = 0,
    density: float = BALL_DENSITY,
    ground_density: float = GROUND_DENSITY,
) -> torch.Tensor:
    """Film a thrown ball: simulate ``params`` in ``model`` (a ball-over-plane scene) and render the whole scene
    (ball and ground splats together) from every camera.

    Args:
        model: the scene: one free body with a centred sphere (the ball) over a plane with normal +z.
        params: the physical quantities to film.
        viewmats: world-to-camera matrices [V, 4, 4] (see :func:`~worldsim.renderers.look_at`).
        Ks: intrinsics [V, 3, 3] in pixels.
        num_frames: F; frame f shows the state at time f · steps_per_frame · timestep.
        steps_per_frame: simulation steps between frames.
        width, height: image size [pixels].
        background: sky color (RGB in [0, 1]).
        noise_std: standard deviation of Gaussian pixel noise added to every frame.
        seed: noise seed.
        density, ground_density: splats per m² on the ball and on the ground.

    Returns:
        video [V, F, H, W, 3] (RGB, float32).
    """
    v = _check_cameras(viewmats, Ks, width, height)
    if not isinstance(num_frames, int) or num_frames < 1:
        raise ValueError(f"num_frames must be a positive integer, got {num_frames!r}")
    if not isinstance(steps_per_frame, int) or steps_per_frame < 1:
        raise ValueError(f"steps_per_frame must be a positive integer, got {steps_per_frame!r}")
    if not noise_std >= 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std!r}")
    setup = _Setup.of(model, density, ground_density)
    qf = _simulate_params(setup, params, num_frames, steps_per_frame)
    with torch.no_grad():
        bg = torch.tensor(background, dtype=torch.float32).expand(v, 3)
        rgb = setup.splats(num_frames, None).render(qf[:, 0], viewmats, Ks, width, height, backgrounds=bg).rgb
        video = rgb.transpose(0, 1).contiguous()  # [V, F, H, W, 3]
        if noise_std > 0:
            gen = torch.Generator().manual_seed(seed)
            video = video + noise_std * torch.randn(video.shape, generator=gen)
    return video


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of images [B, H, W, 3] by ``sigma`` pixels (identity for sigma = 0)."""
    if sigma <= 0:
        return x
    r = max(1, math.ceil(3 * sigma))
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=torch.float32) / sigma) ** 2)
    k = (k / k.sum()).repeat(3, 1, 1, 1)  # [3, 1, 1, 2r+1], one per channel
    y = x.permute(0, 3, 1, 2)
    y = torch.nn.functional.conv2d(y, k, padding=(0, r), groups=3)
    y = torch.nn.functional.conv2d(y, k.transpose(2, 3), padding=(r, 0), groups=3)
    return y.permute(0, 2, 3, 1)


class _Renderer:
    """Renders the ball at a batch of qpos, composited over the static splats rendered once per view."""

    def __init__(self, setup: _Setup, viewmats, Ks, width: int, height: int, background):
        self.setup, self.viewmats, self.Ks, self.size = setup, viewmats, Ks, (width, height)
        v = viewmats.shape[0]
        sky = torch.tensor(background, dtype=torch.float32).expand(v, 3)
        static = setup.splats(1, ~setup.ball)
        with torch.no_grad():
            self.static = static.render(setup.model.qpos0[None].float(), viewmats, Ks, width, height,
                                        backgrounds=sky).rgb[0]  # [V, H, W, 3]  # fmt: skip

    def __call__(self, qpos: torch.Tensor) -> torch.Tensor:
        """Images [B, V, H, W, 3] of the scene at qpos [B, nq] (differentiable w.r.t. qpos)."""
        out = self.setup.splats(qpos.shape[0], self.setup.ball).render(qpos, self.viewmats, self.Ks, *self.size)
        return out.rgb + (1 - out.alpha) * self.static


class _Velocity:
    """Optimizer coordinates (u, g, v0) of (ζ, g, v0): u = logit(e), e the closed-form restitution of ζ."""

    def physical(self, u, gravity, velocity) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(ζ [N], g [N, 3], v0 [N, 3]) of coordinates (u [N], ...)."""
        return damping_ratio_from_restitution(torch.sigmoid(u)), gravity, velocity

    def coords(self, zeta, gravity, velocity) -> list[torch.Tensor]:
        """The inverse of :meth:`physical`."""
        e = torch.as_tensor(restitution_from_damping_ratio(zeta), dtype=torch.float32)
        return [torch.log(e / (1 - e)), gravity, velocity]


@dataclass
class _Positions:
    """Optimizer coordinates (u, p_a, p_b) of (ζ, g, v0): u = logit(e) and the ball's free-flight positions p_a,
    p_b [N, 3] [m] at times t_a < t_b [s] of its first flight (p(t) = p0 + v0 t + g t²/2). Over a flight that the
    frames cover, positions are what the pixels see: Adam's per-coordinate steps (metres) are well scaled, and v0
    and g, which trade off against each other, become two nearly independent positions."""

    p0: torch.Tensor  # initial ball centre [3] [m]
    t_a: float
    t_b: float

    def physical(self, u, pa, pb) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(ζ [N], g [N, 3], v0 [N, 3]) of coordinates (u [N], p_a [N, 3], p_b [N, 3])."""
        da, db = pa - self.p0, pb - self.p0
        det = self.t_a * self.t_b * (self.t_b - self.t_a)
        gravity = 2 * (self.t_a * db - self.t_b * da) / det
        return damping_ratio_from_restitution(torch.sigmoid(u)), gravity, (da * self.t_b**2 - db * self.t_a**2) / det

    def coords(self, zeta, gravity, velocity) -> list[torch.Tensor]:
        """The inverse of :meth:`physical`."""
        e = torch.as_tensor(restitution_from_damping_ratio(zeta), dtype=torch.float32)
        return [torch.log(e / (1 - e)), *(self.p0 + velocity * t + 0.5 * gravity * t * t for t in (self.t_a, self.t_b))]


class _Objective:
    """The pixel loss of (ζ [N], g [N, 3], v0 [N, 3]) over the first ``h`` frames, per world."""

    def __init__(self, setup: _Setup, render: _Renderer, target: torch.Tensor, position, steps_per_frame: int):
        self.setup, self.render, self.target = setup, render, target  # target [F, V, H, W, 3]
        self.position, self.steps_per_frame = position, steps_per_frame
        self.sims: dict[int, Model] = {}

    def __call__(self, state, h: int, sigma: float, pre_contact_only: bool) -> tuple[torch.Tensor, int]:
        """Per-world loss [N]: the mean over the frames each world uses of the summed squared pixel differences
        after a blur of ``sigma`` pixels, and the number of frames rendered. Frames within a frame of a contact
        are left out (the ball sinks a little into the ground there, which the composited render does not show);
        with ``pre_contact_only`` also every frame after the world's first contact."""
        n = state[0].shape[0]
        if n not in self.sims:
            self.sims[n] = from_mjmodel(self.setup.model.mj_model, num_worlds=n)
        qf, touching = self.setup.simulate(self.sims[n], *state, self.position,
                                           h + 1 if h < self.target.shape[0] else h, self.steps_per_frame)  # fmt: skip
        near = touching.clone()
        near[:-1] |= touching[1:]  # frame f is near a contact if there is one in the steps before f or f+1
        keep = ~near[:h].T  # [N, h]
        if pre_contact_only:
            keep &= ~(near[:h].T.cummax(dim=1).values)
        keep[:, 0] = True
        used = int(keep.any(0).nonzero().max()) + 1
        qf = qf[:used].transpose(0, 1)  # [N, used, nq]
        images = self.render(qf.reshape(-1, qf.shape[-1])).reshape(n, used, *self.target.shape[1:])
        diff = _blur((images - self.target[None, :used]).reshape(-1, *images.shape[-3:]), sigma)
        per_frame = diff.square().reshape(n, used, -1).sum(-1)  # [N, used]
        w = keep[:, :used].float()
        return (per_frame * w).sum(1) / w.sum(1), used


def _truth_errors(fit: BounceFit, truth: BounceParams) -> dict[str, float]:
    g_true, g_fit = np.asarray(truth.gravity, float), fit.gravity
    cos = g_true @ g_fit / (np.linalg.norm(g_true) * np.linalg.norm(g_fit))
    v_true = np.asarray(truth.velocity, float)
    return {
        "damping_ratio": abs(fit.damping_ratio - truth.damping_ratio) / truth.damping_ratio,
        "restitution": abs(fit.restitution - truth.restitution) / truth.restitution,
        "gravity_angle_deg": math.degrees(math.acos(min(1.0, max(-1.0, cos)))),
        "gravity_magnitude": float(abs(np.linalg.norm(g_fit) - np.linalg.norm(g_true)) / np.linalg.norm(g_true)),
        "velocity": float(np.linalg.norm(fit.velocity - v_true) / np.linalg.norm(v_true)),
    }


def fit_bounce_from_pixels(
    model: Model,
    video: torch.Tensor,
    viewmats: torch.Tensor,
    Ks: torch.Tensor,
    *,
    steps_per_frame: int = 16,
    position=None,
    truth: BounceParams | None = None,
    num_candidates: int = 8,
    restitution_inits: tuple[float, ...] = (0.3, 0.5, 0.7, 0.9),
    iterations: tuple[int, int, int, int] = (60, 40, 50, 30),
    background=SKY,
    density: float = BALL_DENSITY,
    ground_density: float = GROUND_DENSITY,
    uncertainty: bool = True,
    seed: int = 0,
    num_threads: int | None = 1,
    progress: bool = False,
) -> BounceFit:
    """Infer a bouncing ball's contact damping ratio ζ (hence restitution), gravity vector and initial velocity
    from multi-view video, by gradient descent on a pixel loss through the splat renderer and the simulator.

    Args:
        model: the scene, as :func:`make_bounce_video` needs it. Everything but ζ (every geom's ``solref[1]``),
            gravity and the ball's initial velocity is taken as known (masses, friction, solref timeconst, ...).
        video: frames [V, F, H, W, 3] (RGB in [0, 1]); frame f at time f · steps_per_frame · timestep.
        viewmats: world-to-camera matrices [V, 4, 4] of the views; Ks: their intrinsics [V, 3, 3] (pixels).
        steps_per_frame: simulation steps between frames.
        position: the ball's initial centre (3,) [m] (known); None: the model's.
        truth: the true quantities, to report errors (not used by the fit).
        num_candidates: initial velocities tried side by side in the flight phase (seeded draws, N(0, 2²) m/s
            per axis).
        restitution_inits: initial restitutions of the worlds of the bounce phase.
        iterations: Adam steps of the four phases (flight, flight sharp, bounce, polish).
        background: the sky color of the video (RGB in [0, 1]).
        density, ground_density: splats per m² of ball and ground, as the video was made with.
        uncertainty: also estimate one-standard-deviation uncertainties from pixel noise (a Gauss-Newton
            approximation from a finite-difference Jacobian of the rendered frames: 14 extra simulations and
            renders, a few seconds). They are what the pixel noise alone allows: with 3 × 50 frames of 64×64
            pixels far below the fit's actual error, which the descent's convergence (finite steps, the
            simulated contact's step-to-step roughness) sets.
        seed: seed of the candidate initial velocities.
        num_threads: torch threads during the fit (its tensors are small: one thread is fastest, by far on a
            loaded machine); None leaves torch's setting. The previous setting is restored.
        progress: show a progress bar.

    Returns:
        a :class:`BounceFit`.

    Raises:
        ValueError: shapes that do not match, a non-finite video, or a scene without a ball and a ground plane.
    """
    start = time.perf_counter()
    if not isinstance(video, torch.Tensor) or video.ndim != 5 or video.shape[-1] != 3:
        raise ValueError(f"video must be a tensor [V, F, H, W, 3], got {getattr(video, 'shape', video)!r}")
    v, f_all, height, width = video.shape[:4]
    if _check_cameras(viewmats, Ks, width, height) != v:
        raise ValueError(f"video has {v} views but viewmats has {viewmats.shape[0]}")
    if f_all < 3:
        raise ValueError(f"video needs at least 3 frames, got {f_all}")
    if not torch.isfinite(video).all():
        raise ValueError("video contains NaN or inf values")
    if not isinstance(steps_per_frame, int) or steps_per_frame < 1:
        raise ValueError(f"steps_per_frame must be a positive integer, got {steps_per_frame!r}")
    if not isinstance(num_candidates, int) or num_candidates < 1:
        raise ValueError(f"num_candidates must be a positive integer, got {num_candidates!r}")
    if len(iterations) != 4 or any(not isinstance(i, int) or i < 1 for i in iterations):
        raise ValueError(f"iterations must be four positive integers, got {iterations!r}")
    if not restitution_inits or any(not 0 < e < 1 for e in restitution_inits):
        raise ValueError(f"restitution_inits must be numbers in (0, 1), got {restitution_inits!r}")

    threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        setup = _Setup.of(model, density, ground_density)
        render = _Renderer(setup, viewmats, Ks, width, height, background)
        objective = _Objective(setup, render, video.float().transpose(0, 1), position, steps_per_frame)
        descent = _Descent(objective, progress, sum(iterations))

        # 1. flight: candidate velocities in parallel worlds, each fitted to the frames before its own first
        # contact over a growing horizon with a shrinking blur; the best fit of the common frames wins
        gen = torch.Generator().manual_seed(seed)
        n, it = num_candidates, iterations[0]
        flight = _Velocity()
        zeta = torch.full((n,), damping_ratio_from_restitution(0.5))
        velocity = 2.0 * torch.randn(n, 3, generator=gen)
        state = flight.coords(zeta, torch.tensor([[0.0, 0.0, -9.81]]).repeat(n, 1), velocity)
        grow = lambda i: min(f_all, 4 + round(i * (f_all - 4) / (0.7 * it)))  # noqa: E731
        state = descent.run("flight", flight, state, it, grow, lambda i: 3.0 - 2.0 * i / it, (0.0, 0.1, 0.1),
                            pre_contact_only=True)  # fmt: skip
        with torch.no_grad():
            _, h_flight = objective(flight.physical(*state), f_all, 0.0, pre_contact_only=True)
        best = int(descent.losses(flight, state, h_flight, 1.0).argmin())
        zeta, gravity, velocity = flight.physical(*(x[best : best + 1] for x in state))

        # 2. flight, sharp: the best candidate in better coordinates (positions at a third and two thirds of its
        # first flight), same frames, a light blur, the lowest loss kept
        with torch.no_grad():
            _, h_flight = objective((zeta, gravity, velocity), f_all, 0.0, pre_contact_only=True)
        t_flight = (h_flight - 1) * steps_per_frame * model.timestep
        p0 = setup.initial_state(velocity, position)[0][0, setup.qadr : setup.qadr + 3]
        coords = _Positions(p0, t_flight / 3, 2 * t_flight / 3)
        state = descent.run("flight, sharp", coords, coords.coords(zeta, gravity, velocity), iterations[1],
                            lambda i: f_all, lambda i: 0.7, (0.0, 0.03, 0.03), pre_contact_only=True,
                            keep_best=True)  # fmt: skip

        # 3. bounce: the flight copied into one world per initial restitution; ζ fitted to every frame (horizon
        # growing over the first 40%), v0 and g held: the rollout's gradient w.r.t. the state before an impact
        # misses how the impact time moves, so descending it on post-bounce frames drags v0 and g off
        m, it = len(restitution_inits), iterations[2]
        e = torch.tensor(restitution_inits, dtype=torch.float32)
        state = [torch.log(e / (1 - e)), state[1].repeat(m, 1), state[2].repeat(m, 1)]
        grow = lambda i: min(f_all, h_flight + 2 + round(i * (f_all - h_flight) / (0.4 * it)))  # noqa: E731
        state = descent.run("bounce", coords, state, it, grow, lambda i: 1.0, (0.1, 0.0, 0.0),
                            pre_contact_only=False, keep_best=True)  # fmt: skip
        best = int(descent.losses(coords, state, f_all, 1.0).argmin())

        # 4. polish: the best world on every frame, ζ with the horizontal components of v0 and g (which do not move
        # the impact time, so their gradient through a bounce is sound): the later flights pin the tilt of g
        state = descent.run("polish", coords, [x[best : best + 1] for x in state], iterations[3], lambda i: f_all,
                            lambda i: 0.7, (0.02, 0.002, 0.002), pre_contact_only=False, keep_best=True,
                            free_axes=(True, True, False))  # fmt: skip
        descent.close()
        fit = _result(setup, coords.physical(*state), position, f_all, steps_per_frame, descent)
        if uncertainty:
            fit.std = _laplace_std(objective, fit)
    finally:
        torch.set_num_threads(threads)
    if truth is not None:
        fit.errors = _truth_errors(fit, truth)
    fit.wall_time = time.perf_counter() - start
    return fit


class _Descent:
    """Adam phases over coordinates (:class:`_Velocity`, :class:`_Positions`) of worlds side by side, with a shared
    loss history and progress bar."""

    def __init__(self, objective: _Objective, progress: bool, total: int):
        self.objective = objective
        self.history: list[float] = []
        self.phase_starts: dict[str, int] = {}
        self.bar = None
        if progress:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="fitting from pixels")

    def run(self, name: str, coords, state, iters: int, horizon, sigma, lrs, *, pre_contact_only: bool,
            keep_best: bool = False, free_axes=(True, True, True)) -> list[torch.Tensor]:  # fmt: skip
        """``iters`` Adam steps with per-coordinate learning rates ``lrs`` (cosine decay to a tenth) on the first
        ``horizon(i)`` frames blurred by ``sigma(i)`` pixels at step i. Returns the final coordinates, or with
        ``keep_best`` (for a fixed blur) each world's lowest-loss ones among the steps at the final horizon.
        ``free_axes`` (x, y, z): which world axes of the vector coordinates move (the others are held)."""
        self.phase_starts[name] = len(self.history)
        params = [x.clone().requires_grad_(True) for x in state]
        axes = torch.tensor(free_axes, dtype=torch.float32)
        for p in params[1:]:
            p.register_hook(lambda grad: grad * axes)
        opt = torch.optim.Adam([{"params": [p], "lr": lr} for p, lr in zip(params, lrs, strict=True)])
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 0.1 + 0.45 * (1 + math.cos(math.pi * i / iters)))
        best_loss = torch.full((state[0].shape[0],), math.inf)
        best = [x.clone() for x in state]
        for i in range(iters):
            h = horizon(i)
            loss, used = self.objective(coords.physical(*params), h, sigma(i), pre_contact_only)
            with torch.no_grad():
                better = (loss < best_loss) & (h == horizon(iters - 1))
                best_loss = torch.where(better, loss, best_loss)
                for b, p in zip(best, params, strict=True):
                    b[better] = p[better]
            opt.zero_grad()
            loss.sum().backward()  # the worlds are independent: each gets the gradient of its own loss
            opt.step()
            sched.step()
            self.history.append(float(loss.detach().min()))
            if self.bar is not None:
                self.bar.update()
                self.bar.set_postfix(phase=name, frames=used, loss=f"{self.history[-1]:.3g}")
        return best if keep_best else [p.detach() for p in params]

    def losses(self, coords, state, h: int, sigma: float) -> torch.Tensor:
        """Each world's loss [N] over the first ``h`` frames (those near a contact left out), blurred by ``sigma``."""
        with torch.no_grad():
            loss, _ = self.objective(coords.physical(*state), h, sigma, pre_contact_only=False)
        return loss

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _result(setup: _Setup, physical, position, frames: int, steps_per_frame: int, descent: _Descent) -> BounceFit:
    """The fit of one world's (ζ [1], g [1, 3], v0 [1, 3]), with its trajectory."""
    zeta, gravity, velocity = (x.detach() for x in physical)
    sim = from_mjmodel(setup.model.mj_model)
    with torch.no_grad():
        qf, _ = setup.simulate(sim, zeta, gravity, velocity, position, frames, steps_per_frame)
    q0, _ = setup.initial_state(velocity, position)
    return BounceFit(
        damping_ratio=float(zeta[0]),
        restitution=restitution_from_damping_ratio(float(zeta[0])),
        gravity=gravity[0].double().numpy(),
        velocity=velocity[0].double().numpy(),
        position=q0[0, setup.qadr : setup.qadr + 3].double().numpy(),
        trajectory=qf[:, 0, setup.qadr : setup.qadr + 3].double().numpy(),
        times=np.arange(frames) * steps_per_frame * setup.model.timestep,
        loss_history=descent.history,
        phase_starts=descent.phase_starts,
    )


def _laplace_std(objective: _Objective, fit: BounceFit) -> dict:
    """One-standard-deviation uncertainties of (ζ, g, v0) from pixel noise, for the fit's two stages (a
    Gauss-Newton/Laplace approximation): g and v0 from the frames before the first contact, then ζ and the
    horizontal components of g and v0 from every frame with the vertical ones held, their uncertainty carried over
    (Cov_h = σ² (J_hᵀ J_h)⁻¹ + A Cov_v Aᵀ, A = (J_hᵀ J_h)⁻¹ J_hᵀ J_v). J: central finite differences of the rendered
    pixels (steps 0.002 in ζ, 0.05 m/s² in g, 0.02 m/s in v0: wide enough to average over the contact's
    step-to-step roughness); σ²: the residual variance per pixel; frames near a contact left out, as in the fit.
    Returns 1-std values and the 7×7 covariance ``cov`` of (ζ, g, v0)."""
    theta = torch.tensor([fit.damping_ratio, *fit.gravity, *fit.velocity], dtype=torch.float32)
    steps = torch.tensor([0.002, 0.05, 0.05, 0.05, 0.02, 0.02, 0.02], dtype=torch.float64)
    batch = theta.repeat(15, 1)
    for k in range(7):
        batch[1 + 2 * k, k] += float(steps[k])
        batch[2 + 2 * k, k] -= float(steps[k])
    o = objective
    frames = o.target.shape[0]
    sim = from_mjmodel(o.setup.model.mj_model, num_worlds=15)
    with torch.no_grad():
        qf, touching = o.setup.simulate(sim, batch[:, 0], batch[:, 1:4], batch[:, 4:7], o.position, frames,
                                        o.steps_per_frame)  # fmt: skip
        near = touching[:, 0] | torch.cat([touching[1:, 0], touching[-1:, 0]])  # [F] of the fitted world
        keep = ~near
        images = o.render(qf[keep].transpose(0, 1).reshape(-1, qf.shape[-1])).reshape(15, keep.sum(), -1).double()
    pre = ~near[keep].cummax(0).values  # [kept frames] before the first contact
    residual = images[0] - o.target[keep].reshape(keep.sum(), -1).double()
    jac = ((images[1::2] - images[2::2]) / (2 * steps[:, None, None])).permute(1, 2, 0)  # [kept frames, pixels, 7]
    sigma2 = float(residual.square().sum()) / max(1, residual.numel() - 7)
    j_pre, j_all = jac[pre].reshape(-1, 7), jac.reshape(-1, 7)
    cov = torch.zeros(7, 7, dtype=torch.float64)
    gv = [1, 2, 3, 4, 5, 6]
    cov[1:, 1:] = sigma2 * torch.linalg.pinv(j_pre[:, gv].T @ j_pre[:, gv])  # stage 1: g, v0 from the flight
    h, v = [0, 1, 2, 4, 5], [3, 6]  # stage 2: ζ, gx, gy, v0x, v0y from every frame given gz, v0z
    info_h = torch.linalg.pinv(j_all[:, h].T @ j_all[:, h])
    gain = info_h @ j_all[:, h].T @ j_all[:, v]
    cov_v = cov[v][:, v]
    cov_h = sigma2 * info_h + gain @ cov_v @ gain.T
    cov[torch.tensor(h)[:, None], torch.tensor(h)] = cov_h
    cross = -gain @ cov_v  # Cov(θ_h, θ_v)
    cov[torch.tensor(h)[:, None], torch.tensor(v)] = cross
    cov[torch.tensor(v)[:, None], torch.tensor(h)] = cross.T
    cov = cov.numpy()
    std = np.sqrt(np.clip(cov.diagonal(), 0, None))
    g = fit.gravity
    dmag = g / np.linalg.norm(g)  # d|g|/dg
    z, dz = fit.damping_ratio, 1e-5
    de = (restitution_from_damping_ratio(z + dz) - restitution_from_damping_ratio(z - dz)) / (2 * dz)
    return {
        "damping_ratio": float(std[0]),
        "restitution": float(abs(de) * std[0]),
        "gravity": std[1:4],
        "gravity_magnitude": float(np.sqrt(dmag @ cov[1:4, 1:4] @ dmag)),
        "velocity": std[4:7],
        "cov": cov,
    }


def bounce_fit_figure(model: Model, truth: BounceParams, fit: BounceFit, *, steps_per_frame: int = 16):
    """A matplotlib figure of the ball centre's x, y and z against time: true (simulated from ``truth``) and
    recovered (``fit.trajectory``). The caller saves and closes it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    true_path = bounce_trajectory(model, truth, num_frames=len(fit.times), steps_per_frame=steps_per_frame)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    for i, (ax, axis) in enumerate(zip(axes, "xyz", strict=True)):
        ax.plot(fit.times, true_path[:, i], color="k", lw=2, label="true")
        ax.plot(fit.times, fit.trajectory[:, i], color="C1", ls="--", lw=1.5, label="recovered")
        ax.set_xlabel("time [s]")
        ax.set_ylabel(f"ball {axis} [m]")
    axes[0].legend()
    fig.suptitle("ball centre: true vs simulated with the recovered parameters")
    fig.tight_layout()
    return fig
