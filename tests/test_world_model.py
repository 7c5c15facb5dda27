"""The Genie pipeline end to end on a tiny dataset: `worldsim train` (every part, latent and true actions, resume),
`worldsim.models.load` and the inference interface, `worldsim eval` (JSON, picture), and DreamEnv under
gymnasium's check_env. Learning itself is tested on toy data in test_tokenizer_lam.py and test_dynamics.py."""

import json

import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import worldsim  # noqa: F401  (registers worldsim/Dream-v0)
from worldsim.cli import main
from worldsim.data import record
from worldsim.models import DreamEnv, GenieWorldModel, load, train_part
from worldsim.models.evaluate import evaluate


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """PushBox, 8 episodes x 10 steps at 32x32; a latent-action and a true-action model, a few steps each."""
    root = tmp_path_factory.mktemp("wm")
    data = str(root / "pushbox")
    record("PushBox", 8, 10, data, policy="smooth", size=32, progress=False)
    train_part("genie", data, root / "latent", steps=6, progress=False)
    train_part("tokenizer", data, root / "true", steps=3, progress=False)
    train_part("dynamics", data, root / "true", steps=3, actions="true", progress=False)
    return data, root


def test_trained_parts_and_interface(trained):
    data, root = trained
    for name in ("tokenizer", "lam", "dynamics"):
        assert (root / "latent" / name / "checkpoint.pt").is_file()
        assert (root / "latent" / name / "tb").is_dir()
    meta = json.loads((root / "latent" / "genie.json").read_text())
    assert meta["actions"] == "latent" and meta["task"] == "PushBox"
    model = load(root / "latent")
    assert isinstance(model, GenieWorldModel) and model.action_mode == "latent" and model.num_actions == 8
    ctx = torch.randint(0, 256, (2, 2, 32, 32, 3), dtype=torch.uint8)
    out = model.rollout(ctx, torch.tensor([[0, 1, 2], [3, 4, 5]]))
    assert out.shape == (2, 3, 32, 32, 3) and out.dtype == torch.uint8
    assert model.infer_actions(ctx).shape == (2, 1)
    with pytest.raises(ValueError, match="int actions"):
        model.rollout(ctx, torch.zeros(2, 3, 2))
    with pytest.raises(ValueError, match="uint8"):
        model.rollout(ctx.float(), torch.zeros(2, 3, dtype=torch.long))

    true = load(root / "true")
    assert true.action_mode == "true" and true.lam is None
    out = true.rollout(ctx[:, :1], torch.zeros(2, 4, 2))
    assert out.shape == (2, 4, 32, 32, 3)
    with pytest.raises(ValueError, match="no latent action model"):
        true.infer_actions(ctx)


def test_long_rollout_keeps_a_bounded_window(trained):
    """T = 3 x the context window: no block of the dynamics model ever attends over more than the window (frames
    run now + frames in its KV cache), and the rollout state stays bounded."""
    _, root = trained
    model = load(root / "latent")
    seen = []

    def record(module, args, kwargs):
        past = kwargs.get("past_kv")
        seen.append(args[0].shape[1] + (0 if past is None else past[0].shape[2]))

    hook = model.dynamics.blocks[0].register_forward_pre_hook(record, with_kwargs=True)
    try:
        T = 3 * model.context_window
        out = model.rollout(torch.zeros(1, 1, 32, 32, 3, dtype=torch.uint8), torch.zeros(1, T, dtype=torch.long))
        state = model.start(torch.zeros(1, 1, 32, 32, 3, dtype=torch.uint8))
        for _ in range(T):
            _, state = model.step(state, torch.zeros(1, dtype=torch.long))
            assert state["tokens"].shape[1] <= model.context_window
            assert all(k.shape[2] == state["tokens"].shape[1] for k, _ in state["cache"])
    finally:
        hook.remove()
    assert out.shape[1] == T
    assert len(seen) >= T and max(seen) == model.context_window


def test_dream_env_passes_check_env_for_both_action_kinds(trained):
    _, root = trained
    for kind, space in (("latent", "Discrete"), ("true", "Box")):
        env = DreamEnv(root / kind, max_episode_steps=5)
        assert type(env.action_space).__name__ == space
        check_env(env, skip_render_check=True)
        obs, _ = env.reset(seed=0)
        assert obs.shape == (32, 32, 3) and obs.dtype == np.uint8
        for t in range(5):
            obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            assert reward == 0.0 and not terminated and truncated == (t == 4)
    env = gymnasium_make(root / "latent")
    frames = np.zeros((1, 32, 32, 3), np.uint8)
    obs, _ = env.reset(options={"frames": frames})
    assert np.array_equal(obs, frames[0]) and env.render().shape == (32, 32, 3)
    with pytest.raises(ValueError, match="not in the action space"):
        env.step(99)
    with pytest.raises(ValueError, match="uint8"):
        env.reset(options={"frames": np.zeros((1, 8, 8, 3))})


