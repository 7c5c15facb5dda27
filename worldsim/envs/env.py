"""Gymnasium environments on worldsim: a native batched ``VectorEnv`` (all worlds in one simulator call) and a
single ``Env``. Observations are state vectors, splat-rendered pixels, or both."""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import Env, spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from ..randomization import AutomaticDomainRandomization, DomainRandomization, default_randomization
from ..renderers.cameras import intrinsics, look_at
from ..renderers.scene import SplatScene
from .task import Task
from .tasks import TASKS

OBS_MODES = ("state", "pixels", "state+pixels")


class _Core:
    """What both env classes share: the task, seeding, input checks, observations and rendering."""

    def __init__(self, task, num_envs, *, obs_mode, render_mode, width, height, device, return_torch=False,
                 randomization=None):  # fmt: skip
        if isinstance(task, str):
            if task not in TASKS:
                raise ValueError(f"unknown task {task!r}; known: {sorted(TASKS)}")
            task = TASKS[task]
        if obs_mode not in OBS_MODES:
            raise ValueError(f"obs_mode must be one of {OBS_MODES}, got {obs_mode!r}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        self.task: Task = task(num_envs, device)
        self.obs_mode, self.width, self.height, self.return_torch = obs_mode, width, height, return_torch
        self._scene: SplatScene | None = None
        self.generator = torch.Generator()
        self.generator.manual_seed(0)
        state = self.task.single_observation_space
        pixels = spaces.Box(0, 255, shape=(height, width, 3), dtype=np.uint8)
        self.single_observation_space = {
            "state": state, "pixels": pixels, "state+pixels": spaces.Dict({"state": state, "pixels": pixels})
        }[obs_mode]  # fmt: skip
        self.single_action_space = self.task.single_action_space
        # domain randomization
        if randomization == "default":
            randomization = default_randomization(type(self.task).__name__)
        if randomization is not None and not isinstance(randomization, (DomainRandomization,
                                                                         AutomaticDomainRandomization)):  # fmt: skip
            raise ValueError(f"randomization must be None, 'default', a DomainRandomization or an "
                             f"AutomaticDomainRandomization, got {type(randomization).__name__}")  # fmt: skip
        self.randomization = randomization
        self.nominal = {k: v.detach().clone() for k, v in self.task.model.get_params().items()}
        nu = self.single_action_space.shape[0]
        self._delayed = torch.zeros(self.dr().action_delay + 1 if self.dr() else 1, num_envs, nu)
        self.visual = {  # per-world visual randomization (identity when none)
            "color_gain": torch.ones(num_envs, 3), "background": torch.full((num_envs, 3), float("nan")),
            "camera_offset": torch.zeros(num_envs, 3), "fov_offset": torch.zeros(num_envs),
        }  # fmt: skip

    def dr(self) -> DomainRandomization | None:
        r = self.randomization
        return r.current if isinstance(r, AutomaticDomainRandomization) else r

    def reset_worlds(self, worlds: torch.Tensor) -> None:
        """Resample the randomization of ``worlds``, then reset their state."""
        dr = self.dr()
        if dr is not None and len(worlds):
            values = dr.sample(self.nominal, worlds, self.generator)
            params = self.task.model.get_params()
            with torch.no_grad():
                for name, v in values.items():
                    params[name][worlds.to(params[name].device)] = v.to(params[name])
            for name, v in dr.sample_visual(len(worlds), self.generator).items():
                self.visual[name][worlds] = v
        self._delayed[:, worlds] = 0.0
        self.task.reset_worlds(worlds, self.generator)

    def delay(self, action: torch.Tensor) -> torch.Tensor:
        """The action applied now: ``action`` itself, or the one from ``action_delay`` steps ago."""
        if self._delayed.shape[0] == 1:
            return action
        self._delayed = torch.cat([self._delayed[1:], action.cpu()[None]])
        return self._delayed[0].to(action)

    def randomization_info(self) -> dict:
        dr = self.dr()
        if dr is None:
            return {}
        names = {p.name for p in dr.params}
        names |= {"actuator_gear"} if dr.actuator_strength is not None else set()
        names |= {"gravity"} if dr.gravity_tilt > 0 else set()
        names |= {"body_ipos"} if dr.com_offset > 0 else set()
        params = self.task.model.get_params()
        out = {n: params[n].detach().cpu().numpy().copy() for n in sorted(names)}
        if self.obs_mode != "state":
            out.update({f"visual_{k}": v.numpy().copy() for k, v in self.visual.items()})
        return {"randomization": out}

    def seed(self, seed):
        if seed is not None:
            self.generator.manual_seed(int(seed))

    def check_action(self, action, shape) -> torch.Tensor:
        a = torch.as_tensor(np.asarray(action) if not isinstance(action, torch.Tensor) else action)
        if tuple(a.shape) != tuple(shape):
            raise ValueError(f"action has shape {list(a.shape)}, expected {list(shape)}")
        a = a.to(device=self.task.model.device, dtype=torch.float32)
        if not torch.isfinite(a).all():
            raise ValueError("action contains NaN or inf values")
        return a.reshape(self.task.num_worlds, -1)

    def pixels(self) -> torch.Tensor:
        """uint8 RGB images [N, H, W, 3] of every world from the task's camera."""
        return self.render_images()["pixels"]

    def render_images(self, qpos: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Every world seen by the task's camera, in one rasterizer call: ``pixels`` uint8 [N, H, W, 3],
        ``depth`` float32 [N, H, W] (metres along the optical axis, 0 where nothing is hit) and ``body_id``
        int64 [N, H, W] (the body each pixel shows, -1 for the background). ``qpos`` [N, nq]: render these
        configurations instead of the simulator's (same cameras, e.g. a planned state as a ghost)."""
        if self._scene is None:
            self._scene = SplatScene.from_model(self.task.model, density=1500, ground_density=200)
        dev = self.task.model.device
        eye, target = self.task_camera()
        eye = torch.tensor(eye) + self.visual["camera_offset"]
        views = torch.stack([look_at(e, t) for e, t in zip(eye, target, strict=True)])[:, None].to(dev)
        Ks = torch.stack([intrinsics(45 + float(f), self.width, self.height) for f in self.visual["fov_offset"]])
        sky = torch.tensor([0.7, 0.8, 0.95]).expand(self.task.num_worlds, 3)
        bg = torch.where(torch.isnan(self.visual["background"]), sky, self.visual["background"]).to(dev)
        colors = (self._scene.colors[None] * self.visual["color_gain"][:, None, :].to(dev)).clamp(0, 1)
        with torch.no_grad():
            q = self.task.sim.qpos.clone() if qpos is None else qpos.to(device=dev, dtype=torch.float32)
            out = self._scene.render(q, views, Ks[:, None].to(dev), self.width,
                                     self.height, backgrounds=bg[:, None], colors=colors)  # fmt: skip
        return {
            "pixels": (out.rgb[:, 0].clamp(0, 1) * 255).to(torch.uint8),
            "depth": out.depth[:, 0].reshape(self.task.num_worlds, self.height, self.width).to(torch.float32),
            "body_id": out.body_id[:, 0].to(torch.int64),
        }

    def task_camera(self):
        """Per world (eye, target) of the task's camera (:attr:`Task.camera_eye`, following the root along x
        when :attr:`Task.camera_follows_root`)."""
        task = self.task
        centre = torch.zeros(task.num_worlds, 3)
        if task.camera_follows_root:
            centre[:, 0] = task.sim.qpos[:, 0].detach().cpu()
        eye = centre + torch.tensor(task.camera_eye)
        return eye.tolist(), (centre + torch.tensor(task.camera_target)).tolist()

    def observe(self):
        state = self.task.obs().to(torch.float32)
        dr = self.dr()
        if dr is not None and dr.obs_noise > 0:
            state = state + dr.obs_noise * torch.randn(state.shape, generator=self.generator).to(state)
        if self.obs_mode == "state":
            out = state
        elif self.obs_mode == "pixels":
            out = self.pixels()
        else:
            out = {"state": state, "pixels": self.pixels()}
        return out if self.return_torch else _to_numpy(out)


def _to_numpy(x):
    if isinstance(x, dict):
        return {k: _to_numpy(v) for k, v in x.items()}
    return x.detach().cpu().numpy()


def _index(x, i):
    return {k: v[i] for k, v in x.items()} if isinstance(x, dict) else x[i]


class WorldsimVectorEnv(VectorEnv):
    """N worlds of a task stepped in one simulator call (``gymnasium.make_vec("worldsim/<Task>-v0", num_envs=N)``).

    Autoreset as gymnasium defines it: ``NEXT_STEP`` (default; a finished world is reset on the next ``step``,
    whose action it ignores, returning the reset observation with reward 0) or ``SAME_STEP`` (reset at once; the
    last observation goes in ``info["final_obs"]``). ``reset(options={"reset_mask": mask})`` resets some worlds.
    A world whose state becomes non-finite or explodes is truncated, reset at once and flagged in
    ``info["diverged"]``: observations never contain NaN. ``return_torch=True`` returns torch tensors on the
    simulator's device (no copy to the host). ``randomization`` (None, ``"default"``, a
    :class:`~worldsim.randomization.DomainRandomization` or an ``AutomaticDomainRandomization``) is resampled
    per world at every reset, with the values in ``info["randomization"]``.
    """

    metadata = {"render_modes": ["rgb_array"], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        task: str | type = "CartPole",
        num_envs: int = 1,
        *,
        obs_mode: str = "state",
        render_mode: str | None = None,
        width: int = 64,
        height: int = 64,
        device: str = "cpu",
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        max_episode_steps: int | None = None,
        return_torch: bool = False,
        randomization=None,
    ):
        self.core = _Core(task, num_envs, obs_mode=obs_mode, render_mode=render_mode, width=width, height=height,
                          device=device, return_torch=return_torch, randomization=randomization)  # fmt: skip
        self.autoreset_mode = AutoresetMode(autoreset_mode)
        if self.autoreset_mode == AutoresetMode.DISABLED:
            raise ValueError("autoreset_mode DISABLED is not supported; use NEXT_STEP or SAME_STEP")
        self.metadata = {**self.metadata, "autoreset_mode": self.autoreset_mode}
        self.num_envs = num_envs
        self.render_mode = render_mode
        self.horizon = max_episode_steps or self.core.task.horizon
        self.single_observation_space = self.core.single_observation_space
        self.single_action_space = self.core.single_action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._elapsed = torch.zeros(num_envs, dtype=torch.long)
        self._needs_reset = torch.zeros(num_envs, dtype=torch.bool)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.core.seed(seed)
        mask = (options or {}).get("reset_mask")
        if mask is None:
            worlds = torch.arange(self.num_envs)
        else:
            mask = torch.as_tensor(np.asarray(mask), dtype=torch.bool)
            if mask.shape != (self.num_envs,):
                raise ValueError(f"reset_mask has shape {list(mask.shape)}, expected [{self.num_envs}]")
            worlds = torch.nonzero(mask).flatten()
        self.core.reset_worlds(worlds)
        self._elapsed[worlds] = 0
        self._needs_reset[worlds] = False
        return self.core.observe(), self.core.randomization_info()

    def step(self, actions):
        task = self.core.task
        a = self.core.check_action(actions, self.action_space.shape)
        resetting = (
            torch.nonzero(self._needs_reset).flatten() if self.autoreset_mode == AutoresetMode.NEXT_STEP else None
        )
        if resetting is not None and len(resetting):
            self.core.reset_worlds(resetting)
            kept = (task.sim.qpos[resetting].clone(), task.sim.qvel[resetting].clone())
        reward, info = task.step(self.core.delay(a))
        self._elapsed += 1
        terminated = task.terminated().cpu()
        truncated = self._elapsed >= self.horizon
        diverged = task.diverged().cpu()
        terminated &= ~diverged
        truncated |= diverged
        reward = torch.where(diverged.to(reward.device), torch.zeros_like(reward), reward)
        if diverged.any():  # never hand out a NaN: those worlds restart now
            self.core.reset_worlds(torch.nonzero(diverged).flatten())
        if resetting is not None and len(resetting):
            task.sim.reset(kept[0], kept[1], worlds=resetting)  # the reset step ignores the action
            reward[resetting.to(reward.device)] = 0.0
            terminated[resetting] = False
            truncated[resetting] = False
            diverged[resetting] = False
            self._elapsed[resetting] = 0
        done = terminated | truncated
        info = {k: _to_numpy(v) if not self.core.return_torch else v for k, v in info.items()}
        info["diverged"] = diverged.numpy()
        info.update(self.core.randomization_info())
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            self._needs_reset = done.clone()
            obs = self.core.observe()
        else:
            if done.any():
                final = self.core.observe()
                info["final_obs"] = np.array([_index(final, i) if d else None for i, d in enumerate(done.tolist())],
                                             dtype=object)  # fmt: skip
                info["_final_obs"] = done.numpy()
                worlds = torch.nonzero(done).flatten()
                self.core.reset_worlds(worlds)
                self._elapsed[worlds] = 0
            obs = self.core.observe()
        rew = reward.to(torch.float32)
        out = (rew, terminated, truncated) if self.core.return_torch else (
            rew.cpu().numpy(), terminated.numpy(), truncated.numpy())  # fmt: skip
        return obs, *out, info

    def differentiable_step(self, qpos, qvel, action, params=None):
        """The env's dynamics, observation and reward as one torch function of the state (for optimization):
        ``(qpos, qvel, observation, reward)`` after one env step from states [N, nq], [N, nv] under actions
        [N, nu] (N = the number of envs). See :meth:`worldsim.envs.task.Task.differentiable_step`."""
        return self.core.task.differentiable_step(qpos, qvel, action, params)

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        return self.core.pixels().cpu().numpy()


class WorldsimEnv(Env):
    """One world of a task as a ``gymnasium.Env`` (``gymnasium.make("worldsim/<Task>-v0")``). The time limit comes
    from the registration's ``max_episode_steps``; a diverged state is truncated with ``info["diverged"]``."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 25}

    def __init__(self, task: str | type = "CartPole", *, obs_mode: str = "state", render_mode: str | None = None,
                 width: int = 64, height: int = 64, device: str = "cpu", randomization=None):  # fmt: skip
        self.core = _Core(task, 1, obs_mode=obs_mode, render_mode=render_mode, width=width, height=height,
                          device=device, randomization=randomization)  # fmt: skip
        self.render_mode = render_mode
        self.observation_space = self.core.single_observation_space
        self.action_space = self.core.single_action_space
        self.metadata = {**self.metadata, "render_fps": int(round(1.0 / self.core.task.dt))}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.core.seed(seed)
        self.core.reset_worlds(torch.arange(1))
        return _index(self.core.observe(), 0), self.core.randomization_info()

    def step(self, action):
        task = self.core.task
        a = self.core.check_action(action, self.action_space.shape)
        reward, info = task.step(self.core.delay(a))
        diverged = bool(task.diverged()[0])
        terminated = bool(task.terminated()[0]) and not diverged
        if diverged:
            self.core.reset_worlds(torch.arange(1))
        info = {k: _to_numpy(v)[0] for k, v in info.items()}
        info["diverged"] = diverged
        info.update(self.core.randomization_info())
        r = 0.0 if diverged else float(reward[0])
        return _index(self.core.observe(), 0), r, terminated, diverged, info

    def differentiable_step(self, qpos, qvel, action, params=None):
        """The env's dynamics, observation and reward as one torch function of the state (for optimization):
        ``(qpos, qvel, observation, reward)`` after one env step from states [N, nq], [N, nv] under actions
        [N, nu] (N = the number of envs). See :meth:`worldsim.envs.task.Task.differentiable_step`."""
        return self.core.task.differentiable_step(qpos, qvel, action, params)

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        return self.core.pixels()[0].cpu().numpy()
