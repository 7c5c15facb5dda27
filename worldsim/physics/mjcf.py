"""MJCF import: compile with the ``mujoco`` package, check what worldsim supports, build a :class:`Model`.

Parsing and compiling is MuJoCo's (defaults, classes, ``fromto``, inertia from geoms, ...); worldsim reads the
compiled ``MjModel`` arrays. Anything in the file that worldsim does not simulate raises a ``ValueError`` naming
the element and attribute: nothing is skipped silently.
"""

from __future__ import annotations

import os

import mujoco
import numpy as np
import torch
import warp as wp

from .contact import build_contact_slots
from .model import Model, resolve_device, wp_array
from .params import CONTACT_DEFAULTS, JOINT_LIMIT_DEFAULTS

_GEOM_NAMES = {int(v): k.removeprefix("mjGEOM_").lower() for k, v in mujoco.mjtGeom.__members__.items()}
SUPPORTED_GEOMS = tuple(int(t) for t in (mujoco.mjtGeom.mjGEOM_PLANE, mujoco.mjtGeom.mjGEOM_SPHERE,
                                         mujoco.mjtGeom.mjGEOM_CAPSULE, mujoco.mjtGeom.mjGEOM_BOX,
                                         mujoco.mjtGeom.mjGEOM_CYLINDER))  # fmt: skip


def _name(m: mujoco.MjModel, obj: mujoco.mjtObj, i: int, kind: str) -> str:
    n = mujoco.mj_id2name(m, obj, i)
    return f"{kind} {n!r}" if n else f"{kind} #{i}"


class MJCFError(ValueError):
    """An MJCF file uses something worldsim does not simulate (yet)."""


def _unsupported(what: str, attribute: str, why: str = "not supported by worldsim yet") -> MJCFError:
    return MJCFError(f"{what}: attribute '{attribute}' is {why}")


