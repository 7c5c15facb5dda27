"""The per-world parameter table: names, shapes and units.

Every entry has a leading world dimension ``N``. Names follow ``mujoco.MjModel`` where MuJoCo has the
field; the contact model adds its own. Domain randomization samples these, system identification
differentiates them, and :func:`worldsim.rollout` accepts any subset as overrides.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ParamSpec:
    """One entry of the parameter table.

    ``shape`` names the per-world dims by Model attribute (``"nbody"``) or literal size (``3``).
    """

    name: str
    shape: tuple
    unit: str
    doc: str


PARAM_SPECS: dict[str, ParamSpec] = {
    s.name: s
    for s in [
        ParamSpec("body_mass", ("nbody",), "kg", "mass of each body (body 0 is the world)"),
        ParamSpec("body_inertia", ("nbody", 3), "kg m²", "principal moments of inertia, in the body_iquat frame"),
        ParamSpec("body_ipos", ("nbody", 3), "m", "centre of mass in the body frame"),
        ParamSpec("geom_friction", ("ngeom", 3), "1", "sliding, torsional, rolling friction (only sliding is used)"),
        ParamSpec("dof_damping", ("nv",), "N m s/rad or N s/m", "joint damping per degree of freedom"),
        ParamSpec("dof_armature", ("nv",), "kg m² or kg", "rotor inertia added to the mass-matrix diagonal"),
        ParamSpec("actuator_gear", ("nu",), "1", "motor gear: joint force = gear * ctrl"),
        ParamSpec("gravity", (3,), "m/s²", "gravitational acceleration"),
        ParamSpec(
            "contact_stiffness",
            (),
            "1/s²",
            "normal stiffness per unit effective contact mass (ω_n², the squared natural frequency)",
        ),
        ParamSpec(
            "contact_damping",
            (),
            "1/s",
            "normal damping per unit effective contact mass, applied only while approaching",
        ),
        ParamSpec(
            "contact_smoothing",
            (),
            "m",
            "width of the penetration band over which the normal force is smoothed in (force is exactly 0 "
            "at zero penetration and C¹ everywhere)",
        ),
        ParamSpec(
            "contact_vel_smoothing",
            (),
            "m/s",
            "velocity regularization ε of Coulomb friction, f_t = -μ f_n v_t / sqrt(|v_t|² + ε²), and width of the "
            "approach-velocity gate of the damping",
        ),
        ParamSpec(
            "joint_limit_smoothing",
            (),
            "rad or m",
            "band past the limit (MuJoCo's range minus the joint margin) over which the limit force fades in (C¹)",
        ),
    ]
}

#: Defaults of the contact model's own parameters. Stiffness and damping are replaced at load time by the
#: values mapped from the file's geom solref/solimp (see ``mjcf.solref_to_spring`` and the README).
CONTACT_DEFAULTS = {
    "contact_stiffness": 2.5e4,
    "contact_damping": 100.0,
    "contact_smoothing": 5e-3,
    "contact_vel_smoothing": 0.05,
}

#: Default of the joint-limit smoothing (the limits' stiffness, damping and impedance are MuJoCo's, per joint,
#: from solreflimit/solimplimit; see dynamics.joint_limit_force).
JOINT_LIMIT_DEFAULTS = {"joint_limit_smoothing": 1e-3}
