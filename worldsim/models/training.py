"""One training loop for every world-model part: AdamW, EMA weights, tqdm, TensorBoard, atomic checkpoints, exact
resume, and DistributedDataParallel under ``torchrun``.

A part is trained by :func:`train` from

* a ``model`` (``nn.Module``) and ``step_fn(model, batch) -> (loss, {name: float})``;
* ``data``: a map-style dataset (anything with ``__len__``/``__getitem__`` returning dicts of tensors);
* ``out``: a directory that receives ``checkpoint.pt`` (model, EMA, optimizer, step, data position and every RNG
  state) every ``checkpoint_minutes`` and at the end, and ``tb/`` (TensorBoard scalars and sample images).

Exact resume: batches come from a per-epoch permutation seeded by (seed, epoch), consumed in order; the checkpoint
stores the epoch and position and the torch/numpy/python RNG states, so a run killed with ``kill -9`` and resumed
from its last checkpoint continues with the same batches and random draws as an uninterrupted run from that step.

Under ``torchrun --nproc_per_node=K`` (``WORLD_SIZE`` > 1) the process group is initialized (gloo on CPU, NCCL on
CUDA), the model is wrapped in ``DistributedDataParallel``, each rank takes every K-th sample of the epoch's
permutation, and only rank 0 logs and writes checkpoints.
"""

from __future__ import annotations

import copy
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import default_collate
from tqdm import tqdm

from .._files import atomic_path

CHECKPOINT = "checkpoint.pt"

LR_DECAYS = ("cosine", "constant")
"""``TrainConfig.lr_decay``: after the linear warm-up, the learning rate follows a half cosine from ``lr`` down to
``min_lr_ratio · lr`` over the budget (the fraction of ``steps`` done, or of ``minutes`` elapsed), or stays at
``lr``."""


def learning_rate(config: TrainConfig, step: int, progress: float) -> float:
    """The learning rate at ``step`` with ``progress`` (fraction of the budget used, clamped to [0, 1]): linear
    warm-up over ``warmup_steps``, times the decay of ``config.lr_decay`` (see :data:`LR_DECAYS`)."""
    warm = min(1.0, (step + 1) / max(1, config.warmup_steps))
    if config.lr_decay == "constant":
        return config.lr * warm
    frac = min(1.0, max(0.0, progress))
    floor = config.min_lr_ratio
    return config.lr * warm * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * frac)))


