"""One simulation step as a fixed sequence of kernel launches over all worlds.

    eval_kinematics (N) → eval_geom_poses (N × ngeom) → eval_contact_forces (N × nslot)
    → eval_dynamics (N) → integrate_euler or integrate_rk (N)      (RK4: the first four stages four times)

No Python loop over worlds or bodies: each stage is one launch. A :class:`Workspace` holds every
intermediate array, allocated once per model and reused by every step. :class:`ParallelStep` runs the sequence
on contiguous chunks of worlds in parallel threads, with launches (and adjoints) recorded once.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import torch
import warp as wp

from .contact import eval_contact_forces
from .dynamics import eval_dynamics
from .integrator import RK4_A, RK4_B, integrate_euler, integrate_rk
from .kinematics import eval_geom_poses, eval_kinematics
from .model import Model
from .params import PARAM_SPECS

#: Warp element type of each parameter: a trailing dimension of 3 is a wp.vec3, anything else is float32.
PARAM_DTYPES = {name: wp.vec3 if spec.shape[-1:] == (3,) else wp.float32 for name, spec in PARAM_SPECS.items()}


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


class Workspace:
    """Intermediate arrays of one step for ``model.num_worlds`` worlds.

    With ``requires_grad=True`` every array carries a gradient buffer so a step can be recorded on a
    backward pass (see :class:`Recorder`); :meth:`zero_accumulated_grad` readies them for the next step.
    """

    def __init__(self, model: Model, requires_grad: bool = False):
        n, dev, rg = model.num_worlds, model.wp_device, requires_grad
        nb, nv, ng, ns = model.nbody, max(model.nv, 1), max(model.ngeom, 1), max(model.nslot, 1)

        def z(shape, dtype=wp.float32):
            return wp.zeros(shape, dtype=dtype, device=dev, requires_grad=rg)

        self.arrays = dict(
            frame_pos=z((n, model.nframe), wp.vec3),
            frame_quat=z((n, model.nframe), wp.quat),
            frame_vel=z((n, model.nframe), wp.spatial_vector),
            xpos=z((n, nb), wp.vec3),
            xquat=z((n, nb), wp.quat),
            xipos=z((n, nb), wp.vec3),
            cdof=z((n, nv), wp.spatial_vector),
            cdof_dot=z((n, nv), wp.spatial_vector),
            cvel=z((n, nb), wp.spatial_vector),
            geom_xpos=z((n, ng), wp.vec3),
            geom_xquat=z((n, ng), wp.quat),
            cfrc_ext=z((n, nb), wp.spatial_vector),
            slot_gamma=z((n, ns)),
            slot_point=z((n, ns), wp.vec3),
            slot_normal=z((n, ns), wp.vec3),
            slot_jac=z((n, ns, nv), wp.vec3),
            crb_mass=z((n, nb)),
            crb_h=z((n, nb), wp.vec3),
            crb_inertia=z((n, nb), wp.mat33),
            cacc=z((n, nb), wp.spatial_vector),
            cfrc=z((n, nb), wp.spatial_vector),
            qfrc=z((n, nv)),
            qfrc_limit=z((n, nv)),
            mass_matrix=z((n, nv, nv)),
            chol_acc=z((n, nv, nv)),
            chol=z((n, nv, nv)),
            solve_acc=z((n, nv)),
            solve_y=z((n, nv)),
            solve_acc2=z((n, nv)),
            solve_acc0=z((n, nv)),
            solve_y0=z((n, nv)),
            solve_acc20=z((n, nv)),
            qacc0=z((n, nv)),
            qacc=z((n, nv)),
        )
        for k, v in self.arrays.items():
            setattr(self, k, v)

    def zero_accumulated_grad(self) -> None:
        """Zero the gradients that a backward pass leaves behind. Every workspace array but ``cfrc_ext`` is stored
        (written with ``=``) in each step, and Warp's adjoint of a store consumes (zeroes) that gradient; only the
        purely accumulated ``cfrc_ext`` keeps one."""
        if self.cfrc_ext.grad is not None:
            self.cfrc_ext.grad.zero_()

    def view(self, start: int, end: int) -> Workspace:
        """The same workspace restricted to worlds [start, end) (views, no copies)."""
        out = object.__new__(Workspace)
        out.arrays = {k: a[start:end] for k, a in self.arrays.items()}
        for k, v in out.arrays.items():
            setattr(out, k, v)
        return out


class StepWorkspace:
    """Everything one step needs: a :class:`Workspace` per force evaluation (1 for Euler, 4 for RK4) and the RK4
    stage states, so that a whole step can be recorded on one tape without overwriting anything."""

    def __init__(self, model: Model, requires_grad: bool = False):
        nstage = 4 if model.integrator == "RK4" else 1
        self.stages = [Workspace(model, requires_grad) for _ in range(nstage)]
        n, dev = model.num_worlds, model.wp_device
        nq, nv = max(model.nq, 1), max(model.nv, 1)
        self.rk_qpos = [wp.zeros((n, nq), dtype=wp.float32, device=dev, requires_grad=requires_grad) for _ in range(3)]
        self.rk_qvel = [wp.zeros((n, nv), dtype=wp.float32, device=dev, requires_grad=requires_grad) for _ in range(3)]
        self.rk_vel = [wp.zeros((n, nv), dtype=wp.float32, device=dev, requires_grad=requires_grad) for _ in range(4)]
        if nstage == 1:
            self.rk_qpos = self.rk_qvel = self.rk_vel = []

    def zero_accumulated_grad(self) -> None:
        """See :meth:`Workspace.zero_accumulated_grad` (the RK4 stage states are stored, so consumed)."""
        for ws in self.stages:
            ws.zero_accumulated_grad()

    def view(self, start: int, end: int) -> StepWorkspace:
        """The same workspace restricted to worlds [start, end) (views, no copies)."""
        out = object.__new__(StepWorkspace)
        out.stages = [ws.view(start, end) for ws in self.stages]
        out.rk_qpos = [a[start:end] for a in self.rk_qpos]
        out.rk_qvel = [a[start:end] for a in self.rk_qvel]
        out.rk_vel = [a[start:end] for a in self.rk_vel]
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

    def __init__(self, model: Model, sws: StepWorkspace, params: dict, qpos_in, qvel_in, ctrl, qpos_out, qvel_out,
                 num_threads: int | None = None, adjoint: bool = False):  # fmt: skip
        self.model = model
        self.adjoint = adjoint
        n = model.num_worlds
        k = default_num_threads(model) if num_threads is None else max(1, min(int(num_threads), n))
        bounds = [(i * n // k, (i + 1) * n // k) for i in range(k)]
        if k == 1:
            self.jobs = [(sws, params, qpos_in, qvel_in, ctrl, qpos_out, qvel_out)]
        else:
            self.jobs = [
                (sws.view(a, b), {name: p[a:b] for name, p in params.items()}, qpos_in[a:b], qvel_in[a:b], ctrl[a:b],
                 qpos_out[a:b], qvel_out[a:b])
                for a, b in bounds
            ]  # fmt: skip
        if k > 1 and k not in _POOLS:
            _POOLS[k] = ThreadPoolExecutor(max_workers=k, thread_name_prefix="worldsim-step")
        self.pool = _POOLS.get(k) if k > 1 else None
        self._cmds: dict[float, list[Recorder]] = {}

    def _commands(self, h: float) -> list[Recorder]:
        """Per chunk, the step's launches recorded once (see :class:`Recorder`)."""
        if h not in self._cmds:
            chunks = []
            for job in self.jobs:
                rec = Recorder(adjoint=self.adjoint)
                launch_step(self.model, *job, h, rec)
                chunks.append(rec)
            self._cmds[h] = chunks
        return self._cmds[h]

    def _run_chunks(self, fn, h: float) -> None:
        chunks = self._commands(h)
        if self.pool is None:
            fn(chunks[0])
            return
        for future in [self.pool.submit(fn, rec) for rec in chunks]:
            future.result()

    def __call__(self, h: float, substeps: int = 1) -> None:
        """Step every world ``substeps`` times by ``h`` [s]."""

        def run(rec):
            for _ in range(substeps):
                for cmd in rec.forward:
                    cmd()

        self._run_chunks(run, h)

    def forward_backward(self, h: float) -> None:
        """One step by ``h`` and its adjoint: the gradients set on the outputs' ``.grad`` flow into the inputs',
        the parameters' and the workspace's ``.grad`` (requires ``adjoint=True`` and arrays with gradients)."""

        def run(rec):
            for cmd in rec.forward:
                cmd()
            for cmd in reversed(rec.backward):
                cmd()

        self._run_chunks(run, h)


