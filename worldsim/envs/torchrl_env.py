"""`TorchRLEnv`: worldsim's native vector env as a TorchRL ``EnvBase`` on torch tensors (no copies to the host).
Needs ``torchrl`` (``pip install 'worldsim[rl]'``)."""

from __future__ import annotations

import torch

from ._optional import require

_envs = require("torchrl.envs", "torchrl")
_data = require("torchrl.data", "torchrl")
_td = require("tensordict", "torchrl")


class TorchRLEnv(_envs.EnvBase):
    """A batched TorchRL env (``batch_size=[num_envs]``) over a :class:`~worldsim.envs.WorldsimVectorEnv`::

        env = worldsim.envs.TorchRLEnv("HalfCheetah", num_envs=64)          # or TorchRLEnv(vector_env)
        rollout = env.rollout(100, policy, break_when_any_done=False)

    Keys: ``observation`` [N, obs] float32 (or ``pixels`` [N, H, W, 3] uint8 with ``obs_mode="pixels"``, both
    with ``"state+pixels"``), ``action`` [N, nu] bounded by the task's action space, ``reward`` [N, 1], ``done``,
    ``terminated``, ``truncated`` [N, 1] bool. Partial resets follow TorchRL (``"_reset"`` mask): TorchRL resets
    finished envs itself, so the vector env's own autoreset never fires. Tensors stay on the simulator's device.
    Other keyword arguments go to :class:`WorldsimVectorEnv` (``obs_mode``, ``randomization``, v5 kwargs, ...).
    """

    def __init__(self, task="CartPole", num_envs: int = 1, **kwargs):
        from .vector_env import WorldsimVectorEnv

        if isinstance(task, WorldsimVectorEnv) or isinstance(getattr(task, "unwrapped", None), WorldsimVectorEnv):
            if kwargs:
                raise ValueError("TorchRLEnv(vector_env) takes no other arguments; they belong to the vector env")
            venv = task.unwrapped
            if not venv.core.return_torch:
                raise ValueError("TorchRLEnv needs a vector env made with return_torch=True (or pass the task name)")
        else:
            venv = WorldsimVectorEnv(task, num_envs, return_torch=True, **kwargs)
        self.venv = venv
        device = venv.core.task.model.device
        super().__init__(device=device, batch_size=torch.Size([venv.num_envs]))
        n, space = venv.num_envs, venv.single_action_space
        obs_specs = {}
        if venv.core.obs_mode in ("state", "state+pixels"):
            size = venv.core.task.single_observation_space.shape[0]
            obs_specs["observation"] = _data.Unbounded(shape=(n, size), dtype=torch.float32, device=device)
        if venv.core.obs_mode in ("pixels", "state+pixels"):
            h, w = venv.core.camera.height, venv.core.camera.width
            obs_specs["pixels"] = _data.Bounded(0, 255, shape=(n, h, w, 3), dtype=torch.uint8, device=device)
        self.observation_spec = _data.Composite(obs_specs, shape=(n,))
        low, high = (torch.as_tensor(x, device=device).expand(n, -1) for x in (space.low, space.high))
        self.action_spec = _data.Bounded(low, high, shape=(n, space.shape[0]), dtype=torch.float32, device=device)
        self.reward_spec = _data.Unbounded(shape=(n, 1), dtype=torch.float32, device=device)
        self.done_spec = _data.Composite(
            {k: _data.Categorical(2, shape=(n, 1), dtype=torch.bool, device=device)
             for k in ("done", "terminated", "truncated")}, shape=(n,))  # fmt: skip

    def _observation(self, obs) -> dict:
        mode = self.venv.core.obs_mode
        if mode == "state":
            return {"observation": obs}
        if mode == "pixels":
            return {"pixels": obs}
        return {"observation": obs["state"], "pixels": obs["pixels"]}

    def _reset(self, tensordict=None, **kwargs):
        mask = None
        if tensordict is not None and "_reset" in tensordict.keys():
            mask = tensordict.get("_reset").reshape(-1).cpu().numpy()
        obs, _ = self.venv.reset(options=None if mask is None else {"reset_mask": mask})
        n = self.venv.num_envs
        zeros = torch.zeros(n, 1, dtype=torch.bool, device=self.device)
        return _td.TensorDict({**self._observation(obs), "done": zeros, "terminated": zeros.clone(),
                               "truncated": zeros.clone()}, batch_size=self.batch_size, device=self.device)  # fmt: skip

    def _step(self, tensordict):
        venv = self.venv
        action = tensordict.get("action")
        obs, reward, terminated, truncated, _ = venv.step(action)
        venv._needs_reset[:] = False  # TorchRL resets finished envs itself (through "_reset")
        terminated = terminated.reshape(-1, 1).to(self.device)
        truncated = truncated.reshape(-1, 1).to(self.device)
        return _td.TensorDict({**self._observation(obs), "reward": reward.reshape(-1, 1).to(self.device),
                               "done": terminated | truncated, "terminated": terminated, "truncated": truncated},
                              batch_size=self.batch_size, device=self.device)  # fmt: skip

    def _set_seed(self, seed: int | None):
        if seed is not None:
            self.venv.reset(seed=int(seed))
        return seed
