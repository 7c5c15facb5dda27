"""DiT building blocks: patchify round trip and token counts, AdaLN-Zero identity at initialization, causal masking
in time (frame t's output unaffected by later frames), and clear errors."""

import pytest
import torch

from worldsim.models.dit_blocks import AdaLNZeroBlock, patchify, unpatchify


def test_patchify_round_trip_and_token_layout():
    frames = torch.randn(2, 3, 64, 48, 3)
    tokens = patchify(frames, 8)
    assert tokens.shape == (2, 3, (64 // 8) * (48 // 8), 8 * 8 * 3)
    # token 1 is the second patch of the first patch row: rows 0-7, columns 8-15
    torch.testing.assert_close(tokens[0, 0, 1], frames[0, 0, :8, 8:16].reshape(-1))
    assert torch.equal(unpatchify(tokens, 8, 64, 48), frames)
    with pytest.raises(ValueError, match="dividing"):
        patchify(frames, 5)
    with pytest.raises(ValueError, match="do not tile"):
        unpatchify(tokens, 8, 64, 64)


def test_adaln_zero_block_is_the_identity_at_init():
    torch.manual_seed(0)
    block = AdaLNZeroBlock(32, 4).eval()
    x, c = torch.randn(2, 5, 6, 32), torch.randn(2, 5, 32)
    assert torch.equal(block(x, c), x)


def test_temporal_attention_is_causal():
    torch.manual_seed(0)
    block = AdaLNZeroBlock(32, 4).eval()
    with torch.no_grad():  # leave the zero init, so that every path contributes
        block.modulation[1].weight.normal_(0, 0.2)
        block.modulation[1].bias.normal_(0, 0.2)
    x, c = torch.randn(2, 5, 6, 32), torch.randn(2, 5, 32)
    base = block(x, c)
    assert not torch.allclose(base, x)
    for k in range(4):
        x2, c2 = x.clone(), c.clone()
        x2[:, k + 1 :] += torch.randn_like(x2[:, k + 1 :])  # change every frame after k
        c2[:, k + 1 :] += 1.0
        out = block(x2, c2)
        torch.testing.assert_close(out[:, : k + 1], base[:, : k + 1], rtol=0, atol=1e-5)
        assert not torch.allclose(out[:, k + 1], base[:, k + 1])
    with pytest.raises(ValueError, match="c must have shape"):
        block(x, c[:, :3])
    with pytest.raises(ValueError, match="multiple of heads"):
        AdaLNZeroBlock(30, 4)
