"""Transformer pieces shared by the world models: multi-head attention, an MLP, the spatio-temporal block and
patchify / unpatchify (frames [B, T, H, W, C] to patch tokens [B, T, S, p·p·C] and back, used by the LAM and the DiT).

All attention goes through :func:`torch.nn.functional.scaled_dot_product_attention`, so the fused kernels (flash,
memory-efficient) are used where the device has them and the math kernel elsewhere (CPU).

:class:`STBlock` is the factorized block of Genie's ST-transformer (Bruce et al. 2024): attention *within* each frame
over its ``S`` spatial tokens, then attention *across* frames at each spatial position, causal in time, then an MLP,
each as a pre-LayerNorm residual. Its output for frame ``t`` depends on frames ``0..t`` only, so a stack of them is
a causal video model that trains on every frame of a clip in parallel. Memory is ``O(T·S² + S·T²)`` per layer,
instead of ``O((T·S)²)`` for full attention.

Example::

    block = STBlock(256, 4)
    x = block(x)                       # x [B, T, S, 256] -> [B, T, S, 256]
    x = block(x, cond=action_emb)      # action_emb [B, T, 256], added to every token of its frame
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import describe as _describe

__all__ = ["MLP", "Attention", "RelativePositionBias", "STBlock", "patchify", "unpatchify"]


class Attention(nn.Module):
    """Multi-head self-attention over sequences ``x [N, L, dim]`` -> ``[N, L, dim]``.

    Args:
        dim: channels of the tokens; a multiple of ``heads``.
        heads: number of attention heads (each of ``dim // heads`` channels).
        causal: if True, position ``i`` attends to positions ``<= i`` only.
        dropout: dropout probability on the attention weights and on the output, in training mode only.
    """

    def __init__(self, dim: int, heads: int, *, causal: bool = False, dropout: float = 0.0):
        super().__init__()
        if dim % heads:
            raise ValueError(f"Attention: dim={dim} is not a multiple of heads={heads}")
        self.heads = heads
        self.causal = causal
        self.dropout = dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.out_drop = nn.Dropout(dropout)

    def forward(
        self,
        x: Tensor,
        bias: Tensor | None = None,
        *,
        past_kv: tuple[Tensor, Tensor] | None = None,
        return_kv: bool = False,
    ) -> Tensor | tuple[Tensor, tuple[Tensor, Tensor]]:
        """Self-attention, optionally over cached keys and values of earlier positions (a KV cache).

        Args:
            x: ``[N, L, dim]``.
            bias: optional additive attention-logit bias ``[heads, L, L]`` (not with ``causal`` or ``past_kv``).
            past_kv: keys and values ``[N, heads, P, dim/heads]`` of ``P`` earlier positions (as returned with
                ``return_kv``); ``x`` then holds ``L = 1`` new position, which attends to the ``P`` cached ones and
                itself: the same result as running all ``P + 1`` positions causally and keeping the last.
            return_kv: also return this call's keys and values ``[N, heads, L, dim/heads]`` (without ``past_kv``'s).

        Returns:
            ``[N, L, dim]``, and the ``(k, v)`` pair if ``return_kv``.
        """
        n, length, dim = x.shape
        if bias is not None and (self.causal or past_kv is not None):
            raise ValueError("Attention: a bias cannot be combined with causal=True or past_kv")
        if past_kv is not None and length != 1:
            raise ValueError(f"Attention: with past_kv, x must hold one new position, got L={length}")
        # [N, L, 3·dim] -> [3, N, heads, L, dim/heads]
        q, k, v = self.qkv(x).view(n, length, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        new_kv = (k, v)
        if past_kv is not None:
            k, v = torch.cat([past_kv[0], k], dim=2), torch.cat([past_kv[1], v], dim=2)
        y = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=None if bias is None else bias.to(q.dtype),
            dropout_p=self.dropout if self.training else 0.0,
            is_causal=self.causal and past_kv is None,  # one new query sees every cached position
        )  # [N, heads, L, dim/heads]
        y = self.out_drop(self.proj(y.transpose(1, 2).reshape(n, length, dim)))
        return (y, new_kv) if return_kv else y


class RelativePositionBias(nn.Module):
    """Learned attention-logit bias for the ``S = h·w`` tokens of a grid, one scalar per head and 2-D offset
    (as Swin and T5): ``forward() -> [heads, S, S]`` with entry ``[n, i, j] = table[n, offset(i, j)]``.

    It lets a head attend to "the cell one to the left" with a single parameter, where absolute position embeddings
    must learn it for every cell. The table starts at zero (no bias).

    Args:
        grid: ``(h, w)`` cells, flattened row-major into ``S``.
        heads: attention heads.
    """

    def __init__(self, grid: tuple[int, int], heads: int):
        super().__init__()
        h, w = grid
        self.table = nn.Parameter(torch.zeros(heads, (2 * h - 1) * (2 * w - 1)))
        ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        ys, xs = ys.reshape(-1), xs.reshape(-1)  # [S]
        dy = ys[:, None] - ys[None, :] + h - 1  # [S, S] in [0, 2h-1)
        dx = xs[:, None] - xs[None, :] + w - 1  # [S, S] in [0, 2w-1)
        self.register_buffer("index", dy * (2 * w - 1) + dx, persistent=False)

    def forward(self) -> Tensor:
        """The bias ``[heads, S, S]``."""
        return self.table[:, self.index]


class MLP(nn.Module):
    """Two-layer perceptron ``x [..., dim]`` -> ``[..., out_dim]``: Linear, GELU, Linear, Dropout.

    Args:
        dim: input channels.
        hidden: hidden channels.
        out_dim: output channels (``dim`` if None).
        dropout: dropout probability on the output, in training mode only.
    """

    def __init__(self, dim: int, hidden: int, *, out_dim: int | None = None, dropout: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim if out_dim is None else out_dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        """``x [..., dim]`` -> ``[..., out_dim]``."""
        return self.drop(self.fc2(F.gelu(self.fc1(x))))


class STBlock(nn.Module):
    """Spatio-temporal transformer block on video tokens ``x [B, T, S, dim]`` (``S`` tokens per frame).

    ``x += cond`` (if given, per frame), then three pre-LayerNorm residual layers:

    1. spatial attention within each frame: ``[B·T, S, dim]``, not causal;
    2. temporal attention across frames at each spatial position: ``[B·S, T, dim]``, causal;
    3. MLP on each token.

    The output at frame ``t`` depends on the inputs (and ``cond``) at frames ``<= t`` only.

    Args:
        dim: token channels; a multiple of ``heads``.
        heads: attention heads of both attentions.
        mlp_ratio: hidden channels of the MLP per token channel.
        dropout: dropout probability (attention weights and residual branches), in training mode only.
        grid: ``(h, w)`` layout of the ``S = h·w`` tokens of a frame; if given, spatial attention gets a
            :class:`RelativePositionBias` (then ``S`` must be ``h·w``).
    """

    def __init__(
        self,
        dim: int,
        heads: int,
        *,
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
        grid: tuple[int, int] | None = None,
    ):
        super().__init__()
        self.spatial_bias = None if grid is None else RelativePositionBias(grid, heads)
        self.norm_spatial = nn.LayerNorm(dim)
        self.spatial = Attention(dim, heads, causal=False, dropout=dropout)
        self.norm_temporal = nn.LayerNorm(dim)
        self.temporal = Attention(dim, heads, causal=True, dropout=dropout)
        self.norm_mlp = nn.LayerNorm(dim)
        self.mlp = MLP(dim, int(round(dim * mlp_ratio)), dropout=dropout)

    def forward(
        self,
        x: Tensor,
        cond: Tensor | None = None,
        *,
        past_kv: tuple[Tensor, Tensor] | None = None,
        return_kv: bool = False,
    ) -> Tensor | tuple[Tensor, tuple[Tensor, Tensor]]:
        """``x [B, T, S, dim]``, optional ``cond [B, T, dim]`` added to every token of its frame -> ``[B, T, S, dim]``.

        ``return_kv`` also returns the temporal attention's keys and values ``[B·S, heads, T, dim/heads]``; passing
        them back as ``past_kv`` with one new frame ``x [B, 1, S, dim]`` gives that frame's output as if all frames
        had been run together (incremental decoding: earlier frames are not recomputed).
        """
        b, t, s, d = x.shape
        if cond is not None:
            if cond.shape != (b, t, d):
                raise ValueError(
                    f"STBlock: cond has shape {tuple(cond.shape)}, expected {(b, t, d)} for x {(b, t, s, d)}"
                )
            x = x + cond[:, :, None, :]
        h = self.norm_spatial(x).reshape(b * t, s, d)  # [B·T, S, dim]
        bias = None if self.spatial_bias is None else self.spatial_bias()  # [heads, S, S]
        x = x + self.spatial(h, bias).view(b, t, s, d)
        h = self.norm_temporal(x).transpose(1, 2).reshape(b * s, t, d)  # [B·S, T, dim]
        y = self.temporal(h, past_kv=past_kv, return_kv=return_kv)
        y, kv = y if return_kv else (y, None)
        x = x + y.view(b, s, t, d).transpose(1, 2)
        x = x + self.mlp(self.norm_mlp(x))
        return (x, kv) if return_kv else x


def patchify(frames: Tensor, patch: int) -> Tensor:
    """``frames [B, T, H, W, C]`` -> tokens ``[B, T, (H/p)·(W/p), p·p·C]`` (patches row-major, each patch's pixels
    row-major with channels last); ``H`` and ``W`` must be multiples of ``patch``."""
    if not isinstance(frames, Tensor) or frames.dim() != 5:
        raise ValueError(f"frames must be a tensor [B, T, H, W, C], got {_describe(frames)}")
    b, t, h, w, c = frames.shape
    if not isinstance(patch, int) or patch < 1 or h % patch or w % patch:
        raise ValueError(f"patch must be a positive int dividing H={h} and W={w}, got {patch!r}")
    x = frames.reshape(b, t, h // patch, patch, w // patch, patch, c).permute(0, 1, 2, 4, 3, 5, 6)
    return x.reshape(b, t, (h // patch) * (w // patch), patch * patch * c)


def unpatchify(tokens: Tensor, patch: int, height: int, width: int) -> Tensor:
    """Inverse of :func:`patchify`: ``tokens [B, T, S, p·p·C]`` -> frames ``[B, T, height, width, C]``."""
    if not isinstance(tokens, Tensor) or tokens.dim() != 4:
        raise ValueError(f"tokens must be a tensor [B, T, S, p*p*C], got {_describe(tokens)}")
    b, t, s, d = tokens.shape
    if height % patch or width % patch or s != (height // patch) * (width // patch) or d % (patch * patch):
        raise ValueError(f"tokens [.., S={s}, {d}] do not tile a {height}x{width} frame with {patch}x{patch} patches")
    c = d // (patch * patch)
    x = tokens.reshape(b, t, height // patch, width // patch, patch, patch, c).permute(0, 1, 2, 4, 3, 5, 6)
    return x.reshape(b, t, height, width, c)
