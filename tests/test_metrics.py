"""worldsim.metrics against closed forms, a slow numpy SSIM oracle, values pinned from scikit-image, and bad input."""

import math

import numpy as np
import pytest
import torch

from worldsim.metrics import (
    PSNR_CAP_DB,
    codebook_usage,
    delta_psnr_per_step,
    delta_t_psnr,
    discretize_actions,
    linear_probe_r2,
    normalized_mutual_information,
    psnr,
    psnr_per_step,
    ssim,
    ssim_per_step,
)


def _images(*shape, seed=0, lo=0, hi=256):
    return torch.randint(lo, hi, shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- PSNR


@pytest.mark.parametrize("k", [1, 5, 16])
def test_psnr_constant_error_uint8(k):
    """An error of ±k grey levels everywhere gives 20 log10(255 / k) dB exactly."""
    target = _images(2, 3, 8, 9, 3, lo=20, hi=230)
    sign = torch.where(_images(2, 3, 8, 9, 3, seed=1) > 127, 1, -1)
    pred = (target.int() + sign * k).to(torch.uint8)
    out = psnr(pred, target)
    assert out.shape == (2, 3) and out.dtype == torch.float64
    torch.testing.assert_close(out, torch.full((2, 3), 20 * math.log10(255 / k), dtype=torch.float64))


def test_psnr_float_and_data_range():
    target = _images(4, 8, 8, 3)
    pred = (target.int() + 3).clamp(max=255).to(torch.uint8)
    # the same images as floats in [0, 1] give the same PSNR
    torch.testing.assert_close(psnr(pred.double() / 255, target.double() / 255), psnr(pred, target))
    x = torch.full((5, 6, 1), 0.5)
    assert float(psnr(x + 0.1, x)) == pytest.approx(20.0, abs=1e-5)  # 10 log10(1 / 0.01)
    assert float(psnr(x + 0.1, x, data_range=2.0)) == pytest.approx(20 + 20 * math.log10(2), abs=1e-5)
    assert psnr(x, x).shape == () and float(psnr(x, x)) == math.inf  # identical images: +inf


def test_psnr_bad_input():
    x = torch.zeros(2, 8, 8, 3)
    with pytest.raises(ValueError, match=r"pred has shape \[2, 8, 8, 3\] but target has shape \[2, 8, 7, 3\]"):
        psnr(x, torch.zeros(2, 8, 7, 3))
    with pytest.raises(ValueError, match=r"pred has shape \[2, 3, 8, 8\], expected channels-last \[\.\.\., H, W, 3\]"):
        psnr(torch.zeros(2, 3, 8, 8), torch.zeros(2, 3, 8, 8))
    with pytest.raises(ValueError, match=r"target has shape \[8, 3\]"):
        psnr(torch.zeros(8, 8, 3), torch.zeros(8, 3))
    with pytest.raises(ValueError, match="target has dtype torch.int64, expected torch.uint8"):
        psnr(x, x.long())
    with pytest.raises(ValueError, match="pred has dtype torch.uint8 but target has dtype torch.float32"):
        psnr(x.to(torch.uint8), x)
    with pytest.raises(ValueError, match="data_range must be a positive finite number, got -1.0"):
        psnr(x, x, data_range=-1.0)
    with pytest.raises(ValueError, match="pred must be a torch.Tensor, got ndarray"):
        psnr(np.zeros((8, 8, 3)), x)


# ---------------------------------------------------------------- SSIM


def _ssim_reference(x: np.ndarray, y: np.ndarray, data_range: float) -> float:
    """Slow SSIM of two [H, W, C] images: a loop over every window position fully inside the image."""
    ii, jj = np.mgrid[-5:6, -5:6]  # [11, 11] offsets [pixels]
    w = np.exp(-(ii**2 + jj**2) / (2 * 1.5**2))  # [11, 11] Gaussian window, sigma 1.5
    w /= w.sum()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    values = []
    for c in range(x.shape[2]):
        for i in range(x.shape[0] - 10):
            for j in range(x.shape[1] - 10):
                px, py = x[i : i + 11, j : j + 11, c], y[i : i + 11, j : j + 11, c]  # [11, 11] patches
                mx, my = (w * px).sum(), (w * py).sum()  # weighted means
                vx, vy = (w * (px - mx) ** 2).sum(), (w * (py - my) ** 2).sum()  # weighted variances
                cxy = (w * (px - mx) * (py - my)).sum()  # weighted covariance
                values.append(((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2)))
    assert len(values) == x.shape[2] * (x.shape[0] - 10) * (x.shape[1] - 10) > 0
    return float(np.mean(values))


def test_ssim_against_reference():
    rng = np.random.default_rng(0)
    x = rng.random((16, 14, 3))
    for y in (rng.random((16, 14, 3)), np.clip(x + 0.1 * rng.standard_normal(x.shape), 0, 1), 0.5 * x + 0.2):
        got = float(ssim(torch.from_numpy(y), torch.from_numpy(x)))
        assert got == pytest.approx(_ssim_reference(y, x, 1.0), abs=1e-5)
    xu = _images(13, 15, 3, seed=2).numpy()
    yu = np.clip(xu.astype(int) + rng.integers(-30, 31, xu.shape), 0, 255).astype(np.uint8)
    got = float(ssim(torch.from_numpy(yu), torch.from_numpy(xu)))
    assert got == pytest.approx(_ssim_reference(yu.astype(float), xu.astype(float), 255.0), abs=1e-5)


def test_ssim_known_values():
    x = torch.rand(2, 3, 20, 24, 3, generator=torch.Generator().manual_seed(0))
    out = ssim(x, x)
    assert out.shape == (2, 3)
    torch.testing.assert_close(out, torch.ones(2, 3, dtype=torch.float64))
    # constant images: no variance, so SSIM is the luminance term (2 a b + C1) / (a² + b² + C1)
    a, b, c1 = 0.2, 0.6, 0.01**2
    got = float(ssim(torch.full((12, 12, 3), a, dtype=torch.float64), torch.full((12, 12, 3), b, dtype=torch.float64)))
    assert got == pytest.approx((2 * a * b + c1) / (a**2 + b**2 + c1), abs=1e-12)
    # symmetric, and falls as noise grows
    noisy = [(x + s * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))) for s in (0.02, 0.1, 0.3)]
    torch.testing.assert_close(ssim(noisy[0], x), ssim(x, noisy[0]))
    means = [float(ssim(n, x).mean()) for n in noisy]
    assert 1 > means[0] > means[1] > means[2]


