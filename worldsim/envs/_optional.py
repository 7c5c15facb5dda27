"""Imports of optional training libraries, with an error that says how to get them."""

from importlib import import_module


def require(module: str, package: str):
    """``import module``, or ImportError naming the pip package and worldsim's ``rl`` extra."""
    try:
        return import_module(module)
    except ImportError as e:
        raise ImportError(
            f"this adapter needs {package}: pip install {package}  (or: pip install 'worldsim[rl]')"
        ) from e
