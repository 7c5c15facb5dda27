"""Primitive colliders, as MuJoCo's (engine_collision_primitive.c, engine_collision_box.c): closed-form contacts
between planes, spheres, capsules, cylinders and boxes. Each pair type is one kernel with the arguments of
``common.COLLIDER_ARGS``; ``PRIMITIVE_COLLIDERS`` maps (type1, type2) to (kernel, maximum contacts).

How a collider is put together
------------------------------
Each kernel reads its pair, brings both poses into one tree's frame (:func:`pair_poses`) and calls one
``@wp.func`` named after the pair (``plane_box``, ``capsule_capsule``, ...). That function writes its contacts one
after the other with :func:`emit` into the pair's slots, starting at the first, and returns the next free slot; the
kernel then clears the remaining slots. Normals point from geom1 to geom2 (geom1 has the lower type code) and
positions lie midway between the two surfaces, as in MuJoCo.

Numerics
--------
MuJoCo computes in double precision and tests degenerate configurations against ``mjMINVAL = 1e-15``. Here
everything is float32, so tests for "numerically zero" or "numerically parallel" use float32 thresholds
(:data:`MIN_LENGTH`, :data:`PARALLEL_SIN2`, and MuJoCo's own single-precision box-box constants), and exact ties
that MuJoCo breaks by taking the first candidate (equally near box edges, clip vertices on a side of the reference
face) are recognised with a tolerance of float32 rounding (:data:`EDGE_TIE`, the ``tol`` of :func:`clip_polygon`).
Away from such degenerate configurations the results equal MuJoCo's to float32 rounding. Within rounding of a
degenerate configuration, MuJoCo's own choices follow rounding noise too (signs of 1e-16 components).

Where the C source and MuJoCo 4.0.0 (the oracle of the tests) disagree, this follows MuJoCo 4.0.0: the
capsule-capsule parallel case (:func:`capsule_capsule`).

Differentiability
-----------------
All colliders, box-box included, are differentiable with Warp's reverse mode: loops have constant bounds (Warp
unrolls them), local vectors are never written component by component (new vectors are built instead), and
divisions or square roots that may meet zero sit in branches that are not taken (an untaken ``x / 0`` would still
poison the adjoint with ``0 * inf``; ``wp.length`` has a guarded adjoint, ``wp.sqrt`` does not).
"""

from __future__ import annotations

import warp as wp

from .common import (
    GEOM_BOX,
    GEOM_CAPSULE,
    GEOM_CYLINDER,
    GEOM_PLANE,
    GEOM_SPHERE,
    beyond_bounds,
    clear_slots,
    pair_poses,
    write_contact,
)

#: MuJoCo's mjMINVAL, used where MuJoCo compares with it and the float32 value behaves the same.
MINVAL = wp.constant(1.0e-15)
#: Lengths [m] below this count as zero (coincident sphere centres, a sphere centre on a box surface): float32
#: differences of positions ~1 m carry ~1e-7 m of rounding, so shorter ones have no reliable direction.
MIN_LENGTH = wp.constant(1.0e-7)
#: Squared sine of the angle below which two unit directions count as parallel. Products of float32 unit vectors
#: carry ~1e-7 of rounding, so exactly parallel axes come out with sin^2 up to ~1e-13 (MuJoCo, in double, would see
#: ~1e-32 and call them parallel through mjMINVAL).
PARALLEL_SIN2 = wp.constant(1.0e-12)
#: Capsule-capsule: axes with sin^2 of their angle below this (1e-4 rad) are parallel and get two contacts. This is
#: what MuJoCo 4.0.0's binary does (measured: its switch from two contacts to one sits at sin^2 = 1e-8 whatever the
#: capsule sizes); the C source in /tmp/mj tests ``det < mjMINVAL`` instead.
CAPSULE_PARALLEL_SIN2 = wp.constant(1.0e-8)
#: Capsule-box: relative rounding of a distance between the capsule segment and a box edge (times the sizes and
#: the capsule's distance from the box centre); edges nearer by less than that do not replace the one found first.
EDGE_TIE = wp.constant(1.0e-7)
#: A number larger than any length or ratio in a collider.
BIG = wp.constant(1.0e30)

# box-box: MuJoCo's constants for single precision (mjUSESINGLE in engine_collision_box.c)
BOXBOX_SEPEPS = wp.constant(1.0e-6)  # slack on the separation tests, times the summed half-sizes
BOXBOX_PAREPS = wp.constant(1.0e-7)  # sin^2 below which an edge-cross axis is noise
BOXBOX_SGNEPS = wp.constant(1.0e-5)  # axis component below which a supporting edge is ambiguous
BOXBOX_DUPEPS = wp.constant(1.0e-10)  # squared relative radius for dropping duplicate clip vertices
BOXBOX_EDGEBIAS = wp.constant(1.0e-6)  # relative penalty on edge axes in near-ties with a face axis

#: Up to 8 vertices: a quadrilateral clipped by the 4 sides of a rectangle (Sutherland-Hodgman).
vec8f = wp.types.vector(length=8, dtype=wp.float32)
#: A polygon of up to 8 vertices, one per row: (x, y) in the reference face, z above the reference face.
mat83f = wp.types.matrix(shape=(8, 3), dtype=wp.float32)


# ----------------------------------------------------------------------------------------------------------------
# small vector helpers


@wp.func
def column(m: wp.mat33, k: int):
    """Column ``k`` of ``m`` (for a geom_xmat: the geom's local axis ``k`` in world coordinates)."""
    return wp.vec3(m[0, k], m[1, k], m[2, k])


@wp.func
def basis(k: int):
    """Unit vector along coordinate axis ``k`` (0, 1 or 2); used instead of writing ``v[k] = ...`` in place."""
    return wp.vec3(wp.where(k == 0, 1.0, 0.0), wp.where(k == 1, 1.0, 0.0), wp.where(k == 2, 1.0, 0.0))


@wp.func
def unit_or_x(v: wp.vec3):
    """``v`` normalized, or (1, 0, 0) when it is (numerically) zero, as MuJoCo's mju_normalize3."""
    length = wp.length(v)
    out = wp.vec3(1.0, 0.0, 0.0)
    if length >= MIN_LENGTH:
        out = v / length
    return out


@wp.func
def clamp_to_box(p: wp.vec3, half: wp.vec3):
    """``p`` (box frame) clamped into the box of half-extents ``half``: the box point nearest to ``p``."""
    return wp.vec3(
        wp.clamp(p[0], -half[0], half[0]), wp.clamp(p[1], -half[1], half[1]), wp.clamp(p[2], -half[2], half[2])
    )


@wp.func
def ratio_or_big(num: float, den: float):
    """``num / |den|``, or BIG when ``den`` is zero (where MuJoCo's division gives inf or nan, never selected)."""
    out = BIG
    if den != 0.0:
        out = num / wp.abs(den)
    return out