def test_ssim_pinned_skimage_values():
    """Values recorded from scikit-image 0.26.0 ``structural_similarity(y, x, channel_axis=-1, gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False, data_range=...)`` on deterministic images."""
    i, j, c = torch.meshgrid(*(torch.arange(n, dtype=torch.float64) for n in (24, 20, 3)), indexing="ij")
    x = 0.5 + 0.5 * torch.sin(0.7 * i + 1.3 * j + c)  # [24, 20, 3]
    y = (x + 0.3 * torch.cos(2.1 * i * j + c)).clamp(0, 1)
    assert float(ssim(y, x)) == pytest.approx(0.873223495889026, abs=1e-10)
    xu, yu = (x * 255).round().to(torch.uint8), (y * 255).round().to(torch.uint8)
    assert float(ssim(yu, xu)) == pytest.approx(0.8732977059707873, abs=1e-10)


def test_psnr_ssim_gradients():
    """Floating inputs are differentiable: autograd against central finite differences."""
    gen = torch.Generator().manual_seed(4)
    target = torch.rand(12, 13, 1, dtype=torch.float64, generator=gen)
    pred = (target + 0.1 * torch.randn(target.shape, dtype=torch.float64, generator=gen)).requires_grad_()
    assert torch.autograd.gradcheck(lambda p: ssim(p, target), (pred,), fast_mode=True)
    assert torch.autograd.gradcheck(lambda p: psnr(p, target), (pred,), fast_mode=True)


def test_ssim_bad_input():
    with pytest.raises(ValueError, match="ssim needs images of at least 11×11 pixels, got H = 10, W = 12"):
        ssim(torch.zeros(10, 12, 3), torch.zeros(10, 12, 3))
    with pytest.raises(ValueError, match=r"pred has shape \[3, 16, 16\], expected channels-last"):
        ssim(torch.zeros(3, 16, 16), torch.zeros(3, 16, 16))
    with pytest.raises(ValueError, match="pred has dtype torch.bool"):
        ssim(torch.zeros(16, 16, 3, dtype=torch.bool), torch.zeros(16, 16, 3))


