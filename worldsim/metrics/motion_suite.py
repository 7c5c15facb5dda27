"""The motion suite: small worldsim scenes of the Newtonian motion categories, for physics-grounded evaluation (and
training) of video world models, scored with NewtonGen's Physical Invariance Score (PIS) per category.

Each scene has **one body of a saturated color** of its own (the category can be told from the color) moving in the
camera's image plane, seen by a fixed side camera against a plain light-gray background (gray scenery: floor,
pivot, disk). The simulator's body-id image gives the ground-truth mask of that body; in generated frames the body
is found by :func:`~worldsim.metrics.color_mask` with its color. Every episode draws its initial state (and, where
the category has one, a physical parameter) from a seed, so any number of different videos can be made per
category. The scenes are designed for clips of up to :data:`MAX_DURATION` seconds (32 frames at the default
``dt = 0.04`` s): the body stays in view (at least 3 px from the border), 9-12 px across at 64×64.

========================  =====================================================  ====================================
category                  scene                                                   invariant (image coordinates, px)
========================  =====================================================  ====================================
``uniform_velocity``      box on a frictionless slide joint over the floor        ``v_x``
``free_fall``             ball dropped from rest                                  ``a_y``
``sliding_friction``      box sliding on the floor, friction μ ~ U(0.35, 0.42)    ``a_x`` (stopped before it stops)
``parabolic``             ball thrown up and sideways                             ``v_x`` and ``a_y`` (PIS averaged)
``bouncing``              ball dropped on the floor (solref damping ratio 0.1)    ``a_y`` on frames away from impacts
``pendulum``              bob on a hinge, gray rod and pivot                      distance to the pivot (radius)
``rotation``              marker on a gray disk spinning without gravity          angular velocity about the centre
``damped_oscillation``    box on a slide joint with a spring and damper           decay ratio of successive extremes
========================  =====================================================  ====================================

Positions are centroids in pixels as :func:`~worldsim.metrics.mask_centroids` gives them (x right, y down, the
top-left pixel's centre at (0, 0)). Velocities and accelerations at frame t are the slope and curvature of the
least-squares parabola through the centroids within ±:data:`VELOCITY_SPAN` / ±:data:`ACCELERATION_SPAN` seconds of
t (Savitzky-Golay; exact for motion under a constant force, and with a one-frame window the central differences of
:func:`~worldsim.metrics.finite_difference`). Adjacent-frame differences of a 64×64 video are dominated by the
centroid's sub-pixel jitter (a binary mask's centroid moves in steps of ~0.2 px, while an acceleration of g adds
only ~0.1-0.3 px per frame to the step of the frame before at 25 fps), which would make even the simulator's own
videos score low.

Bodies that vanish: a rigid body does not disappear, so a video in which the body is not found in some frame
scores PIS 0, and so does a video whose invariant has fewer than two samples (e.g. a damped oscillation without
two extremes) or whose body never moves more than ``min_motion`` px (a frozen video satisfies every invariant
trivially). :func:`evaluate_motion` reports the fraction of frames in which the body was found beside the PIS.

Public API: :data:`MOTION_CATEGORIES`, :data:`MOTION_SCENES` (the per-category :class:`MotionScene` specs),
:func:`render_motion_suite` (-> :class:`MotionClips` per category), :func:`motion_invariants`, :func:`motion_pis`,
:func:`evaluate_motion` and :func:`record_motion_suite` (one Minari dataset of every category).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .._checks import describe as _describe
from ._physics import area_drift, color_mask, mask_areas, mask_centroids, physical_invariance_score

__all__ = [
    "ACCELERATION_SPAN",
    "BACKGROUND",
    "BOUNCE_SPAN",
    "DT",
    "MAX_DURATION",
    "MOTION_CATEGORIES",
    "MOTION_SCENES",
    "MOTION_TASK",
    "MotionCamera",
    "MotionClips",
    "MotionScene",
    "SPLATS_PER_PIXEL",
    "VELOCITY_SPAN",
    "evaluate_motion",
    "motion_invariants",
    "motion_pis",
    "record_motion_suite",
    "render_motion_suite",
]

#: default frame time [s] (25 fps); the physics steps at each scene's MJCF timestep (2 ms, 0.5 ms for sliding) between
DT = 0.04
#: longest clip the scenes are designed for [s]: the body stays in view for this long
MAX_DURATION = 1.28
#: half-width [s] of the window of the parabola fit that gives velocities (see the module docstring)
VELOCITY_SPAN = 0.2
#: half-width [s] of the window of the parabola fit that gives accelerations
ACCELERATION_SPAN = 0.28
#: half-width [s] of the acceleration window for ``bouncing`` (shorter: it must fit between impacts)
BOUNCE_SPAN = 0.12
#: the plain background behind every scene (RGB in [0, 1]); the scenery is a darker neutral gray
BACKGROUND = (0.88, 0.88, 0.88)
#: splats per pixel² of the motion plane that geom surfaces are sampled with for rendering
SPLATS_PER_PIXEL = 1.5
#: the ``task`` name of a recorded motion-suite dataset (``worldsim.json``)
MOTION_TASK = "MotionSuite"

_GRAY = "0.42 0.42 0.42 1"
_G = 9.81


# ------------------------------------------------------------------------------------------------ camera, scene spec
@dataclass(frozen=True)
class MotionCamera:
    """A fixed pinhole camera: at ``eye`` [m] looking at ``target`` [m] (z up), vertical field of view ``fov_y``
    [degrees]. Every scene's camera looks along +y at the x-z plane of the motion, so image x follows world x and
    image y follows −z, at a constant scale of :meth:`pixels_per_meter` px/m in that plane."""

    eye: tuple[float, float, float]
    target: tuple[float, float, float]
    fov_y: float = 20.0

    def viewmat(self) -> Tensor:
        """World-to-camera matrix [4, 4] (OpenCV: +x right, +y down, +z forward)."""
        from ..renderers import look_at

        return look_at(self.eye, self.target)

    def intrinsics(self, size: int) -> Tensor:
        """Intrinsics [3, 3] (pixels) of a ``size``×``size`` image."""
        from ..renderers import intrinsics

        return intrinsics(self.fov_y, size, size)

    def project(self, points, size: int) -> Tensor:
        """Image positions ``[..., 2]`` (x, y in pixels, :func:`~worldsim.metrics.mask_centroids`' convention: the
        top-left pixel's centre at (0, 0)) of world points ``[..., 3]`` [m] in a ``size``×``size`` image."""
        p = torch.as_tensor(points, dtype=torch.float64)
        view, K = self.viewmat().double(), self.intrinsics(size).double()
        cam = p @ view[:3, :3].T + view[:3, 3]
        uv = cam[..., :2] / cam[..., 2:3] * torch.stack([K[0, 0], K[1, 1]]) + torch.stack([K[0, 2], K[1, 2]])
        return uv - 0.5  # the rasterizer's pixel centres are at +0.5

    def pixels_per_meter(self, size: int, depth_y: float = 0.0) -> float:
        """Image scale [px/m] of the plane y = ``depth_y`` [m] (facing the camera) in a ``size``×``size`` image."""
        a = self.project([self.target[0], depth_y, self.target[2]], size)
        b = self.project([self.target[0], depth_y, self.target[2] + 1.0], size)
        return float((a - b).norm())


def _side_camera(centre_x: float, centre_z: float, view: float, fov_y: float = 20.0) -> MotionCamera:
    """A camera on −y looking at (centre_x, 0, centre_z), far enough that the plane y = 0 shows ``view`` metres
    across the image."""
    distance = 0.5 * view / math.tan(math.radians(fov_y) / 2)
    return MotionCamera((centre_x, -distance, centre_z), (centre_x, 0.0, centre_z), fov_y)


@dataclass(frozen=True)
class MotionScene:
    """The spec of one motion category.

    Attributes:
        name: the category (one of :data:`MOTION_CATEGORIES`).
        mjcf: the scene's MJCF text (the colored body is named ``body``).
        rgba: the body's color (RGBA in [0, 1]); each category has its own.
        camera: the fixed camera.
        sample: ``sample(count, generator) -> (qpos [count, nq], qvel [count, nv], params)``: per-episode initial
            states and per-world parameter-table values (``{name: [count, ...]}``, possibly empty).
        invariant: what PIS is computed on (a sentence, with units).
        measure: ``measure(centroids [..., T, 2], dt, info) -> {name: values [..., T']}``, the invariant series
            (see :func:`motion_invariants`); ``info`` is :meth:`scene_info`.
        fixed_points: world points [m] of the scene that the invariant refers to (``pivot``, ``centre``,
            ``equilibrium``), projected into the image by :meth:`scene_info`.
    """

    name: str
    mjcf: str
    rgba: tuple[float, float, float, float]
    camera: MotionCamera
    sample: Callable[[int, torch.Generator], tuple[Tensor, Tensor, dict]]
    invariant: str
    measure: Callable[[Tensor, float, dict], dict[str, Tensor]]
    fixed_points: dict[str, tuple[float, float, float]] = field(default_factory=dict)

    def scene_info(self, size: int = 64) -> dict[str, object]:
        """The image positions (px) of :attr:`fixed_points` and the motion plane's scale ``pixels_per_meter``
        [px/m] in a ``size``×``size`` image."""
        info: dict[str, object] = {"pixels_per_meter": self.camera.pixels_per_meter(size)}
        for k, p in self.fixed_points.items():
            info[k] = tuple(float(v) for v in self.camera.project(p, size))
        return info


# ------------------------------------------------------------------------------------------------ invariant measures
def _fit_weights(m: int, order: int) -> Tensor:
    """Weights [2m+1] that give the ``order``-th derivative (per frame^order) at the centre of a window of 2m+1
    samples from the least-squares parabola through them (Savitzky-Golay)."""
    j = torch.arange(-m, m + 1, dtype=torch.float64)
    vander = torch.stack([torch.ones_like(j), j, j * j], dim=1)  # [2m+1, 3]
    return torch.linalg.pinv(vander)[order] * math.factorial(order)


def _local_derivative(x: Tensor, dt: float, order: int, span: float) -> Tensor:
    """Velocity (``order=1``) or acceleration (``order=2``) of ``x [..., T, D]`` sampled every ``dt`` s, from the
    least-squares parabola through the samples within ±``span`` s (m = max(1, round(span / dt)) frames either
    side) of each frame: ``[..., T - 2m, D]``, sample i at frame i + m; NaN where the window holds a NaN.

    Exact for motion under a constant force (a quadratic), and with m = 1 the central differences of
    :func:`~worldsim.metrics.finite_difference`; a wider window averages out the centroids' sub-pixel jitter
    (1/m^2.5 for accelerations)."""
    m = max(1, round(span / dt))
    T = x.shape[-2]
    if T < 2 * m + 2:
        raise ValueError(f"centroids need at least {2 * m + 2} frames for derivatives over ±{m} frames "
                         f"(±{span} s at dt={dt}), got T={T}")  # fmt: skip
    windows = x.unfold(-2, 2 * m + 1, 1)  # [..., T - 2m, D, 2m + 1]
    return (windows * _fit_weights(m, order).to(x)).sum(-1) / dt**order


def _velocity(c: Tensor, dt: float) -> Tensor:
    return _local_derivative(c, dt, 1, VELOCITY_SPAN)


def _acceleration(c: Tensor, dt: float, span: float = ACCELERATION_SPAN) -> Tensor:
    return _local_derivative(c, dt, 2, span)


def _measure_uniform_velocity(c, dt, info):
    return {"v_x": _velocity(c, dt)[..., 0]}


def _measure_free_fall(c, dt, info):
    return {"a_y": _acceleration(c, dt)[..., 1]}


def _measure_sliding_friction(c, dt, info):
    return {"a_x": _acceleration(c, dt)[..., 0]}


def _measure_parabolic(c, dt, info):
    return {"v_x": _velocity(c, dt)[..., 0], "a_y": _acceleration(c, dt)[..., 1]}


def _impact_frames(y: Tensor) -> Tensor:
    """Bool ``[..., T]``: frames where a bouncing body is at a low point (largest image y) of its track, in the
    lower quarter of the track's vertical range: the frames closest to a floor impact (a flight's apex is a
    smallest y, so noise about it is not mistaken for an impact). The first and last frames count when the track
    rises away from / falls into them there (an impact may lie just outside the clip or between them and their
    neighbour)."""
    if y.shape[-1] < 2:
        return torch.zeros_like(y, dtype=torch.bool)
    pad = torch.full_like(y[..., :1], -math.inf)
    before = torch.cat([pad, y[..., :-1]], -1)  # y[t-1], -inf before the clip
    after = torch.cat([y[..., 1:], pad], -1)  # y[t+1], -inf after it
    top, bottom = y.amin(-1, keepdim=True), y.amax(-1, keepdim=True)
    return (y > before) & (y >= after) & (y >= bottom - 0.25 * (bottom - top))


def _measure_bouncing(c, dt, info):
    """a_y over windows (±:data:`BOUNCE_SPAN`) that do not straddle an impact: the window of frame t is kept when
    every impact frame m (the impact lies between frames m-1 and m+1) has |t - m| ≥ k + 1 (k the half-width)."""
    a = _acceleration(c, dt, BOUNCE_SPAN)[..., 1]
    k = max(1, round(BOUNCE_SPAN / dt))
    T = c.shape[-2]
    impacts = _impact_frames(c[..., 1]).to(torch.float64)  # [..., T]
    # dilate the impacts by k frames either side: a window centred within k of an impact frame straddles it
    near = torch.nn.functional.max_pool1d(impacts.reshape(-1, 1, T), 2 * k + 1, stride=1, padding=k)
    near = near.reshape(impacts.shape)[..., k : T - k] > 0
    return {"a_y": torch.where(near, torch.full_like(a, float("nan")), a)}


def _measure_pendulum(c, dt, info):
    pivot = torch.as_tensor(info["pivot"], dtype=c.dtype)
    return {"radius": (c - pivot).norm(dim=-1)}


def _unwrapped_angle(c: Tensor, centre) -> Tensor:
    """Angle [rad] of ``c [..., T, 2]`` about ``centre`` in the image, unwrapped over time: ``[..., T, 1]``."""
    d = c - torch.as_tensor(centre, dtype=c.dtype)
    ang = torch.atan2(d[..., 1], d[..., 0])
    step = torch.remainder(ang.diff(dim=-1) + math.pi, 2 * math.pi) - math.pi
    return torch.cat([ang[..., :1], ang[..., :1] + step.cumsum(-1)], dim=-1)[..., None]


def _measure_rotation(c, dt, info):
    return {"omega": _velocity(_unwrapped_angle(c, info["centre"]), dt)[..., 0]}


def _extremes(d: np.ndarray) -> list[tuple[int, float]]:
    """(segment index, |extreme|) of a 1-D displacement ``d`` about equilibrium: one per half-cycle between sign
    changes, at the largest |d| of the half-cycle, refined by a parabola through it and its neighbours; half-cycles
    whose largest |d| is at the clip's first or last frame (not an extreme) are left out."""
    out: list[tuple[int, float]] = []
    sign = np.sign(d)
    bounds = [0, *(np.nonzero(sign[1:] != sign[:-1])[0] + 1).tolist(), len(d)]
    for seg, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        i = lo + int(np.argmax(np.abs(d[lo:hi])))
        if i == 0 or i == len(d) - 1:
            continue
        ym, y0, yp = np.abs(d[i - 1]), np.abs(d[i]), np.abs(d[i + 1])
        curv = ym - 2 * y0 + yp
        peak = y0 - (yp - ym) ** 2 / (8 * curv) if curv < 0 else y0
        out.append((seg, float(peak)))
    return out


def _measure_damped_oscillation(c, dt, info):
    """Ratios |x_{n+1}| / |x_n| of successive extremes of the horizontal displacement about the equilibrium:
    ``exp(-ζ ω₀ π / ω_d)`` for every pair of a linear damped oscillator (exactly, however the clip starts); padded
    with NaN to a common length ``[..., M]``."""
    x = c[..., 0] - float(info["equilibrium"][0])
    flat = x.reshape(-1, x.shape[-1]).numpy()
    rows = []
    for d in flat:
        if not np.isfinite(d).all():
            rows.append([])
            continue
        ext = _extremes(d)
        rows.append([b / a for (sa, a), (sb, b) in zip(ext[:-1], ext[1:], strict=True) if sb == sa + 1 and a > 0])
    m = max([len(r) for r in rows] + [1])
    out = torch.full((len(rows), m), float("nan"), dtype=c.dtype)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r, dtype=c.dtype)
    return {"decay_ratio": out.reshape(*x.shape[:-1], m)}


