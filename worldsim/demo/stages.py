"""The stages of ``worldsim demo``, one function each: ``stage(cfg, out) -> results`` writes its pictures and
videos into the folder ``out`` and returns a JSON-serializable dict of numbers and file names (relative to
``out``). :mod:`worldsim.demo.pipeline` runs them in order and caches their results."""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import numpy as np
import torch

from .._media import grid, save_figure, write_png, write_video
from .config import DemoConfig


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _label(frame: np.ndarray, text: str) -> np.ndarray:
    from PIL import Image, ImageDraw

    img = Image.fromarray(frame)
    ImageDraw.Draw(img).text((4, 3), text, fill=(255, 255, 255), stroke_width=1, stroke_fill=(0, 0, 0))
    return np.asarray(img)


# ---------------------------------------------------------------- 1. simulate with domain randomization, render
def simulate(cfg: DemoConfig, out: Path) -> dict:
    """``cfg.dr_worlds`` worlds of the task side by side under domain randomization (the task's physics preset
    plus visual randomization: colors, light, background, camera), rendered through the splat renderer."""
    from ..data.policies import NoisyBalancePolicy
    from ..envs.vector_env import WorldsimVectorEnv
    from ..randomization import Uniform, default_randomization

    dr = dataclasses.replace(default_randomization(cfg.task), color_jitter=0.3, light_gain=Uniform(0.6, 1.3),
                             background=Uniform(0.2, 0.9), camera_jitter=0.15, fov_jitter=5.0)  # fmt: skip
    n = cfg.dr_worlds
    envs = WorldsimVectorEnv(cfg.task, n, obs_mode="pixels", width=cfg.size, height=cfg.size, randomization=dr)
    policy = NoisyBalancePolicy(envs.single_action_space, n, seed=cfg.seed)
    obs, info = envs.reset(seed=cfg.seed)
    policy.reset(np.arange(n))
    frames, t0 = [obs], time.perf_counter()
    for _ in range(cfg.dr_steps):
        obs, _, term, trunc, _ = envs.step(policy(envs.core.task.obs().cpu().numpy()))
        frames.append(obs)
        if (term | trunc).any():
            policy.reset(np.flatnonzero(term | trunc))
    seconds = time.perf_counter() - t0
    cols = int(math.ceil(math.sqrt(n)))
    video = [grid(f, cols, scale=max(1, 256 // (cols * cfg.size) + 1)) for f in frames]
    write_video(out / "dr_worlds.mp4", video, fps=round(1 / envs.core.task.dt))
    write_png(out / "dr_worlds.png", video[len(video) // 2])
    rnd, nominal = info["randomization"], envs.core.randomizer.nominal
    ranges = {
        "friction ×": rnd["geom_friction"][:, :, 0].max(1) / nominal["geom_friction"][0, :, 0].max().item(),
        "mass ×": rnd["body_mass"][:, 1:].sum(1) / nominal["body_mass"][0, 1:].sum().item(),
        "motor strength ×": rnd["actuator_gear"][:, 0] / nominal["actuator_gear"][0, 0].item(),
        "light gain": rnd["visual_color_gain"].mean(1),
    }
    return {
        "task": cfg.task,
        "worlds": n,
        "steps": cfg.dr_steps,
        "env_steps_per_second": n * cfg.dr_steps / seconds,
        "randomization": {k: [float(v.min()), float(v.max())] for k, v in ranges.items()},
        "video": "dr_worlds.mp4",
        "picture": "dr_worlds.png",
    }


# ---------------------------------------------------------------- 2. record a dataset
def record_dataset(cfg: DemoConfig, out: Path) -> dict:
    """Episodes of the task under a noisy balancing controller and the physics randomization preset, recorded
    into a Minari dataset (pixels, states, actions, depth, body ids)."""
    from ..data import NoisyBalancePolicy, open_dataset, record
    from ..envs.tasks import TASKS

    task = TASKS[cfg.task](1)
    policy = NoisyBalancePolicy(task.single_action_space, min(cfg.episodes, 16), seed=cfg.seed)
    t0 = time.perf_counter()
    path = record(cfg.task, cfg.episodes, cfg.episode_steps, cfg.dataset, policy=policy, randomization="default",
                  size=cfg.size, seed=cfg.seed, overwrite=True)  # fmt: skip
    ds = open_dataset(cfg.dataset)
    ep = next(iter(ds.iterate_episodes(episode_indices=[0])))
    write_png(out / "episode.png", grid(ep.observations["pixels"][:: max(1, cfg.episode_steps // 8)][:8], 8, 2))
    return {
        "dataset": cfg.dataset,
        "path": str(path),
        "episodes": ds.total_episodes,
        "frames": int(ds.total_steps + ds.total_episodes),
        "size": cfg.size,
        "seconds": time.perf_counter() - t0,
        "picture": "episode.png",
    }


# ---------------------------------------------------------------- 3. train the world models
def train(cfg: DemoConfig, out: Path) -> dict:
    """The Genie-style model (tokenizer, latent action model, latent-action dynamics) and the flow-matching DiT
    (true actions), each for its share of the time budget, preset ``small``."""
    from ..models import train_dit, train_part

    t0 = time.perf_counter()
    genie = train_part("genie", cfg.dataset, out / "genie", minutes=cfg.genie_minutes, seed=cfg.seed)
    t1 = time.perf_counter()
    dit = train_dit(cfg.dataset, out / "dit", minutes=cfg.dit_minutes, actions="true", seed=cfg.seed)
    t2 = time.perf_counter()

    def clean(metrics):
        return {part: {k: float(v) for k, v in m.items()} for part, m in metrics.items()}

    return {"genie": clean(genie), "dit": clean(dit), "genie_seconds": t1 - t0, "dit_seconds": t2 - t1,
            "genie_dir": "genie", "dit_dir": "dit"}  # fmt: skip


# ---------------------------------------------------------------- 4. evaluate against the simulator
def evaluate_models(cfg: DemoConfig, out: Path) -> dict:
    """Both models (from the ``train`` stage's folder beside ``out``) on the same held-out clips: PSNR per
    generated frame against the simulator's frames and copy-last-frame, ΔtPSNR (true vs random actions), and a
    video of simulator | Genie | DiT rollouts."""
    from ..data import ClipDataset
    from ..models import load
    from ..models.evaluate import compare, save_psnr_plot

    train_dir = out.parent / "train"
    dirs = {"Genie (latent actions)": train_dir / "genie", "DiT (true actions)": train_dir / "dit"}
    results = compare([str(d) for d in dirs.values()], cfg.dataset, out=out, horizon=cfg.horizon, context=2,
                      max_clips=cfg.eval_clips)  # fmt: skip
    by_name = dict(zip(dirs, results.values(), strict=True))
    save_psnr_plot(out / "psnr_horizon.png", by_name)

    clips = ClipDataset(cfg.dataset, 2 + cfg.horizon, split="heldout", stride=cfg.horizon)
    n = min(4, len(clips))
    frames = torch.stack([clips[i]["frames"] for i in range(n)])
    actions = torch.stack([clips[i]["actions"] for i in range(n)])
    rows = {"simulator": frames[:, 2:]}
    for name, d in dirs.items():
        model = load(d)
        g = torch.Generator().manual_seed(cfg.seed)
        if model.action_mode == "latent":
            codes = model.infer_actions(frames)
            rows[name] = model.rollout(frames[:, :2], codes[:, 1:], past_actions=codes[:, :1], generator=g)
        else:
            rows[name] = model.rollout(frames[:, :2], actions[:, 1:], past_actions=actions[:, :1], generator=g)
    video = []
    for t in range(cfg.horizon):
        strip = [np.concatenate([r[i, t].numpy() for i in range(n)], 1) for r in rows.values()]
        labelled = [_label(np.repeat(np.repeat(s, 2, 0), 2, 1), name) for s, name in zip(strip, rows, strict=True)]
        video.append(np.concatenate(labelled, 0))
    from ..data import dataset_info

    write_video(out / "rollouts.mp4", video, fps=min(round(1 / dataset_info(cfg.dataset)["dt"]), 15))
    write_png(out / "rollouts.png", np.concatenate([video[0], video[len(video) // 2], video[-1]], 1))
    table = {}
    for name, res in by_name.items():
        table[name] = {
            "psnr_1": res["psnr_1"],
            f"psnr_{min(16, cfg.horizon)}": res[f"psnr_{min(16, cfg.horizon)}"],
            "copy_last_psnr_1": res["copy_last_psnr_1"],
            "delta_t_psnr": res["delta_t_psnr"],
            "psnr_per_step": res["psnr_per_step"],
            "copy_last_psnr_per_step": res["copy_last_psnr_per_step"],
            "frames_per_second": res["frames_per_second"],
            "tokenizer_psnr": res.get("tokenizer_psnr"),
        }
    return {"models": table, "clips": by_name[next(iter(by_name))]["clips"], "horizon": cfg.horizon,
            "plot": "psnr_horizon.png", "video": "rollouts.mp4", "picture": "rollouts.png"}  # fmt: skip


# ---------------------------------------------------------------- 5. physics of generated video: the motion suite
def motion(cfg: DemoConfig, out: Path) -> dict:
    """NewtonGen's Physical Invariance Score: a small DiT trained on the motion suite's scenes (one colored body,
    one Newtonian motion each), scored per category beside the simulator's own videos."""
    from ..metrics import record_motion_suite
    from ..models import load, train_dit
    from ..models.motion_eval import evaluate_motion_suite

    record_motion_suite(cfg.motion_dataset, cfg.motion_episodes, cfg.motion_frames,
                        categories=cfg.motion_categories, seed=cfg.seed, overwrite=True)  # fmt: skip
    t0 = time.perf_counter()
    train_dit(cfg.motion_dataset, out / "dit", minutes=cfg.motion_minutes, actions="true", seed=cfg.seed)
    seconds = time.perf_counter() - t0
    res = evaluate_motion_suite(load(out / "dit"), cfg.motion_dataset, episodes_per_category=4, context=2)
    return {
        "categories": {c: {"model_pis": r["model"]["pis"], "simulator_pis": r["simulator"]["pis"],
                           "model_centroid_error_px": r["model"]["centroid_error"]}
                       for c, r in res["categories"].items()},
        "model_pis": res["model_pis"],
        "simulator_pis": res["simulator_pis"],
        "train_seconds": seconds,
    }  # fmt: skip


# ---------------------------------------------------------------- 6. trajectory optimization
def trajopt(cfg: DemoConfig, out: Path) -> dict:
    """PushBox (contacts): gradient shooting through the simulator (one world, Adam, adjoint clipping) against
    CEM (``cfg.cem_samples`` samples per iteration), in physics steps and wall time."""
    from ..optim import CEM, GradientShooting, TaskProblem

    plt = _plt()
    runs = {}
    grad_problem = TaskProblem("PushBox", num_worlds=1, horizon=cfg.plan_horizon, seed=cfg.seed)
    runs["gradient"] = (
        grad_problem,
        GradientShooting(lr=0.1, grad_clip=10.0).solve(grad_problem, iters=cfg.gradient_iters),
    )
    cem_problem = TaskProblem("PushBox", num_worlds=cfg.cem_samples, horizon=cfg.plan_horizon, seed=cfg.seed)
    runs["CEM"] = (cem_problem, CEM().solve(cem_problem, iters=cfg.cem_iters))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.3))
    table = {}
    for name, (_, res) in runs.items():
        steps = [h["sim_steps"] + h["grad_steps"] for h in res.history]
        costs = [h["cost"] for h in res.history]
        axes[0].plot(steps, costs, label=name)
        axes[1].plot([h["wall_time"] for h in res.history], costs, label=name)
        table[name] = {"cost": res.cost, "physics_steps": steps[-1], "seconds": res.history[-1]["wall_time"]}
    target = table["CEM"]["cost"]
    g = runs["gradient"][1]
    table["gradient"]["steps_to_cem_cost"] = g.steps_to_reach(target)
    table["gradient"]["seconds_to_cem_cost"] = g.time_to_reach(target)
    axes[0].set_xscale("log")
    for ax, xlabel in zip(axes, ("physics steps (forward + backward, all worlds)", "wall time [s]"), strict=True):
        ax.set_xlabel(xlabel)
        ax.set_ylabel("cost = −Σ reward")
        ax.legend()
    fig.suptitle("PushBox: push the box to the goal")
    fig.tight_layout()
    save_figure(fig, out / "cost.png")
    videos = {name: problem.render(res.qpos, width=128, height=128) for name, (problem, res) in runs.items()}
    frames = [np.concatenate([_label(videos[n][t], n) for n in videos], 1) for t in range(len(videos["CEM"]))]
    write_video(out / "solutions.mp4", frames, fps=round(1 / grad_problem.task.dt / 2))
    return {"task": "PushBox", "horizon": cfg.plan_horizon, "methods": table, "plot": "cost.png",
            "video": "solutions.mp4"}  # fmt: skip


# ---------------------------------------------------------------- 7. system identification from pixels
def sysid(cfg: DemoConfig, out: Path) -> dict:
    """A ball thrown over a plane, filmed from 3 views with hidden restitution, gravity and initial velocity; the
    three are recovered from the pixels alone, through the renderer and the simulator."""
    from ..physics import damping_ratio_from_restitution
    from ..physics.mjcf import load_mjcf
    from ..renderers import intrinsics, look_at
    from ..sysid import BOUNCE_SCENE, BounceParams, bounce_fit_figure, fit_bounce_from_pixels, make_bounce_video

    steps_per_frame = 16
    model = load_mjcf(BOUNCE_SCENE)
    tilt, az = math.radians(4.0), math.radians(150.0)
    g = 9.5 * np.array([math.sin(tilt) * math.cos(az), math.sin(tilt) * math.sin(az), -math.cos(tilt)])
    truth = BounceParams(damping_ratio_from_restitution(0.7), tuple(g), (1.4, -0.3, 2.2))
    centre = (-0.1, 0.0, 0.5)
    eyes = ((-0.1, -3.6, 1.4), (2.8, -2.2, 2.2), (-2.6, 2.4, 2.6))
    viewmats = torch.stack([look_at(e, centre) for e in eyes])
    Ks = torch.stack([intrinsics(50.0, cfg.sysid_size, cfg.sysid_size)] * 3)
    video = make_bounce_video(model, truth, viewmats, Ks, num_frames=cfg.sysid_frames, steps_per_frame=steps_per_frame,
                              width=cfg.sysid_size, height=cfg.sysid_size, noise_std=0.02, seed=cfg.seed)  # fmt: skip
    fit = fit_bounce_from_pixels(model, video, viewmats, Ks, steps_per_frame=steps_per_frame, truth=truth,
                                 iterations=cfg.sysid_iterations, num_candidates=cfg.sysid_candidates,
                                 seed=cfg.seed, progress=True)  # fmt: skip
    size = cfg.sysid_size
    fitted = make_bounce_video(model, fit.params, viewmats, Ks, num_frames=cfg.sysid_frames,
                               steps_per_frame=steps_per_frame, width=size, height=size)  # fmt: skip
    scale = max(1, 192 // cfg.sysid_size)
    frames = []
    for f in range(cfg.sysid_frames):
        rows = [torch.cat(list(v[:, f]), dim=1) for v in (video, fitted)]
        img = (torch.cat(rows, 0).clamp(0, 1).numpy() * 255).astype(np.uint8)
        img = np.repeat(np.repeat(img, scale, 0), scale, 1)
        img = _label(img, "top: given views   bottom: recovered parameters, re-rendered")
        frames.append(img)
    write_video(out / "fit.mp4", frames, fps=round(1 / (steps_per_frame * model.timestep)))
    fig = bounce_fit_figure(model, truth, fit, steps_per_frame=steps_per_frame)
    save_figure(fig, out / "trajectory.png")
    g_fit = np.asarray(fit.gravity)
    return {
        "views": 3, "frames": cfg.sysid_frames, "size": cfg.sysid_size, "fit_seconds": fit.wall_time,
        "rows": [
            ["coefficient of restitution e", truth.restitution, fit.restitution, 100 * fit.errors["restitution"], "%"],
            ["|g| [m/s²]", float(np.linalg.norm(g)), float(np.linalg.norm(g_fit)),
             100 * fit.errors["gravity_magnitude"], "%"],
            ["direction of g", 0.0, fit.errors["gravity_angle_deg"], fit.errors["gravity_angle_deg"], "deg"],
            ["|v0| [m/s]", float(np.linalg.norm(truth.velocity)), float(np.linalg.norm(fit.velocity)),
             100 * fit.errors["velocity"], "% (of the vector)"],
        ],
        "video": "fit.mp4", "plot": "trajectory.png",
    }  # fmt: skip