def launch_step(
    model: Model,
    sws: StepWorkspace,
    params: dict[str, wp.array],
    qpos_in: wp.array,
    qvel_in: wp.array,
    ctrl: wp.array,
    qpos_out: wp.array,
    qvel_out: wp.array,
    h: float,
    rec: Recorder | None = None,
) -> None:
    """Advance all worlds by ``h`` seconds with the model's integrator: (qpos_in, qvel_in, ctrl) → (qpos_out,
    qvel_out). The outputs may alias the inputs when no tape is recording."""
    c, dev, n = model.const, model.wp_device, qpos_in.shape[0]
    jnt = (model.nv, model.njnt, _opt(c, "jnt_type", wp.int32, dev), _opt(c, "jnt_qposadr", wp.int32, dev),
           _opt(c, "jnt_dofadr", wp.int32, dev))  # fmt: skip
    if model.integrator != "RK4":
        ws = sws.stages[0]
        launch_forward(model, ws, params, qpos_in, qvel_in, ctrl, h, h if model.flags["eulerdamp"] else 0.0, rec)
        _launch(
            rec,
            integrate_euler,
            dim=n,
            inputs=[qpos_in, qvel_in, ws.qacc, h, *jnt],
            outputs=[qpos_out, qvel_out],
            device=dev,
        )
        return
    # RK4 (MuJoCo's tableau): stage i+1 starts from (q0, v0) advanced by A[i][i] * h along stage i's (v, a);
    # the step ends with the B-weighted combination of all four stages
    qs, vs = [qpos_in, *sws.rk_qpos], [qvel_in, *sws.rk_qvel]
    for i in range(4):
        launch_forward(model, sws.stages[i], params, qs[i], vs[i], ctrl, h, 0.0, rec)
        if i < 3:
            vels, accs = [vs[i]] * 4, [sws.stages[i].qacc] * 4
            weights = wp.vec4(RK4_A[i][i], 0.0, 0.0, 0.0)
            outputs = [sws.rk_vel[i], qs[i + 1], vs[i + 1]]
        else:
            vels, accs = vs, [ws.qacc for ws in sws.stages]
            weights = wp.vec4(*RK4_B)
            outputs = [sws.rk_vel[3], qpos_out, qvel_out]
        _launch(
            rec,
            integrate_rk,
            dim=n,
            inputs=[qpos_in, qvel_in, *vels, *accs, weights, h, *jnt],
            outputs=outputs,
            device=dev,
        )


