"""Quantizers for the Genie-style video tokenizer and latent action model: an EMA VQ-VAE codebook and FSQ.

Both map channels-last vectors ``z [..., D]`` (leading dims arbitrary: ``[B, H, W]`` patches, ``[B, T]`` actions) to
the nearest point of a finite set, and give it back with a straight-through gradient:

- :class:`VectorQuantizer`: a codebook of ``num_codes`` vectors (VQ-VAE, van den Oord et al. 2017) learned by
  exponential moving averages (their appendix A.1; Razavi et al. 2019), seeded by k-means++ on the first training
  batch, with dead-code restarts (Dhariwal et al. 2020, Jukebox) so that every code stays in use.
- :class:`FSQ`: finite scalar quantization (Mentzer et al. 2023): each of ``len(levels)`` channels is bounded and
  rounded to ``levels[i]`` values; nothing is learned, so nothing can collapse.

:func:`make_quantizer` builds one from a config (``kind="vq"`` or ``"fsq"``).

Example::

    vq = VectorQuantizer(8, 32)                  # a latent-action bottleneck: 8 codes of 32 channels
    out = vq(z)                                  # z [B, T, 32]
    loss = recon_loss + out.loss                 # commitment loss; the codebook itself learns by EMA
    frames = decoder(vq.embed(out.codes))        # codes [B, T] -> vectors [B, T, 32]
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["FSQ", "QUANTIZER_KINDS", "Quantizer", "QuantizerOutput", "VectorQuantizer", "make_quantizer"]

QUANTIZER_KINDS = ("vq", "fsq")
"""The ``kind`` names :func:`make_quantizer` accepts."""

_KMEANS_MAX_POINTS = 16384  # k-means++ seeding looks at most at this many vectors of the first batch


@dataclass
class QuantizerOutput:
    """What a quantizer returns for ``z [..., D]``.

    Attributes:
        z_q: quantized vectors [..., D] in ``z.dtype``. The forward value is the code's vector; the backward pass
            is straight-through (VQ: the identity, as ``z + (z_q - z).detach()``; FSQ: through the bounding, see
            :class:`FSQ`).
        codes: code indices [...], int64, in ``[0, num_codes)``.
        loss: scalar to add to the training loss: the commitment loss for VQ, 0 for FSQ.
        perplexity: scalar, ``exp`` of the entropy of this batch's code histogram: 1 when one code is used,
            ``num_codes`` when every code is used equally often. No gradient.
        usage: scalar, fraction of the codes used at least once in this batch, in ``(0, 1]``. No gradient.
    """

    z_q: Tensor
    codes: Tensor
    loss: Tensor
    perplexity: Tensor
    usage: Tensor


class Quantizer(nn.Module, abc.ABC):
    """Common interface: ``forward(z [..., dim]) -> QuantizerOutput`` and ``embed(codes [...]) -> [..., dim]``.

    Attributes:
        num_codes: number of distinct codes.
        dim: channels of the vectors quantized (the last dim of ``z``).
    """

    num_codes: int
    dim: int

    @abc.abstractmethod
    def forward(self, z: Tensor) -> QuantizerOutput:
        """Quantize ``z [..., dim]`` (channels last)."""

    @abc.abstractmethod
    def embed(self, codes: Tensor) -> Tensor:
        """Vectors [..., dim] of integer ``codes [...]``, equal to ``z_q`` of the forward that gave the codes."""

    def _flatten_input(self, z: Tensor) -> Tensor:
        """Check ``z [..., dim]`` and return it as ``[N, dim]``."""
        name = type(self).__name__
        if not isinstance(z, Tensor):
            raise TypeError(f"{name}: z must be a torch.Tensor of shape [..., {self.dim}], got {type(z).__name__}")
        if not z.dtype.is_floating_point:
            raise ValueError(f"{name}: z must be a floating-point tensor, got dtype {z.dtype}")
        if z.ndim == 0 or z.shape[-1] != self.dim:
            raise ValueError(
                f"{name}: z must have shape [..., {self.dim}] (channels last), got last dimension "
                f"{z.shape[-1] if z.ndim else None} in shape {tuple(z.shape)}"
            )
        if z.numel() == 0:
            raise ValueError(f"{name}: z has no vectors (shape {tuple(z.shape)})")
        return z.reshape(-1, self.dim)

    def _check_codes(self, codes: Tensor) -> Tensor:
        """Check integer ``codes`` in ``[0, num_codes)`` and return them as int64."""
        name = type(self).__name__
        if not isinstance(codes, Tensor):
            raise TypeError(f"{name}.embed: codes must be a torch.Tensor, got {type(codes).__name__}")
        if codes.dtype.is_floating_point or codes.dtype.is_complex or codes.dtype == torch.bool:
            raise ValueError(f"{name}.embed: codes must be an integer tensor, got dtype {codes.dtype}")
        if codes.numel() > 0:
            lo, hi = int(codes.min()), int(codes.max())
            if lo < 0 or hi >= self.num_codes:
                raise ValueError(f"{name}.embed: codes must lie in [0, {self.num_codes}), got values in [{lo}, {hi}]")
        return codes.long()


def _code_statistics(counts: Tensor) -> tuple[Tensor, Tensor]:
    """Perplexity and usage of a code histogram ``counts [num_codes]``."""
    probs = counts.float() / counts.sum()
    perplexity = torch.exp(-torch.special.xlogy(probs, probs).sum())  # xlogy(0, 0) = 0
    usage = (counts > 0).float().mean()
    return perplexity, usage


def _distributed() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def _kmeans_plus_plus(x: Tensor, k: int) -> Tensor:
    """Greedy k-means++ seeding (Arthur & Vassilvitskii 2007; scikit-learn's variant): ``k`` rows of ``x [N, D]``.

    Each new row is the best, by the k-means potential ``sum_n min_j |x_n - c_j|^2``, of ``2 + log(k)`` candidates
    drawn with probability proportional to their squared distance to the rows already chosen. Returns ``[k, D]``;
    rows repeat when ``N < k``. No host-device synchronization."""
    if x.shape[0] > _KMEANS_MAX_POINTS:
        x = x[torch.randperm(x.shape[0], device=x.device)[:_KMEANS_MAX_POINTS]]
    trials = 2 + int(math.log(k))
    sq_norm = (x**2).sum(1)  # [N]
    centres = x.new_empty(k, x.shape[1])
    idx = torch.randint(x.shape[0], (1,), device=x.device)
    centres[0:1] = x[idx]
    d2 = ((x - x[idx]) ** 2).sum(1)  # [N] squared distance to the nearest centre so far
    tiny = torch.finfo(d2.dtype).tiny  # keeps the weights valid once every row is a centre (d2 == 0)
    for i in range(1, k):
        cand = torch.multinomial(d2 + tiny, trials, replacement=True)  # [T]
        cand_d2 = (sq_norm[:, None] - 2 * x @ x[cand].t() + sq_norm[cand]).clamp_min(0)  # [N, T]
        new_d2 = torch.minimum(d2[:, None], cand_d2)  # [N, T]
        best = new_d2.sum(0).argmin()  # the candidate that lowers the potential most
        centres[i] = x[cand[best]]
        d2 = new_d2[:, best]
    return centres


class VectorQuantizer(Quantizer):
    """Nearest-neighbour codebook lookup with an EMA-learned codebook, k-means++ seeding and dead-code restarts.

    The codebook ``[num_codes, dim]`` is a buffer, not a parameter: it gets no gradient and is updated only in
    training mode (``module.train()``), once per forward (so activation checkpointing, which re-runs the forward,
    updates it twice), after the codes of that forward are chosen:

    - EMA (van den Oord et al. 2017, appendix A.1): with ``n_k`` the number of vectors assigned to code ``k`` in the
      batch and ``m_k`` their sum, ``N_k <- d N_k + (1 - d) n_k`` (``ema_cluster_size``) and
      ``M_k <- d M_k + (1 - d) m_k`` (``ema_embed_sum``), ``d = ema_decay``; then ``e_k = M_k / N~_k`` with the
      Laplace-smoothed ``N~_k = (N_k + eps) / (sum N + K eps) * sum N``, so an empty cluster never divides by 0.
      The statistics start at ``N_k = 1, M_k = e_k`` (one pseudo-observation at the initial code), so that
      ``e_k = M_k / N~_k`` holds from the first step.
    - Dead-code restarts (Jukebox): ``N_k`` is the running mean count of vectors per batch assigned to code ``k``;
      a code with ``N_k < restart_threshold`` is dead and is moved to a randomly chosen encoder output of the
      current batch (distinct outputs when the batch has at least ``num_codes`` vectors), its statistics reset to
      ``N_k = max(1, restart_threshold)`` pseudo-observations at that vector (it survives the next step if it then
      attracts about ``restart_threshold`` vectors or more). ``restart_count`` counts the restarts;
      ``restart_threshold=0`` turns restarts off. Restarts cost no host-device synchronization.
    - Data init (``data_init=True``): the first training forward seeds the codebook with k-means++ on that batch
      (``initialized`` records that it happened and is saved in the state dict, so a loaded model is not re-seeded).
      Without it the codebook starts as standard-normal vectors.

    Loss: the commitment loss ``beta * mean((z - sg(e))^2)`` with ``e`` the chosen code. ``z_q = e + z - sg(z)``
    (``z + sg(e - z)`` without its rounding error: the value is exactly ``e``) passes the gradient through unchanged.
    With ``l2_normalize=True`` (ViT-VQGAN, Yu et al. 2022) ``z`` and the codes are normalized to unit length before
    the lookup (nearest by cosine similarity), the codebook is kept normalized, and ``z_q`` and the loss refer to the
    normalized ``z``: the gradient then flows through the normalization, not as the identity.

    Distributed (``torch.distributed`` initialized, e.g. under ``torchrun``/DDP; the default process group): the
    batch statistics ``n_k, m_k`` are all-reduced (summed over ranks) before the EMA step, and the k-means++ seeds and
    the restart candidates are drawn on rank 0 and broadcast, so every replica holds the same codebook after each
    training forward whatever its local batch (DDP's own buffer broadcast, if on, is then a no-op). Every rank must
    therefore call forward in training mode the same number of times. ``perplexity``/``usage`` describe the local
    batch.
    Precision: the lookup runs in the codebook's dtype (float32 unless the module is cast) with autocast off.

    Args:
        num_codes: codebook size K.
        dim: channels D of the vectors.
        beta: weight of the commitment loss.
        ema_decay: EMA decay ``d`` in ``[0, 1)``.
        eps: Laplace smoothing of the cluster sizes (> 0).
        restart_threshold: a code whose EMA cluster size (vectors per batch, all ranks together) falls below this is
            restarted; 0 disables restarts.
        l2_normalize: look up by cosine similarity with unit-length codes.
        data_init: seed the codebook by k-means++ on the first training batch.
    """

    def __init__(
        self,
        num_codes: int,
        dim: int,
        *,
        beta: float = 0.25,
        ema_decay: float = 0.99,
        eps: float = 1e-5,
        restart_threshold: float = 1.0,
        l2_normalize: bool = False,
        data_init: bool = True,
    ):
        super().__init__()
        if isinstance(num_codes, bool) or not isinstance(num_codes, int) or num_codes < 1:
            raise ValueError(f"VectorQuantizer: num_codes must be a positive integer, got {num_codes!r}")
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"VectorQuantizer: dim must be a positive integer, got {dim!r}")
        if not beta >= 0:
            raise ValueError(f"VectorQuantizer: beta must be >= 0, got {beta}")
        if not 0 <= ema_decay < 1:
            raise ValueError(f"VectorQuantizer: ema_decay must lie in [0, 1), got {ema_decay}")
        if not eps > 0:
            raise ValueError(f"VectorQuantizer: eps must be > 0, got {eps}")
        if not restart_threshold >= 0:
            raise ValueError(f"VectorQuantizer: restart_threshold must be >= 0 (0 disables), got {restart_threshold}")
        self.num_codes = num_codes
        self.dim = dim
        self.beta = float(beta)
        self.ema_decay = float(ema_decay)
        self.eps = float(eps)
        self.restart_threshold = float(restart_threshold)
        self.l2_normalize = bool(l2_normalize)
        self.data_init = bool(data_init)
        codebook = torch.randn(num_codes, dim)
        if self.l2_normalize:
            codebook = F.normalize(codebook, dim=-1)
        self.codebook: Tensor
        self.ema_cluster_size: Tensor
        self.ema_embed_sum: Tensor
        self.initialized: Tensor
        self.restart_count: Tensor
        self.register_buffer("codebook", codebook)  # [K, D]
        self.register_buffer("ema_cluster_size", torch.ones(num_codes))  # [K] N_k
        self.register_buffer("ema_embed_sum", codebook.clone())  # [K, D] M_k
        self.register_buffer("initialized", torch.tensor(not self.data_init))
        self.register_buffer("restart_count", torch.zeros((), dtype=torch.long))
        self._initialized_seen = not self.data_init  # host copy of `initialized`, to avoid a device sync per step

    def extra_repr(self) -> str:
        return (
            f"num_codes={self.num_codes}, dim={self.dim}, beta={self.beta}, ema_decay={self.ema_decay}, "
            f"restart_threshold={self.restart_threshold}, l2_normalize={self.l2_normalize}"
        )

    def _load_from_state_dict(self, *args, **kwargs):
        super()._load_from_state_dict(*args, **kwargs)
        self._initialized_seen = False  # re-read `initialized` on the next training forward

    @torch.no_grad()
    def init_codebook(self, vectors: Tensor) -> None:
        """Set the codebook to ``vectors [num_codes, dim]`` (normalized if ``l2_normalize``), reset the EMA
        statistics to one pseudo-observation per code and mark the codebook initialized (no data init follows)."""
        if not isinstance(vectors, Tensor) or tuple(vectors.shape) != (self.num_codes, self.dim):
            got = tuple(vectors.shape) if isinstance(vectors, Tensor) else type(vectors).__name__
            raise ValueError(
                f"VectorQuantizer.init_codebook: vectors must have shape ({self.num_codes}, {self.dim}), got {got}"
            )
        vectors = vectors.to(self.codebook)
        if self.l2_normalize:
            vectors = F.normalize(vectors, dim=-1)
        self.codebook.copy_(vectors)
        self.ema_embed_sum.copy_(vectors)
        self.ema_cluster_size.fill_(1.0)
        self.initialized.fill_(True)
        self._initialized_seen = True

    def forward(self, z: Tensor) -> QuantizerOutput:
        """Quantize ``z [..., dim]``; in training mode, then update the codebook (see the class docstring)."""
        flat = self._flatten_input(z)  # [N, D]
        target = F.normalize(flat, dim=-1) if self.l2_normalize else flat  # [N, D] what z_q approximates
        x = target.detach().to(self.codebook.dtype)  # [N, D] lookup and statistics in the codebook's dtype

        if self.training and not self._initialized_seen:
            if not bool(self.initialized):
                self._init_from_data(x)
            self._initialized_seen = True

        with torch.autocast(device_type=x.device.type, enabled=False):
            # argmin_k |x - e_k|^2 = argmin_k (|e_k|^2 - 2 x.e_k): |x|^2 is the same for every k
            scores = torch.addmm((self.codebook**2).sum(1), x, self.codebook.t(), alpha=-2.0)  # [N, K]
        codes = scores.argmin(dim=1)  # [N]
        z_q = self.codebook[codes].to(target.dtype)  # [N, D] a copy: the update below does not change it
        counts = torch.bincount(codes, minlength=self.num_codes)  # [K] this rank's histogram

        if self.training:
            self._update_codebook(x, codes, counts.to(x.dtype))

        loss = self.beta * F.mse_loss(target, z_q.detach())
        z_q = z_q + (target - target.detach())  # straight-through; the value stays exactly the code's (t - t == 0)
        perplexity, usage = _code_statistics(counts)
        return QuantizerOutput(
            z_q=z_q.reshape(z.shape),
            codes=codes.reshape(z.shape[:-1]),
            loss=loss,
            perplexity=perplexity,
            usage=usage,
        )

    def embed(self, codes: Tensor) -> Tensor:
        """Codebook vectors [..., dim] of ``codes [...]`` (integers in ``[0, num_codes)``)."""
        return F.embedding(self._check_codes(codes), self.codebook)

    @torch.no_grad()
    def _init_from_data(self, x: Tensor) -> None:
        if not _distributed() or torch.distributed.get_rank() == 0:
            vectors = _kmeans_plus_plus(x, self.num_codes)
        else:
            vectors = torch.empty_like(self.codebook)
        if _distributed():
            torch.distributed.broadcast(vectors, src=0)
        self.init_codebook(vectors)

    @torch.no_grad()
    def _update_codebook(self, x: Tensor, codes: Tensor, counts: Tensor) -> None:
        """One EMA step on ``x [N, D]`` assigned to ``codes [N]`` (``counts [K]``), then dead-code restarts."""
        sums = torch.zeros_like(self.ema_embed_sum).index_add_(0, codes, x)  # [K, D] m_k
        if _distributed():
            stats = torch.cat([counts[:, None], sums], dim=1)  # [K, 1 + D]: one all-reduce for both
            torch.distributed.all_reduce(stats)
            counts, sums = stats[:, 0], stats[:, 1:]
        d = self.ema_decay
        self.ema_cluster_size.mul_(d).add_(counts, alpha=1 - d)
        self.ema_embed_sum.mul_(d).add_(sums, alpha=1 - d)
        total = self.ema_cluster_size.sum()
        smoothed = (self.ema_cluster_size + self.eps) / (total + self.num_codes * self.eps) * total  # [K] N~_k
        codebook = self.ema_embed_sum / smoothed[:, None]
        if self.l2_normalize:
            codebook = F.normalize(codebook, dim=-1)
        self.codebook.copy_(codebook)
        if self.restart_threshold > 0:
            self._restart_dead_codes(x)

    @torch.no_grad()
    def _restart_dead_codes(self, x: Tensor) -> None:
        """Move codes with ``ema_cluster_size < restart_threshold`` to random rows of ``x [N, D]`` (no host sync)."""
        n, k = x.shape[0], self.num_codes
        if n >= k:
            idx = torch.randperm(n, device=x.device)[:k]
        else:
            idx = torch.randint(n, (k,), device=x.device)
        candidates = x[idx]  # [K, D] one candidate per code; only the dead codes take theirs
        if _distributed():
            torch.distributed.broadcast(candidates, src=0)
        dead = self.ema_cluster_size < self.restart_threshold  # [K], the same on every rank
        reset_size = max(1.0, self.restart_threshold)
        self.codebook.copy_(torch.where(dead[:, None], candidates, self.codebook))
        self.ema_embed_sum.copy_(torch.where(dead[:, None], candidates * reset_size, self.ema_embed_sum))
        self.ema_cluster_size.masked_fill_(dead, reset_size)
        self.restart_count.add_(dead.sum())


class FSQ(Quantizer):
    """Finite scalar quantization (Mentzer et al. 2023, "Finite Scalar Quantization: VQ-VAE Made Simple").

    Channel ``i`` of ``z [..., len(levels)]`` is bounded to ``L = levels[i]`` values and rounded:
    ``f(z) = tanh(z + s) * h - o`` with ``h = (L - 1)(1 + eps) / 2``, ``o = 0.5`` for even ``L`` (else 0) and
    ``s = atanh(o / h)``, so ``f(0) = 0`` and ``round(f(z))`` takes exactly the ``L`` integer values
    ``-(L // 2) ... L - 1 - L // 2`` (the half-offset gives even ``L`` its extra value below 0). Then
    ``z_q = round(f(z)) / (L // 2)``, a grid in ``[-1, 1]``. Rounding is straight-through, so the gradient is that
    of ``f(z) / (L // 2)``: the bounding is differentiated, as in the paper (not the identity of VQ).
    For even ``L`` the bins are not symmetric about ``z = 0``; for ``L = 2`` the boundary between the two values lies
    at ``z = -atanh(1 / (1 + eps))`` (about -3.8), so prefer ``L >= 3`` (the paper uses 5 to 8).

    ``num_codes = prod(levels)``; a code is the mixed-radix number of the per-channel digits
    ``round(f(z_i)) + L_i // 2``, channel 0 the least significant. ``loss`` is 0: there is no codebook to learn.
    Callers project their features to ``dim = len(levels)`` channels first (the paper's recipes: ``[8, 5, 5, 5]``
    for 1000 codes, ``[8, 8, 8, 5, 5, 5]`` for 64000).

    Args:
        levels: values per channel, each an integer >= 2.
        eps: widens the bound so that the outermost values are reached; needs ``eps * (max(levels) - 1) < 1``.
    """

    def __init__(self, levels: Sequence[int], *, eps: float = 1e-3):
        super().__init__()
        if isinstance(levels, (str, bytes)) or not isinstance(levels, Sequence) or len(levels) == 0:
            raise ValueError(f"FSQ: levels must be a non-empty list of integers >= 2, got {levels!r}")
        bad = [lv for lv in levels if isinstance(lv, bool) or not isinstance(lv, int) or lv < 2]
        if bad:
            raise ValueError(f"FSQ: levels must be integers >= 2, got {list(levels)!r} (bad: {bad!r})")
        if not 0 < eps * (max(levels) - 1) < 1:
            raise ValueError(
                f"FSQ: eps must be > 0 and eps * (max(levels) - 1) < 1 so that rounding stays on the grid, "
                f"got eps={eps} with max(levels)={max(levels)}"
            )
        self.levels = tuple(int(lv) for lv in levels)
        self.eps = float(eps)
        self.dim = len(self.levels)
        self.num_codes = math.prod(self.levels)
        # Integer buffers only: the bounding constants are derived in each forward's dtype, so that casting the
        # module (``.double()``, ``.bfloat16()``) cannot coarsen them.
        self._levels_t: Tensor
        self._half_width: Tensor
        self._radix: Tensor
        self.register_buffer("_levels_t", torch.tensor(self.levels), persistent=False)  # [d] L
        self.register_buffer("_half_width", self._levels_t // 2, persistent=False)  # [d] L // 2
        radix = torch.cumprod(torch.tensor((1,) + self.levels[:-1]), 0)  # [d] mixed-radix place values
        self.register_buffer("_radix", radix, persistent=False)

    def extra_repr(self) -> str:
        return f"levels={list(self.levels)}, num_codes={self.num_codes}"

    def forward(self, z: Tensor) -> QuantizerOutput:
        """Quantize ``z [..., len(levels)]``."""
        flat = self._flatten_input(z)  # [N, d]
        dtype = torch.promote_types(z.dtype, torch.float32)  # bf16/fp16 are computed in float32
        x = flat.to(dtype)
        levels = self._levels_t.to(dtype)
        half_l = (levels - 1) * (1 + self.eps) / 2  # [d] h
        offset = (self._levels_t % 2 == 0).to(dtype) / 2  # [d] o
        shift = torch.atanh(offset / half_l)  # [d] s
        bounded = torch.tanh(x + shift) * half_l - offset  # [N, d] f(z)
        rounded = torch.round(bounded)  # [N, d] integers in [-(L // 2), L - 1 - L // 2]
        # straight-through rounding, written so that the forward value is exactly `rounded` (bounded - bounded == 0)
        z_q = (rounded + (bounded - bounded.detach())) / self._half_width.to(dtype)
        digits = rounded.long() + self._half_width  # [N, d] in [0, L)
        codes = (digits * self._radix).sum(-1)  # [N]
        perplexity, usage = _code_statistics(torch.bincount(codes, minlength=self.num_codes))
        return QuantizerOutput(
            z_q=z_q.to(z.dtype).reshape(z.shape),
            codes=codes.reshape(z.shape[:-1]),
            loss=torch.zeros((), dtype=z.dtype, device=z.device),
            perplexity=perplexity,
            usage=usage,
        )

    def embed(self, codes: Tensor) -> Tensor:
        """Grid vectors [..., len(levels)] of ``codes [...]`` (integers in ``[0, prod(levels))``), float32."""
        codes = self._check_codes(codes)
        digits = (codes[..., None] // self._radix) % self._levels_t  # [..., d]
        return (digits - self._half_width).float() / self._half_width.float()


def make_quantizer(
    kind: str,
    *,
    dim: int,
    num_codes: int | None = None,
    levels: Sequence[int] | None = None,
    **kwargs,
) -> Quantizer:
    """Build a quantizer from a config.

    Args:
        kind: ``"vq"`` (:class:`VectorQuantizer`, needs ``num_codes``) or ``"fsq"`` (:class:`FSQ`, needs ``levels``
            with ``len(levels) == dim``).
        dim: channels of the vectors quantized.
        num_codes: codebook size, for ``"vq"``.
        levels: values per channel, for ``"fsq"``.
        **kwargs: keyword arguments of the chosen class (``beta``, ``ema_decay``, ... for VQ; ``eps`` for FSQ).
    """
    if kind == "vq":
        if num_codes is None or levels is not None:
            raise ValueError(
                f"make_quantizer('vq'): give num_codes and not levels, got num_codes={num_codes!r}, levels={levels!r}"
            )
        return VectorQuantizer(num_codes, dim, **kwargs)
    if kind == "fsq":
        if levels is None or num_codes is not None:
            raise ValueError(
                f"make_quantizer('fsq'): give levels and not num_codes (FSQ has prod(levels) codes), "
                f"got levels={levels!r}, num_codes={num_codes!r}"
            )
        quantizer = FSQ(levels, **kwargs)
        if dim != quantizer.dim:
            raise ValueError(
                f"make_quantizer('fsq'): dim={dim} but levels={list(levels)!r} quantize len(levels)={quantizer.dim} "
                f"channels; project the features to {quantizer.dim} channels"
            )
        return quantizer
    raise ValueError(f"make_quantizer: unknown kind {kind!r}; expected one of {', '.join(map(repr, QUANTIZER_KINDS))}")
