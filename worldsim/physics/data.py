"""Per-world intermediate arrays of a simulation step ("data", as ``mujoco.MjData``), named after MjData fields.

:data:`DATA_SPECS` lists every array: Warp dtype, shape after the leading world dimension (model size names or
literal sizes), whether it is on the differentiable path (then it carries a gradient buffer when the workspace
is built for a backward pass) and what it holds. Positions ("xpos" and friends) are relative to the origin of
their body's tree, ``root_origin[w, body_rootid[b]]`` (see :mod:`worldsim.physics.kinematics`).
"""

from __future__ import annotations

import warp as wp

from .types import vec5

I, F, V3, Q, M33, SV = wp.int32, wp.float32, wp.vec3, wp.quat, wp.mat33, wp.spatial_vector

#: name -> (dtype, per-world shape, differentiable, meaning)
DATA_SPECS: dict[str, tuple] = {
    # kinematics
    "frame_delta": (V3, ("nframe",), True, "position increment of each joint of a body's chain"),
    "frame_sum": (V3, ("nframe",), True, "running sum of the increments from the body's base point"),
    "frame_lo": (V3, ("nframe",), False, "root chains: what float32 frame_sum and qpos could not hold [m]"),
    "frame_pos": (V3, ("nframe",), True, "joint-chain frames: each body's frame before its joints, then after each"),
    "frame_quat": (Q, ("nframe",), True, "orientations of the joint-chain frames"),
    "frame_vel": (SV, ("nframe",), True, "spatial velocity after each joint of the chain"),
    "root_origin": (V3, ("nbody",), True, "world position of each tree's origin (at the root bodies' ids) [m]"),
    "xpos": (V3, ("nbody",), True, "body frame position, relative to its tree origin [m]"),
    "xquat": (Q, ("nbody",), True, "body orientation"),
    "xmat": (M33, ("nbody",), True, "body orientation as a matrix"),
    "xipos": (V3, ("nbody",), True, "centre of mass, relative to the tree origin [m]"),
    "ximat": (M33, ("nbody",), True, "principal axes of inertia"),
    "geom_xpos": (V3, ("ngeom",), True, "geom position, relative to its tree origin [m]"),
    "geom_xmat": (M33, ("ngeom",), True, "geom orientation"),
    "site_xpos": (V3, ("nsite",), True, "site position, relative to its tree origin [m]"),
    "site_xmat": (M33, ("nsite",), True, "site orientation"),
    "cdof": (SV, ("nv",), True, "motion axis of each dof (angular, linear at the tree origin)"),
    "cvel": (SV, ("nbody",), True, "body spatial velocity (angular, linear at the tree origin)"),
    "cdof_dot": (SV, ("nv",), True, "time derivative of cdof"),
    # tendons and transmissions
    "ten_length": (F, ("ntendon",), True, "tendon length [m]"),
    "ten_J": (F, ("ntendon", "nv"), True, "tendon Jacobian d length / d qvel"),
    "ten_velocity": (F, ("ntendon",), True, "tendon velocity [m/s]"),
    "actuator_length": (F, ("nu",), True, "transmission length (joint position times gear, or tendon length)"),
    "actuator_velocity": (F, ("nu",), True, "transmission velocity"),
    "actuator_force": (F, ("nu",), True, "actuator force (before the gear)"),
    "act_dot": (F, ("na",), True, "activation derivative"),
    "qfrc_actuator_raw": (F, ("nv",), True, "momentᵀ force before the joint-level clamp"),
    "qfrc_actuator": (F, ("nv",), True, "actuator generalized force"),
    # passive and bias forces, mass matrix
    "qfrc_passive": (F, ("nv",), True, "springs, dampers, fluid"),
    "qfrc_bias": (F, ("nv",), True, "Coriolis, centrifugal and gravity forces c(q, v)"),
    "qfrc_smooth": (F, ("nv",), True, "qfrc_passive + qfrc_actuator - qfrc_bias"),
    "crb_mass": (F, ("nbody",), True, "composite-rigid-body mass [kg]"),
    "crb_h": (V3, ("nbody",), True, "composite first moment (mass times centre of mass) [kg m]"),
    "crb_inertia": (M33, ("nbody",), True, "composite rotational inertia about the tree origin [kg m²]"),
    "cacc": (SV, ("nbody",), True, "bias acceleration of each body (RNEA, zero qacc)"),
    "cfrc": (SV, ("nbody",), True, "RNEA body forces, accumulated to the root"),
    "qM": (F, ("nv", "nv"), True, "joint-space inertia (dense; entries off the ancestor pattern are 0)"),
    "qLD": (F, ("nv", "nv"), False, "Cholesky factor of qM (lower)"),
    "qacc_smooth": (F, ("nv",), False, "unconstrained acceleration M⁻¹ qfrc_smooth"),
    "solve_tmp": (F, ("nv",), False, "scratch of the triangular solves"),
    # collision
    "contact_dist": (F, ("nslot",), True, "per contact slot: signed distance [m] (1e30: no contact)"),
    "contact_pos": (V3, ("nslot",), True, "per slot: contact point [m], relative to contact_root's tree origin"),
    "contact_frame": (M33, ("nslot",), True, "per slot: rows normal (geom1 to geom2), tangent, tangent"),
    # constraint layout (integers, decided once per evaluation)
    "ncon": (I, (1,), False, "number of contacts in the solver"),
    "ncon_dropped": (I, (1,), False, "contacts beyond nconmax that were dropped (accumulates)"),
    "contact_slot": (I, ("nconmax",), False, "slot of each contact"),
    "contact_efcadr": (I, ("nconmax",), False, "first constraint row of each contact"),
    "contact_dim": (I, ("nconmax",), False, "condim of each contact"),
    "nefc": (I, (1,), False, "number of constraint rows"),
    "efc_type": (I, ("njmax",), False, "mjtConstraint of each row"),
    "efc_id": (I, ("njmax",), False, "equality, dof, joint, tendon or contact index of each row"),
    "efc_sub": (I, ("njmax",), False, "row within its constraint (side of a limit, pyramid edge, ...)"),
    # constraint rows
    "efc_J": (F, ("njmax", "nv"), True, "constraint Jacobian"),
    "efc_pos": (F, ("njmax",), True, "constraint violation [m or rad] (contacts: distance)"),
    "efc_margin": (F, ("njmax",), True, "margin"),
    "efc_vel": (F, ("njmax",), True, "J qvel"),
    "efc_aref": (F, ("njmax",), True, "reference acceleration -b·vel - k·imp·(pos - margin)"),
    "efc_R": (F, ("njmax",), True, "regularizer (constraint softness)"),
    "efc_D": (F, ("njmax",), True, "1 / efc_R"),
    "efc_frictionloss": (F, ("njmax",), True, "friction-loss force bound (friction rows)"),
    "contact_mu": (F, ("nconmax",), True, "regularized friction coefficient of each contact (elliptic cones)"),
    "contact_friction": (vec5, ("nconmax",), True, "the contact's 5 friction values"),
    # solver
    "qacc_solver": (F, ("nv",), False, "the solver's solution (an iterate of Newton's method)"),
    "solver_H": (F, ("nv", "nv"), False, "Cholesky factor of the cost Hessian at qacc_solver"),
    "solver_niter": (I, (1,), False, "Newton iterations taken"),
    "sol_Ma": (F, ("nv",), False, "solver scratch"),
    "sol_grad": (F, ("nv",), False, "solver scratch"),
    "sol_search": (F, ("nv",), False, "solver scratch"),
    "sol_Mv": (F, ("nv",), False, "solver scratch"),
    "sol_qacc": (F, ("nv",), False, "solver scratch"),
    "sol_jar": (F, ("njmax",), False, "solver scratch"),
    "sol_Jv": (F, ("njmax",), False, "solver scratch"),
    "sol_state": (I, ("njmax",), False, "solver scratch"),
    "sol_force": (F, ("njmax",), False, "solver scratch"),
    "sol_coneH": (F, ("nconmax", 6, 6), False, "elliptic cone Hessians"),
    # implicit correction (see solver.py): differentiable
    "efc_jar": (F, ("njmax",), True, "J qacc - aref at the solution"),
    "efc_force": (F, ("njmax",), True, "constraint force of each row"),
    "contact_T2": (F, ("nconmax",), True, "elliptic contacts: squared norm of the scaled friction residuals"),
    "qfrc_constraint": (F, ("nv",), True, "Jᵀ efc_force"),
    "cor_grad": (F, ("nv",), True, "gradient of the solver's cost at its solution"),
    "cor_y": (F, ("nv",), True, "forward substitution of the correction"),
    "cor_acc": (F, ("nv",), True, "correction accumulators"),
    "cor_acc2": (F, ("nv",), True, "correction accumulators"),
    "cor_x": (F, ("nv",), True, "the Newton correction H⁻¹ grad"),
    "cor_x_value": (F, ("nv",), False, "cor_x's value, without its derivative"),
    "qacc": (F, ("nv",), True, "acceleration"),
    # noslip (only sized when the model asks for it)
    "ns_LD": (F, ("nv_noslip", "nv_noslip"), False, "noslip: Cholesky factor of M"),
    "ns_X": (F, ("njmax_noslip", "nv_noslip"), False, "noslip: M⁻¹ J_rᵀ of the friction rows"),
    "ns_acc": (F, ("nv_noslip",), False, "noslip: the acceleration as the friction forces change"),
    # Euler with implicit damping
    "qacc_euler": (F, ("nv",), True, "(M + h·diag(damping))⁻¹ M qacc, the acceleration Euler integrates"),
    "eul_LD": (F, ("nv", "nv"), False, "Cholesky factor of M + h·diag(damping)"),
    "eul_star": (F, ("nv",), False, "undifferentiated solution"),
    "eul_r": (F, ("nv",), True, "residual"),
    "eul_y": (F, ("nv",), True, "forward substitution"),
    "eul_acc": (F, ("nv",), True, "accumulators"),
    "eul_acc2": (F, ("nv",), True, "accumulators"),
    "eul_x": (F, ("nv",), True, "correction"),
    "eul_x_value": (F, ("nv",), False, "eul_x's value, without its derivative"),
}


