"""worldsim.sysid from states: recover known mass, friction and damping of gymnasium's HalfCheetah from noisy
synthetic trajectories; the uncertainty, the fit-to-DR hand-off, and bad input."""

import numpy as np
import pytest
import torch

import worldsim
from worldsim.envs.tasks import HalfCheetah
from worldsim.randomization import ParamRandomization, Uniform
from worldsim.sysid import FitParam, Trajectories, fit_parameters, synthetic_trajectories

FIT = [FitParam("body_mass", (1,), "torso mass"), FitParam("geom_friction", (slice(None), 0), "friction"),
       FitParam("dof_damping", (3,), "bthigh damping")]  # fmt: skip


@pytest.fixture(scope="module")
def logged():
    """4 HalfCheetah trajectories of 30 control steps under smooth random actions, with a hidden torso mass
    (x1.15), friction (0.55, nominal 0.4) and back-thigh damping (x0.8); measurement noise 1e-3 / 1e-2."""
    K, T = 4, 30
    task = HalfCheetah(K, "cpu")
    model = task.model
    params = model.get_params()
    truth = {"torso mass": float(params["body_mass"][0, 1]) * 1.15, "friction": 0.55,
             "bthigh damping": float(params["dof_damping"][0, 3]) * 0.8}  # fmt: skip
    hidden = {k: params[k].clone() for k in ("body_mass", "geom_friction", "dof_damping")}
    hidden["body_mass"][:, 1] = truth["torso mass"]
    hidden["geom_friction"][:, :, 0] = truth["friction"]
    hidden["dof_damping"][:, 3] = truth["bthigh damping"]
    gen = torch.Generator().manual_seed(0)
    qpos0, qvel0 = task.sample_reset(K, gen)
    ctrl = torch.rand(K, T, model.nu, generator=gen) * 2 - 1
    for t in range(1, T):
        ctrl[:, t] = 0.7 * ctrl[:, t - 1] + 0.3 * ctrl[:, t]
    data = synthetic_trajectories(model, qpos0, qvel0, ctrl, hidden, frame_skip=5, noise=(1e-3, 1e-2))
    return model, data, truth


def test_recovers_mass_friction_and_damping_from_noisy_trajectories(logged):
    model, data, truth = logged
    result = fit_parameters(model, data, FIT, window=10, candidates=2, iters=80, fit_initial_state=True)
    for p, v in zip(FIT, result.values.tolist(), strict=True):
        assert v == pytest.approx(truth[p.title], rel=0.02), p.title  # the goal: within 2%
    assert result.history[-1] < 0.05 * result.history[0]
    assert (result.std > 0).all() and (result.std < 0.05 * result.values).all()
    assert result.candidate_values.shape == (2, 3) and result.candidate_losses.shape == (2,)
    assert "torso mass" in result.table(truth) and "%" in result.table(truth)

    # the fit as a domain randomization: per-world draws of the tied parameters inside the fitted range
    dr = result.to_randomization(width=3.0)
    draws = dr.sample(model.get_params(), torch.arange(4), torch.Generator().manual_seed(0))  # 4 worlds
    mass = draws["body_mass"][:, 1]
    lo, hi = dr.params[0].dist.low, dr.params[0].dist.high
    assert ((mass >= lo) & (mass <= hi)).all() and mass.unique().numel() == 4
    friction = draws["geom_friction"][:, :, 0]
    assert torch.allclose(friction, friction[:, :1].expand_as(friction))  # tied: one draw per world
    assert torch.equal(draws["geom_friction"][:, :, 1:], model.get_params()["geom_friction"][:4, :, 1:])

    # apply(): the fitted model reproduces the data better than the nominal one
    nominal_err = _prediction_error(model, data)
    result.apply(model)
    assert _prediction_error(model, data) < 0.2 * nominal_err


def _prediction_error(model, data: Trajectories) -> float:
    ctrl = data.ctrl.transpose(0, 1).repeat_interleave(data.frame_skip, 0)
    q, _ = worldsim.rollout(model, data.qpos[:, 0], data.qvel[:, 0], ctrl)
    return float((q[data.frame_skip - 1 :: data.frame_skip].transpose(0, 1) - data.qpos[:, 1:]).square().mean())


def test_param_randomization_index_and_shared(logged):
    params = logged[0].get_params()
    r = ParamRandomization("geom_friction", Uniform(0.1, 0.2), mode="set", index=(slice(None), 0), shared=True)
    new = r.apply(params["geom_friction"], torch.Generator().manual_seed(0))
    assert ((new[:, :, 0] >= 0.1) & (new[:, :, 0] <= 0.2)).all()
    assert torch.allclose(new[:, 0, 0], new[:, 1, 0]) and not torch.allclose(new[0, 0, 0], new[1, 0, 0])
    assert torch.equal(new[:, :, 1:], params["geom_friction"][:, :, 1:])
    with pytest.raises(ValueError, match="does not fit"):
        ParamRandomization("body_mass", Uniform(1, 2), index=(99,)).apply(params["body_mass"], torch.Generator())
    with pytest.raises(ValueError, match="index must be a tuple"):
        ParamRandomization("body_mass", Uniform(1, 2), index=1)


def test_bad_input_is_rejected(logged):
    model, data, _ = logged
    with pytest.raises(ValueError, match="unknown parameter"):
        FitParam("body_weight")
    with pytest.raises(ValueError, match="does not fit"):
        fit_parameters(model, data, [FitParam("body_mass", (99,))], iters=1)
    with pytest.raises(ValueError, match="at least one"):
        fit_parameters(model, data, [], iters=1)
    with pytest.raises(ValueError, match="window"):
        fit_parameters(model, data, FIT, window=1000, iters=1)
    with pytest.raises(ValueError, match="positive nominal"):
        fit_parameters(model, data, [FitParam("body_ipos", (0, 0))], iters=1)  # the world body: 0
    bad = Trajectories(data.qpos[:, :-1], data.qvel, data.ctrl, 5)
    with pytest.raises(ValueError, match="trajectories.qpos has shape"):
        fit_parameters(model, bad, FIT, iters=1)
    nan = Trajectories(data.qpos, data.qvel.clone().fill_(np.nan), data.ctrl, 5)
    with pytest.raises(ValueError, match="NaN"):
        fit_parameters(model, nan, FIT, iters=1)