def check_supported(m: mujoco.MjModel) -> None:
    """Raise :class:`MJCFError` for the first element or attribute of ``m`` that worldsim cannot simulate."""
    counts = {
        "<tendon>": m.ntendon, "<equality>": m.neq, "<contact><pair>": m.npair,
        "<sensor>": m.nsensor, "<flex>": m.nflex, "<skin>": m.nskin, "<plugin>": m.nplugin,
        "mocap <body>": m.nmocap, "actuator activation state (na > 0)": m.na,
    }  # fmt: skip
    for element, count in counts.items():
        if count:
            raise MJCFError(f"element {element} is not supported by worldsim yet (found {count})")

    opt = m.opt
    if int(opt.integrator) not in (int(mujoco.mjtIntegrator.mjINT_EULER), int(mujoco.mjtIntegrator.mjINT_RK4)):
        name = mujoco.mjtIntegrator(opt.integrator).name.removeprefix("mjINT_")
        raise _unsupported("<option>", "integrator", f"{name!r}; supported: 'Euler' and 'RK4'")
    if np.any(opt.wind):
        raise _unsupported("<option>", "wind")
    for attr in ("density", "viscosity"):
        if getattr(opt, attr) != 0:
            raise _unsupported("<option>", attr)
    if opt.enableflags:
        raise _unsupported("<option><flag>", "enable flags", f"not supported (enableflags={opt.enableflags})")

    for b in range(1, m.nbody):
        what = _name(m, mujoco.mjtObj.mjOBJ_BODY, b, "body")
        if m.body_gravcomp[b] != 0:
            raise _unsupported(what, "gravcomp")

    for j in range(m.njnt):
        what = _name(m, mujoco.mjtObj.mjOBJ_JOINT, j, "joint")
        jtype = int(m.jnt_type[j])
        if m.jnt_limited[j] and jtype not in (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE)):
            raise _unsupported(what, "range", "a limit on a ball joint, not supported by worldsim yet")
        if m.jnt_actfrclimited[j]:
            raise _unsupported(what, "actuatorfrcrange")
        if np.any(m.jnt_stiffnesspoly[j]) or m.jnt_springyield[j] != 0:
            raise _unsupported(what, "stiffnesspoly/springyield")
        if m.jnt_stiffness[j] != 0 and jtype in (int(mujoco.mjtJoint.mjJNT_FREE), int(mujoco.mjtJoint.mjJNT_BALL)):
            raise _unsupported(what, "stiffness", "not supported on free and ball joints yet")
        if jtype == int(mujoco.mjtJoint.mjJNT_FREE) and m.body_parentid[m.jnt_bodyid[j]] != 0:
            raise _unsupported(what, "type", "'free' on a body that is not a child of the world")
    for d in range(m.nv):
        what = _name(m, mujoco.mjtObj.mjOBJ_JOINT, int(m.dof_jntid[d]), "joint")
        if m.dof_frictionloss[d] != 0:
            raise _unsupported(what, "frictionloss")
        if np.any(m.dof_dampingpoly[d]):
            raise _unsupported(what, "dampingpoly")

    for g in range(m.ngeom):
        what = _name(m, mujoco.mjtObj.mjOBJ_GEOM, g, "geom")
        if int(m.geom_type[g]) not in SUPPORTED_GEOMS:
            raise _unsupported(
                what, "type", f"{_GEOM_NAMES[int(m.geom_type[g])]!r}; supported: plane, sphere, capsule, box, cylinder"
            )
        if m.geom_condim[g] not in (1, 3):
            raise _unsupported(
                what, "condim", f"{m.geom_condim[g]}; supported: 1 (frictionless) and 3 (sliding friction)"
            )
        if m.geom_gap[g] != 0:
            raise _unsupported(what, "gap")
        if int(m.geom_type[g]) == int(mujoco.mjtGeom.mjGEOM_PLANE) and m.body_weldid[m.geom_bodyid[g]] != 0:
            raise _unsupported(what, "type", "'plane' on a moving body (planes must be static)")

    for a in range(m.nu):
        what = _name(m, mujoco.mjtObj.mjOBJ_ACTUATOR, a, "actuator")
        if int(m.actuator_trntype[a]) != int(mujoco.mjtTrn.mjTRN_JOINT):
            raise _unsupported(what, "transmission", "not a joint transmission; only <motor joint=...> is supported")
        jtype = int(m.jnt_type[m.actuator_trnid[a, 0]])
        if jtype not in (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE)):
            raise _unsupported(what, "joint", "a free or ball joint; motors drive hinge and slide joints only")
        if (
            int(m.actuator_dyntype[a]) != int(mujoco.mjtDyn.mjDYN_NONE)
            or int(m.actuator_gaintype[a]) != int(mujoco.mjtGain.mjGAIN_FIXED)
            or int(m.actuator_biastype[a]) != int(mujoco.mjtBias.mjBIAS_NONE)
            or np.any(m.actuator_gainprm[a, 1:])
        ):
            raise _unsupported(what, "dyntype/gaintype/biastype", "not a plain <motor>; only motors are supported")
        if np.any(m.actuator_gear[a, 1:]):
            raise _unsupported(what, "gear", "a 6-vector; only the first gear component is supported")
        for attr in ("damping", "armature", "delay"):
            field = getattr(m, f"actuator_{attr}", None)
            if field is not None and np.any(field[a]):
                raise _unsupported(what, attr)


