"""Module attributes imported on first access (PEP 562), so that importing a package stays light."""

from importlib import import_module


def lazy_attributes(package: str, namespace: dict, names: dict[str, str]):
    """``(__getattr__, __dir__)`` for ``package``'s module: ``names`` maps an attribute to the module that defines
    it; the value is imported on first access and cached in ``namespace`` (the module's globals)."""

    def __getattr__(name: str):
        if name in names:
            value = getattr(import_module(names[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
