"""Sensors (``Simulator.sensordata``) and energy (``Simulator.energy``) held against MuJoCo's own values.

Every model here sits around x = 1000 m, so frame positions, velocities and contacts are computed far from the
origin. States come from MuJoCo itself (steps with random controls, then random velocities), so contacts and
limits are active; MuJoCo's reference is ``mj_forward`` at the same state rounded to float32, which is what
``mj_step`` computes its sensors from.

Tolerances (float32 against MuJoCo's float64), per sensor, on the largest deviation over all worlds:
``err <= ATOL + RTOL * scale`` with ``scale`` the sensor's largest |value|.

* kinematic sensors (positions, velocities, axes, quaternions, energies): ATOL 1e-4 + RTOL 1e-5 * scale
  (float32 round-off of ~1e-7 relative, a few operations deep; world positions near x = 1000 m are 6.1e-5 m
  apart in float32, so world-frame positions and the world's subtree sums carry up to ~1e-4);
* rangefinders: ATOL 1e-3 (the static targets sit at x ~ 1000 m, where float32 positions are 6e-5 m apart; a hit
  distance's error is that over the cosine of the incidence angle: up to ~2e-4 m measured);
* sensors computed from the constraint solver's forces or the accelerations (touch, force, torque,
  accelerometer, frame accelerations, actuator and limit forces): 2e-3 times (1 + the largest value of that
  sensor type in the model) (the float32 solver's solution: with contacts its accelerations agree with MuJoCo's
  to ~1e-4 relative; measured up to 8e-4 of the scale).
"""

import importlib.util
from pathlib import Path

import mujoco
import numpy as np
import pytest
import torch

import worldsim

# ----------------------------------------------------------------------------------------------- models
_OBJECTS = [  # (objtype, objname): one of each spatial object kind, on moving bodies
    ("body", "arm2"),
    ("xbody", "arm1"),
    ("geom", "arm1_geom"),
    ("site", "tip"),
    ("camera", "fixedcam"),
    ("camera", "track"),
    ("camera", "trackcom"),
    ("camera", "target"),
    ("camera", "targetcom"),
]
_REFS = [None, ("body", "base"), ("xbody", "other"), ("geom", "other_geom"), ("site", "arm1_site"),
         ("camera", "targetcom"), ("site", "world_site")]  # fmt: skip
_FRAME = ["framepos", "framequat", "framexaxis", "frameyaxis", "framezaxis", "framelinvel", "frameangvel"]


def _frame_sensors() -> str:
    out = []
    for i, (otype, oname) in enumerate(_OBJECTS):
        for j, ref in enumerate(_REFS):
            if (i + j) % 2 and ref is not None:
                continue  # a selection of the combinations keeps the model small
            r = f'reftype="{ref[0]}" refname="{ref[1]}"' if ref else ""
            for kind in _FRAME:
                out.append(f'<{kind} objtype="{otype}" objname="{oname}" {r}/>')
        for kind in ("framelinacc", "frameangacc"):
            out.append(f'<{kind} objtype="{otype}" objname="{oname}"/>')
    return "\n".join(out)


