"""General convex colliders, as MuJoCo's (engine_collision_convex.c with its native GJK/EPA, see :mod:`.gjk`):

* ``collide_plane_convex``: plane vs ellipsoid or mesh (mjc_PlaneConvex: the support point along the plane's
  normal, plus up to two more mesh vertices near it within the margin);
* ``collide_convex``: every pair involving an ellipsoid or a mesh, and capsule-cylinder, cylinder-cylinder,
  cylinder-box (mjc_Convex: GJK + EPA; polygon clipping for box/mesh pairs without margin, and "multiccd"
  contacts from slightly rotated copies of the pair for the other flat-sided pairs);
* ``collide_hfield_convex``: height field vs sphere, capsule, ellipsoid, cylinder, box, mesh (mjc_ConvexHField:
  GJK + EPA against every triangular prism of the field under the geom).

Every kernel takes the arguments of ``common.COLLIDER_ARGS`` followed by :data:`CONVEX_ARGS` (mjModel's mesh and
height-field fields, built by :func:`convex_model_arrays`). ``CONVEX_COLLIDERS`` maps (type1, type2) to the
kernel and :func:`convex_maxcon` gives MuJoCo's maximum number of contacts of a pair (mj_maxContact).

Gradients: the searches (GJK, EPA, clipping, hill climbing) run in functions whose adjoint is a no-op. Each contact
is then recomputed differentiably from what the search found, to first order (envelope theorem): its normal ``n``
is held fixed and its witness points are held fixed in the frames of the two geoms, so that
``dist = margin + n . (x2 - x1)`` and ``pos = (x1 + x2) / 2`` move with the geom poses. Contact normals (frames)
carry no gradient; plane contacts are differentiable in closed form, including their normal.
"""

from __future__ import annotations

import mujoco
import numpy as np
import warp as wp

from .common import (
    GEOM_BOX,
    GEOM_CAPSULE,
    GEOM_CYLINDER,
    GEOM_ELLIPSOID,
    GEOM_HFIELD,
    GEOM_MESH,
    GEOM_PLANE,
    GEOM_SPHERE,
    NO_CONTACT,
    clear_slots,
    pair_poses,
    spheres_apart,
    write_contact,
)
from .gjk import (
    MINVAL,
    CCDObj,
    MeshData,
    ccd,
    init_obj,
    mat63,
    new_status,
    normalize3,
    shape_support,
)

#: Family-specific kernel arguments (after COLLIDER_ARGS), named after mjModel's fields; see convex_model_arrays.
CONVEX_ARGS = (
    "geom_dataid",  # [ngeom] int32: mesh or height-field id
    "geom_rbound",  # [ngeom] float32: bounding-sphere radius
    "mesh_vertadr",  # [nmesh] int32
    "mesh_vertnum",  # [nmesh] int32
    "mesh_vert",  # [nmeshvert] vec3
    "mesh_graphadr",  # [nmesh] int32: convex-hull graph address (-1: none)
    "mesh_graph",  # [nmeshgraph] int32
    "mesh_extrema",  # [nmesh * 27] int32: hill-climbing seeds
    "mesh_polynum",  # [nmesh] int32
    "mesh_polyadr",  # [nmesh] int32
    "mesh_polynormal",  # [nmeshpoly] vec3
    "mesh_polyvertadr",  # [nmeshpoly] int32
    "mesh_polyvertnum",  # [nmeshpoly] int32
    "mesh_polyvert",  # [nmeshpolyvert] int32
    "mesh_polymapadr",  # [nmeshvert] int32
    "mesh_polymapnum",  # [nmeshvert] int32
    "mesh_polymap",  # [nmeshpolymap] int32
    "hfield_size",  # [nhfield] vec4: x, y half-sizes, top, bottom thickness
    "hfield_nrow",  # [nhfield] int32
    "hfield_ncol",  # [nhfield] int32
    "hfield_adr",  # [nhfield] int32
    "hfield_data",  # [nhfielddata] float32: elevations in [0, 1], row-major
)

MAXCONPAIR = 50  # mjMAXCONPAIR: contacts of a height-field pair
PLANE_MESH_MAX = wp.constant(3)  # plane-mesh contacts
PLANE_MESH_TOL = wp.constant(0.3)  # extra plane-mesh contacts: minimum distance to the first, relative to rbound

mat53 = wp.types.matrix(shape=(5, 3), dtype=wp.float32)
vec5 = wp.types.vector(length=5, dtype=wp.float32)
vec5i = wp.types.vector(length=5, dtype=wp.int32)
matH3 = wp.types.matrix(shape=(MAXCONPAIR, 3), dtype=wp.float32)
vecH = wp.types.vector(length=MAXCONPAIR, dtype=wp.float32)
vecHi = wp.types.vector(length=MAXCONPAIR, dtype=wp.int32)


