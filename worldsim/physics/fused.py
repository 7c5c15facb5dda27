"""A recorded step as one Warp kernel: every launch of :class:`~worldsim.physics.launch.Recorder` for a chunk of
worlds turned into a ``wp.func`` and called in order, per world, by a single kernel (``substeps`` times).

Why: a launch costs ~8 µs on the CPU whatever it does, and a step is 16 (Euler) to 50 (RK4) launches, so a few
worlds (a single gymnasium env) spend nearly all their time launching. Worlds never interact, and each stage of a
step reads only its own world, so running the stages of one world back to back in one thread gives the same
result as running each stage over all worlds: the fused kernel launches once per :meth:`Simulator.step`.

How: for each kernel the source of its Python function is parsed (``ast``), its ``wp.tid()`` assignment becomes
leading ``int`` parameters, and the function is written to a module file under Warp's kernel cache (Warp reads a
function's source from its file) inside a factory whose parameters are the kernel's closure variables, so that it
stays a closure as Warp hashes it; the module's globals are the kernel's. The fused kernel (built the same way)
takes the distinct argument values of all launches; a launch over ``(worlds, k)`` becomes a loop over ``k``, and a
recorded ``wp.copy`` of per-world rows a loop too. Built once per model layout; Warp caches the compiled code.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import os
import sys
import textwrap

import warp as wp

_FUNCS: dict[int, tuple] = {}  # id(kernel) -> (kernel, its wp.func version); the kernel is kept so ids stay unique
_KERNELS: dict[tuple, object] = {}  # (source, the stage functions) -> fused kernel


def _cache_dir() -> str:
    path = os.path.join(wp.config.kernel_cache_dir or os.path.expanduser("~/.cache/warp"), "worldsim_fused")
    os.makedirs(path, exist_ok=True)
    return path


def _load_module(source: str, prefix: str, namespace: dict):
    """Import ``source`` as a module (file in the cache; unique name by hash) whose globals start as
    ``namespace``."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    name = f"worldsim_fused_{prefix}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    path = os.path.join(_cache_dir(), f"{name}.py")
    if not os.path.exists(path):
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(source)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    module.__dict__.update({k: v for k, v in namespace.items() if not k.startswith("__")})
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _is_tid(node) -> bool:
    return (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute) and node.value.func.attr == "tid")  # fmt: skip


def kernel_as_func(kernel):
    """The ``wp.func`` version of ``kernel``: same body, ``wp.tid()``'s values as leading ``int`` parameters.

    The generated module holds only code: a factory whose parameters are the kernel's closure variables (kernels
    built per model size capture their sizes and helpers), so the function stays a closure, as Warp hashes it, and
    two specializations of one kernel share the module but not the function."""
    key = id(kernel)
    if key in _FUNCS:
        return _FUNCS[key][1]
    fn = kernel.func
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    node = tree.body[0]
    if not isinstance(node, ast.FunctionDef):
        raise ValueError(f"kernel {kernel.key!r}: cannot read its function definition")
    node.name = "fused_stage"
    tids = [i for i, stmt in enumerate(node.body) if _is_tid(stmt)]
    if len(tids) != 1:
        raise ValueError(f"kernel {kernel.key!r}: expected one wp.tid() assignment, found {len(tids)}")
    target = node.body.pop(tids[0]).targets[0]
    names = [target.id] if isinstance(target, ast.Name) else [e.id for e in target.elts]
    node.args.args[:0] = [ast.arg(arg=n, annotation=ast.Name(id="int", ctx=ast.Load())) for n in names]
    node.decorator_list = [ast.Attribute(value=ast.Name(id="wp", ctx=ast.Load()), attr="func", ctx=ast.Load())]
    freevars = list(fn.__code__.co_freevars)
    factory = ast.FunctionDef(
        name="make", args=ast.arguments(posonlyargs=[], args=[ast.arg(arg=v) for v in freevars], kwonlyargs=[],
                                        kw_defaults=[], defaults=[]),
        body=[node, ast.Return(value=ast.Name(id="fused_stage", ctx=ast.Load()))], decorator_list=[],
    )  # fmt: skip
    origin = f"{fn.__module__}.{fn.__qualname__}"
    source = f"# {origin}\nimport warp as wp\n\n\n" + ast.unparse(ast.fix_missing_locations(factory)) + "\n"
    module = _load_module(source, kernel.key.replace(".", "_")[-40:], fn.__globals__)
    closure = [c.cell_contents for c in fn.__closure__ or ()]
    _FUNCS[key] = (kernel, module.make(*closure))
    return _FUNCS[key][1]