# ------------------------------------------------------------------------------------------------ the eight scenes
def _uniform(shape, low, high, g: torch.Generator) -> Tensor:
    return low + (high - low) * torch.rand(shape, generator=g, dtype=torch.float64)


def _signs(count: int, g: torch.Generator) -> Tensor:
    return torch.where(torch.rand(count, generator=g) < 0.5, -1.0, 1.0).double()


def _free_state(pos: Tensor, vel: Tensor) -> tuple[Tensor, Tensor]:
    """Free-joint qpos [count, 7] (position, identity quaternion) and qvel [count, 6] (linear velocity, no spin)."""
    n = pos.shape[0]
    quat = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64).expand(n, 4)
    return torch.cat([pos, quat], 1), torch.cat([vel, torch.zeros(n, 3, dtype=torch.float64)], 1)


def _floor(half_x: float) -> str:
    """A visual floor slab (no contacts) under the bodies: ``2 half_x`` m wide (just wider than the view: its splats
    are most of a scene's), 0.9 m deep, 0.2 m thick, its top face at z = 0."""
    return (f'<geom name="floor_slab" type="box" pos="0 0.05 -0.1" size="{half_x} 0.45 0.1" rgba="{_GRAY}" '
            'contype="0" conaffinity="0"/>')  # fmt: skip


