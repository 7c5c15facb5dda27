"""Rollout datasets: record worldsim tasks into Minari datasets and load fixed-length clips for world models.

* :func:`record` — episodes of a task (pixels, state, actions, rewards, terminations, depth and body-id
  images, randomization values) into a Minari dataset id or a directory, written atomically;
* :func:`open_dataset` — load one back (a ``minari.MinariDataset``);
* :class:`ClipDataset` / :func:`clip_loader` — torch clips of (frames, actions) with a train/held-out split by
  episode;
* policies: ``"random"``, ``"smooth"`` (:class:`SmoothRandomPolicy`) or any callable.
"""

from .clips import ClipDataset, clip_loader, dataset_info, split_episodes
from .policies import (
    POLICIES,
    CallablePolicy,
    NoisyBalancePolicy,
    Policy,
    RandomPolicy,
    SmoothRandomPolicy,
    WaypointPusherPolicy,
    make_policy,
)
from .recording import record
from .storage import dataset_path, is_dataset_id, open_dataset

__all__ = [
    "POLICIES", "CallablePolicy", "ClipDataset", "NoisyBalancePolicy", "Policy", "RandomPolicy", "SmoothRandomPolicy",
    "WaypointPusherPolicy", "clip_loader",
    "dataset_info", "dataset_path", "is_dataset_id", "make_policy", "open_dataset", "record", "split_episodes",
]  # fmt: skip
