"""`Model`: the compiled, batched description of N worlds with one topology and per-world parameters."""

from __future__ import annotations

from dataclasses import dataclass, field

import mujoco
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


@dataclass
class Options:
    """Simulation options, as MuJoCo's ``<option>`` (``mjOption``) for the same file.

    ``solver`` records the file's choice; worldsim solves the same convex problem with Newton's method whatever it
    says (MuJoCo's PGS and CG converge to the same optimum). ``disabled``/``enabled`` hold MuJoCo's flag names
    (``"contact"``, ``"energy"``, ...) that the file turned off/on.
    """

    timestep: float = 0.002
    integrator: str = "Euler"  # "Euler" or "RK4"
    cone: str = "pyramidal"  # "pyramidal" or "elliptic"
    impratio: float = 1.0
    solver: str = "Newton"
    iterations: int = 100
    tolerance: float = 1e-8
    ls_iterations: int = 50
    noslip_iterations: int = 0
    noslip_tolerance: float = 1e-6
    density: float = 0.0
    viscosity: float = 0.0
    wind: tuple = (0.0, 0.0, 0.0)
    magnetic: tuple = (0.0, -0.5, 0.0)
    disabled: frozenset = field(default_factory=frozenset)
    enabled: frozenset = field(default_factory=frozenset)

    def is_enabled(self, flag: str) -> bool:
        """Whether a MuJoCo feature flag is in effect: a disable flag (``"contact"``, ``"gravity"``, ...) not
        disabled, or an enable flag (``"energy"``, ``"override"``) enabled."""
        return flag in self.enabled if flag in ENABLE_FLAGS else flag not in self.disabled


#: MuJoCo's enable flags (off by default); every other flag name is a disable flag (on by default).
ENABLE_FLAGS = frozenset(k.removeprefix("mjENBL_").lower() for k in mujoco.mjtEnableBit.__members__
                         if k != "mjNENABLE")  # fmt: skip


class Model:
    """N worlds that share a topology, with a per-world parameter table.

    Sizes (MuJoCo's names): ``nq, nv, nu, na`` (positions, velocities, controls, actuator activations), ``nbody``
    (with the world body 0), ``njnt, ngeom, nsite, ntendon, neq, nsensor, nsensordata``; ``num_worlds`` N.

    Constraint capacity per world: ``nconmax`` contacts and ``njmax`` constraint rows (MuJoCo's names). Contacts
    beyond ``nconmax`` in a world are dropped and counted (see :class:`worldsim.Simulator`).

    ``const`` holds the model's constant arrays on the device, named as ``mujoco.MjModel`` fields (plus worldsim's
    collision pair tables); every name, dtype and meaning is listed in
    :data:`worldsim.physics.constants.CONSTANT_SPECS`.
    Per-world parameters are read with :meth:`get_params` and written with :meth:`set_params`; names and shapes
    are listed in ``worldsim.physics.PARAM_SPECS``.

    Build one with :func:`worldsim.load_mjcf` or :class:`worldsim.ModelBuilder`.
    """

    # sizes
    nq: int
    nv: int
    nu: int
    na: int
    nbody: int
    njnt: int
    ngeom: int
    nsite: int
    ntendon: int
    nwrap: int
    neq: int
    nsensor: int
    nsensordata: int
    nmesh: int
    nhfield: int
    nframe: int  # body frames plus one frame after each joint (forward kinematics)
    # collision and constraint layout
    npair: int  # candidate geom pairs
    nslot: int  # contact slots (each pair owns a fixed run of them)
    nconmax: int  # contacts per world that enter the constraint solver
    ne: int  # equality constraint rows
    nf: int  # friction-loss rows
    nlimit: int  # joint and tendon limit candidates
    njmax: int  # constraint rows per world
    njmax_noslip: int  # njmax when the noslip solver runs, else 1 (its scratch arrays are sized by these)
    nv_noslip: int
    collider_families: list  # [(kernel, family_pairs wp.array)] one per collider kernel the model needs
    # everything else
    num_worlds: int
    opt: Options
    substeps: int
    device: torch.device
    wp_device: str
    requires_grad: bool
    names: dict[str, list[str]]
    qpos0: torch.Tensor
    mj_model: mujoco.MjModel
    const: dict[str, wp.array]
    sizes: dict[str, int]  # every size above by name, the scalars kernels take
    #: compute the constraint forces (efc_force, qfrc_constraint) at every step even when nothing in the step needs
    #: them (set before making a Simulator; see Simulator.data)
    want_constraint_forces: bool = False
    #: also compute the per-body external and internal forces (cfrc_ext, cfrc_int) and subtree centres of mass, as
    #: MuJoCo's mj_rnePostConstraint does (gymnasium calls it after every mj_step)
    want_body_forces: bool = False
    meaninertia: float  # MuJoCo's mean diagonal inertia at qpos0 (scales the solver's tolerance)
    override: dict  # MuJoCo's contact override (<flag override>): flag and o_solref, o_solimp, o_friction

    def __init__(self) -> None:  # filled in by worldsim.physics.mjcf.from_mjmodel; not meant to be called by users
        self._params: dict[str, torch.Tensor] = {}
        self._workspaces: dict = {}

    @property
    def timestep(self) -> float:
        """Integration step [s] (MuJoCo's ``opt.timestep``); ``substeps`` steps of timestep/substeps are taken."""
        return self.opt.timestep

    @property
    def integrator(self) -> str:
        """``"Euler"`` (MuJoCo's semi-implicit Euler) or ``"RK4"``."""
        return self.opt.integrator

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