def _mjcf(name: str, body: str, *, extra: str = "", option: str = "", timestep: float = 0.002) -> str:
    return (f'<mujoco model="{name}"><option timestep="{timestep}" {option}/><worldbody>{extra}{body}'
            "</worldbody></mujoco>")  # fmt: skip


def _rgba(c) -> str:
    return " ".join(str(v) for v in c)


_COLORS = {
    "uniform_velocity": (0.9, 0.1, 0.1, 1.0),  # red
    "free_fall": (0.1, 0.2, 0.95, 1.0),  # blue
    "sliding_friction": (1.0, 0.45, 0.0, 1.0),  # orange
    "parabolic": (0.1, 0.75, 0.1, 1.0),  # green
    "bouncing": (0.9, 0.1, 0.85, 1.0),  # magenta
    "pendulum": (0.0, 0.75, 0.85, 1.0),  # cyan
    "rotation": (0.95, 0.9, 0.0, 1.0),  # yellow
    "damped_oscillation": (0.5, 0.1, 0.9, 1.0),  # purple
}

# uniform_velocity: a 0.5 m box on a frictionless slide joint along x over the floor, 1-2 m/s either way
_UV_VIEW = 4.0


def _sample_uniform_velocity(n, g):
    s = _signs(n, g)
    speed = _uniform(n, 1.0, 2.0, g)
    x0 = -s * 1.35 + s * _uniform(n, 0.0, 1.0, g) * (2.7 - speed * MAX_DURATION)
    return x0[:, None], (s * speed)[:, None], {}


