"""Warp initialization: warnings only, no CUDA-driver warning on machines without one, and a kernel cache that
the repo's tests and CI share."""

import ctypes
import os
import sys

import warp as wp


def cuda_driver_present() -> bool:
    """Whether the NVIDIA CUDA driver library (``libcuda``) can be loaded on this machine."""
    if sys.platform == "win32":
        names = ("nvcuda.dll",)
    else:
        names = ("libcuda.so", "libcuda.so.1")
    for name in names:
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            continue
    return False


def init_warp() -> None:
    """Initialize Warp once. ``WARP_CACHE_PATH`` (the Makefile sets ``.cache/warp``) picks the kernel cache.

    Warp's native library prints "Could not find or load the NVIDIA CUDA driver" on every start of a machine
    without a GPU; that line says nothing on a CPU machine, so it is kept off stderr there (only there: where a
    driver exists, all of Warp's warnings show). Set ``WORLDSIM_WARP_VERBOSE=1`` to see Warp's start-up banner,
    module-load messages and that warning.
    """
    if getattr(init_warp, "done", False):
        return
    verbose = bool(os.environ.get("WORLDSIM_WARP_VERBOSE"))
    if not verbose:
        wp.config.log_level = getattr(wp, "LOG_WARNING", wp.config.log_level)
    cache = os.environ.get("WARP_CACHE_PATH")
    if cache:
        wp.config.kernel_cache_dir = cache
    if verbose or cuda_driver_present():
        wp.init()
    else:
        _without_stderr(wp.init)
    init_warp.done = True


def _without_stderr(fn) -> None:
    """Run ``fn`` with file descriptor 2 pointed at /dev/null (native code writes there, not to sys.stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            try:
                fn()
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)
