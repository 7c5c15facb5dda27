"""The ``worldsim`` command line: ``info | demo | view | check MJCF_PATH | record TASK | train PART | eval DIR`` (see
``worldsim --help``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _info(args: argparse.Namespace) -> int:
    import mujoco
    import torch
    import warp as wp

    import worldsim

    print(f"worldsim {worldsim.__version__} ({Path(worldsim.__file__).parent})")
    print(f"warp     {wp.__version__}")
    print(f"mujoco   {mujoco.__version__}")
    cuda = f"CUDA {torch.version.cuda}, available: {torch.cuda.is_available()}" if torch.version.cuda else "CPU build"
    print(f"torch    {torch.__version__} ({cuda})")
    print(f"python   {sys.version.split()[0]}")
    print("Warp devices:")
    for d in wp.get_devices():
        print(f"  {d.alias:<8} {d.name}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from worldsim.demo import run_demo

    try:
        summary = run_demo(args.out, quick=args.quick, redo=tuple(args.redo), only=tuple(args.only) or None)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    total = sum(t["seconds"] for t in summary["stages"].values() if not t["cached"])
    print(f"wrote {Path(args.out) / 'report.html'} and {Path(args.out) / 'results.json'} ({total:.0f} s)")
    return 0


def _view(args: argparse.Namespace) -> int:
    from worldsim.viewer import ViewerSession, run_app, run_headless

    try:
        if args.headless:
            if args.record is None and args.screenshot is None:
                raise ValueError("--headless needs --record OUT.mp4 and/or --screenshot OUT.png")
            session = ViewerSession(args.source, size=args.size, view=args.mode, model_dir=args.model,
                                    density=args.density)  # fmt: skip
            res = run_headless(session, args.steps or 200, policy=args.policy or "smooth", record=args.record,
                               screenshot=args.screenshot)  # fmt: skip
            line = f"{res['task']}: {res['step']} steps at {res['steps_per_second']:.0f} steps/s"
            if res.get("dream_mean_psnr") is not None:
                line += f", dream PSNR {res['dream_mean_psnr']:.1f} dB (mean over {res['dream_steps']} frames)"
            print(line)
            for path in (args.record, args.screenshot):
                if path:
                    print(f"wrote {path}")
        else:
            if args.record is not None:
                raise ValueError("--record writes a video without a window: add --headless")
            st = run_app(args.source, size=args.size, view=args.mode, model_dir=args.model, density=args.density,
                         policy=args.policy, steps=args.steps, screenshot=args.screenshot,
                         show_3d=not args.no_3d)  # fmt: skip
            print(f"{st['task']}: {st['step']} steps, the window at {st['fps']:.0f} frames/s")
            if args.screenshot:
                print(f"wrote {args.screenshot}")
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def _check(args: argparse.Namespace) -> int:
    import worldsim

    try:
        model = worldsim.load_mjcf(args.mjcf_path)
    except (worldsim.MJCFError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{args.mjcf_path}: OK, worldsim can simulate this model")
    rows = {
        "nq": model.nq,
        "nv": model.nv,
        "nu": model.nu,
        "nbody": model.nbody,
        "ngeom": model.ngeom,
        "ntendon": model.ntendon,
        "neq": model.neq,
        "nsensordata": model.nsensordata,
        "nslot": model.nslot,
        "njmax": model.njmax,
        "timestep": model.timestep,
        "integrator": model.integrator,
    }
    notes = {
        "nslot": "contact slots: geom pairs that can touch, times their maximum contacts",
        "njmax": "constraint rows per world (contacts, limits, equalities, friction loss)",
    }
    for name, value in rows.items():
        note = f"  ({notes[name]})" if name in notes else ""
        print(f"  {name:<12}{value}{note}")
    return 0


def _record(args: argparse.Namespace) -> int:
    from worldsim.data import record

    try:
        path = record(args.task, args.episodes, args.steps, args.out, policy=args.policy,
                      randomization=args.randomization, size=args.size, num_envs=args.num_envs,
                      action_repeat=args.action_repeat, seed=args.seed, overwrite=args.overwrite)  # fmt: skip
    except (ValueError, FileExistsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.episodes} episodes of {args.task} to {path}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from worldsim.models import train_dit, train_part

    budget = {"minutes": args.minutes, "steps": args.steps, "preset": args.preset, "actions": args.actions,
              "resume": args.resume, "seed": args.seed}  # fmt: skip
    try:
        if args.part == "dit":
            condition = None if args.condition == "none" else args.condition
            results = train_dit(args.data, args.out, condition=condition, **budget)
        else:
            if args.condition != "none":
                raise ValueError("--condition applies to `worldsim train dit` only")
            results = train_part(args.part, args.data, args.out, **budget)
    except (ValueError, FileExistsError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for part, metrics in results.items():
        print(f"{part}: " + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from worldsim.models.evaluate import compare, evaluate, format_comparison, format_table

    kwargs = {"horizon": args.horizon, "context": args.context, "max_clips": args.clips}
    try:
        if len(args.model_dir) == 1:
            results = {args.model_dir[0]: evaluate(args.model_dir[0], args.data, out=args.out, **kwargs)}
        else:
            results = compare(args.model_dir, args.data, out=args.out, **kwargs)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for res in results.values():
        print(format_table(res))
    if len(results) > 1:
        print(format_comparison(results))
    for d in args.model_dir:
        out = Path(args.out) / Path(d).name if args.out and len(results) > 1 else Path(args.out or Path(d) / "eval")
        print(f"wrote {out / 'eval.json'}, {out / 'rollouts.png'} and {out / 'psnr_horizon.png'}")
    if len(results) > 1:
        print(f"wrote {Path(args.out or Path(args.model_dir[0]) / 'eval') / 'comparison.json'}")
    return 0


def _positive_float(text: str) -> float:
    v = float(text)
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return v


def _positive_int(text: str) -> int:
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return v


def build_parser() -> argparse.ArgumentParser:
    from worldsim import __version__

    parser = argparse.ArgumentParser(
        prog="worldsim", description="worldsim: differentiable physics and learned world models."
    )
    parser.add_argument("-V", "--version", action="version", version=f"worldsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("info", help="print worldsim, warp, mujoco and torch versions and the Warp devices")
    p.set_defaults(func=_info)

    p = sub.add_parser(
        "demo", help="the whole pipeline (simulate, record, train world models, evaluate, trajopt, sysid) and a report"
    )
    p.add_argument("--quick", action="store_true", help="small settings: under 3 minutes (default: about 12)")
    p.add_argument("--out", default=None, help="output folder (default outputs/demo, or outputs/demo-quick)")
    p.add_argument("--redo", nargs="+", default=[], metavar="STAGE", help="rerun these stages even if cached")
    p.add_argument("--only", nargs="+", default=[], metavar="STAGE", help="run only these stages")
    p.set_defaults(func=_demo)

    p = sub.add_parser(
        "view", help="the interactive viewer (Open3D window), or --headless to record a video and a screenshot"
    )
    p.add_argument("source", metavar="TASK_OR_MJCF", nargs="?", default="CartPole",
                   help="task name (Ant, worldsim/Ant-v0) or an MJCF file (.xml); default CartPole")  # fmt: skip
    p.add_argument("--headless", action="store_true", help="no window: run --steps and write --record/--screenshot")
    p.add_argument("--steps", type=_positive_int, default=None,
                   help="frames to run (headless: default 200; window: close after them)")  # fmt: skip
    p.add_argument("--record", metavar="OUT.mp4", default=None, help="headless: write every frame to a video")
    p.add_argument("--screenshot", metavar="OUT.png", default=None, help="write the last frame (window: a grab)")
    p.add_argument("--policy", choices=("smooth", "random", "zero", "plan"), default=None,
                   help="who acts (headless default: smooth random actions; window default: you)")  # fmt: skip
    p.add_argument("--mode", choices=("rgb", "depth", "body_id"), default="rgb", help="splat view shown")
    p.add_argument("--model", metavar="DIR", default=None, help="world model directory to dream beside the sim")
    p.add_argument("--size", type=_positive_int, default=128, help="rendered image size in pixels (default 128)")
    p.add_argument("--density", type=_positive_float, default=1000.0, help="splats per m² on the geoms")
    p.add_argument("--no-3d", action="store_true", help="window: leave out Open3D's 3D view of the geoms")
    p.set_defaults(func=_view)

    p = sub.add_parser("check", help="load an MJCF file with worldsim.load_mjcf and print its sizes")
    p.add_argument("mjcf_path", metavar="MJCF_PATH", help="MuJoCo XML file")
    p.set_defaults(func=_check)

    p = sub.add_parser("record", help="record rollouts of a task into a Minari dataset (pixels, state, actions, ...)")
    p.add_argument("task", metavar="TASK", help="task name (PushBox) or env id (worldsim/PushBox-v0)")
    p.add_argument("--episodes", type=_positive_int, required=True, help="number of episodes")
    p.add_argument("--steps", type=_positive_int, required=True, help="recorded steps per episode (fewer if ended)")
    p.add_argument(
        "--action-repeat",
        type=_positive_int,
        default=1,
        help="env steps per recorded step, the action held (a lower frame rate; default 1)",
    )
    p.add_argument("--policy", choices=("random", "smooth"), default="random",
                   help="uniform random actions, or smooth (Ornstein-Uhlenbeck) random actions")  # fmt: skip
    p.add_argument("--randomization", choices=("default",), default=None, help="domain randomization preset")
    p.add_argument("--size", type=_positive_int, default=64, help="image height and width (default 64)")
    p.add_argument("--num-envs", type=_positive_int, default=None, help="episodes simulated side by side")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace an existing dataset of that name")
    out_help = "Minari dataset id ([namespace/]name-vN, under MINARI_DATASETS_PATH) or a directory"
    p.add_argument("--out", required=True, metavar="NAME", help=out_help)
    p.set_defaults(func=_record)

    p = sub.add_parser(
        "train", help="train a world model: a Genie part (tokenizer, lam, dynamics), all of it (genie), or the DiT"
    )
    p.add_argument("part", choices=("tokenizer", "lam", "dynamics", "genie", "dit"))
    p.add_argument("--data", required=True, metavar="NAME", help="dataset recorded by `worldsim record`")
    p.add_argument("--out", required=True, metavar="DIR", help="model directory (parts go in DIR/<part>/)")
    budget = p.add_mutually_exclusive_group(required=True)
    budget.add_argument("--minutes", type=_positive_float, help="wall-clock budget")
    budget.add_argument("--steps", type=_positive_int, help="optimizer steps")
    p.add_argument("--preset", choices=("small", "base"), default="small", help="model size (small: CPU minutes)")
    p.add_argument(
        "--actions", choices=("latent", "true"), default="latent", help="what the dynamics model is conditioned on"
    )
    p.add_argument(
        "--condition", choices=("none", "depth", "body_id"), default="none",
        help="dit: condition each generated frame on the simulator's depth or body-id image",
    )  # fmt: skip
    p.add_argument("--resume", action="store_true", help="continue from DIR/<part>/checkpoint.pt")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_train)

    p = sub.add_parser(
        "eval", help="evaluate trained world models on held-out episodes, side by side (table, JSON, PNG)"
    )
    p.add_argument("model_dir", metavar="DIR", nargs="+", help="one or more model directories")
    p.add_argument("--data", default=None, metavar="NAME", help="dataset (default: the one it was trained on)")
    p.add_argument("--horizon", type=_positive_int, default=16, help="generated frames per clip")
    p.add_argument("--context", type=_positive_int, default=1, help="real frames given before generating")
    p.add_argument("--clips", type=_positive_int, default=32, help="held-out clips evaluated")
    p.add_argument("--out", default=None, help="output folder (default DIR/eval; with several models OUT/<name>)")
    p.set_defaults(func=_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``worldsim`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "demo" and args.out is None:
        args.out = "outputs/demo-quick" if args.quick else "outputs/demo"
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
