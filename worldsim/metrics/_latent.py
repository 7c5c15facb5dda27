"""Metrics on discrete latent codes and learned features: codebook usage, NMI, action binning and a linear probe."""

import math

import torch


def _shape(x: torch.Tensor) -> str:
    return "[" + ", ".join(str(s) for s in x.shape) + "]"


def _check_labels(name: str, x: torch.Tensor, *, ndim: int | None = None) -> None:
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
        raise ValueError(f"{name} has dtype {x.dtype}, expected an integer tensor (e.g. torch.long)")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} has shape {_shape(x)}, expected a 1-D tensor [n]")
    if x.numel() == 0:
        raise ValueError(f"{name} is empty")


def _check_real_matrix(name: str, x: torch.Tensor, expected: str) -> torch.Tensor:
    """Validate a finite real ``[n, k]`` tensor and return it as float64 on the CPU."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.is_complex():
        raise ValueError(f"{name} has dtype {x.dtype}, expected a real tensor")
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} has shape {_shape(x)}, expected a non-empty 2-D tensor {expected}")
    x = x.detach().to("cpu", torch.float64)
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf")
    return x


def codebook_usage(codes: torch.Tensor, num_codes: int) -> dict:
    """How much of a codebook a set of discrete codes uses.

    Args:
        codes: code indices of any shape, integer dtype, each in ``[0, num_codes)``.
        num_codes: codebook size K.

    Returns:
        ``{"usage": float, "perplexity": float, "counts": LongTensor [K]}``: the fraction of the K codes used at least
        once (in (0, 1]); ``exp(H)`` with H the entropy [nats] of the empirical code distribution (1 when a single
        code is used, K when all are used equally often); and how often each code occurs.
    """
    if isinstance(num_codes, bool) or not isinstance(num_codes, int) or num_codes < 1:
        raise ValueError(f"num_codes must be a positive int, got {num_codes!r}")
    _check_labels("codes", codes)
    lo, hi = int(codes.min()), int(codes.max())
    if lo < 0 or hi >= num_codes:
        raise ValueError(f"codes must lie in [0, num_codes = {num_codes}), got values in [{lo}, {hi}]")
    counts = torch.bincount(codes.reshape(-1).long(), minlength=num_codes)  # [K]
    p = counts[counts > 0].double() / codes.numel()
    entropy = -(p * p.log()).sum()
    return {
        "usage": float((counts > 0).sum()) / num_codes,
        "perplexity": math.exp(float(entropy)),
        "counts": counts,
    }


def _entropy(counts: torch.Tensor) -> torch.Tensor:
    p = counts[counts > 0].double() / counts.sum()
    return -(p * p.log()).sum()


def normalized_mutual_information(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mutual information of two labelings, normalized by the arithmetic mean of their entropies.

    ``NMI = I(a; b) / ((H(a) + H(b)) / 2)`` over the empirical joint distribution of ``(a[i], b[i])``, as
    scikit-learn's ``normalized_mutual_info_score`` with its default ``average_method="arithmetic"``. Labels are
    arbitrary integers; only which samples share a label matters. NMI is 1 for labelings equal up to a renaming of
    labels, 0 when one labeling is constant (unless both are: then 1), and near 0 for independent labelings (an
    estimate from n samples is biased upward by about ``(Ka - 1)(Kb - 1) / (2 n H)``).

    Args:
        a: labels, integer ``[n]``.
        b: labels, integer ``[n]``.

    Returns:
        NMI, a float in [0, 1].
    """
    _check_labels("a", a, ndim=1)
    _check_labels("b", b, ndim=1)
    if a.shape != b.shape:
        raise ValueError(f"a has shape {_shape(a)} but b has shape {_shape(b)}; they must match")
    _, ia = torch.unique(a, return_inverse=True)  # [n] in [0, Ka)
    _, ib = torch.unique(b.to(a.device), return_inverse=True)  # [n] in [0, Kb)
    ka, kb = int(ia.max()) + 1, int(ib.max()) + 1
    if ka == kb == 1:
        return 1.0
    joint = torch.bincount(ia * kb + ib, minlength=ka * kb).reshape(ka, kb).double() / a.numel()  # [Ka, Kb]
    pa, pb = joint.sum(dim=1), joint.sum(dim=0)  # [Ka], [Kb]
    nz = joint > 0
    mi = float((joint[nz] * (joint[nz] / (pa[:, None] * pb[None, :])[nz]).log()).sum())
    if mi <= 0.0:
        return 0.0
    mean_entropy = float(_entropy(joint.sum(dim=1)) + _entropy(joint.sum(dim=0))) / 2
    return min(mi / mean_entropy, 1.0)


