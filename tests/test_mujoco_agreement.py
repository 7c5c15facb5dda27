"""Trajectories held against MuJoCo (mj_step) on the same MJCF: smooth dynamics, contacts, limits, flags.

Tolerances are what the README claims: without contact qpos agrees to 1e-5 over 0.5 s; through contacts (drops,
slides, stacks, rests) to 1e-4 over the runs below (measured: ~1e-6 and ~1e-6..1e-5; the difference is float32).
"""

import mujoco
import numpy as np
import pytest
import torch
from conftest import mujoco_trajectory

import worldsim
from worldsim.physics.mujoco_reference import (
    both_trajectories,
    box_stack,
    plane_scene,
    rebound_height,
    tilt_degrees,
)

HALF_SECOND = 250  # steps of 2 ms


def _compare(path, qpos0, qvel0, ctrl):
    """Max |qpos - MuJoCo qpos| and |qvel - MuJoCo qvel| over the trajectory, for every world."""
    n = qpos0.shape[0]
    model = worldsim.load_mjcf(path, num_worlds=n)
    qs, vs = worldsim.rollout(model, torch.tensor(qpos0), torch.tensor(qvel0), torch.tensor(ctrl))
    errs = []
    for w in range(n):
        rq, rv = mujoco_trajectory(model.mj_model, qpos0[w], qvel0[w], ctrl[:, w])
        errs.append((np.abs(qs[:, w].numpy() - rq).max(), np.abs(vs[:, w].numpy() - rv).max()))
    return np.array(errs)


def test_layout_matches_mujoco(asset):
    for name in ("pendulum.xml", "tumbling.xml", "ball.xml"):
        model = worldsim.load_mjcf(asset(name))
        mj = mujoco.MjModel.from_xml_path(asset(name))
        assert (model.nq, model.nv, model.nu, model.nbody, model.ngeom) == (mj.nq, mj.nv, mj.nu, mj.nbody, mj.ngeom)
        assert model.timestep == mj.opt.timestep
        np.testing.assert_allclose(model.default_state()[0][0].numpy(), mj.qpos0, atol=1e-7)


def test_hinge_chain_with_motor_damping_armature_spring(asset):
    """Double pendulum: damping, armature, spring with springref, geared motor with ctrlrange clamping."""
    rng = np.random.default_rng(0)
    n = 3
    qpos0 = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    qvel0 = rng.uniform(-2, 2, (n, 2)).astype(np.float32)
    ctrl = rng.uniform(-2, 2, (HALF_SECOND, n, 1)).astype(np.float32)  # beyond ctrlrange [-1, 1]: clamped
    errs = _compare(asset("pendulum.xml"), qpos0, qvel0, ctrl)
    assert errs[:, 0].max() < 1e-5, errs
    assert errs[:, 1].max() < 1e-4, errs


def test_tumbling_free_body_with_ball_and_slide(asset):
    """Asymmetric free body (gyroscopic terms) carrying a ball joint and a slide joint with a spring."""
    mj = mujoco.MjModel.from_xml_path(asset("tumbling.xml"))
    rng = np.random.default_rng(1)
    n = 2
    qpos0 = np.tile(mj.qpos0, (n, 1)).astype(np.float32)
    qvel0 = rng.normal(0, 2, (n, mj.nv)).astype(np.float32)
    errs = _compare(asset("tumbling.xml"), qpos0, qvel0, np.zeros((HALF_SECOND, n, 0), np.float32))
    assert errs[:, 0].max() < 1e-5, errs
    assert errs[:, 1].max() < 1e-4, errs


