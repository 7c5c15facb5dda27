"""Train PPO with TorchRL's own components (collector, GAE, ClipPPOLoss) on worldsim through
:class:`worldsim.envs.TorchRLEnv`: tensors go from the simulator to the policy without host copies.

    python demos/torchrl_ppo.py --task CartPole --envs 16 --steps 100000
"""

from __future__ import annotations

import argparse
import time

import torch
from tensordict.nn import NormalParamExtractor, TensorDictModule
from torch import nn
from torchrl.collectors import Collector
from torchrl.modules import ProbabilisticActor, TanhNormal, ValueOperator
from torchrl.objectives import ClipPPOLoss
from torchrl.objectives.value import GAE

from worldsim.envs import GYM_TWINS, TorchRLEnv


def mlp(inp: int, out: int) -> nn.Module:
    return nn.Sequential(nn.Linear(inp, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, out))


def train(task: str = "CartPole", num_envs: int = 16, steps: int = 100_000, seed: int = 0, rollout: int = 64,
          epochs: int = 10, lr: float = 3e-4):  # fmt: skip
    """PPO for ``steps`` env steps; returns (policy, env, mean reward per step of each collected batch)."""
    torch.manual_seed(seed)
    env = TorchRLEnv(task, num_envs=num_envs)
    env.set_seed(seed)
    obs, act = env.observation_spec["observation"].shape[-1], env.action_spec.shape[-1]
    actor_net = nn.Sequential(mlp(obs, 2 * act), NormalParamExtractor())
    policy = ProbabilisticActor(
        TensorDictModule(actor_net, in_keys=["observation"], out_keys=["loc", "scale"]),
        spec=env.action_spec, in_keys=["loc", "scale"], distribution_class=TanhNormal,
        distribution_kwargs={"low": env.action_spec.space.low[0], "high": env.action_spec.space.high[0]},
        return_log_prob=True,
    )  # fmt: skip
    value = ValueOperator(mlp(obs, 1), in_keys=["observation"])
    frames = rollout * num_envs
    collector = Collector(
        env, policy, frames_per_batch=frames, total_frames=steps, auto_register_policy_transforms=False
    )
    advantage = GAE(gamma=0.99, lmbda=0.95, value_network=value, average_gae=True)
    loss = ClipPPOLoss(policy, value, clip_epsilon=0.2, entropy_coeff=0.0)
    optim = torch.optim.Adam(loss.parameters(), lr=lr)
    history = []
    for batch in collector:
        history.append(batch["next", "reward"].mean().item())
        with torch.no_grad():
            advantage(batch)
        data = batch.reshape(-1)
        for _ in range(epochs):
            for idx in torch.randperm(len(data)).split(256):
                out = loss(data[idx])
                total = out["loss_objective"] + out["loss_critic"] + out["loss_entropy"]
                optim.zero_grad()
                total.backward()
                nn.utils.clip_grad_norm_(loss.parameters(), 1.0)
                optim.step()
        collector.update_policy_weights_()
    collector.shutdown()
    return policy, env, history


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", default="CartPole", choices=sorted(GYM_TWINS))
    ap.add_argument("--envs", type=int, default=16)
    ap.add_argument("--steps", type=int, default=100_000)
    args = ap.parse_args()
    t0 = time.perf_counter()
    policy, env, history = train(args.task, args.envs, args.steps)
    print(f"trained {args.steps} steps in {time.perf_counter() - t0:.0f} s; mean reward per step, first batch "
          f"{history[0]:.3f}, last {history[-1]:.3f}")  # fmt: skip
    from torchrl.envs.utils import ExplorationType, set_exploration_type

    with set_exploration_type(ExplorationType.DETERMINISTIC), torch.no_grad():
        run = env.rollout(env.venv.horizon, policy, break_when_any_done=True)
    ret = run["next", "reward"].sum(1).mean().item()
    print(f"deterministic policy: mean return {ret:.1f} until the first env ends")


if __name__ == "__main__":
    main()
