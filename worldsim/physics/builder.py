"""`ModelBuilder`: procedural scenes in Python, without XML.

The builder writes a ``mujoco.MjSpec`` and compiles it with MuJoCo, so a scene built here is *the same* Model as
the equivalent MJCF file loaded with :func:`worldsim.load_mjcf` (same defaults, inertias from geoms, checks).
Handles are integers: bodies (``ModelBuilder.WORLD`` = -1 is the world body), joints, shapes, actuators.

Example::

    b = worldsim.ModelBuilder(timestep=0.002)
    b.add_ground_plane()
    box = b.add_body(pos=(0, 0, 0.5))
    b.add_joint_free(box)
    b.add_shape_box(box, half_extents=(0.1, 0.1, 0.1), mass=1.0)
    model = b.finalize(num_worlds=64)
"""

from __future__ import annotations

from collections.abc import Sequence

import mujoco
import numpy as np
import torch

from .mjcf import from_mjmodel
from .model import Model

Vec = Sequence[float]
_INTEGRATORS = {"Euler": mujoco.mjtIntegrator.mjINT_EULER, "RK4": mujoco.mjtIntegrator.mjINT_RK4}
_DEFAULT_FRICTION = (1.0, 0.005, 0.0001)


def _vec(name: str, value, n: int) -> list[float]:
    a = np.asarray(value, dtype=np.float64).reshape(-1)
    if a.shape != (n,) or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be {n} finite numbers, got {value!r}")
    return a.tolist()


def _positive(name: str, value: float) -> float:
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