KINEMATIC = f"""
<mujoco model="sensors_kinematic">
  <option timestep="0.002"><flag energy="enable"/></option>
  <worldbody>
    <geom name="floor" type="plane" size="0 0 1"/>
    <site name="world_site" pos="1000 0.5 0.2" euler="0 0 30"/>
    <camera name="fixedcam" pos="1000 -3 1" xyaxes="1 0 0 0 0.3 1"/>
    <body name="base" pos="1000 0 0.6">
      <freejoint name="root"/>
      <geom type="box" size=".2 .1 .05" mass="2"/>
      <site name="base_site" pos=".1 0 .05" euler="10 20 30"/>
      <camera name="track" mode="track" pos="0 -2 1" xyaxes="1 0 0 0 0.5 1"/>
      <camera name="trackcom" mode="trackcom" pos="0 -2 0.5"/>
      <camera name="target" mode="targetbody" target="arm2" pos="0.3 -1 0.5"/>
      <camera name="targetcom" mode="targetbodycom" target="arm1" pos="-0.3 -1 0.5"/>
      <body name="arm1" pos=".2 0 0">
        <joint name="hinge1" type="hinge" axis="0 1 0" range="-0.5 0.5" stiffness="2" springref="0.1"
               damping=".1"/>
        <geom name="arm1_geom" type="capsule" fromto="0 0 0 .3 0 0" size=".03" euler="5 0 0"/>
        <site name="arm1_site" pos=".3 0 0" euler="0 45 0"/>
        <body name="arm2" pos=".3 0 0">
          <joint name="ball" type="ball" range="0 0.6" stiffness="1" damping=".05"/>
          <geom type="ellipsoid" size=".05 .08 .1" pos=".1 0 0" euler="0 30 10"/>
          <site name="arm2_site" pos=".2 0 0"/>
          <body name="slider" pos=".2 0 0">
            <joint name="slide" type="slide" axis="1 0 0" range="-0.05 0.05" stiffness="10"/>
            <geom type="sphere" size=".04"/>
            <site name="tip" pos=".04 0 0" euler="30 0 60"/>
          </body>
        </body>
      </body>
    </body>
    <body name="other" pos="1000.5 1 1" euler="0 0 20">
      <joint name="spin" type="hinge" axis="0 0 1"/>
      <geom name="other_geom" type="cylinder" size=".05 .1" pos=".05 0 0" euler="0 90 0"/>
      <site name="other_site" pos=".1 0 0"/>
    </body>
  </worldbody>
  <tendon>
    <fixed name="fixed" limited="true" range="-0.3 0.3" stiffness="5" springlength="-0.1 0.1">
      <joint joint="hinge1" coef="1"/><joint joint="slide" coef="2"/>
    </fixed>
    <spatial name="spatial" limited="true" range="0 0.62"><site site="base_site"/><site site="tip"/></spatial>
  </tendon>
  <actuator>
    <motor name="m_hinge" joint="hinge1" gear="3" ctrlrange="-1 1"/>
    <position name="p_slide" joint="slide" kp="50" ctrlrange="-0.1 0.1"/>
    <motor name="m_tendon" tendon="fixed" gear="2" ctrlrange="-1 1"/>
    <general name="filt" tendon="spatial" dyntype="filter" dynprm="0.05" gainprm="4" ctrlrange="-1 1"/>
    <motor name="m_spin" joint="spin" ctrlrange="-1 1"/>
  </actuator>
  <sensor>
    <accelerometer site="base_site"/><velocimeter site="base_site"/><gyro site="base_site"/>
    <magnetometer site="base_site"/>
    <accelerometer site="tip"/><velocimeter site="tip"/><gyro site="tip"/><magnetometer site="tip"/>
    <accelerometer site="world_site"/><velocimeter site="world_site"/>
    <force site="arm1_site"/><torque site="arm1_site"/><force site="arm2_site"/><torque site="arm2_site"/>
    <force site="base_site"/><torque site="base_site"/><force site="world_site"/><torque site="world_site"/>
    <jointpos joint="hinge1"/><jointvel joint="hinge1"/><jointpos joint="slide"/><jointvel joint="slide"/>
    <jointpos joint="spin" noise="0.1"/><jointvel joint="spin"/>
    <ballquat joint="ball"/><ballangvel joint="ball"/>
    <tendonpos tendon="fixed"/><tendonvel tendon="fixed"/><tendonpos tendon="spatial"/><tendonvel tendon="spatial"/>
    <actuatorpos actuator="m_hinge"/><actuatorvel actuator="m_hinge"/><actuatorfrc actuator="m_hinge"/>
    <actuatorpos actuator="p_slide"/><actuatorvel actuator="p_slide"/><actuatorfrc actuator="p_slide"/>
    <actuatorpos actuator="m_tendon"/><actuatorvel actuator="m_tendon"/><actuatorfrc actuator="m_tendon"/>
    <actuatorpos actuator="filt"/><actuatorvel actuator="filt"/><actuatorfrc actuator="filt"/>
    <jointactuatorfrc joint="hinge1"/><jointactuatorfrc joint="slide"/>
    <tendonactuatorfrc tendon="fixed"/><tendonactuatorfrc tendon="spatial"/>
    <jointlimitpos joint="hinge1"/><jointlimitvel joint="hinge1"/><jointlimitfrc joint="hinge1"/>
    <jointlimitpos joint="slide"/><jointlimitvel joint="slide"/><jointlimitfrc joint="slide"/>
    <jointlimitpos joint="ball"/><jointlimitvel joint="ball"/><jointlimitfrc joint="ball"/>
    <tendonlimitpos tendon="fixed"/><tendonlimitvel tendon="fixed"/><tendonlimitfrc tendon="fixed"/>
    <tendonlimitpos tendon="spatial"/><tendonlimitvel tendon="spatial"/><tendonlimitfrc tendon="spatial"/>
    {_frame_sensors()}
    <subtreecom body="base"/><subtreelinvel body="base"/><subtreeangmom body="base"/>
    <subtreecom body="arm1"/><subtreelinvel body="arm1"/><subtreeangmom body="arm1"/>
    <subtreecom body="world"/><subtreelinvel body="world"/><subtreeangmom body="world"/>
    <clock/><e_potential/><e_kinetic/>
    <jointvel joint="hinge1" cutoff="0.2"/>
    <framelinvel objtype="site" objname="tip" cutoff="0.1"/>
    <accelerometer site="tip" cutoff="5"/>
    <force site="arm1_site" cutoff="1"/>
  </sensor>
</mujoco>
"""