def _all_specs() -> dict[str, tuple]:
    from .sensors import SENSOR_DATA_SPECS

    return {**DATA_SPECS, **SENSOR_DATA_SPECS}


class Workspace:
    """The arrays of :data:`DATA_SPECS` for ``model.num_worlds`` worlds, as attributes and in ``arrays``.

    With ``requires_grad=True`` the differentiable ones carry gradient buffers, so a step can be replayed with its
    adjoint (see :class:`worldsim.physics.launch.Recorder`).
    """

    def __init__(self, model, requires_grad: bool = False):
        n, dev = model.num_worlds, model.wp_device
        self.arrays: dict[str, wp.array] = {}
        for name, (dtype, shape, diff, _doc) in _all_specs().items():
            dims = tuple(max(getattr(model, d), 1) if isinstance(d, str) else d for d in shape)
            self.arrays[name] = wp.zeros((n, *dims), dtype=dtype, device=dev, requires_grad=requires_grad and diff)
        self.__dict__.update(self.arrays)

    def zero_grad(self) -> None:
        """Zero every gradient buffer (the adjoint kernels accumulate into them)."""
        for a in self.arrays.values():
            if a.grad is not None:
                a.grad.zero_()

    def view(self, start: int, end: int) -> Workspace:
        """The same workspace restricted to worlds [start, end) (views, no copies)."""
        out = object.__new__(Workspace)
        out.arrays = {k: a[start:end] for k, a in self.arrays.items()}
        out.__dict__.update(out.arrays)
        return out
