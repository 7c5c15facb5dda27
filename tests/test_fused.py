"""Fused steps (one kernel per step instead of one launch per stage) give the same numbers as the per-stage
launches, bit for bit: RK4 with joint limits, Euler with implicit damping and contacts, contacts with the body forces
gymnasium reads, sensors; several threads; and the envs, which fuse by default on the CPU."""

import os

import mujoco
import numpy as np
import pytest
import torch
from conftest import GYM_ASSETS

import worldsim

SENSOR_SCENE = """
<mujoco>
  <option timestep="0.005"/>
  <worldbody>
    <geom type="plane" size="2 2 0.1"/>
    <body name="box" pos="0 0 0.3">
      <freejoint/>
      <geom type="box" size="0.05 0.05 0.05" mass="0.5"/>
      <site name="s" size="0.06"/>
    </body>
  </worldbody>
  <sensor>
    <accelerometer site="s"/><touch site="s"/><framepos objtype="body" objname="box"/><force site="s"/>
    <velocimeter site="s"/>
  </sensor>
</mujoco>
"""


def _trajectories(model_fn, fused: bool, steps: int, frame_skip: int, num_threads: int = 1):
    model = model_fn()
    sim = worldsim.Simulator(model, fused=fused, num_threads=num_threads)
    rng = np.random.default_rng(0)
    q0, v0 = model.default_state()
    sim.reset(q0 + 0.05 * torch.tensor(rng.standard_normal(q0.shape), dtype=torch.float32), v0)
    out = []
    for _ in range(steps):
        ctrl = torch.tensor(rng.uniform(-1, 1, (model.num_worlds, model.nu)), dtype=torch.float32)
        sim.step(ctrl, steps=frame_skip)
        extra = [sim.sensordata.clone()] if model.nsensor else []
        if model.want_body_forces:
            extra.append(sim.data("cfrc_ext").clone())
        out.append([sim.qpos.clone(), sim.qvel.clone(), *extra])
    return out


def _gym(name, body_forces=False, num_worlds=3):
    def make():
        model = worldsim.load_mjcf(GYM_ASSETS / f"{name}.xml", num_worlds=num_worlds)
        model.want_body_forces = body_forces
        return model

    return make


CASES = {
    "inverted_pendulum (RK4, limits)": (_gym("inverted_pendulum"), 2),
    "half_cheetah (Euler, damping, contacts)": (_gym("half_cheetah"), 5),
    "ant (RK4, contacts, body forces)": (_gym("ant", body_forces=True), 5),
    "sensors": (lambda: worldsim.from_mjmodel(mujoco.MjModel.from_xml_string(SENSOR_SCENE), num_worlds=3), 4),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_fused_step_is_bitwise_the_per_stage_step(case):
    make, frame_skip = CASES[case]
    plain = _trajectories(make, False, 40, frame_skip)
    fused = _trajectories(make, True, 40, frame_skip)
    for a, b in zip(plain, fused, strict=True):
        for x, y in zip(a, b, strict=True):
            assert torch.equal(x, y)
    assert not torch.equal(plain[0][0], plain[-1][0])  # it moved


def test_fused_step_with_threads():
    make = _gym("inverted_pendulum", num_worlds=40)
    plain = _trajectories(make, False, 10, 2, num_threads=2)
    fused = _trajectories(make, True, 10, 2, num_threads=2)
    assert all(torch.equal(x, y) for a, b in zip(plain, fused, strict=True) for x, y in zip(a, b, strict=True))


def test_envs_fuse_by_default_and_agree():
    import gymnasium

    fused = gymnasium.make("worldsim/CartPole-v0", fused_step=None)
    plain = gymnasium.make("worldsim/CartPole-v0", fused_step=False)
    assert fused.unwrapped.sim.fused is (os.environ.get("WORLDSIM_FUSED_STEP") != "0")
    fused = gymnasium.make("worldsim/CartPole-v0", fused_step=True)
    assert fused.unwrapped.sim.fused and not plain.unwrapped.sim.fused
    for env in (fused, plain):
        env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(300):
        a = rng.uniform(-3, 3, 1).astype(np.float32)
        o1, r1, t1, tr1, _ = fused.step(a)
        o2, r2, t2, tr2, _ = plain.step(a)
        assert np.array_equal(o1, o2) and r1 == r2 and t1 == t2 and tr1 == tr2
        if t1 or tr1:
            fused.reset()
            plain.reset()


def test_bad_fused_setting_is_named(monkeypatch):
    monkeypatch.setenv("WORLDSIM_FUSED_STEP", "yes")
    with pytest.raises(ValueError, match="WORLDSIM_FUSED_STEP"):
        worldsim.Simulator(worldsim.load_mjcf(GYM_ASSETS / "inverted_pendulum.xml"))