def test_per_world_parameters_match_mujoco_with_the_same_values(asset):
    """One batched rollout, different body_mass/dof_damping/gravity per world; each world equals MuJoCo run with
    that world's values."""
    path = asset("pendulum.xml")
    n = 3
    model = worldsim.load_mjcf(path, num_worlds=n)
    mass = model.get_params()["body_mass"].clone()
    mass[:, 2] = torch.tensor([0.3, 0.7, 2.0])
    damping = torch.tensor([[0.0, 0.0], [0.5, 0.1], [2.0, 0.0]])
    gravity = torch.tensor([[0.0, 0.0, -9.81], [0.0, 0.0, -3.7], [1.0, 0.0, -9.81]])
    model.set_params(body_mass=mass, dof_damping=damping, gravity=gravity)
    qpos0 = torch.tensor([[0.3, -0.2]]).repeat(n, 1)
    qvel0 = torch.zeros(n, 2)
    ctrl = torch.full((HALF_SECOND, n, 1), 0.2)
    qs, _ = worldsim.rollout(model, qpos0, qvel0, ctrl)
    finals = []
    for w in range(n):
        mj = mujoco.MjModel.from_xml_path(path)
        mj.body_mass[2] = mass[w, 2].item()
        mj.dof_damping[:] = damping[w].numpy()
        mj.opt.gravity[:] = gravity[w].numpy()
        rq, _ = mujoco_trajectory(mj, qpos0[w].numpy(), qvel0[w].numpy(), ctrl[:, w].numpy())
        assert np.abs(qs[:, w].numpy() - rq).max() < 1e-5
        finals.append(rq[-1])
    assert np.abs(finals[0] - finals[1]).max() > 0.05  # the worlds really behave differently


def test_simulator_equals_rollout(asset):
    model = worldsim.load_mjcf(asset("pendulum.xml"), num_worlds=2)
    qpos0, qvel0 = torch.tensor([[0.4, 0.1], [-0.3, 0.2]]), torch.zeros(2, 2)
    ctrl = torch.linspace(-1, 1, 40).reshape(20, 2, 1)
    qs, vs = worldsim.rollout(model, qpos0, qvel0, ctrl)
    sim = worldsim.Simulator(model)
    sim.reset(qpos0, qvel0)
    for t in range(20):
        sim.step(ctrl[t])
    torch.testing.assert_close(sim.qpos, qs[-1], rtol=0, atol=1e-6)
    torch.testing.assert_close(sim.qvel, vs[-1], rtol=0, atol=1e-6)


# ----------------------------------------------------------------------------------------------- contacts


@pytest.mark.parametrize(
    "geom",
    [
        '<geom type="sphere" size="0.1" mass="1"/>',
        '<geom type="capsule" size="0.05 0.1" quat="0.7071 0.7071 0 0" mass="1"/>',
        '<geom type="capsule" size="0.05 0.1" mass="1"/>',
        '<geom type="box" size="0.1 0.1 0.1" mass="1"/>',
        '<geom type="box" size="0.1 0.05 0.02" quat="0.9 0.1 0.3 0.2" mass="1"/>',
        '<geom type="cylinder" size="0.1 0.1" mass="1"/>',
        '<geom type="cylinder" size="0.1 0.1" quat="0.7071 0.7071 0 0" mass="1"/>',
        '<geom type="ellipsoid" size="0.1 0.07 0.05" mass="1"/>',
    ],
    ids=["sphere", "capsule-lying", "capsule-upright", "cube", "tilted-plate", "cylinder-upright", "cylinder-lying",
         "ellipsoid"],
)  # fmt: skip
def test_dropped_shape_follows_mujoco_and_rests_where_it_rests(geom):
    """Dropped from 0.3 m onto a plane, 3 s: the whole trajectory follows MuJoCo's (1e-4), so it rests where
    MuJoCo's rests (within 0.5 mm, the issue's goal; measured ~1e-6)."""
    mj = plane_scene(f'<body pos="0 0 0.3"><freejoint/>{geom}</body>')
    ref, ours = both_trajectories(mj, 1500)
    assert np.abs(ours - ref).max() < 1e-4
    assert abs(ours[-1, 2] - ref[-1, 2]) < 5e-4
    assert ours[-1, 2] < 0.2  # it did come down


@pytest.mark.parametrize("solref", ["0.02 1", "0.02 0.3", "0.005 0.5", "-10000 -30"])
def test_ball_drop_restitution_follows_solref(solref):
    """A ball dropped from 0.6 m bounces as MuJoCo's: not at all with the default (critically damped) solref,
    and with an underdamped one (damping ratio 0.3 or 0.5, or MuJoCo's direct form) to the same height."""
    ball = f'<body pos="0 0 0.6"><freejoint/><geom type="sphere" size="0.1" mass="1" solref="{solref}"/></body>'
    mj = plane_scene(ball, floor=f'solref="{solref}"')
    ref, ours = both_trajectories(mj, 700)
    assert np.abs(ours - ref).max() < 1e-3
    r_ref, r_ours = rebound_height(ref[:, 2], 0.1), rebound_height(ours[:, 2], 0.1)
    if solref == "0.02 1":
        assert r_ours < 1e-3 and r_ref < 1e-3  # the goal: below 1 mm
    else:
        assert r_ref > 0.05 and abs(r_ours - r_ref) < 0.2 * r_ref, (r_ours, r_ref)