@wp.func
def emit(
    w: int,
    slot: int,
    end: int,
    hit: bool,
    dist: float,
    pos: wp.vec3,
    normal: wp.vec3,
    tangent: wp.vec3,
    contact_dist: wp.array2d(dtype=wp.float32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
):
    """Write a contact into ``slot`` if ``hit`` (and a slot before ``end`` is left); return the next free slot."""
    next_slot = slot
    if hit and slot < end:
        write_contact(w, slot, dist, pos, normal, tangent, contact_dist, contact_pos, contact_frame)
        next_slot = slot + 1
    return next_slot


# ----------------------------------------------------------------------------------------------------------------
# spheres: the building block of most colliders


@wp.func
def plane_sphere(plane_pos: wp.vec3, plane_mat: wp.mat33, sphere_pos: wp.vec3, radius: float):
    """(dist, pos, normal) of a sphere against a plane (the plane's local z is its normal)."""
    n = wp.vec3(plane_mat[0, 2], plane_mat[1, 2], plane_mat[2, 2])
    dist = wp.dot(sphere_pos - plane_pos, n) - radius
    return dist, sphere_pos - n * (radius + 0.5 * dist), n


@wp.func
def sphere_sphere(center1: wp.vec3, radius1: float, zaxis1: wp.vec3, center2: wp.vec3, radius2: float, zaxis2: wp.vec3):
    """(dist, pos, normal) between two spheres, normal from sphere 1 to sphere 2.

    When the centres coincide the normal is ``zaxis1 × zaxis2`` (the z axes of the geoms the spheres stand for), or
    (1, 0, 0) when those are parallel, as MuJoCo's mjraw_SphereSphere.
    """
    diff = center2 - center1
    length = wp.length(diff)
    normal = wp.vec3(1.0, 0.0, 0.0)
    if length >= MIN_LENGTH:
        normal = diff / length
    else:
        normal = unit_or_x(wp.cross(zaxis1, zaxis2))
    dist = length - radius1 - radius2
    return dist, center1 + normal * (radius1 + 0.5 * dist), normal


@wp.func
def sphere_box(center: wp.vec3, radius: float, box_pos: wp.vec3, box_mat: wp.mat33, box_half: wp.vec3):
    """(dist, pos, normal) of a sphere against a box, normal from the sphere to the box (MuJoCo's mjraw_SphereBox).

    Outside the box the contact is along the segment from the sphere centre to the nearest box point. A centre
    inside the box is pushed out through the nearest face (the first of -x, +x, -y, +y, -z, +z on ties).
    """
    local = wp.transpose(box_mat) @ (center - box_pos)
    nearest = clamp_to_box(local, box_half)
    gap = wp.length(nearest - local)
    dist = float(0.0)
    pos_local = wp.vec3(0.0)
    normal_local = wp.vec3(1.0, 0.0, 0.0)
    if gap <= MIN_LENGTH:
        # centre inside: find the closest face; the normal points into the box, away from that face
        closest = 2.0 * (box_half[0] + box_half[1] + box_half[2])
        face = int(0)
        for k in range(6):
            side = float(2 * (k % 2) - 1)  # -1 for the -axis face, +1 for the +axis face
            depth = wp.abs(side * box_half[k // 2] - local[k // 2])
            if closest > depth:
                closest = depth
                face = k
        normal_local = basis(face // 2) * float(1 - 2 * (face % 2))
        pos_local = local + normal_local * (0.5 * (radius - closest))
        dist = -closest - radius
    else:
        normal_local = (nearest - local) / gap
        pos_local = 0.5 * (nearest + local + normal_local * radius)
        dist = gap - radius
    return dist, box_mat @ pos_local + box_pos, box_mat @ normal_local


# ----------------------------------------------------------------------------------------------------------------
# plane colliders (the plane is always geom1)


@wp.func
def axis_hint(normal: wp.vec3, axis: wp.vec3):
    """Tangent hint for a contact frame aligned with ``axis``.

    MuJoCo normalizes the part of the hint orthogonal to the normal and falls back to (1, 0, 0) when nothing is
    left, i.e. when the axis is along the normal (an upright capsule); float32 leaves a rounding residue there, so
    the fallback is taken explicitly.
    """
    residual = axis - wp.dot(normal, axis) * normal
    out = axis
    if wp.dot(residual, residual) < PARALLEL_SIN2:
        out = wp.vec3(1.0, 0.0, 0.0)
    return out


@wp.func
def plane_capsule(
    w: int,
    slot: int,
    end: int,
    margin: float,
    plane_pos: wp.vec3,
    plane_mat: wp.mat33,
    cap_pos: wp.vec3,
    cap_mat: wp.mat33,
    cap_size: wp.vec3,
    contact_dist: wp.array2d(dtype=wp.float32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
):
    """Plane-capsule: the two end spheres of the capsule against the plane (+axis end first), frames along the axis."""
    axis = column(cap_mat, 2)
    tangent = axis_hint(column(plane_mat, 2), axis)
    s = slot
    for k in range(2):
        end_sphere = cap_pos + axis * (float(1 - 2 * k) * cap_size[1])
        dist, pos, n = plane_sphere(plane_pos, plane_mat, end_sphere, cap_size[0])
        s = emit(w, s, end, dist <= margin, dist, pos, n, tangent, contact_dist, contact_pos, contact_frame)
    return s


@wp.func
def plane_cylinder(
    w: int,
    slot: int,
    end: int,
    margin: float,
    plane_pos: wp.vec3,
    plane_mat: wp.mat33,
    cyl_pos: wp.vec3,
    cyl_mat: wp.mat33,
    cyl_size: wp.vec3,
    contact_dist: wp.array2d(dtype=wp.float32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
):
    """Plane-cylinder, as MuJoCo's mjc_PlaneCylinder: up to 4 points on the cylinder's rims.

    1. the lowest rim point of the cap nearer the plane; if it is beyond the margin there is no contact at all;
    2. the rim point of the other cap on the same side (the other end of the lowest line on the side wall);
    3./4. the other two corners of the equilateral triangle inscribed in the near cap's rim with point 1 as a
       corner, if they are within the margin: a cylinder standing on its cap gets a supporting triangle.
    """
    normal = column(plane_mat, 2)
    axis = column(cyl_mat, 2)
    radius = cyl_size[0]
    half = cyl_size[1]

    # orient the axis towards the plane: +axis*half is then the centre of the nearer cap
    prjaxis = wp.dot(normal, axis)
    if prjaxis > 0.0:
        axis = -axis
        prjaxis = -prjaxis
    dist0 = wp.dot(cyl_pos - plane_pos, normal)

    # rim: the direction in the cap plane pointing down the plane normal, scaled by the radius; a cap parallel
    # to the plane has no such direction and takes the cylinder's x axis
    rim = axis * prjaxis - normal
    len2 = wp.dot(rim, rim)
    if len2 >= PARALLEL_SIN2:
        rim = rim * (radius / wp.sqrt(len2))
    else:
        rim = column(cyl_mat, 0) * radius
    prjrim = wp.dot(rim, normal)
    cap = axis * half
    prjcap = prjaxis * half
    zero = wp.vec3(0.0)

    s = slot
    dist1 = dist0 + prjcap + prjrim
    if dist1 <= margin:
        pos1 = cyl_pos + rim + cap - normal * (0.5 * dist1)
        s = emit(w, s, end, True, dist1, pos1, normal, zero, contact_dist, contact_pos, contact_frame)

        dist2 = dist0 - prjcap + prjrim
        pos2 = cyl_pos + rim - cap - normal * (0.5 * dist2)
        s = emit(w, s, end, dist2 <= margin, dist2, pos2, normal, zero, contact_dist, contact_pos, contact_frame)

        dist3 = dist0 + prjcap - 0.5 * prjrim
        if dist3 <= margin:
            sideways = unit_or_x(wp.cross(rim, axis)) * (radius * 0.8660254037844386)  # sqrt(3)/2
            base = cyl_pos + cap - 0.5 * rim - normal * (0.5 * dist3)
            s = emit(w, s, end, True, dist3, base + sideways, normal, zero, contact_dist, contact_pos, contact_frame)
            s = emit(w, s, end, True, dist3, base - sideways, normal, zero, contact_dist, contact_pos, contact_frame)
    return s


@wp.func
def plane_box(
    w: int,
    slot: int,
    end: int,
    margin: float,
    plane_pos: wp.vec3,
    plane_mat: wp.mat33,
    box_pos: wp.vec3,
    box_mat: wp.mat33,
    box_half: wp.vec3,
    contact_dist: wp.array2d(dtype=wp.float32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
):
    """Plane-box: every corner on the plane side of the box centre and within the margin, at most 4 (MuJoCo's
    mjc_PlaneBox, corners in the order x fastest, first 4 kept)."""
    normal = column(plane_mat, 2)
    center_dist = wp.dot(box_pos - plane_pos, normal)
    end4 = wp.min(end, slot + 4)
    s = slot
    for k in range(8):
        signs = wp.vec3(float(2 * (k & 1) - 1), float((k & 2) - 1), float((k & 4) // 2 - 1))
        corner = box_mat @ wp.cw_mul(signs, box_half)
        corner_dist = wp.dot(normal, corner)
        dist = center_dist + corner_dist
        hit = dist <= margin and corner_dist <= 0.0
        pos = box_pos + corner - normal * (0.5 * dist)
        s = emit(w, s, end4, hit, dist, pos, normal, wp.vec3(0.0), contact_dist, contact_pos, contact_frame)
    return s


# ----------------------------------------------------------------------------------------------------------------
# sphere colliders (the sphere is geom1 unless the other geom is a plane or sphere)


@wp.func
def capsule_point_nearest(cap_pos: wp.vec3, axis: wp.vec3, half_length: float, p: wp.vec3):
    """The point of a capsule's segment (centre ``cap_pos``, unit ``axis``) nearest to ``p``."""
    x = wp.clamp(wp.dot(axis, p - cap_pos), -half_length, half_length)
    return cap_pos + axis * x


@wp.func
def sphere_cylinder(
    sphere_pos: wp.vec3,
    sphere_mat: wp.mat33,
    sphere_radius: float,
    cyl_pos: wp.vec3,
    cyl_mat: wp.mat33,
    cyl_size: wp.vec3,
):
    """(dist, pos, normal) of a sphere against a cylinder, normal from the sphere to the cylinder (MuJoCo's
    mjc_SphereCylinder).

    By where the sphere centre projects: beside the side wall -> sphere against the axis point (a sphere of the
    cylinder's radius); over a cap -> sphere against the cap's plane; otherwise -> sphere against the nearest rim
    point. A centre inside the cylinder leaves through the side or the cap, whichever is nearer.
    """
    radius = cyl_size[0]
    half = cyl_size[1]
    axis = column(cyl_mat, 2)
    rel = sphere_pos - cyl_pos
    x = wp.dot(axis, rel)
    along = axis * x
    across = rel - along
    across_len = wp.length(across)  # (not sqrt of a square: its adjoint at 0 would be 0 * inf)

    beside_side = wp.abs(x) < half
    over_cap = across_len < radius
    if beside_side and over_cap:  # centre inside: leave through the nearer surface
        if half - wp.abs(x) < radius - across_len:
            beside_side = False
        else:
            over_cap = False

    zsphere = column(sphere_mat, 2)
    dist = float(0.0)
    pos = wp.vec3(0.0)
    normal = wp.vec3(0.0)
    if beside_side:
        dist, pos, normal = sphere_sphere(sphere_pos, sphere_radius, zsphere, cyl_pos + along, radius, axis)
    elif over_cap:
        cap_normal = axis * wp.where(x > 0.0, 1.0, -1.0)  # outward normal of the cap the sphere is over
        dist = wp.dot(sphere_pos - (cyl_pos + cap_normal * half), cap_normal) - sphere_radius
        pos = sphere_pos - cap_normal * (sphere_radius + 0.5 * dist)
        normal = -cap_normal
    else:
        rim_point = cyl_pos + axis * wp.where(x > 0.0, half, -half) + across * (radius / across_len)
        dist, pos, normal = sphere_sphere(sphere_pos, sphere_radius, zsphere, rim_point, 0.0, axis)
    return dist, pos, normal


# ----------------------------------------------------------------------------------------------------------------
# capsule-capsule


@wp.func
def segment_params_f64(axis1: wp.vec3, axis2: wp.vec3, dif: wp.vec3):
    """Unclipped parameters (x1, x2) of the closest points of the lines pos1 + x1·axis1 and pos2 + x2·axis2
    (dif = pos1 - pos2), solved in float64: for nearly parallel axes the 2x2 system is ill-conditioned, and float32
    round-off can bring a far-out-of-range solution (segments far apart along a common line) back into [-1, 1]."""
    a1 = wp.vec3d(wp.float64(axis1[0]), wp.float64(axis1[1]), wp.float64(axis1[2]))
    a2 = wp.vec3d(wp.float64(axis2[0]), wp.float64(axis2[1]), wp.float64(axis2[2]))
    d = wp.vec3d(wp.float64(dif[0]), wp.float64(dif[1]), wp.float64(dif[2]))
    ma = wp.dot(a1, a1)
    mb = -wp.dot(a1, a2)
    mc = wp.dot(a2, a2)
    u = -wp.dot(a1, d)
    v = wp.dot(a2, d)
    det = wp.length_sq(wp.cross(a1, a2))
    return wp.float32((mc * u - mb * v) / det), wp.float32((ma * v - mb * u) / det)


@wp.func
def capsule_capsule(
    w: int,
    slot: int,
    end: int,
    margin: float,
    pos1: wp.vec3,
    mat1: wp.mat33,
    size1: wp.vec3,
    pos2: wp.vec3,
    mat2: wp.mat33,
    size2: wp.vec3,
    contact_dist: wp.array2d(dtype=wp.float32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
):
    """Capsule-capsule, as MuJoCo's mjraw_CapsuleCapsule: spheres at the nearest points of the two segments.

    Segments are ``pos + x * axis * half_length`` with ``x`` in [-1, 1]. Crossing axes: one contact at the clipped
    solution of the 2x2 closest-point system. Parallel axes (within 1e-4 rad, :data:`CAPSULE_PARALLEL_SIN2`): up to
    two, at the two ends of the stretch along which the segments overlap.

    The parallel case follows MuJoCo 4.0.0's binary, measured against it; the C source shipped with it differs
    (it takes the first two of: the ends of segment 1, then of segment 2, each against its nearest point on the
    other segment, which for partly overlapping capsules can pair two far ends).
    """
    z1 = column(mat1, 2)
    z2 = column(mat2, 2)
    axis1 = z1 * size1[1]
    axis2 = z2 * size2[1]
    dif = pos1 - pos2
    ma = wp.dot(axis1, axis1)
    mb = -wp.dot(axis1, axis2)
    mc = wp.dot(axis2, axis2)
    u = -wp.dot(axis1, dif)
    v = wp.dot(axis2, dif)
    # ma*mc - mb^2 = |axis1 x axis2|^2, computed as the cross product to keep it accurate near parallel
    sin2 = wp.length_sq(wp.cross(z1, z2))
    zero = wp.vec3(0.0)

    s = slot
    if sin2 >= CAPSULE_PARALLEL_SIN2:
        x1, x2 = segment_params_f64(axis1, axis2, dif)
        clipped = x1 > 1.0 or x1 < -1.0 or x2 > 1.0 or x2 < -1.0
        if x1 > 1.0:
            x1 = 1.0
            x2 = (v - mb) / mc
        elif x1 < -1.0:
            x1 = -1.0
            x2 = (v + mb) / mc
        if x2 > 1.0:
            x2 = 1.0
            x1 = wp.clamp((u - mb) / ma, -1.0, 1.0)
        elif x2 < -1.0:
            x2 = -1.0
            x1 = wp.clamp((u + mb) / ma, -1.0, 1.0)
        dist, pos, n = sphere_sphere(pos1 + axis1 * x1, size1[0], z1, pos2 + axis2 * x2, size2[0], z2)
        if not clipped:
            # the nearest points are inside both segments: the normal is along z1 × z2, and the gap is the distance
            # between the two lines along it. Same result, but without the float32 cancellation of subtracting two
            # nearly equal points when the axes almost meet (deep crossings), where the direction would be noise.
            common = wp.cross(z1, z2) / wp.sqrt(sin2)
            gap = wp.dot(pos2 - pos1, common)
            n = common * wp.where(gap > -MIN_LENGTH, 1.0, -1.0)  # axes that meet: z1 × z2, as MuJoCo
            dist = wp.abs(gap) - size1[0] - size2[0]
            pos = pos1 + axis1 * x1 + n * (size1[0] + 0.5 * dist)
        s = emit(w, s, end, dist <= margin, dist, pos, n, zero, contact_dist, contact_pos, contact_frame)
    else:
        # parallel: the two ends of the stretch where the segments overlap (projected on segment 1), each a segment
        # end paired with its nearest point on the other segment; segments that do not overlap give the nearest
        # pair of ends twice
        t_plus = (u - mb) / ma  # segment 2's +1 / -1 end, as a parameter on segment 1
        t_minus = (u + mb) / ma
        for k in range(2):
            lower = k == 0
            x1 = float(0.0)
            x2 = float(0.0)
            if (lower and wp.min(t_plus, t_minus) > -1.0) or (not lower and wp.max(t_plus, t_minus) < 1.0):
                # this end of the overlap is an end of segment 2
                x2 = wp.where((t_plus < t_minus) == lower, 1.0, -1.0)
                x1 = wp.clamp((u - x2 * mb) / ma, -1.0, 1.0)
            else:
                # ... or of segment 1
                x1 = wp.where(lower, -1.0, 1.0)
                x2 = wp.clamp((v - x1 * mb) / mc, -1.0, 1.0)
            dist, pos, n = sphere_sphere(pos1 + axis1 * x1, size1[0], z1, pos2 + axis2 * x2, size2[0], z2)
            s = emit(w, s, end, dist <= margin, dist, pos, n, zero, contact_dist, contact_pos, contact_frame)
    return s


# ----------------------------------------------------------------------------------------------------------------
# capsule-box (MuJoCo's mjraw_CapsuleBox): the capsule segment's closest point to the box gives one sphere-box
# contact; for segments lying along a face or an edge a second point further along the segment gives another.


@wp.func
def segment_edge_closest(pos: wp.vec3, half_axis: wp.vec3, half_length: float, box_half: wp.vec3, j: int, corner: int):
    """Closest points of the capsule segment ``pos + x_seg * half_axis`` and the box edge along axis ``j`` through
    ``corner`` (bit k set: + side of axis k; bit j is 0), ``edge centre + x_box * box_half[j] * e_j``.

    Returns (found, squared distance, distance, x_box, x_seg, s_box, s_seg); ``s_*`` is 0 / 1 / 2 for a parameter
    clipped to -1 / left inside / clipped to +1 (as MuJoCo tracks it); ``found`` is False for an edge parallel to
    the segment.
    """
    signs = wp.vec3(float(2 * (corner & 1) - 1), float((corner & 2) - 1), float((corner & 4) // 2 - 1))
    edge_center = wp.cw_mul(wp.cw_mul(signs, box_half), wp.vec3(1.0) - basis(j))
    dif = edge_center - pos
    sj = box_half[j]
    ma = sj * sj
    mb = -sj * half_axis[j]
    mc = half_length * half_length
    u = -sj * dif[j]
    v = wp.dot(half_axis, dif)
    # det = ma*mc - mb^2 = sj^2 * |half_axis without component j|^2 (accurate near parallel)
    across = half_axis - basis(j) * half_axis[j]
    across2 = wp.dot(across, across)
    det = ma * across2
    found = det >= MINVAL and across2 >= PARALLEL_SIN2 * mc

    x_box = float(0.0)
    x_seg = float(0.0)
    s_box = int(1)
    s_seg = int(1)
    if found:
        x_box = (mc * u - mb * v) / det
        x_seg = (ma * v - mb * u) / det
        if x_box > 1.0:
            x_box = 1.0
            s_box = 2
            x_seg = (v - mb) / mc
        elif x_box < -1.0:
            x_box = -1.0
            s_box = 0
            x_seg = (v + mb) / mc
        if x_seg > 1.0 or x_seg < -1.0:
            sgn = wp.where(x_seg > 1.0, 1.0, -1.0)
            x_seg = sgn
            s_seg = wp.where(sgn > 0.0, 2, 0)
            x_box = (u - sgn * mb) / ma
            if x_box > 1.0:
                x_box = 1.0
                s_box = 2
            elif x_box < -1.0:
                x_box = -1.0
                s_box = 0
    gap = dif - half_axis * x_seg + basis(j) * (sj * x_box)
    return found, wp.dot(gap, gap), wp.length(gap), x_box, x_seg, s_box, s_seg


@wp.func
def capsule_box_second(
    cltype: int,
    clface: int,
    clcorner: int,
    cledge: int,
    best_seg: float,
    best_box: float,
    pos: wp.vec3,
    axis: wp.vec3,
    half_axis: wp.vec3,
    box_half: wp.vec3,
):
    """Where along the capsule segment (relative to the closest point ``best_seg``) MuJoCo puts a second sphere,
    or -4 for none. The segment runs along the box from its closest feature; the second point is as far as the
    segment stays over the box, bounded by the segment's other end.

    ``cltype``: -3 / -1 the segment's -1 / +1 end is closest to a face (``clface``, -1 if the end is inside);
    0..8 the closest box feature is edge ``cledge`` (3 * s_box + s_seg, see :func:`segment_edge_closest`),
    at box corner ``clcorner`` when s_box is 0 or 2.
    """
    # direction of the capsule axis as corner bits: "axisdir" and "7 - axisdir" are the same capsule direction
    axisdir = (
        wp.where(half_axis[0] > 0.0, 1, 0) + wp.where(half_axis[1] > 0.0, 2, 0) + wp.where(half_axis[2] > 0.0, 4, 0)
    )
    second = float(-4.0)
    if cltype >= 0 and cltype // 3 != 1:
        # a box corner is closest; c = the box axes along which the capsule points away from the corner's sides
        c = axisdir ^ clcorner
        if c != 0 and c != 7:  # not pointing into or out of the corner
            mul = float(1.0)
            de = 1.0 - best_seg  # distances along the segment to its two ends
            dp = 1.0 + best_seg
            if c == 3 or c == 5 or c == 6:
                mul = -1.0
                c = 7 - c
                de = 1.0 + best_seg
                dp = 1.0 - best_seg
            ax = wp.where(c == 1, 0, wp.where(c == 2, 1, 2))
            ax1 = (ax + 1) % 3
            ax2 = (ax + 2) % 3
            if axis[ax] * axis[ax] > 0.5:  # along the edge leaving the corner on axis ax
                second = mul * wp.min(de, ratio_or_big(2.0 * box_half[ax], half_axis[ax]))
            else:  # across the face
                sp = wp.min(dp, ratio_or_big(2.0 * box_half[ax1], half_axis[ax1]))
                second = -mul * wp.min(sp, ratio_or_big(2.0 * box_half[ax2], half_axis[ax2]))
    elif cltype >= 0:
        # the middle of a box edge is closest: a second point only when the capsule crosses the edge (X, not T)
        c = (axisdir ^ clcorner) & (7 - (1 << cledge))
        if c == 1 or c == 2 or c == 4:
            ax = cledge
            ax1 = (ax + 1) % 3
            ax2 = (ax + 2) % 3
            if wp.abs(axis[ax1]) > wp.abs(axis[ax2]):
                ax1 = ax2
            ax2 = 3 - ax - ax1  # the face the capsule is most parallel to is normal to ax1
            mul = float(-1.0)
            sp = 1.0 + best_seg
            if (c & (1 << ax2)) != 0:
                mul = 1.0
                sp = 1.0 - best_seg
            sp = wp.min(sp, ratio_or_big(2.0 * box_half[ax2], half_axis[ax2]))
            e2 = 1.0 + best_box
            if ((axisdir >> ax) & 1) == ((c >> ax2) & 1):
                e2 = 1.0 - best_box
            sp = wp.min(sp, ratio_or_big(box_half[ax] * e2, half_axis[ax]))
            second = mul * sp
    elif cltype != -4 and clface >= 0:
        # a segment end is closest to face clface: run towards the other end until the segment leaves the box
        mul = wp.where(cltype == -3, 1.0, -1.0)
        end_point = pos - half_axis * mul
        sp = float(2.0)
        for i in range(3):
            if i != clface and half_axis[i] != 0.0:
                for k in range(2):
                    bound = box_half[i] * float(1 - 2 * k)
                    e = (bound - end_point[i]) / half_axis[i] * mul
                    if e > 0.0 and e < sp:
                        sp = e
        second = sp * mul
    return second


@wp.func
def capsule_box(
    w: int,
    slot: int,
    end: int,
    margin: float,
    cap_pos: wp.vec3,
    cap_mat: wp.mat33,
    cap_size: wp.vec3,
    box_pos: wp.vec3,
    box_mat: wp.mat33,
    box_half: wp.vec3,
    contact_dist: wp.array2d(dtype=wp.float32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
):
    """Capsule-box: find the capsule segment's point closest to the box (over the segment ends against the faces,
    then the 12 edges), collide a sphere there; add a second sphere along the segment (:func:`capsule_box_second`).
    At most 2 contacts."""
    radius = cap_size[0]
    half_length = cap_size[1]
    box_rt = wp.transpose(box_mat)
    pos = box_rt @ (cap_pos - box_pos)  # everything in the box frame
    axis = box_rt @ column(cap_mat, 2)
    half_axis = axis * half_length

    # best squared distance so far (initial value as MuJoCo's), and the distance itself (for the tie tolerance)
    best = margin + 2.0 * (radius + half_length + box_half[0] + box_half[1] + box_half[2])
    best_len = wp.sqrt(best)
    tie = EDGE_TIE * (half_length + box_half[0] + box_half[1] + box_half[2] + wp.length(pos))
    best_seg = float(0.0)
    best_box = float(0.0)
    cltype = int(-4)
    clface = int(-1)
    clcorner = int(0)
    cledge = int(0)

    # segment ends over a face (clamped to the box in at most one coordinate)
    for k in range(2):
        sgn = float(2 * k - 1)
        end_point = pos + half_axis * sgn
        nclamp = int(0)
        face = int(-1)
        for j in range(3):
            if end_point[j] < -box_half[j] or end_point[j] > box_half[j]:
                nclamp += 1
                face = j
        to_box = clamp_to_box(end_point, box_half) - end_point
        d2 = wp.dot(to_box, to_box)
        if nclamp <= 1 and d2 < best:
            best = d2
            best_len = wp.length(to_box)
            best_seg = sgn
            cltype = 2 * k - 3
            clface = face

    # the 12 edges: along axis j, through the corners with bit j clear
    for j in range(3):
        for corner in range(8):
            if (corner & (1 << j)) == 0:
                found, edge_d2, edge_dist, x_box, x_seg, s_box, s_seg = segment_edge_closest(
                    pos, half_axis, half_length, box_half, j, corner
                )
                # an edge must beat the best so far by more than rounding (MuJoCo: by mjMINVAL in double), so that of
                # equally near edges (a capsule along a face) the first one stays, as in MuJoCo
                if found and edge_d2 < best - MINVAL - 2.0 * best_len * tie:
                    best = edge_d2
                    best_len = edge_dist
                    best_seg = x_seg
                    best_box = x_box
                    clcorner = corner + (1 << j) * (s_box // 2)  # the edge's + end when the box side clipped at +1
                    cledge = j
                    cltype = 3 * s_box + s_seg

    zero = wp.vec3(0.0)
    s = slot
    if cltype != -4:
        second = capsule_box_second(
            cltype, clface, clcorner, cledge, best_seg, best_box, pos, axis, half_axis, box_half
        )
        center = box_mat @ (pos + half_axis * best_seg) + box_pos
        dist, cpos, n = sphere_box(center, radius, box_pos, box_mat, box_half)
        s = emit(w, s, end, dist <= margin, dist, cpos, n, zero, contact_dist, contact_pos, contact_frame)
        if second > -3.0:
            center2 = box_mat @ (pos + half_axis * (second + best_seg)) + box_pos
            dist2, cpos2, n2 = sphere_box(center2, radius, box_pos, box_mat, box_half)
            s = emit(w, s, end, dist2 <= margin, dist2, cpos2, n2, zero, contact_dist, contact_pos, contact_frame)
    return s


# ----------------------------------------------------------------------------------------------------------------
# box-box (MuJoCo's mjc_BoxBox): separating-axis test over the 15 candidate axes, then either one edge-edge contact
# or the incident face clipped against the reference face (up to 8 contacts).


@wp.func
def onehot8(k: int):
    """vec8 with 1 at index ``k``."""
    return vec8f(
        wp.where(k == 0, 1.0, 0.0),
        wp.where(k == 1, 1.0, 0.0),
        wp.where(k == 2, 1.0, 0.0),
        wp.where(k == 3, 1.0, 0.0),
        wp.where(k == 4, 1.0, 0.0),
        wp.where(k == 5, 1.0, 0.0),
        wp.where(k == 6, 1.0, 0.0),
        wp.where(k == 7, 1.0, 0.0),
    )


@wp.func
def with_row(poly: mat83f, k: int, v: wp.vec3):
    """``poly`` with row ``k`` replaced by ``v`` (a new matrix, which Warp differentiates, not an in-place write)."""
    return poly + wp.outer(onehot8(k), v - poly[k])


@wp.func
def clip_polygon(poly: mat83f, n: int, coord: int, sign: float, limit: float, tol: float):
    """Sutherland-Hodgman: clip the polygon (``n`` vertices, rows of ``poly``) against ``sign * v[coord] <= limit``.

    Keeps the vertices inside and adds the crossing point of every edge that crosses the line; z is interpolated
    along the edge. Returns (polygon, vertex count), at most 8 vertices.

    Vertices within ``tol`` of the line count as on it (kept, and no crossing point next to them). MuJoCo (double)
    has no tolerance: for an incident edge lying along a side of the reference face (stacked boxes of equal width)
    its 1e-16 rounding mostly keeps both ends, where float32 rounding would often put one end outside and add a
    crossing point somewhere along the edge (an extra contact).
    """
    out = mat83f()
    nout = int(0)
    for k in range(8):
        if k < n:
            k1 = wp.where(k + 1 < n, k + 1, 0)
            p = poly[k]
            q = poly[k1]
            dp = sign * p[coord] - limit
            dq = sign * q[coord] - limit
            if dp <= tol and nout < 8:
                out = with_row(out, nout, p)
                nout += 1
            if ((dp < -tol and dq > tol) or (dp > tol and dq < -tol)) and nout < 8:
                out = with_row(out, nout, p + (q - p) * (dp / (dp - dq)))
                nout += 1
    return out, nout


@wp.func
def box_box_axes(rot: wp.mat33, pos21: wp.vec3, pos12: wp.vec3, size1: wp.vec3, size2: wp.vec3, septol: float):
    """Separating-axis test. ``rot``: box2's axes in box1's frame (columns); ``pos21``: box2's centre in box1's
    frame; ``pos12``: box1's centre in box2's frame.

    Returns (separated, code, code_face, sep, sep_face): ``code`` is the axis of largest separation (0..2 face of
    box1, 3..5 face of box2, 6 + 3i + j edge i of box1 × edge j of box2), ``code_face``/``sep_face`` the best face
    axis. Face axes win near-ties with edge axes (MuJoCo's EDGEBIAS).
    """
    separated = False
    best = -BIG
    code = int(-1)
    for i in range(3):
        radius2 = wp.abs(rot[i, 0]) * size2[0] + wp.abs(rot[i, 1]) * size2[1] + wp.abs(rot[i, 2]) * size2[2]
        sep = wp.abs(pos21[i]) - size1[i] - radius2
        if sep > septol:
            separated = True
        if sep > best:
            best = sep
            code = i
    for j in range(3):
        radius1 = wp.abs(rot[0, j]) * size1[0] + wp.abs(rot[1, j]) * size1[1] + wp.abs(rot[2, j]) * size1[2]
        sep = wp.abs(pos12[j]) - size2[j] - radius1
        if sep > septol:
            separated = True
        if sep > best:
            best = sep
            code = 3 + j
    sep_face = best
    code_face = code

    for i in range(3):
        for j in range(3):
            i1 = (i + 1) % 3
            i2 = (i + 2) % 3
            j1 = (j + 1) % 3
            j2 = (j + 2) % 3
            # e_i × (column j of rot): components i1, i2 (component i is zero)
            ax1 = -rot[i2, j]
            ax2 = rot[i1, j]
            norm2 = ax1 * ax1 + ax2 * ax2
            if norm2 >= BOXBOX_PAREPS:  # nearly parallel edges: the face axes cover them
                inv = 1.0 / wp.sqrt(norm2)
                ax1 = ax1 * inv
                ax2 = ax2 * inv
                radius1 = size1[i1] * wp.abs(ax1) + size1[i2] * wp.abs(ax2)
                a2_1 = ax1 * rot[i1, j1] + ax2 * rot[i2, j1]
                a2_2 = ax1 * rot[i1, j2] + ax2 * rot[i2, j2]
                radius2 = size2[j1] * wp.abs(a2_1) + size2[j2] * wp.abs(a2_2)
                sep = wp.abs(ax1 * pos21[i1] + ax2 * pos21[i2]) - radius1 - radius2
                if sep > septol:
                    separated = True
                if sep - BOXBOX_EDGEBIAS * wp.abs(sep) > best and sep > sep_face:
                    best = sep
                    code = 6 + 3 * i + j
    return separated, code, code_face, best, sep_face


@wp.func
def edge_axis(rot: wp.mat33, code: int):
    """Unit axis (box1 frame) of edge-pair ``code``: e_i × (column j of rot)."""
    i = (code - 6) // 3
    j = (code - 6) % 3
    i1 = (i + 1) % 3
    i2 = (i + 2) % 3
    return unit_or_x(basis(i1) * (-rot[i2, j]) + basis(i2) * rot[i1, j])


@wp.func
def flip_component(v: wp.vec3, k: int, flip: bool):
    """``v`` with component ``k`` negated when ``flip``."""
    out = v
    if flip:
        out = v - basis(k) * (2.0 * v[k])
    return out


@wp.func
def box_box_edge(code: int, rot: wp.mat33, pos21: wp.vec3, size1: wp.vec3, size2: wp.vec3):
    """Edge-edge contact for edge-pair ``code``: (dist, midpoint, axis), in box1's frame, axis towards box2.

    The supporting edge of each box is picked by the signs of the axis; a near-zero component makes that choice
    ambiguous, and then both candidate edges are tried and the closest witness pair kept (as MuJoCo).
    """
    i = (code - 6) // 3
    j = (code - 6) % 3
    i1 = (i + 1) % 3
    i2 = (i + 2) % 3
    j1 = (j + 1) % 3
    j2 = (j + 2) % 3
    axis = edge_axis(rot, code)
    if wp.dot(axis, pos21) < 0.0:
        axis = -axis
    a2 = wp.transpose(rot) @ axis  # the axis in box2's frame

    amb1 = int(-1)
    if wp.abs(axis[i1]) < BOXBOX_SGNEPS:
        amb1 = i1
    elif wp.abs(axis[i2]) < BOXBOX_SGNEPS:
        amb1 = i2
    amb2 = int(-1)
    if wp.abs(a2[j1]) < BOXBOX_SGNEPS:
        amb2 = j1
    elif wp.abs(a2[j2]) < BOXBOX_SGNEPS:
        amb2 = j2

    d2 = column(rot, j)  # direction of box2's edge (box1's edge runs along e_i)
    b = d2[i]
    denom = 1.0 - b * b

    # support corners: box1's along +axis, box2's along -axis (in their own frames)
    c1_base = basis(i1) * wp.where(axis[i1] >= 0.0, size1[i1], -size1[i1]) + basis(i2) * wp.where(
        axis[i2] >= 0.0, size1[i2], -size1[i2]
    )
    cc_base = basis(j1) * wp.where(a2[j1] >= 0.0, -size2[j1], size2[j1]) + basis(j2) * wp.where(
        a2[j2] >= 0.0, -size2[j2], size2[j2]
    )

    best = BIG
    w1 = wp.vec3(0.0)
    w2 = wp.vec3(0.0)
    for v1 in range(2):
        for v2 in range(2):
            if (v1 == 0 or amb1 >= 0) and (v2 == 0 or amb2 >= 0):
                c1 = flip_component(c1_base, amb1, v1 == 1)
                c2 = rot @ flip_component(cc_base, amb2, v2 == 1) + pos21
                # closest points of the segments c1 + s e_i and c2 + t d2
                e = c2 - c1
                d1e = e[i]
                d2e = wp.dot(d2, e)
                s = float(0.0)
                if denom >= MINVAL:
                    s = (d1e - b * d2e) / denom
                s = wp.clamp(s, -size1[i], size1[i])
                t = wp.clamp(b * s - d2e, -size2[j], size2[j])
                s = wp.clamp(d1e + b * t, -size1[i], size1[i])
                p1 = c1 + basis(i) * s
                p2 = c2 + d2 * t
                gap2 = wp.length_sq(p2 - p1)
                if gap2 < best:
                    best = gap2
                    w1 = p1
                    w2 = p2
    return wp.dot(w2 - w1, axis), 0.5 * (w1 + w2), axis


@wp.func
def box_box_face(
    w: int,
    slot: int,
    end: int,
    margin: float,
    code: int,
    rot: wp.mat33,
    pos1: wp.vec3,
    mat1: wp.mat33,
    size1: wp.vec3,
    pos21: wp.vec3,
    pos2: wp.vec3,
    mat2: wp.mat33,
    size2: wp.vec3,
    pos12: wp.vec3,
    contact_dist: wp.array2d(dtype=wp.float32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
):
    """Face contact for face axis ``code``: clip the incident box's face against the reference face.

    The reference box owns the winning face (normal axis ``a``); the incident face is the face of the other box
    most opposed to it. Working in the reference box's frame, with (x, y) the two in-face axes and z the height
    above the reference face, the incident face (a parallelogram) is clipped to the reference face's rectangle;
    every clipped vertex with z <= margin is a contact (near-duplicates dropped), with dist = z, midway between
    the reference face and the incident face.
    """
    ref1 = code < 3
    a = wp.where(ref1, code, code - 3)
    size_ref = wp.where(ref1, size1, size2)
    size_inc = wp.where(ref1, size2, size1)
    pos_ref = wp.where(ref1, pos1, pos2)
    mat_ref = wp.where(ref1, mat1, mat2)
    pos_inc = wp.where(ref1, pos21, pos12)  # incident centre in the reference frame
    rinc = wp.where(ref1, rot, wp.transpose(rot))  # columns: incident axes in the reference frame

    sgn = wp.where(pos_inc[a] >= 0.0, 1.0, -1.0)  # the incident box lies on the +a (or -a) side

    # incident face: its normal axis binc is the incident axis most aligned with a; tinc picks the opposing side
    binc = int(0)
    for k in range(1, 3):
        if wp.abs(rinc[a, k]) > wp.abs(rinc[a, binc]):
            binc = k
    tinc = wp.where(sgn * rinc[a, binc] > 0.0, -1.0, 1.0)
    ax = (a + 1) % 3
    ay = (a + 2) % 3
    bu = (binc + 1) % 3
    bv = (binc + 2) % 3

    # the incident face's centre and half-edges as (x, y, z) above the reference face
    center = pos_inc + column(rinc, binc) * (tinc * size_inc[binc])
    edge_u = column(rinc, bu) * size_inc[bu]
    edge_v = column(rinc, bv) * size_inc[bv]
    cx = wp.vec3(center[ax], center[ay], sgn * center[a] - size_ref[a])
    du = wp.vec3(edge_u[ax], edge_u[ay], sgn * edge_u[a])
    dv = wp.vec3(edge_v[ax], edge_v[ay], sgn * edge_v[a])
    poly = mat83f()
    poly = with_row(poly, 0, cx + du + dv)
    poly = with_row(poly, 1, cx - du + dv)
    poly = with_row(poly, 2, cx - du - dv)
    poly = with_row(poly, 3, cx + du - dv)

    tol = BOXBOX_SEPEPS * (size1[0] + size1[1] + size1[2] + size2[0] + size2[1] + size2[2])
    n = int(4)
    poly, n = clip_polygon(poly, n, 0, 1.0, size_ref[ax], tol)
    poly, n = clip_polygon(poly, n, 0, -1.0, size_ref[ax], tol)
    poly, n = clip_polygon(poly, n, 1, 1.0, size_ref[ay], tol)
    poly, n = clip_polygon(poly, n, 1, -1.0, size_ref[ay], tol)

    normal = column(mat_ref, a) * wp.where(ref1, sgn, -sgn)  # from box1 to box2
    dupe2 = BOXBOX_DUPEPS * (size_ref[ax] * size_ref[ax] + size_ref[ay] * size_ref[ay])
    accepted = mat83f()
    naccept = int(0)
    s = slot
    for k in range(8):
        v = poly[k]
        if k < n and v[2] <= margin:
            dupe = False
            for q in range(8):
                if q < naccept:
                    dx = accepted[q, 0] - v[0]
                    dy = accepted[q, 1] - v[1]
                    if dx * dx + dy * dy < dupe2:
                        dupe = True
            if not dupe:
                accepted = with_row(accepted, naccept, v)
                naccept += 1
                local = basis(ax) * v[0] + basis(ay) * v[1] + basis(a) * (sgn * (size_ref[a] + 0.5 * v[2]))
                pos = mat_ref @ local + pos_ref
                s = emit(w, s, end, True, v[2], pos, normal, wp.vec3(0.0), contact_dist, contact_pos, contact_frame)
    return s


@wp.func
def box_box(
    w: int,
    slot: int,
    end: int,
    margin: float,
    pos1: wp.vec3,
    mat1: wp.mat33,
    size1: wp.vec3,
    pos2: wp.vec3,
    mat2: wp.mat33,
    size2: wp.vec3,
    contact_dist: wp.array2d(dtype=wp.float32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
):
    """Box-box, as MuJoCo's mjc_BoxBox: separating-axis test, then one edge-edge contact or up to 8 face contacts."""
    rot = wp.transpose(mat1) @ mat2
    pos21 = wp.transpose(mat1) @ (pos2 - pos1)
    pos12 = wp.transpose(mat2) @ (pos1 - pos2)
    septol = margin + BOXBOX_SEPEPS * (size1[0] + size1[1] + size1[2] + size2[0] + size2[1] + size2[2])
    separated, code, code_face, sep, sep_face = box_box_axes(rot, pos21, pos12, size1, size2, septol)

    # an edge axis within ~8 degrees of the best face axis that is not clearly better gives way to the face
    if code >= 6:
        axis = edge_axis(rot, code)
        face_dot = float(0.0)
        if code_face < 3:
            face_dot = wp.abs(axis[code_face])
        else:
            face_dot = wp.abs(wp.dot(axis, column(rot, code_face - 3)))
        if face_dot > 0.99 and sep < sep_face + 0.05 * wp.abs(sep_face) + MINVAL:
            code = code_face

    s = slot
    if not separated:
        if code >= 6:
            dist, mid, axis = box_box_edge(code, rot, pos21, size1, size2)
            s = emit(
                w, s, end, dist <= septol, dist, mat1 @ mid + pos1, mat1 @ axis, wp.vec3(0.0),
                contact_dist, contact_pos, contact_frame,
            )  # fmt: skip
        else:
            s = box_box_face(
                w, s, end, margin, code, rot, pos1, mat1, size1, pos21, pos2, mat2, size2, pos12,
                contact_dist, contact_pos, contact_frame,
            )  # fmt: skip
    return s


# ----------------------------------------------------------------------------------------------------------------
# kernels: one per pair type, all with the arguments of COLLIDER_ARGS


@wp.kernel
def collide_plane_sphere(
    family_pairs: wp.array(dtype=wp.int32),
    pair_geom1: wp.array(dtype=wp.int32),
    pair_geom2: wp.array(dtype=wp.int32),
    pair_conadr: wp.array(dtype=wp.int32),
    pair_maxcon: wp.array(dtype=wp.int32),
    pair_margin: wp.array(dtype=wp.float32),
    geom_type: wp.array(dtype=wp.int32),
    geom_size: wp.array(dtype=wp.vec3),
    geom_rootid: wp.array(dtype=wp.int32),
    geom_xpos: wp.array2d(dtype=wp.vec3),
    geom_xmat: wp.array2d(dtype=wp.mat33),
    root_origin: wp.array2d(dtype=wp.vec3),
    contact_dist: wp.array2d(dtype=wp.float32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
):
    w, i = wp.tid()
    p = family_pairs[i]
    g1 = pair_geom1[p]
    g2 = pair_geom2[p]
    adr = pair_conadr[p]
    pos1, pos2 = pair_poses(w, g1, g2, geom_rootid, geom_xpos, root_origin)
    dist, pos, n = plane_sphere(pos1, geom_xmat[w, g1], pos2, geom_size[g2][0])
    if dist <= pair_margin[p]:
        write_contact(w, adr, dist, pos, n, wp.vec3(0.0), contact_dist, contact_pos, contact_frame)
        clear_slots(w, adr + 1, adr + pair_maxcon[p], contact_dist)
    else:
        clear_slots(w, adr, adr + pair_maxcon[p], contact_dist)


@wp.kernel
def collide_plane_capsule(
    family_pairs: wp.array(dtype=wp.int32),
    pair_geom1: wp.array(dtype=wp.int32),
    pair_geom2: wp.array(dtype=wp.int32),
    pair_conadr: wp.array(dtype=wp.int32),
    pair_maxcon: wp.array(dtype=wp.int32),
    pair_margin: wp.array(dtype=wp.float32),
    geom_type: wp.array(dtype=wp.int32),
    geom_size: wp.array(dtype=wp.vec3),
    geom_rootid: wp.array(dtype=wp.int32),
    geom_xpos: wp.array2d(dtype=wp.vec3),
    geom_xmat: wp.array2d(dtype=wp.mat33),
    root_origin: wp.array2d(dtype=wp.vec3),
    contact_dist: wp.array2d(dtype=wp.float32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
):
    w, i = wp.tid()
    p = family_pairs[i]
    g1 = pair_geom1[p]
    g2 = pair_geom2[p]
    first = pair_conadr[p]
    end = first + pair_maxcon[p]
    pos1, pos2 = pair_poses(w, g1, g2, geom_rootid, geom_xpos, root_origin)
    s = plane_capsule(
        w, first, end, pair_margin[p], pos1, geom_xmat[w, g1], pos2, geom_xmat[w, g2], geom_size[g2],
        contact_dist, contact_pos, contact_frame,
    )  # fmt: skip
    clear_slots(w, s, end, contact_dist)


@wp.kernel
def collide_plane_cylinder(
    family_pairs: wp.array(dtype=wp.int32),
    pair_geom1: wp.array(dtype=wp.int32),
    pair_geom2: wp.array(dtype=wp.int32),
    pair_conadr: wp.array(dtype=wp.int32),
    pair_maxcon: wp.array(dtype=wp.int32),
    pair_margin: wp.array(dtype=wp.float32),
    geom_type: wp.array(dtype=wp.int32),
    geom_size: wp.array(dtype=wp.vec3),
    geom_rootid: wp.array(dtype=wp.int32),
    geom_xpos: wp.array2d(dtype=wp.vec3),
    geom_xmat: wp.array2d(dtype=wp.mat33),
    root_origin: wp.array2d(dtype=wp.vec3),
    contact_dist: wp.array2d(dtype=wp.float32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
):
    w, i = wp.tid()
    p = family_pairs[i]
    g1 = pair_geom1[p]
    g2 = pair_geom2[p]
    first = pair_conadr[p]
    end = first + pair_maxcon[p]
    pos1, pos2 = pair_poses(w, g1, g2, geom_rootid, geom_xpos, root_origin)
    s = plane_cylinder(
        w, first, end, pair_margin[p], pos1, geom_xmat[w, g1], pos2, geom_xmat[w, g2], geom_size[g2],
        contact_dist, contact_pos, contact_frame,
    )  # fmt: skip
    clear_slots(w, s, end, contact_dist)


@wp.kernel
def collide_plane_box(
    family_pairs: wp.array(dtype=wp.int32),
    pair_geom1: wp.array(dtype=wp.int32),
    pair_geom2: wp.array(dtype=wp.int32),
    pair_conadr: wp.array(dtype=wp.int32),
    pair_maxcon: wp.array(dtype=wp.int32),
    pair_margin: wp.array(dtype=wp.float32),
    geom_type: wp.array(dtype=wp.int32),
    geom_size: wp.array(dtype=wp.vec3),
    geom_rootid: wp.array(dtype=wp.int32),
    geom_xpos: wp.array2d(dtype=wp.vec3),
    geom_xmat: wp.array2d(dtype=wp.mat33),
    root_origin: wp.array2d(dtype=wp.vec3),
    contact_dist: wp.array2d(dtype=wp.float32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
):
    w, i = wp.tid()
    p = family_pairs[i]
    g1 = pair_geom1[p]
    g2 = pair_geom2[p]
    first = pair_conadr[p]
    end = first + pair_maxcon[p]
    pos1, pos2 = pair_poses(w, g1, g2, geom_rootid, geom_xpos, root_origin)
    s = plane_box(
        w, first, end, pair_margin[p], pos1, geom_xmat[w, g1], pos2, geom_xmat[w, g2], geom_size[g2],
        contact_dist, contact_pos, contact_frame,
    )  # fmt: skip
    clear_slots(w, s, end, contact_dist)


@wp.kernel
def collide_sphere_sphere(
    family_pairs: wp.array(dtype=wp.int32),
    pair_geom1: wp.array(dtype=wp.int32),
    pair_geom2: wp.array(dtype=wp.int32),
    pair_conadr: wp.array(dtype=wp.int32),
    pair_maxcon: wp.array(dtype=wp.int32),
    pair_margin: wp.array(dtype=wp.float32),
    geom_type: wp.array(dtype=wp.int32),
    geom_size: wp.array(dtype=wp.vec3),
    geom_rootid: wp.array(dtype=wp.int32),
    geom_xpos: wp.array2d(dtype=wp.vec3),
    geom_xmat: wp.array2d(dtype=wp.mat33),
    root_origin: wp.array2d(dtype=wp.vec3),
    contact_dist: wp.array2d(dtype=wp.float32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
):
    w, i = wp.tid()
    p = family_pairs[i]
    g1 = pair_geom1[p]
    g2 = pair_geom2[p]
    first = pair_conadr[p]
    end = first + pair_maxcon[p]
    pos1, pos2 = pair_poses(w, g1, g2, geom_rootid, geom_xpos, root_origin)
    if beyond_bounds(pos1, geom_type[g1], geom_size[g1], pos2, geom_type[g2], geom_size[g2], pair_margin[p]):
        clear_slots(w, first, end, contact_dist)
        return
    mat1 = geom_xmat[w, g1]
    mat2 = geom_xmat[w, g2]
    dist, pos, n = sphere_sphere(pos1, geom_size[g1][0], column(mat1, 2), pos2, geom_size[g2][0], column(mat2, 2))
    hit = dist <= pair_margin[p]
    s = emit(w, first, end, hit, dist, pos, n, wp.vec3(0.0), contact_dist, contact_pos, contact_frame)
    clear_slots(w, s, end, contact_dist)


@wp.kernel
def collide_sphere_capsule(
    family_pairs: wp.array(dtype=wp.int32),
    pair_geom1: wp.array(dtype=wp.int32),
    pair_geom2: wp.array(dtype=wp.int32),
    pair_conadr: wp.array(dtype=wp.int32),
    pair_maxcon: wp.array(dtype=wp.int32),
    pair_margin: wp.array(dtype=wp.float32),
    geom_type: wp.array(dtype=wp.int32),
    geom_size: wp.array(dtype=wp.vec3),
    geom_rootid: wp.array(dtype=wp.int32),
    geom_xpos: wp.array2d(dtype=wp.vec3),
    geom_xmat: wp.array2d(dtype=wp.mat33),
    root_origin: wp.array2d(dtype=wp.vec3),
    contact_dist: wp.array2d(dtype=wp.float32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
):
    w, i = wp.tid()
    p = family_pairs[i]
    g1 = pair_geom1[p]
    g2 = pair_geom2[p]
    first = pair_conadr[p]
    end = first + pair_maxcon[p]
    pos1, pos2 = pair_poses(w, g1, g2, geom_rootid, geom_xpos, root_origin)
    if beyond_bounds(pos1, geom_type[g1], geom_size[g1], pos2, geom_type[g2], geom_size[g2], pair_margin[p]):
        clear_slots(w, first, end, contact_dist)
        return
    axis1 = column(geom_xmat[w, g1], 2)
    axis2 = column(geom_xmat[w, g2], 2)
    size2 = geom_size[g2]
    nearest = capsule_point_nearest(pos2, axis2, size2[1], pos1)
    dist, pos, n = sphere_sphere(pos1, geom_size[g1][0], axis1, nearest, size2[0], axis2)
    hit = dist <= pair_margin[p]
    s = emit(w, first, end, hit, dist, pos, n, wp.vec3(0.0), contact_dist, contact_pos, contact_frame)
    clear_slots(w, s, end, contact_dist)


@wp.kernel
def collide_sphere_cylinder(
    family_pairs: wp.array(dtype=wp.int32),
    pair_geom1: wp.array(dtype=wp.int32),
    pair_geom2: wp.array(dtype=wp.int32),
    pair_conadr: wp.array(dtype=wp.int32),
    pair_maxcon: wp.array(dtype=wp.int32),
    pair_margin: wp.array(dtype=wp.float32),
    geom_type: wp.array(dtype=wp.int32),
    geom_size: wp.array(dtype=wp.vec3),
    geom_rootid: wp.array(dtype=wp.int32),
    geom_xpos: wp.array2d(dtype=wp.vec3),
    geom_xmat: wp.array2d(dtype=wp.mat33),
    root_origin: wp.array2d(dtype=wp.vec3),
    contact_dist: wp.array2d(dtype=wp.float32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
):
    w, i = wp.tid()
    p = family_pairs[i]
    g1 = pair_geom1[p]
    g2 = pair_geom2[p]
    first = pair_conadr[p]
    end = first + pair_maxcon[p]
    pos1, pos2 = pair_poses(w, g1, g2, geom_rootid, geom_xpos, root_origin)
    if beyond_bounds(pos1, geom_type[g1], geom_size[g1], pos2, geom_type[g2], geom_size[g2], pair_margin[p]):
        clear_slots(w, first, end, contact_dist)
        return
    dist, pos, n = sphere_cylinder(pos1, geom_xmat[w, g1], geom_size[g1][0], pos2, geom_xmat[w, g2], geom_size[g2])
    hit = dist <= pair_margin[p]
    s = emit(w, first, end, hit, dist, pos, n, wp.vec3(0.0), contact_dist, contact_pos, contact_frame)
    clear_slots(w, s, end, contact_dist)


@wp.kernel
def collide_sphere_box(
    family_pairs: wp.array(dtype=wp.int32),
    pair_geom1: wp.array(dtype=wp.int32),
    pair_geom2: wp.array(dtype=wp.int32),
    pair_conadr: wp.array(dtype=wp.int32),
    pair_maxcon: wp.array(dtype=wp.int32),
    pair_margin: wp.array(dtype=wp.float32),
    geom_type: wp.array(dtype=wp.int32),
    geom_size: wp.array(dtype=wp.vec3),
    geom_rootid: wp.array(dtype=wp.int32),
    geom_xpos: wp.array2d(dtype=wp.vec3),
    geom_xmat: wp.array2d(dtype=wp.mat33),
    root_origin: wp.array2d(dtype=wp.vec3),
    contact_dist: wp.array2d(dtype=wp.float32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
):
    w, i = wp.tid()
    p = family_pairs[i]
    g1 = pair_geom1[p]
    g2 = pair_geom2[p]
    first = pair_conadr[p]
    end = first + pair_maxcon[p]
    pos1, pos2 = pair_poses(w, g1, g2, geom_rootid, geom_xpos, root_origin)
    if beyond_bounds(pos1, geom_type[g1], geom_size[g1], pos2, geom_type[g2], geom_size[g2], pair_margin[p]):
        clear_slots(w, first, end, contact_dist)
        return
    dist, pos, n = sphere_box(pos1, geom_size[g1][0], pos2, geom_xmat[w, g2], geom_size[g2])
    hit = dist <= pair_margin[p]
    s = emit(w, first, end, hit, dist, pos, n, wp.vec3(0.0), contact_dist, contact_pos, contact_frame)
    clear_slots(w, s, end, contact_dist)


@wp.kernel
def collide_capsule_capsule(
    family_pairs: wp.array(dtype=wp.int32),
    pair_geom1: wp.array(dtype=wp.int32),
    pair_geom2: wp.array(dtype=wp.int32),
    pair_conadr: wp.array(dtype=wp.int32),
    pair_maxcon: wp.array(dtype=wp.int32),
    pair_margin: wp.array(dtype=wp.float32),
    geom_type: wp.array(dtype=wp.int32),
    geom_size: wp.array(dtype=wp.vec3),
    geom_rootid: wp.array(dtype=wp.int32),
    geom_xpos: wp.array2d(dtype=wp.vec3),
    geom_xmat: wp.array2d(dtype=wp.mat33),
    root_origin: wp.array2d(dtype=wp.vec3),
    contact_dist: wp.array2d(dtype=wp.float32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
):
    w, i = wp.tid()
    p = family_pairs[i]
    g1 = pair_geom1[p]
    g2 = pair_geom2[p]
    first = pair_conadr[p]
    end = first + pair_maxcon[p]
    pos1, pos2 = pair_poses(w, g1, g2, geom_rootid, geom_xpos, root_origin)
    if beyond_bounds(pos1, geom_type[g1], geom_size[g1], pos2, geom_type[g2], geom_size[g2], pair_margin[p]):
        clear_slots(w, first, end, contact_dist)
        return
    s = capsule_capsule(
        w, first, end, pair_margin[p], pos1, geom_xmat[w, g1], geom_size[g1], pos2, geom_xmat[w, g2], geom_size[g2],
        contact_dist, contact_pos, contact_frame,
    )  # fmt: skip
    clear_slots(w, s, end, contact_dist)


@wp.kernel
def collide_capsule_box(
    family_pairs: wp.array(dtype=wp.int32),
    pair_geom1: wp.array(dtype=wp.int32),
    pair_geom2: wp.array(dtype=wp.int32),
    pair_conadr: wp.array(dtype=wp.int32),
    pair_maxcon: wp.array(dtype=wp.int32),
    pair_margin: wp.array(dtype=wp.float32),
    geom_type: wp.array(dtype=wp.int32),
    geom_size: wp.array(dtype=wp.vec3),
    geom_rootid: wp.array(dtype=wp.int32),
    geom_xpos: wp.array2d(dtype=wp.vec3),
    geom_xmat: wp.array2d(dtype=wp.mat33),
    root_origin: wp.array2d(dtype=wp.vec3),
    contact_dist: wp.array2d(dtype=wp.float32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
):
    w, i = wp.tid()
    p = family_pairs[i]
    g1 = pair_geom1[p]
    g2 = pair_geom2[p]
    first = pair_conadr[p]
    end = first + pair_maxcon[p]
    pos1, pos2 = pair_poses(w, g1, g2, geom_rootid, geom_xpos, root_origin)
    if beyond_bounds(pos1, geom_type[g1], geom_size[g1], pos2, geom_type[g2], geom_size[g2], pair_margin[p]):
        clear_slots(w, first, end, contact_dist)
        return
    s = capsule_box(
        w, first, end, pair_margin[p], pos1, geom_xmat[w, g1], geom_size[g1], pos2, geom_xmat[w, g2], geom_size[g2],
        contact_dist, contact_pos, contact_frame,
    )  # fmt: skip
    clear_slots(w, s, end, contact_dist)


@wp.kernel
def collide_box_box(
    family_pairs: wp.array(dtype=wp.int32),
    pair_geom1: wp.array(dtype=wp.int32),
    pair_geom2: wp.array(dtype=wp.int32),
    pair_conadr: wp.array(dtype=wp.int32),
    pair_maxcon: wp.array(dtype=wp.int32),
    pair_margin: wp.array(dtype=wp.float32),
    geom_type: wp.array(dtype=wp.int32),
    geom_size: wp.array(dtype=wp.vec3),
    geom_rootid: wp.array(dtype=wp.int32),
    geom_xpos: wp.array2d(dtype=wp.vec3),
    geom_xmat: wp.array2d(dtype=wp.mat33),
    root_origin: wp.array2d(dtype=wp.vec3),
    contact_dist: wp.array2d(dtype=wp.float32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
):
    w, i = wp.tid()
    p = family_pairs[i]
    g1 = pair_geom1[p]
    g2 = pair_geom2[p]
    first = pair_conadr[p]
    end = first + pair_maxcon[p]
    pos1, pos2 = pair_poses(w, g1, g2, geom_rootid, geom_xpos, root_origin)
    if beyond_bounds(pos1, geom_type[g1], geom_size[g1], pos2, geom_type[g2], geom_size[g2], pair_margin[p]):
        clear_slots(w, first, end, contact_dist)
        return
    s = box_box(
        w, first, end, pair_margin[p], pos1, geom_xmat[w, g1], geom_size[g1], pos2, geom_xmat[w, g2], geom_size[g2],
        contact_dist, contact_pos, contact_frame,
    )  # fmt: skip
    clear_slots(w, s, end, contact_dist)


def _key(type1, type2) -> tuple[int, int]:
    return int(type1), int(type2)


#: (type of geom1, type of geom2) -> (collider kernel, maximum number of contacts), as MuJoCo's mj_maxContact
#: (capsule-box: MuJoCo reserves 4 slots, its collider fills at most 2).
PRIMITIVE_COLLIDERS = {
    _key(GEOM_PLANE, GEOM_SPHERE): (collide_plane_sphere, 1),
    _key(GEOM_PLANE, GEOM_CAPSULE): (collide_plane_capsule, 2),
    _key(GEOM_PLANE, GEOM_CYLINDER): (collide_plane_cylinder, 4),
    _key(GEOM_PLANE, GEOM_BOX): (collide_plane_box, 4),
    _key(GEOM_SPHERE, GEOM_SPHERE): (collide_sphere_sphere, 1),
    _key(GEOM_SPHERE, GEOM_CAPSULE): (collide_sphere_capsule, 1),
    _key(GEOM_SPHERE, GEOM_CYLINDER): (collide_sphere_cylinder, 1),
    _key(GEOM_SPHERE, GEOM_BOX): (collide_sphere_box, 1),
    _key(GEOM_CAPSULE, GEOM_CAPSULE): (collide_capsule_capsule, 2),
    _key(GEOM_CAPSULE, GEOM_BOX): (collide_capsule_box, 4),
    _key(GEOM_BOX, GEOM_BOX): (collide_box_box, 8),
}