def discretize_actions(actions: torch.Tensor, bins: int = 3) -> torch.Tensor:
    """One label per sample from continuous actions, for NMI against latent action codes.

    Each action dimension is cut into ``bins`` bins at its empirical quantiles (1/bins, 2/bins, ...), so each bin
    holds about n/bins samples (fewer distinct bins when many values tie). The bin index ``k_j`` of dimension j is
    the number of its quantile edges strictly below the value, and the label is ``sum_j k_j * bins**j``.

    Args:
        actions: actions ``[n, A]``, real-valued (n·A at most 2^24, the limit of ``torch.quantile``).
        bins: bins per action dimension (>= 2).

    Returns:
        Labels, LongTensor ``[n]`` in ``[0, bins**A)``, on the CPU.
    """
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        raise ValueError(f"bins must be an int >= 2, got {bins!r}")
    x = _check_real_matrix("actions", actions, "[n, A]")
    n, num_dims = x.shape
    if num_dims * math.log2(bins) >= 63:
        raise ValueError(f"bins**A = {bins}**{num_dims} labels do not fit in int64; use fewer bins or dimensions")
    q = torch.arange(1, bins, dtype=torch.float64) / bins  # [bins - 1]
    edges = torch.quantile(x, q, dim=0)  # [bins - 1, A]
    labels = torch.zeros(n, dtype=torch.long)
    for j, (values, dim_edges) in enumerate(zip(x.T.contiguous(), edges.T.contiguous(), strict=True)):
        k = torch.bucketize(values, dim_edges)  # [n] in [0, bins)
        labels += k * bins**j
    return labels


def linear_probe_r2(
    features: torch.Tensor,
    targets: torch.Tensor,
    *,
    holdout: float = 0.2,
    ridge: float = 1e-3,
    seed: int = 0,
) -> float:
    """How linearly decodable ``targets`` are from ``features``: held-out R² of a ridge regression.

    The samples are shuffled (``seed``) and split; ``targets ≈ features @ W + b`` is fit on the training part by
    minimizing ``||Y - X W - b||² + ridge ||W||²`` (closed form, bias not penalized), and scored on the held-out
    part by ``R² = 1 - SSE / SST`` per target dimension (SST around the held-out mean), averaged over dimensions.
    A held-out dimension with zero variance scores 1 if predicted exactly, else 0. For discrete latent codes pass
    one-hot features, e.g. ``torch.nn.functional.one_hot(codes, num_codes)``.

    Args:
        features: inputs ``[n, d]``, real-valued (integer and bool are converted).
        targets: regression targets ``[n, A]``, real-valued.
        holdout: fraction of the n samples held out for scoring, in (0, 1); both parts get at least 2 samples.
        ridge: L2 penalty on W (>= 0), added to the summed (not averaged) squared error.
        seed: seed of the train/held-out shuffle.

    Returns:
        R² (1 for a perfect linear fit, about 0 or below for targets unrelated to the features).
    """
    x = _check_real_matrix("features", features, "[n, d]")
    y = _check_real_matrix("targets", targets, "[n, A]")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"features has {x.shape[0]} samples but targets has {y.shape[0]}; they must match")
    if not 0.0 < holdout < 1.0:
        raise ValueError(f"holdout must be in (0, 1), got {holdout!r}")
    if not 0.0 <= ridge < math.inf:
        raise ValueError(f"ridge must be a finite number >= 0, got {ridge!r}")
    n = x.shape[0]
    n_test = round(holdout * n)
    if n_test < 2 or n - n_test < 2:
        raise ValueError(
            f"holdout = {holdout} of n = {n} samples leaves {n_test} held out and {n - n_test} to fit; "
            "each needs at least 2"
        )
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    test, train = perm[:n_test], perm[n_test:]
    x_mean, y_mean = x[train].mean(dim=0), y[train].mean(dim=0)  # [d], [A]
    xc, yc = x[train] - x_mean, y[train] - y_mean  # [n_train, d], [n_train, A]
    d = x.shape[1]
    # ridge as least squares on rows appended below the data: [xc; sqrt(ridge) I] W ≈ [yc; 0]
    lhs = torch.cat([xc, math.sqrt(ridge) * torch.eye(d, dtype=torch.float64)])  # [n_train + d, d]
    rhs = torch.cat([yc, torch.zeros(d, y.shape[1], dtype=torch.float64)])  # [n_train + d, A]
    w = torch.linalg.lstsq(lhs, rhs, driver="gelsd").solution  # [d, A]
    y_hat = (x[test] - x_mean) @ w + y_mean  # [n_test, A]
    sse = (y[test] - y_hat).square().sum(dim=0)  # [A]
    sst = (y[test] - y[test].mean(dim=0)).square().sum(dim=0)  # [A]
    r2 = torch.where(sst > 0, 1 - sse / sst.clamp(min=1e-300), (sse == 0).double())
    return float(r2.mean())