# A box resting on the plane (touch under it and above it), a ball and a capsule with touch sites of other shapes,
# a double pendulum hanging from force/torque sites, an accelerometer at rest; condim 1, 3, 4 and 6.
CONTACT = """
<mujoco model="sensors_contact">
  <option timestep="0.002" cone="{cone}"/>
  <worldbody>
    <geom name="floor" type="plane" size="0 0 1"/>
    <body name="box" pos="1000 0 0.1">
      <freejoint/>
      <geom type="box" size=".1 .1 .1" mass="1" condim="4"/>
      <site name="box_bottom" type="box" pos="0 0 -.1" size=".11 .11 .02"/>
      <site name="box_top" type="sphere" pos="0 0 .1" size=".05"/>
      <site name="box_center"/>
    </body>
    <body name="ball" pos="1000.5 0 0.1">
      <freejoint/>
      <geom type="sphere" size=".1" condim="6"/>
      <site name="ball_touch" type="ellipsoid" size=".12 .11 .13"/>
    </body>
    <body name="capsule" pos="1001 0 .05" euler="90 0 0">
      <freejoint/>
      <geom type="capsule" size=".05 .1" condim="3"/>
      <site name="cap_touch" type="capsule" size=".06 .11"/>
      <site name="cyl_touch" type="cylinder" size=".06 .05" pos="0 0 .06"/>
    </body>
    <body name="puck" pos="1001.5 0 .05">
      <freejoint/>
      <geom type="cylinder" size=".1 .05" condim="1"/>
      <site name="puck_touch" type="box" size=".11 .11 .06"/>
    </body>
    <body name="mount" pos="1000 1 1">
      <site name="mount_site"/>
      <body name="pend">
        <joint name="swing" type="hinge" axis="0 1 0" damping=".05"/>
        <site name="pend_ft" euler="10 0 0"/>
        <geom type="capsule" fromto="0 0 0 0 0 -.5" size=".02" mass="1"/>
        <body pos="0 0 -.5">
          <joint name="swing2" type="hinge" axis="1 0 0"/>
          <site name="pend2_ft"/>
          <geom type="sphere" size=".05" pos="0 0 -.1" mass=".5"/>
        </body>
      </body>
    </body>
  </worldbody>
  <actuator><motor joint="swing" ctrlrange="-1 1"/><motor joint="swing2" ctrlrange="-1 1"/></actuator>
  <sensor>
    <touch site="box_bottom"/><touch site="box_top"/><touch site="ball_touch"/><touch site="cap_touch"/>
    <touch site="cyl_touch"/><touch site="puck_touch"/><touch site="box_bottom" cutoff="3"/>
    <force site="box_center"/><torque site="box_center"/><accelerometer site="box_center"/>
    <force site="pend_ft"/><torque site="pend_ft"/><force site="pend2_ft"/><torque site="pend2_ft"/>
    <force site="mount_site"/><torque site="mount_site"/><accelerometer site="pend2_ft"/>
    <framelinacc objtype="body" objname="ball"/><frameangacc objtype="body" objname="ball"/>
    <subtreeangmom body="ball"/><e_potential/><e_kinetic/>
  </sensor>
</mujoco>
"""

