"""Evaluate a trained world model against the simulator's held-out episodes (``worldsim eval DIR --data NAME``).

On clips of ``context + horizon`` frames from held-out episodes (never seen in training):

* tokenizer (Genie-style models): reconstruction PSNR of the held-out frames, codebook usage and perplexity;
* dynamics: PSNR and SSIM per step of the generated frames vs the real ones, given the clip's actions (true
  actions, or for a latent-action model the codes the LAM infers from the real clip), beside the copy-last-frame
  baseline (every future frame = the last context frame), and the sampling speed (generated frames per second,
  batches of ``batch`` clips);
* controllability: Genie's ΔtPSNR, the PSNR given the clip's actions minus the PSNR given random ones (uniform
  latent codes, or uniform in the action box for true actions), at t = 4 and per step;
* latent actions: code usage and perplexity, normalized mutual information with the discretized true actions and
  a linear-probe R² of the true actions from the one-hot codes;
* physics (models with true actions trained on a motion-suite dataset): Physical Invariance Score per motion
  category, centroid error and area drift beside the simulator's own videos
  (:func:`~worldsim.models.motion_eval.evaluate_motion_suite`), under ``"motion"``.

:func:`compare` evaluates several models on the same clips and writes their curves into one plot.

Writes ``eval.json`` (every number), ``rollouts.png`` (real over generated frames of a few clips) and
``psnr_horizon.png`` (PSNR vs rollout step: the model, copy-last-frame and, for a latent-action model, random
actions) atomically.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from .._files import atomic_path
from ..data import ClipDataset, dataset_info
from ..metrics import (
    codebook_usage,
    delta_psnr_per_step,
    delta_t_psnr,
    discretize_actions,
    linear_probe_r2,
    normalized_mutual_information,
    psnr,
    psnr_per_step,
    ssim_per_step,
)
from ..metrics.motion_suite import MOTION_TASK
from .interface import WorldModel, load
from .motion_eval import evaluate_motion_suite, format_motion_table
from .tokenizer import to_uint8


def _finite_mean(x: torch.Tensor) -> float:
    x = x[torch.isfinite(x)]
    return float(x.mean()) if len(x) else float("inf")


@torch.no_grad()
def evaluate(
    model: str | Path | WorldModel,
    data: str | None = None,
    *,
    horizon: int = 16,
    context: int = 1,
    max_clips: int = 32,
    batch: int = 8,
    seed: int = 0,
    out: str | Path | None = None,
    steps: int | None = None,
) -> dict:
    """Evaluate ``model`` (a directory or a loaded model) on held-out clips of ``data`` (default: the model's own
    dataset); returns the metrics and, with ``out`` (default: ``<model dir>/eval``), writes them with a picture.
    ``steps``: MaskGIT iterations (Genie) or ODE steps (DiT) per frame; None = the model's default."""
    model_dir = None
    if not isinstance(model, WorldModel):
        model_dir = Path(model)
        model = load(model_dir)
    data = data or model.data
    if data is None:
        raise ValueError("no dataset given and the model does not name one")
    if horizon < 1 or context < 1 or context + horizon > 10_000:
        raise ValueError(f"horizon and context must be positive, got {horizon}, {context}")
    if context > model.context_window - 1:
        raise ValueError(f"context={context} exceeds the model's window of {model.context_window - 1} frames")
    condition = getattr(model, "condition", None)
    extra = (condition,) if condition else ()
    clips = ClipDataset(data, context + horizon, split="heldout", stride=horizon, extra_keys=extra)
    gen = torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(clips), generator=gen)[:max_clips].tolist()
    frames = torch.stack([clips[i]["frames"] for i in pick])  # [N, k+T, H, W, 3] uint8
    true_actions = torch.stack([clips[i]["actions"] for i in pick])  # [N, k+T-1, A]
    physics = torch.stack([clips[i][condition] for i in pick]) if condition else None
    ctx, future = frames[:, :context], frames[:, context:]

    res: dict = {
        "data": str(data),
        "task": (dataset_info(data) or {}).get("task"),
        "clips": len(pick),
        "context": context,
        "horizon": horizon,
        "action_mode": model.action_mode,
        "model": type(model).__name__,
    }
    tok = getattr(model, "tokenizer", None)
    if tok is not None:
        flat = frames.flatten(0, 1)
        codes = torch.cat([tok.encode(flat[i : i + 64]) for i in range(0, len(flat), 64)])
        recon = torch.cat([to_uint8(tok.decode(codes[i : i + 64])) for i in range(0, len(codes), 64)])
        res["tokenizer_psnr"] = _finite_mean(psnr(recon, flat))
        res["tokenizer_codes"] = {k: v for k, v in codebook_usage(codes, tok.num_codes).items() if k != "counts"}
    timing = {"seconds": 0.0, "frames": 0}

    def generate(actions, past=None, timed=False):
        """Rollouts of every clip, in batches of ``batch``; ``timed`` adds their time and frames to ``timing``."""
        outs = []
        kw = {} if steps is None else {"steps": steps}
        for i in range(0, len(ctx), batch):
            p = None if past is None else past[i : i + batch]
            if physics is not None:
                kw["physics"] = physics[i : i + batch]
            g = torch.Generator().manual_seed(seed + i)
            t0 = time.perf_counter()
            outs.append(model.rollout(ctx[i : i + batch], actions[i : i + batch], past_actions=p, generator=g, **kw))
            if timed:
                timing["seconds"] += time.perf_counter() - t0
                timing["frames"] += outs[-1].shape[0] * outs[-1].shape[1]
        return torch.cat(outs)

    if model.action_mode == "latent":
        inferred = model.infer_actions(frames)  # [N, k+T-1] from the real clip
        past, act = (inferred[:, : context - 1] if context > 1 else None), inferred[:, context - 1 :]
        pred = generate(act, past, timed=True)
        rand = torch.randint(0, model.num_actions, act.shape, generator=gen)
        pred_random = generate(rand, past)
        res["delta_t_psnr"] = delta_t_psnr(future, pred, pred_random, t=min(4, horizon))
        res["delta_psnr_per_step"] = delta_psnr_per_step(future, pred, pred_random).tolist()
        res["random_action_psnr_per_step"] = psnr_per_step(pred_random, future).tolist()
        res["latent_codes"] = {k: v for k, v in codebook_usage(inferred, model.num_actions).items() if k != "counts"}
        codes_flat, acts_flat = inferred.flatten(), true_actions.flatten(0, 1)
        res["nmi_true_actions"] = normalized_mutual_information(codes_flat, discretize_actions(acts_flat, bins=3))
        onehot = torch.nn.functional.one_hot(codes_flat, model.num_actions)
        # the probe needs a fit and a held-out part (>= 2 samples each); None (null in the JSON) when too few
        res["probe_r2"] = linear_probe_r2(onehot, acts_flat, seed=seed) if len(codes_flat) >= 10 else None
    else:
        past = true_actions[:, : context - 1] if context > 1 else None
        act = true_actions[:, context - 1 :]
        pred = generate(act, past, timed=True)
        low, high = (torch.as_tensor(x) for x in model.action_space)
        rand = low + (high - low) * torch.rand(act.shape, generator=gen)
        pred_random = generate(rand, past)
        res["delta_t_psnr"] = delta_t_psnr(future, pred, pred_random, t=min(4, horizon))
        res["delta_psnr_per_step"] = delta_psnr_per_step(future, pred, pred_random).tolist()
        res["random_action_psnr_per_step"] = psnr_per_step(pred_random, future).tolist()
    res["frames_per_second"] = timing["frames"] / max(timing["seconds"], 1e-9)
    res["sampling_batch"] = min(batch, len(ctx))
    copy = ctx[:, -1:].expand_as(future)
    res["psnr_per_step"] = psnr_per_step(pred, future).tolist()
    res["ssim_per_step"] = ssim_per_step(pred, future).tolist()
    res["copy_last_psnr_per_step"] = psnr_per_step(copy, future).tolist()
    res["psnr_1"], res["copy_last_psnr_1"] = res["psnr_per_step"][0], res["copy_last_psnr_per_step"][0]
    last = min(16, horizon) - 1
    res[f"psnr_{last + 1}"], res[f"copy_last_psnr_{last + 1}"] = (
        res["psnr_per_step"][last],
        res["copy_last_psnr_per_step"][last],
    )

    if res["task"] == MOTION_TASK and model.action_mode == "true":
        kw = {} if steps is None else {"steps": steps}
        res["motion"] = evaluate_motion_suite(model, data, context=max(2, context), seed=seed + 1, batch=batch, **kw)

    out = Path(out) if out is not None else (model_dir / "eval" if model_dir is not None else None)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        _write(out / "eval.json", json.dumps(res, indent=2).encode())
        _save_grid(out / "rollouts.png", future[:4], pred[:4], ctx[:4, -1])
        save_psnr_plot(out / "psnr_horizon.png", {model_label(res): res})
    return res


