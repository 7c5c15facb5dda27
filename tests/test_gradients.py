"""Gradients of losses through worldsim.rollout against central finite differences (value and sign)."""

import numpy as np
import pytest
import torch

import worldsim
from worldsim.physics.gradcheck import autodiff, finite_difference


def assert_gradients_agree(loss_fn, x, eps, indices, rtol=0.02, atol=1e-3):
    ad = autodiff(loss_fn, x, indices)
    fd = finite_difference(loss_fn, x, eps, indices)
    np.testing.assert_allclose(ad, fd, rtol=rtol, atol=atol)
    significant = np.abs(fd) > 10 * atol
    assert significant.any(), "the loss does not depend on the inputs: the test would prove nothing"
    assert np.all(np.sign(ad[significant]) == np.sign(fd[significant]))
    return ad, fd


def settled(model, steps: int = 300):
    """The model's state after resting ``steps`` steps from qpos0 (contacts at equilibrium), zero velocity."""
    qpos0, qvel0 = model.default_state()
    qs, _ = worldsim.rollout(model, qpos0, qvel0, torch.zeros(steps, model.num_worlds, model.nu))
    return qs[-1].clone(), torch.zeros_like(qvel0)


def test_bounce_gradient_wrt_initial_velocity(asset):
    """A spinning ball thrown at the floor: final position after the bounce w.r.t. all 6 initial velocities."""
    model = worldsim.load_mjcf(asset("ball.xml"))
    qpos0, _ = model.default_state()
    qpos0[0, 2] = 0.3
    ctrl = torch.zeros(150, 1, 0)

    def loss(v):
        qs, _ = worldsim.rollout(model, qpos0, v, ctrl)
        return qs[-1, 0, 0] + 0.2 * qs[-1, 0, 1] + 0.5 * qs[-1, 0, 2]

    v0 = torch.tensor([[1.0, 0.2, -1.0, 0.5, -0.3, 0.1]])
    assert_gradients_agree(loss, v0, 1e-3, range(6))


def test_sliding_friction_gradient_wrt_friction_and_initial_velocity(asset):
    model = worldsim.load_mjcf(asset("box_slide.xml"))
    qpos0, qvel0 = settled(model)
    qvel0[0, 0] = 1.5
    friction0 = model.get_params()["geom_friction"].clone()
    ctrl = torch.zeros(200, 1, 0)

    def loss_mu(mu):
        friction = friction0.clone()
        friction[0, 1, 0] = mu[0]  # the box's μ (0.5) wins over the floor's (0.3)
        qs, _ = worldsim.rollout(model, qpos0, qvel0, ctrl, params={"geom_friction": friction})
        return qs[-1, 0, 0]

    ad, _ = assert_gradients_agree(loss_mu, torch.tensor([0.5]), 1e-2, [0])
    # closed form: d/dμ [v0²/(2μg)] = -v0²/(2μ²g)
    assert ad[0] == pytest.approx(-(1.5**2) / (2 * 0.5**2 * 9.81), rel=0.05)

    def loss_v(v):
        qs, _ = worldsim.rollout(model, qpos0, v, ctrl)
        return qs[-1, 0, 0]

    ad, _ = assert_gradients_agree(loss_v, qvel0, 1e-2, [0])
    assert ad[0] == pytest.approx(1.5 / (0.5 * 9.81), rel=0.05)  # d/dv0 [v0²/(2μg)]


def test_torque_sequence_and_mass_gradients(asset):
    """Pendulum with a geared motor: final state w.r.t. the control sequence and the link masses."""
    model = worldsim.load_mjcf(asset("pendulum.xml"))
    qpos0, qvel0 = model.default_state()
    horizon = 200
    ctrl = (0.5 * torch.sin(torch.linspace(0, 6, horizon))).reshape(horizon, 1, 1)

    def loss_u(u):
        qs, vs = worldsim.rollout(model, qpos0, qvel0, u)
        return qs[-1, 0, 0] + 0.3 * vs[-1, 0, 1]

    assert_gradients_agree(loss_u, ctrl, 1e-2, [0, 50, 100, 150, 199], atol=2e-4)

    mass0 = model.get_params()["body_mass"]

    def loss_m(mass):
        qs, vs = worldsim.rollout(model, qpos0, qvel0, ctrl, params={"body_mass": mass})
        return qs[-1, 0, 0] + 0.3 * vs[-1, 0, 1]

    assert_gradients_agree(loss_m, mass0, 1e-2, [1, 2])


