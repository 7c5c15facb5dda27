"""Warp initialization: quiet output and a kernel cache that the repo's tests and CI share."""

import os

import warp as wp


def init_warp() -> None:
    """Initialize Warp once. ``WARP_CACHE_PATH`` (set by the Makefile to ``.cache/warp``) picks the kernel cache."""
    wp.config.quiet = True
    cache = os.environ.get("WARP_CACHE_PATH")
    if cache:
        wp.config.kernel_cache_dir = cache
    wp.init()
