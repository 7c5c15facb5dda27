"""Train and evaluate the DiT world model's ``base`` preset on a GPU machine that has torch but none of worldsim's
simulator dependencies (Warp, MuJoCo, Minari, Open3D), e.g. a rented accelerator.

Two steps:

1. here, with worldsim installed: export recorded datasets (``benchmarks/world_model.py`` records them into
   ``outputs/world_model/data/<task>``) to compressed arrays::

       python benchmarks/dit_gpu.py export --data outputs/world_model/data/CartPole --out .gpu/CartPole.npz

2. there, with torch only (the script imports ``worldsim.models`` without the package's simulator half)::

       python benchmarks/dit_gpu.py train .gpu/CartPole.npz --minutes 3 --out $OUT/CartPole

   It trains the preset (``--preset``, default ``base``) with the same loss and training loop as ``worldsim train
   dit`` (bf16 autocast and TF32 on CUDA), then rolls out every held-out clip (the same held-out episodes as
   ``worldsim eval``: 2 context frames, 16 generated) and prints and writes ``result.json``: PSNR per step beside
   copy-last-frame, ΔtPSNR against uniform random actions, sampling frames/s, and ``rollouts.png`` (real over
   generated frames).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def export(data: str, out: str) -> None:
    """Write the frames, actions, episode lengths and held-out split of dataset ``data`` to ``out`` (.npz)."""
    from worldsim.data import dataset_info, open_dataset, split_episodes

    ds = open_dataset(data)
    info = dataset_info(data)
    _, held = split_episodes(ds.episode_indices, 0.1, 0)
    eps = list(ds.iterate_episodes())
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.npz")
    np.savez_compressed(
        tmp,
        frames=np.concatenate([e.observations["pixels"] for e in eps]),
        actions=np.concatenate([np.asarray(e.actions, np.float32) for e in eps]),
        lengths=np.array([len(e.observations["pixels"]) for e in eps]),
        ids=np.array([e.id for e in eps]),
        heldout=np.array(held),
        low=np.asarray(ds.action_space.low, np.float32),
        high=np.asarray(ds.action_space.high, np.float32),
        dt=info["dt"],
        task=info["task"],
    )
    tmp.replace(path)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {len(eps)} episodes)")


def import_models():
    """``worldsim.models.dit_world`` and ``worldsim.models.training`` without running ``worldsim/__init__`` (which
    loads Warp) or ``worldsim.data`` (Minari): the two packages are replaced by empty namespace modules."""
    try:
        import worldsim.models.dit_world as dit_world  # a full install
        import worldsim.models.training as training

        return dit_world, training
    except ImportError:
        pass
    for name in [n for n in sys.modules if n == "worldsim" or n.startswith("worldsim.")]:
        del sys.modules[name]
    for name, folder in (("worldsim", "worldsim"), ("worldsim.models", "worldsim/models")):
        mod = types.ModuleType(name)
        mod.__path__ = [str(ROOT / folder)]
        sys.modules[name] = mod
    data = types.ModuleType("worldsim.data")
    for fn in ("ClipDataset", "dataset_info", "open_dataset", "split_episodes"):
        setattr(data, fn, None)  # referenced at import, used only by the dataset-based entry points
    sys.modules["worldsim.data"] = data
    import worldsim.models.dit_world as dit_world
    import worldsim.models.training as training

    return dit_world, training


class ArrayClips(torch.utils.data.Dataset):
    """Clips of ``length`` frames (``frames`` uint8, ``actions``) from the given episodes of an exported array."""

    def __init__(self, arrays: dict, episodes: list[int], length: int, stride: int = 1):
        starts = np.concatenate([[0], np.cumsum(arrays["lengths"])])
        act_starts = np.concatenate([[0], np.cumsum(arrays["lengths"] - 1)])
        self.frames = torch.from_numpy(arrays["frames"])
        self.actions = torch.from_numpy(arrays["actions"])
        pos = {int(e): i for i, e in enumerate(arrays["ids"])}
        self.index = [
            (int(starts[pos[e]]) + s, int(act_starts[pos[e]]) + s)
            for e in episodes
            for s in range(0, int(arrays["lengths"][pos[e]]) - length + 1, stride)
        ]
        self.length = length

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict:
        f, a = self.index[i]
        return {"frames": self.frames[f : f + self.length], "actions": self.actions[a : a + self.length - 1]}


def _psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """PSNR (dB) per frame of uint8 frames ``[..., H, W, 3]``."""
    mse = (a.float() - b.float()).square().mean((-3, -2, -1))
    return 10 * torch.log10(255.0**2 / mse.clamp_min(1e-10))


def train_and_evaluate(path: str, out: str, minutes: float, preset: str, context: int, horizon: int) -> dict:
    dit_world, training = import_models()
    from functools import partial

    arrays = dict(np.load(path))
    held = [int(e) for e in arrays["heldout"]]
    train_ids = [int(e) for e in arrays["ids"] if int(e) not in held]
    p = dit_world.DIT_PRESETS[preset]
    size = arrays["frames"].shape[1]
    cfg = dit_world.DiTConfig(image_size=size, channels=3, cond_channels=3, action_dim=arrays["actions"].shape[1],
                              **p.network)  # fmt: skip
    torch.manual_seed(0)
    model = dit_world.VideoDiT(cfg)
    clips = ArrayClips(arrays, train_ids, cfg.max_frames + 1)
    cuda = torch.cuda.is_available()
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    step = partial(dit_world._dit_step, condition=None, clean_context=p.clean_context)

    def step_fn(net, batch):
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
            return step(net, batch)

    tcfg = training.TrainConfig(minutes=minutes, lr=p.lr, batch_size=p.batch, checkpoint_minutes=1e9)
    t0 = time.time()
    ck = training.train(model, step_fn, clips, Path(out) / "dit", tcfg, desc=f"train dit {preset}", progress=False)
    train_s = time.time() - t0
    meta = {"action_space": [arrays["low"].tolist(), arrays["high"].tolist()], "dt": float(arrays["dt"])}
    net = dit_world.VideoDiT(cfg)
    net.load_state_dict(ck["ema"])
    device = torch.device("cuda" if cuda else "cpu")
    wm = dit_world.DiTWorldModel(net.to(device), None, meta)

    test = ArrayClips(arrays, held, context + horizon, stride=horizon)
    frames = torch.stack([test[i]["frames"] for i in range(len(test))])
    actions = torch.stack([test[i]["actions"] for i in range(len(test))])
    gen = torch.Generator().manual_seed(0)
    low, high = torch.from_numpy(arrays["low"]), torch.from_numpy(arrays["high"])
    rand = low + (high - low) * torch.rand(actions[:, context - 1 :].shape, generator=gen)
    preds, seconds = {}, 0.0
    for name, act in (("true", actions[:, context - 1 :]), ("random", rand)):
        outs = []
        for i in range(0, len(frames), 64):
            if cuda:
                torch.cuda.synchronize()
            t = time.perf_counter()
            outs.append(wm.rollout(frames[i : i + 64, :context], act[i : i + 64],
                                   past_actions=actions[i : i + 64, : context - 1],
                                   generator=torch.Generator().manual_seed(i)))  # fmt: skip
            if name == "true":
                seconds += time.perf_counter() - t
        preds[name] = torch.cat(outs)
    future = frames[:, context:]
    psnr = _psnr(preds["true"], future).mean(0)
    copy = _psnr(frames[:, context - 1 : context].expand_as(future), future).mean(0)
    rnd = _psnr(preds["random"], future).mean(0)
    t4 = min(4, horizon) - 1
    res = {
        "task": str(arrays["task"]), "preset": preset, "device": torch.cuda.get_device_name() if cuda else "cpu",
        "train_seconds": train_s, "steps": ck["step"], "final_loss": ck["metrics"].get("loss"),
        "parameters": sum(p.numel() for p in model.parameters()), "clips": len(frames),
        "psnr_per_step": psnr.tolist(), "copy_last_psnr_per_step": copy.tolist(),
        "random_action_psnr_per_step": rnd.tolist(), "delta_t_psnr": float(psnr[t4] - rnd[t4]),
        "frames_per_second": preds["true"].shape[0] * preds["true"].shape[1] / seconds, "sampling_batch": 64,
    }  # fmt: skip
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out) / "result.json").write_text(json.dumps(res, indent=2))
    grid = []
    for i in range(min(4, len(frames))):
        grid.append(torch.cat(list(future[i, :8]), 1))
        grid.append(torch.cat(list(preds["true"][i, :8]), 1))
    try:
        from PIL import Image

        Image.fromarray(torch.cat(grid, 0).numpy()).save(Path(out) / "rollouts.png")
    except ImportError:
        pass
    last = min(16, horizon) - 1
    print(f"{res['task']} {preset} on {res['device']}: {res['steps']} steps in {train_s:.0f} s, "
          f"{res['parameters'] / 1e6:.1f} M parameters; PSNR step 1 {psnr[0]:.2f} (copy {copy[0]:.2f}), "
          f"step {last + 1} {psnr[last]:.2f} (copy {copy[last]:.2f}); ΔtPSNR {res['delta_t_psnr']:.2f}; "
          f"{res['frames_per_second']:.0f} frames/s")  # fmt: skip
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("--data", required=True)
    e.add_argument("--out", required=True)
    t = sub.add_parser("train")
    t.add_argument("arrays")
    t.add_argument("--out", required=True)
    t.add_argument("--minutes", type=float, default=3.0)
    t.add_argument("--preset", default="base")
    t.add_argument("--context", type=int, default=2)
    t.add_argument("--horizon", type=int, default=16)
    args = ap.parse_args()
    if args.cmd == "export":
        export(args.data, args.out)
    else:
        train_and_evaluate(args.arrays, args.out, args.minutes, args.preset, args.context, args.horizon)


if __name__ == "__main__":
    main()
