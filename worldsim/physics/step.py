"""One simulation step as a fixed sequence of kernel launches over all worlds (MuJoCo's mj_step).

    kinematics → tendons → collision (one launch per collider family) → mass matrix, bias, passive, actuation
    → unconstrained acceleration → constraint layout → constraint rows → Newton solver → implicit correction
    → (Euler: implicit damping) → integration            (RK4: the forward part four times, then the tableau)

No Python loop over worlds or bodies: each stage is one launch, its arguments looked up by name
(:mod:`.launch`). A :class:`~.data.Workspace` holds every intermediate array, allocated once per model and reused.
:class:`ParallelStep` runs the sequence on contiguous chunks of worlds in parallel threads, with launches (and
adjoints) recorded once.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import torch
import warp as wp

from . import (
    actuation,
    constraint,
    dynamics,
    integrator,
    kinematics,
    noslip,
    passive,
    solver,
    solver_unrolled,
    tendon,
    unrolled,
)
from .data import Workspace
from .launch import Namespace, Recorder, launch
from .model import Model
from .params import PARAM_SPECS
from .sensors import launch_body_forces, launch_sensors
from .types import vec5

#: Warp element type of each parameter, by its trailing dimension.
_TRAILING = {3: wp.vec3, 2: wp.vec2, 5: vec5}
PARAM_DTYPES = {name: _TRAILING.get(spec.shape[-1], wp.float32) if spec.shape and isinstance(spec.shape[-1], int)
                else wp.float32 for name, spec in PARAM_SPECS.items()}  # fmt: skip


def param_to_warp(name: str, t: torch.Tensor, grad: torch.Tensor | None = None) -> wp.array:
    """Zero-copy Warp view of a contiguous float32 parameter tensor ``[N, ...]`` (with ``grad`` as its gradient).

    An empty entry (``actuator_gear`` of a model without actuators, ...) becomes a never-read [N, 1] placeholder.
    """
    t = t.detach()
    if t.numel() == 0:
        return wp.zeros((t.shape[0], 1), dtype=wp.float32, device=str(t.device) if t.is_cuda else "cpu")
    return wp.from_torch(t, dtype=PARAM_DTYPES[name], grad=grad)


def params_to_warp(params: dict) -> dict[str, wp.array]:
    """:func:`param_to_warp` of every entry of the parameter table."""
    return {name: param_to_warp(name, params[name]) for name in PARAM_DTYPES}


class State:
    """Warp arrays of one state (qpos, qvel, act), the controls, and ``qpos_err``: per translation coordinate, the
    remainder of the compensated position sum (see :mod:`.integrator`; not differentiated). Padded to at least one
    column."""

    FIELDS = ("qpos", "qvel", "act", "ctrl", "qpos_err")

    def __init__(self, model: Model, requires_grad: bool = False):
        n, dev, rg = model.num_worlds, model.wp_device, requires_grad

        def z(size, grad=rg):
            return wp.zeros((n, max(size, 1)), dtype=wp.float32, device=dev, requires_grad=grad)

        self.qpos, self.qvel, self.act, self.ctrl = z(model.nq), z(model.nv), z(model.na), z(model.nu)
        self.qpos_err = z(model.nq, grad=False)

    def arrays(self) -> dict[str, wp.array]:
        return {name: getattr(self, name) for name in self.FIELDS}

    def view(self, start: int, end: int) -> State:
        out = object.__new__(State)
        for name in self.FIELDS:
            setattr(out, name, getattr(self, name)[start:end])
        return out


class StepWorkspace:
    """Everything one step needs: a :class:`Workspace` per force evaluation (1 for Euler, 4 for RK4), the RK4
    stage states, and the solver's warm start."""

    def __init__(self, model: Model, requires_grad: bool = False):
        nstage = 4 if model.integrator == "RK4" else 1
        self.stages = [Workspace(model, requires_grad) for _ in range(nstage)]
        self.rk_states = [State(model, requires_grad) for _ in range(nstage - 1)]
        n, dev = model.num_worlds, model.wp_device
        self.rk_vel = [wp.zeros((n, max(model.nv, 1)), dtype=wp.float32, device=dev, requires_grad=requires_grad)
                       for _ in range(nstage)]  # fmt: skip
        self.qacc_warmstart = wp.zeros((n, max(model.nv, 1)), dtype=wp.float32, device=dev)

    def zero_grad(self) -> None:
        for ws in self.stages:
            ws.zero_grad()
        for s in self.rk_states:
            for a in s.arrays().values():
                if a.grad is not None:
                    a.grad.zero_()
        for a in self.rk_vel:
            if a.grad is not None:
                a.grad.zero_()

    def view(self, start: int, end: int) -> StepWorkspace:
        out = object.__new__(StepWorkspace)
        out.stages = [ws.view(start, end) for ws in self.stages]
        out.rk_states = [s.view(start, end) for s in self.rk_states]
        out.rk_vel = [a[start:end] for a in self.rk_vel]
        out.qacc_warmstart = self.qacc_warmstart[start:end]
        return out


