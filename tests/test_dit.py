"""VideoDiT: zero velocity at initialization, causality in time (frames, levels and actions after t do not change
frame t), classifier-free guidance with w = 1 equal to the conditional model, a few steps of flow-matching training
with per-frame levels lower the loss, config round trip and clear errors."""

import json

import pytest
import torch

from worldsim.models.dit import DiTConfig, VideoDiT
from worldsim.models.flow import flow_matching_loss, logit_normal_time


def _model(**kw):
    torch.manual_seed(0)
    cfg = dict(image_size=16, channels=3, patch=4, dim=32, depth=2, heads=4, max_frames=4, action_dim=2)
    return VideoDiT(DiTConfig(**{**cfg, **kw}))


def _perturb(model):
    with torch.no_grad():  # leave the zero init, so that every path contributes
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model.eval()


def test_zero_velocity_at_init():
    model = _model().eval()
    x = torch.randn(2, 3, 16, 16, 3)
    out = model(x, torch.rand(2, 3), torch.randn(2, 2, 2))
    assert out.shape == x.shape and torch.equal(out, torch.zeros_like(x))


@pytest.mark.parametrize("latent", [False, True])
def test_causal_in_time(latent):
    model = _perturb(_model(action_dim=None, num_actions=5) if latent else _model())
    g = torch.Generator().manual_seed(1)
    x, level = torch.randn(2, 4, 16, 16, 3, generator=g), torch.rand(2, 4, generator=g)
    acts = torch.randint(0, 5, (2, 3), generator=g) if latent else torch.randn(2, 3, 2, generator=g)
    base = model(x, level, acts)
    for k in range(3):
        x2, l2, a2 = x.clone(), level.clone(), acts.clone()
        x2[:, k + 1 :] += 1.0
        l2[:, k + 1 :] = 1 - l2[:, k + 1 :]
        a2[:, k:] = (a2[:, k:] + 1) % 5 if latent else a2[:, k:] + 1.0
        out = model(x2, l2, a2)
        torch.testing.assert_close(out[:, : k + 1], base[:, : k + 1], rtol=0, atol=1e-5)
        assert not torch.allclose(out[:, k + 1], base[:, k + 1])


def test_guidance_scale_one_is_the_conditional_model():
    model = _perturb(_model())
    x, level, acts = torch.randn(1, 3, 16, 16, 3), torch.rand(1, 3), torch.randn(1, 2, 2)
    assert torch.equal(model.guided(x, level, acts, 1.0), model(x, level, acts))
    torch.testing.assert_close(model.guided(x, level, acts, 0.0), model(x, level, acts, null_actions=True))
    assert not torch.allclose(model.guided(x, level, acts, 3.0), model(x, level, acts))


def test_flow_matching_training_lowers_the_loss():
    model = _model(depth=1).train()
    g = torch.Generator().manual_seed(0)
    frames = torch.rand(4, 3, 16, 16, 3, generator=g) * 2 - 1
    acts = torch.randn(4, 2, 2, generator=g)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        level = logit_normal_time((4, 3), generator=g)  # diffusion forcing: a level per frame
        loss = flow_matching_loss(lambda x, t: model(x, t, acts), frames, level, generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-10:]) / 10 < 0.8 * sum(losses[:10]) / 10


def test_config_round_trip_and_errors():
    model = _model()
    clone = VideoDiT.from_config(json.loads(json.dumps(model.to_config())))
    assert clone.config == model.config
    with pytest.raises(ValueError, match="exactly one of"):
        DiTConfig(action_dim=2, num_actions=4)
    with pytest.raises(ValueError, match="must divide"):
        DiTConfig(image_size=16, patch=5, action_dim=2)
    x = torch.randn(1, 5, 16, 16, 3)
    with pytest.raises(ValueError, match="T <= 4"):
        model(x, torch.rand(1, 5), torch.randn(1, 4, 2))
    with pytest.raises(ValueError, match="actions must be"):
        model(x[:, :3], torch.rand(1, 3), torch.randn(1, 4, 2))
    with pytest.raises(ValueError, match="cond given"):
        model(x[:, :3], torch.rand(1, 3), torch.randn(1, 2, 2), cond=x[:, :3])
    with pytest.raises(ValueError, match="level must have shape"):
        model(x[:, :3], torch.rand(1, 2), torch.randn(1, 2, 2))


