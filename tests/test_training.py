"""The shared training loop: exact resume (also after kill -9 mid-run), atomic checkpoints, EMA, and the DDP path
with two gloo processes under torchrun."""

import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from worldsim.models.training import CHECKPOINT, EMA, BatchStream, TrainConfig, learning_rate

# a tiny regression problem whose every step consumes data and random numbers (dropout)
TOY = textwrap.dedent("""
    import sys, torch
    from torch import nn
    from worldsim.models.training import TrainConfig, train

    class Toy(torch.utils.data.Dataset):
        def __init__(self, n=64):
            g = torch.Generator().manual_seed(0)
            self.x = torch.randn(n, 4, generator=g)
            self.y = self.x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.1 * torch.randn(n, generator=g)
        def __len__(self):
            return len(self.x)
        def __getitem__(self, i):
            return {"x": self.x[i], "y": self.y[i]}

    def model():
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.1), nn.ReLU(), nn.Linear(16, 1))

    def step(net, batch):
        loss = (net(batch["x"])[:, 0] - batch["y"]).square().mean()
        return loss, {"mse": loss.item()}

    def run(out, steps, resume=False, checkpoint_minutes=100.0, slow=0.0, minutes=None, lr_decay="cosine"):
        def slow_step(net, batch):
            import time; time.sleep(slow)
            return step(net, batch)
        cfg = TrainConfig(steps=None if minutes else steps, minutes=minutes, batch_size=8, lr=3e-2,
                          warmup_steps=1, log_every=5, checkpoint_minutes=checkpoint_minutes, seed=1,
                          lr_decay=lr_decay)
        return train(model(), slow_step, Toy(), out, cfg, resume=resume, progress=False)

    if __name__ == "__main__":
        run(sys.argv[1], int(sys.argv[2]), resume=sys.argv[3] == "1", checkpoint_minutes=float(sys.argv[4]),
            slow=float(sys.argv[5]))
""")


@pytest.fixture
def toy(tmp_path, monkeypatch):
    path = tmp_path / "toy_train.py"
    path.write_text(TOY)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    import toy_train

    return importlib.reload(toy_train), path


def _weights(ck):
    return torch.cat([v.flatten().float() for v in ck["model"].values()])


def test_resume_continues_exactly(toy, tmp_path):
    """A finished 12-step run resumed with a 30-step budget ends where a 30-step run ends. (With a constant
    learning rate: a cosine schedule follows the budget, so a larger budget changes the rates of the first steps.)"""
    mod, _ = toy
    full = mod.run(tmp_path / "full", 30, lr_decay="constant")
    mod.run(tmp_path / "part", 12, lr_decay="constant")
    resumed = mod.run(tmp_path / "part", 30, resume=True, lr_decay="constant")
    assert resumed["step"] == 30
    assert torch.equal(_weights(full), _weights(resumed))
    assert torch.equal(torch.cat([v.flatten() for v in full["ema"].values()]),
                       torch.cat([v.flatten() for v in resumed["ema"].values()]))  # fmt: skip
    assert full["metrics"]["mse"] < 2.0  # it learned (the targets have variance 14)


def test_kill_9_then_resume_matches_an_uninterrupted_run(toy, tmp_path):
    """A training process checkpointing every step is killed with SIGKILL at a random point; the checkpoint it left
    is whole, and resuming from it ends where an uninterrupted run ends."""
    mod, script = toy
    out = tmp_path / "killed"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen([sys.executable, str(script), str(out), "400", "0", "0.00001", "0.01"], env=env)
    deadline = time.monotonic() + 60
    while not (out / CHECKPOINT).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    ck = torch.load(out / CHECKPOINT, weights_only=False)
    assert 0 < ck["step"] < 400
    resumed = mod.run(out, 400, resume=True)  # the same budget, so the same cosine learning-rate schedule
    full = mod.run(tmp_path / "full", 400)
    assert resumed["step"] == 400
    assert torch.equal(_weights(full), _weights(resumed))


def test_refuses_to_overwrite_or_resume_nothing(toy, tmp_path):
    mod, _ = toy
    mod.run(tmp_path / "a", 2)
    with pytest.raises(FileExistsError, match="resume"):
        mod.run(tmp_path / "a", 2)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        mod.run(tmp_path / "b", 2, resume=True)
    with pytest.raises(ValueError, match="steps or minutes"):
        TrainConfig()


