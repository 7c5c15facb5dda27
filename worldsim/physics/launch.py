"""Kernel launches by argument *name*, recorded once and replayed (with their adjoints) every step.

Physics kernels take many arrays. Passing them by position invites silent bugs (two swapped arrays of one dtype
still compile), so every launch goes through :func:`launch`, which reads the kernel's argument names and looks
each one up in a namespace: the model's constants and sizes, the per-world parameters, the workspace arrays and the
step's own values (``qpos``, ``h``, ...). A name that is missing is an error naming the kernel and the argument.

:class:`Recorder` keeps the launches of one step (arguments packed once, :func:`prepared_launch`) and, for kernels
that have a backward pass, their adjoint launches, so a step and its adjoint run again without Python work and
without ``wp.Tape`` (whose global recording cannot run in several threads). Kernels declared with
``enable_backward=False`` (solvers, contact bookkeeping: integer or iterative work whose gradient is supplied
another way) are replayed forward only.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Mapping

import warp as wp


class Namespace:
    """Values that kernel arguments are looked up in, by name; later layers shadow none of the earlier ones.

    Layers are plain mappings (model constants, parameters, workspace arrays, step values). Duplicate names across
    layers are an error at construction, so a lookup never depends on the layer order.
    """

    def __init__(self, *layers: Mapping):
        self.layers = layers
        seen: dict[str, int] = {}
        for i, layer in enumerate(layers):
            for name in layer:
                if name in seen:
                    raise KeyError(f"argument name {name!r} is defined twice (layers {seen[name]} and {i})")
                seen[name] = i

    def __getitem__(self, name: str):
        for layer in self.layers:
            if name in layer:
                return layer[name]
        raise KeyError(name)

    def __contains__(self, name: str) -> bool:
        return any(name in layer for layer in self.layers)

    def with_layer(self, layer: Mapping) -> Namespace:
        return Namespace(*self.layers, layer)


def kernel_arg_names(kernel) -> list[str]:
    return [a.label for a in kernel.adj.args]


def resolve_args(kernel, ns: Namespace) -> list:
    """The kernel's argument values from ``ns``, in the kernel's order."""
    values = []
    for name in kernel_arg_names(kernel):
        try:
            values.append(ns[name])
        except KeyError:
            raise KeyError(f"kernel {kernel.key!r}: no value named {name!r} for its argument") from None
    return values


def has_backward(kernel) -> bool:
    return kernel.options.get("enable_backward", kernel.module.options.get("enable_backward", True)) is not False


class Recorder:
    """The launches of one step, recorded once (see the module docstring).

    ``forward`` holds callables in execution order; ``backward`` the adjoint launches in execution order (run them
    reversed). With ``adjoint=False`` no adjoint is recorded.
    """

    def __init__(self, adjoint: bool = False):
        self.adjoint = adjoint
        self.forward: list[Callable[[], None]] = []
        self.backward: list[Callable[[], None]] = []
        #: what ``forward`` does, as data: ("kernel", kernel, dim, values) or ("copy", dst, src) per entry (for
        #: :mod:`worldsim.physics.fused`, which turns a step into one kernel)
        self.ops: list[tuple] = []

    def launch(self, kernel, dim, values: list, device: str) -> None:
        self.ops.append(("kernel", kernel, dim, values))
        self.forward.append(prepared_launch(kernel, dim, values, device))
        if self.adjoint and has_backward(kernel):
            adj = [v.grad if isinstance(v, wp.array) else None for v in values]
            self.backward.append(prepared_launch(kernel, dim, values, device, adj_inputs=adj))

    def copy(self, dst: wp.array, src: wp.array) -> None:
        """Record ``wp.copy(dst, src)``."""
        self.ops.append(("copy", dst, src))
        self.forward.append(lambda: wp.copy(dst, src))


def launch(kernel, dim, ns: Namespace, device: str, rec: Recorder | None = None) -> None:
    """Launch ``kernel`` over ``dim`` with its arguments looked up by name in ``ns``: now, or into ``rec``."""
    values = resolve_args(kernel, ns)
    if rec is None:
        wp.launch(kernel, dim=dim, inputs=values, device=device)
    else:
        rec.launch(kernel, dim, values, device)


def prepared_launch(kernel, dim, inputs: list, device: str, adj_inputs: list | None = None) -> Callable[[], None]:
    """A no-argument callable that launches ``kernel`` over ``dim`` with ``inputs`` (fixed) as cheaply as possible;
    with ``adj_inputs`` (the gradients of the inputs) it runs the kernel's adjoint instead.

    On the CPU, ``wp.Launch.launch`` rebuilds the argument struct on every call (one ``setattr`` per argument:
    ~0.2 µs each, ~100 µs for a fused step's hundreds of arrays) while holding Python's GIL, so the chunks of
    worlds that :class:`~worldsim.physics.step.ParallelStep` runs in threads would wait on each other; here the
    structs are built once and the kernel's native entry point is called directly through ``ctypes`` (which
    releases the GIL), as Warp's own ``invoke`` does. This uses Warp's launch internals (``Launch.params``,
    ``Launch.hooks``), checked here: where they are not as expected (another Warp version, CUDA) it is the
    recorded ``Launch.launch``, which gives the same result more slowly. Nothing runs here."""
    adjoint = adj_inputs is not None
    lau = wp.launch(kernel, dim=dim, inputs=inputs, adj_inputs=adj_inputs or [], adjoint=adjoint, device=device,
                    record_cmd=True)  # fmt: skip
    if not wp.get_device(device).is_cpu or lau.block_dim > 1:
        return lau.launch
    params, hooks = getattr(lau, "params", None), getattr(lau, "hooks", None)
    entry = getattr(hooks, "backward" if adjoint else "forward", None)
    nargs = len(kernel.adj.args)
    if params is None or entry is None or len(params) != 1 + nargs * (2 if adjoint else 1):
        return lau.launch
    # the argument structs as Warp's invoke() builds them (one field per kernel argument, typed as its packed value)
    structs = [_argument_struct(kernel, params[1 + i * nargs : 1 + (i + 1) * nargs]) for i in range(1 + adjoint)]
    refs = [ctypes.byref(params[0]), *(ctypes.byref(s) for s in structs)]

    def run():
        entry(*refs)

    run.keep_alive = (params, structs)  # the structs point into these
    return run


def _argument_struct(kernel, values) -> ctypes.Structure:
    fields = [(arg.label, type(value)) for arg, value in zip(kernel.adj.args, values, strict=True)]
    struct = type("ArgsStruct", (ctypes.Structure,), {"_fields_": fields})()
    for (name, _), value in zip(fields, values, strict=True):
        setattr(struct, name, value)
    return struct
