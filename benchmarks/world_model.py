"""World-model goals of issues 9 (Genie-style model) and 10 (flow-matching DiT), measured in one run beside their
baselines (CPU by default).

For each task (``PushBox``, ``CartPole``):

1. record ``--episodes`` episodes of ``--steps`` recorded frames at ``--size`` px into ``OUT/data/<task>`` (kept
   between runs): PushBox under a waypoint-seeking pusher that runs through the box every other waypoint (one frame
   per 2 env steps); CartPole under a noisy balancing controller (uniform random forces drop the pole within ~10
   steps, so a clip would show little but falling), whose Ornstein-Uhlenbeck noise moves the cart visibly;
2. train, each part for ``--minutes`` wall-clock minutes (preset ``--preset``): the video tokenizer, the latent
   action model and a latent-action dynamics model (``OUT/<task>/latent``), and a true-action dynamics model on
   the same tokenizer (``OUT/<task>/true``); the DiT world model with true actions (``OUT/<task>/dit_true``) and
   with the latent actions of the same LAM (``OUT/<task>/dit_latent``), each for ``--minutes``; a part whose
   checkpoint exists is kept (``--retrain`` to redo);
3. evaluate all four on the same held-out episodes from ``--context`` real frames (default 2, the least that shows
   a velocity; 4 gave the same step-1 PSNR on CartPole) (``worldsim.models.evaluate``: ``eval.json``,
   ``rollouts.png`` and ``psnr_horizon.png`` under each model directory) and time a DreamEnv at ``--size`` px;
4. print the goal table: measured value, baseline, goal; write everything to ``OUT/world_model.json`` and the PSNR
   vs horizon curves of the models to ``OUT/<task>_psnr_horizon.png``.

Baselines: copy-last-frame (every future frame = the last real one) for the dynamics PSNR; random latent actions
for ΔtPSNR (Genie's controllability measure); ``--size`` 64 and ``--minutes`` 15 are the issue's settings. Each
model trains on all of torch's threads (both cores of the 2-core CI machine), one after the other.

    python benchmarks/world_model.py                 # the full run (about 3 h on 2 cores from scratch)
    python benchmarks/world_model.py --minutes 4     # shorter training, same table
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch
from gymnasium.utils.env_checker import check_env

from worldsim._files import atomic_path
from worldsim.data import record
from worldsim.data.policies import NoisyBalancePolicy, WaypointPusherPolicy
from worldsim.models import DreamEnv, load, train_dit, train_part
from worldsim.models.evaluate import evaluate, format_table, save_psnr_plot
from worldsim.models.training import CHECKPOINT

# env steps per recorded frame: PushBox at half the env's rate, so that the pusher moves a few pixels per frame;
# CartPole at the env's rate (its balancing controller does not survive actions held for two steps)
ACTION_REPEAT = {"PushBox": 2, "CartPole": 1}


def _policy(task: str, env_space, num_envs: int, seed: int):
    if task == "CartPole":
        return NoisyBalancePolicy(env_space, num_envs, seed)
    if task == "PushBox":
        r = ACTION_REPEAT[task]
        return WaypointPusherPolicy(env_space, num_envs, seed, hold=(max(1, 8 // r), max(2, 17 // r)))
    return "smooth"


def record_data(task: str, out: Path, episodes: int, steps: int, size: int) -> Path:
    path = out / "data" / task
    if path.exists():
        print(f"[{task}] using the recorded dataset {path}")
        return path
    import gymnasium

    space = gymnasium.make(f"worldsim/{task}-v0").action_space
    num_envs = min(episodes, 16)
    policy = _policy(task, space, num_envs, 0)
    t0 = time.perf_counter()
    record(
        task,
        episodes,
        steps,
        str(path),
        policy=policy,
        size=size,
        num_envs=num_envs,
        action_repeat=ACTION_REPEAT.get(task, 1),
    )
    print(f"[{task}] recorded {episodes} episodes x {steps} steps in {time.perf_counter() - t0:.0f} s")
    return path


def train_models(task: str, data: Path, out: Path, minutes: float, preset: str, retrain: bool) -> dict:
    latent, true = out / task / "latent", out / task / "true"
    if retrain:
        shutil.rmtree(out / task, ignore_errors=True)
    times = {}
    for part, where, actions in (
        ("tokenizer", latent, "latent"),
        ("lam", latent, "latent"),
        ("dynamics", latent, "latent"),
        ("dynamics", true, "true"),
    ):
        if part == "dynamics" and actions == "true" and not (true / "tokenizer").exists():
            shutil.copytree(latent / "tokenizer", true / "tokenizer")  # the same tokenizer for both dynamics models
        key = f"{part}_{actions}" if part == "dynamics" else part
        if (where / part / CHECKPOINT).is_file():
            print(f"[{task}] keeping the trained {key} in {where / part}")
            continue
        t0 = time.perf_counter()
        metrics = train_part(part, str(data), where, minutes=minutes, preset=preset, actions=actions)
        times[key] = time.perf_counter() - t0
        shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics[part].items())
        print(f"[{task}] {key}: {times[key] / 60:.1f} min, {shown}")
    for actions in ("true", "latent"):
        where = out / task / f"dit_{actions}"
        if (where / "dit" / CHECKPOINT).is_file():
            print(f"[{task}] keeping the trained DiT in {where}")
            continue
        if actions == "latent" and not (where / "lam").exists():
            shutil.copytree(latent / "lam", where / "lam")  # the Genie model's LAM: the same latent actions
        t0 = time.perf_counter()
        metrics = train_dit(str(data), where, minutes=minutes, preset=preset, actions=actions)
        times[f"dit_{actions}"] = time.perf_counter() - t0
        shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics["dit"].items())
        print(f"[{task}] dit_{actions}: {times[f'dit_{actions}'] / 60:.1f} min, {shown}")
    return times


def dream_speed(model_dir: Path, seconds: float = 10.0) -> float:
    """Steps per second of one DreamEnv (after check_env and a warm-up), stepping with random actions."""
    env = DreamEnv(load(model_dir))
    check_env(env, skip_render_check=True)
    env.reset(seed=0)
    for _ in range(10):
        env.step(env.action_space.sample())
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        _, _, _, truncated, _ = env.step(env.action_space.sample())
        n += 1
        if truncated:
            env.reset()
    return n / (time.perf_counter() - t0)


def goal_rows(task: str, lat: dict, tru: dict, speed: float) -> list[tuple]:
    """(task, metric, worldsim, baseline, goal, met)."""
    h = max(int(k[5:]) for k in tru if k.startswith("psnr_") and k[5:].isdigit())
    codes_used = round(lat["latent_codes"]["usage"] * 8)
    return [
        (task, "tokenizer PSNR [dB]", lat["tokenizer_psnr"], None, ">= 30", lat["tokenizer_psnr"] >= 30),
        (task, "tokenizer codes used", lat["tokenizer_codes"]["usage"], None, ">= 80%",
         lat["tokenizer_codes"]["usage"] >= 0.8),
        (task, "true-action PSNR step 1 [dB]", tru["psnr_1"], tru["copy_last_psnr_1"], "copy-last + 3",
         tru["psnr_1"] >= tru["copy_last_psnr_1"] + 3),
        (task, f"true-action PSNR step {h} [dB]", tru[f"psnr_{h}"], tru[f"copy_last_psnr_{h}"], "> copy-last",
         tru[f"psnr_{h}"] > tru[f"copy_last_psnr_{h}"]),
        (task, "latent-action PSNR step 1 [dB]", lat["psnr_1"], lat["copy_last_psnr_1"], "(report)", None),
        (task, "LAM ΔtPSNR t=4 [dB]", lat["delta_t_psnr"], 0.0, ">= 1", lat["delta_t_psnr"] >= 1),
        (task, "LAM codes used (of 8)", codes_used, None, ">= 6", codes_used >= 6),
        (task, "LAM NMI with true actions", lat["nmi_true_actions"], None, "(report)", None),
        (task, "LAM probe R² of true actions", lat["probe_r2"], None, "(report)", None),
        (task, "DreamEnv steps/s (1 env)", speed, None, ">= 30", speed >= 30),
    ]  # fmt: skip


def dit_rows(task: str, dit: dict, dit_lat: dict, genie: dict, speed: float) -> list[tuple]:
    """(task, metric, worldsim, baseline, goal, met) of the DiT world model; ``genie``: the Genie true-action
    model's evaluation on the same clips."""
    h = max(int(k[5:]) for k in dit if k.startswith("psnr_") and k[5:].isdigit())
    return [
        (task, "DiT true-action PSNR step 1 [dB]", dit["psnr_1"], dit["copy_last_psnr_1"], "copy-last + 3",
         dit["psnr_1"] >= dit["copy_last_psnr_1"] + 3),
        (task, f"DiT true-action PSNR step {h} [dB]", dit[f"psnr_{h}"], dit[f"copy_last_psnr_{h}"], "> copy-last",
         dit[f"psnr_{h}"] > dit[f"copy_last_psnr_{h}"]),
        (task, f"DiT vs Genie PSNR step {h} [dB]", dit[f"psnr_{h}"], genie[f"psnr_{h}"], "> Genie",
         dit[f"psnr_{h}"] > genie[f"psnr_{h}"]),
        (task, "DiT ΔtPSNR t=4 [dB] (true vs random)", dit["delta_t_psnr"], 0.0, ">= 1", dit["delta_t_psnr"] >= 1),
        (task, "DiT latent-action PSNR step 1 [dB]", dit_lat["psnr_1"], dit_lat["copy_last_psnr_1"], "(report)", None),
        (task, "DiT latent ΔtPSNR t=4 [dB]", dit_lat["delta_t_psnr"], 0.0, "(report)", None),
        (task, "DiT frames/s (batches of 8)", dit["frames_per_second"], genie["frames_per_second"], ">= 10",
         dit["frames_per_second"] >= 10),
        (task, "DiT DreamEnv steps/s (1 env)", speed, None, ">= 10", speed >= 10),
    ]  # fmt: skip


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 10 else f"{v:.2f}"
    return str(v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", nargs="+", default=["PushBox", "CartPole"])
    ap.add_argument("--episodes", type=int, default=200)
    ap.add_argument("--steps", type=int, default=64, help="env steps per episode")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--minutes", type=float, default=15.0, help="training budget per model")
    ap.add_argument("--preset", default="small")
    ap.add_argument("--horizon", type=int, default=16)
    ap.add_argument("--context", type=int, default=2, help="real frames before the generated ones")
    ap.add_argument("--clips", type=int, default=128, help="held-out clips evaluated (at most all of them)")
    ap.add_argument("--out", default="outputs/world_model")
    ap.add_argument("--retrain", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    rows, report = [], {"args": vars(args), "threads": torch.get_num_threads()}
    for task in args.tasks:
        data = record_data(task, out, args.episodes, args.steps, args.size)
        report[f"{task}_train_seconds"] = train_models(task, data, out, args.minutes, args.preset, args.retrain)
        ev = {"horizon": args.horizon, "max_clips": args.clips}
        lat = evaluate(out / task / "latent", str(data), context=args.context, **ev)
        tru = evaluate(out / task / "true", str(data), context=args.context, **ev)
        dit = evaluate(out / task / "dit_true", str(data), context=args.context, **ev)
        dit_lat = evaluate(out / task / "dit_latent", str(data), context=args.context, **ev)
        print(format_table(lat), format_table(tru), format_table(dit), format_table(dit_lat), sep="\n")
        save_psnr_plot(out / f"{task}_psnr_horizon.png", {"Genie latent": lat, "Genie true": tru, "DiT true": dit,
                                                          "DiT latent": dit_lat})  # fmt: skip
        speed = dream_speed(out / task / "latent")
        dit_speed = dream_speed(out / task / "dit_true")
        report[task] = {"latent": lat, "true": tru, "dit_true": dit, "dit_latent": dit_lat,
                        "dream_env_steps_per_s": speed, "dit_dream_env_steps_per_s": dit_speed}  # fmt: skip
        rows += goal_rows(task, lat, tru, speed) + dit_rows(task, dit, dit_lat, tru, dit_speed)
    print(f"\n{'task':<9} {'metric':<38} {'worldsim':>9} {'baseline':>9}  {'goal':<14} met")
    for task, metric, value, base, goal, met in rows:
        ok = "-" if met is None else ("yes" if met else "NO")
        print(f"{task:<9} {metric:<38} {_fmt(value):>9} {_fmt(base):>9}  {goal:<14} {ok}")
    report["rows"] = [list(r) for r in rows]
    with atomic_path(out / "world_model.json") as tmp:
        tmp.write_text(json.dumps(report, indent=2, default=float))
    print(f"wrote {out / 'world_model.json'}, <task>_psnr_horizon.png; rollouts.png under each model's eval/")


if __name__ == "__main__":
    main()
