"""Physics of the DiT world model on the motion suite (issue 10's PIS goal), beside the simulator's own videos.

1. Record the motion suite (``--episodes`` per category of ``--frames`` frames at 64x64; kept between runs) with
   :func:`worldsim.metrics.record_motion_suite` into ``OUT/data``.
2. Train the DiT (``--preset``, ``--minutes`` wall-clock minutes on all of torch's threads) on it with true (zero)
   actions into ``OUT/dit``; with ``--genie-minutes M`` also a Genie-style model (tokenizer and true-action dynamics,
   M minutes each) into ``OUT/genie``. A model whose checkpoint exists is kept (``--retrain`` to redo).
3. Evaluate them side by side (:func:`worldsim.models.evaluate.compare`): PSNR vs horizon on held-out episodes and,
   per motion category, on fresh episodes: the Physical Invariance Score of the videos (``--context`` real frames,
   then generated ones), centroid error against the simulator's body masks, area drift, and the simulator's PIS.
4. Print the per-category table and the goal (mean PIS >= 0.9), write ``OUT/motion_suite.json`` and
   ``OUT/motion_videos.png`` (per category, one fresh episode: the simulator's frames over the DiT's, every other
   frame).

    python benchmarks/motion_suite.py                  # about 15 minutes on 2 cores
    python benchmarks/motion_suite.py --minutes 3      # a shorter training, same table
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch

from worldsim._files import atomic_path
from worldsim.metrics import record_motion_suite, render_motion_suite
from worldsim.models import load, train_dit, train_part
from worldsim.models.evaluate import compare, format_comparison
from worldsim.models.motion_eval import format_motion_table
from worldsim.models.training import CHECKPOINT


def save_videos(path: Path, model_dir: Path, frames: int, context: int) -> None:
    """One fresh episode per category (seed 2): the simulator's frames over the model's, every other frame."""
    import imageio.v3 as iio

    model = load(model_dir)
    suite = render_motion_suite(episodes_per_category=1, frames=frames, seed=2)
    rows = []
    for clips in suite.values():
        real = clips.frames
        zeros = torch.zeros(1, frames - 1, 1)  # the suite's actions
        g = torch.Generator().manual_seed(0)
        gen = model.rollout(
            real[:, :context], zeros[:, context - 1 :], past_actions=zeros[:, : context - 1], generator=g
        )
        video = torch.cat([real[:, :context], gen], 1)
        rows += [torch.cat(list(real[0, ::2]), 1), torch.cat(list(video[0, ::2]), 1)]
    with atomic_path(path) as tmp:
        iio.imwrite(tmp, torch.cat(rows, 0).numpy())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--episodes", type=int, default=32, help="episodes per category")
    ap.add_argument("--frames", type=int, default=24, help="frames per episode (18-33)")
    ap.add_argument("--minutes", type=float, default=12.0, help="DiT training budget")
    ap.add_argument("--genie-minutes", type=float, default=0.0, help="per Genie part (0: no Genie model)")
    ap.add_argument("--preset", default="small")
    ap.add_argument("--context", type=int, default=2)
    ap.add_argument("--out", default="outputs/motion_suite")
    ap.add_argument("--retrain", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    data = out / "data"
    if not data.exists():
        t0 = time.perf_counter()
        record_motion_suite(str(data), args.episodes, args.frames)
        print(f"recorded the motion suite in {time.perf_counter() - t0:.0f} s")
    models = [out / "dit"]
    if args.retrain:
        for m in (out / "dit", out / "genie"):
            shutil.rmtree(m, ignore_errors=True)
    if not (out / "dit" / "dit" / CHECKPOINT).is_file():
        train_dit(str(data), out / "dit", minutes=args.minutes, preset=args.preset, actions="true")
    if args.genie_minutes > 0:
        models.append(out / "genie")
        for part in ("tokenizer", "dynamics"):
            if not (out / "genie" / part / CHECKPOINT).is_file():
                train_part(part, str(data), out / "genie", minutes=args.genie_minutes, preset=args.preset,
                           actions="true")  # fmt: skip
    results = compare(models, str(data), horizon=args.frames - args.context, context=args.context, max_clips=64,
                      out=out / "eval")  # fmt: skip
    for path, res in results.items():
        print(Path(path).name, format_motion_table(res["motion"], Path(path).name), sep="\n")
    print(format_comparison(results))
    dit = results[str(out / "dit")]["motion"]
    met = dit["model_pis"] >= 0.9
    print(f"\nDiT mean PIS {dit['model_pis']:.3f} (simulator {dit['simulator_pis']:.3f}); goal >= 0.9: "
          f"{'met' if met else 'NOT met'}")  # fmt: skip
    save_videos(out / "motion_videos.png", out / "dit", args.frames, args.context)
    report = {"args": vars(args), "results": results, "goal_met": met}
    with atomic_path(out / "motion_suite.json") as tmp:
        tmp.write_text(json.dumps(report, indent=2, default=float))
    print(f"wrote {out / 'motion_suite.json'} and {out / 'motion_videos.png'}")


if __name__ == "__main__":
    main()
