"""Contact-free dynamics held against MuJoCo's Euler integrator (mj_step), qpos and qvel, same MJCF file."""

import mujoco
import numpy as np
import torch
from conftest import mujoco_trajectory

import worldsim

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
    assert errs[:, 0].max() < 1e-3, errs
    assert errs[:, 1].max() < 1e-2, errs


def test_tumbling_free_body_with_ball_and_slide(asset):
    """Asymmetric free body (gyroscopic terms) carrying a ball joint and a slide joint with a spring."""
    mj = mujoco.MjModel.from_xml_path(asset("tumbling.xml"))
    rng = np.random.default_rng(1)
    n = 2
    qpos0 = np.tile(mj.qpos0, (n, 1)).astype(np.float32)
    qvel0 = rng.normal(0, 2, (n, mj.nv)).astype(np.float32)
    errs = _compare(asset("tumbling.xml"), qpos0, qvel0, np.zeros((HALF_SECOND, n, 0), np.float32))
    assert errs[:, 0].max() < 1e-3, errs
    assert errs[:, 1].max() < 1e-2, errs


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
        assert np.abs(qs[:, w].numpy() - rq).max() < 1e-3
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
