"""worldsim.optim: every optimizer against the closed-form optimum of a linear-quadratic problem (a double
integrator, where the simulator is exactly linear), bounds, the tasks' costs against the envs' rewards, the
differentiable env step, and the MPC loop on a task."""

import gymnasium
import numpy as np
import pytest
import scipy.optimize
import torch

import worldsim
from worldsim.optim import CEM, MPPI, GradientShooting, TaskProblem, TrajectoryProblem, mpc

H, T, R = 0.05, 20, 0.01  # timestep [s], horizon, control weight


def double_integrator(num_worlds: int, bound: float = 10.0) -> worldsim.Model:
    """A 1 kg point on a frictionless slide, pushed by a motor (1 N per unit control): with semi-implicit Euler
    x' = x + h v', v' = v + h u exactly."""
    b = worldsim.ModelBuilder(timestep=H, gravity=(0, 0, 0))
    body = b.add_body(pos=(0, 0, 0))
    joint = b.add_joint_slide(body, axis=(1, 0, 0))
    b.add_shape_sphere(body, radius=0.05, mass=1.0, contype=0, conaffinity=0)
    b.add_actuator_motor(joint, gear=1.0, ctrlrange=(-bound, bound))
    return b.finalize(num_worlds=num_worlds)


def lq_cost(qpos, qvel, ctrl):
    """Σ_t (x_t − 1)² + 0.1 v_t² + R u_t²: reach x = 1 and stop."""
    return ((qpos[1:, :, 0] - 1).square() + 0.1 * qvel[1:, :, 0].square()).sum(0) + R * ctrl.square().sum((0, 2))


def lq_matrices():
    """States stacked over the horizon as affine functions of the controls: x = Gx u, v = Gv u (from rest)."""
    Gv = H * torch.tril(torch.ones(T, T, dtype=torch.float64))  # v_t = h Σ_{s<=t} u_s
    Gx = H * torch.tril(torch.ones(T, T, dtype=torch.float64)) @ Gv  # x_t = h Σ_{s<=t} v_s
    return Gx, Gv


def lq_optimum(bound: float | None = None) -> tuple[np.ndarray, float]:
    """The exact optimum (bounded: scipy's bounded linear least squares) and its cost."""
    Gx, Gv = lq_matrices()
    A = torch.cat([Gx, 0.1**0.5 * Gv, R**0.5 * torch.eye(T, dtype=torch.float64)]).numpy()
    b = np.concatenate([np.ones(T), np.zeros(2 * T)])
    if bound is None:
        u = np.linalg.lstsq(A, b, rcond=None)[0]
    else:
        u = scipy.optimize.lsq_linear(A, b, bounds=(-bound, bound), tol=1e-12).x
    return u, float(np.square(A @ u - b).sum())


def lq_problem(num_worlds: int, bound: float = 10.0) -> TrajectoryProblem:
    model = double_integrator(num_worlds, bound)
    return TrajectoryProblem(model, lq_cost, torch.zeros(1), torch.zeros(1), T)


def test_the_simulator_is_the_linear_system_of_the_oracle():
    """The oracle's matrices predict the simulated states (so the optimum below is the simulator's)."""
    problem = lq_problem(1)
    u = torch.randn(T, 1, 1, generator=torch.Generator().manual_seed(0))
    qpos, qvel = problem.simulate(u)
    Gx, Gv = lq_matrices()
    np.testing.assert_allclose(qpos[1:, 0, 0].numpy(), (Gx @ u[:, 0, 0].double()).numpy(), atol=1e-5)
    np.testing.assert_allclose(qvel[1:, 0, 0].numpy(), (Gv @ u[:, 0, 0].double()).numpy(), atol=1e-5)


