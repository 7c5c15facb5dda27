"""``worldsim demo``: the whole package in one command. Stages, in order:

1. ``simulate``  a task in many worlds under domain randomization, rendered with splats;
2. ``dataset``   episodes recorded into a Minari dataset;
3. ``train``     the Genie-style world model and the flow-matching DiT;
4. ``evaluate``  both against the simulator (PSNR vs horizon, ΔtPSNR, rollout videos);
5. ``motion``    NewtonGen's Physical Invariance Score of a DiT on the motion suite;
6. ``trajopt``   gradient shooting through the simulator vs CEM on PushBox (contacts);
7. ``sysid``     restitution, gravity and initial velocity of a ball from its video;

then the report: ``OUT/report.html`` (self-contained: videos, plots and tables embedded) and ``OUT/results.json``.

Each stage writes into ``OUT/<stage>/`` and, when it completes, ``OUT/<stage>/result.json`` (atomically) with its
numbers, a key of its settings and of the runs of the stages it uses, and a run id of its own; a re-run skips every
stage whose key is unchanged, so a killed run resumes at the stage it was in, and a stage that runs again (new
run id) makes every stage that uses it run again.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from .._files import atomic_path
from . import stages
from .config import FULL, QUICK, DemoConfig

#: (name, function, the stages whose output it reads)
STAGES: list[tuple[str, Callable, tuple[str, ...]]] = [
    ("simulate", stages.simulate, ()),
    ("dataset", stages.record_dataset, ()),
    ("train", stages.train, ("dataset",)),
    ("evaluate", stages.evaluate_models, ("train", "dataset")),
    ("motion", stages.motion, ()),
    ("trajopt", stages.trajopt, ()),
    ("sysid", stages.sysid, ()),
]
STAGE_NAMES = tuple(name for name, _, _ in STAGES)


def _key(cfg: DemoConfig, stage: str, runs: dict[str, str], deps: tuple[str, ...]) -> str:
    """A stage's settings and the run ids of the stages whose output it uses."""
    payload = json.dumps({"settings": cfg.stage_settings(stage), "uses": {d: runs.get(d) for d in deps}},
                         sort_keys=True, default=str)  # fmt: skip
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _load_cached(path: Path, key: str) -> dict | None:
    try:
        saved = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if saved.get("key") != key or "run" not in saved:  # other settings or inputs, or an older record format
        return None
    data = saved["result"].get("path") if path.parent.name == "dataset" else None
    if data is not None and not Path(data).exists():  # the dataset lives under MINARI_DATASETS_PATH: still there?
        return None
    return saved


def run_demo(out: str | Path = "outputs/demo", *, quick: bool = False, redo: tuple[str, ...] = (),
             only: tuple[str, ...] | None = None, progress: bool = True,
             config: DemoConfig | None = None) -> dict:  # fmt: skip
    """Run the demo pipeline into ``out`` and write its report; returns the results of every stage.

    Args:
        out: output folder (``report.html``, ``results.json``, a folder per stage).
        quick: the :data:`~worldsim.demo.config.QUICK` settings (under 3 minutes) instead of :data:`FULL`.
        redo: stages to run again even if cached (and, through their new run ids, every stage that uses them).
        only: run just these stages (and report what the others have cached); None: all.
        progress: tqdm bars (the stages' own, and one over the stages).
        config: explicit settings (overrides ``quick``; for tests).
    """
    from tqdm import tqdm

    from .report import write_report

    cfg = config or (QUICK if quick else FULL)
    unknown = [s for s in (*redo, *(only or ())) if s not in STAGE_NAMES]
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; the stages are {list(STAGE_NAMES)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs: dict[str, str] = {}  # run id of each stage that is current (ran now, or cached with current inputs)
    results: dict[str, dict] = {}
    timing: dict[str, dict] = {}
    forced = set(redo)
    bar = tqdm(STAGES, desc="worldsim demo", unit="stage", disable=not progress)
    for name, fn, deps in bar:
        bar.set_postfix_str(name)
        key = _key(cfg, name, runs, deps)
        stage_dir = out / name
        record = stage_dir / "result.json"
        cached = None if name in forced or any(d not in runs for d in deps) else _load_cached(record, key)
        if cached is not None:
            results[name], runs[name] = cached["result"], cached["run"]
            timing[name] = {"seconds": cached["seconds"], "cached": True}
            continue
        if only is not None and name not in only:
            continue
        missing = [d for d in deps if d not in runs]
        if missing:
            both = " ".join([*missing, name])
            raise ValueError(f"stage {name!r} needs the output of {missing}, which is not current: run "
                             f"`worldsim demo` without --only (or with --only {both})")  # fmt: skip
        if stage_dir.exists():  # a stale or interrupted stage: start it clean
            shutil.rmtree(stage_dir)
        stage_dir.mkdir(parents=True)
        t0 = time.perf_counter()
        results[name] = fn(cfg, stage_dir)
        seconds = time.perf_counter() - t0
        timing[name] = {"seconds": seconds, "cached": False}
        runs[name] = uuid.uuid4().hex
        saved = {"key": key, "run": runs[name], "seconds": seconds, "result": results[name]}
        with atomic_path(record) as tmp:
            tmp.write_text(json.dumps(saved, indent=2))
    summary = {"config": cfg.name, "stages": timing, "results": results}
    with atomic_path(out / "results.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2, default=str))
    write_report(out, summary)
    return summary