# Connect and weld constraints (body and site semantics, to the world) and spatial tendons (spring, damper,
# friction loss, limit, tendon equality, a pulley) load the force/torque sensors through cfrc_ext (MuJoCo 4).
EQUALITY = """
<mujoco model="sensors_equality">
  <option><flag contact="disable"/></option>
  <worldbody>
    <body name="a" pos="1000 0 1">
      <joint type="hinge" axis="0 1 0" damping=".1"/>
      <geom type="box" size=".1 .05 .05"/>
      <site name="a_site" pos=".1 0 0" euler="0 0 20"/>
      <site name="anchor" pos=".8 .3 .2"/>
      <body name="a2" pos=".2 0 0">
        <joint type="hinge" axis="0 0 1"/>
        <geom type="capsule" fromto="0 0 0 .2 0 0" size=".02"/>
        <site name="a2_site" pos=".2 0 0" euler="10 20 30"/>
      </body>
    </body>
    <body name="b" pos="1000.5 0 1">
      <freejoint/>
      <geom type="sphere" size=".05" pos=".05 0 0"/>
      <site name="b_site" pos=".05 .02 0"/>
    </body>
    <body name="c" pos="1000.4 0 1">
      <freejoint/>
      <geom type="box" size=".05 .05 .05"/>
      <site name="c_site" euler="10 20 30"/>
    </body>
    <body name="d" pos="1000 0 0.6" euler="0 0 30">
      <freejoint/>
      <geom type="box" size=".05 .05 .05"/>
      <site name="d_site"/>
      <body name="d2" pos="0 0 -.2">
        <joint type="hinge" axis="1 0 0"/>
        <geom type="sphere" size=".05"/>
        <site name="d2_site"/>
      </body>
    </body>
    <body name="e" pos="1000.8 0.3 1.5">
      <freejoint/>
      <geom type="capsule" fromto="0 0 0 0 0 -.3" size=".02"/>
      <site name="e_site" pos="0 0 -.3"/>
    </body>
  </worldbody>
  <tendon>
    <spatial name="ts" frictionloss=".5" damping=".3" stiffness="20" springlength=".2" limited="true" range="0 .551">
      <site site="a2_site"/><site site="b_site"/><pulley divisor="2"/><site site="b_site"/><site site="d2_site"/>
    </spatial>
    <spatial name="tu"><site site="a_site"/><site site="e_site"/></spatial>
  </tendon>
  <equality>
    <connect body1="a2" body2="b" anchor=".3 0 0"/>
    <weld site1="a2_site" site2="c_site" torquescale="2"/>
    <weld body1="d" body2="a" torquescale="0.5"/>
    <connect site1="e_site" site2="anchor"/>
    <tendon tendon1="ts" tendon2="tu" polycoef="0 0.5 0.1 0 0"/>
  </equality>
  <actuator><motor tendon="ts" gear="3" ctrlrange="-1 1"/><motor tendon="tu" ctrlrange="-1 1"/></actuator>
  <sensor>
    <force site="a_site"/><torque site="a_site"/><force site="a2_site"/><torque site="a2_site"/>
    <force site="d2_site"/><torque site="d2_site"/>
    <accelerometer site="c_site"/><accelerometer site="a2_site"/><accelerometer site="d_site"/>
    <tendonpos tendon="ts"/><tendonvel tendon="ts"/><tendonlimitfrc tendon="ts"/><tendonactuatorfrc tendon="ts"/>
  </sensor>
</mujoco>
"""