def load_mjcf(
    path: str | os.PathLike,
    *,
    num_worlds: int = 1,
    device: str | torch.device | None = None,
    requires_grad: bool = False,
    substeps: int = 1,
) -> Model:
    """Load an MJCF file as a batched :class:`Model` of ``num_worlds`` identical worlds.

    Args:
        path: MJCF (MuJoCo XML) file.
        num_worlds: N, the number of worlds simulated side by side [1, ∞).
        device: ``"cpu"`` (default) or ``"cuda[:i]"``.
        requires_grad: make the model's parameter tensors (``get_params()``) leaves that require grad.
        substeps: semi-implicit Euler substeps per ``timestep`` (1 reproduces MuJoCo's Euler integrator).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: bad arguments, or (as :class:`MJCFError`) something in the file worldsim does not simulate.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"MJCF file not found: {path}")
    try:
        mjm = mujoco.MjModel.from_xml_path(path)
    except ValueError as e:  # mujoco reports XML and compile errors as ValueError
        raise MJCFError(f"MuJoCo could not compile {path}: {e}") from None
    return from_mjmodel(mjm, num_worlds=num_worlds, device=device, requires_grad=requires_grad, substeps=substeps)


def from_mjmodel(
    mjm: mujoco.MjModel,
    *,
    num_worlds: int = 1,
    device: str | torch.device | None = None,
    requires_grad: bool = False,
    substeps: int = 1,
) -> Model:
    """Build a :class:`Model` from a compiled ``mujoco.MjModel`` (see :func:`load_mjcf`)."""
    if not isinstance(num_worlds, (int, np.integer)) or num_worlds < 1:
        raise ValueError(f"num_worlds must be a positive integer, got {num_worlds!r}")
    if not isinstance(substeps, (int, np.integer)) or substeps < 1:
        raise ValueError(f"substeps must be a positive integer, got {substeps!r}")
    check_supported(mjm)
    tdev, wdev = resolve_device(device)

    m = Model()
    m.mj_model = mjm
    m.num_worlds = int(num_worlds)
    m.device, m.wp_device = tdev, wdev
    m.requires_grad = bool(requires_grad)
    m.timestep = float(mjm.opt.timestep)
    m.substeps = int(substeps)
    m.integrator = "RK4" if int(mjm.opt.integrator) == int(mujoco.mjtIntegrator.mjINT_RK4) else "Euler"
    m.nq, m.nv, m.nu = mjm.nq, mjm.nv, mjm.nu
    m.nbody, m.ngeom, m.njnt = mjm.nbody, mjm.ngeom, mjm.njnt
    m.names = {
        kind: [mujoco.mj_id2name(mjm, obj, i) or "" for i in range(count)]
        for kind, obj, count in [
            ("body", mujoco.mjtObj.mjOBJ_BODY, mjm.nbody),
            ("joint", mujoco.mjtObj.mjOBJ_JOINT, mjm.njnt),
            ("geom", mujoco.mjtObj.mjOBJ_GEOM, mjm.ngeom),
            ("actuator", mujoco.mjtObj.mjOBJ_ACTUATOR, mjm.nu),
        ]
    }
    m.qpos0 = torch.as_tensor(mjm.qpos0, dtype=torch.float32)

    disabled = int(mjm.opt.disableflags)

    def off(bit):
        return int(bool(disabled & int(bit)))

    D = mujoco.mjtDisableBit
    m.has_limits = bool(mjm.jnt_limited.any()) and not off(D.mjDSBL_LIMIT)
    m.flags = {
        "gravity": 1 - off(D.mjDSBL_GRAVITY),
        "contact": 1 - off(D.mjDSBL_CONTACT),
        "spring": 1 - off(D.mjDSBL_SPRING),
        "damper": 1 - off(D.mjDSBL_DAMPER),
        "actuation": 1 - off(D.mjDSBL_ACTUATION),
        "clampctrl": 1 - off(D.mjDSBL_CLAMPCTRL),
        "eulerdamp": 1 - off(D.mjDSBL_EULERDAMP),
        "filterparent": 1 - off(D.mjDSBL_FILTERPARENT),
    }

    def wxyz_to_xyzw(q):
        q = np.asarray(q, dtype=np.float64).reshape(-1, 4)
        return np.concatenate([q[:, 1:], q[:, :1]], axis=1)

    # ---- topology and frames (constants shared by all worlds)
    body_jntadr = np.where(mjm.body_jntnum > 0, mjm.body_jntadr, 0)
    frameadr = np.arange(mjm.nbody) + np.concatenate([[0], np.cumsum(mjm.body_jntnum)[:-1]])
    m.nframe = int(mjm.nbody + mjm.njnt)
    c = {
        "body_parent": (mjm.body_parentid, wp.int32),
        "body_pos": (mjm.body_pos, wp.vec3),
        "body_quat": (wxyz_to_xyzw(mjm.body_quat), wp.quat),
        "body_iquat": (wxyz_to_xyzw(mjm.body_iquat), wp.quat),
        "body_jntadr": (body_jntadr, wp.int32),
        "body_jntnum": (mjm.body_jntnum, wp.int32),
        "body_frameadr": (frameadr, wp.int32),
        "body_invweight0": (mjm.body_invweight0[:, 0], wp.float32),
        "body_mass0": (mjm.body_mass, wp.float32),
        "jnt_type": (mjm.jnt_type, wp.int32),
        "jnt_qposadr": (mjm.jnt_qposadr, wp.int32),
        "jnt_dofadr": (mjm.jnt_dofadr, wp.int32),
        "jnt_pos": (mjm.jnt_pos, wp.vec3),
        "jnt_axis": (mjm.jnt_axis, wp.vec3),
        "jnt_stiffness": (mjm.jnt_stiffness * m.flags["spring"], wp.float32),
        "jnt_limited": (mjm.jnt_limited * (1 - off(D.mjDSBL_LIMIT)), wp.int32),
        "jnt_range": (mjm.jnt_range - mjm.jnt_margin[:, None] * [[-1.0, 1.0]], wp.vec2),  # limit starts at margin
        "dof_invweight0": (mjm.dof_invweight0, wp.float32),
        "dof_jntid": (mjm.dof_jntid, wp.int32),
        "jnt_limit_solref": (
            [
                mujoco_reference_dynamics(mjm.jnt_solref[j], mjm.jnt_solimp[j], m.timestep / m.substeps)
                for j in range(mjm.njnt)
            ],
            wp.vec3,
        ),
        "qpos0": (mjm.qpos0, wp.float32),
        "qpos_spring": (mjm.qpos_spring, wp.float32),
        "body_dofadr": (np.where(mjm.body_dofnum > 0, mjm.body_dofadr, 0), wp.int32),
        "body_dofnum": (mjm.body_dofnum, wp.int32),
        "dof_bodyid": (mjm.dof_bodyid, wp.int32),
        "geom_type": (mjm.geom_type, wp.int32),
        "geom_body": (mjm.geom_bodyid, wp.int32),
        "geom_pos": (mjm.geom_pos, wp.vec3),
        "geom_quat": (wxyz_to_xyzw(mjm.geom_quat), wp.quat),
        "geom_size": (mjm.geom_size, wp.vec3),
    }
    # ancestor dofs of each dof (itself first), as CSR: the sparsity pattern of the mass matrix row
    anc, start = [], []
    for d in range(mjm.nv):
        start.append(len(anc))
        k = d
        while k >= 0:
            anc.append(k)
            k = int(mjm.dof_parentid[k])
    start.append(len(anc))
    c["dof_anc"] = (np.array(anc or [0]), wp.int32)
    c["dof_ancadr"] = (np.array(start), wp.int32)
    is_anc = np.zeros((max(mjm.nv, 1), max(mjm.nv, 1)), dtype=np.int32)
    for d in range(mjm.nv):
        for k in anc[start[d] : start[d + 1]]:
            is_anc[d, k] = is_anc[k, d] = 1
    c["dof_is_anc"] = (is_anc, wp.int32)
    # the last dof that moves each body (its own, or its nearest moving ancestor's); -1 for static bodies
    lastdof = np.full(mjm.nbody, -1)
    for b in range(1, mjm.nbody):
        n_own = mjm.body_dofnum[b]
        lastdof[b] = mjm.body_dofadr[b] + n_own - 1 if n_own else lastdof[mjm.body_parentid[b]]
    c["body_lastdof"] = (lastdof, wp.int32)
    # actuators: the dof each motor drives, gain and ranges
    act_dof = np.array([mjm.jnt_dofadr[mjm.actuator_trnid[a, 0]] for a in range(mjm.nu)] or [0])
    c["actuator_dof"] = (act_dof, wp.int32)
    c["actuator_gain"] = (mjm.actuator_gainprm[:, 0] if mjm.nu else [0.0], wp.float32)
    ctrl_limited = mjm.actuator_ctrllimited * m.flags["clampctrl"] if mjm.nu else [0]
    c["actuator_ctrllimited"] = (ctrl_limited, wp.int32)
    c["actuator_ctrlrange"] = (mjm.actuator_ctrlrange if mjm.nu else [[0.0, 0.0]], wp.vec2)
    c["actuator_forcelimited"] = (mjm.actuator_forcelimited if mjm.nu else [0], wp.int32)
    c["actuator_forcerange"] = (mjm.actuator_forcerange if mjm.nu else [[0.0, 0.0]], wp.vec2)

    slots = build_contact_slots(mjm, filterparent=bool(m.flags["filterparent"])) if m.flags["contact"] else None
    m.nslot = 0 if slots is None else len(slots["kind"])
    if m.nslot:
        for key, dtype in [("geom1", wp.int32), ("geom2", wp.int32), ("kind", wp.int32), ("sub", wp.int32),
                           ("friction_mode", wp.int32), ("margin", wp.float32)]:  # fmt: skip
            c[f"slot_{key}"] = (slots[key], dtype)
    m.slot_pairs = [] if slots is None else slots["pairs"]
    m.const = {k: wp_array(v, dtype, wdev) for k, (v, dtype) in c.items() if len(np.atleast_1d(v)) > 0}

    # ---- per-world parameter table
    values = {
        "body_mass": mjm.body_mass,
        "body_inertia": mjm.body_inertia,
        "body_ipos": mjm.body_ipos,
        "geom_friction": mjm.geom_friction,
        "dof_damping": mjm.dof_damping * m.flags["damper"],
        "dof_armature": mjm.dof_armature,
        "actuator_gear": mjm.actuator_gear[:, 0] * m.flags["actuation"],
        "gravity": mjm.opt.gravity * m.flags["gravity"],
        **soft_constraint_defaults(mjm, m.slot_pairs, m.timestep / m.substeps),
    }
    m._init_params(values)
    return m


def mujoco_reference_dynamics(solref, solimp, h: float) -> tuple[float, float, float]:
    """MuJoCo's (k [1/s²], b [1/s], d) of a soft constraint: reference stiffness and damping, impedance dmax.

    τ = max(solref[0], 2h) as MuJoCo's refsafe; a negative solref gives k = −solref[0], b = −solref[1].
    """
    d = float(np.clip(solimp[1], 1e-4, 0.9999))
    if solref[0] > 0:
        tau = max(float(solref[0]), 2.0 * h)
        return 1.0 / (d * d * tau * tau * float(solref[1]) ** 2), 2.0 / (d * tau), d
    return -float(solref[0]), -float(solref[1]), d


def solref_to_spring(solref, solimp, h: float) -> tuple[float, float]:
    """worldsim's contact (stiffness [1/s²], damping [1/s]) per unit effective mass for MuJoCo's solref/solimp.

    MuJoCo's soft constraint (see :func:`mujoco_reference_dynamics`) behaves like a spring-damper d·k, d·b acting
    against the reduced load (1−d)·g. A penalty spring cannot match both its frequency and its resting depth:
    worldsim keeps MuJoCo's effective damping d·b and stiffens the spring tenfold, 10·d·k (3.2× MuJoCo's effective
    frequency; g/k = 0.37 mm with MuJoCo's defaults). Both are capped for explicit
    integration at step h: stiffness ≤ 1/h², damping ≤ 1/h.
    """
    k_mj, b_mj, d = mujoco_reference_dynamics(solref, solimp, h)
    return min(10.0 * d * k_mj, 1.0 / h**2), min(b_mj * d, 1.0 / h)


def _uniform(values: np.ndarray, owners: list[str], attribute: str):
    """The one value every owner shares, or MJCFError naming two owners that differ (per-pair values: not yet)."""
    first = values[0]
    for v, who in zip(values[1:], owners[1:], strict=True):
        if not np.allclose(v, first):
            raise MJCFError(
                f"{owners[0]} and {who}: attribute '{attribute}' differs ({first.tolist()} vs {v.tolist()}); "
                "worldsim uses one value per model for now (set it per world with set_params)"
            )
    return first


def soft_constraint_defaults(mjm: mujoco.MjModel, pairs: list, h: float) -> dict[str, float]:
    """Default contact and joint-limit parameters of a model, from its ``solref``/``solimp`` (see README)."""
    out = dict(CONTACT_DEFAULTS)
    out.update(JOINT_LIMIT_DEFAULTS)
    geoms = sorted({g for pair in pairs for g in pair})
    if geoms:
        names = [_name(mjm, mujoco.mjtObj.mjOBJ_GEOM, g, "geom") for g in geoms]
        solref = _uniform(mjm.geom_solref[geoms], names, "solref")
        solimp = _uniform(mjm.geom_solimp[geoms], names, "solimp")
        out["contact_stiffness"], out["contact_damping"] = solref_to_spring(solref, solimp, h)
    return out
