"""The demo's report: one self-contained HTML file (videos and pictures embedded as data URIs, no network, no
scripts needed) and the overview picture ``overview.png`` that the README shows."""

from __future__ import annotations

import base64
import html
import math
import platform
from pathlib import Path

import numpy as np

from .._files import atomic_path
from .._media import save_figure

MIME = {".mp4": "video/mp4", ".png": "image/png"}


def _data_uri(path: Path) -> str:
    return f"data:{MIME[path.suffix]};base64," + base64.b64encode(path.read_bytes()).decode()


def _media(stage_dir: Path, name: str | None, caption: str, cls: str = "") -> str:
    if not name or not (stage_dir / name).is_file():
        return f"<p class='missing'>({html.escape(caption)}: not produced)</p>"
    path = stage_dir / name
    if path.suffix == ".mp4":
        tag = f"<video src='{_data_uri(path)}' controls autoplay loop muted playsinline></video>"
    else:
        tag = f"<img src='{_data_uri(path)}' alt='{html.escape(caption)}'>"
    return f"<figure class='{cls}'>{tag}<figcaption>{html.escape(caption)}</figcaption></figure>"


def _num(v, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, float) and not math.isfinite(v):
        return "n/a"
    return f"{v:.{digits}g}" if abs(v) < 1e5 else f"{v:,.0f}"


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c) if isinstance(c, str) else _num(c)}</td>" for c in r) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(title: str, intro: str, body: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2><p>{intro}</p>{body}</section>"


def _simulate(r: dict, d: Path) -> str:
    rows = [[k, v[0], v[1]] for k, v in r["randomization"].items()]
    return _section(
        "1. Simulation with domain randomization",
        f"{r['worlds']} worlds of <code>worldsim/{r['task']}-v0</code> stepped in one simulator call, each with its "
        f"own friction, masses, motor strength, colors, light, background and camera, rendered through the "
        f"differentiable Gaussian-splat rasterizer ({_num(r['env_steps_per_second'])} env-steps/s with pixels).",
        _media(d, r["video"], "every world, side by side") + _table(["drawn per world", "min", "max"], rows),
    )


def _dataset(r: dict, d: Path) -> str:
    return _section(
        "2. A dataset",
        f"{r['episodes']} episodes ({_num(r['frames'])} frames of {r['size']}×{r['size']} pixels with states, "
        f"actions, depth and body ids) recorded into the Minari dataset <code>{html.escape(r['dataset'])}</code> in "
        f"{_num(r['seconds'])} s, under a noisy balancing controller and the physics randomization preset.",
        _media(d, r["picture"], "frames of one episode"),
    )


def _train(r: dict, ev: dict | None, d: Path, ev_dir: Path) -> str:
    intro = (
        f"A Genie-style world model (video tokenizer, latent action model, MaskGIT dynamics; trained "
        f"{_num(r['genie_seconds'])} s) and a flow-matching video DiT conditioned on the true actions (trained "
        f"{_num(r['dit_seconds'])} s), both preset <code>small</code>, then rolled out from 2 real frames on "
        f"held-out episodes and compared with the simulator's frames."
    )
    if ev is None:
        return _section("3. World models", intro, "<p class='missing'>(not evaluated)</p>")
    h = ev["horizon"]
    key = f"psnr_{min(16, h)}"
    rows = [[name, m["psnr_1"], m[key], m["copy_last_psnr_1"], m["delta_t_psnr"], m["frames_per_second"]]
            for name, m in ev["models"].items()]  # fmt: skip
    header = ["model", "PSNR step 1 [dB]", f"PSNR step {min(16, h)} [dB]", "copy-last-frame, step 1 [dB]",
              "ΔtPSNR t=4 [dB]", "generated frames/s"]  # fmt: skip
    below = [name for name, m in ev["models"].items() if m["psnr_1"] < m["copy_last_psnr_1"]]
    verdict = (
        f"<p><b>Read with care:</b> {', '.join(below)} {'does' if len(below) == 1 else 'do'} not beat "
        "copy-last-frame at step 1 with these few CPU minutes of training: look at the video for where the "
        "generated frames stop following the simulator (the small models are compute-bound; the README gives "
        "longer runs).</p>"
        if below
        else ""
    )
    body = (
        _table(header, rows)
        + verdict
        + f"<p class='note'>{ev['clips']} held-out clips. Copy-last-frame repeats the last real frame: a model "
        "beats it only by predicting motion. ΔtPSNR is Genie's controllability measure: PSNR with the inferred "
        "(or true) actions minus PSNR with random ones.</p>"
        + _media(ev_dir, ev["video"], "rows: simulator, Genie, DiT; columns: 4 held-out clips")
        + _media(ev_dir, ev["plot"], "PSNR against the simulator per generated frame")
    )
    return _section("3. World models, evaluated against the simulator", intro, body)


def _motion(r: dict, d: Path) -> str:
    rows = [[c.replace("_", " "), v["model_pis"], v["simulator_pis"], v["model_centroid_error_px"]]
            for c, v in r["categories"].items()]  # fmt: skip
    rows.append(["mean", r["model_pis"], r["simulator_pis"], None])
    return _section(
        "4. Does the generated video obey physics?",
        "NewtonGen's Physical Invariance Score (1 = the category's invariant, e.g. the vertical acceleration of a "
        f"falling body, is constant): a DiT trained {_num(r['train_seconds'])} s on the motion suite's scenes, "
        "scored beside the simulator's own videos.",
        _table(["motion", "DiT PIS", "simulator PIS", "DiT centroid error [px]"], rows),
    )