@wp.struct
class Found5:
    """Up to 5 contacts found by a search: witness points on geom1 (``a``, in geom1's frame) and geom2 (``b``, in
    geom2's frame), world normals, the contact whose distance each one takes (``src``) and the found distances."""

    n: int
    a: mat53
    b: mat53
    normal: mat53
    src: vec5i
    dist: vec5


@wp.struct
class FoundH:
    """As Found5, for the up to 50 contacts of a height field (``a`` in the height field's frame)."""

    n: int
    a: matH3
    b: matH3
    normal: matH3
    dist: vecH


@wp.func
def mesh_data(
    geom_dataid: wp.array(dtype=wp.int32),
    mesh_vertadr: wp.array(dtype=wp.int32),
    mesh_vertnum: wp.array(dtype=wp.int32),
    mesh_vert: wp.array(dtype=wp.vec3),
    mesh_graphadr: wp.array(dtype=wp.int32),
    mesh_graph: wp.array(dtype=wp.int32),
    mesh_extrema: wp.array(dtype=wp.int32),
    mesh_polynum: wp.array(dtype=wp.int32),
    mesh_polyadr: wp.array(dtype=wp.int32),
    mesh_polynormal: wp.array(dtype=wp.vec3),
    mesh_polyvertadr: wp.array(dtype=wp.int32),
    mesh_polyvertnum: wp.array(dtype=wp.int32),
    mesh_polyvert: wp.array(dtype=wp.int32),
    mesh_polymapadr: wp.array(dtype=wp.int32),
    mesh_polymapnum: wp.array(dtype=wp.int32),
    mesh_polymap: wp.array(dtype=wp.int32),
):
    """Bundle the mesh arrays for the search functions."""
    md = MeshData()
    md.geom_dataid = geom_dataid
    md.mesh_vertadr = mesh_vertadr
    md.mesh_vertnum = mesh_vertnum
    md.mesh_vert = mesh_vert
    md.mesh_graphadr = mesh_graphadr
    md.mesh_graph = mesh_graph
    md.mesh_extrema = mesh_extrema
    md.mesh_polynum = mesh_polynum
    md.mesh_polyadr = mesh_polyadr
    md.mesh_polynormal = mesh_polynormal
    md.mesh_polyvertadr = mesh_polyvertadr
    md.mesh_polyvertnum = mesh_polyvertnum
    md.mesh_polyvert = mesh_polyvert
    md.mesh_polymapadr = mesh_polymapadr
    md.mesh_polymapnum = mesh_polymapnum
    md.mesh_polymap = mesh_polymap
    return md


# ---------------------------------------------------------------------------------------------------------------
# mjc_Convex


@wp.func
def convex_search(
    t1: int,
    t2: int,
    g1: int,
    g2: int,
    rel2: wp.vec3,
    mat1: wp.mat33,
    size1: wp.vec3,
    mat2: wp.mat33,
    size2: wp.vec3,
    margin: float,
    maxcon: int,
    md: MeshData,
):
    """Contacts of two convex geoms (MuJoCo's mjc_Convex), geom1 at the origin and geom2 at rel2. ``maxcon`` > 1
    enables multi-contact (MuJoCo's multiccd) for face-face and capsule-face pairs."""
    out = Found5()
    obj1 = init_obj(t1, wp.vec3(0.0), mat1, size1, margin, g1, md)
    obj2 = init_obj(t2, rel2, mat2, size2, margin, g2, md)
    st = new_status(obj1, obj2, wp.where(maxcon > 1, 4, 1))
    st, d = ccd(st, md)
    if not (d < 0.0):
        return out
    nx = wp.min(st.nx, maxcon)
    for i in range(nx):
        x1 = st.x1[i]
        x2 = st.x2[i]
        out.a[i] = wp.transpose(mat1) @ x1
        out.b[i] = wp.transpose(mat2) @ (x2 - rel2)
        out.normal[i] = normalize3(x1 - x2)
        out.src[i] = i
        out.dist[i] = margin + st.dist[i]
    out.n = nx
    return out


@wp.func_grad(convex_search)
def adj_convex_search(
    t1: int,
    t2: int,
    g1: int,
    g2: int,
    rel2: wp.vec3,
    mat1: wp.mat33,
    size1: wp.vec3,
    mat2: wp.mat33,
    size2: wp.vec3,
    margin: float,
    maxcon: int,
    md: MeshData,
    adj_ret: Found5,
):
    """The search has no derivative (the contacts are re-derived differentiably from its result)."""
    pass