# free_fall: a 1.2 m ball dropped from rest at about 4 m (it falls 8 m in MAX_DURATION)
def _sample_free_fall(n, g):
    pos = torch.stack([_uniform(n, -2.5, 2.5, g), torch.zeros(n, dtype=torch.float64), _uniform(n, 3.9, 4.1, g)], 1)
    return *_free_state(pos, torch.zeros(n, 3, dtype=torch.float64)), {}


# sliding_friction: a 0.7 m box sliding on the floor plane with friction μ ~ U(0.35, 0.42) (box and plane), launched
# so that it would stop 0.03-0.1 s after MAX_DURATION (the larger the deceleration in pixels, the smaller the part of
# it that a binary mask's sub-pixel jitter is), its path over MAX_DURATION centred in the view. The scene steps at
# 0.5 ms: at MuJoCo's usual 2 ms a sliding box chatters on its contacts (its deceleration jitters by ±30 % from
# frame to frame, in MuJoCo as in worldsim)
def _sample_sliding_friction(n, g):
    s = _signs(n, g)
    mu = _uniform(n, 0.35, 0.42, g)
    speed = mu * _G * (MAX_DURATION + _uniform(n, 0.03, 0.1, g))
    travel = speed * MAX_DURATION - 0.5 * mu * _G * MAX_DURATION**2
    x0 = -s * (0.5 * travel + _uniform(n, -0.1, 0.1, g))
    pos = torch.stack([x0, torch.zeros(n, dtype=torch.float64), torch.full((n,), 0.25, dtype=torch.float64)], 1)
    vel = torch.stack([s * speed, torch.zeros(n, dtype=torch.float64), torch.zeros(n, dtype=torch.float64)], 1)
    # every geom (plane, visual slab, box; a contact takes the larger) gets μ and MuJoCo's default other coefficients
    friction = torch.tensor([0.0, 0.005, 0.0001], dtype=torch.float64).repeat(n, 3, 1)  # [n, ngeom, 3]
    friction[:, :, 0] = mu[:, None]
    return *_free_state(pos, vel), {"geom_friction": friction}


# parabolic: a 0.7 m ball thrown at 1.5-2.5 m/s sideways and 5-6 m/s up
def _sample_parabolic(n, g):
    s = _signs(n, g)
    pos = torch.stack([-s * _uniform(n, 1.4, 1.7, g), torch.zeros(n, dtype=torch.float64),
                       torch.zeros(n, dtype=torch.float64)], 1)  # fmt: skip
    vel = torch.stack([s * _uniform(n, 1.5, 2.5, g), torch.zeros(n, dtype=torch.float64), _uniform(n, 5.0, 6.0, g)], 1)
    return *_free_state(pos, vel), {}


# bouncing: a 0.4 m ball dropped from 1.4-2 m (centre) with a small sideways speed onto the floor plane; both geoms'
# solref damping ratio is 0.1 (underdamped contact: it bounces back to about half its height)
def _sample_bouncing(n, g):
    pos = torch.stack([_uniform(n, -0.5, 0.5, g), torch.zeros(n, dtype=torch.float64), _uniform(n, 1.4, 2.0, g)], 1)
    vel = torch.stack([_uniform(n, -0.5, 0.5, g), torch.zeros(n, dtype=torch.float64),
                       torch.zeros(n, dtype=torch.float64)], 1)  # fmt: skip
    return *_free_state(pos, vel), {}


# pendulum: a 0.34 m bob 1 m below a hinge (axis y), released at 0.5-1.1 rad with up to 1 rad/s
def _sample_pendulum(n, g):
    return (_signs(n, g) * _uniform(n, 0.5, 1.1, g))[:, None], _uniform(n, -1.0, 1.0, g)[:, None], {}


# rotation: a 0.24 m marker 0.42 m off the axis of a disk spinning at 3-6 rad/s either way, without gravity
def _sample_rotation(n, g):
    return _uniform(n, -math.pi, math.pi, g)[:, None], (_signs(n, g) * _uniform(n, 3.0, 6.0, g))[:, None], {}


# damped_oscillation: a 1 kg, 0.3 m box on a slide joint with a spring (k = 246.7 N/m: 2.5 Hz) and a damper of
# damping ratio ζ ~ U(0.03, 0.07), released 0.45-0.8 m from equilibrium with up to 1 m/s
_DO_STIFFNESS = (2 * math.pi * 2.5) ** 2


def _sample_damped_oscillation(n, g):
    zeta = _uniform(n, 0.03, 0.07, g)
    damping = 2 * zeta * math.sqrt(_DO_STIFFNESS * 1.0)
    x0 = _signs(n, g) * _uniform(n, 0.45, 0.8, g)
    return x0[:, None], _uniform(n, -1.0, 1.0, g)[:, None], {"dof_damping": damping[:, None]}


