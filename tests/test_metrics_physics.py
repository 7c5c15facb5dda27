"""Physics measurements of videos against closed forms: centroids and areas of drawn disks, color segmentation,
finite differences of a quadratic track, and the Physical Invariance Score (1 on an invariant, falling with noise)."""

import math

import pytest
import torch

from worldsim.metrics import (
    area_drift,
    color_mask,
    finite_difference,
    mask_areas,
    mask_centroids,
    physical_invariance_score,
)


def _disk(h, w, cx, cy, r):
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    return (xs - cx) ** 2 + (ys - cy) ** 2 <= r * r


def test_centroids_and_areas_of_disks():
    masks = torch.stack([_disk(32, 48, 10, 20, 4), _disk(32, 48, 30.0, 7.0, 5)])  # [2, 32, 48], x then y
    c = mask_centroids(masks)
    torch.testing.assert_close(c, torch.tensor([[10.0, 20.0], [30.0, 7.0]], dtype=torch.float64))
    areas = mask_areas(masks)
    assert abs(int(areas[1]) - math.pi * 25) < 6  # a digital disk of radius 5 has 81 pixels; pi r^2 = 78.5
    empty = mask_centroids(torch.zeros(1, 4, 4, dtype=torch.bool))
    assert torch.isnan(empty).all()
    with pytest.raises(ValueError, match="bool tensor"):
        mask_centroids(masks.float())


def test_color_mask_segments_one_body():
    frames = torch.full((2, 16, 16, 3), 128, dtype=torch.uint8)
    disk = _disk(16, 16, 5, 8, 3)
    frames[0][disk] = torch.tensor([230, 80, 50], dtype=torch.uint8)
    frames[1][disk] = torch.tensor([220, 90, 60], dtype=torch.uint8)  # shaded a little
    m = color_mask(frames, (230, 77, 51), tolerance=30)
    assert torch.equal(m[0], disk) and torch.equal(m[1], disk)
    assert not color_mask(frames, (50, 100, 230)).any()
    with pytest.raises(ValueError, match="uint8"):
        color_mask(frames.float(), (0, 0, 0))
    with pytest.raises(ValueError, match="three numbers"):
        color_mask(frames, (0, 300, 0))


def test_area_drift_of_a_shrinking_body():
    still = torch.stack([_disk(32, 32, 16, 16, 6)] * 5)
    assert float(area_drift(still)) == 0.0
    shrinking = torch.stack([_disk(32, 32, 16, 16, r) for r in (6, 5, 4)])
    a = mask_areas(shrinking).double()
    assert float(area_drift(shrinking)) == pytest.approx(float((a[0] - a[2]) / a[0]))


def test_finite_differences_are_exact_on_a_parabola():
    dt = 0.04
    t = torch.arange(20, dtype=torch.float64) * dt
    x = torch.stack([1.5 * t + 0.2, 0.3 - 0.5 * 9.81 * t**2], -1)  # a throw: uniform x velocity, gravity in y
    v = finite_difference(x, dt)
    a = finite_difference(x, dt, order=2)
    assert v.shape == (18, 2) and a.shape == (18, 2)
    torch.testing.assert_close(v[:, 0], torch.full((18,), 1.5, dtype=torch.float64))
    torch.testing.assert_close(v[:, 1], -9.81 * t[1:-1])
    torch.testing.assert_close(a[:, 1], torch.full((18,), -9.81, dtype=torch.float64))
    with pytest.raises(ValueError, match="order"):
        finite_difference(x, dt, order=3)
    with pytest.raises(ValueError, match="T >= 3"):
        finite_difference(x[:2], dt)


def test_physical_invariance_score():
    const = torch.full((50,), -9.81, dtype=torch.float64)
    assert float(physical_invariance_score(const)) == pytest.approx(1.0)
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(50, generator=g, dtype=torch.float64)
    scores = [float(physical_invariance_score(const + s * noise)) for s in (0.1, 1.0, 10.0)]
    assert 1.0 > scores[0] > scores[1] > scores[2] > 0.0
    # the closed form on a series with known mean and spread: values 1 and 3 -> mean 2, std 1 -> PIS = 1 / 1.5
    assert float(physical_invariance_score(torch.tensor([1.0, 3.0, 1.0, 3.0]))) == pytest.approx(2 / 3, rel=1e-6)
    # batched, NaN samples (a body out of view) left out, too few samples -> NaN
    batch = torch.tensor([[2.0, float("nan"), 2.0, 2.0], [float("nan"), 1.0, float("nan"), float("nan")]])
    out = physical_invariance_score(batch)
    assert out[0] == pytest.approx(1.0) and torch.isnan(out[1])
    with pytest.raises(ValueError, match="floating tensor"):
        physical_invariance_score(torch.ones(3, dtype=torch.long))