@wp.func
def write_found5(
    w: int,
    adr: int,
    maxcon: int,
    found: Found5,
    margin: float,
    pos1: wp.vec3,
    mat1: wp.mat33,
    pos2: wp.vec3,
    mat2: wp.mat33,
    contact_dist: wp.array2d(dtype=wp.float32),
    contact_pos: wp.array2d(dtype=wp.vec3),
    contact_frame: wp.array2d(dtype=wp.mat33),
):
    """Write the found contacts with dist = margin + n . (x2 - x1) and pos = (x1 + x2) / 2 recomputed from the
    witness points carried by the geoms; clear the other slots."""
    for k in range(maxcon):
        if k < found.n:
            s = found.src[k]
            xs1 = pos1 + mat1 @ found.a[s]
            xs2 = pos2 + mat2 @ found.b[s]
            dist = margin + wp.dot(found.normal[s], xs2 - xs1)
            x1 = pos1 + mat1 @ found.a[k]
            x2 = pos2 + mat2 @ found.b[k]
            write_contact(
                w, adr + k, dist, 0.5 * (x1 + x2), found.normal[k], wp.vec3(0.0), contact_dist, contact_pos,
                contact_frame,
            )  # fmt: skip
        else:
            contact_dist[w, adr + k] = NO_CONTACT


@wp.kernel
def collide_convex(
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
    geom_dataid: wp.array(dtype=wp.int32),
    geom_rbound: wp.array(dtype=wp.float32),
    mesh_vertadr: wp.array(dtype=wp.int32),
    mesh_vertnum: wp.array(dtype=wp.int32),
    mesh_vert: wp.array(dtype=wp.vec3),
    mesh_graphadr: wp.array(dtype=wp.int32),
    mesh_graph: wp.array(dtype=wp.int32),
    mesh_extrema: wp.array(dtype=wp.int32),
    mesh_polynum: wp.array(dtype=wp.int32),
    mesh_polyadr: wp.array(dtype=wp.int32),
    mesh_polynormal: wp.array(dtype=wp.vec3),
    mesh_polyvertadr: wp.array(dtype=wp.int32),
    mesh_polyvertnum: wp.array(dtype=wp.int32),
    mesh_polyvert: wp.array(dtype=wp.int32),
    mesh_polymapadr: wp.array(dtype=wp.int32),
    mesh_polymapnum: wp.array(dtype=wp.int32),
    mesh_polymap: wp.array(dtype=wp.int32),
    hfield_size: wp.array(dtype=wp.vec4),
    hfield_nrow: wp.array(dtype=wp.int32),
    hfield_ncol: wp.array(dtype=wp.int32),
    hfield_adr: wp.array(dtype=wp.int32),
    hfield_data: wp.array(dtype=wp.float32),
):
    """mjc_Convex for pairs of sphere, capsule, ellipsoid, cylinder, box and mesh geoms (see module docstring)."""
    w, i = wp.tid()
    p = family_pairs[i]
    g1 = pair_geom1[p]
    g2 = pair_geom2[p]
    adr = pair_conadr[p]
    maxcon = pair_maxcon[p]
    margin = pair_margin[p]
    pos1, pos2 = pair_poses(w, g1, g2, geom_rootid, geom_xpos, root_origin)
    if spheres_apart(pos1, geom_rbound[g1], pos2, geom_rbound[g2], margin):
        clear_slots(w, adr, adr + maxcon, contact_dist)
        return
    mat1 = geom_xmat[w, g1]
    mat2 = geom_xmat[w, g2]
    md = mesh_data(
        geom_dataid, mesh_vertadr, mesh_vertnum, mesh_vert, mesh_graphadr, mesh_graph, mesh_extrema, mesh_polynum,
        mesh_polyadr, mesh_polynormal, mesh_polyvertadr, mesh_polyvertnum, mesh_polyvert, mesh_polymapadr,
        mesh_polymapnum, mesh_polymap,
    )  # fmt: skip
    found = convex_search(
        geom_type[g1], geom_type[g2], g1, g2, pos2 - pos1, mat1, geom_size[g1], mat2, geom_size[g2], margin, maxcon,
        md,
    )  # fmt: skip
    write_found5(w, adr, maxcon, found, margin, pos1, mat1, pos2, mat2, contact_dist, contact_pos, contact_frame)


# ---------------------------------------------------------------------------------------------------------------
# mjc_PlaneConvex