def launch_forward(
    model: Model,
    ws: Workspace,
    params: dict[str, wp.array],
    qpos: wp.array,
    qvel: wp.array,
    ctrl: wp.array,
    h: float,
    implicit_damping_dt: float,
    rec: Recorder | None = None,
) -> None:
    """Accelerations ``ws.qacc`` of all worlds at (qpos, qvel, ctrl): kinematics, contacts, dynamics."""
    c, dev, n = model.const, model.wp_device, qpos.shape[0]
    qpos_in, qvel_in = qpos, qvel
    _launch(
        rec,
        eval_kinematics,
        dim=n,
        inputs=[
            qpos_in, qvel_in, model.nbody,
            c["body_parent"], c["body_pos"], c["body_quat"], c["body_jntadr"], c["body_jntnum"],
            c["body_frameadr"], _opt(c, "jnt_type", wp.int32, dev), _opt(c, "jnt_qposadr", wp.int32, dev),
            _opt(c, "jnt_dofadr", wp.int32, dev), _opt(c, "jnt_pos", wp.vec3, dev), _opt(c, "jnt_axis", wp.vec3, dev),
            _opt(c, "qpos0", wp.float32, dev), params["body_ipos"],
        ],
        outputs=[ws.frame_pos, ws.frame_quat, ws.frame_vel, ws.xpos, ws.xquat, ws.xipos, ws.cdof, ws.cdof_dot, ws.cvel],
        device=dev,
    )  # fmt: skip
    _run(rec, ws.cfrc_ext.zero_)
    if model.ngeom:
        _launch(
            rec,
            eval_geom_poses,
            dim=(n, model.ngeom),
            inputs=[ws.xpos, ws.xquat, c["geom_body"], c["geom_pos"], c["geom_quat"]],
            outputs=[ws.geom_xpos, ws.geom_xquat],
            device=dev,
        )
    if model.nslot:
        _launch(
            rec,
            eval_contact_forces,
            dim=(n, model.nslot),
            inputs=[
                ws.geom_xpos, ws.geom_xquat, c["geom_type"], c["geom_size"], c["geom_body"],
                c["slot_geom1"], c["slot_geom2"], c["slot_kind"], c["slot_sub"], c["slot_friction_mode"],
                c["slot_margin"],
                c["body_invweight0"], c["body_mass0"], ws.cvel, params["body_mass"], params["geom_friction"],
                params["contact_stiffness"],
                params["contact_damping"], params["contact_smoothing"], params["contact_vel_smoothing"],
            ],
            outputs=[ws.cfrc_ext, ws.slot_gamma, ws.slot_point, ws.slot_normal],
            device=dev,
        )  # fmt: skip
    _launch(
        rec,
        eval_dynamics,
        dim=n,
        inputs=[
            qpos_in, qvel_in, ctrl, model.nbody, model.nv, model.njnt, model.nu, implicit_damping_dt,
            c["body_parent"], c["body_iquat"], c["body_dofadr"], c["body_dofnum"],
            _opt(c, "dof_bodyid", wp.int32, dev), c["dof_anc"], c["dof_ancadr"],
            _opt(c, "jnt_type", wp.int32, dev), _opt(c, "jnt_qposadr", wp.int32, dev),
            _opt(c, "jnt_dofadr", wp.int32, dev), _opt(c, "jnt_stiffness", wp.float32, dev),
            _opt(c, "jnt_limited", wp.int32, dev), _opt(c, "jnt_range", wp.vec2, dev),
            _opt(c, "jnt_limit_solref", wp.vec3, dev), _opt(c, "dof_jntid", wp.int32, dev),
            _opt(c, "dof_invweight0", wp.float32, dev), _opt(c, "qpos_spring", wp.float32, dev),
            c["actuator_dof"], c["actuator_gain"], c["actuator_ctrllimited"], c["actuator_ctrlrange"],
            c["actuator_forcelimited"], c["actuator_forcerange"],
            params["body_mass"], params["body_inertia"], params["dof_damping"], params["dof_armature"],
            params["actuator_gear"], params["gravity"], params["joint_limit_smoothing"],
            ws.xquat, ws.xipos, ws.cdof, ws.cdof_dot, ws.cvel, ws.cfrc_ext,
            model.nslot, h, _opt(c, "slot_geom1", wp.int32, dev), _opt(c, "slot_geom2", wp.int32, dev),
            _opt(c, "geom_body", wp.int32, dev), c["body_lastdof"], c["dof_is_anc"],
            ws.slot_gamma, ws.slot_point, ws.slot_normal,
        ],
        outputs=[
            ws.slot_jac, ws.crb_mass, ws.crb_h, ws.crb_inertia, ws.cacc, ws.cfrc, ws.qfrc, ws.qfrc_limit,
            ws.mass_matrix, ws.chol_acc, ws.chol, ws.solve_acc, ws.solve_y, ws.solve_acc2,
            int(model.has_limits), ws.solve_acc0, ws.solve_y0, ws.solve_acc20, ws.qacc0, ws.qacc,
        ],
        device=dev,
    )  # fmt: skip