# A free scanner with site rangefinders in 14 directions and three depth cameras (perspective, orthographic,
# intrinsic; every data field), among targets of every geom type, in a walled room open at the top (rays up miss,
# and an infinite floor is not hit at grazing angles far away, where float32 distances lose digits); a transparent
# sphere is invisible to rays.
_DIRS = [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1), (1, 1, 1), (1, 1, -1), (1, -1, 1),
         (1, -1, -1), (-1, 1, 1), (-1, 1, -1), (-1, -1, 1), (-1, -1, -1)]  # fmt: skip
_RF_SITES = "\n".join(f'<site name="rf{i}" zaxis="{x} {y} {z}"/>' for i, (x, y, z) in enumerate(_DIRS))
_RF_SENSORS = "\n".join(f'<rangefinder site="rf{i}"/>' for i in range(len(_DIRS)))
_HFIELD = " ".join(str(v) for v in np.round(np.random.default_rng(5).uniform(0, 1, 6 * 7), 3))
RANGEFINDER = f"""
<mujoco model="sensors_rangefinder">
  <asset>
    <mesh name="tet" vertex="0 0 0  .5 0 0  0 .5 0  0 0 .5  .3 .3 .3"/>
    <hfield name="terrain" nrow="6" ncol="7" size=".6 .5 .3 .05" elevation="{_HFIELD}"/>
  </asset>
  <worldbody>
    <geom type="plane" size="0 0 1" pos="0 0 -0.5"/>
    <geom type="box" size=".1 3 1.5" pos="1003 0 1"/>
    <geom type="box" size=".1 3 1.5" pos="997 0 1"/>
    <geom type="box" size="3 .1 1.5" pos="1000 3 1"/>
    <geom type="box" size="3 .1 1.5" pos="1000 -3 1"/>
    <geom type="hfield" hfield="terrain" pos="1000 0 0" euler="0 0 10"/>
    <geom type="plane" size=".5 .5 1" pos="1000 0 3" euler="180 0 0"/>
    <geom type="sphere" size=".3" pos="1001 0 1"/>
    <geom type="capsule" size=".2 .4" pos="999 0 1" euler="30 0 0"/>
    <geom type="box" size=".3 .2 .4" pos="1000 1 1" euler="10 20 30"/>
    <geom type="cylinder" size=".3 .3" pos="1000 -1 1" euler="0 60 0"/>
    <geom type="ellipsoid" size=".5 .3 .2" pos="1000 0 2.2" euler="0 10 20"/>
    <geom type="mesh" mesh="tet" pos="1000.7 0.7 1.2" euler="20 30 40"/>
    <geom type="mesh" mesh="tet" pos="999.3 -0.7 0.7"/>
    <geom type="mesh" mesh="tet" pos="999.3 0.7 1.3" euler="90 0 0"/>
    <geom type="sphere" size=".3" pos="1000.7 -0.7 1" rgba="1 1 1 0"/>
    <body name="scanner" pos="1000 0 1">
      <freejoint/>
      <geom type="sphere" size=".05" contype="0" conaffinity="0"/>
      {_RF_SITES}
      <camera name="persp" resolution="5 4" fovy="70" euler="0 0 0"/>
      <camera name="ortho" projection="orthographic" fovy="1.5" resolution="4 3" euler="90 0 0"/>
      <camera name="focal" resolution="3 3" focal="1e-3 1.2e-3" sensorsize="2e-3 2e-3" principal="1e-4 0"
              euler="0 90 0"/>
    </body>
  </worldbody>
  <sensor>
    {_RF_SENSORS}
    <rangefinder site="rf6" data="dist dir origin point normal depth"/>
    <rangefinder site="rf5" data="normal depth" cutoff="0.6"/>
    <rangefinder camera="persp" data="dist normal depth"/>
    <rangefinder camera="ortho" data="dist dir origin point normal depth"/>
    <rangefinder camera="focal" data="point depth"/>
    <rangefinder site="rf0" cutoff="0.5"/>
  </sensor>
</mujoco>
"""