def default_num_threads(model: Model) -> int:
    """CPU threads used to step a model: ``WORLDSIM_NUM_THREADS`` or all cores, at most one per 16 worlds; 1 on
    CUDA (one launch already covers every world)."""
    if model.device.type != "cpu":
        return 1
    wanted = int(os.environ.get("WORLDSIM_NUM_THREADS", os.cpu_count() or 1))
    return max(1, min(wanted, model.num_worlds // 16))


_POOLS: dict[int, ThreadPoolExecutor] = {}


class ParallelStep:
    """One simulation step over all worlds, split into contiguous chunks of worlds stepped in parallel threads.

    Worlds never interact, so each chunk runs the whole launch sequence of :func:`launch_step` on views of the
    arrays; Warp's CPU kernels release the GIL, so the chunks use separate cores. Views and launches are made
    once, so a step costs no allocations. With ``adjoint=True`` it also runs the step's adjoint
    (:meth:`forward_backward`), in parallel too.
    """

    def __init__(self, model: Model, sws: StepWorkspace, params: dict, state_in: State, state_out: State,
                 num_threads: int | None = None, adjoint: bool = False, sensors: bool = False,
                 extra: dict[str, wp.array] | None = None, fused: bool = False):  # fmt: skip
        """``extra``: more per-world arrays [N, ...] for the kernels, by name (the simulator's clock, ``time``).
        ``fused``: run each chunk's step (all its substeps) as one kernel (:mod:`.fused`; not with ``adjoint``)."""
        if fused and adjoint:
            raise ValueError("a fused step has no adjoint")
        self.model = model
        self.fused = fused
        self._fused_launches: dict[tuple[float, int], list] = {}
        self.adjoint = adjoint
        self.sensors = sensors
        n = model.num_worlds
        k = default_num_threads(model) if num_threads is None else max(1, min(int(num_threads), n))
        bounds = [(i * n // k, (i + 1) * n // k) for i in range(k)]
        extra = extra or {}
        if k == 1:
            self.jobs = [(sws, {**params, **extra}, state_in, state_out)]
        else:
            self.jobs = [(sws.view(a, b), {name: p[a:b] for name, p in {**params, **extra}.items()},
                          state_in.view(a, b), state_out.view(a, b)) for a, b in bounds]  # fmt: skip
        if k > 1 and k not in _POOLS:
            _POOLS[k] = ThreadPoolExecutor(max_workers=k, thread_name_prefix="worldsim-step")
        self.pool = _POOLS.get(k) if k > 1 else None
        self._cmds: dict[float, list[Recorder]] = {}
        self._eval: list[Recorder] | None = None

    def _commands(self, h: float) -> list[Recorder]:
        """Per chunk, the step's launches recorded once (see :class:`Recorder`)."""
        if h not in self._cmds:
            chunks = []
            for job in self.jobs:
                rec = Recorder(adjoint=self.adjoint)
                launch_step(self.model, *job, h, rec, sensors=self.sensors)
                chunks.append(rec)
            self._cmds[h] = chunks
        return self._cmds[h]

    def _run_chunks(self, fn, h: float, chunks: list | None = None) -> None:
        """Run ``fn(chunk)`` for every chunk of worlds, in parallel: ``chunks`` holds one item per chunk (default:
        the step's recorded launches for ``h``)."""
        chunks = self._commands(h) if chunks is None else chunks
        if self.pool is None:
            fn(chunks[0])
            return
        for future in [self.pool.submit(fn, rec) for rec in chunks]:
            future.result()

    def __call__(self, h: float, substeps: int = 1) -> None:
        """Step every world ``substeps`` times by ``h`` [s]."""
        if self.fused:
            self._run_chunks(lambda launch: launch(), h, self._fused(h, substeps))
            return

        def run(rec):
            for _ in range(substeps):
                for cmd in rec.forward:
                    cmd()

        self._run_chunks(run, h)

    def _fused(self, h: float, substeps: int) -> list:
        """Per chunk, the recorded launch of its fused step kernel for ``substeps`` steps of ``h``."""
        key = (h, substeps)
        if key not in self._fused_launches:
            from .fused import fuse
            from .launch import prepared_launch

            out = []
            for rec, (sws, _params, _state_in, _state_out) in zip(self._commands(h), self.jobs, strict=True):
                n = sws.stages[0].qacc.shape[0]
                kernel, inputs = fuse(rec.ops, n)
                out.append(prepared_launch(kernel, n, [*inputs, substeps], self.model.wp_device))
            self._fused_launches[key] = out
        return self._fused_launches[key]

    def evaluate(self) -> None:
        """MuJoCo's mj_forward of every world at ``state_in`` (see :func:`launch_evaluate`), in parallel."""
        if self._eval is None:
            self._eval = []
            for sws, params, state_in, _ in self.jobs:
                rec = Recorder()
                launch_evaluate(self.model, sws, params, state_in, rec, sensors=self.sensors)
                self._eval.append(rec)

        def run(rec):
            for cmd in rec.forward:
                cmd()

        self._run_chunks(run, 0.0, self._eval)

    def forward_backward(self, h: float) -> None:
        """One step by ``h`` and its adjoint: the gradients set on the outputs' ``.grad`` flow into the inputs',
        the parameters' and the workspace's ``.grad`` (requires ``adjoint=True`` and arrays with gradients)."""

        def run(rec):
            for cmd in rec.forward:
                cmd()
            for cmd in reversed(rec.backward):
                cmd()

        self._run_chunks(run, h)


def model_scalars(model: Model, h: float) -> dict:
    """The scalar kernel arguments: model sizes, options and the step ``h`` [s]."""
    opt = model.opt
    on = opt.is_enabled
    return {
        **model.sizes,
        "h": float(h),
        "timestep": float(opt.timestep),
        "refsafe": int(on("refsafe")),
        "impratio": float(max(opt.impratio, 1e-15)),
        "elliptic": int(opt.cone == "elliptic"),
        "damper_on": int(on("damper")),
        "density": float(opt.density),
        "viscosity": float(opt.viscosity),
        "wind": wp.vec3(*opt.wind),
        "iterations": int(max(opt.iterations, 1)),
        "ls_iterations": int(max(opt.ls_iterations, 1)),
        "tolerance": float(opt.tolerance),
        "noslip_iterations": int(opt.noslip_iterations),
        "noslip_tolerance": float(opt.noslip_tolerance),
        "meaninertia": float(model.meaninertia),
        "warmstart": int(on("warmstart")),
        "magnetic": wp.vec3(*opt.magnetic),
        **model.override,
    }


def launch_step(model: Model, sws: StepWorkspace, params: dict[str, wp.array], state_in: State, state_out: State,
                h: float, rec: Recorder | None = None, *, sensors: bool = False) -> None:  # fmt: skip
    """Advance all worlds by ``h`` seconds with the model's integrator: state_in → state_out (the controls are
    state_in.ctrl). The output may alias the input when no adjoint is recorded. With ``sensors``, the sensors
    (and energy) of the starting state are computed into the first workspace, as MuJoCo's mj_step does."""
    base = Namespace(model.const, model_scalars(model, h), params)
    dev, n = model.wp_device, state_in.qpos.shape[0]
    gradients = rec is not None and rec.adjoint
    if model.integrator != "RK4":
        ws = sws.stages[0]
        ns = base.with_layer(ws.arrays).with_layer({**state_in.arrays(), "qacc_warmstart": sws.qacc_warmstart})
        launch_forward(model, ns, n, rec, gradients=gradients, forces=sensors or _wants_forces(model))
        if sensors:
            launch_sensors(model, ns, n, rec)
        if model.want_body_forces:
            launch_body_forces(model, ns, n, rec)
        euler_damping = model.opt.is_enabled("eulerdamp") and model.opt.is_enabled("damper") and model.nv > 0
        out = {"qpos_in": state_in.qpos, "qerr_in": state_in.qpos_err, "qvel_in": state_in.qvel,
               "qpos_out": state_out.qpos, "qerr_out": state_out.qpos_err, "qvel_out": state_out.qvel}  # fmt: skip
        if euler_damping:
            launch(euler_damping_solve_kernel(model), n, ns.with_layer({"keep_factor": int(gradients)}), dev, rec)
            if gradients:  # the correction changes the derivative only, not the value
                launch(integrator.eval_euler_damping_correction, n, ns, dev, rec)
            else:
                out["qacc_euler"] = ws.eul_star
        else:
            out["qacc_euler"] = ws.qacc
        ns_int = base.with_layer({k: v for k, v in ws.arrays.items() if k not in out}).with_layer(out)
        launch(integrator.integrate_euler, n, ns_int, dev, rec)
        if model.na:
            launch_act(model, base, n, state_in.act, [ws.act_dot] * 4, (1.0, 0.0, 0.0, 0.0), state_out.act, rec)
        _copy(rec, sws.qacc_warmstart, ws.qacc)
        if "time" in base:
            launch(advance_time, n, base, dev, rec)
        return
    # RK4 (MuJoCo's tableau): stage i+1 starts from (q0, v0, act0) advanced by A[i][i]·h along stage i's rates;
    # the step ends with the B-weighted combination of all four stages
    states = [state_in, *sws.rk_states]
    for i in range(4):
        ws = sws.stages[i]
        stage_state = {**states[i].arrays(), "ctrl": state_in.ctrl, "qacc_warmstart": sws.qacc_warmstart}
        ns = base.with_layer(ws.arrays).with_layer(stage_state)
        # MuJoCo's mj_step leaves MjData holding the last stage's evaluation (sensors: the first stage's)
        forces = (sensors and i == 0) or (i == 3 and _wants_forces(model))
        launch_forward(model, ns, n, rec, gradients=gradients, forces=forces)
        if sensors and i == 0:
            launch_sensors(model, ns, n, rec)
        if i == 3 and model.want_body_forces:
            launch_body_forces(model, ns, n, rec)
        if i < 3:
            vels = [states[i].qvel] * 4
            accs = [ws.qacc] * 4
            act_rates = [ws.act_dot] * 4
            weights = (RK4_A_DIAG[i], 0.0, 0.0, 0.0)
            target = states[i + 1]
        else:
            vels = [s.qvel for s in states]
            accs = [s.qacc for s in sws.stages]
            act_rates = [s.act_dot for s in sws.stages]
            weights = integrator.RK4_B
            target = state_out
        rk = {"qpos_in": state_in.qpos, "qerr_in": state_in.qpos_err, "qvel_in": state_in.qvel, "v0": vels[0],
              "v1": vels[1], "v2": vels[2], "v3": vels[3], "a0": accs[0], "a1": accs[1], "a2": accs[2],
              "a3": accs[3], "rk_weights": wp.vec4(*weights), "rk_vel": sws.rk_vel[i], "qpos_out": target.qpos,
              "qerr_out": target.qpos_err, "qvel_out": target.qvel}  # fmt: skip
        launch(integrator.integrate_rk, n, base.with_layer(rk), dev, rec)
        if model.na:
            launch_act(model, base, n, state_in.act, act_rates, weights, target.act, rec, final=int(i == 3))
    _copy(rec, sws.qacc_warmstart, sws.stages[3].qacc)
    if "time" in base:
        launch(advance_time, n, base, dev, rec)


RK4_A_DIAG = tuple(row[-1] for row in integrator.RK4_A)


def launch_evaluate(model: Model, sws: StepWorkspace, params: dict[str, wp.array], state: State,
                    rec: Recorder | None = None, *, sensors: bool = False) -> None:  # fmt: skip
    """MuJoCo's mj_forward: every intermediate array of ``state`` (kinematics, contacts, forces, ``qacc``, the body
    forces when the model wants them, and with ``sensors`` the sensors), without integrating, into the workspaces
    :meth:`Simulator.data` and ``sensordata`` read (RK4: the last stage's, and the first's for the sensors). The
    warm start is read, not written."""
    h = model.timestep / model.substeps
    base = Namespace(model.const, model_scalars(model, h), params)
    n = state.qpos.shape[0]
    inputs = {**state.arrays(), "qacc_warmstart": sws.qacc_warmstart}
    ns = base.with_layer(sws.stages[-1].arrays).with_layer(inputs)
    launch_forward(model, ns, n, rec, forces=True)
    if model.want_body_forces:
        launch_body_forces(model, ns, n, rec)
    if sensors:
        if len(sws.stages) > 1:
            ns = base.with_layer(sws.stages[0].arrays).with_layer(inputs)
            launch_forward(model, ns, n, rec, forces=True)
        launch_sensors(model, ns, n, rec)


def _wants_forces(model: Model) -> bool:
    return bool(model.want_constraint_forces or model.want_body_forces)


def launch_act(model, base: Namespace, n: int, act_in, rates: list, weights, act_out, rec, final: int = 1) -> None:
    values = {"act_in": act_in, "d0": rates[0], "d1": rates[1], "d2": rates[2], "d3": rates[3],
              "rk_weights": wp.vec4(*weights), "final": final, "act_out": act_out}  # fmt: skip
    launch(integrator.integrate_act, n, base.with_layer(values), model.wp_device, rec)


def launch_forward(model: Model, ns: Namespace, n: int, rec: Recorder | None = None, *, gradients: bool = False,
                   forces: bool = False) -> None:  # fmt: skip
    """Accelerations ``qacc`` of all worlds at the state in ``ns``: MuJoCo's mj_forward without sensors. With
    ``gradients``, the solver's implicit-gradient correction is launched too (it leaves the values unchanged);
    with ``forces`` (or noslip on, or gradients), the constraint forces ``efc_force`` and ``qfrc_constraint`` at
    the solution are computed as well (the sensors read them)."""
    dev = model.wp_device
    launch(kinematics.eval_body_poses, n, ns, dev, rec)
    launch(kinematics.eval_body_velocities, n, ns, dev, rec)
    if model.ngeom:
        launch(kinematics.eval_geom_poses, (n, model.ngeom), ns, dev, rec)
    if model.nsite:
        launch(kinematics.eval_site_poses, (n, model.nsite), ns, dev, rec)
    if model.ntendon:
        launch(tendon.eval_tendons, (n, model.ntendon), ns, dev, rec)
    for kernel, family_pairs in model.collider_families:
        launch(kernel, (n, family_pairs.shape[0]), ns.with_layer({"family_pairs": family_pairs}), dev, rec)
    launch(dynamics.eval_crba, n, ns, dev, rec)
    launch(dynamics.eval_rnea, n, ns, dev, rec)
    launch(passive.eval_passive, n, ns, dev, rec)
    if model.nu and model.opt.is_enabled("actuation"):
        launch(actuation.eval_actuation, n, ns, dev, rec)
    if model.nv:
        launch(dynamics.eval_qfrc_smooth, (n, model.nv), ns, dev, rec)
        launch(constraint.eval_constraint_layout, n, ns, dev, rec)
        if model.njmax:
            launch(constraint.eval_constraint_rows, n, ns, dev, rec)
        noslip_on = model.opt.noslip_iterations > 0 and model.njmax > 0
        flags = {"keep_factor": int(gradients), "want_forces": int((forces or noslip_on) and not gradients)}
        launch(newton_kernel(model), n, ns.with_layer(flags), dev, rec)
        if gradients:  # it writes the forces too
            launch(solver.eval_constraint_correction, n, ns, dev, rec)
        if noslip_on:
            launch(noslip.eval_noslip, n, ns, dev, rec)


def use_unrolled(model: Model) -> bool:
    """Whether the step uses the kernels generated for the model's nv with dof loops unrolled (:mod:`.unrolled`):
    on CPU, for 1 <= nv <= :data:`.unrolled.MAX_NV`."""
    return wp.get_device(model.wp_device).is_cpu and unrolled.supported(model.nv)


def newton_kernel(model: Model) -> wp.Kernel:
    """The Newton solver: :mod:`.solver_unrolled`'s kernel for the model's nv, or the array kernel."""
    return solver_unrolled.newton_kernel(model.nv) if use_unrolled(model) else solver.eval_newton


def euler_damping_solve_kernel(model: Model) -> wp.Kernel:
    """Euler's implicit-damping solve: the unrolled kernel for the model's nv, or the array kernel."""
    if use_unrolled(model):
        return integrator.euler_damping_solve_kernel(model.nv)
    return integrator.eval_euler_damping_solve


@wp.kernel(enable_backward=False)
def advance_time(h: float, time: wp.array(dtype=wp.float64)):
    """The simulator's clock [s], advanced by each step (MuJoCo's d->time)."""
    w = wp.tid()
    time[w] = time[w] + wp.float64(h)


def _copy(rec: Recorder | None, dst: wp.array, src: wp.array) -> None:
    if rec is None:
        wp.copy(dst, src)
    else:
        rec.copy(dst, src)
