"""Building blocks of worldsim's video diffusion transformer (DiT, Peebles & Xie 2023): the AdaLN-Zero
spatio-temporal block (and, from :mod:`~worldsim.models.blocks`, patchify / unpatchify: frames ``[B, T, H, W, C]``
to patch tokens ``[B, T, S, p·p·C]``, ``S = (H/p)·(W/p)`` row-major, and back).

:class:`AdaLNZeroBlock` is :class:`~worldsim.models.blocks.STBlock`'s factorized layout (attention within each frame,
then causal attention across frames at each patch position, then an MLP), with every sub-layer conditioned by
adaptive LayerNorm: a per-frame conditioning vector ``c [B, T, dim]`` (the frame's noise level and action) gives,
through one linear layer, a shift, a scale and a gate for each of the three sub-layers:
``x = x + gate · f(LayerNorm(x) · (1 + scale) + shift)``. That linear layer starts at zero, so every gate is 0 and
the block is exactly the identity at initialization ("-Zero"), which lets deep stacks start as a no-op and learn
residuals.

Example::

    tokens = patchify(frames, 4)                  # [B, T, 16·16, 48] for 64x64 RGB frames
    block = AdaLNZeroBlock(256, 4)
    x = block(embed(tokens), c)                   # c [B, T, 256]
"""

from __future__ import annotations

from torch import Tensor, nn

from .blocks import MLP, Attention, patchify, unpatchify

__all__ = ["AdaLNZeroBlock", "patchify", "unpatchify"]  # the last two from blocks, re-exported


class AdaLNZeroBlock(nn.Module):
    """Spatial attention, causal temporal attention and an MLP, each modulated by AdaLN-Zero (module docstring).

    Args:
        dim: channels.
        heads: attention heads (``dim`` a multiple of it).
        mlp_ratio: hidden channels of the MLP per channel.
        dropout: dropout in attention and MLP, in training mode.
    """

    def __init__(self, dim: int, heads: int, *, mlp_ratio: float = 4.0, dropout: float = 0.0):
        super().__init__()
        if dim % heads:
            raise ValueError(f"AdaLNZeroBlock: dim={dim} is not a multiple of heads={heads}")
        self.norms = nn.ModuleList(nn.LayerNorm(dim, elementwise_affine=False) for _ in range(3))
        self.spatial = Attention(dim, heads, causal=False, dropout=dropout)
        self.temporal = Attention(dim, heads, causal=True, dropout=dropout)
        self.mlp = MLP(dim, int(dim * mlp_ratio), dropout=dropout)
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 9 * dim))  # (shift, scale, gate) x 3 sub-layers
        nn.init.zeros_(self.modulation[1].weight)
        nn.init.zeros_(self.modulation[1].bias)

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        """``x [B, T, S, dim]`` tokens, ``c [B, T, dim]`` per-frame conditioning -> ``[B, T, S, dim]``; frame ``t``'s
        output depends on frames ``0..t`` (tokens and conditioning) only."""
        b, t, s, d = x.shape
        if c.shape != (b, t, d):
            raise ValueError(f"c must have shape [B, T, dim] = {[b, t, d]}, got {list(c.shape)}")
        mods = self.modulation(c)[:, :, None].chunk(9, dim=-1)  # 9 x [B, T, 1, dim]

        def modulated(i: int) -> Tensor:
            shift, scale = mods[3 * i], mods[3 * i + 1]
            return self.norms[i](x) * (1 + scale) + shift

        y = self.spatial(modulated(0).reshape(b * t, s, d)).view(b, t, s, d)
        x = x + mods[2] * y
        y = modulated(1).transpose(1, 2).reshape(b * s, t, d)
        y = self.temporal(y).view(b, s, t, d).transpose(1, 2)
        x = x + mods[5] * y
        return x + mods[8] * self.mlp(modulated(2))