KIN_ATOL, KIN_RTOL = 1e-4, 1e-5
RAY_ATOL = 1e-3
FORCE_RTOL = 2e-3
_FORCE_TYPES = {
    int(getattr(mujoco.mjtSensor, f"mjSENS_{n}"))
    for n in ("TOUCH", "FORCE", "TORQUE", "ACCELEROMETER", "FRAMELINACC", "FRAMEANGACC", "ACTUATORFRC",
              "JOINTACTFRC", "TENDONACTFRC", "JOINTLIMITFRC", "TENDONLIMITFRC")
}  # fmt: skip


# ----------------------------------------------------------------------------------------------- comparison
def _states(mj: mujoco.MjModel, n: int, seed: int, steps: int = 40):
    """n states (qpos, qvel, act, ctrl) reached by MuJoCo with random controls, then random velocities."""
    rng = np.random.default_rng(seed)
    d = mujoco.MjData(mj)
    lo, hi = mj.actuator_ctrlrange.T if mj.nu else (np.zeros(0), np.zeros(0))
    out = []
    for k in range(n):
        mujoco.mj_resetData(mj, d)
        for _ in range(steps * (k + 1)):
            d.ctrl[:] = rng.uniform(lo, hi)
            mujoco.mj_step(mj, d)
        d.qvel[:] += rng.normal(0.0, 0.5, mj.nv)
        out.append((d.qpos.copy(), d.qvel.copy(), d.act.copy(), d.ctrl.copy()))
    return out


def _compare(mj: mujoco.MjModel, states, time0: float = 0.25, num_threads: int | None = None):
    """(worldsim sensordata, MuJoCo sensordata, worldsim energy, MuJoCo energy) at the states, one world each."""
    n = len(states)
    model = worldsim.from_mjmodel(mj, num_worlds=n)
    sim = worldsim.Simulator(model, num_threads=num_threads)
    f32 = lambda i: torch.tensor(np.array([s[i] for s in states]), dtype=torch.float32)  # noqa: E731
    sim.reset(f32(0), f32(1), act=f32(2) if mj.na else None)
    sim.ctrl[:] = f32(3)
    sim.time[:] = time0 * torch.arange(1, n + 1, dtype=torch.float64)
    sim.step()
    d = mujoco.MjData(mj)
    ref, ref_energy = [], []
    for w, (q, v, a, u) in enumerate(states):
        mujoco.mj_resetData(mj, d)
        d.qpos[:], d.qvel[:], d.act[:], d.ctrl[:] = (np.float32(x) for x in (q, v, a, u))
        d.time = time0 * (w + 1)
        mujoco.mj_forward(mj, d)
        ref.append(d.sensordata.copy())
        ref_energy.append(d.energy.copy())
    return sim.sensordata.numpy().copy(), np.array(ref), sim.energy.numpy().copy(), np.array(ref_energy)


def _check(mj: mujoco.MjModel, ours: np.ndarray, ref: np.ndarray) -> dict:
    """Largest deviation of each sensor; fails listing every sensor beyond its tolerance."""
    bad, worst, type_scale = [], {}, {}
    for s in range(mj.nsensor):
        a, k, t = mj.sensor_adr[s], mj.sensor_dim[s], int(mj.sensor_type[s])
        type_scale[t] = max(type_scale.get(t, 0.0), float(np.abs(ref[:, a : a + k]).max()))
    for s in range(mj.nsensor):
        a, k = mj.sensor_adr[s], mj.sensor_dim[s]
        err = float(np.abs(ours[:, a : a + k] - ref[:, a : a + k]).max())
        scale = float(np.abs(ref[:, a : a + k]).max())
        if int(mj.sensor_type[s]) in _FORCE_TYPES:
            tol = FORCE_RTOL * (1.0 + type_scale[int(mj.sensor_type[s])])
        elif int(mj.sensor_type[s]) == int(mujoco.mjtSensor.mjSENS_RANGEFINDER):
            tol = RAY_ATOL + KIN_RTOL * scale
        else:
            tol = KIN_ATOL + KIN_RTOL * scale
        kind = mujoco.mjtSensor(mj.sensor_type[s]).name.removeprefix("mjSENS_").lower()
        worst[kind] = max(worst.get(kind, 0.0), err)
        if not err <= tol:
            where = f"sensor {s} ({kind}, objtype {mj.sensor_objtype[s]}, reftype {mj.sensor_reftype[s]})"
            bad.append(f"{where}: err {err:.3g} > tol {tol:.3g}; ours {ours[0, a : a + k]} MuJoCo {ref[0, a : a + k]}")
    assert not bad, "\n".join(bad)
    return worst


