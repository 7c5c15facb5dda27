"""Physics step throughput: worldsim vs MuJoCo, side by side in one process, on the same MJCF files.

What it measures, for each scene (``benchmarks/assets/chain.xml``: a 3-link motorized hinge chain without
contact; ``benchmarks/assets/balls.xml``: a free sphere and a free box dropped on a plane, with contact):

* MuJoCo: ``mujoco.rollout.Rollout(nthread=--threads)`` rolling out N initial full-physics states
  (``mjSTATE_FULLPHYSICS``) for ``--steps`` steps with random controls (one warm-up call first).
* worldsim forward: ``worldsim.Simulator`` stepping N worlds in place with the same random controls, no
  gradients (one warm-up step first: the first step loads/compiles the Warp kernels and is not timed).
* worldsim forward+backward: ``worldsim.rollout`` over a shorter horizon (``--grad-steps``), then
  ``qpos.sum().backward()`` with ``qvel0`` requiring grad (one warm-up call first). Reported as world-steps/s
  of forward+backward together, and as the backward/forward time ratio.

* constraint share: the same two forward measurements with ``<flag constraint="disable"/>`` (no collision, no
  contact, limit or equality constraint, no solver), for both simulators; the share of a step that the constraint
  pipeline (collision, constraint rows, Newton solver) costs is 1 - t_disabled / t_full.

Throughput is in world-steps per second: N * steps / seconds (best of ``--repeats`` interleaved rounds, measured
with ``time.perf_counter``). Both simulators start from the same states and get the same controls. Both solve
contacts and limits the same way (MuJoCo's soft constraints, Newton's method), so final positions agree to float32
round-off on the chain; with contacts under full-range random controls, trajectories are chaotic and drift apart
from round-off over 100 steps (printed as a check, not expected to be small; tests/test_mujoco_agreement.py holds
the contact scenes to 1e-4 over whole drops, slides and stacks).

Note: on CPU, Warp runs each kernel launch on a single thread, while MuJoCo's rollout uses ``--threads`` threads;
worldsim splits the worlds into chunks stepped in parallel threads. On CPU, models with nv <= 16 use kernels
unrolled for their nv (``worldsim.physics.unrolled``).

Run it with ``make bench`` or::

    python benchmarks/physics_step.py                       # both scenes, N=1024, 100 steps
    python benchmarks/physics_step.py --scene chain --num-worlds 256 --steps 20
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import gymnasium
import mujoco
import mujoco.rollout
import numpy as np
import torch
import warp as wp

wp.config.log_level = wp.LOG_WARNING  # silence Warp's init banner and per-module load messages
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmark the checkout this file lives in

import worldsim  # noqa: E402

ASSETS = Path(__file__).resolve().parent / "assets"
GYM_ASSETS = Path(gymnasium.__file__).resolve().parent / "envs" / "mujoco" / "assets"
GYM_SCENES = ("inverted_pendulum", "half_cheetah", "ant")  # gymnasium's MuJoCo models, in the detailed table
#: every model of gymnasium's MuJoCo envs (v5 files; humanoidstandup is humanoid's model lying down), for --sweep
GYM_MODELS = ("inverted_pendulum", "inverted_double_pendulum", "reacher", "pusher_v5", "swimmer", "half_cheetah",
              "hopper", "walker2d_v5", "ant", "humanoid")  # fmt: skip
SCENES = ("chain", "balls", *GYM_SCENES)
INTEGRATORS = {"Euler": mujoco.mjtIntegrator.mjINT_EULER, "RK4": mujoco.mjtIntegrator.mjINT_RK4}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--num-worlds", type=int, default=1024, help="N, worlds (MuJoCo: rollouts) run side by side")
    p.add_argument("--steps", type=int, default=100, help="steps per timed run (both simulators)")
    p.add_argument("--threads", type=int, default=2, help="MuJoCo rollout threads")
    p.add_argument("--scene", choices=(*SCENES, "all"), default="all", help="which scene to run (default: all)")
    p.add_argument("--grad-steps", type=int, default=20, help="horizon of the worldsim forward+backward rollout")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per measurement; the best one is reported")
    p.add_argument("--device", default="cpu", help="worldsim device: 'cpu' or 'cuda[:i]'")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--sweep", action="store_true", help="forward speed only, every gymnasium model (GYM_MODELS), Euler and RK4"
    )
    args = p.parse_args(argv)
    for name in ("num_worlds", "steps", "threads", "grad_steps", "repeats"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def best_time(fn, repeats: int, sync=lambda: None) -> float:
    """Smallest wall time over ``repeats`` calls of ``fn`` (seconds)."""
    best = float("inf")
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best


def make_inputs(mjm: mujoco.MjModel, n: int, steps: int, rng: np.random.Generator):
    """Initial (qpos, qvel) [N, nq], [N, nv] and controls [N, steps, nu] (uniform in ctrlrange), float64."""
    qpos0 = np.tile(mjm.qpos0, (n, 1))
    qvel0 = rng.normal(0.0, 0.5, size=(n, mjm.nv))
    limited = mjm.actuator_ctrllimited.astype(bool)
    lo = np.where(limited, mjm.actuator_ctrlrange[:, 0], -1.0)
    hi = np.where(limited, mjm.actuator_ctrlrange[:, 1], 1.0)
    ctrl = rng.uniform(lo, hi, size=(n, steps, mjm.nu))
    return qpos0, qvel0, ctrl


def bench_mujoco(mjm: mujoco.MjModel, qpos0, qvel0, ctrl, threads: int, repeats: int):
    """(seconds of the best run, final qpos [N, nq]) of a MuJoCo threaded rollout."""
    n, steps = ctrl.shape[:2]
    spec = mujoco.mjtState.mjSTATE_FULLPHYSICS
    nstate = mujoco.mj_stateSize(mjm, spec)
    data = mujoco.MjData(mjm)
    state0 = np.empty((n, nstate))
    for i in range(n):
        mujoco.mj_resetData(mjm, data)
        data.qpos[:] = qpos0[i]
        data.qvel[:] = qvel0[i]
        mujoco.mj_getState(mjm, data, state0[i], spec)
    datas = [mujoco.MjData(mjm) for _ in range(threads)]
    out = np.empty((n, steps, nstate))
    with mujoco.rollout.Rollout(nthread=threads) as r:

        def run():
            r.rollout(mjm, datas, state0, ctrl, state=out)

        run()  # warm-up
        seconds = best_time(run, repeats)
    qpos_off = mujoco.mj_stateSize(mjm, mujoco.mjtState.mjSTATE_TIME)  # FULLPHYSICS = [time, qpos, qvel, ...]
    return seconds, out[:, -1, qpos_off : qpos_off + mjm.nq]


def bench_worldsim_forward(model, qpos0: torch.Tensor, qvel0: torch.Tensor, ctrl: torch.Tensor, repeats: int, sync):
    """(seconds of the best run, final qpos [N, nq]) of ``Simulator.step`` over ``ctrl`` [T, N, nu]."""
    sim = worldsim.Simulator(model)
    sim.reset(qpos0, qvel0)
    sim.step(ctrl[0])  # warm-up: loads (and on a cold cache compiles) the Warp kernels
    sync()

    def run():
        sim.reset(qpos0, qvel0)
        for u in ctrl:
            sim.step(u)

    seconds = best_time(run, repeats, sync)
    return seconds, sim.qpos.clone()


def bench_worldsim_grad(model, qpos0: torch.Tensor, qvel0: torch.Tensor, ctrl: torch.Tensor, repeats: int, sync):
    """(forward seconds, backward seconds) of ``worldsim.rollout`` + ``qpos.sum().backward()``, best run each."""
    best_f = best_b = float("inf")
    for i in range(repeats + 1):  # the first run is the warm-up (backward kernels, gradient workspaces)
        v0 = qvel0.detach().clone().requires_grad_(True)
        sync()
        t0 = time.perf_counter()
        qpos, _ = worldsim.rollout(model, qpos0, v0, ctrl)
        loss = qpos.sum()
        sync()
        t1 = time.perf_counter()
        loss.backward()
        sync()
        t2 = time.perf_counter()
        if not torch.isfinite(v0.grad).all():
            raise RuntimeError("worldsim rollout produced a non-finite gradient")
        if i:
            best_f, best_b = min(best_f, t1 - t0), min(best_b, t2 - t1)
    return best_f, best_b


def load_scene(scene: str, integrator: str | None = None) -> mujoco.MjModel:
    """The MuJoCo model of ``scene`` (a file of benchmarks/assets or of gymnasium's assets), with ``integrator``
    ("Euler" or "RK4"; None keeps the file's)."""
    path = (ASSETS if (ASSETS / f"{scene}.xml").exists() else GYM_ASSETS) / f"{scene}.xml"
    mjm = mujoco.MjModel.from_xml_path(str(path))
    if integrator is not None:
        mjm.opt.integrator = INTEGRATORS[integrator]
    return mjm


def compare_forward(mjm: mujoco.MjModel, args, rng: np.random.Generator) -> dict:
    """Forward speed of MuJoCo's rollout and worldsim's Simulator on ``mjm`` (same states and controls),
    interleaved rounds (a noisy neighbour on a shared machine then hits both sides alike), best of each."""
    n, steps = args.num_worlds, args.steps
    model = worldsim.from_mjmodel(mjm, num_worlds=n, device=args.device)
    if (model.nq, model.nv, model.nu) != (mjm.nq, mjm.nv, mjm.nu):
        raise RuntimeError("worldsim and MuJoCo disagree on sizes")
    sync = (lambda: wp.synchronize_device(model.wp_device)) if model.device.type == "cuda" else (lambda: None)
    qpos0, qvel0, ctrl = make_inputs(mjm, n, steps, rng)

    def to_torch(x):
        return torch.as_tensor(x, dtype=torch.float32, device=model.device)

    tq0, tv0 = to_torch(qpos0), to_torch(qvel0)
    tctrl = to_torch(ctrl.transpose(1, 0, 2)).contiguous()  # [T, N, nu]
    mj_s = ws_s = float("inf")
    for _ in range(args.repeats):
        t, mj_qpos = bench_mujoco(mjm, qpos0, qvel0, ctrl, args.threads, 1)
        mj_s = min(mj_s, t)
        t, ws_qpos = bench_worldsim_forward(model, tq0, tv0, tctrl, 1, sync)
        ws_s = min(ws_s, t)
    return {"model": model, "sync": sync, "inputs": (qpos0, qvel0, ctrl), "torch_inputs": (tq0, tv0, tctrl),
            "mj_s": mj_s, "ws_s": ws_s, "mj_qpos": mj_qpos, "ws_qpos": ws_qpos}  # fmt: skip


def run_scene(scene: str, args: argparse.Namespace, rng: np.random.Generator) -> dict:
    n, steps = args.num_worlds, args.steps
    mjm = load_scene(scene)
    fwd = compare_forward(mjm, args, rng)
    model, sync, mj_s, ws_s, mj_qpos, ws_qpos = (fwd[k] for k in ("model", "sync", "mj_s", "ws_s", "mj_qpos",
                                                                   "ws_qpos"))  # fmt: skip
    qpos0, qvel0, ctrl = fwd["inputs"]
    tq0, tv0, tctrl = fwd["torch_inputs"]
    # the same without the constraint pipeline: what collision, constraint rows and the solver cost each side
    mjm_free = load_scene(scene)
    mjm_free.opt.disableflags |= int(mujoco.mjtDisableBit.mjDSBL_CONSTRAINT)
    model_free = worldsim.from_mjmodel(mjm_free, num_worlds=n, device=args.device)
    mj_free_s = ws_free_s = float("inf")
    for _ in range(args.repeats):
        mj_free_s = min(mj_free_s, bench_mujoco(mjm_free, qpos0, qvel0, ctrl, args.threads, 1)[0])
        ws_free_s = min(ws_free_s, bench_worldsim_forward(model_free, tq0, tv0, tctrl, 1, sync)[0])
    gsteps = min(args.grad_steps, steps)
    fwd_s, bwd_s = bench_worldsim_grad(model, tq0, tv0, tctrl[:gsteps], args.repeats, sync)

    dq = np.abs(ws_qpos.cpu().numpy().astype(np.float64) - mj_qpos).max()
    return {
        "scene": scene,
        "n": n,
        "steps": steps,
        "gsteps": gsteps,
        "mujoco": n * steps / mj_s,
        "worldsim": n * steps / ws_s,
        "grad": n * gsteps / (fwd_s + bwd_s),
        "bwd_fwd": bwd_s / fwd_s,
        "mj_share": max(0.0, 1 - mj_free_s / mj_s),
        "ws_share": max(0.0, 1 - ws_free_s / ws_s),
        "dq": dq,
        "nslot": model.nslot,
        "limits": model.nlimit > 0,
    }


def print_table(rows: list[dict], args: argparse.Namespace) -> None:
    cols = [
        ("scene", 17, lambda r: r["scene"]),
        ("N", 6, lambda r: f"{r['n']}"),
        ("steps", 6, lambda r: f"{r['steps']}"),
        ("mujoco steps/s", 15, lambda r: f"{r['mujoco']:,.0f}"),
        ("worldsim fwd steps/s", 21, lambda r: f"{r['worldsim']:,.0f}"),
        ("ratio ws/mj", 12, lambda r: f"{r['worldsim'] / r['mujoco']:.3f}"),
        ("ws fwd+bwd steps/s", 19, lambda r: f"{r['grad']:,.0f}"),
        ("fwd+bwd / mj fwd", 16, lambda r: f"{r['grad'] / r['mujoco']:.3f}"),
        ("T grad", 7, lambda r: f"{r['gsteps']}"),
        ("bwd/fwd", 8, lambda r: f"{r['bwd_fwd']:.2f}"),
        ("constraint share ws/mj", 22, lambda r: f"{r['ws_share']:.0%} / {r['mj_share']:.0%}"),
    ]
    header = " | ".join(f"{name:>{w}}" for name, w, _ in cols)
    print(header)
    print("-" * len(header))
    for r in rows:
        print(" | ".join(f"{fmt(r):>{w}}" for _, w, fmt in cols))
    print()
    print(
        f"steps/s = world-steps per second (N * steps / seconds), best of {args.repeats} interleaved rounds after a "
        "warm-up; "
        f"same N, steps, initial states and controls on both sides."
    )
    print(
        f"MuJoCo: mujoco.rollout.Rollout(nthread={args.threads}), mjSTATE_FULLPHYSICS states. "
        f"worldsim: Simulator.step on {args.device!r} (CPU: worlds split over all cores or WORLDSIM_NUM_THREADS); "
        f"fwd+bwd = worldsim.rollout over 'T grad' steps + qpos.sum().backward(). constraint share = "
        "1 - (steps/s with constraint='disable') / (steps/s): what collision, constraint rows and the solver cost."
    )
    for r in rows:
        note = (
            "no contact, no joint limit: float32 round-off only"
            if r["nslot"] == 0 and not r["limits"]
            else "contacts/limits under random full-range controls: chaotic, round-off grows; not expected to match"
        )
        print(
            f"check {r['scene']}: max |qpos_worldsim - qpos_mujoco| after {r['steps']} steps = {r['dq']:.2e} ({note})"
        )


def sweep(args: argparse.Namespace, rng: np.random.Generator) -> None:
    """Forward world-steps/s of both simulators on every gymnasium model, Euler and RK4, and the ratio."""
    print(f"forward speed, every gymnasium model, N={args.num_worlds}, {args.steps} steps, best of {args.repeats}")
    print(f"{'model':>24} | {'integrator':>10} | {'mujoco steps/s':>14} | {'worldsim steps/s':>16} | ratio ws/mj")
    ratios = []
    for scene in GYM_MODELS:
        for integrator in INTEGRATORS:
            r = compare_forward(load_scene(scene, integrator), args, rng)
            mj, ws = args.num_worlds * args.steps / r["mj_s"], args.num_worlds * args.steps / r["ws_s"]
            ratios.append(ws / mj)
            print(f"{scene:>24} | {integrator:>10} | {mj:14,.0f} | {ws:16,.0f} | {ws / mj:10.2f}x", flush=True)
    geo = float(np.exp(np.mean(np.log(ratios))))
    print(f"ratio ws/mj: min {min(ratios):.2f}x, geometric mean {geo:.2f}x, max {max(ratios):.2f}x (goal >= 2x on all)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    scenes = SCENES if args.scene == "all" else (args.scene,)
    print(
        f"worldsim {worldsim.__version__}, mujoco {mujoco.__version__}, warp {wp.__version__}, "
        f"torch {torch.__version__}, {os.cpu_count()} CPU cores"
    )
    gpus = wp.get_cuda_device_count()
    print(f"CUDA devices: {gpus}" if gpus else "CUDA devices: none (GPU comparisons vs MJWarp and gsplat not run)")
    t0 = time.perf_counter()
    if args.sweep:
        sweep(args, rng)
        print(f"total wall time {time.perf_counter() - t0:.1f} s")
        return 0
    rows = [run_scene(s, args, rng) for s in scenes]
    print()
    print_table(rows, args)
    print(f"total wall time {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
