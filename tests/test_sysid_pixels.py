"""System identification from pixels (worldsim.sysid.pixels), the restitution ↔ damping-ratio conversions it
reports in (worldsim.sysid.restitution), and the domain-randomization knob that uses them."""

import math
from pathlib import Path

import mujoco
import numpy as np
import pytest
import torch

import worldsim
from worldsim.physics import damping_ratio_from_restitution, restitution_from_damping_ratio
from worldsim.randomization import DomainRandomization, Normal, Uniform
from worldsim.renderers import intrinsics, look_at
from worldsim.sysid import BOUNCE_SCENE, BounceParams, fit_bounce_from_pixels, make_bounce_video, measured_restitution

BOUNCE = BOUNCE_SCENE


def test_restitution_conversions_round_trip():
    e = np.array([0.0, 0.05, 0.3, 0.7, 0.95, 1.0])
    zeta = damping_ratio_from_restitution(e)
    np.testing.assert_allclose(restitution_from_damping_ratio(zeta), e, atol=1e-12)
    assert zeta[0] == 1.0 and zeta[-1] == 0.0  # no bounce at critical damping; no damping, no loss
    # a linear spring-damper with ζ = 0.113 returns 70% of the impact speed
    assert restitution_from_damping_ratio(0.113) == pytest.approx(0.6996, abs=1e-4)
    assert restitution_from_damping_ratio(1.0) == 0.0 and restitution_from_damping_ratio(3.0) == 0.0
    # torch: the same values, and a finite gradient (ζ of e through the sysid fit's restitution coordinate)
    et = torch.tensor([0.2, 0.5, 0.9], dtype=torch.float64, requires_grad=True)
    zt = damping_ratio_from_restitution(et)
    np.testing.assert_allclose(zt.detach().numpy(), damping_ratio_from_restitution(et.detach().numpy()), atol=1e-12)
    zt.sum().backward()
    assert torch.isfinite(et.grad).all() and (et.grad < 0).all()  # more restitution, less damping


def _mujoco_restitution(zeta: float, impact_speed: float) -> float:
    """The oracle: MuJoCo drops the ball of bounce.xml straight down on the plane; e = rebound speed / impact speed
    at the moment of touching, from the samples around the contact, corrected ballistically."""
    m = mujoco.MjModel.from_xml_path(str(BOUNCE))
    m.geom_solref[:, 1] = zeta
    d = mujoco.MjData(m)
    r = m.geom_size[1, 0]  # the ball's radius; the plane is z = 0
    d.qpos[2], d.qvel[2] = r + 1e-3, -impact_speed
    z, vz = [d.qpos[2]], [d.qvel[2]]
    for _ in range(int(0.6 / m.opt.timestep)):
        mujoco.mj_step(m, d)
        z.append(d.qpos[2])
        vz.append(d.qvel[2])
    z, vz, g = np.array(z), np.array(vz), -m.opt.gravity[2]
    first = np.flatnonzero(z < r)[0]
    last = first + np.flatnonzero((z[first:] >= r) & (vz[first:] > 0))[0]
    v_in = math.sqrt(vz[first - 1] ** 2 + 2 * g * (z[first - 1] - r))
    return math.sqrt(vz[last] ** 2 + 2 * g * (z[last] - r)) / v_in


def test_measured_restitution_matches_mujoco_and_the_closed_form():
    zetas = np.array([0.05, 0.113, 0.2, 0.3, 0.5, 0.7])
    measured = measured_restitution(str(BOUNCE), zetas, impact_speed=4.0)
    oracle = np.array([_mujoco_restitution(z, 4.0) for z in zetas])
    np.testing.assert_allclose(measured, oracle, atol=2e-3)  # worldsim's contact is MuJoCo's
    # the closed form of a linear spring-damper holds to 0.05 in e at bounce.xml's resolution (timestep 2 ms,
    # timeconst 0.1 s): the simulated contact cannot pull (e comes out higher), and the damper acts from the
    # first step of penetration
    closed = restitution_from_damping_ratio(zetas)
    assert np.abs(measured - closed).max() < 0.05, (measured, closed)
    assert (np.diff(measured) < 0).all() and measured[-1] > 0  # more damping, less bounce
    assert measured_restitution(str(BOUNCE), 0.113) == pytest.approx(measured[1], abs=0.01)  # speed: a small effect


def test_restitution_bad_input():
    with pytest.raises(ValueError, match="damping_ratio must be >= 0"):
        restitution_from_damping_ratio(-0.1)
    with pytest.raises(ValueError, match="damping_ratio must be finite"):
        restitution_from_damping_ratio(torch.tensor([0.1, float("nan")]))
    with pytest.raises(ValueError, match=r"restitution must be \[0.0, 1.0\]"):
        damping_ratio_from_restitution(1.2)
    with pytest.raises(ValueError, match=r"restitution must be \[0.0, 1.0\]"):
        damping_ratio_from_restitution(np.array([0.5, -0.1]))
    with pytest.raises(ValueError, match="damping_ratio must be positive finite numbers"):
        measured_restitution(str(BOUNCE), [0.1, 0.0])
    with pytest.raises(ValueError, match="impact_speed must be a positive number"):
        measured_restitution(str(BOUNCE), 0.1, impact_speed=-1.0)
    pendulum = Path(__file__).parent / "assets" / "pendulum.xml"
    with pytest.raises(ValueError, match="exactly one free joint"):
        measured_restitution(str(pendulum), 0.1)
    with pytest.raises(ValueError, match="model must be a worldsim Model or an MJCF file path"):
        measured_restitution(42, 0.1)