# ---------------------------------------------------------------- per-step curves and ΔtPSNR


def test_psnr_per_step():
    target = _images(2, 3, 12, 12, 3, lo=20, hi=230)
    err = torch.tensor([[0, 1, 4], [0, 2, 4]], dtype=torch.int32)[:, :, None, None, None]  # [B, T] grey levels
    pred = (target.int() + err).to(torch.uint8)
    expected = [PSNR_CAP_DB, (20 * math.log10(255) + 20 * math.log10(255 / 2)) / 2, 20 * math.log10(255 / 4)]
    torch.testing.assert_close(psnr_per_step(pred, target), torch.tensor(expected, dtype=torch.float64))
    s = ssim_per_step(pred, target)
    assert s.shape == (3,) and float(s[0]) == pytest.approx(1.0, abs=1e-12) and 1 > s[1] > s[2]
    torch.testing.assert_close(s, ssim(pred, target).mean(dim=0))
    with pytest.raises(ValueError, match=r"pred has shape \[3, 12, 12, 3\], expected channels-last \[B, T, H, W, 3\]"):
        psnr_per_step(pred[0], target[0])
    with pytest.raises(ValueError, match=r"target has shape \[3, 12, 12, 3\], expected channels-last \[B, T"):
        ssim_per_step(torch.zeros(1, 3, 12, 12, 3, dtype=torch.uint8), target[0])


def test_delta_t_psnr():
    """Random actions give errors 2^k grey levels at generated step k + 1, inferred ones 1 grey level."""
    target = _images(2, 5, 8, 8, 3, lo=20, hi=220)
    err = (2 ** torch.arange(5, dtype=torch.int32))[None, :, None, None, None]  # [1, T]: 1, 2, 4, 8, 16
    pred_random = (target.int() + err).to(torch.uint8)
    pred_inferred = (target.int() + 1).to(torch.uint8)
    curve = delta_psnr_per_step(target, pred_inferred, pred_random)
    torch.testing.assert_close(curve, 20 * torch.arange(5, dtype=torch.float64) * math.log10(2))
    assert delta_t_psnr(target, pred_inferred, pred_random) == pytest.approx(20 * math.log10(8))  # t = 4: 4th frame
    assert delta_t_psnr(target, pred_inferred, pred_random, t=1) == pytest.approx(0.0, abs=1e-12)
    f = lambda v: v.double() / 255  # noqa: E731
    assert delta_t_psnr(f(target), f(pred_inferred), f(pred_random), t=5) == pytest.approx(20 * math.log10(16))
    with pytest.raises(ValueError, match="t = 6 is out of range: t is 1-based and the videos have T = 5 steps"):
        delta_t_psnr(target, pred_inferred, pred_random, t=6)
    with pytest.raises(ValueError, match="t = 0 is out of range"):
        delta_t_psnr(target, pred_inferred, pred_random, t=0)
    with pytest.raises(ValueError, match="t must be an int"):
        delta_t_psnr(target, pred_inferred, pred_random, t=2.0)
    with pytest.raises(ValueError, match=r"pred_random has shape \[2, 4, 8, 8, 3\] but target has shape \[2, 5"):
        delta_t_psnr(target, pred_inferred, pred_random[:, :4])
    with pytest.raises(ValueError, match="pred_inferred has dtype torch.float64 but target has dtype torch.uint8"):
        delta_psnr_per_step(target, f(pred_inferred), pred_random)


# ---------------------------------------------------------------- codebook usage


def test_codebook_usage():
    k = 7
    uniform = codebook_usage(torch.arange(k).repeat(5, 1), k)  # every code 5 times
    assert uniform["usage"] == 1.0 and uniform["perplexity"] == pytest.approx(k, rel=1e-12)
    assert torch.equal(uniform["counts"], torch.full((k,), 5))
    single = codebook_usage(torch.full((4, 3), 2, dtype=torch.int32), k)
    assert single["usage"] == pytest.approx(1 / k) and single["perplexity"] == pytest.approx(1.0, abs=1e-12)
    assert single["counts"].tolist() == [0, 0, 12, 0, 0, 0, 0]
    # 3 : 1 split of two codes: exp(H) = 0.75^-0.75 * 0.25^-0.25
    split = codebook_usage(torch.tensor([0, 0, 0, 5]), 8)
    assert split["usage"] == 0.25 and split["perplexity"] == pytest.approx(0.75**-0.75 * 0.25**-0.25, rel=1e-12)


