"""What every collider shares: geom type codes, the contact-slot layout, the contact frame, pair poses.

Contact slots
-------------
Every candidate geom pair ``p`` (built once per model, see :mod:`.pairs`) owns ``pair_maxcon[p]`` consecutive
*contact slots* starting at ``pair_conadr[p]``, per world. A collider writes, for each slot of its pair, either a
contact or ``contact_dist = NO_CONTACT``:

* ``contact_dist [N, nslot]``  signed distance [m] between the surfaces (negative: penetration),
* ``contact_pos [N, nslot]``   contact point [m], midway between the two surfaces, **relative to the tree origin
  of the pair's moving side** (``root_origin[w, contact_root(geom1, geom2)]``: geom2's tree, or geom1's when geom2
  belongs to the world; see "Tree origins" below),
* ``contact_frame [N, nslot]`` rows: the unit normal pointing from geom1 to geom2, then two tangents, as MuJoCo's
  ``mjContact.frame`` (completed from the normal and an optional tangent hint by :func:`make_frame`).

Pairs are ordered as MuJoCo orders them: ``geom_type[geom1] <= geom_type[geom2]`` (a plane is always geom1).

Tree origins
------------
Positions are kept relative to the *tree* of each body (the chain of bodies up to the child of the world, MuJoCo's
``body_rootid``), so that a model 10 km from the origin computes the same small differences as at the origin.
``geom_xpos[w, g]`` is relative to ``root_origin[w, geom_rootid[g]]``; :func:`pair_poses` brings both geoms of a
pair into the frame of :func:`contact_root`'s tree origin, subtracting the two (nearby, large) origins first. That
root is a moving tree whenever the pair has one: a plane or a static box belongs to the world, whose origin is the
world origin, and a body resting on it 10 km away keeps a contact point of a few metres, not of 10⁴ m rounded to
a millimetre by float32.

Collider kernels
----------------
A collider family is one ``@wp.kernel`` launched over ``(N, len(family_pairs))`` with the arguments (by name) of
:data:`COLLIDER_ARGS`; family-specific model constants (mesh vertices, height fields) come after them. It must write
every slot of its pairs in every launch (a slot left untouched would keep last step's contact).
"""

from __future__ import annotations

import mujoco
import warp as wp

# MuJoCo's geom type codes (mjtGeom)
GEOM_PLANE = wp.constant(int(mujoco.mjtGeom.mjGEOM_PLANE))
GEOM_HFIELD = wp.constant(int(mujoco.mjtGeom.mjGEOM_HFIELD))
GEOM_SPHERE = wp.constant(int(mujoco.mjtGeom.mjGEOM_SPHERE))
GEOM_CAPSULE = wp.constant(int(mujoco.mjtGeom.mjGEOM_CAPSULE))
GEOM_ELLIPSOID = wp.constant(int(mujoco.mjtGeom.mjGEOM_ELLIPSOID))
GEOM_CYLINDER = wp.constant(int(mujoco.mjtGeom.mjGEOM_CYLINDER))
GEOM_BOX = wp.constant(int(mujoco.mjtGeom.mjGEOM_BOX))
GEOM_MESH = wp.constant(int(mujoco.mjtGeom.mjGEOM_MESH))

#: ``contact_dist`` of a slot that holds no contact.
NO_CONTACT = wp.constant(1.0e30)

#: Argument names (in order) that every collider kernel starts with; see the module docstring.
COLLIDER_ARGS = (
    "family_pairs",  # [nfam] int32: the pairs this launch handles (indices into pair_*)
    "pair_geom1",  # [npair] int32
    "pair_geom2",  # [npair] int32
    "pair_conadr",  # [npair] int32: first contact slot of the pair
    "pair_maxcon",  # [npair] int32: number of slots of the pair
    "pair_margin",  # [npair] float32: detection distance (MuJoCo's margin + gap) [m]
    "geom_type",  # [ngeom] int32
    "geom_size",  # [ngeom] vec3: MuJoCo's geom_size
    "geom_rootid",  # [ngeom] int32: root body of the geom's tree
    "geom_xpos",  # [N, ngeom] vec3, relative to root_origin[w, geom_rootid[g]]
    "geom_xmat",  # [N, ngeom] mat33: world orientation (columns: the geom's local axes)
    "root_origin",  # [N, nbody] vec3: world position of each tree's origin (read at root body ids)
    "contact_dist",  # out [N, nslot] float32
    "contact_pos",  # out [N, nslot] vec3, relative to the tree origin of contact_root(geom1, geom2)
    "contact_frame",  # out [N, nslot] mat33, rows: normal (geom1 -> geom2), tangent 1, tangent 2
)


