"""The solver's code paths agree: the CPU's local-storage Newton kernel and the array kernel used on CUDA, and a
step with its implicit-gradient corrections (differentiated rollouts) and without them (the simulator)."""

import mujoco
import numpy as np
import pytest
import torch
import warp as wp
from conftest import GYM_ASSETS

import worldsim
from worldsim.physics import integrator, solver, solver_unrolled, step, unrolled
from worldsim.physics.step import ParallelStep, State, StepWorkspace, params_to_warp

ELLIPTIC = """<mujoco><option timestep="0.002" cone="elliptic" impratio="3"/><worldbody>
  <geom type="plane" size="5 5 .1" friction="0.7 0.01 0.002" condim="6"/>
  <body pos="0 0 0.2"><freejoint/><geom type="box" size="0.1 0.08 0.05" mass="1" condim="4"/></body>
  <body pos="0.3 0 0.3"><freejoint/><geom type="sphere" size="0.07" mass="0.5" condim="6"/></body>
  <body pos="-0.3 0 0.5"><joint type="hinge" axis="0 1 0" frictionloss="0.3" range="-30 30"/>
    <geom type="capsule" fromto="0 0 0 0.3 0 -0.2" size="0.03" mass="0.4"/></body>
</worldbody></mujoco>"""


def _random_rollout(model, steps, seed=0, requires_grad=False):
    mj = model.mj_model
    rng = np.random.default_rng(seed)
    q0, v0 = model.default_state()
    v0 = v0 + torch.tensor(rng.normal(0, 0.5, (model.num_worlds, mj.nv)), dtype=torch.float32)
    lo, hi = (mj.actuator_ctrlrange[:, 0], mj.actuator_ctrlrange[:, 1]) if mj.nu else (np.zeros(0), np.zeros(0))
    ctrl = torch.tensor(rng.uniform(lo, hi, (steps, model.num_worlds, mj.nu)), dtype=torch.float32)
    v0.requires_grad_(requires_grad)
    return worldsim.rollout(model, q0, v0, ctrl), (q0, v0.detach(), ctrl)


def _steps(model, q, v, ctrl, *, gradients: bool):
    """(qpos, qvel) after stepping from (q, v) with ``ctrl`` [T, N, nu], with or without the gradient corrections
    (a step recorded with its adjoint, as rollout's backward pass runs it, or without, as the simulator)."""
    sws = StepWorkspace(model, requires_grad=gradients)
    s_in, s_out = State(model, requires_grad=gradients), State(model, requires_grad=gradients)
    params = {k: wp.clone(a, requires_grad=gradients) for k, a in params_to_warp(model.get_params()).items()}
    with torch.no_grad():
        wp.to_torch(s_in.qpos).copy_(q)
        wp.to_torch(s_in.qvel).copy_(v)
    run = ParallelStep(model, sws, params, s_in, s_out, adjoint=gradients)
    with torch.no_grad():
        for t in range(ctrl.shape[0]):
            wp.to_torch(s_in.ctrl).copy_(ctrl[t])
            run(model.timestep)
            for name in ("qpos", "qvel", "qpos_err"):
                wp.to_torch(getattr(s_in, name)).copy_(wp.to_torch(getattr(s_out, name)))
    return wp.to_torch(s_out.qpos).detach().clone(), wp.to_torch(s_out.qvel).detach().clone()


@pytest.mark.parametrize("name", ["half_cheetah", "ant"])
def test_gradient_corrections_leave_every_value_as_it_is(name):
    """The corrections launched when a step is differentiated (the solver's and Euler's implicit damping) change
    derivatives only: 100 steps through contacts with them (Euler with implicit damping; RK4) equal the same steps
    without them, bit for bit, so the simulator and rollout's recomputation in its backward pass agree."""
    model = worldsim.load_mjcf(str(GYM_ASSETS / f"{name}.xml"), num_worlds=4)
    rng = np.random.default_rng(0)
    q0, v0 = model.default_state()
    v0 = v0 + torch.tensor(rng.normal(0, 0.5, v0.shape), dtype=torch.float32)
    mj = model.mj_model
    ctrl = torch.tensor(rng.uniform(mj.actuator_ctrlrange[:, 0], mj.actuator_ctrlrange[:, 1], (100, 4, mj.nu)),
                        dtype=torch.float32)  # fmt: skip
    with_corrections = _steps(model, q0, v0, ctrl, gradients=True)
    without = _steps(model, q0, v0, ctrl, gradients=False)
    assert torch.equal(with_corrections[0], without[0]) and torch.equal(with_corrections[1], without[1])
    assert (without[0] - q0).abs().max() > 0.05


@pytest.mark.parametrize("name", ["half_cheetah", "ant", "humanoid", "elliptic_frictionloss"])
def test_unrolled_newton_equals_the_array_kernel(name, monkeypatch):
    """The CPU kernel generated for the model's nv (dof loops unrolled) and the array kernel (CUDA, large models)
    run the same algorithm: from 64 states met along random-action rollouts (pyramidal contacts and limits;
    elliptic contacts with condim 3, 4 and 6 and friction loss), the same accelerations to 1e-5 of their
    magnitude (measured: identical with pyramidal rows, 1.9e-6 with elliptic cones, whose Hessian terms are summed
    in another order)."""
    if name == "elliptic_frictionloss":
        model = worldsim.from_mjmodel(mujoco.MjModel.from_xml_string(ELLIPTIC), num_worlds=8)
    else:
        model = worldsim.load_mjcf(str(GYM_ASSETS / f"{name}.xml"), num_worlds=8)
    assert step.newton_kernel(model) is solver_unrolled.newton_kernel(model.nv)
    (qs, vs), (_, _, ctrl) = _random_rollout(model, 160)
    q0, v0, c = (x[::20].reshape(64, x.shape[-1]) for x in (qs, vs, ctrl))  # 8 times x 8 worlds
    one = (
        worldsim.load_mjcf(str(GYM_ASSETS / f"{name}.xml"), num_worlds=64)
        if name != "elliptic_frictionloss"
        else worldsim.from_mjmodel(mujoco.MjModel.from_xml_string(ELLIPTIC), num_worlds=64)
    )

    def one_step():
        sim = worldsim.Simulator(one)
        sim.reset(q0, v0)
        sim.step(c)
        ws = sim._ws.stages[0]
        return wp.to_torch(ws.qacc).clone(), wp.to_torch(ws.nefc)[:, 0].clone(), sim.qvel.clone()

    unrolled, nefc, qvel_unrolled = one_step()
    monkeypatch.setattr(step, "newton_kernel", lambda m: solver.eval_newton)
    monkeypatch.setattr(step, "euler_damping_solve_kernel", lambda m: integrator.eval_euler_damping_solve)
    array, _, qvel_array = one_step()
    # after Euler's implicit damping too (an unrolled kernel as well)
    assert (qvel_unrolled - qvel_array).abs().max() <= 1e-6 * qvel_array.abs().max()
    scale = unrolled.abs().max(dim=1).values
    assert ((unrolled - array).abs().max(dim=1).values <= 1e-5 * scale).all(), (unrolled - array).abs().max()
    assert (nefc > 0).sum() > 16  # a quarter of the states have constraint rows


def test_unrolled_kernel_sizes():
    assert solver_unrolled.newton_kernel(3) is solver_unrolled.newton_kernel(3)
    assert unrolled.supported(1) and unrolled.supported(unrolled.MAX_NV) and not unrolled.supported(0)
    with pytest.raises(ValueError, match=f"nv = {unrolled.MAX_NV + 1}"):
        solver_unrolled.newton_kernel(unrolled.MAX_NV + 1)
