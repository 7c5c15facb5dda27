"""Warp vector types beyond Warp's built-ins, sized as MuJoCo's fixed-size parameter blocks."""

import warp as wp

#: MuJoCo's ``solimp`` (dmin, dmax, width, midpoint, power).
vec5 = wp.types.vector(length=5, dtype=wp.float32)
#: MuJoCo's ``eq_data`` block (mjNEQDATA = 11).
vec11 = wp.types.vector(length=11, dtype=wp.float32)