def _scenes() -> dict[str, MotionScene]:
    c = {k: _rgba(v) for k, v in _COLORS.items()}
    nocon = 'contype="0" conaffinity="0"'
    plane = '<geom name="floor" type="plane" size="20 20 0.1" rgba="0 0 0 0"{}/>'
    scenes = [
        MotionScene(
            "uniform_velocity",
            _mjcf(
                "uniform_velocity",
                f'<body name="body" pos="0 0 0.25"><joint type="slide" axis="1 0 0"/>'
                f'<geom type="box" size="0.25 0.25 0.25" mass="1" rgba="{c["uniform_velocity"]}" {nocon}/></body>',
                extra=_floor(2.2),
            ),
            _COLORS["uniform_velocity"],
            _side_camera(0.0, 1.2, _UV_VIEW),
            _sample_uniform_velocity,
            "horizontal image velocity v_x [px/s]",
            _measure_uniform_velocity,
        ),
        MotionScene(
            "free_fall",
            _mjcf(
                "free_fall",
                f'<body name="body" pos="0 0 4"><freejoint/><geom type="sphere" size="0.6" mass="1" '
                f'rgba="{c["free_fall"]}" {nocon}/></body>',
            ),
            _COLORS["free_fall"],
            _side_camera(0.0, 0.0, 10.8),
            _sample_free_fall,
            "vertical image acceleration a_y [px/s²] (g times the scale)",
            _measure_free_fall,
        ),
        MotionScene(
            "sliding_friction",
            _mjcf(
                "sliding_friction",
                f'<body name="body" pos="0 0 0.25"><freejoint/><geom type="box" '
                f'size="0.35 0.35 0.25" mass="1" rgba="{c["sliding_friction"]}"/></body>',
                extra=plane.format("") + _floor(3.0),
                timestep=0.0005,
            ),
            _COLORS["sliding_friction"],
            _side_camera(0.0, 1.1, 5.6),
            _sample_sliding_friction,
            "horizontal image acceleration a_x [px/s²] (−μ g times the scale)",
            _measure_sliding_friction,
        ),
        MotionScene(
            "parabolic",
            _mjcf(
                "parabolic",
                f'<body name="body" pos="0 0 0"><freejoint/><geom type="sphere" size="0.35" mass="1" '
                f'rgba="{c["parabolic"]}" {nocon}/></body>',
            ),
            _COLORS["parabolic"],
            _side_camera(0.0, 0.1, 5.0),
            _sample_parabolic,
            "v_x [px/s] and a_y [px/s²] (their two PIS averaged)",
            _measure_parabolic,
        ),
        MotionScene(
            "bouncing",
            _mjcf(
                "bouncing",
                f'<body name="body" pos="0 0 1.5"><freejoint/><geom type="sphere" size="0.2" mass="1" '
                f'solref="0.02 0.1" rgba="{c["bouncing"]}"/></body>',
                extra=plane.format(' solref="0.02 0.1"') + _floor(1.8),
            ),
            _COLORS["bouncing"],
            _side_camera(0.0, 1.2, 3.2),
            _sample_bouncing,
            "vertical image acceleration a_y [px/s²] on windows that do not straddle an impact",
            _measure_bouncing,
        ),
        MotionScene(
            "pendulum",
            _mjcf(
                "pendulum",
                f'<body name="body" pos="0 0 0"><joint type="hinge" axis="0 1 0"/>'
                f'<geom type="sphere" pos="0 0 -1" size="0.17" mass="1" rgba="{c["pendulum"]}" {nocon}/>'
                f'<body name="rod"><geom type="capsule" fromto="0 0 0 0 0 -0.85" size="0.025" mass="0.01" '
                f'rgba="{_GRAY}" {nocon}/></body></body>',
                extra=f'<geom name="pivot" type="sphere" pos="0 -0.04 0" size="0.06" rgba="{_GRAY}" {nocon}/>',
            ),
            _COLORS["pendulum"],
            _side_camera(0.0, -0.55, 2.6),
            _sample_pendulum,
            "distance of the bob to the pivot in the image (radius) [px]",
            _measure_pendulum,
            fixed_points={"pivot": (0.0, 0.0, 0.0)},
        ),
        MotionScene(
            "rotation",
            _mjcf(
                "rotation",
                f'<body name="disk" pos="0 0 0"><joint type="hinge" axis="0 1 0"/>'
                f'<geom type="cylinder" size="0.6 0.03" euler="90 0 0" mass="1" rgba="{_GRAY}" {nocon}/>'
                f'<body name="body" pos="0.42 -0.1 0"><geom type="sphere" size="0.12" mass="0.1" '
                f'rgba="{c["rotation"]}" {nocon}/></body></body>',
                option='gravity="0 0 0"',
            ),
            _COLORS["rotation"],
            _side_camera(0.0, 0.0, 1.7),
            _sample_rotation,
            "angular velocity of the marker about the disk's centre in the image [rad/s]",
            _measure_rotation,
            fixed_points={"centre": (0.0, -0.1, 0.0)},
        ),
        MotionScene(
            "damped_oscillation",
            _mjcf(
                "damped_oscillation",
                f'<body name="body" pos="0 0 0.15"><joint type="slide" axis="1 0 0" '
                f'stiffness="{_DO_STIFFNESS:.4f}" damping="1"/><geom type="box" size="0.15 0.15 0.15" mass="1" '
                f'rgba="{c["damped_oscillation"]}" {nocon}/></body>',
                extra=_floor(1.4),
            ),
            _COLORS["damped_oscillation"],
            _side_camera(0.0, 0.7, 2.4),
            _sample_damped_oscillation,
            "ratio |x_{n+1}| / |x_n| of successive extremes of the displacement from equilibrium",
            _measure_damped_oscillation,
            fixed_points={"equilibrium": (0.0, 0.0, 0.15)},
        ),
    ]
    return {s.name: s for s in scenes}


#: the per-category scene specs, by category name
MOTION_SCENES: dict[str, MotionScene] = _scenes()
#: the eight motion categories, in a fixed order (a recorded episode's ``category`` indexes this tuple)
MOTION_CATEGORIES: tuple[str, ...] = tuple(MOTION_SCENES)


def _scene(category) -> MotionScene:
    if category not in MOTION_SCENES:
        raise ValueError(f"unknown motion category {category!r}; known: {MOTION_CATEGORIES}")
    return MOTION_SCENES[category]


