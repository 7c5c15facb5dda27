"""World models on the motion suite: the evaluation's plumbing against models whose videos are known (a frozen video
scores PIS 0, the simulator's own future frames score what the simulator scores), a DiT trained on a tiny suite
dataset evaluated through `evaluate` / `worldsim eval`, and bad input."""

import pytest
import torch

from worldsim.data import dataset_info
from worldsim.metrics import record_motion_suite, render_motion_suite
from worldsim.models import load, train_dit
from worldsim.models.evaluate import evaluate, format_table
from worldsim.models.motion_eval import evaluate_motion_suite

CATS = ("free_fall", "pendulum")
FRAMES = 18


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    root = tmp_path_factory.mktemp("motion")
    data = str(root / "suite")
    record_motion_suite(data, 3, FRAMES, categories=CATS, progress=False)
    return data, root


class _Replay:
    """A stand-in world model: ``rollout`` returns either the last context frame repeated (``frozen``) or the
    simulator's own continuation of each clip (looked up by its first frame)."""

    action_mode = "true"

    def __init__(self, data, frozen: bool):
        self.data, self.frozen, self.dt = data, frozen, dataset_info(data)["dt"]
        suite = render_motion_suite(CATS, episodes_per_category=2, frames=FRAMES, seed=1)
        self.videos = torch.cat([c.frames for c in suite.values()])

    def rollout(self, context, actions, *, past_actions=None, generator=None):
        t = actions.shape[1]
        if self.frozen:
            return context[:, -1:].expand(-1, t, -1, -1, -1).clone()
        k = context.shape[1]
        out = []
        for clip in context:
            match = [v for v in self.videos if torch.equal(v[0], clip[0])]
            assert match, "the evaluation's context is not a rendered clip"
            out.append(match[0][k : k + t])
        return torch.stack(out)


def test_replaying_the_simulator_scores_like_the_simulator_and_a_frozen_video_scores_zero(suite):
    data, _ = suite
    replay = evaluate_motion_suite(_Replay(data, frozen=False), data, episodes_per_category=2, context=2)
    assert set(replay["categories"]) == set(CATS) and replay["frames"] == FRAMES
    assert replay["model_pis"] == pytest.approx(replay["simulator_pis"]) and replay["simulator_pis"] > 0.9
    for cat in CATS:  # color segmentation vs the body-id masks: the same sub-pixel offset for both
        r = replay["categories"][cat]
        assert r["model"]["centroid_error"] == pytest.approx(r["simulator"]["centroid_error"])
        assert r["simulator"]["centroid_error"] < 0.2
    frozen = evaluate_motion_suite(_Replay(data, frozen=True), data, episodes_per_category=2, context=2)
    assert frozen["model_pis"] == 0.0 and frozen["model_centroid_error"] > 1.0
    for cat in CATS:
        assert frozen["categories"][cat]["model"]["found_fraction"] == 1.0


def test_a_trained_dit_is_scored_per_category(suite, tmp_path):
    data, root = suite
    net = {"patch": 8, "dim": 32, "depth": 1, "heads": 2, "max_frames": 3}
    train_dit(data, tmp_path / "dit", steps=2, actions="true", network=net, batch_size=4, progress=False)
    model = load(tmp_path / "dit")
    res = evaluate(model, data, horizon=4, context=2, max_clips=2)
    motion = res["motion"]
    for cat in CATS:
        m = motion["categories"][cat]["model"]
        assert 0.0 <= m["pis"] <= 1.0 and 0.0 <= m["found_fraction"] <= 1.0
        assert motion["categories"][cat]["simulator"]["pis"] > 0.9
    assert "motion suite" in format_table(res) and "pendulum" in format_table(res)
    with pytest.raises(ValueError, match="context"):
        evaluate_motion_suite(model, data, context=FRAMES)


def test_rejects_datasets_that_are_not_a_motion_suite(tmp_path):
    from worldsim.data import record

    data = str(tmp_path / "cartpole")
    record("CartPole", 2, 4, data, size=32, progress=False)

    class Stub:
        action_mode = "true"

    with pytest.raises(ValueError, match="not a motion suite"):
        evaluate_motion_suite(Stub(), data)