def _trajopt(r: dict, d: Path) -> str:
    rows = []
    for name, m in r["methods"].items():
        reach = m.get("steps_to_cem_cost")
        rows.append([name, m["cost"], m["physics_steps"], m["seconds"],
                     "–" if name == "CEM" else ("never" if reach is None else _num(reach))])  # fmt: skip
    return _section(
        "5. Trajectory optimization through contacts",
        f"PushBox, horizon {r['horizon']}: gradient shooting differentiates the cost through the simulator "
        "(contacts included) and optimizes one world; CEM samples many worlds per iteration. Physics steps count "
        "forward and backward steps of all worlds.",
        _table(["method", "final cost", "physics steps", "seconds", "steps to CEM's final cost"], rows)
        + _media(d, r["plot"], "cost against physics steps and wall time")
        + _media(d, r["video"], "the solutions"),
    )


def _sysid(r: dict, d: Path) -> str:
    rows = [[name, t, f, f"{e:.2f} {unit}"] for name, t, f, e, unit in r["rows"]]
    return _section(
        "6. System identification from pixels",
        f"A ball thrown over a plane, filmed from {r['views']} views ({r['frames']} frames of "
        f"{r['size']}×{r['size']} pixels, with noise). Its restitution, the gravity vector and its initial "
        f"velocity are recovered from the pixels alone by gradient descent through the renderer and the "
        f"simulator ({_num(r['fit_seconds'])} s).",
        _table(["quantity", "true", "recovered", "error"], rows)
        + _media(d, r["video"], "top: the given views; bottom: re-rendered with the recovered parameters")
        + _media(d, r["plot"], "ball centre, true and recovered"),
    )


CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
figure { display: inline-block; margin: 0.5em 1em 0.5em 0; vertical-align: top; }
video, img { max-width: 100%; border: 1px solid #ccc; image-rendering: pixelated; }
video { min-width: 400px; } figure.wide img { width: 1060px; }
figcaption { font-size: 0.85em; color: #555; }
table { border-collapse: collapse; margin: 0.8em 0; } td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f3f3f3; } td { text-align: right; } td:first-child { text-align: left; }
.note, .missing { font-size: 0.9em; color: #666; } code { background: #f3f3f3; padding: 0 0.2em; }
"""


def write_report(out: Path, summary: dict) -> Path:
    """Write ``out/report.html`` and ``out/overview.png`` from the stages' results and media; returns the report's
    path."""
    from .. import __version__

    res, timing = summary["results"], summary["stages"]
    parts = []
    if "simulate" in res:
        parts.append(_simulate(res["simulate"], out / "simulate"))
    if "dataset" in res:
        parts.append(_dataset(res["dataset"], out / "dataset"))
    if "train" in res:
        parts.append(_train(res["train"], res.get("evaluate"), out / "train", out / "evaluate"))
    if "motion" in res:
        parts.append(_motion(res["motion"], out / "motion"))
    if "trajopt" in res:
        parts.append(_trajopt(res["trajopt"], out / "trajopt"))
    if "sysid" in res:
        parts.append(_sysid(res["sysid"], out / "sysid"))
    stage_rows = [[name, t["seconds"], "cached" if t["cached"] else "ran"] for name, t in timing.items()]
    total = sum(t["seconds"] for t in timing.values())
    overview = write_overview(out)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>worldsim demo</title><style>{CSS}</style></head>
<body>
<h1>worldsim demo</h1>
<p>worldsim simulates articulated bodies with contacts in differentiable Warp kernels (MuJoCo's model and
layout), renders them with a differentiable Gaussian-splat rasterizer, wraps them as Gymnasium environments with
domain randomization, and trains world models on the rollouts. This report was written by
<code>worldsim demo{" --quick" if summary["config"] == "quick" else ""}</code> (worldsim {__version__}, Python
{platform.python_version()}, {html.escape(platform.machine())}, CPU) from one run of the whole pipeline; the
numbers are also in <code>results.json</code>.</p>
{_media(out, overview.name if overview else None, "overview", "wide")}
{"".join(parts)}
<section><h2>Stages</h2>{_table(["stage", "seconds", ""], stage_rows)}
<p class="note">Total {total:.0f} s of stage time (cached stages: the time of the run that made them).
Re-running <code>worldsim demo</code> skips the cached stages; <code>--redo STAGE</code> reruns one.</p></section>
</body></html>
"""
    path = out / "report.html"
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path


def write_overview(out: Path) -> Path | None:
    """The key picture: domain-randomized worlds, world-model rollouts, trajectory optimization, SysID fit."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    panels = [
        (out / "simulate" / "dr_worlds.png", "simulation: domain-randomized worlds (splats)"),
        (out / "evaluate" / "rollouts.png", "world models vs simulator (start, middle, end)"),
        (out / "trajopt" / "cost.png", "trajectory optimization: gradient vs CEM"),
        (out / "sysid" / "trajectory.png", "system identification from pixels"),
    ]
    panels = [(p, t) for p, t in panels if p.is_file()]
    if not panels:
        return None
    fig, axes = plt.subplots(2, 2, figsize=(12, 7.5), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (p, title) in zip(axes.flat, panels, strict=False):
        ax.imshow(np.asarray(Image.open(p).convert("RGB")), interpolation="nearest")
        ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return save_figure(fig, out / "overview.png", dpi=100)
