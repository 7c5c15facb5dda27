"""Flow matching against closed forms: the exact velocity field of a Gaussian toy minimizes the loss and transports
noise to the data distribution; Euler is first-order and Heun second-order on an analytic ODE."""

import math

import pytest
import torch

from worldsim.models.flow import euler_sample, flow_matching_loss, heun_sample, interpolate, logit_normal_time

MU, SIGMA = 2.0, 0.5  # the toy data distribution N(MU, SIGMA^2); noise is N(0, 1)


def exact_velocity(x, t):
    """E[x1 - x0 | x_t = x] for x0 ~ N(0, 1), x1 ~ N(MU, SIGMA^2): linear regression of x1 - x0 on x_t."""
    t = t.reshape(-1, *([1] * (x.dim() - 1)))
    var = (1 - t) ** 2 + t**2 * SIGMA**2
    cov = t * SIGMA**2 - (1 - t)
    return MU + cov / var * (x - t * MU)


def test_interpolation_and_time_sampling():
    x0, x1 = torch.zeros(2, 3), torch.ones(2, 3)
    torch.testing.assert_close(interpolate(x0, x1, torch.tensor([0.25, 1.0])), torch.tensor([[0.25] * 3, [1.0] * 3]))
    t = logit_normal_time((4000,), generator=torch.Generator().manual_seed(0))
    assert 0 < float(t.min()) and float(t.max()) < 1 and abs(float(t.median()) - 0.5) < 0.03
    with pytest.raises(ValueError, match="same shape"):
        interpolate(x0, x1[:1], torch.ones(2))


def test_exact_velocity_minimizes_the_loss_and_transports_noise_to_data():
    g = torch.Generator().manual_seed(0)
    x1 = MU + SIGMA * torch.randn(20000, 1, generator=g, dtype=torch.float64)
    t = logit_normal_time((20000,), generator=g).double()
    noise = torch.randn(20000, 1, generator=g, dtype=torch.float64)
    best = flow_matching_loss(exact_velocity, x1, t, noise=noise)
    for bias in (0.2, -0.2):
        assert flow_matching_loss(lambda x, t, b=bias: exact_velocity(x, t) + b, x1, t, noise=noise) > best + 0.03
    z = torch.randn(20000, 1, generator=g, dtype=torch.float64)
    out = heun_sample(exact_velocity, z, steps=50)
    assert abs(float(out.mean()) - MU) < 0.02 and abs(float(out.std()) - SIGMA) < 0.02


def test_loss_weights_and_bad_input():
    x1 = torch.ones(2, 3, 4)
    t = torch.tensor([[1.0, 0.5, 0.0], [1.0, 1.0, 0.5]])  # one level per frame (diffusion forcing)
    zero = torch.zeros_like(x1)
    # a network that is right on frames with t < 1 only: weighting out the clean frames gives loss 0
    right = lambda x, tt: torch.where(tt[..., None] < 1, x1 - zero, torch.full_like(x1, 5.0))  # noqa: E731
    assert float(flow_matching_loss(right, x1, t, noise=zero, weight=(t < 1).float())) == 0.0
    assert float(flow_matching_loss(right, x1, t, noise=zero)) > 0.0
    with pytest.raises(ValueError, match="prefix"):
        flow_matching_loss(right, x1, torch.ones(3), noise=zero)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        flow_matching_loss(right, x1, t + 1, noise=zero)
    with pytest.raises(ValueError, match="steps"):
        euler_sample(right, x1, 0)


@pytest.mark.parametrize("sampler, order", [(euler_sample, 1), (heun_sample, 2)])
def test_sampler_order_on_an_analytic_ode(sampler, order):
    """dx/dt = x·cos(t) from x(0) = 1 has x(1) = exp(sin 1); halving h divides the error by 2^order."""
    f = lambda x, t: x * torch.cos(t)[:, None]  # noqa: E731
    x0 = torch.ones(1, 1, dtype=torch.float64)
    exact = math.exp(math.sin(1.0))
    errors = [abs(float(sampler(f, x0, n)[0, 0]) - exact) for n in (16, 32, 64)]
    rates = [math.log2(a / b) for a, b in zip(errors, errors[1:], strict=False)]
    assert all(abs(r - order) < 0.15 for r in rates), rates