def _write(path: Path, payload: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)


def _save_grid(path: Path, real: torch.Tensor, generated: torch.Tensor, last_context: torch.Tensor) -> None:
    """Per clip two rows (real, generated), the last context frame in the first column, up to 16 steps."""
    import imageio.v3 as iio

    n, t = real.shape[:2]
    t = min(t, 16)
    rows = []
    for i in range(n):
        pad = torch.full_like(last_context[i], 255)
        rows.append(torch.cat([last_context[i], *real[i, :t]], 1))
        rows.append(torch.cat([pad, *generated[i, :t]], 1))
    grid = torch.cat(rows, 0).numpy()
    with atomic_path(path) as tmp:
        iio.imwrite(tmp, grid)


def save_psnr_plot(path: str | Path, results: dict[str, dict]) -> None:
    """PSNR vs rollout step of one or more :func:`evaluate` results (``{label: result}``), each beside its
    copy-last-frame baseline (dashed) and, for latent-action models, random latent actions (dotted); a PNG written
    atomically."""
    from matplotlib.figure import Figure  # no pyplot: the caller's backend and figures are left alone

    path = Path(path)
    fig = Figure(figsize=(6, 4), dpi=100)
    ax = fig.subplots()
    for i, (label, res) in enumerate(results.items()):
        color = f"C{i}"
        steps = range(1, len(res["psnr_per_step"]) + 1)
        ax.plot(steps, res["psnr_per_step"], "-o", ms=3, color=color, label=f"{label}")
        ax.plot(steps, res["copy_last_psnr_per_step"], "--", color=color, alpha=0.6, label=f"{label}: copy-last")
        if "random_action_psnr_per_step" in res:
            ax.plot(steps, res["random_action_psnr_per_step"], ":", color=color, alpha=0.8,
                    label=f"{label}: random actions")  # fmt: skip
    first = next(iter(results.values()))
    ax.set(xlabel="rollout step", ylabel="PSNR [dB]", title=f"{first['task']}: {first['context']} context frames")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp)


