"""Warp initialization: warnings only, and a kernel cache that the repo's tests and CI share."""

import os

import warp as wp


def init_warp() -> None:
    """Initialize Warp once. ``WARP_CACHE_PATH`` (the Makefile sets ``.cache/warp``) picks the kernel cache.

    Set ``WORLDSIM_WARP_VERBOSE=1`` to see Warp's start-up banner and module-load messages.
    """
    if not os.environ.get("WORLDSIM_WARP_VERBOSE"):
        wp.config.log_level = getattr(wp, "LOG_WARNING", wp.config.log_level)
    cache = os.environ.get("WARP_CACHE_PATH")
    if cache:
        wp.config.kernel_cache_dir = cache
    wp.init()
