"""The per-world parameter table: names, shapes and units.

Every entry has a leading world dimension ``N``. Names are ``mujoco.MjModel`` fields, initialized from the file
exactly as MuJoCo compiles it. Domain randomization samples these, system identification differentiates them, and
:func:`worldsim.rollout` accepts any subset as overrides.
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
        ParamSpec(
            "geom_friction",
            ("ngeom", 3),
            "1, m, m",
            "sliding, torsional and rolling friction (a contact takes the higher-priority geom's, else the larger; "
            "torsional and rolling act only with condim 4 and 6)",
        ),
        ParamSpec(
            "geom_solref",
            ("ngeom", 2),
            "s, 1 (or 1/s², 1/s)",
            "contact reference dynamics: (time constant, damping ratio), or (-stiffness, -damping) in MuJoCo's direct "
            "form; restitution comes from the damping ratio (< 1 bounces)",
        ),
        ParamSpec(
            "geom_solimp",
            ("ngeom", 5),
            "1, 1, m, 1, 1",
            "contact impedance (dmin, dmax, width, midpoint, power): the fraction of the reference acceleration the "
            "constraint enforces, from dmin at the surface to dmax at a penetration of width",
        ),
        ParamSpec("dof_damping", ("nv",), "N m s/rad or N s/m", "joint damping per degree of freedom"),
        ParamSpec("dof_armature", ("nv",), "kg m² or kg", "rotor inertia added to the mass-matrix diagonal"),
        ParamSpec("actuator_gear", ("nu",), "1", "transmission gear: joint or tendon force = gear * actuator force"),
        ParamSpec("gravity", (3,), "m/s²", "gravitational acceleration"),
    ]
}
