"""Warp vector types beyond Warp's built-ins, sized as MuJoCo's fixed-size parameter blocks."""

import mujoco
import warp as wp

#: MuJoCo's ``solimp`` (dmin, dmax, width, midpoint, power).
vec5 = wp.types.vector(length=5, dtype=wp.float32)
#: MuJoCo's ``eq_data`` block (mjNEQDATA values; 12 in MuJoCo 4).
vec_eqdata = wp.types.vector(length=mujoco.mjNEQDATA, dtype=wp.float32)