# ------------------------------------------------------------------------------------------------ rendering
@dataclass
class MotionClips:
    """The rendered videos of one category: E episodes of T frames at ``size``×``size``.

    Attributes:
        category: the category's name.
        frames: uint8 ``[E, T, H, W, 3]``.
        body_masks: bool ``[E, T, H, W]``: pixels of the colored body, from the simulator's body-id image (where
            that body weighs most) and the alpha image (at least half covered).
        body_id: int16 ``[E, T, H, W]``: the simulator's body-id image (−1 background), as the recorder stores it.
        depth: float32 ``[E, T, H, W]``: depth along the camera axis [m], 0 on the background.
        color: the body's RGB (0-255) as it renders: the median of its pixels under the masks.
        dt: frame time [s].
        qpos, qvel: the simulator's state ``[E, T, nq]`` / ``[E, T, nv]`` at each frame (MuJoCo's layout).
        body_pose: float32 ``[E, T, 7]``: the colored body's world position [m] and quaternion (w, x, y, z).
        params: the per-episode parameter-table values drawn (``{name: [E, ...]}``), possibly empty.
        scene_info: :meth:`MotionScene.scene_info` at this size (pivot / centre / equilibrium px, px per m).
        body: the colored body's index in the model.
    """

    category: str
    frames: Tensor
    body_masks: Tensor
    body_id: Tensor
    depth: Tensor
    color: tuple[int, int, int]
    dt: float
    qpos: Tensor
    qvel: Tensor
    body_pose: Tensor
    params: dict[str, Tensor]
    scene_info: dict[str, object]
    body: int

    @property
    def centroids(self) -> Tensor:
        """Ground-truth centroids ``[E, T, 2]`` (x, y px) of :attr:`body_masks`."""
        return mask_centroids(self.body_masks)


