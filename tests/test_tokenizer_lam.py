"""Video tokenizer and latent action model (worldsim.models.tokenizer, worldsim.models.lam): shapes and dtypes,
decode(encode(x)) against forward's reconstruction, the codebook left alone by encode, the frame-conversion round
trip, config round trips, the LAM's temporal causality against perturbed inputs (outputs up to t unchanged, output t
changed), past-frame dropout, bad input, and learning on toy data: the tokenizer overfits a few synthetic frames
(PSNR from worldsim.metrics), and the LAM, trained without labels, finds the true actions of a moving-square world
(NMI against them; its predictions against copying the frame and against another transition's code)."""

import json
import math

import pytest
import torch
import torch.nn.functional as F

from worldsim.metrics import codebook_usage, normalized_mutual_information, psnr
from worldsim.models.lam import LAMConfig, LatentActionModel
from worldsim.models.tokenizer import TokenizerConfig, VideoTokenizer, to_uint8, to_unit

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _tokenizer(downsample: int = 4, quantizer: str = "vq", **kwargs) -> VideoTokenizer:
    """A tiny tokenizer of 16x16 frames."""
    kwargs.setdefault("channels", (8, 16) if downsample == 4 else (8, 8, 16))
    if quantizer == "vq":
        kwargs.setdefault("num_codes", 32)
        kwargs.setdefault("code_dim", 8)
    cfg = TokenizerConfig(image_size=16, downsample=downsample, quantizer=quantizer, **kwargs)
    return VideoTokenizer(cfg)


def _lam(**kwargs) -> LatentActionModel:
    """A tiny LAM of 16x16 frames (4x4 patches of 4x4 pixels)."""
    cfg = dict(image_size=16, patch=4, dim=32, depth=1, decoder_depth=1, heads=2, max_frames=5, code_dim=8)
    cfg.update(kwargs)
    return LatentActionModel(LAMConfig(**cfg))


# ================================================================================================ tokenizer


@pytest.mark.parametrize("quantizer", ["vq", "fsq"])
@pytest.mark.parametrize("downsample", [4, 8])
def test_tokenizer_shapes_and_dtypes(downsample, quantizer):
    torch.manual_seed(0)
    tok = _tokenizer(downsample, quantizer)
    h = 16 // downsample
    assert tok.token_shape == (h, h)
    if quantizer == "fsq":  # num_codes follows from the default levels
        assert tok.num_codes == math.prod(tok.config.fsq_levels) == 1000 and tok.config.code_dim == 4
    else:
        assert tok.num_codes == 32

    images = torch.randint(0, 256, (3, 16, 16, 3), dtype=torch.uint8)  # [B, H, W, 3] uint8
    out = tok(images)
    assert out["recon"].shape == (3, 16, 16, 3) and out["recon"].dtype == torch.float32
    assert 0 <= out["recon"].min() and out["recon"].max() <= 1
    assert out["codes"].shape == (3, h, h) and out["codes"].dtype == torch.int64
    assert 0 <= out["codes"].min() and out["codes"].max() < tok.num_codes
    assert out["loss"].shape == () and torch.isfinite(out["loss"])

    video = torch.rand(2, 3, 16, 16, 3)  # [B, T, H, W, 3] float in [0, 1]
    out = tok(video)
    assert out["recon"].shape == (2, 3, 16, 16, 3) and out["codes"].shape == (2, 3, h, h)

    codes = tok.encode(video)
    assert codes.shape == (2, 3, h, h) and codes.dtype == torch.int64
    frames = tok.decode(codes)
    assert frames.shape == (2, 3, 16, 16, 3) and frames.dtype == torch.float32
    assert 0 <= frames.min() and frames.max() <= 1