@wp.func
def plane_mesh_search(nrm: wp.vec3, rel2: wp.vec3, mat2: wp.mat33, margin: float, rbound2: float, g2: int,
                      md: MeshData):  # fmt: skip
    """Plane (through the origin, normal nrm) vs mesh at rel2 (MuJoCo's mjc_PlaneConvex): the deepest vertex and
    up to two more within the margin among its neighbours. Returns Found5 with ``b`` = the vertices (mesh frame)."""
    out = Found5()
    m = md.geom_dataid[g2]
    va = md.mesh_vertadr[m]
    nvert = md.mesh_vertnum[m]
    ga = md.mesh_graphadr[m]
    ld = wp.transpose(mat2) @ (-nrm)
    # support vertex (MuJoCo's mjccd_support: exhaustive, or hill climbing on the graph from vertex 0)
    best = int(-1)
    meshindex = int(-1)
    if ga < 0 or nvert < 10:
        bestdot = float(-1.0e10)
        for i in range(nvert):
            dd = wp.dot(ld, md.mesh_vert[va + i])
            if dd > bestdot:
                bestdot = dd
                best = i
        meshindex = best
    else:
        numvert = md.mesh_graph[ga]
        gid = ga + 2 + numvert
        eloc = ga + 2 + 2 * numvert
        loc = int(0)
        bestdot = wp.dot(ld, md.mesh_vert[va + md.mesh_graph[gid]])
        change = bool(True)
        while change:
            change = bool(False)
            i = md.mesh_graph[ga + 2 + loc]
            sub = md.mesh_graph[eloc + i]
            while sub >= 0:
                dd = wp.dot(ld, md.mesh_vert[va + md.mesh_graph[gid + sub]])
                if dd > bestdot:
                    bestdot = dd
                    loc = sub
                    change = bool(True)
                i += 1
                sub = md.mesh_graph[eloc + i]
        meshindex = loc
        best = md.mesh_graph[gid + loc]
    v0 = md.mesh_vert[va + best]
    supp = rel2 + mat2 @ v0
    dist = wp.dot(nrm, supp)
    if dist > margin:
        return out
    first = supp - nrm * (0.5 * dist)
    out.b[0] = v0
    out.n = 1
    threshold = wp.dot(nrm, rel2) - margin
    tol = PLANE_MESH_TOL * rbound2
    if ga < 0:
        for i in range(nvert):
            if out.n < PLANE_MESH_MAX and i != meshindex:
                v = md.mesh_vert[va + i]
                if wp.dot(ld, v) > threshold and wp.length(rel2 + mat2 @ v - first) >= tol:
                    out.b[out.n] = v
                    out.n += 1
    elif meshindex >= 0:
        numvert = md.mesh_graph[ga]
        gid = ga + 2 + numvert
        eloc = ga + 2 + 2 * numvert
        i = md.mesh_graph[ga + 2 + meshindex]
        sub = md.mesh_graph[eloc + i]
        while sub >= 0 and out.n < PLANE_MESH_MAX:
            v = md.mesh_vert[va + md.mesh_graph[gid + sub]]
            if wp.dot(ld, v) > threshold and wp.length(rel2 + mat2 @ v - first) >= tol:
                out.b[out.n] = v
                out.n += 1
            i += 1
            sub = md.mesh_graph[eloc + i]
    return out


@wp.func_grad(plane_mesh_search)
def adj_plane_mesh_search(nrm: wp.vec3, rel2: wp.vec3, mat2: wp.mat33, margin: float, rbound2: float, g2: int,
                          md: MeshData, adj_ret: Found5):  # fmt: skip
    """The vertex search has no derivative (the contacts are re-derived from the vertices)."""
    pass


@wp.func
def ellipsoid_point(ld: wp.vec3, size: wp.vec3):
    """Ellipsoid point (local frame) farthest along local direction ld (MuJoCo's mjccd_support)."""
    e = wp.cw_mul(ld, size)
    n = wp.length(e)
    if n < MINVAL:
        e = wp.vec3(1.0, 0.0, 0.0)
    else:
        e = e / n
    return wp.cw_mul(e, size)


@wp.func
def ellipsoid_found(ld: wp.vec3, size: wp.vec3):
    """Found5 holding the ellipsoid point farthest along local direction ld."""
    found = Found5()
    found.n = 1
    found.b[0] = ellipsoid_point(ld, size)
    return found


