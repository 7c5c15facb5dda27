"""Physics-grounded evaluation of a world model trained on the motion suite (:mod:`worldsim.metrics.motion_suite`).

For every motion category, fresh episodes are rendered by the simulator (``seed`` differs from the training
dataset's, so the initial states were never seen), the model is given the first ``context`` real frames and
generates the rest of each clip under zero actions (the suite's motions are passive), and each video, context
plus generated frames (the invariants' parabola fits need 18 or more frames), is scored by
:func:`~worldsim.metrics.evaluate_motion`: the Physical Invariance Score of the category's invariant, the centroid
error of the generated frames against the simulator's body masks, rigid-body area drift and the fraction of frames
in which the body is found. The simulator's own videos are scored the same way beside it (the upper reference).
"""

from __future__ import annotations

import torch

from ..data import dataset_info
from ..metrics import evaluate_motion, render_motion_suite
from ..metrics.motion_suite import MOTION_TASK


@torch.no_grad()
def evaluate_motion_suite(
    model,
    data: str | None = None,
    *,
    episodes_per_category: int = 8,
    context: int = 2,
    seed: int = 1,
    batch: int = 8,
    steps: int | None = None,
) -> dict:
    """Score ``model`` (a loaded world model with true actions, trained on a motion-suite dataset) per category.

    Args:
        model: the world model; its dataset (or ``data``) must have been written by
            :func:`~worldsim.metrics.record_motion_suite`.
        episodes_per_category: fresh episodes rendered per category.
        context: real frames given before generating (1 <= context < clip length).
        seed: the rendering seed (the training dataset's is usually 0).
        batch: clips generated at once.
        steps: sampler steps (None = the model's default).

    Returns:
        ``{"categories": {category: {"model": {...}, "simulator": {...}}}, "model_pis": mean over categories,
        "simulator_pis": ..., "model_centroid_error": ..., "frames": T, "context": k}`` where each inner dict is
        :func:`~worldsim.metrics.evaluate_motion`'s (``pis_per_video`` and ``centroid_error_per_step`` as lists).
    """
    data = data or model.data
    info = dataset_info(data) if data is not None else None
    if info is None or info.get("task") != MOTION_TASK:
        raise ValueError(f"dataset {data!r} is not a motion suite (record one with worldsim.metrics."
                         "record_motion_suite)")  # fmt: skip
    if model.action_mode != "true":
        raise ValueError("the motion suite is scored with true (zero) actions; this model takes latent actions")
    frames_per_clip = int(info["steps"]) + 1
    if not 1 <= context < frames_per_clip:
        raise ValueError(f"context must be in [1, {frames_per_clip - 1}], got {context}")
    size = int(info["size"])
    dt = float(info["dt"])
    suite = render_motion_suite(info["categories"], episodes_per_category=episodes_per_category,
                                frames=frames_per_clip, size=size, dt=dt, seed=seed)  # fmt: skip
    kw = {} if steps is None else {"steps": steps}
    out: dict = {"categories": {}, "frames": frames_per_clip, "context": context, "episodes": episodes_per_category}
    for cat, clips in suite.items():
        real = clips.frames
        gen = []
        for i in range(0, len(real), batch):
            ctx = real[i : i + batch, :context]
            n = len(ctx)
            acts = torch.zeros(n, frames_per_clip - context, 1)
            past = torch.zeros(n, context - 1, 1)
            g = torch.Generator().manual_seed(seed * 1000 + i)
            gen.append(torch.cat([ctx, model.rollout(ctx, acts, past_actions=past, generator=g, **kw)], 1))
        video = torch.cat(gen)
        res = {}
        for who, frames in (("model", video), ("simulator", real)):
            r = evaluate_motion(frames, cat, clips.color, dt, reference_masks=clips.body_masks)
            r["pis_per_video"] = r["pis_per_video"].tolist()
            r["centroid_error_per_step"] = r["centroid_error_per_step"].tolist()
            res[who] = r
        out["categories"][cat] = res
    cats = out["categories"].values()
    out["model_pis"] = sum(c["model"]["pis"] for c in cats) / len(cats)
    out["simulator_pis"] = sum(c["simulator"]["pis"] for c in cats) / len(cats)
    out["model_centroid_error"] = sum(c["model"]["centroid_error"] for c in cats) / len(cats)
    return out


def format_motion_table(res: dict, name: str = "model") -> str:
    """Per category: PIS of the model and of the simulator, centroid error [px], area drift and found fraction."""
    head = f"{'category':<20} {name[:10]:>10} {'simulator':>10} {'centroid px':>12} {'area drift':>11} {'found':>6}"
    rows = [f"motion suite: {res['episodes']} fresh episodes per category, {res['context']} real frames, then "
            f"{res['frames'] - res['context']} generated; PIS of the whole video", head, "-" * len(head)]  # fmt: skip
    for cat, r in res["categories"].items():
        m, s = r["model"], r["simulator"]
        rows.append(f"{cat:<20} {m['pis']:10.3f} {s['pis']:10.3f} {m['centroid_error']:12.2f} "
                    f"{m['area_drift']:11.3f} {m['found_fraction']:6.0%}")  # fmt: skip
    rows.append(
        f"{'mean':<20} {res['model_pis']:10.3f} {res['simulator_pis']:10.3f} {res['model_centroid_error']:12.2f}"
    )
    return "\n".join(rows)


__all__ = ["evaluate_motion_suite", "format_motion_table"]
