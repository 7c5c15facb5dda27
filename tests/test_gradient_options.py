"""Gradient estimation options: randomized smoothing, clipping and truncated back-propagation."""

import pytest
import torch

import worldsim
from worldsim import ModelBuilder


def wall_scene():
    """A ball flying along +x in zero gravity past the edge of a wall that covers y in [0.2, 0.8]."""
    b = ModelBuilder(gravity=(0, 0, 0))
    wall = b.add_body(pos=(1.0, 0.5, 0.0))
    b.add_shape_box(wall, half_extents=(0.05, 0.3, 0.5))
    ball = b.add_body(pos=(0.0, 0.0, 0.0))
    b.add_joint_free(ball)
    b.add_shape_sphere(ball, radius=0.1, mass=1.0)
    return b.finalize()


def final_x(model, vy, smoothing=None):
    qpos0, _ = model.default_state()
    qvel0 = torch.zeros(1, 6)
    qvel0[0, 0] = 2.0
    qvel0 = qvel0 + torch.nn.functional.pad(vy.reshape(1, 1), (1, 4))  # vy in slot 1, differentiable
    ctrl = torch.zeros(500, 1, 0)
    if smoothing is None:
        qs, _ = worldsim.rollout(model, qpos0, qvel0, ctrl)
    else:
        qs, _ = worldsim.smoothed_rollout(model, qpos0, qvel0, ctrl, **smoothing)
    return qs[-1, 0, 0]


def test_randomized_smoothing_sees_the_wall_the_plain_gradient_misses():
    model = wall_scene()
    vy = torch.tensor(0.0, requires_grad=True)
    x = final_x(model, vy)
    x.backward()
    assert x.item() == pytest.approx(2.0, abs=1e-3)  # it flies past the wall
    assert vy.grad.item() == 0.0  # and the plain gradient knows nothing about the wall

    with torch.no_grad():  # steering towards the wall makes it bounce back: the true trend is strongly negative
        trend = (final_x(model, torch.tensor(0.4)) - final_x(model, torch.tensor(0.0))).item() / 0.4
    assert trend < -1.0

    vy = torch.tensor(0.0, requires_grad=True)
    gen = torch.Generator().manual_seed(0)
    smooth = {"sigma": 0.25, "num_samples": 24, "perturb": ("qvel0",), "generator": gen}
    final_x(model, vy, smooth).backward()
    assert vy.grad.item() < -0.1  # the smoothed gradient points the way the trend goes


def test_smoothing_errors(asset):
    model = worldsim.load_mjcf(asset("ball.xml"))
    q, v = model.default_state()
    u = torch.zeros(2, 1, 0)
    with pytest.raises(ValueError, match="perturb may name"):
        worldsim.smoothed_rollout(model, q, v, u, sigma=0.1, perturb=("mass",))
    with pytest.raises(ValueError, match="num_samples must be a positive integer"):
        worldsim.smoothed_rollout(model, q, v, u, sigma=0.1, num_samples=0)
    with pytest.raises(ValueError, match="sigma for 'ctrl' must be a number >= 0"):
        worldsim.smoothed_rollout(model, q, v, u, sigma={"qvel0": 0.1})


def _pendulum_grads(asset, **options):
    model = worldsim.load_mjcf(asset("pendulum.xml"))
    qpos0, _ = model.default_state()
    qvel0 = torch.zeros(1, 2, requires_grad=True)
    ctrl = torch.full((100, 1, 1), 0.3, requires_grad=True)
    qs, vs = worldsim.rollout(model, qpos0 + 0.5, qvel0, ctrl, **options)
    (1e6 * (qs[-1].sum() + vs[-1].sum())).backward()
    return qvel0.grad, ctrl.grad[:, 0, 0]


def test_grad_window_truncates_back_propagation(asset):
    full_v, full_u = _pendulum_grads(asset)
    v, u = _pendulum_grads(asset, grad_window=30)
    torch.testing.assert_close(u[-30:], full_u[-30:])  # inside the last window: exact
    assert torch.all(u[:-30] == 0) and torch.all(v == 0)  # before it: cut
    assert full_u[:-30].abs().sum() > 0 and full_v.abs().sum() > 0


def test_grad_clip_bounds_the_adjoint(asset):
    full_v, _ = _pendulum_grads(asset)
    v, u = _pendulum_grads(asset, grad_clip=5.0)
    assert full_v.norm() > 1e3
    assert v.norm() <= 5.0 + 1e-4 and torch.isfinite(u).all()
    with pytest.raises(ValueError, match="grad_clip must be a positive number"):
        _pendulum_grads(asset, grad_clip=0.0)
    with pytest.raises(ValueError, match="grad_window must be a positive integer"):
        _pendulum_grads(asset, grad_window=2.5)