def format_table(res: dict) -> str:
    """The headline numbers of one :func:`evaluate` result as text."""
    lines = [
        f"{res['task']} ({res['data']}): {res.get('model', 'world model')}, {res['clips']} held-out clips, context "
        f"{res['context']}, horizon {res['horizon']}, {res['action_mode']} actions"
    ]
    if "tokenizer_psnr" in res:
        lines.append(
            f"  tokenizer PSNR {res['tokenizer_psnr']:.2f} dB, codes used {res['tokenizer_codes']['usage']:.0%}, "
            f"perplexity {res['tokenizer_codes']['perplexity']:.1f}"
        )
    steps = sorted(k for k in res if k.startswith("psnr_") and k[5:].isdigit())
    for k in steps:
        n = k[5:]
        lines.append(f"  dynamics PSNR at step {n}: {res[k]:.2f} dB (copy-last-frame {res['copy_last_psnr_' + n]:.2f})")
    if "delta_t_psnr" in res:
        line = f"  ΔtPSNR (t=4) {res['delta_t_psnr']:.2f} dB"
        if "latent_codes" in res:
            probe = "n/a (too few samples)" if res["probe_r2"] is None else f"{res['probe_r2']:.3f}"
            line += (f", latent codes used {res['latent_codes']['usage'] * 100:.0f}%, NMI with true actions "
                     f"{res['nmi_true_actions']:.3f}, probe R² {probe}")  # fmt: skip
        lines.append(line)
    if "frames_per_second" in res:
        lines.append(f"  sampling: {res['frames_per_second']:.1f} frames/s (batches of {res['sampling_batch']})")
    if "motion" in res:
        lines.append(format_motion_table(res["motion"]))
    return "\n".join(lines)


