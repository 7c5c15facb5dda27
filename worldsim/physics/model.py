"""`Model`: the compiled, batched description of N worlds with one topology and per-world parameters."""

from __future__ import annotations

import numpy as np
import torch
import warp as wp

from .params import PARAM_SPECS


def resolve_device(device: str | torch.device | None) -> tuple[torch.device, str]:
    """Map a user device ("cpu", "cuda", "cuda:1", torch.device, None) to (torch device, Warp device name)."""
    try:
        dev = torch.device("cpu" if device is None else device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be 'cpu' or 'cuda[:i]', got {str(device)!r}") from None
    if dev.type == "cpu":
        return dev, "cpu"
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={str(device)!r} requested but CUDA is not available on this machine")
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        return torch.device("cuda", index), f"cuda:{index}"
    raise ValueError(f"device must be 'cpu' or 'cuda[:i]', got {str(device)!r}")


class Model:
    """N worlds that share a topology, with a per-world parameter table.

    Attributes
    ----------
    nq, nv, nu: sizes of ``qpos``, ``qvel`` and ``ctrl`` (MuJoCo's layout for the same file).
    nbody, ngeom, njnt: body (including the world body 0), geom and joint counts.
    num_worlds: N, the leading dimension of every state and parameter array.
    timestep: integration step [s]; ``substeps`` semi-implicit Euler substeps are taken per step.
    device: the torch device holding states and parameters (Warp runs on the matching device).

    Build one with :func:`worldsim.load_mjcf`. Per-world parameters are read with :meth:`get_params` and
    written with :meth:`set_params`; names and shapes are listed in ``worldsim.physics.PARAM_SPECS``.
    """

    def __init__(self) -> None:  # filled in by the builders (load_mjcf); not meant to be called by users
        self.nq = self.nv = self.nu = self.nbody = self.ngeom = self.njnt = 0
        self.num_worlds = 1
        self.timestep = 0.002
        self.substeps = 1
        self.device = torch.device("cpu")
        self.wp_device = "cpu"
        self.requires_grad = False
        self.names: dict[str, list[str]] = {}
        self.qpos0 = torch.zeros(0)
        self._params: dict[str, torch.Tensor] = {}
        self.nslot = 0
        self.has_limits = False
        self.integrator = "Euler"
        self.flags: dict[str, int] = {}
        self._workspaces: dict = {}

    # ----------------------------------------------------------------- parameters
    def param_shape(self, name: str) -> tuple[int, ...]:
        """Full shape ``[N, ...]`` of parameter ``name``."""
        spec = PARAM_SPECS[name]
        return (self.num_worlds, *(getattr(self, d) if isinstance(d, str) else d for d in spec.shape))

    def get_params(self) -> dict[str, torch.Tensor]:
        """The per-world parameter table, ``{name: tensor [N, ...]}`` (the model's own tensors, not copies).

        With ``requires_grad=True`` at load time they are leaf tensors that require grad, so
        ``loss.backward()`` after :func:`worldsim.rollout` fills their ``.grad``.
        """
        return dict(self._params)

    def set_params(self, **params: torch.Tensor | np.ndarray | float) -> None:
        """Overwrite entries of the parameter table in place.

        Each value must broadcast to the entry's shape ``[N, ...]`` (a per-world tensor, or one value for all
        worlds) and be finite. Unknown names raise ``ValueError``.
        """
        for name, value in params.items():
            target = self._params.get(name)
            if target is None:
                raise ValueError(f"unknown parameter {name!r}; known: {sorted(self._params)}")
            v = torch.as_tensor(value, dtype=torch.float32, device=self.device)
            try:
                v = torch.broadcast_to(v, target.shape)
            except RuntimeError:
                raise ValueError(
                    f"parameter {name!r} has shape {tuple(v.shape)}, expected {tuple(target.shape)} "
                    f"(or a shape that broadcasts to it)"
                ) from None
            if not torch.isfinite(v).all():
                raise ValueError(f"parameter {name!r} contains NaN or inf")
            with torch.no_grad():
                target.copy_(v)

    def _init_params(self, values: dict[str, np.ndarray]) -> None:
        for name in PARAM_SPECS:
            shape = self.param_shape(name)
            t = torch.as_tensor(np.asarray(values[name], dtype=np.float32), device=self.device)
            t = torch.broadcast_to(t, shape).clone().contiguous()
            t.requires_grad_(self.requires_grad)
            self._params[name] = t

    # ----------------------------------------------------------------- states
    def default_state(self) -> tuple[torch.Tensor, torch.Tensor]:
        """MuJoCo's reference configuration ``qpos0`` and zero velocity, as ``[N, nq]``, ``[N, nv]`` tensors."""
        qpos = self.qpos0.to(self.device).expand(self.num_worlds, self.nq).clone()
        return qpos, torch.zeros(self.num_worlds, self.nv, device=self.device)

    def __repr__(self) -> str:
        return (
            f"Model(num_worlds={self.num_worlds}, nq={self.nq}, nv={self.nv}, nu={self.nu}, nbody={self.nbody}, "
            f"ngeom={self.ngeom}, timestep={self.timestep}, device={str(self.device)!r})"
        )


def wp_array(x, dtype, device: str) -> wp.array:
    """Constant (non-differentiable) Warp array from a numpy-convertible value."""
    return wp.array(np.ascontiguousarray(x), dtype=dtype, device=device)
