"""MJCF import: compile with the ``mujoco`` package, check what worldsim supports, build a :class:`Model`.

Parsing and compiling is MuJoCo's (defaults, classes, ``fromto``, inertia from geoms, meshes' convex hulls, ...);
worldsim reads the compiled ``MjModel`` arrays. Anything in the file that worldsim does not simulate raises one
:class:`MJCFError` listing every such element and attribute: nothing is skipped silently.
"""

from __future__ import annotations

import os

import mujoco
import numpy as np
import torch
import warp as wp

from .collision.pairs import build_pairs
from .constants import build_constants, to_warp
from .model import ENABLE_FLAGS, Model, Options, resolve_device
from .sensors import SENSOR_CONSTANT_SPECS, sensor_constants
from .support import MJCFError, check_supported
from .types import vec5

__all__ = ["MJCFError", "from_mjmodel", "load_mjcf"]

_ROWS_PER_CONTACT = {"pyramidal": {1: 1, 3: 4, 4: 6, 6: 10}, "elliptic": {1: 1, 3: 3, 4: 4, 6: 6}}


def load_mjcf(
    path: str | os.PathLike,
    *,
    num_worlds: int = 1,
    device: str | torch.device | None = None,
    requires_grad: bool = False,
    substeps: int = 1,
    nconmax: int | None = None,
) -> Model:
    """Load an MJCF file as a batched :class:`Model` of ``num_worlds`` identical worlds.

    Args:
        path: MJCF (MuJoCo XML) file.
        num_worlds: N, the number of worlds simulated side by side [1, ∞).
        device: ``"cpu"`` (default) or ``"cuda[:i]"``.
        requires_grad: make the model's parameter tensors (``get_params()``) leaves that require grad.
        substeps: integrator substeps per ``timestep`` (1 reproduces MuJoCo).
        nconmax: contacts per world that enter the constraint solver (default: every contact slot the model has,
            up to 256); contacts beyond it are dropped and counted.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: bad arguments, or (as :class:`MJCFError`) everything in the file worldsim does not simulate.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"MJCF file not found: {path}")
    try:
        mjm = mujoco.MjModel.from_xml_path(path)
    except ValueError as e:  # mujoco reports XML and compile errors as ValueError
        raise MJCFError(f"MuJoCo could not compile {path}: {e}") from None
    check_supported(mjm, path)
    return from_mjmodel(mjm, num_worlds=num_worlds, device=device, requires_grad=requires_grad, substeps=substeps,
                        nconmax=nconmax)  # fmt: skip


def _options(mjm: mujoco.MjModel) -> Options:
    o = mjm.opt
    disabled = frozenset(k.removeprefix("mjDSBL_").lower() for k, v in mujoco.mjtDisableBit.__members__.items()
                         if k != "mjNDISABLE" and o.disableflags & int(v))  # fmt: skip
    enabled = frozenset(k.removeprefix("mjENBL_").lower() for k, v in mujoco.mjtEnableBit.__members__.items()
                        if k != "mjNENABLE" and o.enableflags & int(v))  # fmt: skip
    assert enabled <= ENABLE_FLAGS
    return Options(
        timestep=float(o.timestep),
        integrator="RK4" if int(o.integrator) == int(mujoco.mjtIntegrator.mjINT_RK4) else "Euler",
        cone="elliptic" if int(o.cone) == int(mujoco.mjtCone.mjCONE_ELLIPTIC) else "pyramidal",
        impratio=float(o.impratio),
        solver=mujoco.mjtSolver(o.solver).name.removeprefix("mjSOL_").capitalize(),
        iterations=int(o.iterations),
        tolerance=float(o.tolerance),
        ls_iterations=int(o.ls_iterations),
        noslip_iterations=int(o.noslip_iterations),
        noslip_tolerance=float(o.noslip_tolerance),
        density=float(o.density),
        viscosity=float(o.viscosity),
        wind=tuple(float(x) for x in o.wind),
        magnetic=tuple(float(x) for x in o.magnetic),
        disabled=disabled,
        enabled=enabled,
    )


def from_mjmodel(
    mjm: mujoco.MjModel,
    *,
    num_worlds: int = 1,
    device: str | torch.device | None = None,
    requires_grad: bool = False,
    substeps: int = 1,
    nconmax: int | None = None,
) -> Model:
    """Build a :class:`Model` from a compiled ``mujoco.MjModel`` (see :func:`load_mjcf`)."""
    if not isinstance(num_worlds, (int, np.integer)) or num_worlds < 1:
        raise ValueError(f"num_worlds must be a positive integer, got {num_worlds!r}")
    if not isinstance(substeps, (int, np.integer)) or substeps < 1:
        raise ValueError(f"substeps must be a positive integer, got {substeps!r}")
    if nconmax is not None and (not isinstance(nconmax, (int, np.integer)) or nconmax < 0):
        raise ValueError(f"nconmax must be a non-negative integer or None, got {nconmax!r}")
    check_supported(mjm)
    tdev, wdev = resolve_device(device)
    opt = _options(mjm)
    on = opt.is_enabled

    m = Model()
    m.mj_model = mjm
    m.opt = opt
    m.num_worlds = int(num_worlds)
    m.device, m.wp_device = tdev, wdev
    m.requires_grad = bool(requires_grad)
    m.substeps = int(substeps)
    m.nq, m.nv, m.nu, m.na = mjm.nq, mjm.nv, mjm.nu, mjm.na
    m.nbody, m.njnt, m.ngeom, m.nsite = mjm.nbody, mjm.njnt, mjm.ngeom, mjm.nsite
    m.ntendon, m.nwrap, m.neq = mjm.ntendon, mjm.nwrap, mjm.neq
    m.nsensor, m.nsensordata = mjm.nsensor, mjm.nsensordata
    m.nmesh, m.nhfield = mjm.nmesh, mjm.nhfield
    m.nframe = int(mjm.nbody + mjm.njnt)
    m.meaninertia = float(mjm.stat.meaninertia) if mjm.stat.meaninertia > 0 else 1.0
    m.names = {
        kind: [mujoco.mj_id2name(mjm, obj, i) or "" for i in range(count)]
        for kind, obj, count in [
            ("body", mujoco.mjtObj.mjOBJ_BODY, mjm.nbody),
            ("joint", mujoco.mjtObj.mjOBJ_JOINT, mjm.njnt),
            ("geom", mujoco.mjtObj.mjOBJ_GEOM, mjm.ngeom),
            ("site", mujoco.mjtObj.mjOBJ_SITE, mjm.nsite),
            ("tendon", mujoco.mjtObj.mjOBJ_TENDON, mjm.ntendon),
            ("actuator", mujoco.mjtObj.mjOBJ_ACTUATOR, mjm.nu),
            ("sensor", mujoco.mjtObj.mjOBJ_SENSOR, mjm.nsensor),
        ]
    }
    m.qpos0 = torch.as_tensor(mjm.qpos0, dtype=torch.float32)

    # ---- contact override (<flag override="enable"/>: MuJoCo's o_margin, o_solref, o_solimp, o_friction)
    override = on("override")
    o = mjm.opt
    m.override = {
        "override": int(override),
        "o_solref": wp.vec2(*o.o_solref),
        "o_solimp": vec5(*o.o_solimp),
        "o_friction": vec5(o.o_friction[0], o.o_friction[0], o.o_friction[1], o.o_friction[2], o.o_friction[2]),
    }

    # ---- collision pairs and the constraint layout
    contact_on = on("contact") and on("constraint")
    pairs = build_pairs(mjm, contact=contact_on, filterparent=on("filterparent"),
                        override_margin=float(o.o_margin) if override else None)  # fmt: skip
    values = build_constants(mjm, opt, pairs)
    m.npair, m.nslot = pairs.npair, pairs.nslot
    default_nconmax = min(m.nslot, 256)
    m.nconmax = default_nconmax if nconmax is None else min(int(nconmax), m.nslot)
    rows_per_contact = max([_ROWS_PER_CONTACT[opt.cone][int(c)] for c in pairs.condim] or [0])
    sizes = {0: 3, 1: 6}  # connect, weld
    m.ne = int(sum(sizes.get(int(mjm.eq_type[e]), 1) for e in range(mjm.neq) if values["eq_efcadr"][e] >= 0))
    m.nf = int(len(values["fri_dof"]) + len(values["fri_ten"]))
    m.nlimit = int(2 * (len(values["limit_jnt"]) + len(values["limit_ten"])))
    m.njmax = int(m.ne + m.nf + m.nlimit + m.nconmax * rows_per_contact)
    noslip = opt.noslip_iterations > 0 and m.njmax > 0
    m.njmax_noslip = m.njmax if noslip else 1
    m.nv_noslip = m.nv if noslip else 1
    m.sizes = {
        "nq": m.nq, "nv": m.nv, "nu": m.nu, "na": m.na, "nbody": m.nbody, "njnt": m.njnt, "ngeom": m.ngeom,
        "nsite": m.nsite, "ntendon": m.ntendon, "neq": m.neq, "nslot": m.nslot, "nconmax": m.nconmax,
        "njmax": m.njmax, "ne": m.ne, "nf_dof": len(values["fri_dof"]), "nf_ten": len(values["fri_ten"]),
        "nlimit_jnt": len(values["limit_jnt"]), "nlimit_ten": len(values["limit_ten"]),
    }  # fmt: skip
    m.const = to_warp(values, wdev)
    m.collider_families = [(kernel, wp.array(np.array(idx, dtype=np.int32), dtype=wp.int32, device=wdev))
                           for kernel, idx in pairs.families]  # fmt: skip
    m.const.update(collider_model_arrays(mjm, wdev))
    m.const.update(to_warp(sensor_constants(mjm), wdev, SENSOR_CONSTANT_SPECS))

    # ---- per-world parameter table: the compiled model's values
    values = {
        "body_mass": mjm.body_mass,
        "body_inertia": mjm.body_inertia,
        "body_ipos": mjm.body_ipos,
        "geom_friction": mjm.geom_friction,
        "geom_solref": mjm.geom_solref,
        "geom_solimp": mjm.geom_solimp,
        "dof_damping": mjm.dof_damping,
        "dof_armature": mjm.dof_armature,
        "actuator_gear": mjm.actuator_gear[:, 0],
        "gravity": mjm.opt.gravity * on("gravity"),
    }
    m._init_params(values)
    return m


def collider_model_arrays(mjm: mujoco.MjModel, device: str) -> dict[str, wp.array]:
    """Model constants that collider families need beyond the common ones (meshes, height fields)."""
    try:
        from .collision.convex import convex_model_arrays
    except ImportError:
        return {}
    return convex_model_arrays(mjm, device)
