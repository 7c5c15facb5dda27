"""The motion suite: every category renders with its body in view and segmentable by color, the simulator's own
videos score a high Physical Invariance Score that noise and shuffled frames lower, the ground truth agrees with
the closed forms (g and μg times the camera's scale, constant velocities, the pendulum's length, the damped
oscillator's decay ratio), vanished or frozen bodies score 0, bad input raises, and the recorded dataset loads
back through the world-model data pipeline."""

import math

import numpy as np
import pytest
import torch
from gymnasium import spaces

from worldsim.data import ClipDataset, dataset_info, dataset_path, open_dataset
from worldsim.metrics import (
    MOTION_CATEGORIES,
    MOTION_SCENES,
    color_mask,
    evaluate_motion,
    finite_difference,
    mask_centroids,
    motion_invariants,
    motion_pis,
    record_motion_suite,
    render_motion_suite,
)
from worldsim.metrics.motion_suite import BACKGROUND, _local_derivative

E, T = 4, 22  # episodes per category and frames (0.84 s at 25 fps): enough for every invariant, quick on a CPU
G = 9.81


@pytest.fixture(scope="module")
def suite(one_torch_thread):
    return render_motion_suite(episodes_per_category=E, frames=T, seed=0)


def _iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a & b).sum((-2, -1)).double() / (a | b).sum((-2, -1)).double()


def test_every_category_renders_its_body_in_view_and_segmentable_by_color(suite):
    assert tuple(suite) == MOTION_CATEGORIES and len(MOTION_CATEGORIES) == 8
    colors = torch.tensor([suite[c].color for c in MOTION_CATEGORIES], dtype=torch.float64)
    assert torch.cdist(colors, colors).add(torch.eye(8) * 1e9).min() > 90  # distinct colors (0-255 RGB)
    background = torch.tensor(BACKGROUND, dtype=torch.float64) * 255
    for c, clips in suite.items():
        assert clips.frames.shape == (E, T, 64, 64, 3) and clips.frames.dtype == torch.uint8
        assert clips.body_masks.shape == (E, T, 64, 64) and clips.body_masks.dtype == torch.bool
        assert clips.body_id.dtype == torch.int16 and clips.dt == pytest.approx(0.04)
        assert clips.qpos.shape[:2] == (E, T) and clips.body_pose.shape == (E, T, 7)
        masks = clips.body_masks
        assert masks.any(-1).any(-1).all(), f"{c}: the body is missing from a frame"
        border = masks[..., :2, :].any() | masks[..., -2:, :].any() | masks[..., :, :2].any() | masks[..., :, -2:].any()
        assert not border, f"{c}: the body reaches the image border"
        width, height = masks.any(-2).sum(-1), masks.any(-1).sum(-1)
        assert 6 <= int(width.min()) and int(width.max()) <= 14 and 6 <= int(height.min()) and int(height.max()) <= 14
        rgba = torch.tensor(MOTION_SCENES[c].rgba[:3], dtype=torch.float64) * 255
        assert (torch.tensor(clips.color, dtype=torch.float64) - rgba).abs().max() <= 3  # no shading
        assert (torch.tensor(clips.color, dtype=torch.float64) - background).norm() > 150  # contrasts
        iou = _iou(color_mask(clips.frames, clips.color, 100.0), masks)
        assert float(iou.min()) > 0.8, f"{c}: color segmentation IoU {float(iou.min()):.2f}"
        moved = (clips.centroids - clips.centroids[:, :1]).norm(dim=-1).amax(-1)
        assert float(moved.min()) > 5.0, f"{c}: the body hardly moves"
        assert not torch.equal(clips.frames[0], clips.frames[1])  # episodes differ