def _model(xml: str) -> mujoco.MjModel:
    return mujoco.MjModel.from_xml_string(xml)


# ----------------------------------------------------------------------------------------------- tests
def test_kinematic_sensors_and_energy_match_mujoco():
    """Every non-contact sensor type, frames of bodies, xbodies, geoms, sites and cameras (all five camera modes)
    in the world and relative to reference frames (same tree, other tree, world), limits and cutoffs."""
    mj = _model(KINEMATIC)
    ours, ref, energy, ref_energy = _compare(mj, _states(mj, 6, seed=0))
    _check(mj, ours, ref)
    assert np.abs(ref_energy).min() > 0  # the energy flag: both terms computed
    np.testing.assert_allclose(energy, ref_energy, rtol=1e-5, atol=1e-4)
    # limits were active in some states, and the clock reads each world's time
    limit_types = [int(getattr(mujoco.mjtSensor, f"mjSENS_{n}")) for n in ("JOINTLIMITFRC", "TENDONLIMITFRC")]
    limit_values = [ref[:, mj.sensor_adr[s]] for s in range(mj.nsensor) if mj.sensor_type[s] in limit_types]
    assert np.abs(np.array(limit_values)).max() > 0


@pytest.mark.parametrize("cone", ["pyramidal", "elliptic"])
def test_contact_sensors_match_mujoco(cone):
    """Touch (box, sphere, ellipsoid, capsule and cylinder zones), force/torque and accelerometers under contact
    and in a hanging pendulum, with pyramidal and elliptic cones."""
    mj = _model(CONTACT.format(cone=cone))
    ours, ref, energy, ref_energy = _compare(mj, _states(mj, 4, seed=1, steps=60))
    worst = _check(mj, ours, ref)
    np.testing.assert_allclose(energy, ref_energy, rtol=1e-5, atol=1e-4)  # both energy sensors: both terms
    touch = [ref[:, mj.sensor_adr[s]] for s in range(mj.nsensor) if mj.sensor_type[s] == mujoco.mjtSensor.mjSENS_TOUCH]
    touch = np.array(touch)
    assert touch[0].max() > 5.0  # the box's weight (9.81 N) on the bottom zone
    assert np.all(touch[1] == 0)  # nothing touches the top zone
    assert np.all(touch[2:6].max(axis=1) > 0)  # the ellipsoid, capsule, cylinder and box zones are touched
    assert worst["touch"] < 2e-3 * 10


def test_equality_forces_match_mujoco():
    """Connect and weld constraints and spatial tendons (with a pulley, a limit, friction loss, a tendon equality and
    actuators) in the force/torque sensors and accelerometers (through cfrc_ext)."""
    mj = _model(EQUALITY)
    ours, ref, _, _ = _compare(mj, _states(mj, 4, seed=2))
    _check(mj, ours, ref)
    assert np.abs(ref[:, mj.sensor_adr[-2]]).max() > 0  # the tendon's limit is active in some states


def test_rangefinders_match_mujoco():
    """Rays from a tumbling scanner at x = 1000 m against planes (finite and infinite), a height field, spheres,
    capsules, boxes, cylinders, ellipsoids and meshes; perspective, orthographic and intrinsic cameras; cutoff."""
    mj = _model(RANGEFINDER)
    rng = np.random.default_rng(3)
    states = []
    for _ in range(32):
        q = mj.qpos0.copy()
        q[:3] += rng.uniform(-0.4, 0.4, 3)
        quat = rng.normal(size=4)
        q[3:] = quat / np.linalg.norm(quat)
        states.append((q, rng.normal(size=mj.nv), np.zeros(0), np.zeros(0)))
    ours, ref, _, _ = _compare(mj, states)
    _check(mj, ours, ref)
    dist = np.array([ref[:, mj.sensor_adr[s]] for s in range(14)])
    assert (dist > 0).mean() > 0.5 and (dist < 0).any()  # most rays hit something, some miss
    # MuJoCo's own ray casts of the site rangefinders hit every geom type
    d, hit = mujoco.MjData(mj), set()
    for q, *_ in states:
        d.qpos[:] = np.float32(q)
        mujoco.mj_kinematics(mj, d)
        for s in range(14):
            geomid = np.array([-1], dtype=np.int32)
            site = mj.sensor_objid[s]
            mujoco.mj_ray(mj, d, d.site_xpos[site], d.site_xmat[site][2::3], None, 1, mj.site_bodyid[site], geomid)
            hit.add(int(mj.geom_type[geomid[0]]) if geomid[0] >= 0 else -1)
    assert hit == {-1, *range(8)}, hit  # no hit, plane, height field, sphere, capsule, ellipsoid, cylinder, box, mesh