def test_codebook_usage_bad_input():
    with pytest.raises(ValueError, match=r"codes must lie in \[0, num_codes = 4\), got values in \[0, 4\]"):
        codebook_usage(torch.tensor([0, 4]), 4)
    with pytest.raises(ValueError, match=r"got values in \[-1, 2\]"):
        codebook_usage(torch.tensor([-1, 2]), 4)
    with pytest.raises(ValueError, match="codes has dtype torch.float32, expected an integer tensor"):
        codebook_usage(torch.zeros(3), 4)
    with pytest.raises(ValueError, match="num_codes must be a positive int, got 0"):
        codebook_usage(torch.zeros(3, dtype=torch.long), 0)
    with pytest.raises(ValueError, match="codes is empty"):
        codebook_usage(torch.zeros(0, dtype=torch.long), 4)


# ---------------------------------------------------------------- NMI and action binning


def test_nmi_known_values():
    gen = torch.Generator().manual_seed(0)
    a = torch.randint(0, 5, (1000,), generator=gen)
    relabelled = torch.tensor([13, -2, 7, 0, 4])[a]  # the same partition under other names
    assert normalized_mutual_information(a, relabelled) == pytest.approx(1.0, abs=1e-12)
    # independent labelings: near 0 (bias ~ (Ka - 1)(Kb - 1) / (2 n H) ≈ 3e-5 here)
    x, y = torch.randint(0, 4, (200_000,), generator=gen), torch.randint(0, 4, (200_000,), generator=gen)
    assert 0 <= normalized_mutual_information(x, y) < 1e-3
    # by hand: a = [0, 0, 1, 1], b = [0, 0, 0, 1]; p(a) = (1/2, 1/2), p(b) = (3/4, 1/4),
    # p(a, b) = {(0, 0): 1/2, (1, 0): 1/4, (1, 1): 1/4}
    mi = 0.5 * math.log(0.5 / (0.5 * 0.75)) + 0.25 * math.log(0.25 / (0.5 * 0.75)) + 0.25 * math.log(0.25 / 0.125)
    h_a, h_b = math.log(2), -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    a4, b4 = torch.tensor([0, 0, 1, 1]), torch.tensor([0, 0, 0, 1])
    assert normalized_mutual_information(a4, b4) == pytest.approx(mi / ((h_a + h_b) / 2), abs=1e-12)
    assert normalized_mutual_information(a4, b4) == pytest.approx(0.3437110184854508, abs=1e-12)  # scikit-learn
    assert normalized_mutual_information(b4, a4) == pytest.approx(normalized_mutual_information(a4, b4), abs=1e-15)
    # recorded from scikit-learn 1.9.1 normalized_mutual_info_score
    n = torch.arange(40)
    assert normalized_mutual_information(n % 6, (n // 3) % 4) == pytest.approx(0.4374881067358315, abs=1e-12)
    assert normalized_mutual_information((n * 7) % 5, (n * n) % 6) == pytest.approx(0.022228018555463216, abs=1e-12)
    # constant labelings, as scikit-learn: one constant -> 0, both constant -> 1
    assert normalized_mutual_information(a4, torch.zeros(4, dtype=torch.long)) == 0.0
    assert normalized_mutual_information(torch.ones(4, dtype=torch.long), torch.zeros(4, dtype=torch.long)) == 1.0


def test_nmi_bad_input():
    a = torch.tensor([0, 1, 1])
    with pytest.raises(ValueError, match=r"a has shape \[3\] but b has shape \[4\]"):
        normalized_mutual_information(a, torch.tensor([0, 1, 1, 0]))
    with pytest.raises(ValueError, match=r"b has shape \[3, 1\], expected a 1-D tensor \[n\]"):
        normalized_mutual_information(a, a[:, None])
    with pytest.raises(ValueError, match="a has dtype torch.float32, expected an integer tensor"):
        normalized_mutual_information(a.float(), a)
    with pytest.raises(ValueError, match="b is empty"):
        normalized_mutual_information(a, a[:0])


def test_discretize_actions():
    actions = torch.rand(9000, 2, generator=torch.Generator().manual_seed(0)) * torch.tensor([1.0, 100.0])
    labels = discretize_actions(actions, bins=3)
    assert labels.shape == (9000,) and labels.dtype == torch.long and 0 <= labels.min() and labels.max() < 9
    for j, k in enumerate((labels % 3, labels // 3)):  # the bin of dimension j
        assert torch.bincount(k, minlength=3).tolist() == pytest.approx([3000] * 3, abs=2)  # quantile bins
        order = actions[:, j].argsort()
        assert (k[order].diff() >= 0).all()  # bins follow the action value
    # discrete actions in {-1, 0, 1} land in one bin per value
    discrete = torch.tensor([[-1.0], [0.0], [1.0]]).repeat(4, 1)
    assert discretize_actions(discrete).tolist() == [0, 1, 2] * 4
    assert normalized_mutual_information(discretize_actions(discrete), (discrete[:, 0] * 5).long()) == pytest.approx(1)
    with pytest.raises(ValueError, match=r"actions has shape \[5\], expected a non-empty 2-D tensor \[n, A\]"):
        discretize_actions(torch.zeros(5))
    with pytest.raises(ValueError, match="bins must be an int >= 2, got 1"):
        discretize_actions(actions, bins=1)
    with pytest.raises(ValueError, match="actions contains NaN or inf"):
        discretize_actions(torch.tensor([[0.0], [float("nan")]]))
    with pytest.raises(ValueError, match=r"bins\*\*A = 3\*\*40 labels do not fit in int64"):
        discretize_actions(torch.zeros(4, 40))


# ---------------------------------------------------------------- linear probe


def test_linear_probe_r2():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(500, 6, generator=gen)
    y = x @ torch.randn(6, 3, generator=gen) + torch.tensor([1.0, -2.0, 5.0])
    assert linear_probe_r2(x, y) == pytest.approx(1.0, abs=1e-6)  # exact linear targets
    noise = torch.randn(2000, 2, generator=gen)
    r2_noise = linear_probe_r2(torch.randn(2000, 8, generator=gen), noise)
    assert -0.2 < r2_noise < 0.02  # unrelated targets: no better than their mean
    # y = x0 + 0.5 eps with x0, eps ~ N(0, 1): the best linear prediction explains 1 / 1.25 = 0.8 of the variance
    x = torch.randn(20_000, 4, generator=gen)
    y = x[:, :1] + 0.5 * torch.randn(20_000, 1, generator=gen)
    assert linear_probe_r2(x, y) == pytest.approx(0.8, abs=0.02)
    assert linear_probe_r2(x, y, seed=1) != linear_probe_r2(x, y)  # another split
    assert linear_probe_r2(x, y, seed=1) == linear_probe_r2(x, y, seed=1)  # reproducible
    # one-hot codes (integer features) that determine the targets, as callers pass latent codes
    codes = torch.randint(0, 8, (400,), generator=gen)
    table = torch.randn(8, 2, generator=gen)
    assert linear_probe_r2(torch.nn.functional.one_hot(codes, 8), table[codes]) == pytest.approx(1.0, abs=1e-5)
    # a constant target dimension scores 1 when predicted exactly
    assert linear_probe_r2(x[:100], torch.ones(100, 1)) == pytest.approx(1.0)


def test_linear_probe_bad_input():
    x, y = torch.randn(20, 3), torch.randn(20, 2)
    with pytest.raises(ValueError, match="features has 20 samples but targets has 19"):
        linear_probe_r2(x, y[:19])
    with pytest.raises(ValueError, match=r"targets has shape \[20\], expected a non-empty 2-D tensor \[n, A\]"):
        linear_probe_r2(x, y[:, 0])
    with pytest.raises(ValueError, match=r"holdout must be in \(0, 1\), got 1.0"):
        linear_probe_r2(x, y, holdout=1.0)
    with pytest.raises(ValueError, match="holdout = 0.2 of n = 5 samples leaves 1 held out and 4 to fit"):
        linear_probe_r2(x[:5], y[:5])
    with pytest.raises(ValueError, match="ridge must be a finite number >= 0, got -1"):
        linear_probe_r2(x, y, ridge=-1)
    with pytest.raises(ValueError, match="features contains NaN or inf"):
        linear_probe_r2(x * float("inf"), y)
    with pytest.raises(ValueError, match="targets has dtype torch.complex64, expected a real tensor"):
        linear_probe_r2(x, y.to(torch.complex64))