def model_label(res: dict, path: str | Path | None = None) -> str:
    """A short name of an evaluated model: its directory name, or its class and action mode."""
    return Path(path).name if path is not None else f"{res.get('model', 'model')} ({res['action_mode']})"


def compare(
    models: list[str | Path], data: str | None = None, *, out: str | Path | None = None, **kwargs
) -> dict[str, dict]:
    """:func:`evaluate` every model directory of ``models`` on the same held-out clips (``data``, default: the first
    model's dataset; the models must share its frame size) and return ``{directory: result}``. Each result goes to
    ``out/<directory name>`` (default ``<directory>/eval``); ``comparison.json`` (all results) and
    ``psnr_horizon.png`` (every model's PSNR vs step beside copy-last-frame) go to ``out`` (default: the first
    model's ``eval`` folder). ``kwargs`` are passed to :func:`evaluate`."""
    if not models:
        raise ValueError("compare needs at least one model directory")
    names = [Path(m).name for m in models]
    if len(set(names)) != len(names):
        raise ValueError(f"model directories must have distinct names to be told apart, got {names}")
    if data is None:
        data = load(models[0]).data
    results = {}
    for m in models:
        sub = None if out is None else Path(out) / Path(m).name
        results[str(m)] = evaluate(m, data, out=sub, **kwargs)
    where = Path(out) if out is not None else Path(models[0]) / "eval"
    where.mkdir(parents=True, exist_ok=True)
    _write(where / "comparison.json", json.dumps(results, indent=2).encode())
    save_psnr_plot(where / "psnr_horizon.png", {model_label(r, m): r for m, r in results.items()})
    return results


def format_comparison(results: dict[str, dict]) -> str:
    """Side-by-side table of :func:`compare` results: PSNR at steps 1 and 16 (and copy-last-frame), SSIM at step 1,
    ΔtPSNR, sampling frames/s and, on a motion suite, the mean PIS (and the simulator's) and centroid error, one row
    per model."""
    first = next(iter(results.values()))
    last = min(16, first["horizon"])
    head = (f"{'model':<24} {'PSNR@1':>7} {'copy@1':>7} {f'PSNR@{last}':>8} {f'copy@{last}':>8} {'SSIM@1':>7} "
            f"{'ΔtPSNR':>7} {'frames/s':>9} {'PIS':>6} {'sim PIS':>7} {'centroid px':>11}")  # fmt: skip
    rows = [head, "-" * len(head)]
    for path, r in results.items():
        dt = r.get("delta_t_psnr")
        rows.append(
            f"{model_label(r, path):<24.24} {r['psnr_1']:7.2f} {r['copy_last_psnr_1']:7.2f} {r[f'psnr_{last}']:8.2f} "
            f"{r[f'copy_last_psnr_{last}']:8.2f} {r['ssim_per_step'][0]:7.3f} "
            f"{'n/a' if dt is None else f'{dt:.2f}':>7} {r.get('frames_per_second', float('nan')):9.1f}"
            + (f" {r['motion']['model_pis']:6.3f} {r['motion']['simulator_pis']:7.3f} "
               f"{r['motion']['model_centroid_error']:11.2f}" if "motion" in r else f" {'-':>6} {'-':>7} {'-':>11}")
        )  # fmt: skip
    return "\n".join(rows)


__all__ = ["compare", "evaluate", "format_comparison", "format_table", "save_psnr_plot"]
