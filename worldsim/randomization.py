"""Domain randomization: distributions over entries of the per-world parameter table (and a few other knobs),
resampled per world at every reset, and automatic domain randomization (ADR) that widens the ranges while the
policy keeps up.

Example::

    dr = DomainRandomization([
        ParamRandomization("geom_friction", Uniform(0.5, 1.5), mode="scale"),
        ParamRandomization("body_mass", Uniform(0.8, 1.2), mode="scale"),
    ], obs_noise=0.01, action_delay=1)
    envs = gymnasium.make_vec("worldsim/PushBox-v0", num_envs=64, randomization=dr)
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import torch

from .physics.params import PARAM_SPECS
from .physics.restitution import damping_ratio_from_restitution


@dataclass
class Uniform:
    low: float
    high: float

    def sample(self, shape, generator: torch.Generator) -> torch.Tensor:
        return self.low + (self.high - self.low) * torch.rand(shape, generator=generator)

    def widened(self, factor: float, centre: float):
        return Uniform(centre + (self.low - centre) * factor, centre + (self.high - centre) * factor)


@dataclass
class LogUniform:
    low: float
    high: float

    def sample(self, shape, generator: torch.Generator) -> torch.Tensor:
        lo, hi = math.log(self.low), math.log(self.high)
        return torch.exp(lo + (hi - lo) * torch.rand(shape, generator=generator))

    def widened(self, factor: float, centre: float):
        c = math.log(centre)
        return LogUniform(
            math.exp(c + (math.log(self.low) - c) * factor), math.exp(c + (math.log(self.high) - c) * factor)
        )


@dataclass
class Normal:
    mean: float
    std: float

    def sample(self, shape, generator: torch.Generator) -> torch.Tensor:
        return self.mean + self.std * torch.randn(shape, generator=generator)

    def widened(self, factor: float, centre: float):
        return Normal(self.mean, self.std * factor)


@dataclass
class Choice:
    values: tuple

    def sample(self, shape, generator: torch.Generator) -> torch.Tensor:
        idx = torch.randint(len(self.values), shape, generator=generator)
        return torch.as_tensor(self.values, dtype=torch.float32)[idx]

    def widened(self, factor: float, centre: float):
        return self


MODES = ("scale", "add", "set")


def _centre(dist, mode: str) -> float:
    """The value a distribution's range is widened or narrowed about: no change for scale/add, its middle for set."""
    if mode == "scale":
        return 1.0
    if mode == "add":
        return 0.0
    if isinstance(dist, Uniform):
        return 0.5 * (dist.low + dist.high)
    if isinstance(dist, LogUniform):
        return math.sqrt(dist.low * dist.high)
    return dist.mean if isinstance(dist, Normal) else 0.0


