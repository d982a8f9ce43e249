#!/usr/bin/python3
"""Reference for `resact bench train --python`: a plain PyTorch TD3+BC.

The networks, losses and update schedule follow the authors' implementation
(github.com/sfujim/TD3_BC, TD3_BC.py): actor and twin critic MLPs 256-256
with ReLU, Adam 3e-4, batch 256, gamma 0.99, tau 0.005, policy noise 0.2
clipped at 0.5, policy delay 2, alpha 2.5. The dataset is synthetic and in
memory, with the same shape as resact's benchmark (states N(0, 1), actions
uniform in [-1, 1], rewards 0..5 on a quarter of the rows, done on 1%);
sampling gathers random rows from numpy arrays as the authors' ReplayBuffer
does. Prints one JSON line with steps/s and the time split.

Usage: /usr/bin/python3 bench/td3_bc_pytorch.py --state-dim 64 --action-dim 16
       --batch 256 --steps 2000 [--threads 1]
"""
import argparse
import copy
import json
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Actor(nn.Module):
    def __init__(self, state_dim, action_dim):
        super().__init__()
        self.l1 = nn.Linear(state_dim, 256)
        self.l2 = nn.Linear(256, 256)
        self.l3 = nn.Linear(256, action_dim)

    def forward(self, state):
        a = F.relu(self.l1(state))
        a = F.relu(self.l2(a))
        return torch.tanh(self.l3(a))


class Critic(nn.Module):
    def __init__(self, state_dim, action_dim):
        super().__init__()
        self.l1 = nn.Linear(state_dim + action_dim, 256)
        self.l2 = nn.Linear(256, 256)
        self.l3 = nn.Linear(256, 1)
        self.l4 = nn.Linear(state_dim + action_dim, 256)
        self.l5 = nn.Linear(256, 256)
        self.l6 = nn.Linear(256, 1)

    def forward(self, state, action):
        sa = torch.cat([state, action], 1)
        q1 = F.relu(self.l1(sa))
        q1 = F.relu(self.l2(q1))
        q1 = self.l3(q1)
        q2 = F.relu(self.l4(sa))
        q2 = F.relu(self.l5(q2))
        q2 = self.l6(q2)
        return q1, q2

    def Q1(self, state, action):
        sa = torch.cat([state, action], 1)
        q1 = F.relu(self.l1(sa))
        q1 = F.relu(self.l2(q1))
        return self.l3(q1)


class TD3BC:
    def __init__(self, state_dim, action_dim, discount=0.99, tau=0.005, policy_noise=0.2,
                 noise_clip=0.5, policy_freq=2, alpha=2.5):
        self.actor = Actor(state_dim, action_dim)
        self.actor_target = copy.deepcopy(self.actor)
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=3e-4)
        self.critic = Critic(state_dim, action_dim)
        self.critic_target = copy.deepcopy(self.critic)
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=3e-4)
        self.discount = discount
        self.tau = tau
        self.policy_noise = policy_noise
        self.noise_clip = noise_clip
        self.policy_freq = policy_freq
        self.alpha = alpha
        self.total_it = 0
        self.optimizer_s = 0.0

    def train(self, state, action, next_state, reward, not_done):
        self.total_it += 1
        with torch.no_grad():
            noise = (torch.randn_like(action) * self.policy_noise).clamp(
                -self.noise_clip, self.noise_clip)
            next_action = (self.actor_target(next_state) + noise).clamp(-1, 1)
            target_q1, target_q2 = self.critic_target(next_state, next_action)
            target_q = torch.min(target_q1, target_q2)
            target_q = reward + not_done * self.discount * target_q
        current_q1, current_q2 = self.critic(state, action)
        critic_loss = F.mse_loss(current_q1, target_q) + F.mse_loss(current_q2, target_q)
        self.critic_optimizer.zero_grad()
        critic_loss.backward()
        t = time.perf_counter()
        self.critic_optimizer.step()
        self.optimizer_s += time.perf_counter() - t
        if self.total_it % self.policy_freq == 0:
            pi = self.actor(state)
            q = self.critic.Q1(state, pi)
            lmbda = self.alpha / q.abs().mean().detach()
            actor_loss = -lmbda * q.mean() + F.mse_loss(pi, action)
            self.actor_optimizer.zero_grad()
            actor_loss.backward()
            t = time.perf_counter()
            self.actor_optimizer.step()
            self.optimizer_s += time.perf_counter() - t
            for param, target_param in zip(self.critic.parameters(),
                                           self.critic_target.parameters()):
                target_param.data.copy_(self.tau * param.data + (1 - self.tau) * target_param.data)
            for param, target_param in zip(self.actor.parameters(),
                                           self.actor_target.parameters()):
                target_param.data.copy_(self.tau * param.data + (1 - self.tau) * target_param.data)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--state-dim", type=int, default=64)
    p.add_argument("--action-dim", type=int, default=16)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--transitions", type=int, default=100000)
    args = p.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(1)
    n = args.transitions
    state = rng.standard_normal((n, args.state_dim), dtype=np.float32)
    next_state = rng.standard_normal((n, args.state_dim), dtype=np.float32)
    action = rng.uniform(-1, 1, (n, args.action_dim)).astype(np.float32)
    end = rng.integers(0, 4, (n, 1)) == 0
    reward = np.where(end, rng.integers(0, 6, (n, 1)), 0).astype(np.float32)
    not_done = (rng.integers(0, 100, (n, 1)) != 0).astype(np.float32)
    # Standardize states as TD3+BC does.
    mean, std = state.mean(0, keepdims=True), state.std(0, keepdims=True) + 1e-3
    state = (state - mean) / std
    next_state = (next_state - mean) / std

    agent = TD3BC(args.state_dim, args.action_dim)
    sample_s = 0.0

    def step():
        nonlocal sample_s
        t = time.perf_counter()
        ind = np.random.randint(0, n, size=args.batch)
        batch = (torch.from_numpy(state[ind]), torch.from_numpy(action[ind]),
                 torch.from_numpy(next_state[ind]), torch.from_numpy(reward[ind]),
                 torch.from_numpy(not_done[ind]))
        sample_s += time.perf_counter() - t
        agent.train(*batch)

    for _ in range(args.warmup):
        step()
    sample_s = 0.0
    agent.optimizer_s = 0.0
    # Timed in chunks; the median chunk is robust to bursts of load from
    # other processes on a shared machine.
    chunk = min(100, args.steps)
    chunks = []
    t0 = c0 = time.perf_counter()
    for i in range(1, args.steps + 1):
        step()
        if i % chunk == 0:
            c1 = time.perf_counter()
            chunks.append(c1 - c0)
            c0 = c1
    wall = time.perf_counter() - t0
    chunks.sort()
    ms = 1000.0 / args.steps
    print(json.dumps({
        "bench": "train", "impl": "pytorch", "algo": "td3_bc",
        "torch_version": torch.__version__, "state_dim": args.state_dim,
        "action_dim": args.action_dim, "batch": args.batch, "steps": args.steps,
        "torch_threads": torch.get_num_threads(),
        "steps_per_s": round(args.steps / wall, 1),
        "steps_per_s_median": round(chunk / chunks[len(chunks) // 2], 1),
        "ms_per_step": round(wall * ms, 3),
        "ms_sample": round(sample_s * ms, 3),
        "ms_forward_backward": round((wall - sample_s - agent.optimizer_s) * ms, 3),
        "ms_optimizer": round(agent.optimizer_s * ms, 3),
    }), flush=True)


if __name__ == "__main__":
    main()