def test_learning_rate_warmup_then_cosine_to_the_floor():
    cfg = TrainConfig(steps=1000, lr=1e-3, warmup_steps=10, min_lr_ratio=0.05)
    assert learning_rate(cfg, 0, 0.0) == pytest.approx(1e-4)  # warm-up: (step + 1) / warmup_steps
    assert learning_rate(cfg, 9, 0.01) == pytest.approx(1e-3 * (0.05 + 0.95 * 0.5 * (1 + math.cos(0.01 * math.pi))))
    assert learning_rate(cfg, 500, 0.5) == pytest.approx(1e-3 * (0.05 + 0.95 * 0.5))
    assert learning_rate(cfg, 999, 1.0) == pytest.approx(5e-5)
    assert learning_rate(cfg, 999, 1.7) == pytest.approx(5e-5)  # past the budget (a resumed run): the floor
    lrs = [learning_rate(cfg, s, s / 1000) for s in range(10, 1000, 10)]
    assert all(a > b for a, b in zip(lrs, lrs[1:], strict=False))
    const = TrainConfig(steps=10, lr=1e-3, warmup_steps=1, lr_decay="constant")
    assert learning_rate(const, 5, 0.9) == 1e-3
    with pytest.raises(ValueError, match="lr_decay"):
        TrainConfig(steps=1, lr_decay="step")
    with pytest.raises(ValueError, match="min_lr_ratio"):
        TrainConfig(steps=1, min_lr_ratio=2.0)


def test_ema_and_batch_stream():
    net = torch.nn.Linear(2, 1)
    ema = EMA(net, 0.5)
    before = ema.model.weight.clone()
    with torch.no_grad():
        net.weight.add_(2.0)
    ema.update(net)
    torch.testing.assert_close(ema.model.weight, before + 1.0)
    data = [{"i": torch.tensor(i)} for i in range(10)]
    a, b = BatchStream(data, 2, seed=0, rank=0, world=2), BatchStream(data, 2, seed=0, rank=1, world=2)
    seen = [a.next()["i"].tolist() + b.next()["i"].tolist() for _ in range(2)]
    flat = sum(seen, [])
    assert len(set(flat)) == 8  # the two ranks take disjoint samples of the epoch
    with pytest.raises(ValueError, match="fewer than one batch"):
        BatchStream(data[:3], 2, seed=0, world=2)


def _torchrun(tmp_path, name, body, port):
    runner = tmp_path / f"{name}.py"
    runner.write_text(f"import sys, os, torch; sys.path.insert(0, {str(tmp_path)!r})\nimport toy_train\n{body}\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={port}",
                        str(runner)], env=env, capture_output=True, text=True, timeout=240)  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]


def test_ddp_with_two_gloo_processes(toy, tmp_path):
    """torchrun --nproc_per_node=2: both processes train (gloo), rank 0 writes one checkpoint with both ranks'
    data positions, and the model learned."""
    _torchrun(tmp_path, "ddp_run", f"toy_train.run({str(tmp_path / 'ddp')!r}, 40)", 29517)
    ck = torch.load(tmp_path / "ddp" / CHECKPOINT, weights_only=False)
    assert ck["step"] == 40 and isinstance(ck["data"], list) and len(ck["data"]) == 2
    assert ck["metrics"]["mse"] < 2.0


def test_ddp_minutes_budget_stops_all_ranks_together(toy, tmp_path):
    """A wall-clock budget under DDP: the ranks share one elapsed time (the slowest rank's), so they use one
    learning rate, stop at the same step (no rank left waiting in an all-reduce) and end with identical weights."""
    out = str(tmp_path / "ddp_minutes")
    body = (
        f"ck = toy_train.run({out!r}, 0, minutes=0.02, slow=0.005 * (1 + int(os.environ['RANK'])))\n"
        f"torch.save({{'step': ck['step'], 'model': ck['model']}}, {out!r} + '/rank' + os.environ['RANK'] + '.pt')"
    )
    _torchrun(tmp_path, "ddp_minutes", body, 29518)
    a, b = (torch.load(f"{out}/rank{r}.pt", weights_only=False) for r in (0, 1))
    assert a["step"] == b["step"] > 5
    for k in a["model"]:
        torch.testing.assert_close(a["model"][k], b["model"][k], rtol=0, atol=0)


def test_ema_decay_warms_up():
    """The EMA forgets the initial weights quickly at first: decay min(d, (1+n)/(10+n)); after one update from
    step 0 the average moves 90% of the way to the live weights."""
    model = torch.nn.Linear(2, 2)
    ema = EMA(model, 0.995)
    assert ema.decay_at(0) == pytest.approx(0.1) and ema.decay_at(10_000) == 0.995
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    before = [p.clone() for p in ema.model.parameters()]
    ema.update(model, 0)
    for e, b, p in zip(ema.model.parameters(), before, model.parameters(), strict=True):
        assert torch.allclose(e, b + 0.9 * (p - b))