@pytest.mark.parametrize(
    "solver, num_worlds, rel_tol",
    [
        (GradientShooting(iters=30, optimizer="lbfgs"), 1, 1e-4),
        (GradientShooting(iters=300, optimizer="adam", lr=0.05), 1, 2e-3),
        (GradientShooting(iters=60, optimizer="lbfgs", segments=4, defect="auglag", defect_weight=100.0), 1, 1e-3),
        (GradientShooting(iters=300, optimizer="adam", lr=0.05, segments=4, defect="penalty"), 1, 2e-2),  # penalty bias
        (CEM(iters=60, std=0.3), 256, 2e-2),
        (MPPI(iters=100, std=0.05), 256, 2e-2),
    ],
    ids=["lbfgs", "adam", "multiple-shooting-auglag", "multiple-shooting-penalty", "cem", "mppi"],
)
def test_optimizers_reach_the_lqr_optimum(solver, num_worlds, rel_tol):
    u_star, cost_star = lq_optimum()
    result = solver.solve(lq_problem(num_worlds))
    assert result.cost == pytest.approx(cost_star, rel=rel_tol)
    assert result.cost >= cost_star * (1 - 1e-4)  # nothing beats the optimum (the oracle is the simulator)
    if isinstance(solver, GradientShooting) and solver.optimizer == "lbfgs":
        np.testing.assert_allclose(result.ctrl[:, 0].numpy(), u_star, atol=2e-2 * np.abs(u_star).max())
    # the history is what the optimizer did: monotone best cost, steps counted per world and physics step
    costs = [h["cost"] for h in result.history]
    assert costs == sorted(costs, reverse=True) and len(costs) >= 1
    assert result.history[-1]["sim_steps"] >= len(result.history) * T * num_worlds
    assert result.qpos.shape == (T + 1, 1) and result.ctrl.shape == (T, 1)


@pytest.mark.parametrize("solver, num_worlds", [(GradientShooting(iters=40, optimizer="lbfgs"), 1),
                                                (GradientShooting(iters=200, lr=0.1), 1),
                                                (CEM(iters=40), 128), (MPPI(iters=40), 128)])  # fmt: skip
def test_control_bounds_are_respected(solver, num_worlds):
    """With |u| <= 1 the unbounded optimum (|u| up to ~9) is infeasible: the result stays in the bounds and the
    gradient methods find the bounded optimum (scipy's bounded least squares)."""
    u_bounded, cost_bounded = lq_optimum(bound=1.0)
    result = solver.solve(lq_problem(num_worlds, bound=1.0))
    assert result.ctrl.abs().max() <= 1.0
    assert result.cost >= cost_bounded * (1 - 1e-4)
    tol = 2e-3 if isinstance(solver, GradientShooting) else 5e-2
    assert result.cost == pytest.approx(cost_bounded, rel=tol)


def test_many_candidates_are_optimized_independently():
    """N worlds of gradient shooting are N candidates from N initial guesses; the best is returned."""
    problem = lq_problem(3)
    init = torch.stack([torch.full((T, 1), v) for v in (-5.0, 0.0, 5.0)], dim=1)
    result = GradientShooting(iters=30, optimizer="lbfgs").solve(problem, init)
    _, cost_star = lq_optimum()
    assert result.costs.shape == (3,)
    np.testing.assert_allclose(result.costs.numpy(), cost_star, rtol=1e-3)


def test_gradient_options_and_early_stop():
    """grad_window / grad_clip / smoothing reach the solver; target_cost stops at the first iterate below it."""
    _, cost_star = lq_optimum()
    problem = lq_problem(1)
    windowed = GradientShooting(iters=30, optimizer="adam", lr=0.1, grad_window=2).solve(problem)
    full = GradientShooting(iters=30, optimizer="adam", lr=0.1).solve(problem)
    assert windowed.cost != pytest.approx(full.cost, rel=1e-3)  # truncation changes the gradient
    smooth = GradientShooting(iters=100, optimizer="adam", lr=0.05, smoothing=0.05, smoothing_samples=4)
    assert smooth.solve(problem).cost == pytest.approx(cost_star, rel=5e-2)
    target = 2 * cost_star
    stopped = GradientShooting(iters=200, optimizer="adam", lr=0.05).solve(problem, target_cost=target)
    assert stopped.cost <= target and len(stopped.history) < 200
    assert stopped.steps_to_reach(target) == stopped.history[-1]["sim_steps"] + stopped.history[-1]["grad_steps"]
    assert stopped.steps_to_reach(-1.0) is None


