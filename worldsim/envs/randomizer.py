"""`WorldRandomizer`: applies an env's domain randomization to the worlds being reset (physics parameters in the
model's parameter table, visual factors for the pixel camera) and reports the values for ``info``."""

from __future__ import annotations

import torch

from ..randomization import AutomaticDomainRandomization, DomainRandomization, default_randomization
from .task import Task


class WorldRandomizer:
    """Holds the randomization of one env (None, ``"default"``, a :class:`DomainRandomization` or an
    :class:`AutomaticDomainRandomization`), the model's nominal parameters it scales from, and the per-world
    visual factors (identity without randomization).

    Attributes:
        nominal: the parameter table at construction (name -> tensor [N, ...]), never modified.
        visual: per-world ``color_gain`` [N, 3], ``background`` [N, 3] (NaN: the default sky),
            ``camera_offset`` [N, 3] (m), ``fov_offset`` [N] (degrees).
    """

    def __init__(self, task: Task, randomization):
        if isinstance(randomization, str):
            if randomization != "default":
                raise ValueError(f"randomization must be None, 'default' or a DomainRandomization, got "
                                 f"{randomization!r}")  # fmt: skip
            randomization = default_randomization(task)
        if randomization is not None and not isinstance(randomization, (DomainRandomization,
                                                                         AutomaticDomainRandomization)):  # fmt: skip
            raise ValueError(f"randomization must be None, 'default', a DomainRandomization or an "
                             f"AutomaticDomainRandomization, got {type(randomization).__name__}")  # fmt: skip
        self.task = task
        self.randomization = randomization
        self.nominal = {k: v.detach().clone() for k, v in task.model.get_params().items()}
        n = task.num_worlds
        self.visual = {
            "color_gain": torch.ones(n, 3), "background": torch.full((n, 3), float("nan")),
            "camera_offset": torch.zeros(n, 3), "fov_offset": torch.zeros(n),
        }  # fmt: skip

    def current(self) -> DomainRandomization | None:
        """The distributions in force now (ADR's current ranges), or None."""
        r = self.randomization
        return r.current if isinstance(r, AutomaticDomainRandomization) else r

    @property
    def action_delay(self) -> int:
        dr = self.current()
        return dr.action_delay if dr is not None else 0

    @property
    def obs_noise(self) -> float:
        dr = self.current()
        return dr.obs_noise if dr is not None else 0.0

    def apply(self, worlds: torch.Tensor, generator: torch.Generator) -> None:
        """Resample the physics parameters and visual factors of ``worlds`` (int tensor [k])."""
        dr = self.current()
        if dr is None or not len(worlds):
            return
        values = dr.sample(self.nominal, worlds, generator)
        params = self.task.model.get_params()
        with torch.no_grad():
            for name, v in values.items():
                params[name][worlds.to(params[name].device)] = v.to(params[name])
        for name, v in dr.sample_visual(len(worlds), generator).items():
            self.visual[name][worlds] = v

    def info(self, with_visual: bool) -> dict:
        """``{"randomization": {name: array [N, ...]}}`` with every randomized parameter (and the visual factors
        when ``with_visual``), or ``{}`` without randomization."""
        dr = self.current()
        if dr is None:
            return {}
        names = {p.name for p in dr.params}
        names |= {"actuator_gear"} if dr.actuator_strength is not None else set()
        names |= {"gravity"} if dr.gravity_tilt > 0 else set()
        names |= {"body_ipos"} if dr.com_offset > 0 else set()
        params = self.task.model.get_params()
        out = {n: params[n].detach().cpu().numpy().copy() for n in sorted(names)}
        if with_visual:
            out.update({f"visual_{k}": v.numpy().copy() for k, v in self.visual.items()})
        return {"randomization": out}