def test_damping_armature_gravity_gradients(asset):
    model = worldsim.load_mjcf(asset("pendulum.xml"))
    qpos0 = torch.tensor([[0.8, -0.4]])
    qvel0 = torch.zeros(1, 2)
    ctrl = torch.zeros(150, 1, 1)
    for name, idx, eps in [("dof_damping", [0, 1], 1e-2), ("dof_armature", [0, 1], 1e-2), ("gravity", [0, 2], 1e-2)]:
        base = model.get_params()[name]

        def loss(p, name=name):
            qs, _ = worldsim.rollout(model, qpos0, qvel0, ctrl, params={name: p})
            return qs[-1, 0].sum()

        assert_gradients_agree(loss, base, eps, idx, atol=2e-4)


def test_contact_parameter_gradient_through_a_bounce(asset):
    """Height on the way up after one bounce w.r.t. the contact damping (more damping: lower bounce)."""
    model = worldsim.load_mjcf(asset("ball.xml"))
    qpos0, qvel0 = model.default_state()
    qpos0[0, 2] = 0.3
    ctrl = torch.zeros(130, 1, 0)

    def loss(c):
        qs, _ = worldsim.rollout(model, qpos0, qvel0, ctrl, params={"contact_damping": c})
        return qs[-1, 0, 2]

    ad, _ = assert_gradients_agree(loss, torch.tensor([100.0]), 1.0, [0], atol=1e-5)
    assert ad[0] < 0


def test_model_parameters_with_requires_grad_receive_gradients(asset):
    model = worldsim.load_mjcf(asset("pendulum.xml"), requires_grad=True)
    qpos0, qvel0 = model.default_state()
    qs, vs = worldsim.rollout(model, qpos0 + 0.3, qvel0, torch.ones(100, 1, 1))
    (qs[-1].sum() + vs[-1].sum()).backward()
    params = model.get_params()
    for name in ("body_mass", "body_inertia", "body_ipos", "dof_damping", "actuator_gear", "gravity"):
        assert params[name].grad is not None and torch.isfinite(params[name].grad).all(), name
        assert params[name].grad.abs().sum() > 0, name
    assert params["body_mass"].grad[0, 0] == 0  # the world body has no dynamics


def test_substeps_gradient(asset):
    """With 3 substeps per step: a throw through a bounce w.r.t. the horizontal velocity and the contact damping."""
    model = worldsim.load_mjcf(asset("ball.xml"), substeps=3)
    qpos0, qvel0 = model.default_state()
    qpos0[0, 2] = 0.3
    qvel0[0, 0] = 0.7
    ctrl = torch.zeros(130, 1, 0)

    def loss_v(v):
        qs, _ = worldsim.rollout(model, qpos0, v, ctrl)
        return qs[-1, 0, 0] + qs[-1, 0, 2]

    assert_gradients_agree(loss_v, qvel0, 1e-3, [0])

    def loss_c(c):
        qs, _ = worldsim.rollout(model, qpos0, qvel0, ctrl, params={"contact_damping": c})
        return qs[-1, 0, 2]

    ad, _ = assert_gradients_agree(loss_c, model.get_params()["contact_damping"], 1.0, [0], atol=1e-5)
    assert ad[0] < 0


def test_2000_step_rollout_has_finite_gradients(asset):
    """A long horizon (bounces, then resting contact) back-propagates without running out of memory or NaN."""
    model = worldsim.load_mjcf(asset("ball.xml"), num_worlds=2)
    qpos0, qvel0 = model.default_state()
    qvel0 = torch.tensor([[1.0, 0.0, 0.0, 0.0, 2.0, 0.0], [-0.5, 0.3, 1.0, 1.0, 0.0, 0.0]], requires_grad=True)
    qs, vs = worldsim.rollout(model, qpos0, qvel0, torch.zeros(2000, 2, 0))
    assert qs.shape == (2000, 2, 7)
    (qs[:, :, :3].square().sum()).backward()
    assert torch.isfinite(qvel0.grad).all()
    assert qvel0.grad.abs().sum() > 0