def test_simulator_videos_score_high_pis(suite):
    """The upper reference: PIS of the simulator's videos from its body-id masks and from color segmentation."""
    for c, clips in suite.items():
        truth = motion_pis(c, clips.centroids, clips.dt)
        result = evaluate_motion(clips.frames, c, clips.color, clips.dt, reference_masks=clips.body_masks)
        print(f"{c}: PIS {float(truth.mean()):.3f} (masks), {result['pis']:.3f} (color); centroid error "
              f"{result['centroid_error']:.2f} px")  # fmt: skip
        assert truth.shape == (E,) and float(truth.mean()) >= 0.9 and float(truth.min()) >= 0.85, (c, truth)
        assert result["pis"] >= 0.9 and result["found_fraction"] == 1.0, (c, result)
        assert result["centroid_error"] < 0.5 and result["area_drift"] < 0.3
        assert result["centroid_error_per_step"].shape == (T,)


def test_pis_falls_with_noise_and_with_shuffled_frames(suite):
    gen = torch.Generator().manual_seed(0)
    order = torch.randperm(T, generator=gen)
    ran = 0
    for c, clips in suite.items():
        cen = clips.centroids
        clean = float(motion_pis(c, cen, clips.dt).mean())
        noisy = float(
            motion_pis(c, cen + 1.5 * torch.randn(cen.shape, generator=gen, dtype=cen.dtype), clips.dt).mean()
        )
        shuffled = float(motion_pis(c, cen[:, order], clips.dt).mean())
        assert noisy < clean - 0.02, (c, clean, noisy)
        if c == "pendulum":  # the radius is measured frame by frame: blind to the order of the frames
            assert shuffled == pytest.approx(clean)
        else:
            assert shuffled < clean - 0.1, (c, clean, shuffled)
        ran += 1
    assert ran == 8


def test_ground_truth_matches_closed_forms(suite):
    """Image-plane kinematics against the scene's physics and the camera's scale s [px/m] (the motion plane faces
    the camera, so the projection is s times the world motion): within a few percent of the centroid track."""

    def mean(category, name):
        v = motion_invariants(category, suite[category].centroids, 0.04)[name]
        return v.nanmean(-1)  # [E]

    s = {c: MOTION_SCENES[c].scene_info()["pixels_per_meter"] for c in MOTION_CATEGORIES}
    torch.testing.assert_close(mean("free_fall", "a_y"), torch.full((E,), G * s["free_fall"], dtype=torch.float64),
                               rtol=0.03, atol=0)  # fmt: skip
    torch.testing.assert_close(mean("bouncing", "a_y"), torch.full((E,), G * s["bouncing"], dtype=torch.float64),
                               rtol=0.05, atol=0)  # fmt: skip
    uv = suite["uniform_velocity"]
    assert torch.equal(uv.qvel[:, :1].expand_as(uv.qvel), uv.qvel)  # frictionless: the velocity never changes
    torch.testing.assert_close(mean("uniform_velocity", "v_x"), uv.qvel[:, 0, 0].double() * s["uniform_velocity"],
                               rtol=0.03, atol=0)  # fmt: skip
    par = suite["parabolic"]
    torch.testing.assert_close(mean("parabolic", "v_x"), par.qvel[:, 0, 0].double() * s["parabolic"], rtol=0.03,
                               atol=0)  # fmt: skip
    torch.testing.assert_close(mean("parabolic", "a_y"), torch.full((E,), G * s["parabolic"], dtype=torch.float64),
                               rtol=0.03, atol=0)  # fmt: skip
    sf = suite["sliding_friction"]
    mu = sf.params["geom_friction"][:, 0, 0].double()
    assert (sf.qvel[:, -1, 0] * sf.qvel[:, 0, 0] > 0).all()  # still sliding at the end of the clip
    expected = -torch.sign(sf.qvel[:, 0, 0].double()) * mu * G * s["sliding_friction"]
    # the box's centre seen by the camera decelerates at μ g s to 1 % (the simulator's contact friction and the
    # camera's scale); its mask's centroid, whose x moves in ~0.2 px steps as pixel columns of the box's upright
    # edges flip, to 10 % over 0.84 s
    centre = MOTION_SCENES["sliding_friction"].camera.project(sf.body_pose[..., :3].double(), 64)
    torch.testing.assert_close(_local_derivative(centre, 0.04, 2, 0.28)[..., 0].mean(-1), expected, rtol=0.01, atol=0)
    torch.testing.assert_close(mean("sliding_friction", "a_x"), expected, rtol=0.1, atol=0)
    torch.testing.assert_close(mean("pendulum", "radius"), torch.full((E,), 1.0 * s["pendulum"], dtype=torch.float64),
                               rtol=0.03, atol=0)  # fmt: skip
    rot = suite["rotation"]
    torch.testing.assert_close(mean("rotation", "omega").abs(), rot.qvel[:, 0, 0].double().abs(), rtol=0.03, atol=0)
    do = suite["damped_oscillation"]
    k = (2 * math.pi * 2.5) ** 2  # the spring's stiffness for 2.5 Hz with 1 kg
    zeta = do.params["dof_damping"][:, 0].double() / (2 * math.sqrt(k))
    ratio = torch.exp(-zeta * math.pi / torch.sqrt(1 - zeta**2))
    torch.testing.assert_close(mean("damped_oscillation", "decay_ratio"), ratio, rtol=0.04, atol=0)


