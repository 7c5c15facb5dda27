"""Record rollouts of a worldsim task into a Minari dataset: pixels, state, actions, rewards, terminations, and
from the simulator the depth and body-id images and each episode's domain-randomization values.

Episodes run ``num_envs`` at a time in the native vector env (one simulator call and one rasterizer call per
step for all of them). Each episode lasts ``steps`` recorded steps, or less where the task terminates it. With
``action_repeat`` K > 1, each recorded step holds the policy's action for K env steps and keeps one frame of K
(a lower frame rate, as world-model datasets use: Genie's are at 10 fps), and its reward is the sum over the K.

Per episode (Minari's layout, T its length):

* ``observations``: a dict of ``pixels`` uint8 [T+1, H, W, 3], ``state`` float32 [T+1, obs_dim] (the task's
  state observation), ``depth`` float32 [T+1, H, W] (m along the camera axis, 0 on the background) and
  ``body_id`` int16 [T+1, H, W] (-1 on the background); index t is the observation before action t;
* ``actions`` float32 [T, A] (the true actions), ``rewards`` [T], ``terminations`` [T], ``truncations`` [T];
* ``infos["randomization"]``: the parameter-table and visual values the episode was drawn with (each entry
  repeated over the T+1 steps, as Minari stores infos per step), present when randomization is on.

Beside Minari's files, ``worldsim.json`` in the dataset's directory records how it was made (task, policy,
image size, randomization, seed), which the clip loader and world models read.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from pathlib import Path

import minari
import numpy as np
from gymnasium import spaces
from minari.data_collector import EpisodeBuffer
from tqdm import tqdm

from ..envs.tasks import TASKS
from ..envs.vector_env import WorldsimVectorEnv
from .policies import Policy, make_policy
from .storage import write_atomically

INFO_FILE = "worldsim.json"


def observation_space(state_space: spaces.Box, size: int, num_bodies: int) -> spaces.Dict:
    """The Dict space of one recorded observation (see the module docstring)."""
    return spaces.Dict({
        "pixels": spaces.Box(0, 255, (size, size, 3), np.uint8),
        "state": state_space,
        "depth": spaces.Box(0.0, np.inf, (size, size), np.float32),
        "body_id": spaces.Box(-1, num_bodies - 1, (size, size), np.int16),
    })  # fmt: skip


def _task_name(task: str) -> str:
    name = task.removeprefix("worldsim/").removesuffix("-v0")
    if name not in TASKS:
        raise ValueError(f"unknown task {task!r}; known: {sorted(TASKS)} (or worldsim/<Task>-v0)")
    return name


def record(
    task: str,
    episodes: int,
    steps: int,
    out: str,
    *,
    policy: str | Callable | Policy = "random",
    randomization=None,
    size: int = 64,
    num_envs: int | None = None,
    action_repeat: int = 1,
    seed: int = 0,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Record ``episodes`` episodes of at most ``steps`` env steps of ``task`` into dataset ``out``.

    Args:
        task: a task name (``"PushBox"``) or its env id (``"worldsim/PushBox-v0"``).
        episodes: number of episodes (≥ 1).
        steps: recorded steps (transitions) per episode (≥ 1); an episode ends earlier if the task terminates it.
        out: a Minari dataset id (``pushbox-v0``, stored under ``MINARI_DATASETS_PATH``) or a directory.
        policy: ``"random"`` (uniform), ``"smooth"`` (Ornstein-Uhlenbeck, see
            :class:`~worldsim.data.policies.SmoothRandomPolicy`), a :class:`~worldsim.data.policies.Policy`, or a
            callable mapping state observations [N, obs_dim] to actions [N, A].
        randomization: domain randomization (None, ``"default"`` or a ``DomainRandomization``), resampled per
            episode; its values go in each episode's ``infos["randomization"]``.
        size: image height and width in pixels.
        num_envs: episodes simulated side by side (default: min(episodes, 16)).
        action_repeat: env steps per recorded step (≥ 1), the action held over them; the dataset's ``dt`` is
            ``action_repeat`` times the task's.
        seed: seeds the environment resets, the randomization and the policy.
        overwrite: replace an existing dataset of that name (atomically).
        progress: show a tqdm progress bar over episodes.

    Returns:
        The dataset's directory. Load it with :func:`worldsim.data.open_dataset` (or ``minari.load_dataset`` for
        an id).

    Raises:
        ValueError: bad arguments (unknown task or policy, non-positive sizes).
        FileExistsError: ``out`` exists and ``overwrite`` is False.
    """
    name = _task_name(task)
    for label, v in (("episodes", episodes), ("steps", steps), ("size", size), ("action_repeat", action_repeat)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{label} must be a positive integer, got {v!r}")
    num_envs = min(episodes, 16) if num_envs is None else num_envs
    if not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
        raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")

    envs = WorldsimVectorEnv(name, num_envs, obs_mode="state", width=size, height=size,
                             max_episode_steps=steps * action_repeat, randomization=randomization)  # fmt: skip
    pol = make_policy(policy, envs.single_action_space, num_envs, seed)
    obs_space = observation_space(envs.single_observation_space, size, envs.core.task.model.nbody)
    buffers: list[EpisodeBuffer] = []
    bar = tqdm(total=episodes, desc=f"recording {name}", unit="episode", disable=not progress)
    for batch in range(math.ceil(episodes / num_envs)):
        n = min(num_envs, episodes - batch * num_envs)
        buffers += _record_batch(envs, pol, steps, n, seed + batch, batch * num_envs, action_repeat)
        bar.update(n)
    bar.close()

    description = (f"worldsim/{name}-v0, {pol.name} policy, {size}x{size} pixels, up to {steps} steps per episode, "
                   f"action repeat {action_repeat}, randomization {_describe(randomization)}")  # fmt: skip

    def build(dataset_id: str) -> minari.MinariDataset:
        with warnings.catch_warnings():  # Minari warns about missing author, code permalink and env spec
            warnings.simplefilter("ignore", UserWarning)
            return minari.create_dataset_from_buffers(
                dataset_id, buffers, observation_space=obs_space, action_space=envs.single_action_space,
                algorithm_name=f"worldsim {pol.name} policy", description=description, jpeg_encoding=False,
            )  # fmt: skip

    info = {"task": name, "env_id": f"worldsim/{name}-v0", "policy": pol.name, "size": size, "steps": steps,
            "episodes": episodes, "seed": seed, "randomization": _describe(randomization),
            "action_repeat": int(action_repeat), "dt": float(envs.core.task.dt) * action_repeat}  # fmt: skip

    return write_atomically(out, build, files={INFO_FILE: json.dumps(info, indent=2)}, overwrite=overwrite)


def _describe(randomization) -> str:
    if randomization is None or isinstance(randomization, str):
        return str(randomization)
    return type(randomization).__name__


def _record_batch(envs: WorldsimVectorEnv, policy: Policy, steps: int, n: int, seed: int, first_id: int,
                  action_repeat: int = 1):  # fmt: skip
    """Episodes of the first ``n`` worlds of ``envs``, reset together with ``seed``; each recorded step holds the
    policy's action for ``action_repeat`` env steps."""
    core = envs.core
    state, info = envs.reset(seed=seed)
    policy.reset(np.arange(envs.num_envs))
    frames = [_observation(core, state)]
    actions, rewards, terms, truncs = [], [], [], []
    length = np.full(envs.num_envs, steps)
    alive = np.ones(envs.num_envs, bool)
    for t in range(steps):
        a = policy(state)
        state, r, term, trunc, frame = _repeat_step(envs, a, action_repeat, alive)
        actions.append(a)
        rewards.append(r)
        terms.append(term)
        truncs.append(trunc)
        frames.append(frame)
        ended = alive & (term | trunc)
        length[ended] = t + 1
        alive &= ~ended
        if not alive[:n].any():
            break
    rand = info.get("randomization", {})
    out = []
    for w in range(n):
        T = int(length[w])
        obs = {k: np.stack([f[k][w] for f in frames[: T + 1]]) for k in frames[0]}
        trunc = np.array([x[w] for x in truncs[:T]])
        trunc[-1] |= not terms[T - 1][w]  # the episode ends here: by termination, or cut at its length
        infos = {"randomization": {k: np.repeat(v[w][None], T + 1, axis=0) for k, v in rand.items()}} if rand else {}
        out.append(EpisodeBuffer(
            id=first_id + w, seed=seed, observations=obs, actions=np.stack([x[w] for x in actions[:T]]),
            rewards=np.array([x[w] for x in rewards[:T]], np.float64),
            terminations=np.array([x[w] for x in terms[:T]]), truncations=trunc, infos=infos,
        ))  # fmt: skip
    return out


def _repeat_step(envs: WorldsimVectorEnv, action: np.ndarray, repeat: int, alive: np.ndarray):
    """``action`` held for ``repeat`` env steps -> (state, summed reward, terminated, truncated, observation dict).
    A world whose episode ends at an inner step keeps that step's state and frame (the env resets it on the next
    step), so the frame is rendered there as well as after the last step."""
    total = np.zeros(envs.num_envs)
    ended = np.zeros(envs.num_envs, bool)
    term_all, trunc_all = np.zeros(envs.num_envs, bool), np.zeros(envs.num_envs, bool)
    state_out, frame_out = None, None
    for k in range(repeat):
        state, r, term, trunc, _ = envs.step(action)
        live = ~ended
        total[live] += r[live]
        term_all[live], trunc_all[live] = term[live], trunc[live]
        now = live & (term | trunc)
        last = k == repeat - 1
        if now[alive].any() or last:
            frame = _observation(envs.core, state)
            take = now | (live & last)
            if frame_out is None:
                state_out, frame_out = state.copy(), {key: v.copy() for key, v in frame.items()}
            else:
                state_out[take] = state[take]
                for key in frame_out:
                    frame_out[key][take] = frame[key][take]
        ended |= now
    return state_out, total, term_all, trunc_all, frame_out


def _observation(core, state: np.ndarray) -> dict[str, np.ndarray]:
    images = core.camera.render_images()
    return {
        "pixels": images["pixels"].cpu().numpy(),
        "state": np.asarray(state, np.float32),
        "depth": images["depth"].cpu().numpy(),
        "body_id": images["body_id"].cpu().numpy().astype(np.int16),
    }