@pytest.mark.parametrize("quantizer", ["vq", "fsq"])
def test_tokenizer_decode_of_encode_is_the_reconstruction(quantizer):
    """In eval mode decode(encode(x)) is forward(x)["recon"], and encode gives forward's codes."""
    torch.manual_seed(0)
    tok = _tokenizer(4, quantizer)
    video = torch.rand(2, 3, 16, 16, 3)
    tok.train()(video)  # a training forward seeds the VQ codebook from data
    tok.eval()
    out = tok(video)
    codes = tok.encode(video)
    assert torch.equal(codes, out["codes"])
    torch.testing.assert_close(tok.decode(codes), out["recon"])


def _snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items()}


def _assert_same_state(before: dict[str, torch.Tensor], module: torch.nn.Module) -> None:
    after = module.state_dict()
    assert before.keys() == after.keys()
    for k in before:
        assert torch.equal(before[k], after[k]), k


def test_tokenizer_encode_leaves_the_codebook_alone():
    """encode never seeds or updates the VQ codebook, even in training mode, where forward does both."""
    torch.manual_seed(0)
    tok = _tokenizer(4, "vq").train()
    frames = torch.randint(0, 256, (4, 16, 16, 3), dtype=torch.uint8)
    before = _snapshot(tok.quantizer)
    codes = tok.encode(frames)  # a fresh codebook: no data init
    assert tok.training and tok.quantizer.training  # encode restored the mode
    _assert_same_state(before, tok.quantizer)
    assert not tok.quantizer.initialized

    tok(frames)  # a training forward seeds the codebook
    assert tok.quantizer.initialized and not torch.equal(before["codebook"], tok.quantizer.codebook)
    before = _snapshot(tok.quantizer)
    codes = tok.encode(frames)  # an initialized codebook: no EMA step, no restart
    _assert_same_state(before, tok.quantizer)
    assert torch.equal(codes, tok.eval().encode(frames))  # the same codes as in eval mode
    tok.train()(frames)  # control: a training forward does update it
    assert not torch.equal(before["codebook"], tok.quantizer.codebook)


def test_tokenizer_bad_input():
    tok = _tokenizer(4)
    with pytest.raises(
        ValueError,
        match=r"frames must be channels-last \[\.\.\., H, W, 3\] with 3 channels, got shape \[2, 3, 16, 16\] "
        r"\(it looks channels-first; use frames.movedim\(-3, -1\)\)",
    ):
        tok(torch.zeros(2, 3, 16, 16, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"frames must be 16x16 images .* got 8x8 in shape \[2, 8, 8, 3\]"):
        tok(torch.zeros(2, 8, 8, 3, dtype=torch.uint8))
    floats = torch.zeros(2, 16, 16, 3)
    floats[0, 0, 0, 0] = 255.0
    with pytest.raises(ValueError, match=r"frames: floating frames must lie in \[0, 1\], got values in \[0, 255\]"):
        tok(floats)
    with pytest.raises(ValueError, match=r"frames have dtype torch.int32, expected torch.uint8 in \[0, 255\]"):
        tok.encode(torch.zeros(2, 16, 16, 3, dtype=torch.int32))
    with pytest.raises(ValueError, match=r"at least one leading dim, got \[16, 16, 3\]"):
        tok(torch.zeros(16, 16, 3, dtype=torch.uint8))
    with pytest.raises(TypeError, match=r"frames must be a torch.Tensor"):
        tok([[0]])
    with pytest.raises(ValueError, match=r"codes must have shape \[\.\.\., 4, 4\] .* got \[2, 3, 3\]"):
        tok.decode(torch.zeros(2, 3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"codes must have shape \[\.\.\., 4, 4\] .* got \[4, 4\]"):
        tok.decode(torch.zeros(4, 4, dtype=torch.long))  # no leading dim


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(downsample=3), r"downsample must be 4 or 8, got 3"),
        (dict(image_size=18), r"image_size must be a positive multiple of downsample=4, got 18"),
        (dict(channels=(8,)), r"channels must hold log2\(downsample\) = 2 positive ints .* got \(8,\)"),
        (dict(downsample=8, channels=(8, 16)), r"channels must hold log2\(downsample\) = 3 positive ints"),
        (dict(res_blocks=-1), r"res_blocks must be an int >= 0, got -1"),
        (
            dict(quantizer="fsq", num_codes=512),
            r"with quantizer='fsq', num_codes and code_dim follow from fsq_levels=\[8, 5, 5, 5\] "
            r"\(prod 1000, len 4\); got num_codes=512, code_dim=None",
        ),
        (dict(quantizer="fsq", code_dim=8), r".*got num_codes=None, code_dim=8 \(leave them None\)"),
        (dict(quantizer="rvq"), r"quantizer must be one of 'vq', 'fsq', got 'rvq'"),
    ],
)
def test_tokenizer_config_rejects(kwargs, message):
    cfg = dict(image_size=16, downsample=4, channels=(8, 16)) | kwargs
    with pytest.raises(ValueError, match=f"TokenizerConfig: {message}"):
        TokenizerConfig(**cfg)


