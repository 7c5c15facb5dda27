"""Fixed-length clips of (frames, actions) over a recorded dataset, for training world models in torch.

Episodes are split into train and held-out sets **by episode** (a held-out clip never shares an episode with a
training clip), reproducibly from a seed. The selected episodes are read into memory once (uint8 frames: 200
episodes of 50 steps at 64×64 take 125 MB); clips are views into them.
"""

from __future__ import annotations

import json
from pathlib import Path

import minari
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from .recording import INFO_FILE
from .storage import open_dataset

SPLITS = ("train", "heldout", "all")
EXTRA_KEYS = ("state", "depth", "body_id", "rewards")


def split_episodes(episode_ids, heldout_fraction: float = 0.1, seed: int = 0) -> tuple[list[int], list[int]]:
    """(train ids, held-out ids): a seeded shuffle, ``round(heldout_fraction · n)`` held out (at least one when
    the fraction is positive and there are two or more episodes)."""
    ids = sorted(int(i) for i in episode_ids)
    if not 0.0 <= heldout_fraction < 1.0:
        raise ValueError(f"heldout_fraction must be in [0, 1), got {heldout_fraction}")
    n_held = round(heldout_fraction * len(ids))
    if heldout_fraction > 0 and len(ids) >= 2:
        n_held = max(n_held, 1)
    perm = np.random.default_rng(seed).permutation(len(ids))
    held = sorted(ids[i] for i in perm[:n_held])
    train = sorted(ids[i] for i in perm[n_held:])
    return train, held


def dataset_info(data: str | minari.MinariDataset) -> dict | None:
    """How a dataset was recorded (task, policy, size, dt, ...; see :func:`worldsim.data.record`), or None for a
    Minari dataset that worldsim did not write."""
    ds = open_dataset(data) if not isinstance(data, minari.MinariDataset) else data
    path = Path(ds.storage.data_path).parent / INFO_FILE
    return json.loads(path.read_text()) if path.is_file() else None


class ClipDataset(Dataset):
    """Clips of ``clip_len`` consecutive frames and the ``clip_len - 1`` actions between them.

    Item ``i`` is a dict: ``frames`` uint8 [L, H, W, 3], ``actions`` float32 [L-1, A] (action t moves frame t to
    frame t+1), ``episode`` and ``start`` (ints), plus any of ``extra_keys``: ``state`` float32 [L, obs_dim],
    ``depth`` float32 [L, H, W], ``body_id`` int64 [L, H, W], ``rewards`` float32 [L-1].

    Args:
        data: a dataset name (Minari id or directory) or a loaded ``minari.MinariDataset``.
        clip_len: frames per clip (≥ 2). Episodes with fewer frames give no clip.
        split: ``"train"``, ``"heldout"`` or ``"all"`` (see :func:`split_episodes`).
        heldout_fraction, seed: the split.
        stride: step between the start frames of consecutive clips of one episode.
        extra_keys: more per-step data to return (see above).
    """

    def __init__(self, data: str | minari.MinariDataset, clip_len: int, *, split: str = "train",
                 heldout_fraction: float = 0.1, seed: int = 0, stride: int = 1,
                 extra_keys: tuple[str, ...] = ()):  # fmt: skip
        if not isinstance(clip_len, int) or clip_len < 2:
            raise ValueError(f"clip_len must be an integer ≥ 2 (frames per clip), got {clip_len!r}")
        if not isinstance(stride, int) or stride < 1:
            raise ValueError(f"stride must be a positive integer, got {stride!r}")
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        unknown = set(extra_keys) - set(EXTRA_KEYS)
        if unknown:
            raise ValueError(f"unknown extra_keys {sorted(unknown)}; known: {EXTRA_KEYS}")
        ds = open_dataset(data) if not isinstance(data, minari.MinariDataset) else data
        train, held = split_episodes(ds.episode_indices, heldout_fraction, seed)
        self.episode_ids = {"train": train, "heldout": held, "all": sorted(train + held)}[split]
        self.clip_len, self.extra_keys = clip_len, tuple(extra_keys)
        self.action_space = ds.action_space
        self.episodes: list[dict[str, torch.Tensor]] = []
        self.index: list[tuple[int, int]] = []  # (position in self.episodes, start frame)
        for ep in ds.iterate_episodes(episode_indices=self.episode_ids):
            obs = ep.observations
            if not isinstance(obs, dict) or "pixels" not in obs:
                raise ValueError("the dataset's observations have no 'pixels': record it with worldsim.data.record")
            e = {"frames": torch.from_numpy(np.ascontiguousarray(obs["pixels"])),
                 "actions": torch.from_numpy(np.asarray(ep.actions, np.float32)), "id": ep.id}  # fmt: skip
            for k in self.extra_keys:
                if k == "rewards":
                    e[k] = torch.from_numpy(np.asarray(ep.rewards, np.float32))
                elif k == "body_id":
                    e[k] = torch.from_numpy(obs[k].astype(np.int64))
                else:
                    e[k] = torch.from_numpy(np.ascontiguousarray(obs[k]))
            num_frames = e["frames"].shape[0]
            self.index += [(len(self.episodes), s) for s in range(0, num_frames - clip_len + 1, stride)]
            self.episodes.append(e)
        if not self.index:
            raise ValueError(f"no clip of {clip_len} frames in the {split!r} split ({len(self.episode_ids)} "
                             "episodes): record longer episodes or use a shorter clip_len")  # fmt: skip

    @property
    def action_dim(self) -> int:
        return int(self.episodes[0]["actions"].shape[-1])

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        return tuple(self.episodes[0]["frames"].shape[1:])

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict:
        e_pos, s = self.index[i]
        e, L = self.episodes[e_pos], self.clip_len
        item = {"frames": e["frames"][s : s + L], "actions": e["actions"][s : s + L - 1], "episode": e["id"],
                "start": s}  # fmt: skip
        for k in self.extra_keys:
            item[k] = e[k][s : s + L - 1] if k == "rewards" else e[k][s : s + L]
        return item


def clip_loader(data: str | minari.MinariDataset | ClipDataset, clip_len: int | None = None, batch_size: int = 16,
                *, split: str = "train", shuffle: bool = True, seed: int = 0, num_workers: int = 0,
                drop_last: bool = True, **clip_kwargs) -> DataLoader:  # fmt: skip
    """A ``DataLoader`` of clip batches (``frames`` uint8 [B, L, H, W, 3], ``actions`` float32 [B, L-1, A], ...).

    Under ``torch.distributed`` (initialized), each process gets its shard through a ``DistributedSampler``
    (call ``loader.sampler.set_epoch(e)`` each epoch); otherwise a seeded shuffle.
    """
    clips = data if isinstance(data, ClipDataset) else ClipDataset(data, clip_len, split=split, seed=seed,
                                                                    **clip_kwargs)  # fmt: skip
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        sampler = DistributedSampler(clips, shuffle=shuffle, seed=seed, drop_last=drop_last)
        return DataLoader(clips, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                          drop_last=drop_last)  # fmt: skip
    gen = torch.Generator()
    gen.manual_seed(seed)
    return DataLoader(clips, batch_size=batch_size, shuffle=shuffle, generator=gen, num_workers=num_workers,
                      drop_last=drop_last)  # fmt: skip