@wp.kernel
def collide_plane_convex(
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
    geom_dataid: wp.array(dtype=wp.int32),
    geom_rbound: wp.array(dtype=wp.float32),
    mesh_vertadr: wp.array(dtype=wp.int32),
    mesh_vertnum: wp.array(dtype=wp.int32),
    mesh_vert: wp.array(dtype=wp.vec3),
    mesh_graphadr: wp.array(dtype=wp.int32),
    mesh_graph: wp.array(dtype=wp.int32),
    mesh_extrema: wp.array(dtype=wp.int32),
    mesh_polynum: wp.array(dtype=wp.int32),
    mesh_polyadr: wp.array(dtype=wp.int32),
    mesh_polynormal: wp.array(dtype=wp.vec3),
    mesh_polyvertadr: wp.array(dtype=wp.int32),
    mesh_polyvertnum: wp.array(dtype=wp.int32),
    mesh_polyvert: wp.array(dtype=wp.int32),
    mesh_polymapadr: wp.array(dtype=wp.int32),
    mesh_polymapnum: wp.array(dtype=wp.int32),
    mesh_polymap: wp.array(dtype=wp.int32),
    hfield_size: wp.array(dtype=wp.vec4),
    hfield_nrow: wp.array(dtype=wp.int32),
    hfield_ncol: wp.array(dtype=wp.int32),
    hfield_adr: wp.array(dtype=wp.int32),
    hfield_data: wp.array(dtype=wp.float32),
):
    """mjc_PlaneConvex: plane (geom1) vs ellipsoid or mesh (geom2)."""
    w, i = wp.tid()
    p = family_pairs[i]
    g1 = pair_geom1[p]
    g2 = pair_geom2[p]
    adr = pair_conadr[p]
    maxcon = pair_maxcon[p]
    margin = pair_margin[p]
    pos1, pos2 = pair_poses(w, g1, g2, geom_rootid, geom_xpos, root_origin)
    mat1 = geom_xmat[w, g1]
    mat2 = geom_xmat[w, g2]
    nrm = wp.vec3(mat1[0, 2], mat1[1, 2], mat1[2, 2])
    # (built by function calls, not in-place stores: Warp's backward pass does not replay stores into locals)
    found = ellipsoid_found(wp.transpose(mat2) @ (-nrm), geom_size[g2])
    if geom_type[g2] == GEOM_MESH:
        md = mesh_data(
            geom_dataid, mesh_vertadr, mesh_vertnum, mesh_vert, mesh_graphadr, mesh_graph, mesh_extrema,
            mesh_polynum, mesh_polyadr, mesh_polynormal, mesh_polyvertadr, mesh_polyvertnum, mesh_polyvert,
            mesh_polymapadr, mesh_polymapnum, mesh_polymap,
        )  # fmt: skip
        found = plane_mesh_search(nrm, pos2 - pos1, mat2, margin, geom_rbound[g2], g2, md)
    for k in range(maxcon):
        x = pos2 + mat2 @ found.b[k]
        dist = wp.dot(nrm, x - pos1)
        if k < found.n and (k > 0 or dist <= margin):
            write_contact(
                w, adr + k, dist, x - nrm * (0.5 * dist), nrm, wp.vec3(0.0), contact_dist, contact_pos, contact_frame
            )
        else:
            contact_dist[w, adr + k] = NO_CONTACT


# ---------------------------------------------------------------------------------------------------------------
# mjc_ConvexHField


@wp.func
def prism_vertex(prism: mat63, x: float, y: float, z: float):
    """Shift the prism's vertex window by one grid vertex (x, y, top z); the bottom keeps its z."""
    prism[0] = prism[1]
    prism[1] = prism[2]
    prism[3] = prism[4]
    prism[4] = prism[5]
    prism[2] = wp.vec3(x, y, prism[2, 2])
    prism[5] = wp.vec3(x, y, z)
    return prism


