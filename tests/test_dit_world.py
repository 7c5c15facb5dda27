"""The DiT world model: learning a toy action-driven motion (better than copy-last-frame), and the pipeline on a
tiny recorded dataset: `worldsim train dit` (true and latent actions, physics conditioning, resume), `load` and
the inference interface, bounded rollout windows, video prediction, DreamEnv under check_env, and `worldsim eval`
of a DiT beside a Genie model."""

import functools
import json

import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import worldsim  # noqa: F401  (registers worldsim/Dream-v0)
from worldsim.cli import main
from worldsim.data import record
from worldsim.metrics import psnr
from worldsim.models import DiTWorldModel, DreamEnv, load, train_dit, train_part
from worldsim.models.dit import DiTConfig, VideoDiT
from worldsim.models.dit_world import _dit_step, physics_image
from worldsim.models.evaluate import compare, evaluate, format_comparison

TINY = {"patch": 8, "dim": 32, "depth": 1, "heads": 2, "max_frames": 3}


def _square_clips(n: int, gen: torch.Generator, size: int = 16, frames: int = 4):
    """Clips of a 4x4 white square on black that moves 2 px right (action +1) or left (-1) per frame."""
    x = torch.randint(4, size - 8, (n,), generator=gen)
    a = torch.randint(0, 2, (n, frames - 1), generator=gen).float() * 2 - 1
    video = torch.zeros(n, frames, size, size, 3, dtype=torch.uint8)
    for i in range(n):
        pos = int(x[i])
        for t in range(frames):
            if t:
                pos = max(0, min(size - 4, pos + 2 * int(a[i, t - 1])))
            video[i, t, 6:10, pos : pos + 4] = 255
    return video, a[..., None]


