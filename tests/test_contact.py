"""Soft contact against closed-form physics and MuJoCo's contact rules."""

import mujoco
import torch

import worldsim

G = 9.81


def test_sphere_comes_to_rest_at_its_radius(asset):
    """Dropped from 0.5 m, the 0.1 m sphere settles with its centre at z = radius (±3 mm)."""
    model = worldsim.load_mjcf(asset("ball.xml"), num_worlds=2)
    model.set_params(body_mass=torch.tensor([[0.0, 1.0], [0.0, 20.0]]))  # light and heavy: both within 3 mm
    qpos0, qvel0 = model.default_state()
    qs, vs = worldsim.rollout(model, qpos0, qvel0, torch.zeros(2000, 2, 0))
    z, vz = qs[-1, :, 2], vs[-1, :, 2]
    assert torch.all(torch.abs(z - 0.1) < 3e-3), z
    assert torch.all(torch.abs(vz) < 1e-2), vz
    assert qs[:, :, 2].min() > 0.085  # impact at 3 m/s penetrates about v / sqrt(contact_stiffness) ≈ 12 mm, no more


def test_sliding_box_stops_after_v0_squared_over_2_mu_g(asset):
    """Box launched at v0 on a plane stops after v0²/(2 μ g) (±5%); μ = max of the pair (MuJoCo's rule)."""
    model = worldsim.load_mjcf(asset("box_slide.xml"), num_worlds=4)
    # geom 0 = floor, geom 1 = box; per world (floor μ, box μ)
    pairs = torch.tensor([[0.3, 0.5], [0.7, 0.1], [0.2, 0.2], [0.6, 0.4]])  # μ ≤ 0.7: a cube tips over at μ = 1
    friction = model.get_params()["geom_friction"].clone()
    friction[:, :, 0] = pairs
    model.set_params(geom_friction=friction)
    v0 = torch.tensor([2.0, 3.0, 1.0, 2.5])
    qpos0, qvel0 = model.default_state()
    rest, _ = worldsim.rollout(model, qpos0, qvel0, torch.zeros(300, 4, 0))  # settle on the floor first
    qvel0[:, 0] = v0
    qs, vs = worldsim.rollout(model, rest[-1], qvel0, torch.zeros(1500, 4, 0))
    mu = pairs.max(dim=1).values
    expected = v0**2 / (2 * mu * G)
    travelled = qs[-1, :, 0] - rest[-1, :, 0]
    assert torch.all(torch.abs(travelled - expected) / expected < 0.05), (travelled, expected)
    assert torch.all(torch.abs(vs[-1, :, 0]) < 1e-2)
    assert torch.all(torch.abs(qs[-1, :, 2] - 0.1) < 3e-3)  # still resting on its face


def test_contact_never_pulls_and_is_zero_out_of_contact(asset):
    """Through bounces the ball's vertical acceleration is never below -g (the floor never pulls it down), and
    just above the floor the acceleration is exactly -g."""
    model = worldsim.load_mjcf(asset("ball.xml"))
    qpos0, qvel0 = model.default_state()
    qvel0[0, :3] = torch.tensor([0.5, 0.0, -2.0])
    qs, vs = worldsim.rollout(model, qpos0, qvel0, torch.zeros(600, 1, 0))
    az = torch.diff(vs[:, 0, 2]) / model.timestep
    assert az.min() > -G - 1e-2
    assert az.max() > 10 * G  # there were hard impacts

    qpos0[0, 2] = 0.1 + 0.5 * model.get_params()["contact_smoothing"][0] + 1e-4  # just beyond the band, at rest
    _, vs = worldsim.rollout(model, qpos0, torch.zeros(1, 6), torch.zeros(1, 1, 0))
    assert abs(vs[0, 0, 2].item() + G * model.timestep) < 1e-6


def test_contype_conaffinity_and_parent_child_filtering(asset):
    """Pairs follow MuJoCo: contype/conaffinity masks, no parent-child contact, world pairs kept."""
    model = worldsim.load_mjcf(asset("filtering.xml"))
    names = model.names["geom"]
    pairs = {tuple(sorted((names[a], names[b]))) for a, b in model.slot_pairs}
    assert ("floor", "ghost") not in pairs  # contype 2 vs floor's conaffinity 1
    assert ("lower", "upper") not in pairs and ("hand", "lower") not in pairs  # parent-child
    assert ("hand", "upper") in pairs  # grandparent: collides, as in MuJoCo
    assert ("ball2", "floor") in pairs and ("floor", "hand") in pairs
    # the ghost sphere falls through the floor
    qpos0, qvel0 = model.default_state()
    qs, _ = worldsim.rollout(model, qpos0, qvel0, torch.zeros(400, 1, 0))
    ghost_z = qs[:, 0, 2]
    assert ghost_z[-1] < -0.2


def test_pair_filter_agrees_with_mujoco_collision_detection(asset):
    """Every pair MuJoCo reports as touching in a crowded configuration is a worldsim contact pair."""
    mj = mujoco.MjModel.from_xml_path(asset("filtering.xml"))
    d = mujoco.MjData(mj)
    d.qpos[:] = mj.qpos0
    d.qpos[mj.jnt_qposadr[1] : mj.jnt_qposadr[1] + 3] = [0, 0, 0]  # unused
    mujoco.mj_forward(mj, d)
    model = worldsim.load_mjcf(asset("filtering.xml"))
    ours = {tuple(sorted(p)) for p in model.slot_pairs}
    for c in d.contact[: d.ncon]:
        assert tuple(sorted((int(c.geom1), int(c.geom2)))) in ours