@pytest.mark.parametrize("sampler", ["euler", "heun"])
def test_next_frame_sampler_follows_the_velocity_to_the_target(sampler):
    """With the velocity of the straight path from the sampler's noise x0 to a known frame (v = target - x0,
    constant), any number of Euler or Heun steps lands on the target; the network sees the clean context at level 1
    and the new frame at the sampler's increasing levels, from 0."""
    from worldsim.models.dit import sample_next_frame

    g = torch.Generator().manual_seed(0)
    context, target = torch.randn(2, 3, 8, 8, 3, generator=g), torch.randn(2, 8, 8, 3, generator=g)
    x0 = torch.randn(2, 8, 8, 3, generator=torch.Generator().manual_seed(5))  # the sampler's first draw
    seen = []

    def velocity(clip, level, actions):
        assert clip.shape == (2, 4, 8, 8, 3) and actions.shape == (2, 3, 2)
        torch.testing.assert_close(clip[:, :3], context)
        assert torch.all(level[:, :3] == 1.0)
        seen.append(float(level[0, 3]))
        v = torch.zeros_like(clip)
        v[:, -1] = target - x0
        return v

    out = sample_next_frame(velocity, context, torch.randn(2, 3, 2), steps=3, sampler=sampler,
                            generator=torch.Generator().manual_seed(5))  # fmt: skip
    torch.testing.assert_close(out, target, rtol=1e-5, atol=1e-5)
    assert seen[0] == 0.0 and seen == sorted(seen) and len(seen) == (3 if sampler == "euler" else 6)
    with pytest.raises(ValueError, match="sampler"):
        sample_next_frame(velocity, context, torch.randn(2, 3, 2), sampler="rk4")


def test_noisy_context_level():
    """context_level < 1: the context frames are moved onto the flow path at that level (noise mixed in) and
    labelled with it."""
    from worldsim.models.dit import sample_next_frame

    context = torch.ones(1, 2, 4, 4, 3)
    seen = {}

    def velocity(clip, level, actions):
        seen["ctx"], seen["level"] = clip[:, :2].clone(), level[:, :2].clone()
        return torch.zeros_like(clip)

    sample_next_frame(velocity, context, torch.zeros(1, 2, 2), steps=1, sampler="euler", context_level=0.5,
                      generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert torch.all(seen["level"] == 0.5)
    residual = (seen["ctx"] - 0.5 * context) / 0.5  # = the noise drawn
    assert 0.5 < float(residual.std()) < 1.5 and not torch.allclose(seen["ctx"], context)
    with pytest.raises(ValueError, match="context_level"):
        sample_next_frame(velocity, context, torch.zeros(1, 2, 2), context_level=0.0)


def test_per_frame_actions_and_conditioning_images():
    """``T`` actions (one per frame) are accepted beside ``T-1`` (frame 0 = "no action"); with ``cond_channels``
    the clean conditioning images enter the patch embedding, so the output depends on them, causally in time."""
    torch.manual_seed(0)
    model = VideoDiT(DiTConfig(image_size=16, patch=4, dim=32, depth=2, heads=2, max_frames=4, action_dim=2,
                               cond_channels=3, action_dropout=0.0))  # fmt: skip
    for p in model.parameters():  # leave the zero-initialized identity so that inputs matter
        torch.nn.init.normal_(p, std=0.1)
    x, cond = torch.randn(2, 3, 16, 16, 3), torch.randn(2, 3, 16, 16, 3)
    level, actions = torch.rand(2, 3), torch.randn(2, 3, 2)
    v = model(x, level, actions, cond=cond)
    assert v.shape == x.shape
    changed = cond.clone()
    changed[:, 2] += 1.0  # the last frame's conditioning image
    v2 = model(x, level, actions, cond=changed)
    assert torch.allclose(v[:, :2], v2[:, :2], atol=1e-5) and not torch.allclose(v[:, 2], v2[:, 2])
    a2 = actions.clone()
    a2[:, 0] += 1.0  # the first frame's own action
    assert not torch.allclose(model(x, level, a2, cond=cond)[:, 0], v[:, 0])
    with pytest.raises(ValueError, match="cond must have shape"):
        model(x, level, actions)


def test_data_prediction_gives_the_velocity_towards_the_predicted_frame():
    """With ``prediction="data"`` the output layer predicts the clean frame (0 at init), so the velocity is
    ``(0 - x_t) / max(1 - t, 0.05)``: exact flow-matching velocity of a network that believes the data is 0."""
    model = VideoDiT(DiTConfig(image_size=16, patch=4, dim=32, depth=1, heads=2, max_frames=2, action_dim=1,
                               prediction="data"))  # fmt: skip
    x = torch.randn(2, 2, 16, 16, 3)
    level = torch.tensor([[0.0, 0.5], [0.99, 1.0]])
    v = model(x, level, torch.zeros(2, 1, 1))
    expected = -x / (1 - level).clamp_min(0.05)[..., None, None, None]
    assert torch.allclose(v, expected)
    with pytest.raises(ValueError, match="prediction must be"):
        DiTConfig(action_dim=1, prediction="noise")