def test_learns_an_action_driven_motion_better_than_copying_the_last_frame():
    """A small DiT trained with the diffusion-forcing loss predicts where the square moves: the one-step rollout
    beats copy-last-frame by a wide margin, and random actions do worse than the true ones (controllability)."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    cfg = DiTConfig(image_size=16, channels=3, cond_channels=3, patch=4, dim=64, depth=2, heads=4, max_frames=3,
                    action_dim=1, action_dropout=0.1, prediction="data")  # fmt: skip
    net = VideoDiT(cfg)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3)
    step = functools.partial(_dit_step, condition=None, clean_context=0.5)
    for _ in range(250):
        frames, actions = _square_clips(32, gen)
        loss, _ = step(net, {"frames": frames, "actions": actions})
        opt.zero_grad()
        loss.backward()
        opt.step()
    model = DiTWorldModel(net, None, {"action_space": [[-1.0], [1.0]], "dt": 0.1})
    frames, actions = _square_clips(64, gen)
    g = torch.Generator().manual_seed(1)
    pred = model.rollout(frames[:, :2], actions[:, 1:2], past_actions=actions[:, :1], generator=g, steps=4)
    target = frames[:, 2]
    model_psnr, copy_psnr = psnr(pred[:, 0], target).mean(), psnr(frames[:, 1], target).mean()
    wrong = model.rollout(frames[:, :2], -actions[:, 1:2], past_actions=actions[:, :1], generator=g, steps=4)
    assert model_psnr > copy_psnr + 6.0, (float(model_psnr), float(copy_psnr))
    assert psnr(wrong[:, 0], target).mean() < model_psnr - 6.0


def test_physics_images():
    depth = torch.tensor([[0.0, 1.0, 3.0]])
    assert torch.allclose(physics_image("depth", depth)[..., 0], torch.tensor([[-1.0, 0.0, -0.5]]))
    ids = torch.tensor([[-1, 0, 1, 1]])
    colors = physics_image("body_id", ids)
    assert colors.shape == (1, 4, 3) and torch.equal(colors[0, 0], torch.zeros(3))
    assert torch.equal(colors[0, 2], colors[0, 3]) and not torch.equal(colors[0, 1], colors[0, 2])
    assert physics_image(None, ids) is None
    with pytest.raises(ValueError, match="condition must be"):
        physics_image("normals", ids)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """PushBox, 8 episodes x 10 steps at 32x32; DiTs with true and latent actions and one conditioned on depth,
    a few steps each, and a Genie model to compare with."""
    root = tmp_path_factory.mktemp("dit")
    data = str(root / "pushbox")
    record("PushBox", 8, 10, data, policy="smooth", size=32, progress=False)
    kw = {"network": TINY, "batch_size": 4, "progress": False}
    train_dit(data, root / "true", steps=3, actions="true", **kw)
    train_dit(data, root / "latent", steps=4, actions="latent", **kw)
    train_dit(data, root / "depth", steps=2, actions="true", condition="depth", **kw)
    train_part("tokenizer", data, root / "genie", steps=2, progress=False)
    train_part("dynamics", data, root / "genie", steps=2, actions="true", progress=False)
    return data, root


def test_trained_dit_and_interface(trained):
    data, root = trained
    meta = json.loads((root / "true" / "dit.json").read_text())
    assert meta["kind"] == "dit" and meta["actions"] == "true" and meta["task"] == "PushBox"
    assert (root / "true" / "dit" / "checkpoint.pt").is_file() and (root / "true" / "dit" / "tb").is_dir()
    model = load(root / "true")
    assert isinstance(model, DiTWorldModel) and model.action_mode == "true" and model.context_window == 4
    ctx = torch.randint(0, 256, (2, 2, 32, 32, 3), dtype=torch.uint8)
    out = model.rollout(ctx, torch.zeros(2, 3, 2), past_actions=torch.zeros(2, 1, 2))
    assert out.shape == (2, 3, 32, 32, 3) and out.dtype == torch.uint8
    for kw in ({"sampler": "heun", "steps": 1}, {"guidance": 2.0}, {"context_level": 0.9}):
        assert model.rollout(ctx[:, :1], torch.zeros(2, 1, 2), **kw).shape == (2, 1, 32, 32, 3)
    with pytest.raises(ValueError, match="float actions"):
        model.rollout(ctx[:, :1], torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="past_actions"):
        model.rollout(ctx, torch.zeros(2, 3, 2))
    with pytest.raises(ValueError, match="uint8"):
        model.rollout(ctx.float(), torch.zeros(2, 3, 2))
    with pytest.raises(ValueError, match="sampler must be"):
        model.rollout(ctx[:, :1], torch.zeros(2, 1, 2), sampler="rk4")
    with pytest.raises(ValueError, match="no latent action model"):
        model.infer_actions(ctx)

    latent = load(root / "latent")
    assert latent.action_mode == "latent" and latent.num_actions == 8 and latent.lam is not None
    assert not (root / "latent" / "genie.json").exists()  # its LAM is a part of the DiT model
    assert latent.rollout(ctx, torch.tensor([[0, 1, 2], [3, 4, 5]])).shape == (2, 3, 32, 32, 3)

    depth = load(root / "depth")
    assert depth.condition == "depth"
    phys = torch.rand(2, 4, 32, 32)
    assert depth.rollout(ctx[:, :1], torch.zeros(2, 3, 2), physics=phys).shape == (2, 3, 32, 32, 3)
    with pytest.raises(ValueError, match="conditioned on depth"):
        depth.rollout(ctx[:, :1], torch.zeros(2, 3, 2))
    with pytest.raises(ValueError, match="no 'normals'|condition must be"):
        train_dit(data, root / "bad", steps=1, condition="normals", progress=False)


def test_long_rollout_keeps_a_bounded_window(trained):
    """T = 3 x the window: the DiT never sees more than ``max_frames`` transitions, and the state stays bounded."""
    _, root = trained
    model = load(root / "true")
    seen = []
    hook = model.dit.register_forward_pre_hook(lambda m, args: seen.append(args[0].shape[1]))
    try:
        T = 3 * model.context_window
        state = model.start(torch.zeros(1, 1, 32, 32, 3, dtype=torch.uint8))
        for _ in range(T):
            _, state = model.step(state, torch.zeros(1, 2))
            assert state["resid"].shape[1] <= model.dit.config.max_frames - 1
            assert state["cond"].shape[1] == state["resid"].shape[1]
    finally:
        hook.remove()
    assert max(seen) == model.dit.config.max_frames


def test_video_prediction_of_several_frames_at_once(trained):
    _, root = trained
    model = load(root / "true")
    ctx = torch.randint(0, 256, (2, 1, 32, 32, 3), dtype=torch.uint8)
    out = model.predict_frames(ctx, torch.zeros(2, 3, 2), generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 3, 32, 32, 3) and out.dtype == torch.uint8
    with pytest.raises(ValueError, match="exceed"):
        model.predict_frames(ctx, torch.zeros(2, 4, 2))


def test_sample_grid_for_tensorboard(trained):
    """Real frames 1..T over the frames generated one step ahead from the real ones before them."""
    from worldsim.models.dit_world import _dit_samples

    _, root = trained
    model = load(root / "true")
    frames = torch.randint(0, 256, (2, 4, 32, 32, 3), dtype=torch.uint8)
    grid = _dit_samples(model.dit, {"frames": frames, "actions": torch.zeros(2, 3, 2)}, condition=None)
    assert grid.shape == (4 * 32, 3 * 32, 3) and grid.dtype == torch.uint8
    assert torch.equal(grid[:32], torch.cat(list(frames[0, 1:]), 1))
    latent = load(root / "latent")
    assert _dit_samples(latent.dit, {"frames": frames, "actions": None}, condition=None, lam=latent.lam).shape == (
        4 * 32, 3 * 32, 3)  # fmt: skip


def test_dream_env_with_a_dit(trained):
    _, root = trained
    env = DreamEnv(root / "true", max_episode_steps=4, sampling_steps=1)
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    for t in range(4):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        assert obs.shape == (32, 32, 3) and obs.dtype == np.uint8 and truncated == (t == 3)
    with pytest.raises(ValueError, match="physics"):
        DreamEnv(root / "depth")


def test_resume_continues_the_step_count(trained, tmp_path):
    data, _ = trained
    kw = {"network": TINY, "batch_size": 4, "progress": False}
    train_dit(data, tmp_path / "m", steps=2, **kw)
    with pytest.raises(FileExistsError):
        train_dit(data, tmp_path / "m", steps=3, **kw)
    train_dit(data, tmp_path / "m", steps=3, resume=True, **kw)
    assert torch.load(tmp_path / "m" / "dit" / "checkpoint.pt", weights_only=False)["step"] == 3


def test_evaluate_and_compare_with_a_genie_model(trained, tmp_path):
    data, root = trained
    res = evaluate(root / "true", data, horizon=3, context=2, max_clips=4)
    for key in ("psnr_1", "copy_last_psnr_1", "delta_t_psnr", "frames_per_second"):
        assert np.isfinite(res[key]), key
    assert "tokenizer_psnr" not in res and res["model"] == "DiTWorldModel"
    assert np.isfinite(evaluate(root / "depth", data, horizon=2, max_clips=2)["psnr_1"])
    both = compare([root / "true", root / "genie"], data, horizon=3, max_clips=4, out=tmp_path / "cmp")
    assert [r["model"] for r in both.values()] == ["DiTWorldModel", "GenieWorldModel"]
    assert (tmp_path / "cmp" / "comparison.json").is_file() and (tmp_path / "cmp" / "psnr_horizon.png").is_file()
    assert (tmp_path / "cmp" / "true" / "eval.json").is_file()
    table = format_comparison(both)
    assert "true" in table and "genie" in table and "frames/s" in table


def test_train_dit_and_eval_commands(trained, tmp_path, capsys):
    data, root = trained
    out = tmp_path / "cli"
    args = ["train", "dit", "--data", data, "--out", str(out), "--steps", "1", "--actions", "true"]
    assert main(args) == 0
    assert main(args) == 2 and "resume" in capsys.readouterr().err
    assert main(["train", "lam", "--data", data, "--out", str(tmp_path / "x"), "--steps", "1",
                 "--condition", "depth"]) == 2  # fmt: skip
    assert "--condition" in capsys.readouterr().err
    cmd = ["eval", str(root / "true"), str(root / "genie"), "--horizon", "2", "--clips", "2", "--out", str(tmp_path)]
    assert main(cmd) == 0
    printed = capsys.readouterr().out
    assert "PSNR@1" in printed and "GenieWorldModel" in printed and "DiTWorldModel" in printed
