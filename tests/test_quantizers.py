"""Quantizers (worldsim.models.quantizers): straight-through gradients, nearest-code lookup against a brute-force
oracle, EMA codebook learning against its formula and on clustered data, dead-code restarts, FSQ's grid, codebook
statistics, bad input, and replicas kept identical under torch.distributed."""

import math
import os
import subprocess
import sys

import pytest
import torch

from worldsim.models.quantizers import FSQ, QuantizerOutput, VectorQuantizer, make_quantizer


def _clusters(num_clusters: int, dim: int, *, spacing: float, seed: int) -> torch.Tensor:
    """``num_clusters`` centres [C, dim]: distinct random points of a cubic lattice of pitch ``spacing``, so any two
    are at least ``spacing`` apart."""
    side = math.ceil(num_clusters ** (1 / dim)) + 1
    lattice = torch.cartesian_prod(*[torch.arange(side, dtype=torch.float32)] * dim).reshape(-1, dim)
    pick = torch.randperm(len(lattice), generator=torch.Generator().manual_seed(seed))[:num_clusters]
    return (lattice[pick] - (side - 1) / 2) * spacing


def _sample(centres: torch.Tensor, n: int, *, std: float, g: torch.Generator) -> torch.Tensor:
    """``n`` points [n, dim]: a uniformly chosen centre plus isotropic noise of standard deviation ``std``."""
    which = torch.randint(len(centres), (n,), generator=g)
    return centres[which] + std * torch.randn(n, centres.shape[1], generator=g)


# ---------------------------------------------------------------------------------------------- straight-through


@pytest.mark.parametrize("training", [True, False])
def test_vq_gradient_is_identity(training):
    """d sum(z_q * w) / dz == w exactly, in training and eval mode, for input of a dtype other than the codebook's."""
    torch.manual_seed(0)
    vq = VectorQuantizer(16, 8).train(training)
    z = torch.randn(2, 5, 7, 8, dtype=torch.float64, requires_grad=True)
    w = torch.randn_like(z)
    out = vq(z)
    assert out.z_q.dtype == z.dtype and out.z_q.shape == z.shape
    (out.z_q * w).sum().backward()
    assert torch.equal(z.grad, w)