@wp.func
def hfield_search(
    t2: int,
    g2: int,
    lpos: wp.vec3,
    lmat: wp.mat33,
    size2: wp.vec3,
    margin: float,
    rbound2: float,
    maxcon: int,
    hsize: wp.vec4,
    nrow: int,
    ncol: int,
    hadr: int,
    hfield_data: wp.array(dtype=wp.float32),
    md: MeshData,
):
    """Height field (its frame) vs a convex geom at (lpos, lmat) in that frame (MuJoCo's mjc_ConvexHField): one GJK
    + EPA contact per triangular prism of the field below the geom. Witness points: ``a`` in the field's frame,
    ``b`` in the geom's; normals in the field's frame."""
    out = FoundH()
    # bounding sphere, then bounding box, against the field's box
    r = rbound2 + margin
    if (
        hsize[0] < lpos[0] - r or -hsize[0] > lpos[0] + r or hsize[1] < lpos[1] - r or -hsize[1] > lpos[1] + r
        or hsize[2] < lpos[2] - r or -hsize[3] > lpos[2] + r
    ):  # fmt: skip
        return out
    obj1 = CCDObj()
    obj1.gtype = GEOM_HFIELD
    obj1.vertindex = -1
    obj1.meshindex = -1
    obj1.graphadr = -1
    obj2 = init_obj(t2, lpos, lmat, size2, 0.0, g2, md)
    lo = wp.vec3(0.0)
    hi = wp.vec3(0.0)
    for a in range(3):
        e = wp.vec3(0.0)
        e[a] = 1.0
        ph, vi, mi = shape_support(obj2, md, e)
        obj2.vertindex = vi
        obj2.meshindex = mi
        hi[a] = ph[a]
        pl, vi2, mi2 = shape_support(obj2, md, -e)
        obj2.vertindex = vi2
        obj2.meshindex = mi2
        lo[a] = pl[a]
    if (
        lo[0] - margin > hsize[0] or hi[0] + margin < -hsize[0] or lo[1] - margin > hsize[1]
        or hi[1] + margin < -hsize[1] or lo[2] - margin > hsize[2] or hi[2] + margin < -hsize[3]
    ):  # fmt: skip
        return out
    cmin = wp.max(0, int(wp.floor((lo[0] + hsize[0]) / (2.0 * hsize[0]) * float(ncol - 1))))
    cmax = wp.min(ncol - 1, int(wp.ceil((hi[0] + hsize[0]) / (2.0 * hsize[0]) * float(ncol - 1))))
    rmin = wp.max(0, int(wp.floor((lo[1] + hsize[1]) / (2.0 * hsize[1]) * float(nrow - 1))))
    rmax = wp.min(nrow - 1, int(wp.ceil((hi[1] + hsize[1]) / (2.0 * hsize[1]) * float(nrow - 1))))
    obj2.margin = margin
    dx = 2.0 * hsize[0] / float(ncol - 1)
    dy = 2.0 * hsize[1] / float(nrow - 1)
    zmin = lo[2]
    st = new_status(obj1, obj2, 1)
    prism = mat63()
    for v in range(3):
        prism[v, 2] = -hsize[3]
    ncon = int(0)
    for r in range(rmin, rmax):
        if ncon >= maxcon:
            break
        for c in range(cmin, cmax + 1):
            if ncon >= maxcon:
                break
            for k in range(2):
                # triangles alternate between the grid vertex in the next row (k = 0) and in this row (k = 1)
                rr = r + 1 - k
                z = hfield_data[hadr + rr * ncol + c] * hsize[2] + margin
                prism = prism_vertex(prism, dx * float(c) - hsize[0], dy * float(rr) - hsize[1], z)
                if c == cmin or ncon >= maxcon:
                    continue
                if prism[3, 2] < zmin and prism[4, 2] < zmin and prism[5, 2] < zmin:
                    continue
                st.obj1.prism = prism
                st.max_contacts = 1
                st, d = ccd(st, md)
                if d < 0.0:
                    x1 = st.x1[0]
                    x2 = st.x2[0]
                    out.a[ncon] = x1
                    out.b[ncon] = wp.transpose(lmat) @ (x2 - lpos)
                    out.normal[ncon] = normalize3(x1 - x2)
                    out.dist[ncon] = st.dist[0]
                    ncon += 1
    out.n = ncon
    return out


@wp.func_grad(hfield_search)
def adj_hfield_search(
    t2: int,
    g2: int,
    lpos: wp.vec3,
    lmat: wp.mat33,
    size2: wp.vec3,
    margin: float,
    rbound2: float,
    maxcon: int,
    hsize: wp.vec4,
    nrow: int,
    ncol: int,
    hadr: int,
    hfield_data: wp.array(dtype=wp.float32),
    md: MeshData,
    adj_ret: FoundH,
):
    """The search has no derivative (the contacts are re-derived differentiably from its result)."""
    pass