class Recorder:
    """Collects a step's launches as reusable ``wp.Launch`` objects (arguments packed once), and with
    ``adjoint=True`` also each launch's adjoint, so a step can be re-run and back-propagated without ``wp.Tape``
    (whose recording is global and so cannot run in several threads)."""

    def __init__(self, adjoint: bool = False):
        self.adjoint = adjoint
        self.forward: list = []
        self.backward: list = []  # in execution order; run reversed

    def launch(self, kernel, *, dim, inputs, outputs, device) -> None:
        self.forward.append(wp.launch(kernel, dim=dim, inputs=inputs, outputs=outputs, device=device,
                                      record_cmd=True).launch)  # fmt: skip
        if self.adjoint:

            def grad_of(a):
                return a.grad if isinstance(a, wp.array) else None

            cmd = wp.launch(
                kernel, dim=dim, inputs=inputs, outputs=outputs, adj_inputs=[grad_of(a) for a in inputs],
                adj_outputs=[grad_of(a) for a in outputs], adjoint=True, device=device, record_cmd=True,
            )  # fmt: skip
            self.backward.append(cmd.launch)

    def call(self, fn) -> None:
        self.forward.append(fn)


def _launch(rec: Recorder | None, kernel, **kwargs) -> None:
    """Launch now, or record the launch (see :class:`Recorder`)."""
    if rec is None:
        wp.launch(kernel, **kwargs)
    else:
        rec.launch(kernel, **kwargs)


def _run(rec: Recorder | None, fn) -> None:
    if rec is None:
        fn()
    else:
        rec.call(fn)


_EMPTY: dict = {}


def _opt(const: dict, key: str, dtype, device: str) -> wp.array:
    """A model constant, or a 1-element placeholder for models without joints/dofs (never read then)."""
    a = const.get(key)
    if a is not None:
        return a
    k = (key, device)
    if k not in _EMPTY:
        _EMPTY[k] = wp.zeros(1, dtype=dtype, device=device)
    return _EMPTY[k]
