"""What worldsim simulates of an MJCF file, and one error listing everything it does not.

:func:`unsupported_features` walks a compiled ``mujoco.MjModel`` and returns every element or attribute worldsim
would have to ignore; :func:`check_supported` raises :class:`MJCFError` listing them all. Nothing is skipped
silently: a file either behaves as in MuJoCo (within the documented differences) or does not load.
"""

from __future__ import annotations

import mujoco
import numpy as np

_T = mujoco.mjtGeom
SUPPORTED_GEOMS = {
    int(t)
    for t in (_T.mjGEOM_PLANE, _T.mjGEOM_HFIELD, _T.mjGEOM_SPHERE, _T.mjGEOM_CAPSULE, _T.mjGEOM_ELLIPSOID,
              _T.mjGEOM_CYLINDER, _T.mjGEOM_BOX, _T.mjGEOM_MESH)
}  # fmt: skip
SUPPORTED_SENSORS = {
    int(getattr(mujoco.mjtSensor, f"mjSENS_{n}"))
    for n in ("TOUCH", "ACCELEROMETER", "VELOCIMETER", "GYRO", "FORCE", "TORQUE", "MAGNETOMETER", "RANGEFINDER",
              "JOINTPOS", "JOINTVEL", "TENDONPOS", "TENDONVEL", "ACTUATORPOS", "ACTUATORVEL", "ACTUATORFRC",
              "JOINTACTFRC", "TENDONACTFRC", "BALLQUAT", "BALLANGVEL", "JOINTLIMITPOS", "JOINTLIMITVEL",
              "JOINTLIMITFRC", "TENDONLIMITPOS", "TENDONLIMITVEL", "TENDONLIMITFRC", "FRAMEPOS", "FRAMEQUAT",
              "FRAMEXAXIS", "FRAMEYAXIS", "FRAMEZAXIS", "FRAMELINVEL", "FRAMEANGVEL", "FRAMELINACC", "FRAMEANGACC",
              "SUBTREECOM", "SUBTREELINVEL", "SUBTREEANGMOM", "CLOCK", "E_POTENTIAL", "E_KINETIC")
}  # fmt: skip
#: MuJoCo disable flags whose only effect is on MuJoCo's own bookkeeping or speed, not on the dynamics worldsim
#: computes (midphase culling, which CCD library, island decomposition, automatic reset after a NaN warning).
NO_EFFECT_DISABLE_FLAGS = {"midphase", "nativeccd", "island", "autoreset"}
SUPPORTED_ENABLE_FLAGS = {"override", "energy"}


class MJCFError(ValueError):
    """An MJCF file uses something worldsim does not simulate (yet)."""


def _name(m: mujoco.MjModel, obj: mujoco.mjtObj, i: int, kind: str) -> str:
    n = mujoco.mj_id2name(m, obj, i)
    return f"{kind} {n!r}" if n else f"{kind} #{i}"


def _enum_name(enum, value: int, prefix: str) -> str:
    try:
        return enum(value).name.removeprefix(prefix).lower()
    except ValueError:
        return str(value)