@pytest.mark.parametrize("mu", [0.2, 0.4, 0.6, 0.8, 1.0])
def test_sliding_cube_stops_and_tilts_as_in_mujoco(mu):
    """A 0.2 m cube launched at 2 m/s: stopping distance within 3% of MuJoCo's and tilt within 2° (the issue's goals;
    measured 0.00% and 0.005°). μ = 0.8 slides 0.254 m, as MuJoCo's."""
    mj = plane_scene(f'<body pos="0 0 0.1"><freejoint/><geom type="box" size="0.1 0.1 0.1" mass="1" friction="{mu}"/>'
                "</body>", floor=f'friction="{mu}"')  # fmt: skip
    qvel0 = np.zeros(6)
    qvel0[0] = 2.0
    ref, ours = both_trajectories(mj, 1500, qvel0=qvel0)
    assert abs(ours[-1, 0] - ref[-1, 0]) < 0.03 * ref[-1, 0]
    assert np.abs(tilt_degrees(ours[:, 3:7]) - tilt_degrees(ref[:, 3:7])).max() < 2.0
    if mu == 0.8:
        assert ours[-1, 0] == pytest.approx(0.254, abs=1e-3)


@pytest.mark.parametrize("offset, yaw, n", [(0.0, 0.0, 3), (0.02, 0.0, 3), (0.0, 30.0, 3), (0.05, 0.0, 3), (0, 0, 5)])
def test_box_stacks_hold_as_in_mujoco(offset, yaw, n):
    """Stacks of 0.2 m cubes (aligned, offset 2 or 5 cm per level, yawed 30° per level, five high) stand as
    MuJoCo's: every height within 2 mm (the issue's goal; measured ~1e-6) after 3 s, and nobody sinks."""
    ref, ours = both_trajectories(box_stack(n, offset, yaw), 1500)
    z_ref, z_ours = ref[-1, 2::7], ours[-1, 2::7]
    assert np.abs(z_ours - z_ref).max() < 2e-3
    assert np.all(np.diff(z_ours) > 0.199)  # 0.2 m apart: no cube sinks into the one below


def test_cylinder_rolls_without_losing_speed():
    """A lying cylinder rolling at 1 m/s keeps its speed as MuJoCo's does (the old collider lost 12%)."""
    mj = plane_scene('<body pos="0 0 0.1" quat="0.7071 0.7071 0 0"><freejoint/><geom type="cylinder" size="0.1 0.1" '
                'mass="1"/></body>', floor="")  # fmt: skip
    d = mujoco.MjData(mj)
    mujoco.mj_forward(mj, d)
    qvel0 = np.zeros(6)
    qvel0[0] = 1.0
    qvel0[3:] = d.xmat[1].reshape(3, 3).T @ np.array([0.0, 10.0, 0.0])  # rolling: ω = v / r about world y
    ref, ours = both_trajectories(mj, 1000, qvel0=qvel0)
    assert abs(ours[-1, 0] - ref[-1, 0]) < 1e-3
    assert ours[-1, 0] > 1.99  # 2 s at 1 m/s


def test_bodies_started_touching_are_not_pushed():
    """Boxes placed exactly on the floor and on each other stay put (the old model pushed them apart)."""
    mj = plane_scene('<body pos="0 0 0.1"><freejoint/><geom type="box" size="0.1 0.1 0.1" mass="1"/></body>'
                '<body pos="0 0 0.3"><freejoint/><geom type="box" size="0.1 0.1 0.1" mass="1"/></body>')  # fmt: skip
    ref, ours = both_trajectories(mj, 500)
    # exactly aligned faces are a tie for the box-box clipping (which corners it keeps), where float32 and MuJoCo's
    # float64 can pick differently: the same rest, a different microscopic rotation (measured 1.7e-4)
    assert np.abs(ours - ref).max() < 1e-3
    velocity = np.abs(np.diff(ours[:, [0, 1, 2, 7, 8, 9]], axis=0)).max() / 0.002
    assert velocity < 0.05  # settles by a fraction of a millimetre, never thrown