def test_wide_windows_are_exact_on_a_parabola_and_central_differences_at_one_frame():
    dt = 0.04
    t = torch.arange(20, dtype=torch.float64) * dt
    x = torch.stack([3.0 + 2.0 * t - 4.9 * t**2, 1.0 - t], -1)[None]  # [1, 20, 2]
    a = _local_derivative(x, dt, 2, 0.28)  # ±7 frames
    assert a.shape == (1, 6, 2)
    torch.testing.assert_close(a, torch.tensor([-9.8, 0.0], dtype=torch.float64).expand(1, 6, 2))
    v = _local_derivative(x, dt, 1, 0.2)
    torch.testing.assert_close(v[0, :, 0], 2.0 - 9.8 * t[5:15])
    noisy = x + 0.01 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1), dtype=x.dtype)
    for order in (1, 2):
        torch.testing.assert_close(_local_derivative(noisy, dt, order, dt), finite_difference(noisy, dt, order))


def test_vanished_and_frozen_bodies_score_zero(suite):
    clips = suite["free_fall"]
    frames = clips.frames.clone()
    frames[1, 7] = torch.tensor([int(v * 255) for v in BACKGROUND], dtype=torch.uint8)  # the body vanishes
    frames[2] = frames[2, :1].expand(T, -1, -1, -1)  # a frozen video
    result = evaluate_motion(frames, "free_fall", clips.color, clips.dt, reference_masks=clips.body_masks)
    pis = result["pis_per_video"]
    assert float(pis[0]) > 0.9 and float(pis[3]) > 0.9 and float(pis[1]) == 0.0 and float(pis[2]) == 0.0
    assert result["found_fraction"] == pytest.approx(1 - 1 / (E * T))
    assert math.isfinite(result["centroid_error"])  # over the frames where both centroids exist
    nan = clips.centroids.clone()
    nan[0, 3] = float("nan")
    assert float(motion_pis("free_fall", nan, 0.04)[0]) == 0.0
    empty = evaluate_motion(torch.zeros(1, T, 64, 64, 3, dtype=torch.uint8), "free_fall", clips.color, 0.04)
    assert empty["pis"] == 0.0 and empty["found_fraction"] == 0.0 and math.isnan(empty["area_drift"])