def unsupported_features(m: mujoco.MjModel) -> list[str]:
    """Every element or attribute of ``m`` that worldsim cannot simulate, one line each."""
    out: list[str] = []
    O = mujoco.mjtObj

    counts = {"<flex>": m.nflex, "<plugin>": m.nplugin,
              "mocap <body>": m.nmocap, "<contact><pair>": m.npair}  # fmt: skip
    for element, count in counts.items():
        if count:
            out.append(f"element {element} is not supported (found {count})")

    opt = m.opt
    if int(opt.integrator) not in (int(mujoco.mjtIntegrator.mjINT_EULER), int(mujoco.mjtIntegrator.mjINT_RK4)):
        name = _enum_name(mujoco.mjtIntegrator, int(opt.integrator), "mjINT_")
        out.append(f"<option> integrator={name!r}: supported are 'Euler' and 'RK4'")
    if opt.noslip_iterations > 0 and int(opt.cone) == int(mujoco.mjtCone.mjCONE_ELLIPTIC):
        out.append("<option> noslip_iterations with cone='elliptic' is not supported (noslip with pyramidal is)")
    for key, bit in mujoco.mjtEnableBit.__members__.items():
        flag = key.removeprefix("mjENBL_").lower()
        if key != "mjNENABLE" and opt.enableflags & int(bit) and flag not in SUPPORTED_ENABLE_FLAGS:
            out.append(f"<option><flag {flag}='enable'/> is not supported")

    for b in range(1, m.nbody):
        if m.body_gravcomp[b] != 0:
            out.append(f"{_name(m, O.mjOBJ_BODY, b, 'body')}: attribute 'gravcomp' is not supported")

    for j in range(m.njnt):
        what = _name(m, O.mjOBJ_JOINT, j, "joint")
        if np.any(m.jnt_stiffnesspoly[j]) or m.jnt_springyield[j] != 0:
            out.append(f"{what}: nonlinear stiffness (stiffness polynomial or springyield) is not supported")
    for d in range(m.nv):
        if np.any(m.dof_dampingpoly[d]):
            out.append(f"{_name(m, O.mjOBJ_JOINT, int(m.dof_jntid[d]), 'joint')}: nonlinear damping is not supported")

    for g in range(m.ngeom):
        what = _name(m, O.mjOBJ_GEOM, g, "geom")
        if int(m.geom_type[g]) not in SUPPORTED_GEOMS:
            gname = _enum_name(mujoco.mjtGeom, int(m.geom_type[g]), "mjGEOM_")
            out.append(f"{what}: type {gname!r} is not supported")
        if m.geom_fluid[g, 0] > 0:
            out.append(f"{what}: fluidshape='ellipsoid' (MuJoCo's ellipsoid fluid model) is not supported")
        if np.any(m.geom_surfacevel[g]):
            out.append(f"{what}: attribute 'surfacevel' is not supported")
        if m.geom_adhesion[g] != 0:
            out.append(f"{what}: attribute 'adhesion' is not supported")

    for t in range(m.ntendon):
        what = _name(m, O.mjOBJ_TENDON, t, "tendon")
        for adr in range(m.tendon_adr[t], m.tendon_adr[t] + m.tendon_num[t]):
            wtype = int(m.wrap_type[adr])
            if wtype in (int(mujoco.mjtWrap.mjWRAP_SPHERE), int(mujoco.mjtWrap.mjWRAP_CYLINDER)):
                out.append(f"{what}: wrapping around a geom (sphere or cylinder) is not supported (sites, pulleys are)")
                break
        if m.tendon_armature[t] != 0:
            out.append(f"{what}: attribute 'armature' is not supported")
        if m.tendon_actfrclimited[t]:
            out.append(f"{what}: attribute 'actuatorfrcrange' is not supported")
        if np.any(m.tendon_stiffnesspoly[t]) or np.any(m.tendon_dampingpoly[t]) or m.tendon_springyield[t] != 0:
            out.append(f"{what}: nonlinear stiffness or damping is not supported")

    joint_types = {int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE)}
    trn_ok = {int(mujoco.mjtTrn.mjTRN_JOINT), int(mujoco.mjtTrn.mjTRN_JOINTINPARENT), int(mujoco.mjtTrn.mjTRN_TENDON)}
    dyn_ok = {int(mujoco.mjtDyn.mjDYN_NONE), int(mujoco.mjtDyn.mjDYN_INTEGRATOR), int(mujoco.mjtDyn.mjDYN_FILTER),
              int(mujoco.mjtDyn.mjDYN_FILTEREXACT)}  # fmt: skip
    for a in range(m.nu):
        what = _name(m, O.mjOBJ_ACTUATOR, a, "actuator")
        trn = int(m.actuator_trntype[a])
        if trn not in trn_ok:
            out.append(f"{what}: transmission {_enum_name(mujoco.mjtTrn, trn, 'mjTRN_')!r} is not supported "
                       "(joint and tendon are)")  # fmt: skip
        elif trn != int(mujoco.mjtTrn.mjTRN_TENDON) and int(m.jnt_type[m.actuator_trnid[a, 0]]) not in joint_types:
            out.append(f"{what}: a joint transmission on a free or ball joint is not supported (hinge and slide are)")
        if int(m.actuator_dyntype[a]) not in dyn_ok:
            dname = _enum_name(mujoco.mjtDyn, int(m.actuator_dyntype[a]), "mjDYN_")
            out.append(f"{what}: dyntype {dname!r} is not supported (none, integrator, filter, filterexact are)")
        if int(m.actuator_gaintype[a]) not in (int(mujoco.mjtGain.mjGAIN_FIXED), int(mujoco.mjtGain.mjGAIN_AFFINE)):
            gname = _enum_name(mujoco.mjtGain, int(m.actuator_gaintype[a]), "mjGAIN_")
            out.append(f"{what}: gaintype {gname!r} is not supported (fixed and affine are)")
        if int(m.actuator_biastype[a]) not in (int(mujoco.mjtBias.mjBIAS_NONE), int(mujoco.mjtBias.mjBIAS_AFFINE)):
            bname = _enum_name(mujoco.mjtBias, int(m.actuator_biastype[a]), "mjBIAS_")
            out.append(f"{what}: biastype {bname!r} is not supported (none and affine are)")
        if m.actuator_ctrlnum[a] != 1 or m.actuator_outnum[a] != 1:
            out.append(f"{what}: multi-input or multi-output actuators are not supported")
        elif trn in trn_ok and np.any(m.actuator_gear[a, 1:]):
            out.append(f"{what}: a 6-vector gear is not supported on a joint or tendon transmission")
        if m.actuator_actnum[a] > 1:
            out.append(f"{what}: more than one activation variable is not supported")
        for attr in ("damping", "armature", "delay"):
            if np.any(getattr(m, f"actuator_{attr}")[a]):
                out.append(f"{what}: attribute '{attr}' is not supported")
        if m.actuator_plugin[a] >= 0:
            out.append(f"{what}: actuator plugins are not supported")

    eq_ok = {int(mujoco.mjtEq.mjEQ_CONNECT), int(mujoco.mjtEq.mjEQ_WELD), int(mujoco.mjtEq.mjEQ_JOINT),
             int(mujoco.mjtEq.mjEQ_TENDON)}  # fmt: skip
    for e in range(m.neq):
        if int(m.eq_type[e]) not in eq_ok:
            ename = _enum_name(mujoco.mjtEq, int(m.eq_type[e]), "mjEQ_")
            out.append(f"{_name(m, O.mjOBJ_EQUALITY, e, 'equality')}: type {ename!r} is not supported "
                       "(connect, weld, joint, tendon are)")  # fmt: skip

    for s in range(m.nsensor):
        what = _name(m, O.mjOBJ_SENSOR, s, "sensor")
        if int(m.sensor_type[s]) not in SUPPORTED_SENSORS:
            sname = _enum_name(mujoco.mjtSensor, int(m.sensor_type[s]), "mjSENS_")
            out.append(f"{what}: type {sname!r} is not supported")
        if m.sensor_delay[s] != 0 or np.any(m.sensor_interval[s]) or np.any(m.sensor_history[s]):
            out.append(f"{what}: delay, interval and history are not supported")
    return out


def check_supported(m: mujoco.MjModel, path: str | None = None) -> None:
    """Raise :class:`MJCFError` listing every element or attribute of ``m`` that worldsim cannot simulate."""
    problems = unsupported_features(m)
    if problems:
        where = f"{path}: " if path else ""
        lines = "\n".join(f"  - {p}" for p in problems)
        raise MJCFError(f"{where}{len(problems)} feature(s) not supported by worldsim:\n{lines}")