class ModelBuilder:
    """Build a scene body by body; :meth:`finalize` compiles it into a batched :class:`Model`.

    Args:
        timestep: integration step [s].
        gravity: gravitational acceleration [m/s²].
        integrator: ``"Euler"`` (semi-implicit, MuJoCo's) or ``"RK4"``.
    """

    WORLD = -1

    def __init__(self, *, timestep: float = 0.002, gravity: Vec = (0.0, 0.0, -9.81), integrator: str = "Euler"):
        if integrator not in _INTEGRATORS:
            raise ValueError(f"integrator must be one of {sorted(_INTEGRATORS)}, got {integrator!r}")
        self.spec = mujoco.MjSpec()
        self.spec.option.timestep = _positive("timestep", timestep)
        self.spec.option.gravity = _vec("gravity", gravity, 3)
        self.spec.option.integrator = _INTEGRATORS[integrator]
        self._bodies: list = []
        self._joints: list = []
        self._shapes: list = []
        self._actuators: list = []

    # ------------------------------------------------------------------ bodies
    def add_body(
        self,
        parent: int = WORLD,
        *,
        pos: Vec = (0.0, 0.0, 0.0),
        quat: Vec = (1.0, 0.0, 0.0, 0.0),
        name: str | None = None,
        mass: float | None = None,
        inertia: Vec | None = None,
        com: Vec = (0.0, 0.0, 0.0),
    ) -> int:
        """Add a body attached to ``parent`` at ``pos`` [m] / ``quat`` (w, x, y, z) in the parent frame.

        Mass [kg] and principal ``inertia`` [kg m²] (at ``com`` [m], body axes) are taken from its shapes unless
        given, as MuJoCo does. Returns the body handle.
        """
        body = self._body(parent).add_body(
            name=name or f"body{len(self._bodies)}", pos=_vec("pos", pos, 3), quat=_vec("quat", quat, 4)
        )
        if mass is not None:
            body.mass = _positive("mass", mass)
            body.inertia = _vec("inertia", inertia if inertia is not None else (1e-3, 1e-3, 1e-3), 3)
            body.ipos = _vec("com", com, 3)
            body.explicitinertial = True
        elif inertia is not None:
            raise ValueError("inertia given without mass: give both, or neither (then they come from the shapes)")
        self._bodies.append(body)
        return len(self._bodies) - 1

    # ------------------------------------------------------------------ joints
    def add_joint_free(self, body: int, *, name: str | None = None) -> int:
        """Make ``body`` free (6 dofs: position and orientation in the world). Its parent must be the world."""
        return self._joint(body, mujoco.mjtJoint.mjJNT_FREE, name)

    def add_joint_ball(
        self, body: int, *, pos: Vec = (0.0, 0.0, 0.0), name: str | None = None, damping: float = 0.0,
        armature: float = 0.0,
    ) -> int:  # fmt: skip
        """A 3-dof ball joint about ``pos`` [m] (body frame); ``damping`` [N m s/rad], ``armature`` [kg m²]."""
        return self._joint(body, mujoco.mjtJoint.mjJNT_BALL, name, pos=pos, damping=damping, armature=armature)

    def add_joint_hinge(
        self, body: int, *, axis: Vec = (0.0, 0.0, 1.0), pos: Vec = (0.0, 0.0, 0.0), name: str | None = None,
        damping: float = 0.0, armature: float = 0.0, stiffness: float = 0.0, springref: float = 0.0,
        limits: tuple[float, float] | None = None,
    ) -> int:  # fmt: skip
        """A hinge about ``axis`` through ``pos`` (body frame). ``limits`` (lo, hi) [rad]; ``stiffness``
        [N m/rad] pulls towards ``springref`` [rad]."""
        return self._joint(body, mujoco.mjtJoint.mjJNT_HINGE, name, axis=axis, pos=pos, damping=damping,
                           armature=armature, stiffness=stiffness, springref=springref, limits=limits)  # fmt: skip

    def add_joint_slide(
        self, body: int, *, axis: Vec = (0.0, 0.0, 1.0), pos: Vec = (0.0, 0.0, 0.0), name: str | None = None,
        damping: float = 0.0, armature: float = 0.0, stiffness: float = 0.0, springref: float = 0.0,
        limits: tuple[float, float] | None = None,
    ) -> int:  # fmt: skip
        """A prismatic joint along ``axis``. ``limits`` (lo, hi) [m]; ``stiffness`` [N/m] towards ``springref``."""
        return self._joint(body, mujoco.mjtJoint.mjJNT_SLIDE, name, axis=axis, pos=pos, damping=damping,
                           armature=armature, stiffness=stiffness, springref=springref, limits=limits)  # fmt: skip

    # ------------------------------------------------------------------ shapes
    def add_shape_sphere(self, body: int, *, radius: float, pos: Vec = (0.0, 0.0, 0.0), **kw) -> int:
        """A sphere of ``radius`` [m] centred at ``pos`` (body frame). See :meth:`_shape` for common keywords."""
        return self._shape(body, mujoco.mjtGeom.mjGEOM_SPHERE, [_positive("radius", radius), 0, 0], pos, **kw)

    def add_shape_box(self, body: int, *, half_extents: Vec, pos: Vec = (0.0, 0.0, 0.0), **kw) -> int:
        """A box with ``half_extents`` (hx, hy, hz) [m]."""
        he = _vec("half_extents", half_extents, 3)
        for v in he:
            _positive("half_extents", v)
        return self._shape(body, mujoco.mjtGeom.mjGEOM_BOX, he, pos, **kw)

    def add_shape_capsule(
        self, body: int, *, radius: float, half_height: float, pos: Vec = (0.0, 0.0, 0.0), **kw
    ) -> int:
        """A capsule along the shape's local z axis: ``radius`` [m], ``half_height`` [m] of the segment."""
        size = [_positive("radius", radius), _positive("half_height", half_height), 0]
        return self._shape(body, mujoco.mjtGeom.mjGEOM_CAPSULE, size, pos, **kw)

    def add_shape_cylinder(
        self, body: int, *, radius: float, half_height: float, pos: Vec = (0.0, 0.0, 0.0), **kw
    ) -> int:
        """A cylinder along the shape's local z axis (collides with planes only)."""
        size = [_positive("radius", radius), _positive("half_height", half_height), 0]
        return self._shape(body, mujoco.mjtGeom.mjGEOM_CYLINDER, size, pos, **kw)

    def add_ground_plane(self, *, height: float = 0.0, friction: float = 1.0, name: str = "ground") -> int:
        """An infinite static plane z = ``height`` [m] with sliding ``friction``."""
        return self._shape(
            self.WORLD, mujoco.mjtGeom.mjGEOM_PLANE, [10.0, 10.0, 0.1], (0.0, 0.0, height), name=name,
            friction=friction,
        )  # fmt: skip

    # ------------------------------------------------------------------ actuators, filters
    def add_actuator_motor(
        self, joint: int, *, gear: float = 1.0, ctrlrange: tuple[float, float] | None = None, name: str | None = None
    ) -> int:
        """A motor on a hinge or slide ``joint``: generalized force = gear * ctrl, ctrl clamped to ``ctrlrange``."""
        if not 0 <= joint < len(self._joints):
            raise ValueError(f"joint handle {joint} does not exist (have {len(self._joints)} joints)")
        act = self.spec.add_actuator(
            name=name or f"motor{len(self._actuators)}", target=self._joints[joint].name,
            trntype=mujoco.mjtTrn.mjTRN_JOINT,
        )  # fmt: skip
        act.gear = [float(gear), 0, 0, 0, 0, 0]
        if ctrlrange is not None:
            lo, hi = _vec("ctrlrange", ctrlrange, 2)
            if lo >= hi:
                raise ValueError(f"ctrlrange must be (lo, hi) with lo < hi, got {ctrlrange!r}")
            act.ctrlrange = [lo, hi]
            act.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
        self._actuators.append(act)
        return len(self._actuators) - 1

    def add_exclude(self, body1: int, body2: int) -> None:
        """Never collide shapes of ``body1`` with shapes of ``body2`` (MJCF ``<exclude>``)."""
        self.spec.add_exclude(bodyname1=self._body(body1).name, bodyname2=self._body(body2).name)

    # ------------------------------------------------------------------ output
    def finalize(
        self,
        *,
        num_worlds: int = 1,
        device: str | torch.device | None = None,
        requires_grad: bool = False,
        substeps: int = 1,
    ) -> Model:
        """Compile the scene (MuJoCo) and build the batched :class:`Model` (arguments as :func:`load_mjcf`)."""
        try:
            mjm = self.spec.compile()
        except ValueError as e:
            raise ValueError(f"MuJoCo could not compile the built scene: {e}") from None
        return from_mjmodel(mjm, num_worlds=num_worlds, device=device, requires_grad=requires_grad, substeps=substeps)

    def to_xml(self) -> str:
        """The scene as MJCF text (loadable with :func:`worldsim.load_mjcf` and MuJoCo)."""
        self.spec.compile()
        return self.spec.to_xml()

    # ------------------------------------------------------------------ helpers
    def _body(self, handle: int):
        if handle == self.WORLD:
            return self.spec.worldbody
        if not 0 <= handle < len(self._bodies):
            raise ValueError(f"body handle {handle} does not exist (have {len(self._bodies)} bodies; world is -1)")
        return self._bodies[handle]

    def _joint(self, body, jtype, name, *, axis=(0.0, 0.0, 1.0), pos=(0.0, 0.0, 0.0), damping=0.0, armature=0.0,
               stiffness=0.0, springref=0.0, limits=None) -> int:  # fmt: skip
        if body == self.WORLD:
            raise ValueError("joints attach a body to its parent; the world body cannot have one")
        b = self._body(body)
        j = b.add_joint(type=jtype, name=name or f"joint{len(self._joints)}")
        if jtype != mujoco.mjtJoint.mjJNT_FREE:
            j.pos = _vec("pos", pos, 3)
            j.axis = _vec("axis", axis, 3)
            for attr, v in (("damping", damping), ("armature", armature), ("stiffness", stiffness)):
                if not v >= 0:
                    raise ValueError(f"{attr} must be >= 0, got {v!r}")
            j.armature = float(armature)
            j.damping = [float(damping), 0.0, 0.0]  # MuJoCo 4: linear coefficient, then polynomial terms
            j.stiffness = [float(stiffness), 0.0, 0.0]
            j.springref = float(springref)
        if limits is not None:
            lo, hi = _vec("limits", limits, 2)
            if lo >= hi:
                raise ValueError(f"limits must be (lo, hi) with lo < hi, got {limits!r}")
            j.range = [lo, hi]
            j.limited = mujoco.mjtLimited.mjLIMITED_TRUE
        self._joints.append(j)
        return len(self._joints) - 1

    def _shape(
        self,
        body: int,
        gtype,
        size: list,
        pos: Vec,
        *,
        quat: Vec = (1.0, 0.0, 0.0, 0.0),
        name: str | None = None,
        mass: float | None = None,
        density: float | None = None,
        friction: float = 1.0,
        rgba: Vec = (0.5, 0.5, 0.5, 1.0),
        contype: int = 1,
        conaffinity: int = 1,
    ) -> int:
        """Common shape keywords: ``quat`` (w, x, y, z), ``mass`` [kg] or ``density`` [kg/m³] (MuJoCo's default
        1000), sliding ``friction``, ``rgba``, and MuJoCo's ``contype``/``conaffinity`` collision bitmasks."""
        g = self._body(body).add_geom(type=gtype, name=name or f"shape{len(self._shapes)}")
        g.size = size
        g.pos = _vec("pos", pos, 3)
        g.quat = _vec("quat", quat, 4)
        g.friction = [float(friction), *_DEFAULT_FRICTION[1:]]
        g.rgba = _vec("rgba", rgba, 4)
        g.contype, g.conaffinity = int(contype), int(conaffinity)
        if mass is not None:
            g.mass = _positive("mass", mass)
        if density is not None:
            g.density = _positive("density", density)
        self._shapes.append(g)
        return len(self._shapes) - 1
