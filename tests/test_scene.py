"""SplatScene: splats bound to bodies, rendered from qpos; cameras; PLY; Open3D meshes."""

import numpy as np
import open3d as o3d
import pytest
import torch

import worldsim
from worldsim.physics.gradcheck import autodiff, finite_difference
from worldsim.renderers import SplatScene, body_poses, intrinsics, look_at, model_cameras, rasterize_reference

W, H = 64, 48


@pytest.fixture
def ball_scene(asset):
    model = worldsim.load_mjcf(asset("ball.xml"), num_worlds=2)
    return model, SplatScene.from_model(model, density=3000, ground_density=300)


def test_render_shapes_body_ids_and_depth(ball_scene):
    model, scene = ball_scene
    qpos, _ = model.default_state()
    qpos[1, 0] = 0.3  # world 1: the ball moved right
    views = torch.stack([look_at((0, -2, 0.5), (0, 0, 0.5)), look_at((2, 0, 1.0), (0, 0, 0.3))])
    Ks = torch.stack([intrinsics(50, W, H)] * 2)
    out = scene.render(qpos, views, Ks, W, H)
    assert out.rgb.shape == (2, 2, H, W, 3) and out.alpha.shape == (2, 2, H, W, 1)
    assert out.depth.shape == (2, 2, H, W, 1) and out.body_id.shape == (2, 2, H, W)
    # camera 0 looks straight at the ball of world 0: centre pixel is the ball, 2 m - radius away
    assert out.body_id[0, 0, H // 2, W // 2] == 1
    assert out.depth[0, 0, H // 2, W // 2, 0].item() == pytest.approx(1.9, abs=0.02)
    assert out.body_id[0, 0, 0, 0] == -1 and out.alpha[0, 0, 0, 0, 0] < 0.01  # sky above the horizon
    assert out.body_id[0, 0, -1, W // 2] == 0  # the floor below
    # the ball moved right in world 1: its pixels' mean column moves right in camera 0
    cols = [torch.nonzero(out.body_id[w, 0] == 1)[:, 1].float().mean() for w in range(2)]
    assert cols[1] > cols[0] + 5
    assert torch.isfinite(out.rgb).all() and out.rgb.min() >= 0


@pytest.mark.parametrize("task", ["HalfCheetah", "Ant"])
def test_render_without_gradients_matches_the_differentiable_path(task, monkeypatch):
    """Without gradients, render runs every stage in Warp (worldsim.renderers.batched), cameras split over threads:
    the same images as the torch-projected, differentiable path, with several cameras per world (one behind the
    scene, whose splats are all culled), per-world colors and backgrounds, and 3 threads for 3 worlds x 2 cameras."""
    from worldsim.envs.tasks import TASKS

    monkeypatch.setenv("WORLDSIM_NUM_THREADS", "3")
    t = TASKS[task](3, "cpu", fused_step=False)
    g = torch.Generator().manual_seed(0)
    qpos, _ = t.sample_reset(3, g)
    qpos[:, 0] += torch.tensor([0.0, 5.0, -40.0])  # far from the origin too
    scene = SplatScene.from_model(t.model, density=800, ground_density=100)
    target = torch.stack([qpos[:, 0], torch.zeros(3), torch.full((3,), 0.4)], dim=-1)
    views = torch.stack([look_at(target + torch.tensor([0.3, -3.0, 1.0]), target),
                         look_at(target + torch.tensor([0.0, 30.0, 0.5]), target + torch.tensor([0.0, 60.0, 0.5]))],
                        dim=1)  # fmt: skip
    Ks = intrinsics(torch.tensor([[45.0, 60.0]] * 3), W, H)
    backgrounds = torch.rand(3, 2, 3, generator=g)
    colors = (scene.colors[None] * (0.5 + torch.rand(3, 1, 3, generator=g))).clamp(0, 1)
    with torch.no_grad():
        fast = scene.render(qpos, views, Ks, W, H, backgrounds=backgrounds, colors=colors)
    slow = scene.render(qpos.requires_grad_(True), views, Ks, W, H, backgrounds=backgrounds, colors=colors)
    assert fast.alpha[:, 0].mean() > 0.2 and fast.alpha[:, 1].max() == 0.0  # the robot in view; nothing behind
    torch.testing.assert_close(fast.rgb, slow.rgb.detach(), atol=1e-5, rtol=0)
    torch.testing.assert_close(fast.alpha, slow.alpha.detach(), atol=1e-5, rtol=0)
    torch.testing.assert_close(fast.depth, slow.depth.detach(), atol=1e-3, rtol=1e-4)
    assert (fast.body_id == slow.body_id).float().mean() > 0.999
    with torch.no_grad():
        rgb_only = scene.render(qpos, views, Ks, W, H, backgrounds=backgrounds, colors=colors, rgb_only=True)
    assert torch.equal(rgb_only.rgb, fast.rgb) and rgb_only.depth is None and rgb_only.body_id is None


def test_batched_cameras_match_single_ones():
    g = torch.Generator().manual_seed(1)
    eyes, targets = torch.randn(5, 3, generator=g) * 3, torch.randn(5, 3, generator=g)
    batched = look_at(eyes, targets)
    assert batched.shape == (5, 4, 4)
    for i in range(5):
        torch.testing.assert_close(batched[i], look_at(eyes[i].tolist(), targets[i].tolist()))
    Ks = intrinsics(torch.tensor([30.0, 45.0, 90.0]), W, H)
    for i, fov in enumerate((30.0, 45.0, 90.0)):
        torch.testing.assert_close(Ks[i], intrinsics(fov, W, H))
    assert intrinsics(90.0, W, H)[0, 0].item() == pytest.approx(H / 2)
    with pytest.raises(ValueError, match="eye and target coincide"):
        look_at(eyes, torch.cat([targets[:4], eyes[4:]]))
    with pytest.raises(ValueError, match=r"fov_y must be in \(0, 180\)"):
        intrinsics(torch.tensor([45.0, 180.0]), W, H)


def test_body_poses_gradient_matches_finite_differences(asset):
    model = worldsim.load_mjcf(asset("tumbling.xml"))  # free body, ball and slide joints
    qpos0, _ = model.default_state()
    g = torch.Generator().manual_seed(0)
    w_pos, w_quat = torch.randn(1, model.nbody, 3, generator=g), torch.randn(1, model.nbody, 4, generator=g)

    def loss(q):
        pos, quat = body_poses(model, q)
        return (pos * w_pos).sum() + (quat * w_quat).sum()

    idx = list(range(model.nq))
    np.testing.assert_allclose(autodiff(loss, qpos0, idx), finite_difference(loss, qpos0, 1e-3, idx), atol=2e-3)


def test_body_poses_gradient_of_several_calls_before_backward(asset):
    """Poses of several configurations (frames of a trajectory) in one graph: each call's gradient is its own,
    not the last call's (the kinematics workspace is shared by every call; backward used to see the last
    forward's values: a 14% error on Reacher's distance cost)."""
    model = worldsim.load_mjcf(asset("tumbling.xml"))
    qpos0, _ = model.default_state()
    g = torch.Generator().manual_seed(1)
    offsets = [0.3 * torch.randn(1, model.nq, generator=g) for _ in range(3)]
    w = torch.randn(3, model.nbody, 3, generator=g)

    def loss(q):
        return sum((body_poses(model, q + d)[0][0] * w[i]).sin().sum() for i, d in enumerate(offsets))

    idx = list(range(model.nq))
    np.testing.assert_allclose(autodiff(loss, qpos0, idx), finite_difference(loss, qpos0, 1e-3, idx), atol=2e-3)


def test_pixel_loss_gradient_reaches_qpos(asset):
    """d(pixel loss)/d qpos through SplatScene.render equals the same chain through the torch reference
    rasterizer (world splats from body_poses, then rasterize_reference). Finite differences of whole renders
    are dominated by the rasterizer's alpha and tile cut-offs, which the rasterizer tests isolate."""
    model = worldsim.load_mjcf(asset("tumbling.xml"))
    g = torch.Generator().manual_seed(0)
    n = 12
    scene = SplatScene(model, torch.arange(n) % 3 + 1, torch.randn(n, 3, generator=g) * 0.05,
                       torch.randn(n, 4, generator=g), torch.full((n, 3), 0.05), torch.full((n,), 0.6),
                       torch.rand(n, 3, generator=g))  # fmt: skip
    views = look_at((0.1, -2.0, 1.5), (0.1, -0.2, 1.5))[None]
    Ks = intrinsics(40, W, H)[None]
    weights = torch.randn(1, H, W, 3, generator=g)
    qpos0, _ = model.default_state()

    q = qpos0.clone().requires_grad_(True)
    (scene.render(q, views, Ks, W, H).rgb[0] * weights).sum().backward()

    q_ref = qpos0.clone().requires_grad_(True)
    means, quats = scene.world_splats(q_ref)
    rgb, _, _ = rasterize_reference(means[0], quats[0], scene.scales, scene.opacities, scene.colors, views, Ks, W, H)
    (rgb * weights).sum().backward()
    assert q_ref.grad.abs().max() > 1.0
    torch.testing.assert_close(q.grad, q_ref.grad, rtol=1e-3, atol=1e-3 * q_ref.grad.abs().max().item())


def test_model_cameras_fixed_and_attached(asset):
    model = worldsim.load_mjcf(asset("camera_scene.xml"), num_worlds=2)
    qpos = torch.tensor([[0.0], [0.4]], requires_grad=True)
    views, Ks = model_cameras(model, qpos, W, H)
    assert views.shape == (2, 2, 4, 4) and Ks.shape == (2, 3, 3)
    # the world-fixed camera equals look_at from its position along +y; the onboard one follows the cart
    torch.testing.assert_close(views[0, 0], look_at((0, -2, 0.5), (0, 0, 0.5)), atol=1e-5, rtol=0)
    torch.testing.assert_close(views[1, 1], look_at((0.4, -0.5, 0.5), (0.4, 0, 0.5)), atol=1e-5, rtol=0)
    (views[:, 1, 0, 3].sum()).backward()  # the attached camera's translation depends on the slide joint
    assert qpos.grad.abs().sum() > 0
    scene = SplatScene.from_model(model, density=2000, ground_density=300)
    out = scene.render(qpos.detach(), views, Ks, W, H)
    assert out.body_id[0, 0, H // 2, W // 2] == 1  # both cameras see the box in their centre
    assert out.body_id[1, 1, H // 2, W // 2] == 1


def test_ply_round_trip_and_atomic_write(ball_scene, tmp_path):
    model, scene = ball_scene
    path = tmp_path / "splats.ply"
    scene.save_ply(path)
    assert not list(tmp_path.glob("*.tmp-*"))  # written to a temporary file, then renamed
    loaded = SplatScene.load_ply(path, model)
    assert torch.equal(loaded.body, scene.body)
    for name in ("means", "quats", "scales", "opacities", "colors"):
        torch.testing.assert_close(getattr(loaded, name), getattr(scene, name), rtol=1e-5, atol=1e-5, msg=name)
    (tmp_path / "bad.ply").write_bytes(b"not a ply")
    with pytest.raises(ValueError, match="not a PLY file"):
        SplatScene.load_ply(tmp_path / "bad.ply", model)


def test_user_mesh_and_point_cloud(ball_scene, tmp_path):
    model, scene = ball_scene
    box = o3d.geometry.TriangleMesh.create_box(0.2, 0.2, 0.2)
    path = tmp_path / "box.ply"
    o3d.io.write_triangle_mesh(str(path), box)
    with_mesh = scene.add_mesh(path, body=1, num_points=300, color=(0, 0, 1))
    added = with_mesh.num_splats - scene.num_splats
    assert 200 < added < 400 and torch.all(with_mesh.body[-added:] == 1)
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.random.default_rng(0).normal(size=(50, 3))))
    assert scene.add_mesh(cloud).num_splats == scene.num_splats + 50
    with pytest.raises(ValueError, match="body 7 does not exist"):
        scene.add_mesh(cloud, body=7)
    with pytest.raises(FileNotFoundError, match="mesh or point cloud file not found"):
        scene.add_mesh(tmp_path / "missing.obj")


def test_pixel_loss_reaches_controls_through_a_rollout(asset):
    """render(rollout(ctrl)) -> pixel loss -> d loss / d ctrl: the full differentiable pipeline."""
    model = worldsim.load_mjcf(asset("camera_scene.xml"))
    scene = SplatScene.from_model(model, density=2000, ground_density=300)
    scene.colors[scene.body == 1] = torch.tensor([1.0, 0.0, 0.0])
    qpos0, qvel0 = model.default_state()
    ctrl = torch.zeros(50, 1, 0)
    qvel0 = torch.tensor([[0.5]], requires_grad=True)  # push the cart along the slide
    qpos, _ = worldsim.rollout(model, qpos0, qvel0, ctrl)
    views, Ks = model_cameras(model, qpos[-1], W, H)
    out = scene.render(qpos[-1], views[:, :1], Ks[:1], W, H)
    red_right = out.rgb[0, 0, :, W // 2 :, 0].mean()  # red on the right half of the fixed camera's image
    red_right.backward()
    assert qvel0.grad.item() > 0  # pushing the red box harder moves more red into the right half
