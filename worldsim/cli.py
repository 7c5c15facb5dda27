"""The ``worldsim`` command line: ``worldsim info | demo | check MJCF_PATH`` (see ``worldsim --help``)."""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO = REPO_ROOT / "demos" / "throw.py"


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
    if not DEMO.is_file():
        print(
            f"error: the demo script {DEMO} does not exist; `worldsim demo` runs demos/throw.py from a source "
            f"checkout of worldsim (it is not part of an installed package)",
            file=sys.stderr,
        )
        return 1
    saved = sys.argv
    sys.argv = [str(DEMO), *args.demo_args]
    try:
        runpy.run_path(str(DEMO), run_name="__main__")
    except SystemExit as e:  # the demo's own exit status (None or 0 for success)
        code = e.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    finally:
        sys.argv = saved
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


def build_parser() -> argparse.ArgumentParser:
    from worldsim import __version__

    parser = argparse.ArgumentParser(
        prog="worldsim", description="worldsim: differentiable physics and learned world models."
    )
    parser.add_argument("-V", "--version", action="version", version=f"worldsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("info", help="print worldsim, warp, mujoco and torch versions and the Warp devices")
    p.set_defaults(func=_info)

    p = sub.add_parser("demo", help="run demos/throw.py (from a source checkout)")
    p.add_argument("demo_args", nargs=argparse.REMAINDER, help="arguments passed on to the demo script")
    p.set_defaults(func=_demo)

    p = sub.add_parser("check", help="load an MJCF file with worldsim.load_mjcf and print its sizes")
    p.add_argument("mjcf_path", metavar="MJCF_PATH", help="MuJoCo XML file")
    p.set_defaults(func=_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``worldsim`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
