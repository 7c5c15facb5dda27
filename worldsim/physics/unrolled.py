"""Dense linear algebra for one model's nv, every loop unrolled: the building blocks of the unrolled kernels.

Warp unrolls a loop whose bounds are compile-time constants (up to its ``max_unroll``, set to :data:`MAX_NV` here):
``range(NV)`` or ``range(j)`` of an unrolled loop's ``j``, but not ``range(j + 1)`` (an expression), so the
triangular loops below run over ``range(NV)`` and skip with a constant condition. Every index becomes a
constant: no index arithmetic, no loop overhead, values in registers or on the stack.
On the CPU that is what a Warp kernel costs most: a 14×14 Cholesky factorization takes 1.09 µs with runtime loop
bounds and 0.29 µs unrolled (``benchmarks/physics_step.py`` shows what it does for whole steps). :func:`dense`
builds, once per nv, the ``@wp.func``s below with nv captured as a constant; kernels built for that nv (see
:mod:`.solver_unrolled` and :func:`.integrator.euler_damping_solve_kernel`) call them.

Kernels built this way are used on CPU for models with 1 <= nv <= :data:`MAX_NV`; the array kernels they mirror
run on CUDA and for larger models. Warp compiles one module per kernel and nv (about a second) and caches it.
"""

# no `from __future__ import annotations`: Warp reads the closure's types (Vec, Mat) from the annotations

import functools
from types import SimpleNamespace

import warp as wp

MAX_NV = 32  # the unrolled kernels set Warp's max_unroll (default 16) to this


def supported(nv: int) -> bool:
    """Whether unrolled kernels exist for a model with ``nv`` dofs."""
    return 1 <= nv <= MAX_NV


@functools.cache
def dense(nv: int) -> SimpleNamespace:
    """``Vec``/``Mat`` types of size nv and unrolled ``@wp.func``s on them: ``load_sym(w, A)`` (a symmetric matrix
    from the lower triangle of ``A[w]``), ``load_vec(w, a)``, ``factor(A)`` (lower Cholesky factor, pivots floored
    as :func:`.dynamics.cholesky_inplace`), ``solve(L, b)`` ((L Lᵀ)⁻¹ b), ``store_lower(w, L, out)``."""
    if not supported(nv):
        raise ValueError(f"unrolled kernels are for 1 <= nv <= {MAX_NV}, got nv = {nv}")
    NV = nv
    Vec = wp.types.vector(length=NV, dtype=wp.float32)
    Mat = wp.types.matrix(shape=(NV, NV), dtype=wp.float32)

    @wp.func
    def load_sym(w: int, A: wp.array3d(dtype=wp.float32)):
        out = Mat()
        for i in range(NV):
            for j in range(NV):
                if j <= i:
                    a = A[w, i, j]
                    out[i, j] = a
                    out[j, i] = a
        return out

    @wp.func
    def load_vec(w: int, a: wp.array2d(dtype=wp.float32)):
        out = Vec()
        for i in range(NV):
            out[i] = a[w, i]
        return out

    @wp.func
    def factor(A: Mat):
        L = A
        for j in range(NV):
            s = L[j, j]
            for k in range(j):
                s -= L[j, k] * L[j, k]
            d = wp.sqrt(wp.max(s, 1.0e-20))
            L[j, j] = d
            for i in range(NV):
                if i > j:
                    t = L[i, j]
                    for k in range(j):
                        t -= L[i, k] * L[j, k]
                    L[i, j] = t / d
        return L

    @wp.func
    def solve(L: Mat, b: Vec):
        x = b
        for i in range(NV):
            t = x[i]
            for k in range(i):
                t -= L[i, k] * x[k]
            x[i] = t / L[i, i]
        for ii in range(NV):
            i = NV - 1 - ii
            t = x[i]
            for k in range(NV):
                if k > i:
                    t -= L[k, i] * x[k]
            x[i] = t / L[i, i]
        return x

    @wp.func
    def store_lower(w: int, L: Mat, out: wp.array3d(dtype=wp.float32)):
        for i in range(NV):
            for j in range(NV):
                if j <= i:
                    out[w, i, j] = L[i, j]

    return SimpleNamespace(NV=NV, Vec=Vec, Mat=Mat, load_sym=load_sym, load_vec=load_vec, factor=factor,
                           solve=solve, store_lower=store_lower)  # fmt: skip