@dataclass
class ParamRandomization:
    """Randomize parameter ``name`` (an entry of ``model.get_params()``): each world's nominal value is scaled
    by, added to, or set to a draw of ``dist`` (one draw per element of the entry).

    ``index`` restricts it to some elements: an index into the entry without its world dim (``(1,)`` for
    ``body_mass`` of body 1, ``(slice(None), 0)`` for every geom's sliding friction); ``shared=True`` gives all
    the selected elements of a world one draw (a tied parameter, as :mod:`worldsim.sysid` fits them)."""

    name: str
    dist: Uniform | LogUniform | Normal | Choice
    mode: str = "scale"
    index: tuple | None = None
    shared: bool = False

    def __post_init__(self):
        if self.name not in PARAM_SPECS:
            raise ValueError(f"unknown parameter {self.name!r}; known: {sorted(PARAM_SPECS)}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.index is not None and not isinstance(self.index, tuple):
            raise ValueError(f"index must be a tuple (an index into the entry without the world dim), got "
                             f"{self.index!r}")  # fmt: skip

    def apply(self, base: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """New values [k, ...] from the current ones ``base`` [k, ...] (k worlds)."""
        index = (slice(None),) + (self.index or ())
        try:
            current = base[index]
        except IndexError as e:
            raise ValueError(f"index {self.index} does not fit {self.name} of shape {list(base.shape[1:])}") from e
        shape = (current.shape[0],) + (1,) * (current.ndim - 1) if self.shared else current.shape
        draw = self.dist.sample(shape, generator).to(base)
        new = current * draw if self.mode == "scale" else current + draw if self.mode == "add" else draw
        out = base.clone()
        out[index] = new.expand(current.shape) if self.shared else new
        return out


@dataclass
class DomainRandomization:
    """What to randomize, resampled per world at every reset. The values each world got are reported in
    ``info["randomization"]`` (name → array [N, ...]).

    Args:
        params: parameter-table randomizations.
        obs_noise: standard deviation of Gaussian noise added to state observations.
        action_delay: actions reach the simulator this many steps late (0: none).
        actuator_strength: a distribution scaling ``actuator_gear`` per world (motor strength).
        gravity_tilt: gravity's direction tilted by up to this angle [rad], uniformly over directions.
        com_offset: each body's centre of mass shifted by U(−com_offset, com_offset) per axis [m].
        color_jitter: splat colors multiplied per world and channel by U(1 − color_jitter, 1 + color_jitter).
        light_gain: a distribution of an overall brightness gain per world (lighting as a color gain).
        background: a distribution of each background channel per world (None: the task's sky color).
        camera_jitter: camera position moved by U(−camera_jitter, camera_jitter) per axis [m].
        fov_jitter: vertical field of view changed by U(−fov_jitter, fov_jitter) [degrees].
        restitution: a distribution of the coefficient of restitution per world (one draw per world, clipped to
            [0, 1]): every geom's contact damping ratio ``geom_solref[:, :, 1]`` is set to the ratio whose linear
            spring-damper contact rebounds with it (:func:`worldsim.physics.damping_ratio_from_restitution`;
            e = 0 gives 1, no bounce). Geoms in MuJoCo's direct (negative) solref form are left as they are.
    """

    params: list[ParamRandomization] = field(default_factory=list)
    obs_noise: float = 0.0
    action_delay: int = 0
    actuator_strength: Uniform | LogUniform | Normal | None = None
    gravity_tilt: float = 0.0
    com_offset: float = 0.0
    color_jitter: float = 0.0
    light_gain: Uniform | LogUniform | Normal | None = None
    background: Uniform | None = None
    camera_jitter: float = 0.0
    fov_jitter: float = 0.0
    restitution: Uniform | LogUniform | Normal | None = None

    def __post_init__(self):
        for name in ("obs_noise", "gravity_tilt", "com_offset", "color_jitter", "camera_jitter", "fov_jitter"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not isinstance(self.action_delay, int) or self.action_delay < 0:
            raise ValueError(f"action_delay must be a non-negative integer, got {self.action_delay!r}")
        if self.restitution is not None and not isinstance(self.restitution, (Uniform, LogUniform, Normal)):
            raise ValueError(f"restitution must be a Uniform, LogUniform or Normal, got {self.restitution!r}")
        bounds = (self.restitution.low, self.restitution.high) if hasattr(self.restitution, "low") else (0, 1)
        if not 0 <= bounds[0] <= bounds[1] <= 1:
            raise ValueError(f"restitution bounds must satisfy 0 <= low <= high <= 1, got {self.restitution!r}")

    def sample(self, nominal: dict[str, torch.Tensor], worlds: torch.Tensor, generator: torch.Generator):
        """New parameter values for ``worlds`` from the model's nominal table; returns {name: tensor [k, ...]} for
        every entry it changes."""
        k = len(worlds)
        out: dict[str, torch.Tensor] = {}

        def current(name):
            return out[name] if name in out else nominal[name][worlds].clone()

        for p in self.params:
            out[p.name] = p.apply(current(p.name), generator)
        if self.actuator_strength is not None:
            base = current("actuator_gear")
            out["actuator_gear"] = base * self.actuator_strength.sample(base.shape, generator).to(base)
        if self.gravity_tilt > 0:
            g = current("gravity")
            tilt = self.gravity_tilt * torch.sqrt(torch.rand(k, generator=generator))
            azimuth = 2 * math.pi * torch.rand(k, generator=generator)
            axis = torch.stack([torch.cos(azimuth), torch.sin(azimuth), torch.zeros(k)], dim=1).to(g)
            # rotate g about a horizontal axis by the tilt (Rodrigues)
            c, s = torch.cos(tilt)[:, None].to(g), torch.sin(tilt)[:, None].to(g)
            out["gravity"] = g * c + torch.linalg.cross(axis, g) * s + axis * (axis * g).sum(1, keepdim=True) * (1 - c)
        if self.com_offset > 0:
            base = current("body_ipos")
            out["body_ipos"] = base + (2 * torch.rand(base.shape, generator=generator) - 1).to(base) * self.com_offset
        if self.restitution is not None:
            base = current("geom_solref")
            e = self.restitution.sample((k,), generator).clamp(0.0, 1.0)
            zeta = damping_ratio_from_restitution(e.double()).to(base)[:, None].expand(k, base.shape[1])
            out["geom_solref"] = base.clone()
            out["geom_solref"][..., 1] = torch.where(base[..., 0] > 0, zeta, base[..., 1])
        return out

    def sample_visual(self, count: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """Per-world visual draws: ``color_gain`` [k, 3], ``background`` [k, 3] (NaN: task default),
        ``camera_offset`` [k, 3] (m), ``fov_offset`` [k] (degrees)."""
        gain = 1.0 + self.color_jitter * (2 * torch.rand(count, 3, generator=generator) - 1)
        if self.light_gain is not None:
            gain = gain * self.light_gain.sample((count, 1), generator)
        bg = self.background.sample((count, 3), generator) if self.background else torch.full((count, 3), float("nan"))
        return {
            "color_gain": gain,
            "background": bg,
            "camera_offset": self.camera_jitter * (2 * torch.rand(count, 3, generator=generator) - 1),
            "fov_offset": self.fov_jitter * (2 * torch.rand(count, generator=generator) - 1),
        }


def default_randomization(task) -> DomainRandomization:
    """The preset of a task, as in the sim-to-real literature: friction ×U(0.5, 1.5), mass ×U(0.8, 1.2), joint
    damping ×U(0.8, 1.2), motor strength ×U(0.8, 1.2), a 0.01 observation noise, and the task's gravity tilt
    (:attr:`worldsim.envs.task.Task.dr_gravity_tilt_deg`: 2° for the locomotion tasks, 0 elsewhere).

    ``task``: a task name (``"HalfCheetah"``), a :class:`~worldsim.envs.task.Task` subclass or instance."""
    if isinstance(task, str):
        from .envs.tasks import TASKS

        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; known: {sorted(TASKS)}")
        task = TASKS[task]
    tilt_deg = getattr(task, "dr_gravity_tilt_deg", None)
    if tilt_deg is None:
        raise ValueError(f"default_randomization needs a task name or Task, got {type(task).__name__}")
    params = [
        ParamRandomization("geom_friction", Uniform(0.5, 1.5)),
        ParamRandomization("body_mass", Uniform(0.8, 1.2)),
        ParamRandomization("dof_damping", Uniform(0.8, 1.2)),
    ]
    tilt = math.radians(tilt_deg)
    return DomainRandomization(params, obs_noise=0.01, actuator_strength=Uniform(0.8, 1.2), gravity_tilt=tilt)


class AutomaticDomainRandomization:
    """ADR: every distribution's range is widened by (1 + alpha) about its nominal centre when the recent mean
    return exceeds ``high``, and narrowed by 1/(1 + alpha) when it falls below ``low``.

    ``ranges()`` shows the current distributions; ``state_dict()`` / ``load_state_dict()`` save them with a
    checkpoint.
    """

    def __init__(self, base: DomainRandomization, *, alpha: float = 0.1, high: float, low: float,
                 initial_scale: float = 0.1, max_scale: float = 3.0):  # fmt: skip
        if not alpha > 0 or not high > low:
            raise ValueError("ADR needs alpha > 0 and high > low")
        self.base, self.alpha, self.high, self.low, self.max_scale = base, alpha, high, low, max_scale
        self.scale = initial_scale
        self.current = self._build()

    def _build(self) -> DomainRandomization:
        dr = copy.deepcopy(self.base)
        for p in dr.params:
            p.dist = p.dist.widened(self.scale, _centre(p.dist, p.mode))
        if dr.actuator_strength is not None:
            dr.actuator_strength = dr.actuator_strength.widened(self.scale, 1.0)
        dr.gravity_tilt *= self.scale
        dr.com_offset *= self.scale
        dr.obs_noise *= self.scale
        return dr

    def update(self, mean_return: float) -> float:
        """Adjust the ranges from a recent mean return; returns the new scale (1 = the base ranges)."""
        if mean_return > self.high:
            self.scale = min(self.scale * (1 + self.alpha), self.max_scale)
        elif mean_return < self.low:
            self.scale = self.scale / (1 + self.alpha)
        self.current = self._build()
        return self.scale

    def ranges(self) -> dict:
        return {p.name: p.dist for p in self.current.params} | {"scale": self.scale}

    def state_dict(self) -> dict:
        return {"scale": self.scale, "alpha": self.alpha, "high": self.high, "low": self.low}

    def load_state_dict(self, state: dict) -> None:
        self.scale, self.alpha, self.high, self.low = state["scale"], state["alpha"], state["high"], state["low"]
        self.current = self._build()