@pytest.mark.parametrize("task", ["Reacher", "PushBox", "CartPoleSwingUp"])
def test_task_cost_is_the_envs_reward(task):
    """TaskProblem's per-step rewards for a control sequence equal the env's rewards for the same actions from the
    same initial state (and goal)."""
    env = gymnasium.make(f"worldsim/{task}-v0")
    env.reset(seed=3)
    problem = TaskProblem(task, num_worlds=2, horizon=8)
    problem.sync(env.unwrapped.core.task)
    actions = torch.rand(8, problem.nu, generator=torch.Generator().manual_seed(0)) * 2 - 1
    expected = [env.step(a.numpy())[1] for a in actions]
    np.testing.assert_allclose(problem.rewards(actions).numpy(), expected, rtol=1e-4, atol=1e-5)
    assert problem.evaluate(actions)[0].item() == pytest.approx(-sum(expected), rel=1e-4, abs=1e-4)


def test_differentiable_env_step_matches_the_env_and_finite_differences():
    env = gymnasium.make("worldsim/Reacher-v0")
    obs, _ = env.reset(seed=0)
    task = env.unwrapped.core.task
    qpos, qvel = task.sim.qpos.clone(), task.sim.qvel.clone()
    action = torch.tensor([[0.3, -0.5]])
    q1, v1, obs1, reward = env.unwrapped.differentiable_step(qpos, qvel, action)
    obs_env, reward_env, *_ = env.step(action[0].numpy())
    np.testing.assert_allclose(obs1[0].numpy(), obs_env, atol=1e-5)
    assert reward.item() == pytest.approx(reward_env, abs=1e-5)
    a = action.clone().requires_grad_(True)
    task.differentiable_step(qpos, qvel, a)[3].sum().backward()
    eps = 1e-3
    for i in range(2):
        d = torch.zeros_like(action)
        d[0, i] = eps
        fd = task.differentiable_step(qpos, qvel, action + d)[3] - task.differentiable_step(qpos, qvel, action - d)[3]
        assert a.grad[0, i].item() == pytest.approx(fd.item() / (2 * eps), rel=2e-2, abs=1e-4)


def test_mpc_reaches_the_reacher_target():
    """Receding-horizon CEM brings the fingertip to the target within 25 steps (0.22 m away at the start)."""
    env = gymnasium.make("worldsim/Reacher-v0")
    task = env.unwrapped.core.task

    def distance():  # |fingertip - target| in the plane: observation entries 8, 9
        return float(task.obs()[0, 8:10].norm())

    env.reset(seed=1)
    start = distance()
    result = mpc(env, CEM(), horizon=25, num_worlds=64, steps=25, iters=2, first_iters=10, seed=1)
    assert result.rewards.shape == (25,) and result.actions.shape == (25, 2) and result.qpos.shape == (26, 4)
    assert np.abs(result.actions).max() <= 1.0
    assert start > 0.05 and distance() < 0.3 * start
    assert result.sim_steps > 0 and result.plan_time > 0


def test_bad_input_is_rejected():
    model = double_integrator(2)
    with pytest.raises(ValueError, match="horizon"):
        TrajectoryProblem(model, lq_cost, torch.zeros(1), torch.zeros(1), 0)
    with pytest.raises(ValueError, match="qpos0"):
        TrajectoryProblem(model, lq_cost, torch.zeros(3), torch.zeros(1), 5)
    problem = TrajectoryProblem(model, lq_cost, torch.zeros(1), torch.zeros(1), 5)
    with pytest.raises(ValueError, match="ctrl_init"):
        GradientShooting().solve(problem, torch.zeros(4, 1))
    with pytest.raises(ValueError, match="NaN"):
        problem.evaluate(torch.full((5, 1), float("nan")))
    with pytest.raises(ValueError, match="divide the horizon"):
        GradientShooting(segments=2).solve(problem)
    with pytest.raises(ValueError, match="optimizer"):
        GradientShooting(optimizer="sgd")
    with pytest.raises(ValueError, match="elite_frac"):
        CEM(elite_frac=0)
    with pytest.raises(ValueError, match="at least 2 worlds"):
        CEM().solve(lq_problem(1))
    with pytest.raises(ValueError, match="unknown task"):
        TaskProblem("Nope", num_worlds=1)
    with pytest.raises(ValueError, match="single worldsim env"):
        mpc(gymnasium.make_vec("worldsim/Reacher-v0", num_envs=2), CEM(), horizon=5, num_worlds=8)


