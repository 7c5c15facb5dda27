"""Models 10 km from the world origin move as they move at the origin, and as MuJoCo (float64) moves them there.

float32 resolves 1 mm at 10⁴ m. worldsim keeps positions relative to each tree's origin, sums translations with
compensation (``qpos_err``) and keeps what a float32 tree origin cannot hold in the root body's offset (see
:mod:`worldsim.physics.kinematics`), so only the stored far coordinate itself is rounded: to half a float32 ulp
(4.9e-4 m at 10 km); every other coordinate agrees as at the origin.
"""

import mujoco
import numpy as np
import pytest
import torch
from conftest import GYM_ASSETS, mujoco_trajectory

import worldsim
from worldsim.physics.mujoco_reference import root_translations

FAR = 10_000.0  # m
ULP_FAR = float(np.spacing(np.float32(FAR)))  # 9.8e-4 m: float32 spacing at 10 km


@pytest.mark.parametrize("name", ["half_cheetah", "hopper", "walker2d", "ant", "humanoid"])
def test_gym_model_moved_10_km_away_moves_as_at_the_origin(name):
    """Two worlds, one shifted 10 km along x (and y): 1 s of full-range random actions with floor contacts. Every
    coordinate but the shifted ones agrees within 1e-4 (measured ≤ 2.1e-5, float32 rounding in a chaotic gait);
    the shifted ones within one float32 ulp at 10 km."""
    model = worldsim.load_mjcf(str(GYM_ASSETS / f"{name}.xml"), num_worlds=2)
    mj = model.mj_model
    steps = int(round(1.0 / mj.opt.timestep))
    rng = np.random.default_rng(0)
    lo, hi = mj.actuator_ctrlrange[:, 0], mj.actuator_ctrlrange[:, 1]
    ctrl = torch.tensor(rng.uniform(lo, hi, (steps, 1, mj.nu)), dtype=torch.float32).expand(steps, 2, mj.nu)
    far = root_translations(mj)
    assert far, name
    q0, v0 = model.default_state()
    q0[1, far] += FAR
    qs, vs = worldsim.rollout(model, q0, v0, ctrl.contiguous())
    dq = qs[:, 1].double() - qs[:, 0].double()
    dq[:, far] -= FAR
    near = [i for i in range(model.nq) if i not in far]
    assert dq[:, near].abs().max() < 1e-4, dq[:, near].abs().max()
    assert dq[:, far].abs().max() <= ULP_FAR, dq[:, far].abs().max()
    assert (vs[:, 1] - vs[:, 0]).abs().max() < 2e-3  # velocities: 3.9e-4 measured
    assert (qs[-1, 0, far[0]] - q0[0, far[0]]).abs() > 0.05  # it did move


def _stack_scene(x: float, y: float) -> mujoco.MjModel:
    """Two boxes stacked (the top one yawed 30°) and a capsule, around (x, y); offsets are
    multiples of 1/64 m so float32 places them exactly where MuJoCo does at 10 km too."""
    return mujoco.MjModel.from_xml_string(f"""<mujoco><option timestep="0.002"/><worldbody>
      <geom type="plane" size="0 0 .1"/>
      <body pos="{x} {y} 0.1"><freejoint/><geom type="box" size="0.1 0.1 0.1" mass="1"/></body>
      <body pos="{x + 0.03125} {y + 0.015625} 0.32" euler="0 0 30"><freejoint/>
        <geom type="box" size="0.1 0.1 0.1" mass="1"/></body>
      <body pos="{x + 0.5} {y} 0.2"><freejoint/><geom type="capsule" size="0.05" fromto="0 0 0 0.3 0 0" mass="1"/>
      </body></worldbody></mujoco>""")


@pytest.mark.parametrize("where", [(0.0, 0.0), (FAR, -FAR)])
def test_stacked_and_colliding_bodies_10_km_away_follow_mujoco(where):
    """Three free trees touching each other and the floor, 1 s: heights and orientations within 1e-5 of MuJoCo's
    (measured 2e-6) at the origin and at (10 km, -10 km); x and y within half a float32 ulp there."""
    mj = _stack_scene(*where)
    model = worldsim.from_mjmodel(mj)
    q0, v0 = model.default_state()
    v0[0, 6] = 1.0  # the top box slides on the bottom one
    v0[0, 12:15] = torch.tensor([1.0, -0.3, 0.5])  # the capsule is thrown
    ref, _ = mujoco_trajectory(mj, mj.qpos0, v0[0].double().numpy(), np.zeros((500, 0)))
    qs, _ = worldsim.rollout(model, q0, v0, torch.zeros(500, 1, 0))
    err = np.abs(qs[:, 0].double().numpy() - ref)
    xy = [0, 1, 7, 8, 14, 15]
    rest = [i for i in range(mj.nq) if i not in xy]
    assert err[:, rest].max() < 1e-5, err[:, rest].max(axis=0)
    assert err[:, xy].max() <= (0.5 * ULP_FAR if where[0] else 1e-5), err[:, xy].max(axis=0)
    assert abs(ref[-1, 7] - ref[0, 7]) > 0.05  # the top box did slide


def test_gradient_10_km_away_equals_gradient_at_the_origin():
    """d(final position)/d(initial velocity) of a box sliding and tumbling on the floor: the same at 10 km as at
    the origin (the compensation remainders carry no gradient; the rounded far coordinate carries all of it)."""
    grads = []
    for x in (0.0, FAR):
        mj = _stack_scene(x, 0.0)
        model = worldsim.from_mjmodel(mj)
        q0, v0 = model.default_state()
        v0 = v0.clone().requires_grad_(True)
        qs, _ = worldsim.rollout(model, q0, v0 + torch.tensor([0.0] * 6 + [0.5] + [0.0] * 11), torch.zeros(300, 1, 0))
        (qs[-1, 0, 7] + qs[-1, 0, 9] + qs[-1, 0, 16]).backward()
        grads.append(v0.grad[0].numpy().copy())
    assert np.abs(grads[0]).max() > 0.05
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-3, atol=1e-4)
