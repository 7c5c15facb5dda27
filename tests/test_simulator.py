"""The stateful Simulator: partial resets, zero-copy state views, parameters taking effect at once."""

import pytest
import torch

import worldsim


def test_partial_reset_and_zero_copy_views(asset):
    model = worldsim.load_mjcf(asset("pendulum.xml"), num_worlds=3)
    sim = worldsim.Simulator(model)
    qpos_view = sim.qpos
    sim.reset(qpos=torch.tensor([[0.5, 0.0], [0.2, 0.1], [-0.4, 0.3]]))
    for _ in range(10):
        sim.step(torch.ones(3, 1))
    moved = sim.qpos.clone()
    assert sim.qpos is qpos_view  # the same tensor object always shows the current state
    assert sim.qpos.data_ptr() == sim._state.qpos.ptr  # shares memory with the Warp state: no copy
    sim.reset(worlds=torch.tensor([False, True, False]))
    torch.testing.assert_close(sim.qpos[1], model.default_state()[0][1])
    assert torch.all(sim.qvel[1] == 0)
    torch.testing.assert_close(sim.qpos[[0, 2]], moved[[0, 2]])  # the others are untouched
    sim.reset(qpos=torch.tensor([0.1, 0.2]), worlds=[0, 2])  # one state for every selected world
    assert torch.all(sim.qpos[[0, 2]] == torch.tensor([0.1, 0.2]))
    assert torch.allclose(sim.time, torch.tensor([0.0, 0.0, 0.0], dtype=torch.float64))


def test_set_params_takes_effect_in_the_next_step(asset):
    model = worldsim.load_mjcf(asset("ball.xml"), num_worlds=2)
    sim = worldsim.Simulator(model)
    model.set_params(gravity=torch.tensor([[0.0, 0.0, -9.81], [0.0, 0.0, -1.62]]))  # Earth and Moon
    sim.step()
    vz = sim.qvel[:, 2]
    torch.testing.assert_close(vz, torch.tensor([-9.81, -1.62]) * model.timestep)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu(asset):
    """Same kernels on both devices: a contact-rich rollout agrees between CPU and CUDA."""
    out = {}
    for device in ("cpu", "cuda"):
        model = worldsim.load_mjcf(asset("ball.xml"), num_worlds=4, device=device)
        qpos0, qvel0 = model.default_state()
        qvel0[:, 0] = torch.linspace(0, 2, 4, device=model.device)
        qs, _ = worldsim.rollout(model, qpos0, qvel0, torch.zeros(300, 4, 0, device=model.device))
        out[device] = qs.cpu()
    torch.testing.assert_close(out["cuda"], out["cpu"], rtol=0, atol=1e-4)


def test_forward_and_data_match_mujoco():
    """Simulator.forward() is mj_forward: at a state with contacts, velocities and controls, the data fields equal
    MuJoCo's (bias and actuator forces, constraint forces, com-based cfrc_ext moved to MuJoCo's point), and the
    state, clock and warm start are untouched."""
    import mujoco
    import numpy as np
    from conftest import GYM_ASSETS

    mj = mujoco.MjModel.from_xml_path(str(GYM_ASSETS / "ant.xml"))
    d = mujoco.MjData(mj)
    rng = np.random.default_rng(0)
    d.qpos[:] = mj.qpos0 + rng.uniform(-0.1, 0.1, mj.nq)
    d.qpos[2] = 0.3  # legs pressed into the floor
    d.qvel[:] = rng.normal(0, 0.3, mj.nv)
    d.ctrl[:] = rng.uniform(-1, 1, mj.nu)
    mujoco.mj_forward(mj, d)
    mujoco.mj_rnePostConstraint(mj, d)
    assert d.ncon > 0
    model = worldsim.from_mjmodel(mj)
    model.want_body_forces = True
    sim = worldsim.Simulator(model)
    sim.reset(torch.tensor(d.qpos, dtype=torch.float32), torch.tensor(d.qvel, dtype=torch.float32))
    sim.ctrl[:] = torch.tensor(d.ctrl, dtype=torch.float32)
    q, t = sim.qpos.clone(), sim.time.clone()
    sim.forward()
    assert torch.equal(sim.qpos, q) and torch.equal(sim.time, t)
    for name in ("qfrc_bias", "qfrc_actuator", "qfrc_constraint"):
        np.testing.assert_allclose(
            sim.data(name)[0].numpy(), getattr(d, name), atol=2e-3 * (1 + np.abs(getattr(d, name)).max())
        )
    # cfrc_ext about the tree origin here, about the tree's centre of mass in MuJoCo
    com = sim.data("subtree_com")[0, 1].numpy()
    f = sim.data("cfrc_ext")[0].numpy()
    ours = np.concatenate([f[:, :3] - np.cross(com, f[:, 3:]), f[:, 3:]], axis=1)
    np.testing.assert_allclose(ours, d.cfrc_ext, atol=2e-3 * (1 + np.abs(d.cfrc_ext).max()))
    with pytest.raises(ValueError, match="unknown data field"):
        sim.data("no_such_field")