def test_reach_table_counts_steps_and_time_to_a_cost():
    """reach_table: steps (forward + backward) and wall time each method needed to reach the other's cost."""
    from worldsim.optim import OptimResult
    from worldsim.optim.compare import reach_table

    def result(rows):
        history = [{"iteration": i, "cost": c, "sim_steps": s, "grad_steps": g, "wall_time": t}
                   for i, (c, s, g, t) in enumerate(rows)]  # fmt: skip
        return OptimResult(torch.zeros(2, 1), rows[-1][0], torch.zeros(1), history)

    grad = result([(5.0, 10, 10, 1.0), (2.0, 20, 20, 2.0), (1.0, 30, 30, 3.0)])
    cem = result([(4.0, 1000, 0, 0.5), (1.5, 2000, 0, 1.0), (1.49, 9000, 0, 4.0)])
    table = reach_table({"gradient": grad, "CEM": cem})
    at = table["at_against_cost"]  # CEM's final cost 1.49: the gradient gets there at its third iterate
    assert (at["method_steps"], at["against_steps"], at["steps_ratio"]) == (60, 9000, 150.0)
    assert at["time_ratio"] == pytest.approx(4.0 / 3.0)
    near = table["near_against_cost"]  # within 1% of 1.49: CEM's second iterate already
    assert near["against_steps"] == 2000 and near["steps_ratio"] == pytest.approx(2000 / 60)
    never = reach_table({"gradient": cem, "CEM": grad})["at_against_cost"]  # 1.49 never reaches 1.0
    assert never["method_steps"] is None and never["steps_ratio"] is None


def test_task_problem_renders_a_trajectory():
    problem = TaskProblem("PushBox", num_worlds=1, horizon=3)
    qpos, _ = problem.simulate(torch.ones(3, 1, 2))
    frames = problem.render(qpos[:, 0], width=32, height=24)
    assert frames.shape == (4, 24, 32, 3) and frames.dtype == np.uint8
    assert np.abs(frames[-1].astype(int) - frames[0].astype(int)).sum() > 0  # the pusher moved
    with pytest.raises(ValueError, match="qpos must have shape"):
        problem.render(qpos)


def test_multiple_shooting_keeps_each_worlds_parameters():
    """The segment model of multiple shooting has world n's parameters in every segment of candidate n: with a
    heavier point in world 1, both candidates still reach their own optimum (L-BFGS, auglag)."""
    model = double_integrator(2)
    mass = model.get_params()["body_mass"].clone()
    mass[1, 1] = 2.0  # world 1: 2 kg, so it needs twice the controls
    model.set_params(body_mass=mass)
    problem = TrajectoryProblem(model, lq_cost, torch.zeros(1), torch.zeros(1), T)
    solver = GradientShooting(iters=60, optimizer="lbfgs", segments=4, defect="auglag")
    result = solver.solve(problem)
    single = GradientShooting(iters=30, optimizer="lbfgs").solve(problem)
    np.testing.assert_allclose(result.costs.numpy(), single.costs.numpy(), rtol=2e-3)
    assert result.costs[1] > result.costs[0] * 1.01  # the heavy world's optimum costs more
    assert result.history[0]["sim_steps"] >= 2 * T * 2  # the seeding rollout and the first iteration, counted