@wp.func
def make_frame(normal: wp.vec3, tangent: wp.vec3):
    """MuJoCo's contact frame (mju_makeFrame) as a matrix whose rows are the normal and two tangents.

    ``tangent`` is a hint (MuJoCo's ``mjPreContact.tangent``, e.g. a capsule's axis): used when its squared length
    is at least 0.25, else (0, 1, 0) or, when the normal is within 60° of y, (0, 0, 1). It is made orthogonal to the
    normal; the third row is normal × tangent.
    """
    n = wp.normalize(normal)
    t = tangent
    if wp.dot(t, t) < 0.25:
        if n[1] < 0.5 and n[1] > -0.5:
            t = wp.vec3(0.0, 1.0, 0.0)
        else:
            t = wp.vec3(0.0, 0.0, 1.0)
    t = wp.normalize(t - wp.dot(n, t) * n)
    b = wp.cross(n, t)
    return wp.mat33(n[0], n[1], n[2], t[0], t[1], t[2], b[0], b[1], b[2])


@wp.func
def write_contact(
    w: int,
    slot: int,
    dist: float,
    pos: wp.vec3,
    normal: wp.vec3,
    tangent: wp.vec3,
    contact_dist: wp.array2d(dtype=wp.float32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
):
    """Store one contact in ``slot`` of world ``w`` (frame completed by :func:`make_frame`)."""
    contact_dist[w, slot] = dist
    contact_pos[w, slot] = pos
    contact_frame[w, slot] = make_frame(normal, tangent)


@wp.func
def clear_slots(w: int, first: int, end: int, contact_dist: wp.array2d(dtype=wp.float32)):
    """Mark slots [first, end) of world ``w`` as holding no contact."""
    for s in range(first, end):
        contact_dist[w, s] = NO_CONTACT


@wp.func
def primitive_rbound(typ: int, size: wp.vec3):
    """Bounding-sphere radius [m] of a sphere, capsule, cylinder or box about its centre (MuJoCo's geom_rbound)."""
    if typ == GEOM_SPHERE:
        return size[0]
    if typ == GEOM_CAPSULE:
        return size[0] + size[1]
    if typ == GEOM_CYLINDER:
        return wp.sqrt(size[0] * size[0] + size[1] * size[1])
    return wp.length(size)  # box


@wp.func
def spheres_apart(pos1: wp.vec3, rbound1: float, pos2: wp.vec3, rbound2: float, margin: float):
    """Whether two geoms' bounding spheres (centres ``pos``, radii ``rbound``) are more than ``margin`` apart, so
    that the geoms cannot touch: MuJoCo's bounding-sphere test before a pair's narrow phase."""
    r = rbound1 + rbound2 + margin
    return wp.length_sq(pos1 - pos2) > r * r


@wp.func
def beyond_bounds(pos1: wp.vec3, type1: int, size1: wp.vec3, pos2: wp.vec3, type2: int, size2: wp.vec3, margin: float):
    """:func:`spheres_apart` for two primitive geoms, their bounding radii from their types and sizes."""
    return spheres_apart(pos1, primitive_rbound(type1, size1), pos2, primitive_rbound(type2, size2), margin)


@wp.func
def contact_root(g1: int, g2: int, geom_rootid: wp.array(dtype=wp.int32)):
    """Root body whose tree origin the contact positions of pair (g1, g2) are relative to: geom2's tree, or geom1's
    when geom2 belongs to the world (root 0)."""
    r2 = geom_rootid[g2]
    if r2 == 0:
        return geom_rootid[g1]
    return r2


@wp.func
def origin_shift(w: int, r_from: int, r_to: int, root_origin: wp.array2d(dtype=wp.vec3)):
    """What to add to a position relative to tree ``r_from``'s origin to make it relative to tree ``r_to``'s [m]
    (exactly zero within one tree)."""
    if r_from == r_to:
        return wp.vec3(0.0)
    return root_origin[w, r_from] - root_origin[w, r_to]


@wp.func
def pair_poses(
    w: int,
    g1: int,
    g2: int,
    geom_rootid: wp.array(dtype=wp.int32),
    geom_xpos: wp.array2d(dtype=wp.vec3),
    root_origin: wp.array2d(dtype=wp.vec3),
):
    """Positions of geom1 and geom2, both relative to the tree origin of :func:`contact_root` [m]."""
    r = contact_root(g1, g2, geom_rootid)
    pos1 = geom_xpos[w, g1] + origin_shift(w, geom_rootid[g1], r, root_origin)
    pos2 = geom_xpos[w, g2] + origin_shift(w, geom_rootid[g2], r, root_origin)
    return pos1, pos2
