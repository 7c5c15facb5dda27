"""`worldsim demo --quick` end to end (every stage, the report, the JSON), its stage cache, and the report opened in
headless Chromium: a screenshot that is not blank, and every embedded video and picture decoded by the browser."""

import dataclasses
import json
import math
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from worldsim.demo import QUICK, STAGE_NAMES, run_demo

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    """One run of `worldsim demo --quick` through the command line, as a user runs it."""
    out = tmp_path_factory.mktemp("demo") / "out"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "worldsim.cli", "demo", "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, time.perf_counter() - t0


def _numbers(x, path=""):
    """Every number in a JSON value, with its path."""
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _numbers(v, f"{path}/{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _numbers(v, f"{path}[{i}]")
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        yield path, x


def test_quick_demo_writes_the_report_and_finite_numbers(quick_demo):
    out, _ = quick_demo
    summary = json.loads((out / "results.json").read_text())
    assert set(summary["results"]) == set(STAGE_NAMES) and summary["config"] == "quick"
    numbers = dict(_numbers(summary["results"]))
    # steps_to_cem_cost / seconds_to_cem_cost are null when the gradient never reached CEM's cost: not numbers
    bad = {p: v for p, v in numbers.items() if not math.isfinite(v)}
    assert not bad, bad
    res = summary["results"]
    assert res["dataset"]["episodes"] == QUICK.episodes
    for m in res["evaluate"]["models"].values():
        assert len(m["psnr_per_step"]) == QUICK.horizon and m["psnr_1"] > 5
    assert 0 <= res["motion"]["model_pis"] <= 1 and res["motion"]["simulator_pis"] > 0.9
    assert {"gradient", "CEM"} == set(res["trajopt"]["methods"])
    assert len(res["sysid"]["rows"]) == 4
    html = (out / "report.html").read_text()
    assert html.count("<video") == 4 and html.count("data:video/mp4;base64,") == 4
    assert "src='data:image/png;base64," in html
    assert "src='http" not in html and "href=" not in html  # self-contained: nothing fetched
    for name in ("overview.png", "simulate/dr_worlds.mp4", "evaluate/rollouts.mp4", "trajopt/solutions.mp4",
                 "sysid/fit.mp4", "train/genie/genie.json", "train/dit"):  # fmt: skip
        assert (out / name).exists(), name


def test_rerun_uses_the_cache_and_redo_invalidates_downstream(quick_demo, capsys):
    out, first = quick_demo
    t0 = time.perf_counter()
    summary = run_demo(out, quick=True, progress=False, only=())
    assert all(t["cached"] for t in summary["stages"].values())
    assert time.perf_counter() - t0 < 0.2 * first
    # a changed setting of one stage reruns that stage only (and nothing is run here: `only` is empty)
    changed = dataclasses.replace(QUICK, horizon=QUICK.horizon + 1)
    summary = run_demo(out, config=changed, progress=False, only=())
    assert "evaluate" not in summary["stages"] and summary["stages"]["train"]["cached"]
    summary = run_demo(out, quick=True, redo=("dataset",), progress=False, only=())
    assert {"dataset", "train", "evaluate"}.isdisjoint(summary["stages"])  # downstream of a redo: not reused
    with pytest.raises(ValueError, match="unknown stage"):
        run_demo(out, quick=True, redo=("painting",))
    with pytest.raises(ValueError, match="needs the output of"):  # evaluate alone, on models not current
        run_demo(out, quick=True, redo=("train",), only=("evaluate",), progress=False)
    summary = run_demo(out, quick=True, progress=False, only=())  # the full report again, from the cache
    assert len(summary["results"]) == len(STAGE_NAMES)


def test_report_in_headless_chromium(quick_demo, tmp_path):
    """Chromium opens the report from disk: every <video> reaches readyState ≥ 2 with its frame size, every <img>
    decodes, and a screenshot of the page shows content (checked here and looked at during development)."""
    if CHROMIUM is None:
        pytest.fail("chromium is missing: install Debian's chromium (make test does)")
    out, _ = quick_demo
    probe = """<script>
window.addEventListener('load', async () => {
  const vids = [...document.querySelectorAll('video')];
  await Promise.all(vids.map(v => v.readyState >= 2 ? null : new Promise(r => {
    v.addEventListener('loadeddata', r); v.addEventListener('error', r); })));
  const pre = document.createElement('pre'); pre.id = 'media-check';
  pre.textContent = JSON.stringify({
    videos: vids.map(v => [v.readyState, v.videoWidth, v.videoHeight, v.error ? v.error.code : null]),
    images: [...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight])});
  document.body.appendChild(pre);
});
</script>"""
    page = tmp_path / "report_probe.html"
    page.write_text((out / "report.html").read_text().replace("</body>", probe + "</body>"))
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"]
    dom = subprocess.run([*flags, "--virtual-time-budget=20000", "--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=180).stdout  # fmt: skip
    start = dom.index('<pre id="media-check">') + len('<pre id="media-check">')
    media = json.loads(dom[start : dom.index("</pre>", start)])
    assert len(media["videos"]) == 4 and len(media["images"]) >= 5
    for ready, w, h, err in media["videos"]:
        assert ready >= 2 and w > 0 and h > 0 and err is None
    for complete, w, h in media["images"]:
        assert complete and w > 0 and h > 0
    shot = tmp_path / "report.png"
    subprocess.run([*flags, "--hide-scrollbars", "--window-size=1200,2400", f"--screenshot={shot}",
                    (out / "report.html").as_uri()], capture_output=True, timeout=180, check=True)  # fmt: skip
    img = np.asarray(Image.open(shot).convert("RGB")).astype(np.float32)
    assert img.shape[:2] == (2400, 1200)
    assert img.std() > 30  # text, pictures and tables, not a blank page
    assert (img.mean(-1) < 250).mean() > 0.1


def test_stage_cache_follows_the_runs_of_its_inputs(tmp_path, monkeypatch):
    """With stand-in stages: a second run reuses everything; a stage that runs again (its record lost, as when a
    --redo of it was killed) makes the stages that use it run again, not the others; --only on a stage whose
    input is not current is an error."""
    from worldsim.demo import pipeline

    calls = []

    def stage(name):
        def fn(cfg, out):
            calls.append(name)
            (out / "made.txt").write_text(name)
            return {"value": len(calls)}

        return fn

    monkeypatch.setattr(pipeline, "STAGES", [("a", stage("a"), ()), ("b", stage("b"), ("a",)), ("c", stage("c"), ())])
    monkeypatch.setattr(pipeline, "STAGE_NAMES", ("a", "b", "c"))
    pipeline.run_demo(tmp_path, quick=True, progress=False)
    assert calls == ["a", "b", "c"]
    pipeline.run_demo(tmp_path, quick=True, progress=False)
    assert calls == ["a", "b", "c"]  # all cached
    (tmp_path / "a" / "result.json").unlink()
    summary = pipeline.run_demo(tmp_path, quick=True, progress=False)
    assert calls == ["a", "b", "c", "a", "b"]  # b used a's output: it runs again; c does not
    assert summary["stages"]["c"]["cached"] and not summary["stages"]["b"]["cached"]
    pipeline.run_demo(tmp_path, quick=True, progress=False, redo=("a",), only=("a",))
    with pytest.raises(ValueError, match="needs the output of"):
        pipeline.run_demo(tmp_path, quick=True, progress=False, redo=("a",), only=("b",))
    summary = pipeline.run_demo(tmp_path, quick=True, progress=False)
    assert calls[-1] == "b" and summary["stages"]["a"]["cached"]  # b caught up with a's last run
