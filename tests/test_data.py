"""Rollout datasets: recording into Minari (what is stored, that it is what the simulator did), atomic writes,
policies, the clip loader and its split, and the `worldsim record` command."""

import minari
import numpy as np
import pytest
import torch

from worldsim.cli import main
from worldsim.data import (
    ClipDataset,
    RandomPolicy,
    SmoothRandomPolicy,
    clip_loader,
    dataset_info,
    dataset_path,
    open_dataset,
    record,
    split_episodes,
)
from worldsim.envs import WorldsimVectorEnv


@pytest.fixture(autouse=True)
def minari_root(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    return tmp_path / "minari"


@pytest.fixture(scope="module")
def pushbox(tmp_path_factory):
    """4 episodes of 12 steps of PushBox at 16×16, smooth policy, default randomization (a directory)."""
    out = tmp_path_factory.mktemp("data") / "pushbox"
    record("PushBox", 4, 12, str(out), policy="smooth", randomization="default", size=16, num_envs=3, seed=3,
           progress=False)  # fmt: skip
    return str(out)


def test_recorded_episodes_hold_every_stream_with_its_shape(pushbox):
    ds = open_dataset(pushbox)
    assert ds.total_episodes == 4 and ds.total_steps == 48
    nbody = WorldsimVectorEnv("PushBox", 1).core.task.model.nbody
    for ep in ds.iterate_episodes():
        obs = ep.observations
        assert obs["pixels"].shape == (13, 16, 16, 3) and obs["pixels"].dtype == np.uint8
        assert obs["state"].shape == (13, 10) and obs["state"].dtype == np.float32
        assert obs["depth"].shape == (13, 16, 16) and (obs["depth"] >= 0).all() and obs["depth"].max() > 0
        assert obs["body_id"].dtype == np.int16 and obs["body_id"].min() >= -1 and obs["body_id"].max() < nbody
        assert len(np.unique(obs["body_id"])) >= 3  # ground, box and pusher are all in view
        assert ep.actions.shape == (12, 2) and np.abs(ep.actions).max() <= 1.0
        assert ep.rewards.shape == (12,) and ep.truncations[-1] and not ep.terminations.any()
        rand = ep.infos["randomization"]
        assert {"geom_friction", "body_mass"} <= set(rand)
        assert np.allclose(rand["body_mass"], rand["body_mass"][:1])  # one draw per episode
        assert np.abs(np.diff(obs["pixels"].astype(int), axis=0)).max() > 0  # things move
    masses = [ep.infos["randomization"]["body_mass"][0] for ep in ds.iterate_episodes()]
    assert not np.allclose(masses[0], masses[1])  # each episode drew its own values
    info = dataset_info(pushbox)
    assert info["task"] == "PushBox" and info["policy"] == "smooth" and info["size"] == 16 and info["dt"] > 0


def test_recorded_states_are_what_the_simulator_does_with_the_recorded_actions(tmp_path):
    """Replaying the stored actions from the same seeded reset reproduces the stored states exactly."""
    out = tmp_path / "cheetah"
    record("HalfCheetah", 2, 10, str(out), policy="random", size=8, seed=5, progress=False)
    episodes = list(open_dataset(str(out)).iterate_episodes())
    envs = WorldsimVectorEnv("HalfCheetah", 2, obs_mode="state", max_episode_steps=10)
    state, _ = envs.reset(seed=5)
    states = [state]
    for t in range(10):
        state, *_ = envs.step(np.stack([ep.actions[t] for ep in episodes]))
        states.append(state)
    for w, ep in enumerate(episodes):
        np.testing.assert_array_equal(ep.observations["state"], np.stack([s[w] for s in states]))


def test_terminated_episodes_end_at_termination(tmp_path):
    out = tmp_path / "cartpole"
    record("CartPole", 6, 200, str(out), policy="random", size=8, progress=False)
    for ep in open_dataset(str(out)).iterate_episodes():
        T = len(ep.actions)
        assert ep.observations["pixels"].shape[0] == T + 1
        assert ep.terminations[-1] != ep.truncations[-1]  # ended by exactly one of the two
        assert not ep.terminations[:-1].any() and not ep.truncations[:-1].any()
        if ep.truncations[-1]:
            assert T == 200


def test_action_repeat_keeps_every_kth_frame_and_sums_rewards(tmp_path):
    """With action_repeat 3, replaying each stored action 3 times reproduces the stored states at every 3rd env
    step, and the stored reward is the sum of the 3 env rewards."""
    record("HalfCheetah", 2, 4, str(tmp_path / "r1"), policy="random", size=8, seed=5, progress=False)
    record("HalfCheetah", 2, 4, str(tmp_path / "r3"), policy="random", size=8, seed=5, action_repeat=3,
           progress=False)  # fmt: skip
    episodes = list(open_dataset(str(tmp_path / "r3")).iterate_episodes())
    envs = WorldsimVectorEnv("HalfCheetah", 2, obs_mode="state", max_episode_steps=12)
    state, _ = envs.reset(seed=5)
    for t in range(4):
        total = 0.0
        for _ in range(3):
            state, r, *_ = envs.step(np.stack([ep.actions[t] for ep in episodes]))
            total = total + r
        for w, ep in enumerate(episodes):
            np.testing.assert_array_equal(ep.observations["state"][t + 1], state[w])
            assert ep.rewards[t] == pytest.approx(total[w], rel=1e-6)
    assert dataset_info(str(tmp_path / "r3"))["dt"] == pytest.approx(3 * dataset_info(str(tmp_path / "r1"))["dt"])
    assert dataset_info(str(tmp_path / "r3"))["action_repeat"] == 3


def test_action_repeat_ends_an_episode_at_the_inner_step_that_terminates_it(tmp_path):
    """A constant push drops the pole at some env step; with action_repeat 4 the last stored frame and state are
    those of that env step (not of a step of the next episode), the same as recorded without repeat."""
    push = lambda obs: np.full((len(obs), 1), 0.5, np.float32)  # noqa: E731
    record("CartPole", 3, 200, str(tmp_path / "r1"), policy=push, size=16, seed=2, progress=False)
    record("CartPole", 3, 50, str(tmp_path / "r4"), policy=push, size=16, seed=2, action_repeat=4, progress=False)
    lengths = []
    for one, four in zip(open_dataset(str(tmp_path / "r1")).iterate_episodes(),
                         open_dataset(str(tmp_path / "r4")).iterate_episodes(), strict=True):  # fmt: skip
        T = len(one.actions)
        assert one.terminations[-1] and four.terminations[-1] and len(four.actions) == -(-T // 4)
        for key in ("state", "pixels"):
            np.testing.assert_array_equal(four.observations[key][:-1], one.observations[key][:-1:4])
            np.testing.assert_array_equal(four.observations[key][-1], one.observations[key][-1])
        lengths.append(T)
    assert any(T % 4 for T in lengths), f"no episode ended inside a repeat (lengths {lengths}): the test checks nothing"


def test_smooth_policy_is_correlated_in_time_and_random_is_not():
    from gymnasium import spaces

    box = spaces.Box(-1.0, 1.0, (3,), np.float32)
    for policy, lo, hi in ((SmoothRandomPolicy(box, 64, seed=0), 0.7, 1.0), (RandomPolicy(box, 64, seed=0), -0.1, 0.1)):
        a = np.stack([policy(None) for _ in range(200)])  # [T, N, A]
        assert a.min() >= -1 and a.max() <= 1
        x = a - a.mean(0)
        lag1 = (x[1:] * x[:-1]).mean() / (x * x).mean()
        assert lo < lag1 < hi, (type(policy).__name__, lag1)


def test_callable_policy_and_its_errors(tmp_path):
    out = tmp_path / "const"
    record("Reacher", 2, 4, str(out), policy=lambda obs: np.full((len(obs), 2), 0.25), size=8, progress=False)
    assert np.all(open_dataset(str(out))[0].actions == 0.25)
    with pytest.raises(ValueError, match="shape"):
        record("Reacher", 2, 4, str(tmp_path / "bad"), policy=lambda obs: np.zeros(3), size=8, progress=False)
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("kwargs, match", [
    ({"task": "Nope"}, "unknown task"), ({"episodes": 0}, "episodes"), ({"steps": -1}, "steps"),
    ({"size": 0}, "size"), ({"policy": "greedy"}, "unknown policy"), ({"num_envs": 0}, "num_envs"),
    ({"action_repeat": 0}, "action_repeat"),
])  # fmt: skip
def test_bad_arguments_raise(tmp_path, kwargs, match):
    args = {"task": "PushBox", "episodes": 1, "steps": 2, "out": str(tmp_path / "x"), "size": 8, "progress": False}
    with pytest.raises(ValueError, match=match):
        record(**{**args, **kwargs})


def test_minari_id_loads_with_minari_and_existing_names_are_protected(minari_root):
    record("PushBox", 2, 3, "worldsim-test/pushbox-v0", size=8, progress=False)
    assert (minari_root / "worldsim-test" / "pushbox-v0" / "data" / "main_data.hdf5").is_file()
    assert minari.load_dataset("worldsim-test/pushbox-v0").total_episodes == 2
    with pytest.raises(FileExistsError):
        record("PushBox", 2, 3, "worldsim-test/pushbox-v0", size=8, progress=False)
    record("PushBox", 3, 3, "worldsim-test/pushbox-v0", size=8, overwrite=True, progress=False)
    assert open_dataset("worldsim-test/pushbox-v0").total_episodes == 3
    assert [p.name for p in (minari_root / "worldsim-test").iterdir() if p.name.startswith(".")] == []


def test_an_interrupted_write_leaves_no_dataset(tmp_path, monkeypatch):
    """The write dies after Minari wrote some episodes: nothing loads, nothing is left behind."""
    from minari.dataset._storages.hdf5_storage import HDF5Storage as MinariStorage  # the format worldsim writes

    calls = {"n": 0}
    real = MinariStorage.update_episodes

    def dies_after_the_first(self, episodes):
        real(self, list(episodes)[:1])
        calls["n"] += 1
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(MinariStorage, "update_episodes", dies_after_the_first)
    out = tmp_path / "ds"
    with pytest.raises(KeyboardInterrupt):
        record("PushBox", 3, 3, str(out), size=8, progress=False)
    assert calls["n"] == 1
    assert not out.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(FileNotFoundError, match="no dataset"):
        open_dataset(str(out))


def test_split_is_by_episode_disjoint_and_reproducible():
    train, held = split_episodes(range(20), 0.2, seed=1)
    assert len(held) == 4 and sorted(train + held) == list(range(20)) and not set(train) & set(held)
    assert (train, held) == split_episodes(range(20), 0.2, seed=1)
    assert split_episodes(range(2), 0.01)[1] != []  # at least one held-out episode
    with pytest.raises(ValueError, match="heldout_fraction"):
        split_episodes(range(3), 1.0)


def test_clips_are_slices_of_their_episodes(pushbox):
    ds = open_dataset(pushbox)
    train = ClipDataset(pushbox, 5, split="train", heldout_fraction=0.25, extra_keys=("state", "rewards"))
    held = ClipDataset(pushbox, 5, split="heldout", heldout_fraction=0.25)
    assert set(train.episode_ids).isdisjoint(held.episode_ids) and len(held.episode_ids) == 1
    assert len(train) == 3 * (13 - 5 + 1) and train.action_dim == 2 and train.frame_shape == (16, 16, 3)
    item = train[7]
    ep = ds[item["episode"]]
    s = item["start"]
    assert torch.equal(item["frames"], torch.from_numpy(ep.observations["pixels"][s : s + 5]))
    assert torch.equal(item["actions"], torch.from_numpy(ep.actions[s : s + 4].astype(np.float32)))
    assert item["state"].shape == (5, 10) and item["rewards"].shape == (4,)
    batch = next(iter(clip_loader(train, batch_size=4)))
    assert batch["frames"].shape == (4, 5, 16, 16, 3) and batch["frames"].dtype == torch.uint8
    assert batch["actions"].shape == (4, 4, 2)
    with pytest.raises(ValueError, match="no clip of 14 frames"):
        ClipDataset(pushbox, 14)
    with pytest.raises(ValueError, match="clip_len"):
        ClipDataset(pushbox, 1)
    with pytest.raises(ValueError, match="split"):
        ClipDataset(pushbox, 4, split="test")


def test_record_command(tmp_path, capsys):
    out = str(tmp_path / "cli")
    assert main(["record", "PushBox", "--episodes", "2", "--steps", "3", "--size", "8", "--policy", "smooth",
                 "--out", out]) == 0  # fmt: skip
    assert open_dataset(out).total_episodes == 2 and dataset_path(out) == tmp_path / "cli"
    assert main(["record", "PushBox", "--episodes", "2", "--steps", "3", "--size", "8", "--out", out]) == 2
    assert "already exists" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["record", "PushBox", "--episodes", "0", "--steps", "3", "--out", out])


def test_record_to_a_relative_directory(tmp_path, monkeypatch):
    """A relative output directory (as `worldsim record ... --out outputs/x` gives) is written and loads back."""
    monkeypatch.chdir(tmp_path)
    path = record("PushBox", 2, 3, "rel/pushbox", size=16, progress=False)
    assert path == tmp_path / "rel" / "pushbox"
    assert open_dataset("rel/pushbox").total_episodes == 2