def test_bad_input_raises(suite):
    clips = suite["pendulum"]
    with pytest.raises(ValueError, match="unknown motion category 'juggling'"):
        render_motion_suite("juggling")
    with pytest.raises(ValueError, match="unknown motion category"):
        motion_pis("juggling", clips.centroids, 0.04)
    with pytest.raises(ValueError, match="episodes_per_category must be a positive integer"):
        render_motion_suite("pendulum", episodes_per_category=0)
    with pytest.raises(ValueError, match="frames must be at least 18"):
        render_motion_suite("pendulum", frames=10)
    with pytest.raises(ValueError, match="longer than the 1.28 s"):
        render_motion_suite("pendulum", frames=40)
    with pytest.raises(ValueError, match="multiple of the physics timestep"):
        render_motion_suite("pendulum", frames=18, dt=0.041, episodes_per_category=1)
    with pytest.raises(ValueError, match="duplicates"):
        render_motion_suite(["pendulum", "pendulum"])
    with pytest.raises(ValueError, match=r"frames must be uint8 \[E, T, H, W, 3\]"):
        evaluate_motion(clips.frames.float(), "pendulum", clips.color, 0.04)
    with pytest.raises(ValueError, match=r"frames must be uint8 \[E, T, H, W, 3\]"):
        evaluate_motion(clips.frames[0], "pendulum", clips.color, 0.04)
    with pytest.raises(ValueError, match="reference_masks must be bool"):
        evaluate_motion(clips.frames, "pendulum", clips.color, 0.04, reference_masks=clips.body_masks[:, :3])
    with pytest.raises(ValueError, match=r"centroids must be a floating tensor \[..., T, 2\]"):
        motion_invariants("pendulum", clips.centroids[..., 0], 0.04)
    with pytest.raises(ValueError, match="centroids need at least 16 frames"):
        motion_invariants("free_fall", clips.centroids[:, :10], 0.04)
    with pytest.raises(ValueError, match="dt must be a positive number"):
        motion_pis("pendulum", clips.centroids, 0.0)


def test_recorded_suite_round_trips_through_the_data_pipeline(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    cats, n, frames = ("free_fall", "pendulum"), 2, 18
    with pytest.raises(ValueError, match="unknown motion category"):
        record_motion_suite("motion-v0", n, frames, categories=("free_fall", "juggling"), progress=False)
    assert not dataset_path("motion-v0").exists()  # nothing written for bad input
    out = record_motion_suite("motion-v0", n, frames, categories=cats, seed=5, progress=False)
    assert out == dataset_path("motion-v0") and out.is_dir()

    ds = open_dataset("motion-v0")
    assert ds.total_episodes == 4 and ds.total_steps == 4 * (frames - 1)
    assert ds.action_space == spaces.Box(-1.0, 1.0, (1,), np.float32)
    info = dataset_info("motion-v0")
    assert info["task"] == "MotionSuite" and info["dt"] == pytest.approx(0.04) and info["size"] == 64
    assert info["categories"] == list(cats) and info["episode_categories"] == ["free_fall"] * 2 + ["pendulum"] * 2
    for ep in ds.iterate_episodes():
        category = info["episode_categories"][ep.id]
        obs = ep.observations
        assert obs["pixels"].shape == (frames, 64, 64, 3) and obs["pixels"].dtype == np.uint8
        assert obs["state"].shape == (frames, 7) and obs["depth"].shape == (frames, 64, 64)
        assert obs["body_id"].dtype == np.int16
        assert ep.actions.shape == (frames - 1, 1) and not ep.actions.any() and ep.actions.dtype == np.float32
        assert ep.truncations[-1] and not ep.terminations.any()
        assert (ep.infos["category"] == MOTION_CATEGORIES.index(category)).all()
        body = torch.from_numpy(obs["body_id"].astype(np.int64)) == int(ep.infos["body"][0])
        found = color_mask(torch.from_numpy(obs["pixels"]), info["colors"][category], 100.0)
        assert found.any(-1).any(-1).all() and float(_iou(found, body).min()) > 0.7
        assert not math.isnan(float(mask_centroids(found).sum()))

    clips = ClipDataset("motion-v0", clip_len=8, split="all")
    assert len(clips) == 4 * (frames - 8 + 1) and clips.action_dim == 1 and clips.frame_shape == (64, 64, 3)
    item = clips[0]
    assert item["frames"].shape == (8, 64, 64, 3) and item["actions"].shape == (7, 1)
    held = ClipDataset("motion-v0", clip_len=8, split="heldout", heldout_fraction=0.25)
    assert {info["episode_categories"][i] for i in held.episode_ids} <= set(cats) and len(held.episode_ids) == 1

    before = (out / "worldsim.json").read_text()
    with pytest.raises(FileExistsError, match="already exists"):
        record_motion_suite("motion-v0", n, frames, categories=cats, progress=False)
    assert (out / "worldsim.json").read_text() == before and open_dataset("motion-v0").total_episodes == 4