def test_tokenizer_config_fills_in_defaults():
    """VQ: 512 codes of 32 channels unless given; FSQ: prod(levels) codes of len(levels) channels, also if given."""
    vq = TokenizerConfig(image_size=16, channels=(8, 16))
    assert (vq.num_codes, vq.code_dim) == (512, 32)
    fsq = TokenizerConfig(image_size=16, channels=(8, 16), quantizer="fsq", fsq_levels=[5, 3], num_codes=15)
    assert (fsq.num_codes, fsq.code_dim, fsq.fsq_levels) == (15, 2, (5, 3))


def test_to_unit_and_to_uint8():
    every = torch.arange(256, dtype=torch.uint8).reshape(4, 4, 16)
    unit = to_unit(every)
    assert unit.dtype == torch.float32 and unit.min() == 0 and unit.max() == 1
    assert torch.equal(to_uint8(unit), every)  # exact round trip of every value
    assert to_uint8(every) is every and to_unit(unit) is unit  # already converted: returned as is
    assert to_uint8(torch.tensor([-0.5, 0.25, 1.5])).tolist() == [0, 64, 255]  # clamped, rounded
    with pytest.raises(ValueError, match=r"x has dtype torch.int64, expected floating"):
        to_uint8(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"floating frames must lie in \[0, 1\], got values in \[nan, nan\]"):
        to_unit(torch.tensor([0.5, float("nan")]))


def test_tokenizer_config_round_trip():
    """from_config(to_config()) through JSON plus the original's state dict gives identical outputs."""
    torch.manual_seed(0)
    tok = _tokenizer(4, "vq", res_blocks=2)
    frames = torch.randint(0, 256, (4, 16, 16, 3), dtype=torch.uint8)
    tok.train()(frames)  # seeds and updates the codebook: its buffers are part of the state
    copy = VideoTokenizer.from_config(json.loads(json.dumps(tok.to_config())))
    assert copy.config == tok.config
    copy.load_state_dict(tok.state_dict())
    tok.eval(), copy.eval()
    a, b = tok(frames), copy(frames)
    assert torch.equal(a["recon"], b["recon"]) and torch.equal(a["codes"], b["codes"])
    assert torch.equal(tok.decode(a["codes"]), copy.decode(a["codes"]))
    with pytest.raises(ValueError, match=r"TokenizerConfig.from_dict: unknown keys \['downsampel'\]"):
        TokenizerConfig.from_dict(tok.to_config() | {"downsampel": 4})


def _squares(n: int, size: int = 16, seed: int = 0) -> torch.Tensor:
    """``n`` uint8 frames [n, size, size, 3]: a 6x6 square of a saturated colour at a random place on a dark blue
    background."""
    g = torch.Generator().manual_seed(seed)
    colours = torch.tensor(
        [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [255, 0, 255], [0, 255, 255], [255, 255, 255]],
        dtype=torch.uint8,
    )
    frames = torch.tensor([40, 40, 60], dtype=torch.uint8).expand(n, size, size, 3).clone()
    for i in range(n):
        y, x = torch.randint(0, size - 5, (2,), generator=g).tolist()
        frames[i, y : y + 6, x : x + 6] = colours[i % len(colours)]
    return frames