def _check_positive_int(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")
    return int(v)


def _check_categories(categories) -> tuple[str, ...]:
    if categories is None:
        return MOTION_CATEGORIES
    if isinstance(categories, str):
        categories = (categories,)
    categories = tuple(categories)
    if not categories:
        raise ValueError("categories must name at least one category (or be None for all)")
    for c in categories:
        _scene(c)
    if len(set(categories)) != len(categories):
        raise ValueError(f"categories has duplicates: {categories}")
    return categories


def _check_clip(frames: int, dt: float) -> None:
    if not (isinstance(dt, (int, float)) and dt > 0):
        raise ValueError(f"dt must be a positive number of seconds, got {dt!r}")
    m = max(1, round(ACCELERATION_SPAN / dt))
    if frames < 2 * m + 4:
        raise ValueError(f"frames must be at least {2 * m + 4} (the invariants fit parabolas over "
                         f"±{ACCELERATION_SPAN} s = ±{m} frames), got {frames}")  # fmt: skip
    if (frames - 1) * dt > MAX_DURATION + 1e-9:
        raise ValueError(f"frames × dt = {(frames - 1) * dt:.3f} s is longer than the {MAX_DURATION} s the scenes "
                         f"keep their body in view for (at dt={dt}: at most {int(MAX_DURATION / dt + 1e-9) + 1} "
                         "frames)")  # fmt: skip


def render_motion_suite(
    categories=None,
    *,
    episodes_per_category: int = 4,
    frames: int = 24,
    size: int = 64,
    dt: float = DT,
    seed: int = 0,
) -> dict[str, MotionClips]:
    """Simulate and render ``episodes_per_category`` episodes of each category, all episodes of a category as
    parallel worlds (one simulator and one rasterizer call per frame).

    Args:
        categories: category names (default: all of :data:`MOTION_CATEGORIES`), or one name.
        episodes_per_category: E, episodes per category (≥ 1).
        frames: T, frames per episode; frame 0 is the initial state. At least ``2m + 4`` (m = the acceleration
            window's half-width in frames, 7 at 0.04 s) and at most ``MAX_DURATION / dt + 1`` (33 at 0.04 s).
        size: image height and width [px] (the scenes are designed for 64).
        dt: frame time [s], a multiple of the physics timesteps (2 ms; 0.5 ms for ``sliding_friction``).
        seed: seeds the episodes' initial states and parameters, per category (category i of
            :data:`MOTION_CATEGORIES` draws from a generator seeded with ``8 seed + i``), so a category's episodes do
            not depend on which other categories are rendered with it.

    Returns:
        ``{category: MotionClips}`` in the order given.

    Raises:
        ValueError: unknown category, or non-positive / out-of-range sizes.
    """
    cats = _check_categories(categories)
    E = _check_positive_int("episodes_per_category", episodes_per_category)
    T = _check_positive_int("frames", frames)
    size = _check_positive_int("size", size)
    _check_clip(T, dt)
    return {c: _render_category(MOTION_SCENES[c], E, T, size, float(dt), _generator(seed, c)) for c in cats}


def _generator(seed: int, category: str) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(int(seed) * len(MOTION_CATEGORIES) + MOTION_CATEGORIES.index(category))
    return g


def _render_category(scene: MotionScene, E: int, T: int, size: int, dt: float, g: torch.Generator) -> MotionClips:
    import mujoco

    from ..physics import Simulator, forward_kinematics, from_mjmodel
    from ..renderers import SplatScene

    mjm = mujoco.MjModel.from_xml_string(scene.mjcf)
    model = from_mjmodel(mjm, num_worlds=E)
    steps = round(dt / model.timestep)
    if steps < 1 or abs(steps * model.timestep - dt) > 1e-6 * dt:
        raise ValueError(f"dt={dt} must be a multiple of the physics timestep {model.timestep}")
    body = model.names["body"].index("body")
    qpos0, qvel0, params = scene.sample(E, g)
    if params:
        current = model.get_params()
        model.set_params(**{k: v.to(current[k]) for k, v in params.items()})
    sim = Simulator(model)
    sim.reset(qpos0.float(), qvel0.float())
    # about SPLATS_PER_PIXEL splats per pixel of the motion plane, whatever the scene's scale
    splats = SplatScene.from_model(model, density=SPLATS_PER_PIXEL * scene.camera.pixels_per_meter(size) ** 2)
    view = scene.camera.viewmat()[None]
    K = scene.camera.intrinsics(size)[None]
    bg = torch.tensor([BACKGROUND], dtype=torch.float32)
    pixels, ids, alphas, depths, qs, vs, poses = [], [], [], [], [], [], []
    with torch.no_grad():
        for t in range(T):
            if t:
                sim.step(steps=steps)
            out = splats.render(sim.qpos.clone(), view, K, size, size, backgrounds=bg)
            pixels.append((out.rgb[:, 0].clamp(0, 1) * 255).to(torch.uint8))
            ids.append(out.body_id[:, 0].to(torch.int16))
            alphas.append(out.alpha[:, 0, ..., 0])
            depths.append(out.depth[:, 0, ..., 0].float())
            qs.append(sim.qpos.clone())
            vs.append(sim.qvel.clone())
            xpos, xquat = forward_kinematics(model, qs[-1])
            poses.append(torch.cat([xpos[:, body], xquat[:, body]], -1).float())
    frames = torch.stack(pixels, 1)
    body_id = torch.stack(ids, 1)
    masks = (body_id == body) & (torch.stack(alphas, 1) >= 0.5)
    color = tuple(int(v) for v in frames[masks].float().median(0).values.round()) if masks.any() else (0, 0, 0)
    return MotionClips(scene.name, frames, masks, body_id, torch.stack(depths, 1), color, dt, torch.stack(qs, 1),
                       torch.stack(vs, 1), torch.stack(poses, 1),
                       {k: v.float() for k, v in params.items()}, scene.scene_info(size), body)  # fmt: skip


# ------------------------------------------------------------------------------------------------ scoring
def _check_centroids(centroids) -> Tensor:
    if not isinstance(centroids, Tensor) or not centroids.dtype.is_floating_point or centroids.dim() < 2 or \
            centroids.shape[-1] != 2:  # fmt: skip
        raise ValueError(f"centroids must be a floating tensor [..., T, 2] (x, y px), got {_describe(centroids)}")
    return centroids.to(torch.float64)


def motion_invariants(
    category: str, centroids: Tensor, dt: float, *, size: int = 64, **scene_info
) -> dict[str, Tensor]:
    """The series that physics keeps constant in ``category`` (see the module docstring's table), measured on
    centroid tracks.

    Args:
        category: one of :data:`MOTION_CATEGORIES`.
        centroids: ``[..., T, 2]`` (x, y px; NaN where the body is not found) of videos sampled every ``dt`` s.
        dt: frame time [s].
        size: the image size [px] the centroids were measured in (for the scene's fixed points).
        **scene_info: overrides of :meth:`MotionScene.scene_info` (``pivot``, ``centre``, ``equilibrium`` as (x, y)
            px).

    Returns:
        ``{name: values [..., T']}`` (one series, two for ``parabolic``): e.g. ``{"a_y": ...}`` in px/s², with NaN
        where a value is undefined (a missing frame in its window, an impact). ``T'`` depends on the category
        (``T - 2m`` for derivatives over ±m frames, the number of extreme pairs for ``damped_oscillation``).
    """
    scene = _scene(category)
    c = _check_centroids(centroids)
    if not (isinstance(dt, (int, float)) and dt > 0):
        raise ValueError(f"dt must be a positive number of seconds, got {dt!r}")
    info = {**scene.scene_info(_check_positive_int("size", size)), **scene_info}
    return scene.measure(c, float(dt), info)


def motion_pis(category: str, centroids: Tensor, dt: float, *, size: int = 64, min_motion: float = 1.0,
               **scene_info) -> Tensor:  # fmt: skip
    """NewtonGen's Physical Invariance Score of each video's invariant (:func:`motion_invariants`), ``[...]`` in [0, 1];
    for ``parabolic`` the mean of the PIS of ``v_x`` and of ``a_y``.

    A video scores 0 when its body is missing (NaN centroid) in any frame, when its invariant has fewer than two
    finite samples, or when the body never moves more than ``min_motion`` px from where it starts (a frozen video
    keeps every quantity constant).
    """
    c = _check_centroids(centroids)
    series = motion_invariants(category, c, dt, size=size, **scene_info)
    scores = torch.stack([physical_invariance_score(v) for v in series.values()]).mean(0)
    missing = torch.isnan(c).any(-1).any(-1)
    moved = (c - c[..., :1, :]).norm(dim=-1).nan_to_num(0.0).amax(-1) > min_motion
    return torch.where(missing | ~moved | torch.isnan(scores), torch.zeros_like(scores), scores)


def _as_frames(frames) -> Tensor:
    if isinstance(frames, np.ndarray):
        frames = torch.from_numpy(frames)
    if not isinstance(frames, Tensor) or frames.dtype != torch.uint8 or frames.dim() != 5 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 [E, T, H, W, 3], got {_describe(frames)}")
    if frames.shape[-2] != frames.shape[-3]:
        raise ValueError(f"frames must be square (the suite's cameras), got {frames.shape[-3]}x{frames.shape[-2]}")
    return frames


def evaluate_motion(
    frames,
    category: str,
    color,
    dt: float,
    *,
    reference_masks=None,
    tolerance: float = 100.0,
    min_motion: float = 1.0,
) -> dict[str, object]:
    """Score videos of ``category`` (generated by a world model, or the simulator's own) on its physics.

    The body is segmented by ``color`` (:func:`~worldsim.metrics.color_mask`) in every frame.

    Args:
        frames: uint8 ``[E, T, H, W, 3]`` (torch or numpy), sampled every ``dt`` seconds.
        category: one of :data:`MOTION_CATEGORIES`.
        color: the body's RGB (0-255), e.g. :attr:`MotionClips.color`.
        dt: frame time [s].
        reference_masks: optional bool ``[E, T, H, W]`` ground-truth masks (:attr:`MotionClips.body_masks`) of the
            same episodes, for the centroid-trajectory error.
        tolerance: color distance (0-255 RGB) within which a pixel belongs to the body.
        min_motion: see :func:`motion_pis` [px].

    Returns:
        A dict: ``pis`` (mean over videos), ``pis_per_video`` [E], ``found_fraction`` (frames in which the body is
        found, over all), ``area_drift`` (mean over videos of :func:`~worldsim.metrics.area_drift`, over the frames
        where the body is found), and with ``reference_masks`` ``centroid_error`` (mean distance [px] between the
        found and the true centroids, over frames where both exist; NaN if there are none) and
        ``centroid_error_per_step`` [T].
    """
    frames = _as_frames(frames)
    E, T, H = frames.shape[:3]
    masks = color_mask(frames, color, tolerance)
    centroids = mask_centroids(masks)
    pis = motion_pis(category, centroids, dt, size=H, min_motion=min_motion)
    areas = mask_areas(masks).double()
    found = areas > 0
    drift = []
    for e in range(E):  # drift over the frames where the body is found (a vanished body counts in found_fraction)
        kept = masks[e][found[e]]
        drift.append(float(area_drift(kept)) if len(kept) else float("nan"))
    result: dict[str, object] = {
        "category": category,
        "pis": float(pis.mean()),
        "pis_per_video": pis,
        "found_fraction": float(found.double().mean()),
        "area_drift": float(np.nanmean(drift)) if not np.isnan(drift).all() else float("nan"),
    }
    if reference_masks is not None:
        if isinstance(reference_masks, np.ndarray):
            reference_masks = torch.from_numpy(reference_masks)
        if not isinstance(reference_masks, Tensor) or reference_masks.dtype != torch.bool or \
                tuple(reference_masks.shape) != tuple(frames.shape[:4]):  # fmt: skip
            raise ValueError(f"reference_masks must be bool {list(frames.shape[:4])} (the frames' E, T, H, W), got "
                             f"{_describe(reference_masks)}")  # fmt: skip
        err = (centroids - mask_centroids(reference_masks)).norm(dim=-1)  # [E, T], NaN where either is missing
        ok = torch.isfinite(err)
        result["centroid_error"] = float(err[ok].mean()) if ok.any() else float("nan")
        result["centroid_error_per_step"] = torch.where(ok, err, 0.0).sum(0) / ok.sum(0)
    return result


# ------------------------------------------------------------------------------------------------ recording
def record_motion_suite(
    name: str,
    episodes_per_category: int,
    frames: int,
    *,
    categories=None,
    size: int = 64,
    dt: float = DT,
    seed: int = 0,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Render the suite and write it as one Minari dataset that world-model training reads like a recorded task
    (:func:`worldsim.data.open_dataset`, :class:`~worldsim.data.ClipDataset`, :func:`~worldsim.data.dataset_info`).

    Episodes are numbered category by category (in :data:`MOTION_CATEGORIES` order). Each has the recorder's
    layout (see :mod:`worldsim.data.recording`) with T = ``frames`` observations and T-1 transitions:
    ``observations`` = {``pixels`` uint8 [T, H, W, 3], ``state`` float32 [T, 7] (the colored body's world position
    [m] and quaternion), ``depth`` float32 [T, H, W], ``body_id`` int16 [T, H, W]}; ``actions`` float32 zeros
    [T-1, 1] in ``Box(-1, 1, (1,))`` (the motion is passive); rewards 0; the last step truncated; and
    ``infos`` = {``category`` int64 [T] (index into :data:`MOTION_CATEGORIES`), ``body`` int64 [T] (the colored
    body's id in ``body_id``)}. ``worldsim.json`` beside it holds ``task`` = :data:`MOTION_TASK`, ``dt``, ``size``,
    ``categories``, ``episode_categories`` (the category of each episode id, so held-out episodes can be scored per
    category), ``colors`` (RGB 0-255 per category) and ``scene_info`` per category.

    Args:
        name: a Minari dataset id or a directory (see :func:`worldsim.data.dataset_path`).
        episodes_per_category, frames, categories, size, dt, seed: see :func:`render_motion_suite`.
        overwrite: replace an existing dataset of that name (atomically).
        progress: show a tqdm progress bar over the categories.

    Returns:
        The dataset's directory.

    Raises:
        ValueError: bad arguments. FileExistsError: the dataset exists and ``overwrite`` is False (checked before
        anything is rendered).
    """
    import minari
    from gymnasium import spaces
    from minari.data_collector import EpisodeBuffer
    from tqdm import tqdm

    from ..data.recording import INFO_FILE, observation_space
    from ..data.storage import dataset_path, write_atomically

    cats = _check_categories(categories)
    E = _check_positive_int("episodes_per_category", episodes_per_category)
    T = _check_positive_int("frames", frames)
    size = _check_positive_int("size", size)
    _check_clip(T, dt)
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string (a Minari id or a directory), got {name!r}")
    if dataset_path(name).exists() and not overwrite:
        raise FileExistsError(f"dataset {name!r} already exists at {dataset_path(name)}; pick another name or pass "
                              "overwrite")  # fmt: skip

    buffers: list[EpisodeBuffer] = []
    episode_categories: list[str] = []
    colors, infos, nbody = {}, {}, 1
    for c in tqdm(cats, desc="rendering the motion suite", unit="category", disable=not progress):
        clips = render_motion_suite(c, episodes_per_category=E, frames=T, size=size, dt=dt, seed=seed)[c]
        colors[c], infos[c] = list(clips.color), clips.scene_info
        nbody = max(nbody, int(clips.body_id.max()) + 1, clips.body + 1)
        cat_index = np.full(T, MOTION_CATEGORIES.index(c), np.int64)
        for e in range(E):
            obs = {"pixels": clips.frames[e].numpy(), "state": clips.body_pose[e].numpy(),
                   "depth": clips.depth[e].numpy(), "body_id": clips.body_id[e].numpy()}  # fmt: skip
            trunc = np.zeros(T - 1, bool)
            trunc[-1] = True
            buffers.append(EpisodeBuffer(
                id=len(buffers), seed=seed, observations=obs, actions=np.zeros((T - 1, 1), np.float32),
                rewards=np.zeros(T - 1, np.float64), terminations=np.zeros(T - 1, bool), truncations=trunc,
                infos={"category": cat_index.copy(), "body": np.full(T, clips.body, np.int64)},
            ))  # fmt: skip
            episode_categories.append(c)
        del clips

    action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
    obs_space = observation_space(spaces.Box(-np.inf, np.inf, (7,), np.float32), size, nbody)
    description = (f"worldsim motion suite: {', '.join(cats)}; {E} episodes per category of {T} frames at {size}x{size}"
                   f", dt {dt} s; passive motion (zero actions)")  # fmt: skip

    def build(dataset_id: str):
        with warnings.catch_warnings():  # Minari warns about missing author, code permalink and env spec
            warnings.simplefilter("ignore", UserWarning)
            return minari.create_dataset_from_buffers(
                dataset_id, buffers, observation_space=obs_space, action_space=action_space,
                algorithm_name="worldsim motion suite (passive)", description=description, jpeg_encoding=False,
            )  # fmt: skip

    info = {"task": MOTION_TASK, "env_id": None, "policy": "passive", "size": size, "steps": T - 1,
            "episodes": len(buffers), "seed": seed, "randomization": "per-episode initial state and parameters",
            "action_repeat": 1, "dt": float(dt), "categories": list(cats), "episode_categories": episode_categories,
            "colors": colors, "scene_info": {c: {k: list(v) if isinstance(v, tuple) else v for k, v in i.items()}
                                             for c, i in infos.items()}}  # fmt: skip
    return Path(write_atomically(name, build, files={INFO_FILE: json.dumps(info, indent=2)}, overwrite=overwrite))
