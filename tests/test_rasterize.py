"""The Warp rasterizer against the torch reference (forward and backward), finite differences, and edge cases."""

import pytest
import torch

from worldsim.physics.gradcheck import autodiff, finite_difference
from worldsim.renderers import look_at, rasterize, rasterize_reference
from worldsim.renderers.sh import eval_sh

W, H = 48, 40


def scene(n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    means = torch.randn(n, 3, generator=g) * 0.5
    quats = torch.randn(n, 4, generator=g)
    scales = torch.rand(n, 3, generator=g) * 0.1 + 0.01
    opacities = torch.rand(n, generator=g) * 0.9 + 0.05
    colors = torch.rand(n, 3, generator=g)
    viewmats = torch.stack([look_at((0, -3, 0.5), (0, 0, 0)), look_at((2.5, 1.5, 1.0), (0, 0, 0))])
    Ks = torch.tensor([[50.0, 0, W / 2], [0, 50.0, H / 2], [0, 0, 1]]).repeat(2, 1, 1)
    return means, quats, scales, opacities, colors, viewmats, Ks


def test_forward_matches_reference():
    means, quats, scales, opac, colors, views, Ks = scene()
    bg = torch.tensor([[0.1, 0.2, 0.3], [1.0, 1.0, 1.0]])
    img, alpha, meta = rasterize(means, quats, scales, opac, colors, views, Ks, W, H, render_mode="RGB+D",
                                 backgrounds=bg)  # fmt: skip
    ref_c, ref_a, ref_d = rasterize_reference(means, quats, scales, opac, colors, views, Ks, W, H, backgrounds=bg)
    assert img.shape == (2, H, W, 4) and alpha.shape == (2, H, W, 1)
    torch.testing.assert_close(img[..., :3], ref_c, rtol=0, atol=1e-5)
    torch.testing.assert_close(img[..., 3:], ref_d, rtol=0, atol=1e-5)
    torch.testing.assert_close(alpha, ref_a, rtol=0, atol=1e-5)
    assert 0.1 < alpha.mean() < 0.9  # the scene really covers part of the images
    depth_only, _, _ = rasterize(means, quats, scales, opac, colors, views, Ks, W, H, render_mode="D")
    torch.testing.assert_close(depth_only, ref_d, rtol=0, atol=1e-5)


def test_backward_matches_reference():
    inputs = scene()
    weights = torch.randn(2, H, W, 4, generator=torch.Generator().manual_seed(1))
    bg = torch.tensor([[0.1, 0.2, 0.3], [0.5, 0.5, 0.5]])

    def grads(fn):
        leaves = [t.clone().requires_grad_(True) for t in (*inputs[:6], bg)]
        image, alpha = fn(leaves)
        ((image * weights).sum() + alpha.square().sum()).backward()
        return [t.grad for t in leaves]

    ours = grads(lambda p: rasterize(*p[:6], inputs[6], W, H, render_mode="RGB+D", backgrounds=p[6])[:2])

    def ref(p):
        c, a, d = rasterize_reference(*p[:6], inputs[6], W, H, backgrounds=p[6])
        return torch.cat([c, d], -1), a

    for name, g, r in zip(["means", "quats", "scales", "opacities", "colors", "viewmats", "backgrounds"], ours,
                          grads(ref), strict=True):  # fmt: skip
        assert r.abs().max() > 0, name
        torch.testing.assert_close(g, r, rtol=1e-3, atol=1e-4 * r.abs().max().item(), msg=name)


@pytest.mark.parametrize("name, index", [("means", 0), ("scales", 2), ("opacities", 1), ("viewmats", 3)])
def test_gradients_match_finite_differences(name, index):
    """Three overlapping Gaussians in one camera, each input perturbed in turn. The loss weighs a central window
    where every Gaussian is well above the 1/255 alpha cut-off and inside its tiles: those thresholds are jumps
    that finite differences would pick up and the exact gradient (rightly) ignores."""
    means = torch.tensor([[0.0, 0.0, 0.0], [0.05, 0.15, 0.1], [-0.04, -0.15, -0.1]])  # distinct depths
    quats = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.9, 0.1, 0.2, 0.0], [0.8, 0.0, 0.3, 0.2]])
    scales = torch.tensor([[0.3, 0.15, 0.24], [0.18, 0.27, 0.15], [0.24, 0.24, 0.24]])
    opac = torch.tensor([0.6, 0.5, 0.7])
    colors = torch.tensor([[1.0, 0.2, 0.1], [0.1, 0.9, 0.2], [0.2, 0.3, 1.0]])
    views = look_at((0.0, -1.5, 0.3), (0, 0, 0))[None]
    Ks = torch.tensor([[[40.0, 0, 16.0], [0, 40.0, 16.0], [0, 0, 1]]])
    inputs = {"means": means, "quats": quats, "scales": scales, "opacities": opac, "colors": colors, "viewmats": views}
    weights = torch.zeros(1, 32, 32, 3)
    weights[:, 12:20, 12:20] = torch.randn(1, 8, 8, 3, generator=torch.Generator().manual_seed(2))

    def loss(x):
        args = dict(inputs, **{name: x})
        img, _, _ = rasterize(args["means"], args["quats"], args["scales"], args["opacities"], args["colors"],
                              args["viewmats"], Ks, 32, 32)  # fmt: skip
        return (img * weights).sum()

    idx = list(range(index, inputs[name].numel(), max(1, inputs[name].numel() // 4)))[:4]
    ad = autodiff(loss, inputs[name], idx)
    fd = finite_difference(loss, inputs[name], 1e-3, idx)
    torch.testing.assert_close(
        torch.tensor(ad, dtype=torch.float64), torch.tensor(fd), rtol=2e-2, atol=2e-2 * max(1.0, abs(fd).max())
    )


def test_degenerate_inputs_never_give_nan():
    means, quats, scales, opac, colors, views, Ks = scene(n=6)
    means = torch.tensor([[0.0, 0.0, 0.0], [0.0, -3.0, 0.5], [0.0, -2.995, 0.5], [0.1, 0.0, 0.0], [0.0, 5.0, 0.0],
                          [0.2, 0.1, 0.0]])  # fmt: skip
    scales = torch.tensor([[1e-8, 1e-8, 1e-8], [0.1, 0.1, 0.1], [0.1, 0.1, 0.1], [0.2, 0.0, 0.2], [50.0, 50.0, 50.0],
                           [0.1, 1e-9, 0.1]])  # fmt: skip
    quats = torch.tensor([[1.0, 0, 0, 0], [1e-20, 0, 0, 0], [0.5, 0.5, 0.5, 0.5], [0, 0, 0, 1.0], [1, 0, 0, 0],
                          [0.7, 0.7, 0, 0]])  # fmt: skip
    leaves = [t.clone().requires_grad_(True) for t in (means, quats, scales, opac, colors, views)]
    img, alpha, _ = rasterize(*leaves, Ks, W, H, render_mode="RGB+D")
    assert torch.isfinite(img).all() and torch.isfinite(alpha).all()
    (img.sum() + alpha.sum()).backward()
    for t in leaves:
        assert torch.isfinite(t.grad).all()


def test_spherical_harmonics_colors():
    means, quats, scales, opac, _, views, Ks = scene(n=50)
    coeffs = torch.randn(50, 16, 3, generator=torch.Generator().manual_seed(3)) * 0.3
    coeffs.requires_grad_(True)
    img, _, _ = rasterize(means, quats, scales, opac, coeffs, views, Ks, W, H, sh_degree=3)
    cam_pos = -views[:, :3, :3].transpose(1, 2) @ views[:, :3, 3:]  # [C, 3, 1]
    colors = torch.clamp_min(eval_sh(3, coeffs[None].expand(2, -1, -1, -1), means[None] - cam_pos[..., 0][:, None])
                             + 0.5, 0.0)  # fmt: skip
    ref, _, _ = rasterize_reference(means, quats, scales, opac, colors, views, Ks, W, H)
    torch.testing.assert_close(img, ref, rtol=0, atol=1e-5)
    img.sum().backward()
    assert coeffs.grad[:, 15].abs().sum() > 0  # the degree-3 bands receive gradient


def test_bad_input_errors():
    means, quats, scales, opac, colors, views, Ks = scene(n=5)
    with pytest.raises(ValueError, match=r"quats has shape \[5, 3\]"):
        rasterize(means, quats[:, :3], scales, opac, colors, views, Ks, W, H)
    with pytest.raises(ValueError, match="means contains NaN or inf"):
        rasterize(means * float("nan"), quats, scales, opac, colors, views, Ks, W, H)
    with pytest.raises(ValueError, match="render_mode must be one of"):
        rasterize(means, quats, scales, opac, colors, views, Ks, W, H, render_mode="RGBA")
    with pytest.raises(ValueError, match=r"viewmats must be \[C, 4, 4\]"):
        rasterize(means, quats, scales, opac, colors, views[:, :3], Ks, W, H)
    with pytest.raises(ValueError, match=r"with sh_degree=2, colors must be SH coefficients \[N, >=9, 3\]"):
        rasterize(means, quats, scales, opac, torch.zeros(5, 4, 3), views, Ks, W, H, sh_degree=2)
    with pytest.raises(ValueError, match="width and height must be positive integers"):
        rasterize(means, quats, scales, opac, colors, views, Ks, 0, H)
