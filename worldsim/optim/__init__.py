"""worldsim.optim: trajectory optimization through the simulator, batched over worlds.

- :class:`TrajectoryProblem`: a model, an initial state, a horizon, control bounds and a torch cost over
  (qpos, qvel, ctrl) trajectories; :class:`TaskProblem` makes one from a Gym task's reward.
- Optimizers, each with ``solve(problem, ctrl_init=None, *, iters=None, target_cost=None) -> OptimResult``:
  :class:`GradientShooting` (single or multiple shooting, Adam or L-BFGS, rollout's gradient options and
  randomized smoothing), :class:`CEM` and :class:`MPPI` (derivative-free baselines).
- :func:`mpc`: a receding-horizon loop of any of them on a Gym env.

Example::

    from worldsim.optim import CEM, GradientShooting, TaskProblem
    problem = TaskProblem("Reacher", num_worlds=1, horizon=50)
    result = GradientShooting(iters=50, optimizer="lbfgs").solve(problem)
    result.cost, result.ctrl          # best cost, controls [50, 2]
"""

from .mpc import MPCResult, mpc
from .problem import OptimResult, TrajectoryProblem
from .sampling import CEM, MPPI
from .shooting import GradientShooting
from .tasks import TaskProblem

__all__ = ["CEM", "MPPI", "GradientShooting", "MPCResult", "OptimResult", "TaskProblem", "TrajectoryProblem", "mpc"]