@wp.kernel
def collide_hfield_convex(
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
    geom_dataid: wp.array(dtype=wp.int32),
    geom_rbound: wp.array(dtype=wp.float32),
    mesh_vertadr: wp.array(dtype=wp.int32),
    mesh_vertnum: wp.array(dtype=wp.int32),
    mesh_vert: wp.array(dtype=wp.vec3),
    mesh_graphadr: wp.array(dtype=wp.int32),
    mesh_graph: wp.array(dtype=wp.int32),
    mesh_extrema: wp.array(dtype=wp.int32),
    mesh_polynum: wp.array(dtype=wp.int32),
    mesh_polyadr: wp.array(dtype=wp.int32),
    mesh_polynormal: wp.array(dtype=wp.vec3),
    mesh_polyvertadr: wp.array(dtype=wp.int32),
    mesh_polyvertnum: wp.array(dtype=wp.int32),
    mesh_polyvert: wp.array(dtype=wp.int32),
    mesh_polymapadr: wp.array(dtype=wp.int32),
    mesh_polymapnum: wp.array(dtype=wp.int32),
    mesh_polymap: wp.array(dtype=wp.int32),
    hfield_size: wp.array(dtype=wp.vec4),
    hfield_nrow: wp.array(dtype=wp.int32),
    hfield_ncol: wp.array(dtype=wp.int32),
    hfield_adr: wp.array(dtype=wp.int32),
    hfield_data: wp.array(dtype=wp.float32),
):
    """mjc_ConvexHField: height field (geom1) vs sphere, capsule, ellipsoid, cylinder, box or mesh (geom2)."""
    w, i = wp.tid()
    p = family_pairs[i]
    g1 = pair_geom1[p]
    g2 = pair_geom2[p]
    adr = pair_conadr[p]
    maxcon = pair_maxcon[p]
    margin = pair_margin[p]
    pos1, pos2 = pair_poses(w, g1, g2, geom_rootid, geom_xpos, root_origin)
    mat1 = geom_xmat[w, g1]
    mat2 = geom_xmat[w, g2]
    h = geom_dataid[g1]
    md = mesh_data(
        geom_dataid, mesh_vertadr, mesh_vertnum, mesh_vert, mesh_graphadr, mesh_graph, mesh_extrema, mesh_polynum,
        mesh_polyadr, mesh_polynormal, mesh_polyvertadr, mesh_polyvertnum, mesh_polyvert, mesh_polymapadr,
        mesh_polymapnum, mesh_polymap,
    )  # fmt: skip
    mat1t = wp.transpose(mat1)
    found = hfield_search(
        geom_type[g2], g2, mat1t @ (pos2 - pos1), mat1t @ mat2, geom_size[g2], margin, geom_rbound[g2],
        wp.min(maxcon, MAXCONPAIR), hfield_size[h], hfield_nrow[h], hfield_ncol[h], hfield_adr[h], hfield_data, md,
    )  # fmt: skip
    for k in range(maxcon):
        if k < found.n:
            x1 = pos1 + mat1 @ found.a[k]
            x2 = pos2 + mat2 @ found.b[k]
            n = mat1 @ found.normal[k]
            write_contact(
                w, adr + k, wp.dot(n, x2 - x1), 0.5 * (x1 + x2), n, wp.vec3(0.0), contact_dist, contact_pos,
                contact_frame,
            )  # fmt: skip
        else:
            contact_dist[w, adr + k] = NO_CONTACT


# ---------------------------------------------------------------------------------------------------------------
# registry


def _convex_pairs() -> dict[tuple[int, int], wp.Kernel]:
    out = {}
    plane, hfield = int(GEOM_PLANE), int(GEOM_HFIELD)
    sphere, capsule, ellipsoid = int(GEOM_SPHERE), int(GEOM_CAPSULE), int(GEOM_ELLIPSOID)
    cylinder, box, mesh = int(GEOM_CYLINDER), int(GEOM_BOX), int(GEOM_MESH)
    out[(plane, ellipsoid)] = collide_plane_convex
    out[(plane, mesh)] = collide_plane_convex
    for t in (sphere, capsule, ellipsoid, cylinder, box, mesh):
        out[(hfield, t)] = collide_hfield_convex
    solids = (sphere, capsule, ellipsoid, cylinder, box, mesh)
    for t1 in solids:
        for t2 in solids:
            if t1 <= t2 and (ellipsoid in (t1, t2) or mesh in (t1, t2)):
                out[(t1, t2)] = collide_convex
    for pair in ((capsule, cylinder), (cylinder, cylinder), (cylinder, box)):
        out[pair] = collide_convex
    return dict(sorted(out.items()))


#: (type of geom1, type of geom2) -> collider kernel, for every pair MuJoCo sends to mjc_PlaneConvex,
#: mjc_ConvexHField or mjc_Convex.
CONVEX_COLLIDERS = _convex_pairs()


