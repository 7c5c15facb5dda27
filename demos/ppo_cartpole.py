"""A compact, cleanrl-style PPO (continuous actions) on worldsim's native vector env: balance CartPole-v0.

Prints the mean episodic return as it trains and writes ``returns.png`` to ``--out``. CartPole's return is the
number of steps the pole stays up (1000 max).

    python demos/ppo_cartpole.py                            # a few minutes on a 2-core CPU
    python demos/ppo_cartpole.py --randomization default     # with the task's domain randomization
"""

import argparse
import os
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # run from a checkout
import gymnasium as gym  # noqa: E402

import worldsim  # noqa: E402, F401  (registers worldsim/<Task>-v0)

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--task", default="CartPole")
parser.add_argument("--num-envs", type=int, default=64)
parser.add_argument("--steps-per-update", type=int, default=64)
parser.add_argument("--total-steps", type=int, default=600_000)
parser.add_argument("--lr", type=float, default=3e-4)
parser.add_argument("--randomization", default=None, help="'default' for the task's domain randomization")
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--out", default="outputs/ppo_cartpole")
args = parser.parse_args()

torch.manual_seed(args.seed)
torch.set_num_threads(1)
kwargs = {} if args.randomization is None else {"randomization": args.randomization}
envs = gym.make_vec(f"worldsim/{args.task}-v0", num_envs=args.num_envs, **kwargs)
obs_dim = envs.single_observation_space.shape[0]
act_dim = envs.single_action_space.shape[0]
act_scale = torch.as_tensor(envs.single_action_space.high)


def layer(i, o, std=1.4142135623730951):  # sqrt(2), cleanrl's default gain
    lin = nn.Linear(i, o)
    nn.init.orthogonal_(lin.weight, std)
    nn.init.zeros_(lin.bias)
    return lin


class Agent(nn.Module):
    def __init__(self):
        super().__init__()
        self.critic = nn.Sequential(layer(obs_dim, 64), nn.Tanh(), layer(64, 64), nn.Tanh(), layer(64, 1, 1.0))
        self.actor = nn.Sequential(layer(obs_dim, 64), nn.Tanh(), layer(64, 64), nn.Tanh(), layer(64, act_dim, 0.01))
        self.log_std = nn.Parameter(torch.full((act_dim,), -0.5))

    def dist(self, x):
        return torch.distributions.Normal(self.actor(x), self.log_std.exp())


agent = Agent()
opt = torch.optim.Adam(agent.parameters(), lr=args.lr, eps=1e-5)
T, N = args.steps_per_update, args.num_envs
gamma, lam, clip, epochs, minibatches = 0.99, 0.95, 0.2, 4, 4

obs_np, _ = envs.reset(seed=args.seed)
obs = torch.as_tensor(obs_np)
ep_ret = np.zeros(N)
finished, curve = [], []
start = time.time()
updates = args.total_steps // (T * N)
for update in range(updates):
    buf_obs, buf_act, buf_logp, buf_rew, buf_done, buf_val, buf_valid = [], [], [], [], [], [], []
    for _ in range(T):
        with torch.no_grad():
            d = agent.dist(obs)
            action = d.sample()
            value = agent.critic(obs)[:, 0]
        obs_next, reward, term, trunc, _ = envs.step((action.clamp(-1, 1) * act_scale).numpy())
        # NEXT_STEP autoreset: a step right after an episode end is a reset step, not a transition
        valid = ~torch.as_tensor(buf_done[-1] if buf_done else np.zeros(N, bool))
        buf_obs.append(obs), buf_act.append(action), buf_logp.append(d.log_prob(action).sum(1)), buf_val.append(value)
        buf_rew.append(torch.as_tensor(reward)), buf_done.append(term | trunc), buf_valid.append(valid)
        ep_ret += np.where(valid.numpy(), reward, 0.0)
        for i in np.flatnonzero(term | trunc):
            finished.append(ep_ret[i])
            ep_ret[i] = 0.0
        obs = torch.as_tensor(obs_next)
    with torch.no_grad():
        next_value = agent.critic(obs)[:, 0]
    adv = torch.zeros(T, N)
    last = torch.zeros(N)
    for t in reversed(range(T)):
        done = torch.as_tensor(buf_done[t]).float()
        nv = next_value if t == T - 1 else buf_val[t + 1]
        delta = buf_rew[t] + gamma * nv * (1 - done) - buf_val[t]
        last = delta + gamma * lam * (1 - done) * last
        adv[t] = last
    returns = adv + torch.stack(buf_val)
    b_obs, b_act = torch.stack(buf_obs).reshape(T * N, -1), torch.stack(buf_act).reshape(T * N, -1)
    b_logp, b_adv, b_ret = torch.stack(buf_logp).reshape(-1), adv.reshape(-1), returns.reshape(-1)
    b_valid = torch.stack(buf_valid).reshape(-1)
    idx_all = torch.nonzero(b_valid).flatten()
    for _ in range(epochs):
        perm = idx_all[torch.randperm(len(idx_all))]
        for mb in perm.chunk(minibatches):
            d = agent.dist(b_obs[mb])
            ratio = (d.log_prob(b_act[mb]).sum(1) - b_logp[mb]).exp()
            a = (b_adv[mb] - b_adv[mb].mean()) / (b_adv[mb].std() + 1e-8)
            pg = torch.max(-a * ratio, -a * ratio.clamp(1 - clip, 1 + clip)).mean()
            vloss = 0.5 * (agent.critic(b_obs[mb])[:, 0] - b_ret[mb]).square().mean()
            loss = pg + 0.5 * vloss - 0.0 * d.entropy().sum(1).mean()
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(agent.parameters(), 0.5)
            opt.step()
    if finished:
        curve.append(((update + 1) * T * N, float(np.mean(finished[-50:]))))
    if update % 10 == 0 or update == updates - 1:
        mean = curve[-1][1] if curve else float("nan")
        print(f"steps {(update + 1) * T * N:8d}  return {mean:7.1f}  ({time.time() - start:5.0f} s)", flush=True)

final = curve[-1][1] if curve else float("nan")
print(f"final mean return (last 50 episodes) {final:.1f} after {args.total_steps} steps, {time.time() - start:.0f} s")
os.makedirs(args.out, exist_ok=True)
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(*zip(*curve, strict=True))
ax.set_xlabel("environment steps")
ax.set_ylabel("mean episodic return")
ax.set_title(f"PPO on worldsim/{args.task}-v0")
fig.tight_layout()
fig.savefig(os.path.join(args.out, "returns.png"), dpi=120)
print(f"wrote {os.path.join(args.out, 'returns.png')}")