def _overfit_tokenizer(seed: int, steps: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Adam on 8 frames of coloured squares; PSNR [dB] of each frame before and after, and the codebook usage."""
    torch.manual_seed(seed)
    frames = _squares(8, seed=seed)
    tok = _tokenizer(4, "vq", channels=(16, 32), num_codes=32, code_dim=32)
    with torch.no_grad():
        start = psnr(to_uint8(tok.eval()(frames)["recon"]), frames)
    opt = torch.optim.Adam(tok.parameters(), lr=1e-3)
    tok.train()
    for _ in range(steps):
        loss = tok(frames)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    tok.eval()
    with torch.no_grad():
        end = psnr(to_uint8(tok(frames)["recon"]), frames)
        usage = codebook_usage(tok.encode(frames), tok.num_codes)["usage"]
    return start, end, usage


def test_tokenizer_overfits_a_few_frames():
    """The tokenizer memorizes 8 frames in 300 steps: PSNR from about 9 dB (untrained) to over 25 dB on every frame
    (seeds 0-7: 28.4-33.4 dB on the worst frame), with the 32 codes in use (seeds 0-7: all of them)."""
    start, end, usage = _overfit_tokenizer(seed=0, steps=300)
    assert start.max() < 12, start
    assert end.min() > 25, end
    assert usage >= 0.9


# ================================================================================================ LAM


@pytest.mark.parametrize("residual", [False, True])
def test_lam_shapes_and_dtypes(residual):
    torch.manual_seed(0)
    lam = _lam(residual=residual)
    assert lam.num_actions == 8 and LAMConfig().num_codes == 8  # Genie's 8 latent actions by default
    clips = torch.randint(0, 256, (2, 4, 16, 16, 3), dtype=torch.uint8)  # [B, T+1, H, W, 3]
    out = lam(clips)
    assert out["recon"].shape == (2, 3, 16, 16, 3) and out["recon"].dtype == torch.float32
    assert 0 <= out["recon"].min() and out["recon"].max() <= 1
    assert out["codes"].shape == (2, 3) and out["codes"].dtype == torch.int64
    assert 0 <= out["codes"].min() and out["codes"].max() < 8
    assert out["loss"].shape == () and torch.isfinite(out["loss"])

    lam.eval()
    codes = lam.infer_actions(clips)
    assert codes.shape == (2, 3) and codes.dtype == torch.int64 and 0 <= codes.min() and codes.max() < 8
    assert torch.equal(codes, lam(clips)["codes"])  # eval forward and infer_actions agree

    past = clips[:, :3].float() / 255  # [B, T, H, W, 3]
    pred = lam.predict(past, codes)
    assert pred.shape == (2, 3, 16, 16, 3) and pred.dtype == torch.float32 and 0 <= pred.min() and pred.max() <= 1
    torch.testing.assert_close(pred, lam(clips)["recon"])  # forward = predict with the inferred codes

    nxt = lam.predict_next(clips[:, :2], torch.tensor([5, 7]))
    assert nxt.shape == (2, 16, 16, 3)
    # the context's own transition is inferred, the last one given
    expected = lam.predict(clips[:, :2], torch.stack([codes[:, 0], torch.tensor([5, 7])], 1))[:, -1]
    torch.testing.assert_close(nxt, expected)
    assert lam.predict_next(clips[:, :1], torch.tensor([5, 7])).shape == (2, 16, 16, 3)  # a single frame


def _changed(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max())


@pytest.mark.parametrize("motion_input", [True, False])
@pytest.mark.parametrize("t", [0, 1, 2])
def test_lam_encoder_is_causal(t, motion_input):
    """Latent action t (of transition t -> t + 1) depends on frames <= t + 1 only: new frames after t + 1 leave the
    continuous actions <= t (and their codes) unchanged; a new frame t + 1 changes action t."""
    torch.manual_seed(0)
    lam = _lam(motion_input=motion_input).eval()
    x = torch.rand(3, 5, 16, 16, 3)
    with torch.no_grad():
        z = lam._encode(x)  # [B, 4, code_dim]
        later = x.clone()
        later[:, t + 2 :] = torch.rand_like(later[:, t + 2 :])
        z_later = lam._encode(later)
        torch.testing.assert_close(z_later[:, : t + 1], z[:, : t + 1], rtol=0, atol=1e-6)
        assert torch.equal(lam.infer_actions(later)[:, : t + 1], lam.infer_actions(x)[:, : t + 1])
        assert _changed(z_later[:, t + 1 :], z[:, t + 1 :]) > 1e-3  # the new frames do reach the later actions

        nxt = x.clone()
        nxt[:, t + 1] = torch.rand_like(nxt[:, t + 1])
        z_next = lam._encode(nxt)
        torch.testing.assert_close(z_next[:, :t], z[:, :t], rtol=0, atol=1e-6)
        assert _changed(z_next[:, t], z[:, t]) > 1e-3


@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("t", [0, 1, 2])
def test_lam_decoder_is_causal(t, residual):
    """predict()'s output t (frame t + 1) depends on frames[:, :t+1] and codes[:, :t+1] only, and does depend on
    codes[:, t] and frames[:, t]. forward's prediction t may see frame t + 1, through its code, but no later frame."""
    torch.manual_seed(0)
    lam = _lam(residual=residual).eval()
    frames = torch.rand(3, 4, 16, 16, 3)
    codes = torch.randint(0, 8, (3, 4))
    with torch.no_grad():
        pred = lam.predict(frames, codes)
        later = frames.clone()
        later[:, t + 1 :] = torch.rand_like(later[:, t + 1 :])
        later_codes = codes.clone()
        later_codes[:, t + 1 :] = (codes[:, t + 1 :] + 1) % 8
        torch.testing.assert_close(lam.predict(later, codes)[:, : t + 1], pred[:, : t + 1], rtol=0, atol=1e-6)
        torch.testing.assert_close(lam.predict(frames, later_codes)[:, : t + 1], pred[:, : t + 1], rtol=0, atol=1e-6)

        other = codes.clone()
        other[:, t] = (codes[:, t] + 1) % 8  # another action at t
        changed = lam.predict(frames, other)
        torch.testing.assert_close(changed[:, :t], pred[:, :t], rtol=0, atol=1e-6)
        assert _changed(changed[:, t], pred[:, t]) > 1e-3
        now = frames.clone()
        now[:, t] = torch.rand_like(now[:, t])
        assert _changed(lam.predict(now, codes)[:, t], pred[:, t]) > 1e-3

        clips = torch.rand(3, 5, 16, 16, 3)
        recon = lam(clips)["recon"]
        late = clips.clone()
        late[:, t + 2 :] = torch.rand_like(late[:, t + 2 :])
        torch.testing.assert_close(lam(late)["recon"][:, : t + 1], recon[:, : t + 1], rtol=0, atol=1e-6)


def test_lam_past_dropout():
    """past_dropout masks decoder inputs in training mode only: predictions then differ from eval mode's and the
    mask token gets a gradient; in eval mode the model is the same as without dropout."""
    torch.manual_seed(0)
    lam = _lam(past_dropout=0.5)
    plain = _lam(past_dropout=0.0)
    plain.load_state_dict(lam.state_dict())
    frames = torch.rand(2, 3, 16, 16, 3)
    codes = torch.randint(0, 8, (2, 3))

    lam.eval(), plain.eval()
    with torch.no_grad():
        reference = lam.predict(frames, codes)
        torch.testing.assert_close(plain.predict(frames, codes), reference, rtol=0, atol=0)
        plain.train()
        torch.testing.assert_close(plain.predict(frames, codes), reference, rtol=0, atol=0)  # nothing else random
        lam.train()
        dropped = lam.predict(frames, codes)
    assert _changed(dropped, reference) > 1e-3

    out = lam(torch.rand(2, 3, 16, 16, 3))  # the whole model runs in training mode
    assert torch.isfinite(out["loss"]) and out["recon"].shape == (2, 2, 16, 16, 3)
    out["loss"].backward()
    assert lam.decoder.mask_token.grad is not None and lam.decoder.mask_token.grad.abs().sum() > 0
    plain(torch.rand(2, 3, 16, 16, 3))["loss"].backward()
    assert plain.decoder.mask_token.grad is None or plain.decoder.mask_token.grad.abs().sum() == 0


def test_lam_bad_input():
    lam = _lam(max_frames=4)
    frames = torch.zeros(2, 3, 16, 16, 3)
    with pytest.raises(ValueError, match=r"frames must hold between 2 and max_frames=4 frames \(dim 1\), got 5"):
        lam(torch.zeros(2, 5, 16, 16, 3))
    with pytest.raises(ValueError, match=r"frames must hold between 2 and max_frames=4 frames \(dim 1\), got 1"):
        lam(torch.zeros(2, 1, 16, 16, 3))
    with pytest.raises(ValueError, match=r"frames must hold between 2 and max_frames=4 frames"):
        lam.infer_actions(torch.zeros(2, 1, 16, 16, 3))
    with pytest.raises(ValueError, match=r"frames must hold between 1 and max_frames=4 frames \(dim 1\), got 5"):
        lam.predict(torch.zeros(2, 5, 16, 16, 3), torch.zeros(2, 5, dtype=torch.long))
    with pytest.raises(ValueError, match=r"frames must be a batch of clips \[B, T\+1, H, W, 3\], got shape"):
        lam(torch.zeros(3, 16, 16, 3))
    with pytest.raises(ValueError, match=r"channels-last .* \(it looks channels-first"):
        lam(torch.zeros(2, 3, 3, 16, 16))
    with pytest.raises(ValueError, match=r"frames must be 16x16 images"):
        lam(torch.zeros(2, 3, 32, 32, 3))
    with pytest.raises(ValueError, match=r"codes must be an integer tensor \[B, T\] = \[2, 3\], got \[2, 2\]"):
        lam.predict(frames, torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"codes must be an integer tensor \[B, T\] = \[2, 3\], got list"):
        lam.predict(frames, [[0, 0, 0]] * 2)
    with pytest.raises(ValueError, match=r"codes must be an integer tensor \[B\] = \[2\], got \[2, 1\]"):
        lam.predict_next(frames, torch.zeros(2, 1, dtype=torch.long))
    with pytest.raises(ValueError, match=r"codes must lie in \[0, 8\)"):
        lam.predict_next(frames, torch.tensor([0, 8]))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(patch=5), r"image_size=16 must be divisible by patch=5"),
        (dict(dim=30, heads=4), r"dim=30 must be divisible by heads=4"),
        (dict(max_frames=1), r"max_frames must be an int >= 2, got 1"),
        (dict(past_dropout=1.0), r"past_dropout must lie in \[0, 1\), got 1.0"),
        (dict(past_dropout=-0.1), r"past_dropout must lie in \[0, 1\), got -0.1"),
        (dict(depth=0), r"depth must be a positive int, got 0"),
        (dict(quantizer="fsq", num_codes=8), r"with quantizer='fsq', num_codes and code_dim follow from fsq_levels"),
        (dict(quantizer="rvq"), r"quantizer must be one of 'vq', 'fsq', got 'rvq'"),
    ],
)
def test_lam_config_rejects(kwargs, message):
    with pytest.raises(ValueError, match=f"LAMConfig: {message}"):
        LAMConfig(**(dict(image_size=16, patch=4, dim=32, heads=2) | kwargs))