@dataclass
class TrainConfig:
    """How long and how to train. Exactly one of ``steps`` and ``minutes`` bounds the run (``steps`` wins if both);
    the step count is global (batches of ``batch_size`` per process). The learning rate warms up linearly over
    ``warmup_steps`` and then follows ``lr_decay`` (see :data:`LR_DECAYS` and :func:`learning_rate`): by default a
    cosine from ``lr`` to ``min_lr_ratio · lr`` at the end of the budget, the usual choice for budgeted runs (a
    4-minute A/B of the small dynamics model on CartPole measured no difference from a constant rate)."""

    steps: int | None = None
    minutes: float | None = None
    batch_size: int = 16
    lr: float = 3e-4
    weight_decay: float = 0.01
    warmup_steps: int = 100
    lr_decay: str = "cosine"
    min_lr_ratio: float = 0.05
    grad_clip: float = 1.0
    ema_decay: float = 0.995
    checkpoint_minutes: float = 2.0
    log_every: int = 10
    sample_every: int = 200
    seed: int = 0

    def __post_init__(self):
        if self.steps is None and self.minutes is None:
            raise ValueError("TrainConfig needs steps or minutes")
        if self.steps is not None and self.steps < 1:
            raise ValueError(f"steps must be positive, got {self.steps}")
        if self.minutes is not None and not self.minutes > 0:
            raise ValueError(f"minutes must be positive, got {self.minutes}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {self.batch_size}")
        if self.lr_decay not in LR_DECAYS:
            raise ValueError(f"lr_decay must be one of {LR_DECAYS}, got {self.lr_decay!r}")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise ValueError(f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")


class EMA:
    """Exponential moving average of a model's parameters and buffers (used for sampling and evaluation).

    The decay warms up as ``min(decay, (1 + step) / (10 + step))`` (step = updates before this one), so that the
    average forgets the initial weights quickly in short runs: with a constant 0.995, a 400-step run's EMA still
    held ~14% of the first weights (a DiT's EMA then denoised 8x worse than its live weights)."""

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    def decay_at(self, step: int) -> float:
        """The decay of the update after ``step`` earlier updates."""
        return min(self.decay, (1.0 + step) / (10.0 + step))

    @torch.no_grad()
    def update(self, model: nn.Module, step: int | None = None) -> None:
        """Move the average towards ``model``'s weights (with the warmed-up decay at ``step``; constant if None)."""
        decay = self.decay if step is None else self.decay_at(step)
        for e, p in zip(self.model.parameters(), model.parameters(), strict=True):
            e.lerp_(p.detach(), 1.0 - decay)
        for e, b in zip(self.model.buffers(), model.buffers(), strict=True):
            e.copy_(b)


class BatchStream:
    """Batches of a map-style dataset in a reproducible order: epoch e is ``randperm(len, seed + e)``, this rank
    takes positions rank, rank + world, ...; ``state()`` / ``load_state()`` give (epoch, position)."""

    def __init__(self, data, batch_size: int, seed: int, rank: int = 0, world: int = 1):
        if len(data) < batch_size * world:
            raise ValueError(f"the dataset has {len(data)} samples, fewer than one batch of {batch_size} per process "
                             f"({world} processes)")  # fmt: skip
        self.data, self.batch_size, self.seed, self.rank, self.world = data, batch_size, seed, rank, world
        self.epoch, self.position = 0, 0
        self._perm = self._permutation()

    def _permutation(self) -> torch.Tensor:
        g = torch.Generator()
        g.manual_seed(self.seed * 1_000_003 + self.epoch)
        perm = torch.randperm(len(self.data), generator=g)
        usable = len(perm) // (self.batch_size * self.world) * self.batch_size * self.world
        return perm[:usable][self.rank :: self.world]

    def next(self) -> dict:
        if self.position + self.batch_size > len(self._perm):
            self.epoch, self.position = self.epoch + 1, 0
            self._perm = self._permutation()
        idx = self._perm[self.position : self.position + self.batch_size].tolist()
        self.position += self.batch_size
        return default_collate([self.data[i] for i in idx])

    def state(self) -> dict:
        return {"epoch": self.epoch, "position": self.position}

    def load_state(self, state: dict) -> None:
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self._perm = self._permutation()


def _rng_state() -> dict:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def save_atomically(obj, path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename: a killed write never leaves a torn file."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def distributed_setup() -> tuple[int, int, torch.device]:
    """(rank, world size, device); initializes the process group under torchrun (``WORLD_SIZE`` > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
    rank = torch.distributed.get_rank() if world > 1 else 0
    if torch.cuda.is_available():
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    return rank, world, device


def _to(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def train(
    model: nn.Module,
    step_fn: Callable[[nn.Module, dict], tuple[torch.Tensor, dict]],
    data,
    out: str | Path,
    config: TrainConfig,
    *,
    resume: bool = False,
    sample_fn: Callable[[nn.Module, dict], torch.Tensor] | None = None,
    extra_state: dict | None = None,
    desc: str = "training",
    progress: bool = True,
) -> dict:
    """Train ``model`` on ``data`` into ``out``; returns the final checkpoint dict (with ``"ema"``, the EMA
    weights, and ``"metrics"``, the last logged averages).

    ``sample_fn(ema_model, batch) -> uint8 image [H, W, 3]`` makes the TensorBoard sample grid.
    ``extra_state`` (json-able) is stored in the checkpoint, e.g. the model's config.

    Raises:
        FileExistsError: ``out`` already has a checkpoint and ``resume`` is False.
        FileNotFoundError: ``resume`` without a checkpoint in ``out``.
    """
    out = Path(out)
    owns_group = int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.distributed.is_initialized()
    rank, world, device = distributed_setup()
    ckpt_path = out / CHECKPOINT
    if ckpt_path.exists() and not resume:
        raise FileExistsError(f"{ckpt_path} exists: pass resume=True (--resume) to continue it, or pick another --out")
    if resume and not ckpt_path.exists():
        raise FileNotFoundError(f"--resume: no checkpoint at {ckpt_path}")
    out.mkdir(parents=True, exist_ok=True)

    torch.manual_seed(config.seed + rank)
    np.random.seed(config.seed + rank)
    random.seed(config.seed + rank)
    model.to(device)
    ema = EMA(model, config.ema_decay)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, betas=(0.9, 0.95))
    stream = BatchStream(data, config.batch_size, config.seed, rank, world)
    step, metrics = 0, {}
    if resume:
        ck = torch.load(ckpt_path, map_location=device, weights_only=False)
        model.load_state_dict(ck["model"])
        ema.model.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["optimizer"])
        stream.load_state(ck["data"][rank] if isinstance(ck["data"], list) else ck["data"])
        step, metrics = ck["step"], ck.get("metrics", {})
        _set_rng_state(ck["rng"][rank] if isinstance(ck["rng"], list) else ck["rng"])
        elapsed0 = ck.get("elapsed", 0.0)
    else:
        elapsed0 = 0.0
    net = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model

    writer = None
    if rank == 0:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(out / "tb"), purge_step=step if resume else None)

    def elapsed() -> float:
        """Seconds trained so far, the same on every rank (the slowest rank's), so that all ranks use one learning
        rate and stop at the same step."""
        e = elapsed0 + time.monotonic() - t0
        if world > 1:
            e_t = torch.tensor([e], dtype=torch.float64, device=device)
            torch.distributed.all_reduce(e_t, op=torch.distributed.ReduceOp.MAX)
            e = float(e_t)
        return e

    def budget_used(seconds: float) -> float:
        return step / total if total is not None else seconds / budget

    def checkpoint() -> dict:
        gathered_data, gathered_rng = stream.state(), _rng_state()
        if world > 1:  # every rank's data position and RNG, so each resumes where it was
            datas, rngs = [None] * world, [None] * world
            torch.distributed.all_gather_object(datas, gathered_data)
            torch.distributed.all_gather_object(rngs, gathered_rng)
            gathered_data, gathered_rng = datas, rngs
        elapsed = elapsed0 + time.monotonic() - t0
        ck = {"model": model.state_dict(), "ema": ema.model.state_dict(), "optimizer": opt.state_dict(),
              "step": step, "data": gathered_data, "rng": gathered_rng, "metrics": metrics, "elapsed": elapsed,
              "config": asdict(config), "extra": extra_state or {}}  # fmt: skip
        if rank == 0:
            save_atomically(ck, ckpt_path)
        return ck

    t0 = last_ckpt = time.monotonic()
    budget = math.inf if config.minutes is None else config.minutes * 60.0
    total = config.steps
    bar = tqdm(total=total, initial=step, desc=desc, disable=not progress or rank != 0, unit="step")
    sums: dict[str, float] = {}
    count = 0
    while True:
        if total is not None and step >= total:
            break
        seconds = elapsed() if total is None else 0.0
        if total is None and seconds >= budget:
            break
        lr = learning_rate(config, step, budget_used(seconds))
        batch = _to(stream.next(), device)
        net.train()
        for g in opt.param_groups:
            g["lr"] = lr
        loss, logs = step_fn(net, batch)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite loss {loss.item()} at step {step}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        opt.step()
        ema.update(model, step)
        step += 1
        bar.update(1)
        for k, v in {"loss": loss.item(), **logs}.items():
            sums[k] = sums.get(k, 0.0) + float(v)
        count += 1
        if step % config.log_every == 0 or step == total:
            metrics = {k: v / count for k, v in sums.items()}
            sums, count = {}, 0
            bar.set_postfix({k: f"{v:.4g}" for k, v in list(metrics.items())[:3]})
            if writer is not None:
                for k, v in metrics.items():
                    writer.add_scalar(f"train/{k}", v, step)
                writer.add_scalar("train/lr", lr, step)
        if writer is not None and sample_fn is not None and step % config.sample_every == 0:
            with torch.no_grad():
                writer.add_image("samples", sample_fn(ema.model, batch).cpu(), step, dataformats="HWC")
        if time.monotonic() - last_ckpt >= config.checkpoint_minutes * 60.0:
            checkpoint()
            last_ckpt = time.monotonic()
    bar.close()
    if count:
        metrics = {k: v / count for k, v in sums.items()}
    ck = checkpoint()
    if writer is not None:
        writer.close()
    if owns_group:  # a process group left to interpreter exit can abort a rank ("terminate called ...")
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return ck