def test_randomization_sets_the_damping_ratio_of_a_restitution_draw():
    model = worldsim.load_mjcf(str(BOUNCE), num_worlds=6)
    nominal = model.get_params()
    worlds = torch.arange(6)
    out = DomainRandomization(restitution=Uniform(0.4, 0.9)).sample(nominal, worlds, torch.Generator().manual_seed(3))
    e = 0.4 + 0.5 * torch.rand(6, generator=torch.Generator().manual_seed(3))  # the same single draw per world
    expected = damping_ratio_from_restitution(e.double()).float()
    solref = out["geom_solref"]
    assert solref.shape == (6, model.ngeom, 2)
    torch.testing.assert_close(solref[..., 1], expected[:, None].expand(6, model.ngeom), atol=1e-6, rtol=0)
    torch.testing.assert_close(solref[..., 0], nominal["geom_solref"][..., 0])  # timeconst untouched
    assert expected.std() > 0.01  # each world its own draw
    np.testing.assert_allclose(restitution_from_damping_ratio(solref[:, 0, 1].double().numpy()), e, atol=1e-5)
    # a Normal is clipped to [0, 1]: ratios stay in [0, 1]
    out = DomainRandomization(restitution=Normal(0.7, 2.0)).sample(nominal, worlds, torch.Generator().manual_seed(0))
    assert ((out["geom_solref"][..., 1] >= 0) & (out["geom_solref"][..., 1] <= 1)).all()
    with pytest.raises(ValueError, match="restitution bounds must satisfy 0 <= low <= high <= 1"):
        DomainRandomization(restitution=Uniform(0.5, 1.5))
    with pytest.raises(ValueError, match="restitution must be a Uniform, LogUniform or Normal"):
        DomainRandomization(restitution=0.7)


def _cameras(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The demo's three cameras around the throw."""
    centre = (-0.1, 0.0, 0.5)
    eyes = ((-0.1, -3.6, 1.4), (2.8, -2.2, 2.2), (-2.6, 2.4, 2.6))
    return torch.stack([look_at(eye, centre) for eye in eyes]), torch.stack([intrinsics(50.0, size, size)] * 3)


def test_pixel_fit_recovers_hidden_restitution_gravity_and_velocity(one_torch_thread):
    """Small and fast (32×32, 35 frames, one bounce, few iterations; about 35 s). It reaches ζ within 9%, e 4%,
    g 0.4° and 0.6%, v0 0.9%: the tolerances are the demo's targets (64×64, 50 frames) for g and v0, about twice
    the reached errors for ζ and e (a 32-pixel ball is 2.5 pixels wide)."""
    model = worldsim.load_mjcf(str(BOUNCE))
    viewmats, Ks = _cameras(32)
    tilt, azimuth = math.radians(5.0), math.radians(-60.0)
    g = 9.0 * np.array([math.sin(tilt) * math.cos(azimuth), math.sin(tilt) * math.sin(azimuth), -math.cos(tilt)])
    truth = BounceParams(damping_ratio_from_restitution(0.65), tuple(g), (1.2, 0.3, 2.0))
    video = make_bounce_video(model, truth, viewmats, Ks, num_frames=35, width=32, height=32)
    assert video.shape == (3, 35, 32, 32, 3)
    fit = fit_bounce_from_pixels(model, video, viewmats, Ks, truth=truth, iterations=(30, 20, 20, 15), num_candidates=4,
                                 restitution_inits=(0.4, 0.6, 0.8), uncertainty=False)  # fmt: skip
    err = fit.errors
    assert err["damping_ratio"] < 0.15 and err["restitution"] < 0.08, err
    assert err["gravity_angle_deg"] < 2.0 and err["gravity_magnitude"] < 0.03, err
    assert err["velocity"] < 0.05, err
    assert fit.trajectory.shape == (35, 3) and len(fit.loss_history) == 85
    assert list(fit.phase_starts) == ["flight", "flight, sharp", "bounce", "polish"]
    # the reported errors are those of the reported values
    assert abs(fit.damping_ratio / truth.damping_ratio - 1) == pytest.approx(err["damping_ratio"])


def test_pixel_fit_bad_input():
    model = worldsim.load_mjcf(str(BOUNCE))
    viewmats, Ks = _cameras(16)
    video = torch.zeros(3, 5, 16, 16, 3)
    with pytest.raises(ValueError, match=r"video must be a tensor \[V, F, H, W, 3\]"):
        fit_bounce_from_pixels(model, video[..., 0], viewmats, Ks)
    with pytest.raises(ValueError, match=r"Ks must be a tensor \[2, 3, 3\]"):
        fit_bounce_from_pixels(model, video[:2], viewmats[:2], Ks)
    with pytest.raises(ValueError, match="video contains NaN"):
        fit_bounce_from_pixels(model, video.clone().fill_(float("nan")), viewmats, Ks)
    with pytest.raises(ValueError, match="video needs at least 3 frames"):
        fit_bounce_from_pixels(model, video[:, :2], viewmats, Ks)
    with pytest.raises(ValueError, match="restitution_inits must be numbers in"):
        fit_bounce_from_pixels(model, video, viewmats, Ks, restitution_inits=(0.5, 1.0))
    pendulum = worldsim.load_mjcf(str(Path(__file__).parent / "assets" / "pendulum.xml"))
    with pytest.raises(ValueError, match="exactly one free joint"):
        fit_bounce_from_pixels(pendulum, video, viewmats, Ks)
    truth = BounceParams(0.1, (0.0, 0.0, -9.81), (1.0, 0.0, 1.0))
    with pytest.raises(ValueError, match="noise_std must be >= 0"):
        make_bounce_video(model, truth, viewmats, Ks, num_frames=3, width=16, height=16, noise_std=-0.1)