def test_lam_config_round_trip():
    """from_config(to_config()) through JSON plus the original's state dict gives identical outputs."""
    torch.manual_seed(0)
    lam = _lam(quantizer="fsq", fsq_levels=(3, 3, 2), code_dim=None, past_dropout=0.25)
    assert lam.num_actions == 18
    clips = torch.rand(2, 3, 16, 16, 3)
    copy = LatentActionModel.from_config(json.loads(json.dumps(lam.to_config())))
    assert copy.config == lam.config
    copy.load_state_dict(lam.state_dict())
    lam.eval(), copy.eval()
    a, b = lam(clips), copy(clips)
    assert torch.equal(a["recon"], b["recon"]) and torch.equal(a["codes"], b["codes"])
    with pytest.raises(ValueError, match=r"LAMConfig.from_dict: unknown keys \['num_action'\]"):
        LAMConfig.from_dict(lam.to_config() | {"num_action": 4})


# ------------------------------------------------------------------------------------------ LAM learning

_MOVES = torch.tensor([[-1, 0], [1, 0], [0, -1], [0, 1]])  # (dy, dx) of the actions up, down, left, right


def _square_world(n: int, g: torch.Generator, *, side: int = 8, step: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` transitions of a white ``side x side`` square on a black 16x16 torus: a uniformly random position, then
    one of the 4 actions, which moves it by ``step`` pixels (wrapping around). Returns uint8 clips [n, 2, 16, 16, 3]
    and the true actions [n, 1]."""
    pos = torch.randint(0, 16, (n, 2), generator=g)  # (y, x) of the top-left corner
    actions = torch.randint(0, 4, (n, 1), generator=g)
    pos = torch.stack([pos, (pos + step * _MOVES[actions[:, 0]]) % 16], 1)  # [n, 2, 2]
    r = torch.arange(16)
    rows = (r - pos[..., 0:1]) % 16 < side  # [n, 2, 16]
    cols = (r - pos[..., 1:2]) % 16 < side
    square = rows[..., :, None] & cols[..., None, :]  # [n, 2, 16, 16]
    return square[..., None].expand(-1, -1, -1, -1, 3).to(torch.uint8) * 255, actions


def _train_lam(seed: int, steps: int) -> dict:
    """A tiny LAM (8 codes) trained with Adam on batches of 32 fresh transitions; then scored on 512 new ones."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    lam = _lam(max_frames=3)
    opt = torch.optim.Adam(lam.parameters(), lr=2e-3)
    for _ in range(steps):
        loss = lam(_square_world(32, g)[0])["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    lam.eval()
    clips, actions = _square_world(512, g)
    with torch.no_grad():
        codes = lam.infer_actions(clips)  # [512, 1]
        target = to_unit(clips[:, 1])
        inferred = lam.predict_next(clips[:, :1], codes[:, 0])
        shuffled = lam.predict_next(clips[:, :1], codes[:, 0].roll(1))  # another transition's action
    return {
        "nmi": normalized_mutual_information(codes.reshape(-1), actions.reshape(-1)),
        "used": int(codes.unique().numel()),
        "mse_inferred": float(F.mse_loss(inferred, target)),
        "mse_shuffled": float(F.mse_loss(shuffled, target)),
        "mse_copy": float(F.mse_loss(to_unit(clips[:, 0]), target)),
    }


def test_lam_discovers_the_actions_of_a_moving_square():
    """Trained without labels, the LAM's codes tell the 4 true actions apart, and the inferred code moves the square.

    Oracle: the true actions (NMI; codes independent of them give 0.01-0.03 here, 8 codes that split each action in
    two give 0.8). Seeds 0-3 reach NMI 0.41-0.80 after 1000 steps, and predict the next frame with MSE 0.031-0.051
    from the inferred code, against 0.126-0.150 from another transition's code and 0.125 for copying the frame.
    A 4x4 square is too faint a signal for this budget: after 1500 steps seeds 0-2 reach only NMI 0.18-0.46, hence
    the 8x8 square."""
    m = _train_lam(seed=0, steps=1000)
    assert m["nmi"] > 0.25, m
    assert m["used"] >= 4, m
    assert m["mse_inferred"] < 0.6 * m["mse_copy"], m
    assert m["mse_inferred"] < 0.6 * m["mse_shuffled"], m
