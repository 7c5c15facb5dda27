"""`ViewerSession`: everything the viewer does, without a window. One world of a task (or an MJCF file) simulated
live and rendered through the splat renderer; actuator and domain-randomization controls applied between steps;
optionally a world model "dreaming" the same episode from the same frame under the same actions, and a
trajectory-optimization plan to follow and overlay. The Open3D window (:mod:`worldsim.viewer.app`) and the
headless recorder (:mod:`worldsim.viewer.headless`) both drive a session, so the GUI adds only widgets."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..envs.vector_env import WorldsimVectorEnv
from ..metrics import psnr
from ..renderers.scene import SplatScene
from .images import body_id_image, depth_image
from .source import MJCFTask, task_class

VIEWS = ("rgb", "depth", "body_id")
#: splats per m² of the envs' (and datasets') renders
DATASET_DENSITY = 1500.0
#: PSNR of identical frames is infinite; shown and averaged as this [dB]
PSNR_CAP_DB = 100.0
#: pairs of keys (increase, decrease) driving actuators 0, 1, ... (one step: a quarter of the control range)
ACTION_KEYS = (("q", "a"), ("w", "s"), ("e", "d"), ("r", "f"), ("t", "g"), ("y", "h"), ("u", "j"), ("i", "k"))


@dataclass
class Slider:
    """One live control: ``value`` in [``low``, ``high``] (``default`` restores the task as defined)."""

    name: str
    label: str
    low: float
    high: float
    default: float
    value: float


def _sliders() -> dict[str, Slider]:
    rows = [
        ("friction", "friction ×", 0.1, 3.0, 1.0),
        ("mass", "mass ×", 0.25, 4.0, 1.0),
        ("damping", "joint damping ×", 0.0, 4.0, 1.0),
        ("motor", "motor strength ×", 0.0, 3.0, 1.0),
        ("gravity", "gravity [m/s²]", 0.0, 20.0, float("nan")),  # default: the model's |g|
        ("light", "light", 0.2, 2.0, 1.0),
        ("red", "color: red ×", 0.0, 2.0, 1.0),
        ("green", "color: green ×", 0.0, 2.0, 1.0),
        ("blue", "color: blue ×", 0.0, 2.0, 1.0),
    ]
    return {n: Slider(n, label, lo, hi, d, d) for n, label, lo, hi, d in rows}


class ViewerSession:
    """A live simulation for the viewer.

    Args:
        source: a task name (``"Ant"``), an env id (``"worldsim/Ant-v0"``) or an MJCF file path (``*.xml``).
        size: rendered image height and width [pixels].
        view: ``"rgb"``, ``"depth"`` (metres, as a colormap) or ``"body_id"`` (a color per body).
        model_dir: a trained world model's directory (``worldsim train``) to dream beside the simulator.
        density: splats per m² on the geoms (fewer render faster; the envs use 1500).
        seed: seed of the resets.

    Attributes:
        action: the action applied at every step, float32 [nu] (set by keys, sliders or :meth:`set_action`).
        paused: whether :meth:`tick` advances the simulation.
        sliders: the domain-randomization controls by name (see :meth:`set_slider`).
        fps: frames per second of :meth:`tick` (physics + rendering), smoothed.
        steps: env steps since the last reset.
    """

    def __init__(self, source: str | Path = "CartPole", *, size: int = 128, view: str = "rgb",
                 model_dir: str | Path | None = None, density: float = 1000.0, seed: int = 0):  # fmt: skip
        if not isinstance(size, int) or not 16 <= size <= 1024:
            raise ValueError(f"size must be an integer in [16, 1024], got {size!r}")
        self.source = str(source)
        self.env = WorldsimVectorEnv(task_class(source), 1, obs_mode="state", width=size, height=size)
        self.core = self.env.core
        self.task = self.core.task
        self.core.camera.scene = SplatScene.from_model(self.task.model, density=density, ground_density=200)
        self.name = type(self.task).__name__
        self.size, self.density = size, density
        self.low, self.high = (np.asarray(b, np.float32) for b in self.task.action_bounds())
        self.nu = len(self.low)
        self.action = np.zeros(self.nu, np.float32)
        self.set_view(view)
        self.paused = False
        self.sliders = _sliders()
        g = self.core.randomizer.nominal["gravity"][0]
        self._g_dir = g / g.norm() if g.norm() > 0 else torch.tensor([0.0, 0.0, -1.0])
        gs = self.sliders["gravity"]
        gs.default = gs.value = float(g.norm())
        gs.high = max(gs.high, 2.0 * gs.default)
        self.fps = 0.0
        self._last_tick: float | None = None
        self.steps, self.reward, self.episode_return = 0, 0.0, 0.0
        self.last_episode_return: float | None = None
        self.dream: Dream | None = None
        self.plan: Plan | None = None
        self.follow_plan = False
        self._seed = seed
        self.reset(seed)
        if model_dir is not None:
            self.load_dream(model_dir)

    # ---- controls
    @property
    def is_task(self) -> bool:
        """False for a plain MJCF file (no reward, no planning)."""
        return not isinstance(self.task, MJCFTask)

    def set_view(self, view: str) -> None:
        if view not in VIEWS:
            raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
        self.view = view

    def set_action(self, values) -> None:
        """Set the applied action (clipped to the action space) from ``values`` [nu]."""
        a = np.asarray(values, np.float32).reshape(-1)
        if a.shape != (self.nu,) or not np.isfinite(a).all():
            raise ValueError(f"action must be {self.nu} finite numbers, got {values!r}")
        self.action = np.clip(a, self.low, self.high)

    def key(self, key: str) -> bool:
        """Apply a key press: ``q``/``a`` raise/lower actuator 0, ``w``/``s`` actuator 1, ... (a quarter of the
        range), ``0`` zeroes the action, space toggles pause, ``n`` steps once, ``x`` resets. True if handled."""
        key = key.lower()
        for i, (up, down) in enumerate(ACTION_KEYS[: self.nu]):
            if key in (up, down):
                a = self.action.copy()
                a[i] += (1 if key == up else -1) * 0.25 * (self.high[i] - self.low[i])
                self.set_action(a)
                return True
        if key == "0":
            self.set_action(np.clip(np.zeros(self.nu), self.low, self.high))
        elif key == " ":
            self.paused = not self.paused
        elif key == "n":
            self.step()
        elif key == "x":
            self.reset()
        else:
            return False
        return True

    def set_slider(self, name: str, value: float) -> None:
        """Set a domain-randomization control and apply it at once: ``friction``, ``mass`` (bodies' mass and
        inertia: a density scale), ``damping``, ``motor`` (actuator gear) scale the task's nominal values;
        ``gravity`` is |g| along the model's direction; ``light`` and ``red``/``green``/``blue`` are color gains
        of the rendered splats."""
        if name not in self.sliders:
            raise ValueError(f"unknown slider {name!r}; known: {list(self.sliders)}")
        s = self.sliders[name]
        if not (np.isfinite(value) and s.low <= value <= s.high):
            raise ValueError(f"slider {name!r} takes values in [{s.low}, {s.high}], got {value!r}")
        s.value = float(value)
        self._apply_sliders()

    def _apply_sliders(self) -> None:
        v = {n: s.value for n, s in self.sliders.items()}
        nominal, params = self.core.randomizer.nominal, self.task.model.get_params()
        scaled = {"geom_friction": v["friction"], "body_mass": v["mass"], "body_inertia": v["mass"],
                  "dof_damping": v["damping"], "actuator_gear": v["motor"]}  # fmt: skip
        with torch.no_grad():
            for name, scale in scaled.items():
                if name in params:
                    params[name].copy_(nominal[name] * scale)
            params["gravity"].copy_((self._g_dir * v["gravity"]).expand_as(params["gravity"]))
        gain = torch.tensor([v["red"], v["green"], v["blue"]]) * v["light"]
        self.core.randomizer.visual["color_gain"][:] = gain

    # ---- simulation
    def reset(self, seed: int | None = None) -> None:
        """Reset the episode (a new draw of the task's reset distribution); controls keep their values."""
        self._seed = self._seed + 1 if seed is None else seed
        self.env.reset(seed=self._seed)
        self._apply_sliders()
        self.steps, self.reward, self.episode_return = 0, 0.0, 0.0
        self.plan = None
        if self.dream is not None:
            self.dream.restart(self)

    def step(self) -> None:
        """One env step (``frame_skip`` physics steps) under :attr:`action`, or the plan's next action when
        :attr:`follow_plan`; an episode that ends (termination, divergence) resets."""
        if self.follow_plan and self.plan is not None:
            self.set_action(self.plan.action(self.steps - self.plan.start_step))
        _, rew, term, trunc, _ = self.env.step(self.action[None])
        self.steps += 1
        self.reward = float(rew[0])
        self.episode_return += self.reward
        if term[0] or trunc[0]:
            self.last_episode_return = self.episode_return
            # the vector env resets the world on the next step (NEXT_STEP autoreset); do it now so that what is shown
            # and what the dream sees is the new episode
            self.reset()
            return
        if self.dream is not None:
            self.dream.advance(self)

    def tick(self) -> None:
        """What the window does per frame: a step unless paused, and the frame rate update."""
        if not self.paused:
            self.step()
        now = time.perf_counter()
        if self._last_tick is not None:
            inst = 1.0 / max(now - self._last_tick, 1e-6)
            self.fps = inst if self.fps == 0 else 0.9 * self.fps + 0.1 * inst
        self._last_tick = now

    # ---- images
    def render(self, size: int | None = None, qpos: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The task camera's images of world 0 (``pixels`` uint8 [H, W, 3], ``depth`` [H, W], ``body_id`` [H, W])
        at ``size`` (default: the session's), of the live state or of ``qpos`` [nq]."""
        core = self.core
        keep = core.camera.width, core.camera.height
        core.camera.width = core.camera.height = size or self.size
        try:
            out = core.camera.render_images(None if qpos is None else qpos.reshape(1, -1))
        finally:
            core.camera.width, core.camera.height = keep
        return {k: v[0] for k, v in out.items()}

    def image(self) -> np.ndarray:
        """The live view in the current mode, uint8 [size, size, 3], with the plan's ghost blended in."""
        images = self.render()
        if self.view == "depth":
            img = depth_image(images["depth"].cpu().numpy())
        elif self.view == "body_id":
            img = body_id_image(images["body_id"].cpu().numpy())
        else:
            img = images["pixels"].cpu().numpy()
        if self.plan is not None and self.view == "rgb":
            ghost = self.plan.ghost(self)
            img = (0.65 * img + 0.35 * ghost).astype(np.uint8)
        return img

    # ---- dream and plan
    def load_dream(self, model_dir: str | Path) -> None:
        """Run the world model in ``model_dir`` beside the simulator, from the current frame."""
        self.dream = Dream(model_dir, self)

    def make_plan(self, method: str = "cem", *, horizon: int | None = None, iters: int = 20,
                  num_worlds: int = 64) -> Plan:  # fmt: skip
        """Optimize the next ``horizon`` actions from the current state (``"cem"``, ``"mppi"`` or ``"gradient"``,
        :mod:`worldsim.optim`, the task's reward as the cost); the plan is overlaid (its states as a ghost) and
        followed when :attr:`follow_plan` is set."""
        if not self.is_task:
            raise ValueError("planning needs a task's reward; an MJCF file has none")
        self.plan = Plan(self, method, horizon=horizon, iters=iters, num_worlds=num_worlds)
        return self.plan

    def status(self) -> dict:
        """The numbers the window shows: step, reward, return, fps, and the dream's PSNR [dB] (last, mean)."""
        out = {"task": self.name, "step": self.steps, "reward": self.reward, "return": self.episode_return,
               "last_episode_return": self.last_episode_return, "fps": self.fps, "view": self.view,
               "paused": self.paused}  # fmt: skip
        if self.dream is not None:
            out.update(dream_psnr=self.dream.last_psnr, dream_mean_psnr=self.dream.mean_psnr,
                       dream_steps=self.dream.steps)  # fmt: skip
        if self.plan is not None:
            out.update(plan_cost=self.plan.cost, plan_method=self.plan.method)
        return out


class Dream:
    """A world model run beside the simulator: restarted from the simulator's frame, stepped with the same actions
    (true-action models) or the latent actions its LAM infers from the simulator's consecutive frames (latent
    models), one generated frame per ``repeat`` env steps (the dataset's action repeat), scored by PSNR against the
    simulator's frame at the model's resolution."""

    def __init__(self, model_dir: str | Path, session: ViewerSession):
        from ..models import load

        self.model = load(model_dir)
        trained_on = self.model.task
        if trained_on is not None and trained_on != session.name:
            raise ValueError(f"the world model in {model_dir} was trained on {trained_on}; the viewer shows "
                             f"{session.name}")  # fmt: skip
        if getattr(self.model, "condition", None) is not None:
            raise ValueError(f"the world model in {model_dir} is conditioned on the simulator's "
                             f"{self.model.condition} images; the dream runs unconditioned models")  # fmt: skip
        if self.model.action_mode == "true" and len(self.model.action_space[0]) != session.nu:
            got = len(self.model.action_space[0])
            raise ValueError(f"the world model takes {got} actions, the task {session.nu}")
        self.size = self.model.frame_shape[0]
        self.repeat = max(1, round(self.model.dt / session.task.dt)) if self.model.dt > 0 else 1
        # the frames the model saw in training: the envs' splat density (the viewer's may be lower, for speed)
        self.scene = SplatScene.from_model(session.task.model, density=DATASET_DENSITY, ground_density=200)
        self.restart(session)

    def _frame(self, session: ViewerSession) -> torch.Tensor:
        core = session.core
        live, core.camera.scene = core.camera.scene, self.scene
        try:
            return session.render(self.size)["pixels"].cpu()
        finally:
            core.camera.scene = live

    def restart(self, session: ViewerSession) -> None:
        """Start dreaming again from the simulator's current frame."""
        self.real = self._frame(session)
        self.frame = self.real.clone()
        self.state = self.model.start(self.real[None, None])
        self.psnrs: list[float] = []
        self.steps = 0
        self._pending = 0

    def advance(self, session: ViewerSession) -> None:
        """After an env step: every ``repeat`` env steps, one generated frame under the action of the first of them
        (a recorded step holds one action for ``repeat`` env steps)."""
        if self._pending == 0:
            self._action = session.action.copy()
        self._pending += 1
        if self._pending < self.repeat:
            return
        self._pending = 0
        real = self._frame(session)
        if self.model.action_mode == "latent":
            action = self.model.infer_actions(torch.stack([self.real, real])[None])[:, 0]
        else:
            action = torch.as_tensor(self._action, dtype=torch.float32)[None]
        generated, self.state = self.model.step(self.state, action)
        self.frame, self.real = generated[0], real
        self.psnrs.append(min(float(psnr(self.frame, real)), PSNR_CAP_DB))
        self.steps += 1

    @property
    def last_psnr(self) -> float | None:
        return self.psnrs[-1] if self.psnrs else None

    @property
    def mean_psnr(self) -> float | None:
        return float(np.mean(self.psnrs)) if self.psnrs else None

    def image(self, size: int) -> np.ndarray:
        """The last generated frame, scaled (nearest) to uint8 [size, size, 3]."""
        f = self.frame.numpy()
        rows = np.arange(size) * f.shape[0] // size
        return f[rows][:, rows]


class Plan:
    """A trajectory-optimization solution from the session's current state (see
    :meth:`ViewerSession.make_plan`): its controls, states and cost, and the ghost image of its states."""

    def __init__(self, session: ViewerSession, method: str, *, horizon, iters, num_worlds):
        from ..optim import CEM, MPPI, GradientShooting, TaskProblem

        methods = {"cem": CEM, "mppi": MPPI, "gradient": lambda: GradientShooting(lr=0.1, grad_clip=10.0)}
        if method not in methods:
            raise ValueError(f"method must be one of {list(methods)}, got {method!r}")
        horizon = horizon or min(type(session.task).horizon, 50)
        worlds = 1 if method == "gradient" else num_worlds
        problem = TaskProblem(type(session.task), num_worlds=worlds, horizon=horizon)
        problem.sync(session.task, 0)
        with torch.no_grad():  # the physics as the sliders set it, in every world of the problem
            mine = problem.model.get_params()
            for name, value in session.task.model.get_params().items():
                mine[name].copy_(value[:1].expand_as(mine[name]))
        result = methods[method]().solve(problem, iters=iters)
        self.method, self.cost, self.start_step = method, float(result.cost), session.steps
        self.ctrl = result.ctrl.detach().cpu().numpy()
        self.qpos = result.qpos.detach().cpu()
        self._ghost: np.ndarray | None = None
        self._ghost_key: tuple | None = None

    def action(self, k: int) -> np.ndarray:
        """The plan's action at step ``k`` after it was made (the last one held beyond the horizon)."""
        return self.ctrl[min(max(k, 0), len(self.ctrl) - 1)]

    def ghost(self, session: ViewerSession) -> np.ndarray:
        """The plan's states at 1/3, 2/3 and the end of its horizon rendered over each other, uint8 [H, W, 3], from
        the live camera (re-rendered when the camera moves or the colors change)."""
        core = session.core
        key = (session.size, str(core.camera.task_camera()), core.randomizer.visual["color_gain"].tolist())
        if self._ghost is None or self._ghost_key != key:
            t = len(self.qpos) - 1
            picks = [max(1, t // 3), max(1, 2 * t // 3), t]
            imgs = [session.render(qpos=self.qpos[k])["pixels"].cpu().numpy().astype(np.float32) for k in picks]
            self._ghost, self._ghost_key = np.mean(imgs, axis=0).astype(np.uint8), key
        return self._ghost