def test_sensors_of_the_first_state_of_each_step():
    """After several steps ``sensordata`` holds the values of the state the last step started from (mj_step), with
    RK4 too."""
    xml = CONTACT.format(cone="pyramidal").replace('timestep="0.002"', 'timestep="0.002" integrator="RK4"')
    for text in (CONTACT.format(cone="pyramidal"), xml):
        mj = _model(text)
        model = worldsim.from_mjmodel(mj)
        sim = worldsim.Simulator(model)
        for _ in range(5):
            q, v = sim.qpos.numpy().copy(), sim.qvel.numpy().copy()
            sim.step(torch.tensor([[0.3, -0.2]]))
        d = mujoco.MjData(mj)
        d.qpos[:], d.qvel[:], d.ctrl[:] = q[0], v[0], [0.3, -0.2]
        mujoco.mj_forward(mj, d)
        _check(mj, sim.sensordata.numpy(), d.sensordata[None])


def test_energy_without_the_flag():
    """Without <flag energy>, MuJoCo 4 leaves ``energy`` zero but for the potential energy an e_potential sensor
    computed, and the kinetic energy when both energy sensors are present (an e_kinetic sensor alone leaves it 0)."""
    cases = (("<e_potential/>", (True, False)), ("<e_kinetic/>", (False, False)),
             ("<e_kinetic/><e_potential/>", (True, True)), ("<clock/>", None))  # fmt: skip
    for sensors, expect in cases:
        mj = _model(KINEMATIC.replace('<flag energy="enable"/>', "").split("<sensor>")[0]
                    + f"<sensor>{sensors}</sensor></mujoco>")  # fmt: skip
        ours, ref, energy, ref_energy = _compare(mj, _states(mj, 2, seed=4))
        _check(mj, ours, ref)
        np.testing.assert_allclose(energy, ref_energy, rtol=1e-5, atol=1e-4)
        assert [bool(np.any(energy[:, i] != 0)) for i in range(2)] == list(expect or (False, False))


def test_worlds_in_parallel_chunks():
    """32 worlds stepped in two threads (chunks of worlds): every world's sensors and clock are its own."""
    mj = _model(CONTACT.format(cone="pyramidal"))
    states = _states(mj, 32, seed=6, steps=3)
    ours, ref, _, _ = _compare(mj, states, num_threads=2)
    _check(mj, ours, ref)


_DMC = importlib.util.find_spec("dm_control")
_DMC_SUITE = Path(_DMC.origin).parent / "suite" if _DMC and _DMC.origin else None
_DMC_MODELS = ["cheetah", "finger", "fish", "hopper", "humanoid", "humanoid_CMU", "manipulator", "quadruped",
               "stacker", "swimmer", "walker", "dog"]  # fmt: skip


@pytest.mark.skipif(_DMC_SUITE is None, reason="dm_control is not installed (its suite's MJCF files)")
@pytest.mark.parametrize("name", _DMC_MODELS)
def test_dm_control_suite_sensors(name):
    """The DeepMind Control Suite models with sensors, when dm_control is installed."""
    mj = mujoco.MjModel.from_xml_path(str(_DMC_SUITE / f"{name}.xml"))
    ours, ref, _, _ = _compare(mj, _states(mj, 4, seed=0, steps=50))
    _check(mj, ours, ref)