def fuse(ops: list[tuple], num_worlds: int):
    """One kernel for the recorded ``ops`` of a chunk of ``num_worlds`` worlds, and its inputs (the last one,
    ``nsub``, is the number of times the ops run). Raises ValueError for an op it cannot fuse."""
    params: dict[tuple, tuple[str, object, object]] = {}  # identity -> (name, type, value)

    def param(value, typ) -> str:
        key = (id(value), str(typ)) if isinstance(value, wp.array) else ("value", str(typ), repr(value))
        if key not in params:
            params[key] = (f"p{len(params)}", typ, value)
        return params[key][0]

    lines, funcs = [], {}
    for op in ops:
        if op[0] == "kernel":
            _, kernel, dim, values = op
            dims = (dim,) if isinstance(dim, int) else tuple(dim)
            if dims[0] != num_worlds or len(dims) > 2:
                raise ValueError(f"kernel {kernel.key!r}: launch dims {dims} are not (worlds[, k])")
            func = kernel_as_func(kernel)
            fname = f"f{len(funcs)}"
            funcs[fname] = func
            args = [param(v, a.type) for v, a in zip(values, kernel.adj.args, strict=True)]
            if len(dims) == 1:
                lines.append(f"        {fname}(w, {', '.join(args)})")
            else:
                lines.append(f"        for k in range({dims[1]}):")
                lines.append(f"            {fname}(w, k, {', '.join(args)})")
        elif op[0] == "copy":
            _, dst, src = op
            if dst.ndim != 2 or dst.shape != src.shape or dst.shape[0] != num_worlds:
                raise ValueError(f"copy of shapes {dst.shape} <- {src.shape} is not per-world rows")
            d, s = param(dst, type(dst)), param(src, type(src))
            lines.append(f"        for k in range({dst.shape[1]}):")
            lines.append(f"            {d}[w, k] = {s}[w, k]")
        else:
            raise ValueError(f"cannot fuse a recorded {op[0]!r}")
    names = [name for name, _, _ in params.values()]
    closure = [*funcs, *(f"T{n}" for n in names)]
    signature = ", ".join([*(f"{n}: T{n}" for n in names), "nsub: int"])
    source = (
        "import warp as wp\n\n\n"
        f"def make({', '.join(closure)}):\n"
        f"    def fused_step({signature}):\n"
        "        w = wp.tid()\n"
        "        for _s in range(nsub):\n" + "\n".join("    " + line for line in lines) + "\n"
        "    return fused_step\n"
    )
    values = [*funcs.values(), *(_annotation(typ, value) for _, typ, value in params.values())]
    key = (source, tuple(id(f) for f in funcs.values()))
    if key not in _KERNELS:
        module = _load_module(source, "step", {})
        _KERNELS[key] = wp.kernel(module.make(*values), enable_backward=False, module="unique")
    return _KERNELS[key], [value for _, _, value in params.values()]


def _annotation(typ, value):
    """The parameter type for the generated signature: the kernel's declared type, or for a recorded copy the
    array's own."""
    if isinstance(typ, type) and issubclass(typ, wp.array):
        return wp.array(dtype=value.dtype, ndim=value.ndim)
    return typ