def _pair_margin_gap(mjm: mujoco.MjModel, g1: int, g2: int) -> tuple[float, float]:
    """MuJoCo's margin and gap of a geom pair (explicit <pair> first, then the geoms; margin override)."""
    margin = gap = None
    for k in range(mjm.npair):
        if {int(mjm.pair_geom1[k]), int(mjm.pair_geom2[k])} == {g1, g2}:
            margin, gap = float(mjm.pair_margin[k]), float(mjm.pair_gap[k])
            break
    if margin is None:
        margin = float(mjm.geom_margin[g1] + mjm.geom_margin[g2])
        gap = float(mjm.geom_gap[g1] + mjm.geom_gap[g2])
    if mjm.opt.enableflags & mujoco.mjtEnableBit.mjENBL_OVERRIDE:
        margin = float(mjm.opt.o_margin)
    return margin, gap


def convex_maxcon(mjm: mujoco.MjModel, g1: int, g2: int) -> int:
    """Maximum number of contacts of a convex-family geom pair, as MuJoCo's mj_maxContact (multiccd and margin
    included). The kernels produce multiple contacts only when this is above 1."""
    t1, t2 = sorted((int(mjm.geom_type[g1]), int(mjm.geom_type[g2])))
    types = (t1, t2)
    if int(GEOM_HFIELD) in types:
        other = t2 if t1 == int(GEOM_HFIELD) else t1
        return MAXCONPAIR if other not in (int(GEOM_PLANE), int(GEOM_HFIELD)) else 0
    if int(GEOM_SPHERE) in types or int(GEOM_ELLIPSOID) in types:
        return 1
    if t1 == int(GEOM_PLANE):
        return {int(GEOM_CAPSULE): 2, int(GEOM_CYLINDER): 4, int(GEOM_BOX): 4, int(GEOM_MESH): 3}.get(t2, 0)
    if mjm.opt.disableflags & mujoco.mjtDisableBit.mjDSBL_MULTICCD:
        return 1
    if int(GEOM_CAPSULE) in types or int(GEOM_CYLINDER) in types:
        return 5
    if mjm.opt.disableflags & mujoco.mjtDisableBit.mjDSBL_NATIVECCD:
        return 5
    margin, gap = _pair_margin_gap(mjm, g1, g2)
    return 5 if margin + gap > 0 else 4


def convex_model_arrays(mjm: mujoco.MjModel, device: str) -> dict[str, wp.array]:
    """The family-specific arrays of :data:`CONVEX_ARGS` from a compiled MjModel (1-element placeholders for empty
    ones)."""

    def ints(x):
        x = np.asarray(x, dtype=np.int32).reshape(-1)
        return wp.array(x if x.size else np.zeros(1, np.int32), dtype=wp.int32, device=device)

    def floats(x):
        x = np.asarray(x, dtype=np.float32).reshape(-1)
        return wp.array(x if x.size else np.zeros(1, np.float32), dtype=wp.float32, device=device)

    def vecs(x, n, dtype):
        x = np.asarray(x, dtype=np.float32).reshape(-1, n)
        return wp.array(x if len(x) else np.zeros((1, n), np.float32), dtype=dtype, device=device)

    return {
        "geom_dataid": ints(mjm.geom_dataid),
        "geom_rbound": floats(mjm.geom_rbound),
        "mesh_vertadr": ints(mjm.mesh_vertadr),
        "mesh_vertnum": ints(mjm.mesh_vertnum),
        "mesh_vert": vecs(mjm.mesh_vert, 3, wp.vec3),
        "mesh_graphadr": ints(mjm.mesh_graphadr),
        "mesh_graph": ints(mjm.mesh_graph),
        "mesh_extrema": ints(mjm.mesh_extrema),
        "mesh_polynum": ints(mjm.mesh_polynum),
        "mesh_polyadr": ints(mjm.mesh_polyadr),
        "mesh_polynormal": vecs(mjm.mesh_polynormal, 3, wp.vec3),
        "mesh_polyvertadr": ints(mjm.mesh_polyvertadr),
        "mesh_polyvertnum": ints(mjm.mesh_polyvertnum),
        "mesh_polyvert": ints(mjm.mesh_polyvert),
        "mesh_polymapadr": ints(mjm.mesh_polymapadr),
        "mesh_polymapnum": ints(mjm.mesh_polymapnum),
        "mesh_polymap": ints(mjm.mesh_polymap),
        "hfield_size": vecs(mjm.hfield_size, 4, wp.vec4),
        "hfield_nrow": ints(mjm.hfield_nrow),
        "hfield_ncol": ints(mjm.hfield_ncol),
        "hfield_adr": ints(mjm.hfield_adr),
        "hfield_data": floats(mjm.hfield_data),
    }