def gymnasium_make(path):
    import gymnasium

    return gymnasium.make("worldsim/Dream-v0", model=str(path), render_mode="rgb_array").unwrapped


def test_evaluation_writes_finite_numbers_and_a_picture(trained):
    data, root = trained
    res = evaluate(root / "latent", data, horizon=3, max_clips=4)
    for key in ("tokenizer_psnr", "psnr_1", "copy_last_psnr_1", "delta_t_psnr", "nmi_true_actions"):
        assert np.isfinite(res[key]), key
    # the linear probe needs >= 10 transitions (fit + held-out part); below that it is reported as missing
    n = res["clips"] * res["horizon"]
    assert (res["probe_r2"] is None) if n < 10 else np.isfinite(res["probe_r2"])
    assert len(res["psnr_per_step"]) == 3 and 0 <= res["latent_codes"]["usage"] <= 1
    saved = json.loads((root / "latent" / "eval" / "eval.json").read_text())
    assert saved["psnr_per_step"] == res["psnr_per_step"]
    import imageio.v3 as iio

    grid = iio.imread(root / "latent" / "eval" / "rollouts.png")
    assert grid.shape[2] == 3 and grid.shape[0] >= 2 * 32 and grid.std() > 0
    assert len(res["random_action_psnr_per_step"]) == 3
    plot = iio.imread(root / "latent" / "eval" / "psnr_horizon.png")[..., :3]
    assert plot.shape[:2] == (400, 600) and (plot < 128).any(axis=-1).mean() > 0.01  # axes, lines and labels drawn
    res = evaluate(root / "true", data, horizon=3, context=2, max_clips=4, out=root / "true_eval")
    assert np.isfinite(res["psnr_1"]) and np.isfinite(res["delta_t_psnr"])  # random actions from the action box
    assert (root / "true_eval" / "psnr_horizon.png").is_file()


def test_train_and_eval_commands(trained, tmp_path, capsys):
    data, root = trained
    out = tmp_path / "cli"
    assert main(["train", "tokenizer", "--data", data, "--out", str(out), "--steps", "2"]) == 0
    assert main(["train", "tokenizer", "--data", data, "--out", str(out), "--steps", "2"]) == 2  # exists
    assert "resume" in capsys.readouterr().err
    assert main(["train", "tokenizer", "--data", data, "--out", str(out), "--steps", "3", "--resume"]) == 0
    assert torch.load(out / "tokenizer" / "checkpoint.pt", weights_only=False)["step"] == 3
    assert main(["train", "dynamics", "--data", data, "--out", str(tmp_path / "none"), "--steps", "2"]) == 2
    assert "no trained tokenizer" in capsys.readouterr().err
    assert main(["eval", str(root / "latent"), "--horizon", "2", "--clips", "2", "--out", str(tmp_path / "e")]) == 0
    assert "tokenizer PSNR" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["train", "tokenizer", "--data", data, "--out", str(out)])  # neither --steps nor --minutes


def test_sample_grids_for_tensorboard(trained):
    """The LAM's grid is real frames over its predictions; the dynamics grid is the decoded real clip over the same
    clip with only its last frame generated."""
    from worldsim.models.genie import _dynamics_samples, _lam_samples
    from worldsim.models.tokenizer import to_uint8

    _, root = trained
    model = load(root / "latent")
    frames = torch.randint(0, 256, (2, 4, 32, 32, 3), dtype=torch.uint8)
    grid = _lam_samples(model.lam, {"frames": frames})
    assert grid.shape == (4 * 32, 3 * 32, 3) and grid.dtype == torch.uint8
    assert torch.equal(grid[:32], torch.cat(list(frames[0, 1:]), 1))  # row 1: the real next frames of clip 0

    h, w = model.tokenizer.token_shape
    tokens = model.tokenizer.encode(frames.flatten(0, 1)).view(2, 4, h, w)
    batch = {"tokens": tokens, "actions": model.infer_actions(frames)}
    grid = _dynamics_samples(model.tokenizer, model.dynamics, batch)
    assert grid.shape == (4 * 32, 4 * 32, 3) and grid.dtype == torch.uint8
    real = torch.cat(list(to_uint8(model.tokenizer.decode(tokens[0]))), 1)
    assert torch.equal(grid[:32], real)
    assert torch.equal(grid[32:64, : 3 * 32], real[:, : 3 * 32])  # the context frames are the real ones