def test_fsq_gradient_is_that_of_the_bound():
    """Rounding is the identity in the backward pass: the gradient is w * f'(z) / (L // 2) with
    f(z) = tanh(z + s) * h - o (Mentzer et al. 2023), written out here independently."""
    levels = [8, 5, 2, 3]
    fsq = FSQ(levels)
    torch.manual_seed(0)
    z = torch.randn(64, 4, dtype=torch.float64, requires_grad=True)
    w = torch.randn_like(z)
    (fsq(z).z_q * w).sum().backward()
    for i, L in enumerate(levels):
        h = (L - 1) * (1 + 1e-3) / 2
        o = 0.5 if L % 2 == 0 else 0.0
        s = math.atanh(o / h)
        expected = w[:, i] * h * (1 - torch.tanh(z[:, i].detach() + s) ** 2) / (L // 2)
        torch.testing.assert_close(z.grad[:, i], expected, rtol=1e-12, atol=1e-12)


# -------------------------------------------------------------------------------------------- VQ lookup and EMA


def test_vq_picks_nearest_code_and_embed_matches():
    """codes == argmin of the brute-force float64 distance matrix; embed(codes) == z_q of the forward."""
    torch.manual_seed(1)
    vq = VectorQuantizer(32, 6, data_init=False).eval()
    z = torch.randn(4, 9, 9, 6)
    out = vq(z)
    flat = z.reshape(-1, 6).double()
    expected = torch.cdist(flat, vq.codebook.double()).argmin(dim=1)
    assert out.codes.shape == (4, 9, 9) and out.codes.dtype == torch.int64
    assert torch.equal(out.codes.reshape(-1), expected)
    assert torch.equal(vq.embed(out.codes), out.z_q)
    assert len(expected.unique()) > 16  # the check covered many codes, not one


def test_vq_commitment_loss_value():
    """loss == beta * mean((z - e_code)^2), and its gradient reaches z (not the codebook)."""
    torch.manual_seed(2)
    vq = VectorQuantizer(8, 4, beta=0.5, data_init=False).eval()
    z = torch.randn(3, 10, 4, requires_grad=True)
    out = vq(z)
    expected = 0.5 * ((z.detach() - vq.codebook[out.codes]) ** 2).mean()
    torch.testing.assert_close(out.loss, expected)
    out.loss.backward()
    torch.testing.assert_close(z.grad, 0.5 * 2 * (z.detach() - vq.codebook[out.codes]) / z.numel())


def test_vq_ema_step_matches_formula():
    """One training step against van den Oord et al. (2017) appendix A.1 with Laplace smoothing, written per code."""
    torch.manual_seed(3)
    k, d, decay, eps = 5, 3, 0.9, 0.1  # eps large enough that the smoothing shows
    vq = VectorQuantizer(k, d, ema_decay=decay, eps=eps, restart_threshold=0.0, data_init=False)
    old = vq.codebook.clone()
    x = torch.randn(40, d)
    codes = vq(x).codes
    size, total_sum = [], []
    for j in range(k):
        assigned = x[codes == j]
        size.append(decay * 1.0 + (1 - decay) * len(assigned))
        total_sum.append(decay * old[j] + (1 - decay) * assigned.sum(0))
    n = sum(size)
    for j in range(k):
        smoothed = (size[j] + eps) / (n + k * eps) * n
        torch.testing.assert_close(vq.codebook[j], total_sum[j] / smoothed)
        torch.testing.assert_close(vq.ema_cluster_size[j], torch.tensor(size[j]))


def test_vq_ema_converges_to_cluster_centres():
    """On a stream from K well-separated clusters, codes started 1 away from their centre converge to it (the
    EMA-weighted mean); the codebook is a buffer that gets no gradient."""
    k, dim = 4, 3
    centres = _clusters(k, dim, spacing=5.0, seed=0)
    g = torch.Generator().manual_seed(1)
    offsets = torch.nn.functional.normalize(torch.randn(k, dim, generator=g), dim=1)
    vq = VectorQuantizer(k, dim, data_init=False)
    vq.init_codebook(centres + offsets)  # each code 1.0 from its own centre, far nearer than to any other
    assert (vq.codebook - centres).norm(dim=1).min() > 0.99

    assert not any(p is vq.codebook for p in vq.parameters()) and not vq.codebook.requires_grad
    for _ in range(200):
        z = _sample(centres, 256, std=0.1, g=g).requires_grad_(True)
        out = vq(z)
        (out.loss + out.z_q.square().sum()).backward()
        assert z.grad is not None and vq.codebook.grad is None
    err = (vq.codebook - centres).norm(dim=1)
    assert err.max() < 0.02, err
    assert int(vq.restart_count) == 0  # every code had its cluster: nothing died


def test_vq_eval_mode_leaves_state_unchanged():
    torch.manual_seed(4)
    vq = VectorQuantizer(8, 4)  # data init pending: eval must not trigger it either
    before = {name: b.clone() for name, b in vq.state_dict().items()}
    vq.eval()
    for _ in range(3):
        vq(torch.randn(50, 4) + 10.0)
    after = vq.state_dict()
    assert all(torch.equal(before[name], after[name]) for name in before)
    vq.train()
    vq(torch.randn(50, 4) + 10.0)
    assert not torch.equal(before["codebook"], vq.codebook)  # the same calls in training mode do change it


def test_vq_data_init_seeds_one_code_per_cluster():
    """k-means++ seeding on the first training batch puts a code in each of K well-separated clusters (plain random
    picks of K points would miss some cluster with probability 1 - K!/K^K = 99.8% for K = 8)."""
    torch.manual_seed(5)
    k, dim = 8, 4
    centres = _clusters(k, dim, spacing=4.0, seed=2)
    vq = VectorQuantizer(k, dim)
    assert not bool(vq.initialized)
    x = _sample(centres, 512, std=0.05, g=torch.Generator().manual_seed(3))
    out = vq(x)
    assert bool(vq.initialized)
    nearest_code = torch.cdist(centres, vq.codebook).min(dim=1).values  # [K] each centre to its nearest code
    assert nearest_code.max() < 0.3, nearest_code
    assert out.usage == 1.0


def test_vq_loaded_state_is_not_reseeded():
    """A trained state loaded into a fresh quantizer continues exactly like the original (no new data init)."""
    torch.manual_seed(6)
    a = VectorQuantizer(8, 4)
    a(torch.randn(64, 4))
    b = VectorQuantizer(8, 4)
    b.load_state_dict(a.state_dict())
    x = torch.randn(64, 4) * 3.0
    torch.manual_seed(7)
    a(x)
    torch.manual_seed(7)
    b(x)
    assert torch.equal(a.codebook, b.codebook)


def test_vq_cosine_lookup():
    """l2_normalize: codes are unit vectors, the lookup maximizes cosine similarity, z_q is the unit code."""
    torch.manual_seed(8)
    vq = VectorQuantizer(16, 5, l2_normalize=True)
    for _ in range(3):
        vq(torch.randn(100, 5) * 4.0)
    torch.testing.assert_close(vq.codebook.norm(dim=1), torch.ones(16))
    vq.eval()
    z = torch.randn(200, 5) * 4.0
    out = vq(z)
    cos = torch.nn.functional.normalize(z, dim=1) @ vq.codebook.t()
    assert torch.equal(out.codes, cos.argmax(dim=1))
    torch.testing.assert_close(out.z_q, vq.codebook[out.codes])


# --------------------------------------------------------------------------------------------- dead-code restarts


@pytest.mark.parametrize("restart_threshold", [1.0, 0.0])
def test_vq_dead_codes_are_restarted(restart_threshold):
    """Half the codebook starts 100 away from all data. With restarts those codes are moved onto the data and
    >= 80% of the codes are used on data with twice as many clusters as codes; without, exactly half stay unused."""
    torch.manual_seed(9)
    k, dim = 16, 2
    centres = _clusters(2 * k, dim, spacing=1.0, seed=4)
    g = torch.Generator().manual_seed(5)
    init = torch.cat([_sample(centres, k // 2, std=0.05, g=g), 100.0 + torch.randn(k // 2, dim, generator=g)])
    vq = VectorQuantizer(k, dim, restart_threshold=restart_threshold, data_init=False)
    vq.init_codebook(init)
    steps = 20
    for _ in range(steps):
        vq(_sample(centres, 512, std=0.05, g=g))
    vq.eval()
    out = vq(_sample(centres, 4096, std=0.05, g=g))
    far = vq.codebook[k // 2 :].norm(dim=1)
    if restart_threshold > 0:
        assert int(vq.restart_count) >= k // 2
        assert far.max() < 20.0  # the far codes came to the data
        assert out.usage >= 0.8, out.usage
    else:
        assert int(vq.restart_count) == 0
        assert far.min() > 50.0
        assert out.usage == 0.5


# ------------------------------------------------------------------------------------------------------------ FSQ


@pytest.mark.parametrize(("levels", "extent"), [([8, 5, 5, 5], 3.0), ([2, 3, 6], 5.0)])
def test_fsq_reaches_every_code_on_a_dense_grid(levels, extent):
    """On a dense grid of inputs, FSQ produces exactly prod(levels) distinct codes, all in range, and z_q values on
    the grid (k - L // 2) / (L // 2); embed(codes) == z_q. (L = 2 needs z < -3.8 for its lower value.)"""
    fsq = FSQ(levels)
    assert fsq.num_codes == math.prod(levels) and fsq.dim == len(levels)
    n = round(extent / 0.2) * 2 + 1
    axis = torch.linspace(-extent, extent, n)  # step 0.2, finer than the narrowest bin (about 1/3.5 for L = 8)
    z = torch.cartesian_prod(*[axis] * len(levels)).reshape(n, -1, len(levels))
    out = fsq(z)
    assert out.codes.shape == z.shape[:-1]
    assert out.codes.min() >= 0 and out.codes.max() < fsq.num_codes
    assert len(out.codes.unique()) == fsq.num_codes
    assert torch.equal(fsq.embed(out.codes), out.z_q)
    for i, L in enumerate(levels):
        scaled = out.z_q[..., i] * (L // 2)
        assert torch.equal(scaled, scaled.round())
        assert sorted(scaled.unique().tolist()) == list(range(-(L // 2), L - L // 2))


def test_fsq_embed_is_a_bijection_and_zero_maps_to_zero():
    fsq = FSQ([8, 5, 5, 5])
    vectors = fsq.embed(torch.arange(fsq.num_codes))
    assert vectors.shape == (1000, 4) and len(vectors.unique(dim=0)) == 1000
    out = fsq(torch.zeros(1, 4))
    assert torch.equal(out.z_q, torch.zeros(1, 4))
    assert torch.equal(fsq.embed(out.codes), out.z_q)
    assert out.loss == 0.0


def test_fsq_codes_are_mixed_radix_channel_0_least_significant():
    fsq = FSQ([3, 4])
    # channel 0 at its top value (+1 -> digit 2), channel 1 at its bottom value (-2/2 -> digit 0)
    out = fsq(torch.tensor([[10.0, -10.0], [10.0, 10.0]]))
    assert out.codes.tolist() == [2 + 3 * 0, 2 + 3 * 3]


# ------------------------------------------------------------------------------------------------------ statistics


def test_perplexity_and_usage_on_known_histograms():
    k = 8
    vq = VectorQuantizer(k, 3, data_init=False).eval()
    uniform = vq(vq.codebook.repeat(5, 1))  # every code 5 times
    torch.testing.assert_close(uniform.perplexity, torch.tensor(float(k)))
    assert uniform.usage == 1.0
    one = vq(vq.codebook[[2, 2, 2, 2]])
    torch.testing.assert_close(one.perplexity, torch.tensor(1.0))
    assert one.usage == 1 / k
    two = vq(vq.codebook[[0, 0, 5, 5]])
    torch.testing.assert_close(two.perplexity, torch.tensor(2.0))
    assert two.usage == 2 / k
    skewed = vq(vq.codebook[[0, 0, 0, 1]])  # p = (3/4, 1/4)
    expected = math.exp(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))
    torch.testing.assert_close(skewed.perplexity, torch.tensor(expected))

    fsq = FSQ([3])
    out = fsq(torch.tensor([[-10.0], [0.0], [10.0]]))
    torch.testing.assert_close(out.perplexity, torch.tensor(3.0))
    assert out.usage == 1.0


# ------------------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("quantizer", [VectorQuantizer(8, 4), FSQ([5, 5, 5, 5])], ids=["vq", "fsq"])
def test_bad_input(quantizer):
    name = type(quantizer).__name__
    with pytest.raises(ValueError, match=rf"{name}: z must have shape \[\.\.\., 4\] .* got last dimension 3"):
        quantizer(torch.randn(2, 3))
    with pytest.raises(ValueError, match=rf"{name}: z must have shape \[\.\.\., 4\]"):
        quantizer(torch.tensor(1.0))
    with pytest.raises(ValueError, match=rf"{name}: z must be a floating-point tensor, got dtype torch.int64"):
        quantizer(torch.ones(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match=rf"{name}: z has no vectors"):
        quantizer(torch.randn(0, 4))
    with pytest.raises(TypeError, match=rf"{name}: z must be a torch.Tensor"):
        quantizer([[0.0] * 4])
    with pytest.raises(ValueError, match=rf"{name}.embed: codes must lie in \[0, {quantizer.num_codes}\)"):
        quantizer.embed(torch.tensor([0, quantizer.num_codes]))
    with pytest.raises(ValueError, match=rf"{name}.embed: codes must be an integer tensor"):
        quantizer.embed(torch.tensor([0.0]))


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ([], "non-empty list"),
        ("855", "non-empty list"),
        ([8, 1, 5], r"integers >= 2, got \[8, 1, 5\] \(bad: \[1\]\)"),
        ([8, 3.5], r"bad: \[3.5\]"),
        ([True, 4], r"bad: \[True\]"),
        ([2000, 3], "eps must be > 0 and eps"),
    ],
)
def test_fsq_invalid_levels(levels, message):
    with pytest.raises(ValueError, match=rf"FSQ: .*{message}"):
        FSQ(levels)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_codes": 0, "dim": 4}, "num_codes must be a positive integer"),
        ({"num_codes": 8, "dim": 0}, "dim must be a positive integer"),
        ({"num_codes": 8, "dim": 4, "ema_decay": 1.0}, r"ema_decay must lie in \[0, 1\)"),
        ({"num_codes": 8, "dim": 4, "beta": -1.0}, "beta must be >= 0"),
        ({"num_codes": 8, "dim": 4, "eps": 0.0}, "eps must be > 0"),
        ({"num_codes": 8, "dim": 4, "restart_threshold": -1.0}, "restart_threshold must be >= 0"),
    ],
)
def test_vq_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=f"VectorQuantizer: {message}"):
        VectorQuantizer(**kwargs)


def test_vq_init_codebook_checks_shape():
    with pytest.raises(ValueError, match=r"init_codebook: vectors must have shape \(8, 4\), got \(8, 3\)"):
        VectorQuantizer(8, 4).init_codebook(torch.zeros(8, 3))


def test_make_quantizer():
    vq = make_quantizer("vq", dim=16, num_codes=8, beta=0.1, l2_normalize=True)
    assert isinstance(vq, VectorQuantizer) and (vq.num_codes, vq.dim, vq.beta, vq.l2_normalize) == (8, 16, 0.1, True)
    fsq = make_quantizer("fsq", dim=4, levels=[8, 5, 5, 5])
    assert isinstance(fsq, FSQ) and fsq.num_codes == 1000
    assert isinstance(fsq(torch.randn(2, 4)), QuantizerOutput)
    with pytest.raises(ValueError, match=r"make_quantizer: unknown kind 'rvq'; expected one of 'vq', 'fsq'"):
        make_quantizer("rvq", dim=4, num_codes=8)
    with pytest.raises(ValueError, match=r"make_quantizer\('fsq'\): dim=8 but levels=\[8, 5, 5, 5\] quantize"):
        make_quantizer("fsq", dim=8, levels=[8, 5, 5, 5])
    with pytest.raises(ValueError, match=r"make_quantizer\('vq'\): give num_codes and not levels"):
        make_quantizer("vq", dim=4, levels=[8, 5])
    with pytest.raises(ValueError, match=r"make_quantizer\('fsq'\): give levels and not num_codes"):
        make_quantizer("fsq", dim=2, num_codes=8)


# ----------------------------------------------------------------------------------------------------- distributed

# Each rank loads quantizers.py by path (it imports only torch) rather than `import worldsim`, which would start Warp
# and add seconds per process.
_DDP_WORKER = r"""
import importlib.util, sys
import torch, torch.distributed as dist

spec = importlib.util.spec_from_file_location("quantizers", sys.argv[1])
q = importlib.util.module_from_spec(spec)
sys.modules["quantizers"] = q
spec.loader.exec_module(q)
rank, store, out = int(sys.argv[2]), sys.argv[3], sys.argv[4]
dist.init_process_group("gloo", init_method="file://" + store, rank=rank, world_size=2)

data = torch.randn(6, 64, 3, generator=torch.Generator().manual_seed(rank))  # each rank its own batches
torch.manual_seed(0)
plain = q.VectorQuantizer(8, 3, ema_decay=0.9, restart_threshold=0.0, data_init=False)  # same start on both ranks
torch.manual_seed(100 + rank)  # different random streams per rank
seeded = q.VectorQuantizer(8, 3, ema_decay=0.9, restart_threshold=4.0)  # k-means++ init and many restarts
for x in data:
    plain(x)
    seeded(x * (1 + rank))
torch.save({"plain": plain.state_dict(), "seeded": seeded.state_dict()}, out)
dist.destroy_process_group()
"""


@pytest.mark.skipif(
    not (torch.distributed.is_available() and torch.distributed.is_gloo_available()), reason="needs gloo"
)
def test_vq_replicas_stay_identical_under_distributed(tmp_path):
    """Two gloo ranks with different batches: the EMA statistics are all-reduced (equal to one process seeing both
    batches) and the k-means++ seeds and restart candidates are broadcast (every buffer equal across ranks)."""
    import worldsim.models.quantizers as quantizers

    script = tmp_path / "worker.py"
    script.write_text(_DDP_WORKER)
    env = dict(os.environ, GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1")
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(script),
                quantizers.__file__,
                str(r),
                str(tmp_path / "store"),
                str(tmp_path / f"{r}.pt"),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for r in range(2)
    ]
    for p in procs:
        output, _ = p.communicate(timeout=120)
        assert p.returncode == 0, output
    states = [torch.load(tmp_path / f"{r}.pt") for r in range(2)]

    for name in ("plain", "seeded"):
        for key, value in states[0][name].items():
            assert torch.equal(value, states[1][name][key]), f"{name}.{key} differs between ranks"
    assert int(states[0]["seeded"]["restart_count"]) > 0  # the broadcast of restart candidates was exercised

    data = [torch.randn(6, 64, 3, generator=torch.Generator().manual_seed(r)) for r in range(2)]
    torch.manual_seed(0)
    single = VectorQuantizer(8, 3, ema_decay=0.9, restart_threshold=0.0, data_init=False)
    for x0, x1 in zip(*data, strict=True):
        single(torch.cat([x0, x1]))
    for key, value in single.state_dict().items():
        torch.testing.assert_close(states[0]["plain"][key], value, msg=f"plain.{key}: all-reduce != one process")