def test_disabled_constraints_are_honored():
    """<flag constraint="disable"/>: the ball falls through the floor and a joint limit is ignored, as in MuJoCo."""
    xml = """<mujoco><option timestep="0.002"><flag constraint="disable"/></option><worldbody>
      <geom type="plane" size="5 5 .1"/>
      <body pos="0 0 0.3"><freejoint/><geom type="sphere" size="0.1" mass="1"/></body>
      <body pos="1 0 1"><joint type="hinge" axis="0 1 0" range="-10 10" limited="true"/>
        <geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.02" mass="1"/></body></worldbody></mujoco>"""
    mj = mujoco.MjModel.from_xml_string(xml)
    ref, ours = both_trajectories(mj, 500)
    assert np.abs(ours - ref).max() < 1e-4
    assert ours[-1, 2] < -0.5  # through the floor
    assert np.abs(ours[:, 7]).max() > np.radians(60)  # swings far past the 10° limit


_EQUALITY_BODIES = """
  <site name="anchor" pos="0.45 0.15 1.05"/>
  <body name="a" pos="0.3 0.1 1"><freejoint/><geom type="box" size="0.1 0.05 0.02" mass="1"/>
    <site name="s" pos="0.1 0 0"/>
    <body name="c" pos="0.2 0 0"><joint name="h1" type="hinge" axis="0 1 0"/>
      <geom type="capsule" fromto="0 0 0 0.2 0 0" size="0.02" mass="0.3"/></body></body>
  <body name="b" pos="-0.4 0 1"><freejoint/><geom type="sphere" size="0.05" mass="0.5"/>
    <body name="d" pos="0 0 -0.2">
      <joint name="h2" type="hinge" axis="1 0 0"/><joint name="s2" type="slide" axis="0 0 1"/>
      <geom type="capsule" fromto="0 0 0 0 0 -0.2" size="0.02" mass="0.2"/></body></body>"""
_TENDON = '<tendon><fixed name="t"><joint joint="h1" coef="1"/><joint joint="h2" coef="-0.5"/></fixed></tendon>'
_EQUALITIES = {
    "weld_to_world": '<weld body1="c" anchor="0.1 0 0" torquescale="0.5"/>',
    "weld_world_first": '<weld body1="world" body2="b" torquescale="0.3"/>',
    "weld_two_bodies": '<weld body1="c" body2="d" torquescale="2" solref="0.01 1"/>',
    "connect_to_world": '<connect body1="a" anchor="0.1 0 0"/>',
    "connect_site_to_world_site": '<connect site1="s" site2="anchor"/>',
    "connect_two_bodies": '<connect body1="c" body2="d" anchor="0.2 0 0" solimp="0.8 0.95 0.01 0.5 2"/>',
    "joint_coupling": '<joint joint1="h1" joint2="h2" polycoef="0.1 -0.7 0.2 0 0"/>'
    '<joint joint1="s2" polycoef="0.05 0 0 0 0"/>',
    "tendon": '<tendon tendon1="t" polycoef="0.2 0 0 0 0"/>',
}


@pytest.mark.parametrize("name", list(_EQUALITIES))
def test_equality_constraints_follow_mujoco(name):
    """Connect, weld (to the world, from the world, between bodies and sites), joint and tendon equalities: bodies
    start away from where the constraint holds, are pulled there and hang under gravity for 1 s."""
    mj = mujoco.MjModel.from_xml_string(
        f'<mujoco><option timestep="0.002"/><worldbody>{_EQUALITY_BODIES}</worldbody>{_TENDON}'
        f"<equality>{_EQUALITIES[name]}</equality></mujoco>"
    )
    rng = np.random.default_rng(3)
    qvel0 = rng.normal(0, 0.5, mj.nv)
    ref, ours = both_trajectories(mj, 500, qvel0=qvel0)
    moved = np.abs(ref[-1] - ref[0]).max()
    assert moved > 0.05, moved  # the constraint does work: the start is violated or the bodies swing
    assert np.abs(ours - ref).max() < 1e-3, np.abs(ours - ref).max(axis=0)
