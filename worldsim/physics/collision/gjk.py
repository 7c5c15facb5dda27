"""MuJoCo's native convex collision detection (engine_collision_gjk.c) in Warp: support functions of the convex
shapes, GJK, EPA and the polygon-clipping "multi-contact" of flat-sided shapes.

Everything here is a search: it picks simplices, faces and polygons and has no useful derivative. The colliders
of :mod:`.convex` run it inside functions with a no-op adjoint and then recompute distances and positions
differentiably from what it found.

Conventions (as MuJoCo's ``mjCCDObj``/``mjCCDStatus``):

* a :class:`CCDObj` is one convex shape in a common frame (``pos``, ``mat``: columns are the local axes), inflated
  by half its ``margin`` in every direction; a height-field *prism* (6 vertices) is stored in ``prism``;
* a :class:`CCDStatus` carries both objects (with their mesh warm-start indices), the GJK simplex and the witness
  points ``x1`` (on object 1) and ``x2`` (on object 2) with their signed distances ``dist``.

Single precision: the tolerances are MuJoCo's ``mjUSESINGLE`` values; iteration caps are MuJoCo's defaults
(``opt.ccd_iterations`` = 35, ``opt.ccd_tolerance`` = 1e-6).
"""

from __future__ import annotations

import warp as wp

from .common import GEOM_BOX, GEOM_CAPSULE, GEOM_CYLINDER, GEOM_ELLIPSOID, GEOM_HFIELD, GEOM_MESH, GEOM_SPHERE

# ---------------------------------------------------------------------------------------------------------------
# constants

#: MuJoCo's default ``opt.ccd_iterations`` (GJK and EPA iteration cap) and ``opt.ccd_tolerance``.
CCD_ITERATIONS = wp.constant(35)
CCD_TOLERANCE = wp.constant(1.0e-6)

MINVAL = wp.constant(1.0e-15)  # mjMINVAL
MINVAL2 = wp.constant(1.0e-30)  # mjMINVAL^2
MAXVAL2 = wp.constant(1.0e20)  # mjMAXVAL^2
MAX_LIMIT = wp.constant(3.4028234e38)  # mjMAX_LIMIT (FLT_MAX in single precision)
MINDIST2 = wp.constant(1.0e-10)  # origin-on-face thresholds of the initial polytopes (mjUSESINGLE values)
MINDIST3 = wp.constant(1.0e-10)
MINDIST4 = wp.constant(1.0e-17)
MINEPATOL = wp.constant(1.0e-7)  # EPA tolerance for discrete shapes
FACE_TOL = wp.constant(0.99605131)  # two faces are aligned (cos 0.0889)
EDGE_TOL = wp.constant(0.08878296)  # an edge lies in a face (sin 0.0889)
INTERSECT_TOL = wp.constant(3.0e-7)
HFIELD_SIDE_RULE = wp.constant(False)  # clipping: tolerance on the edge parameter
MESH_HILLCLIMB_MIN = wp.constant(10)  # meshes with fewer vertices use exhaustive support search

#: Polytope capacity: MuJoCo's 5 + iterations vertices and 6 * iterations faces.
EPA_MAXVERT = 5 + 35
EPA_MAXFACE = 6 * 35
#: Horizon edges per EPA step and depth of the horizon search (MuJoCo: 24 edges, recursion).
HORIZON_MAX = 48
HORIZON_STACK = 64
#: Largest mesh polygon (vertices) and vertex degree (polygons at a vertex) multi-contact handles; larger ones
#: fall back to the single EPA contact.
POLY_MAX = 32
DEG_MAX = 16
CLIP_MAX = 2 * POLY_MAX

mat43 = wp.types.matrix(shape=(4, 3), dtype=wp.float32)
mat63 = wp.types.matrix(shape=(6, 3), dtype=wp.float32)
vec4i = wp.types.vector(length=4, dtype=wp.int32)
vec3i = wp.types.vector(length=3, dtype=wp.int32)
vec6i = wp.types.vector(length=6, dtype=wp.int32)
vec24i = wp.types.vector(length=24, dtype=wp.int32)
mat43i = wp.types.matrix(shape=(4, 3), dtype=wp.int32)
mat63i = wp.types.matrix(shape=(6, 3), dtype=wp.int32)
matV3 = wp.types.matrix(shape=(EPA_MAXVERT, 3), dtype=wp.float32)
vecVi = wp.types.vector(length=EPA_MAXVERT, dtype=wp.int32)
matF3 = wp.types.matrix(shape=(EPA_MAXFACE, 3), dtype=wp.float32)
matF3i = wp.types.matrix(shape=(EPA_MAXFACE, 3), dtype=wp.int32)
vecF = wp.types.vector(length=EPA_MAXFACE, dtype=wp.float32)
vecFi = wp.types.vector(length=EPA_MAXFACE, dtype=wp.int32)
vecHi = wp.types.vector(length=HORIZON_MAX, dtype=wp.int32)
vecSi = wp.types.vector(length=HORIZON_STACK, dtype=wp.int32)
matP3 = wp.types.matrix(shape=(POLY_MAX, 3), dtype=wp.float32)
vecP = wp.types.vector(length=POLY_MAX, dtype=wp.float32)
matC3 = wp.types.matrix(shape=(CLIP_MAX, 3), dtype=wp.float32)
matD3 = wp.types.matrix(shape=(DEG_MAX, 3), dtype=wp.float32)
vecDi = wp.types.vector(length=DEG_MAX, dtype=wp.int32)


# ---------------------------------------------------------------------------------------------------------------
# data


@wp.struct
class MeshData:
    """The mesh fields of mjModel the convex colliders read (see ``convex.convex_model_arrays``)."""

    geom_dataid: wp.array(dtype=wp.int32)
    mesh_vertadr: wp.array(dtype=wp.int32)
    mesh_vertnum: wp.array(dtype=wp.int32)
    mesh_vert: wp.array(dtype=wp.vec3)
    mesh_graphadr: wp.array(dtype=wp.int32)
    mesh_graph: wp.array(dtype=wp.int32)
    mesh_extrema: wp.array(dtype=wp.int32)
    mesh_polynum: wp.array(dtype=wp.int32)
    mesh_polyadr: wp.array(dtype=wp.int32)
    mesh_polynormal: wp.array(dtype=wp.vec3)
    mesh_polyvertadr: wp.array(dtype=wp.int32)
    mesh_polyvertnum: wp.array(dtype=wp.int32)
    mesh_polyvert: wp.array(dtype=wp.int32)
    mesh_polymapadr: wp.array(dtype=wp.int32)
    mesh_polymapnum: wp.array(dtype=wp.int32)
    mesh_polymap: wp.array(dtype=wp.int32)


@wp.struct
class CCDObj:
    """One convex shape for GJK/EPA (MuJoCo's mjCCDObj)."""

    gtype: int  # geom type (GEOM_HFIELD: a height-field prism)
    core: int  # 1: a sphere searched as its center point, a capsule as its segment
    pos: wp.vec3
    mat: wp.mat33
    size: wp.vec3
    margin: float  # the support is inflated by margin / 2
    mesh: int  # mesh id (geom_dataid)
    vertadr: int
    vertnum: int
    graphadr: int  # mesh graph address, -1 if the mesh has none
    hillclimb: int  # 1: hill-climbing support search (>= MESH_HILLCLIMB_MIN vertices and a graph)
    polyadr: int
    polynum: int
    prism: mat63  # height-field prism: rows 0-2 bottom triangle, 3-5 top triangle
    vertindex: int  # last support vertex (mesh vertex id or box corner bits), -1 if none
    meshindex: int  # hill-climbing warm start (graph-local vertex id), -1 if none


@wp.struct
class CCDStatus:
    """State and result of one GJK/EPA run (MuJoCo's mjCCDConfig + mjCCDStatus)."""

    obj1: CCDObj
    obj2: CCDObj
    tolerance: float
    max_contacts: int
    dist_cutoff: float
    separated: int
    gjk_iterations: int
    epa_iterations: int  # statistics, as MuJoCo's
    epa_status: int  # 0: EPA ran; 1: no initial polytope; 2: horizon failure; 3: stopped at upper < lower
    nsimplex: int
    simplex: mat43  # Minkowski-difference vertices
    simplex1: mat43  # their points on object 1
    simplex2: mat43  # their points on object 2
    sindex1: vec4i
    sindex2: vec4i
    nx: int  # number of witness pairs
    dist: wp.vec4
    x1: mat43
    x2: mat43
    # EPA's final face: its vertices' points on both objects and their support indices (for multi-contact)
    face1: wp.mat33
    face2: wp.mat33
    findex1: vec3i
    findex2: vec3i


@wp.func
def init_obj(gtype: int, pos: wp.vec3, mat: wp.mat33, size: wp.vec3, margin: float, g: int, md: MeshData):
    """A CCDObj for geom ``g`` of type ``gtype`` at (pos, mat) (MuJoCo's mjc_initCCDObj)."""
    obj = CCDObj()
    obj.gtype = gtype
    obj.core = 0
    obj.pos = pos
    obj.mat = mat
    obj.size = size
    obj.margin = margin
    obj.mesh = -1
    obj.graphadr = -1
    obj.hillclimb = 0
    obj.vertindex = -1
    obj.meshindex = -1
    if gtype == GEOM_MESH:
        m = md.geom_dataid[g]
        obj.mesh = m
        obj.vertadr = md.mesh_vertadr[m]
        obj.vertnum = md.mesh_vertnum[m]
        obj.graphadr = md.mesh_graphadr[m]
        if obj.graphadr >= 0 and obj.vertnum >= MESH_HILLCLIMB_MIN:
            obj.hillclimb = 1
        obj.polyadr = md.mesh_polyadr[m]
        obj.polynum = md.mesh_polynum[m]
    return obj


@wp.func
def new_status(obj1: CCDObj, obj2: CCDObj, max_contacts: int):
    """A CCDStatus for (obj1, obj2) with MuJoCo's default tolerance and no distance cutoff."""
    st = CCDStatus()
    st.obj1 = obj1
    st.obj2 = obj2
    st.tolerance = CCD_TOLERANCE
    st.max_contacts = max_contacts
    st.dist_cutoff = 0.0
    return st


# ---------------------------------------------------------------------------------------------------------------
# support functions


@wp.func
def obj_center(obj: CCDObj):
    """Center of a shape (a prism: the mean of its vertices)."""
    if obj.gtype == GEOM_HFIELD:
        c = wp.vec3(0.0)
        for i in range(6):
            c = c + obj.prism[i]
        return c / 6.0
    return obj.pos


@wp.func
def prism_support(prism: mat63, d: wp.vec3):
    """Prism vertex farthest along d."""
    best = int(0)
    bestdot = wp.dot(prism[0], d)
    for i in range(1, 6):
        dd = wp.dot(prism[i], d)
        if dd > bestdot:
            best = i
            bestdot = dd
    return prism[best]


@wp.func
def mesh_support_exhaustive(md: MeshData, vertadr: int, vertnum: int, ld: wp.vec3, cached: int):
    """Index of the mesh vertex farthest along local direction ld, checking all vertices (ties keep ``cached``)."""
    imax = int(0)
    best = float(-MAX_LIMIT)
    if cached >= 0:
        imax = cached
        best = wp.dot(ld, md.mesh_vert[vertadr + cached])
    for i in range(vertnum):
        dd = wp.dot(ld, md.mesh_vert[vertadr + i])
        if dd > best:
            best = dd
            imax = i
    return imax


@wp.func
def mesh_support_hillclimb(md: MeshData, obj: CCDObj, ld: wp.vec3):
    """(vertex id, graph-local id) of the mesh vertex farthest along ld by hill climbing on the hull graph, seeded
    from the mesh's 27 precomputed extreme vertices or the previous result (MuJoCo's mjc_hillclimbSupport)."""
    ga = obj.graphadr
    numvert = md.mesh_graph[ga]
    edgeadr = ga + 2
    globalid = ga + 2 + numvert
    edgelocal = ga + 2 + 2 * numvert
    va = obj.vertadr
    cx = int(1)
    cy = int(1)
    cz = int(1)
    if ld[0] > 0.4:
        cx = 2
    elif ld[0] < -0.4:
        cx = 0
    if ld[1] > 0.4:
        cy = 2
    elif ld[1] < -0.4:
        cy = 0
    if ld[2] > 0.4:
        cz = 2
    elif ld[2] < -0.4:
        cz = 0
    seed = md.mesh_extrema[27 * obj.mesh + cx * 9 + cy * 3 + cz]
    imax = seed
    if obj.meshindex >= 0:
        cached_dot = wp.dot(ld, md.mesh_vert[va + md.mesh_graph[globalid + obj.meshindex]])
        seed_dot = wp.dot(ld, md.mesh_vert[va + md.mesh_graph[globalid + seed]])
        if not (seed_dot > cached_dot):
            imax = obj.meshindex
    best = wp.dot(ld, md.mesh_vert[va + md.mesh_graph[globalid + imax]])
    prev = int(-1)
    while imax != prev:
        prev = imax
        i = md.mesh_graph[edgeadr + prev]
        sub = md.mesh_graph[edgelocal + i]
        while sub >= 0:
            dd = wp.dot(ld, md.mesh_vert[va + md.mesh_graph[globalid + sub]])
            if dd > best:
                best = dd
                imax = sub
            i += 1
            sub = md.mesh_graph[edgelocal + i]
    return md.mesh_graph[globalid + imax], imax


@wp.func
def shape_support(obj: CCDObj, md: MeshData, d: wp.vec3):
    """Point of ``obj`` farthest along the unit direction d, inflated by margin/2 (MuJoCo's obj->support plus the
    margin of gjk.c's support()). Returns (point, vertindex, meshindex): the updated warm-start indices."""
    vi = obj.vertindex
    mi = obj.meshindex
    if obj.gtype == GEOM_HFIELD:
        return prism_support(obj.prism, d), wp.where(d[2] < 0.0, -2, -3), mi
    ld = wp.transpose(obj.mat) @ d
    s = obj.size
    loc = wp.vec3(0.0)
    if obj.gtype == GEOM_SPHERE:
        if obj.core == 0:
            loc = ld * s[0]
    elif obj.gtype == GEOM_CAPSULE:
        h = s[1]
        if ld[2] < 0.0:
            h = -s[1]
        if obj.core == 0:
            loc = ld * s[0]
        loc = loc + wp.vec3(0.0, 0.0, h)
    elif obj.gtype == GEOM_ELLIPSOID:
        e = wp.cw_mul(ld, s)
        n2 = wp.dot(e, e)
        if n2 < MINVAL2:
            loc = wp.vec3(s[0], 0.0, 0.0)
        else:
            loc = wp.cw_mul(e, s) / wp.sqrt(n2)
    elif obj.gtype == GEOM_CYLINDER:
        n2 = ld[0] * ld[0] + ld[1] * ld[1]
        scl = float(0.0)
        if n2 >= MINVAL2:
            scl = s[0] / wp.sqrt(n2)
        h = s[1]
        vi = 0
        if ld[2] < 0.0:
            h = -s[1]
            vi = 1
        loc = wp.vec3(scl * ld[0], scl * ld[1], h)
    elif obj.gtype == GEOM_BOX:
        loc = wp.vec3(-s[0], -s[1], -s[2])
        vi = 0
        if ld[0] >= 0.0:
            loc[0] = s[0]
            vi = vi | 1
        if ld[1] >= 0.0:
            loc[1] = s[1]
            vi = vi | 2
        if ld[2] >= 0.0:
            loc[2] = s[2]
            vi = vi | 4
    elif obj.gtype == GEOM_MESH:
        if obj.hillclimb != 0:
            vi, mi = mesh_support_hillclimb(md, obj, ld)
        else:
            vi = mesh_support_exhaustive(md, obj.vertadr, obj.vertnum, ld, obj.vertindex)
        loc = md.mesh_vert[obj.vertadr + vi]
    p = obj.pos + obj.mat @ loc
    if obj.margin > 0.0:
        p = p + d * (0.5 * obj.margin)
    return p, vi, mi


@wp.func
def minkowski_support(st: CCDStatus, md: MeshData, d: wp.vec3):
    """Support of the Minkowski difference obj1 - obj2 along d: returns (st with updated warm starts, point on
    obj1 along d, point on obj2 along -d)."""
    p1, vi1, mi1 = shape_support(st.obj1, md, d)
    p2, vi2, mi2 = shape_support(st.obj2, md, -d)
    st.obj1.vertindex = vi1
    st.obj1.meshindex = mi1
    st.obj2.vertindex = vi2
    st.obj2.meshindex = mi2
    return st, p1, p2


@wp.func
def discrete_geoms(st: CCDStatus):
    """True if both shapes are polytopes (meshes, boxes, prisms) without margin: GJK then converges exactly."""
    if st.obj1.margin != 0.0 or st.obj2.margin != 0.0:
        return False
    t1 = st.obj1.gtype
    t2 = st.obj2.gtype
    d1 = t1 == GEOM_MESH or t1 == GEOM_BOX or t1 == GEOM_HFIELD
    d2 = t2 == GEOM_MESH or t2 == GEOM_BOX or t2 == GEOM_HFIELD
    return d1 and d2


# ---------------------------------------------------------------------------------------------------------------
# GJK: distance sub-algorithm (Montanari et al. 2017, as MuJoCo)


@wp.func
def same_sign(a: float, b: float):
    """1 if a and b are both positive, -1 if both negative, else 0."""
    if a > 0.0 and b > 0.0:
        return 1
    if a < 0.0 and b < 0.0:
        return -1
    return 0


@wp.func
def project_origin_line(v1: wp.vec3, v2: wp.vec3):
    """Projection of the origin on the line through v1 and v2."""
    diff = v2 - v1
    scl = -(wp.dot(v2, diff) / wp.dot(diff, diff))
    return v2 + scl * diff


@wp.func
def project_origin_plane(v1: wp.vec3, v2: wp.vec3, v3: wp.vec3):
    """(1, 0) if the triangle is degenerate, else (0, projection of the origin on its plane)."""
    d21 = v2 - v1
    d31 = v3 - v1
    d32 = v3 - v2
    n = wp.cross(d32, d21)
    nv = wp.dot(n, v2)
    nn = wp.dot(n, n)
    if nn == 0.0:
        return 1, wp.vec3(0.0)
    if nv != 0.0 and nn > MINVAL:
        return 0, n * (nv / nn)
    n = wp.cross(d21, d31)
    nv = wp.dot(n, v1)
    nn = wp.dot(n, n)
    if nn == 0.0:
        return 1, wp.vec3(0.0)
    if nv != 0.0 and nn > MINVAL:
        return 0, n * (nv / nn)
    n = wp.cross(d31, d32)
    nv = wp.dot(n, v3)
    nn = wp.dot(n, n)
    return 0, n * (nv / nn)


@wp.func
def s1d(s1: wp.vec3, s2: wp.vec3):
    """Barycentric coordinates of the point of segment (s1, s2) closest to the origin."""
    p = project_origin_line(s1, s2)
    mu_max = s1[0] - s2[0]
    index = int(0)
    mu = s1[1] - s2[1]
    if wp.abs(mu) >= wp.abs(mu_max):
        mu_max = mu
        index = 1
    mu = s1[2] - s2[2]
    if wp.abs(mu) >= wp.abs(mu_max):
        mu_max = mu
        index = 2
    c1 = p[index] - s2[index]
    c2 = s1[index] - p[index]
    if same_sign(mu_max, c1) != 0 and same_sign(mu_max, c2) != 0:
        return wp.vec2(c1 / mu_max, c2 / mu_max)
    return wp.vec2(0.0, 1.0)


@wp.func
def s2d(s1: wp.vec3, s2: wp.vec3, s3: wp.vec3):
    """Barycentric coordinates of the point of triangle (s1, s2, s3) closest to the origin."""
    ret, p = project_origin_plane(s1, s2, s3)
    if ret != 0:
        l1 = s1d(s1, s2)
        return wp.vec3(l1[0], l1[1], 0.0)
    m14 = s2[1] * s3[2] - s2[2] * s3[1] - s1[1] * s3[2] + s1[2] * s3[1] + s1[1] * s2[2] - s1[2] * s2[1]
    m24 = s2[0] * s3[2] - s2[2] * s3[0] - s1[0] * s3[2] + s1[2] * s3[0] + s1[0] * s2[2] - s1[2] * s2[0]
    m34 = s2[0] * s3[1] - s2[1] * s3[0] - s1[0] * s3[1] + s1[1] * s3[0] + s1[0] * s2[1] - s1[1] * s2[0]
    # drop the axis along which the triangle's projection is largest
    mu1 = wp.abs(m14)
    mu2 = wp.abs(m24)
    mu3 = wp.abs(m34)
    x = int(0)
    y = int(1)
    m_max = m34
    if mu1 >= mu2 and mu1 >= mu3:
        m_max = m14
        x = 1
        y = 2
    elif mu2 >= mu3:
        m_max = m24
        x = 0
        y = 2
    c31 = p[x] * s2[y] + p[y] * s3[x] + s2[x] * s3[y] - p[x] * s3[y] - p[y] * s2[x] - s3[x] * s2[y]
    c32 = p[x] * s3[y] + p[y] * s1[x] + s3[x] * s1[y] - p[x] * s1[y] - p[y] * s3[x] - s1[x] * s3[y]
    c33 = p[x] * s1[y] + p[y] * s2[x] + s1[x] * s2[y] - p[x] * s2[y] - p[y] * s1[x] - s2[x] * s1[y]
    comp1 = same_sign(m_max, c31)
    comp2 = same_sign(m_max, c32)
    comp3 = same_sign(m_max, c33)
    if comp1 != 0 and comp2 != 0 and comp3 != 0:
        # normalized by the sum (= m_max in exact arithmetic): stays a convex combination in float32 when the
        # triangle is nearly degenerate
        return wp.vec3(c31, c32, c33) / (c31 + c32 + c33)
    # closest point on an edge
    lam = wp.vec3(0.0)
    dmin = float(MAX_LIMIT)
    if comp1 == 0:
        l1 = s1d(s2, s3)
        q = l1[0] * s2 + l1[1] * s3
        lam = wp.vec3(0.0, l1[0], l1[1])
        dmin = wp.dot(q, q)
    if comp2 == 0:
        l1 = s1d(s1, s3)
        q = l1[0] * s1 + l1[1] * s3
        dd = wp.dot(q, q)
        if dd < dmin:
            lam = wp.vec3(l1[0], 0.0, l1[1])
            dmin = dd
    if comp3 == 0:
        l1 = s1d(s1, s2)
        q = l1[0] * s1 + l1[1] * s2
        dd = wp.dot(q, q)
        if dd < dmin:
            lam = wp.vec3(l1[0], l1[1], 0.0)
    return lam


@wp.func
def det3(v1: wp.vec3, v2: wp.vec3, v3: wp.vec3):
    """Determinant of the matrix with columns v1, v2, v3."""
    return wp.dot(v1, wp.cross(v2, v3))


@wp.func
def s3d(s1: wp.vec3, s2: wp.vec3, s3: wp.vec3, s4: wp.vec3):
    """Barycentric coordinates of the point of tetrahedron (s1..s4) closest to the origin."""
    c41 = -det3(s2, s3, s4)
    c42 = det3(s1, s3, s4)
    c43 = -det3(s1, s2, s4)
    c44 = det3(s1, s2, s3)
    m_det = c41 + c42 + c43 + c44
    comp1 = same_sign(m_det, c41)
    comp2 = same_sign(m_det, c42)
    comp3 = same_sign(m_det, c43)
    comp4 = same_sign(m_det, c44)
    if comp1 != 0 and comp2 != 0 and comp3 != 0 and comp4 != 0:
        return wp.vec4(c41 / m_det, c42 / m_det, c43 / m_det, c44 / m_det)
    # closest point on a face
    lam = wp.vec4(0.0)
    dmin = float(MAX_LIMIT)
    if comp1 == 0:
        l2 = s2d(s2, s3, s4)
        q = l2[0] * s2 + l2[1] * s3 + l2[2] * s4
        lam = wp.vec4(0.0, l2[0], l2[1], l2[2])
        dmin = wp.dot(q, q)
    if comp2 == 0:
        l2 = s2d(s1, s3, s4)
        q = l2[0] * s1 + l2[1] * s3 + l2[2] * s4
        dd = wp.dot(q, q)
        if dd < dmin:
            lam = wp.vec4(l2[0], 0.0, l2[1], l2[2])
            dmin = dd
    if comp3 == 0:
        l2 = s2d(s1, s2, s4)
        q = l2[0] * s1 + l2[1] * s2 + l2[2] * s4
        dd = wp.dot(q, q)
        if dd < dmin:
            lam = wp.vec4(l2[0], l2[1], 0.0, l2[2])
            dmin = dd
    if comp4 == 0:
        l2 = s2d(s1, s2, s3)
        q = l2[0] * s1 + l2[1] * s2 + l2[2] * s3
        dd = wp.dot(q, q)
        if dd < dmin:
            lam = wp.vec4(l2[0], l2[1], l2[2], 0.0)
    return lam


@wp.func
def subdistance(n: int, s: mat43):
    """Barycentric coordinates (zero-padded to 4) of the point of the n-simplex s closest to the origin."""
    if n == 4:
        return s3d(s[0], s[1], s[2], s[3])
    if n == 3:
        l2 = s2d(s[0], s[1], s[2])
        return wp.vec4(l2[0], l2[1], l2[2], 0.0)
    if n == 2:
        l1 = s1d(s[0], s[1])
        return wp.vec4(l1[0], l1[1], 0.0, 0.0)
    return wp.vec4(1.0, 0.0, 0.0, 0.0)


@wp.func
def lincomb(lam: wp.vec4, n: int, s: mat43):
    """sum_i lam[i] * s[i] over the first n rows."""
    r = wp.vec3(0.0)
    for i in range(n):
        r = r + lam[i] * s[i]
    return r


@wp.func
def signed_distance(v1: wp.vec3, v2: wp.vec3, v3: wp.vec3):
    """(signed distance of the origin's plane side, unit normal) of triangle (v1, v2, v3); MAX_LIMIT if the
    normal cannot be recovered."""
    n = wp.cross(v3 - v1, v2 - v1)
    n2 = wp.dot(n, n)
    if n2 > MINVAL2 and n2 < MAXVAL2:
        n = n / wp.sqrt(n2)
        return wp.dot(n, v1), n
    return float(MAX_LIMIT), n


@wp.func
def gjk_intersect(st: CCDStatus, md: MeshData, sv: mat43, sv1: mat43, sv2: mat43, si1: vec4i, si2: vec4i):
    """Decide intersection from a tetrahedron by walking it towards the origin (MuJoCo's gjkIntersect). Returns
    (st, 1: intersecting, st.simplex holds a tetrahedron containing the origin; 0: separated; -1: undecided)."""
    s = vec4i(0, 1, 2, 3)
    k = st.gjk_iterations
    while k < CCD_ITERATIONS:
        d0, n0 = signed_distance(sv[s[2]], sv[s[1]], sv[s[3]])
        d1, n1 = signed_distance(sv[s[0]], sv[s[2]], sv[s[3]])
        d2, n2 = signed_distance(sv[s[1]], sv[s[0]], sv[s[3]])
        d3, n3 = signed_distance(sv[s[0]], sv[s[1]], sv[s[2]])
        if d0 == 0.0 or d1 == 0.0 or d2 == 0.0 or d3 == 0.0:
            st.gjk_iterations = k
            return st, -1
        dist = wp.vec4(d0, d1, d2, d3)
        i = int(1)
        if d0 < d1:
            i = 0
        j = int(3)
        if d2 < d3:
            j = 2
        index = j
        if dist[i] < dist[j]:
            index = i
        if dist[index] > 0.0:
            st.nsimplex = 4
            for r in range(4):
                st.simplex[r] = sv[s[r]]
                st.simplex1[r] = sv1[s[r]]
                st.simplex2[r] = sv2[s[r]]
                st.sindex1[r] = si1[s[r]]
                st.sindex2[r] = si2[s[r]]
            st.gjk_iterations = k
            return st, 1
        nrm = n3
        if index == 0:
            nrm = n0
        elif index == 1:
            nrm = n1
        elif index == 2:
            nrm = n2
        # replace the vertex opposite to that face by the support point along its normal
        st, p1, p2 = minkowski_support(st, md, nrm)
        r = s[index]
        sv[r] = p1 - p2
        sv1[r] = p1
        sv2[r] = p2
        si1[r] = st.obj1.vertindex
        si2[r] = st.obj2.vertindex
        if wp.dot(nrm, p1 - p2) < 0.0:
            st.nsimplex = 0
            st.gjk_iterations = k
            return st, 0
        # swap two vertices to keep the orientation
        a = (index + 1) & 3
        b = (index + 2) & 3
        tmp = s[a]
        s[a] = s[b]
        s[b] = tmp
        k += 1
    st.gjk_iterations = k
    return st, -1


@wp.func
def gjk(st: CCDStatus, md: MeshData):
    """GJK from the initial witness points st.x1[0], st.x2[0] (MuJoCo's gjk). With ``dist_cutoff`` > 0 it
    returns the distance and witness points of separated shapes; with 0 it only decides intersection (falling
    back to gjk_intersect once it holds a tetrahedron) and leaves a simplex for EPA."""
    get_dist = st.dist_cutoff > 0.0
    backup = not get_dist
    sv = mat43()
    sv1 = mat43()
    sv2 = mat43()
    si1 = vec4i()
    si2 = vec4i()
    lam = wp.vec4(0.0)
    n = int(0)
    k = int(0)
    x1_k = st.x1[0]
    x2_k = st.x2[0]
    st.separated = 0
    discrete = discrete_geoms(st)
    epsilon = 0.5 * st.tolerance * st.tolerance
    min_norm = st.tolerance
    if discrete:
        epsilon = 0.0
        min_norm = MINVAL
    x_k = x1_k - x2_k
    x_norm = wp.length(x_k)
    x_norm_prev = float(0.0)
    while k < CCD_ITERATIONS:
        if x_norm < min_norm or wp.abs(x_norm_prev - x_norm) < MINVAL:
            break
        dneg = x_k * (1.0 / x_norm)
        st, p1, p2 = minkowski_support(st, md, -dneg)
        s_k = p1 - p2
        sv[n] = s_k
        sv1[n] = p1
        sv2[n] = p2
        si1[n] = st.obj1.vertindex
        si2[n] = st.obj2.vertindex
        # Frank-Wolfe duality gap
        if wp.dot(x_k, x_k - s_k) < epsilon:
            break
        lower = wp.dot(x_k, s_k)
        if not get_dist:
            if lower > 0.0:
                st.separated = 1
                st.gjk_iterations = k
                st.nsimplex = 0
                st.nx = 0
                st.dist[0] = MAX_LIMIT
                return st
        elif st.dist_cutoff < MAX_LIMIT:
            if lower > 0.0 and lower >= st.dist_cutoff * x_norm:
                st.separated = 1
                st.gjk_iterations = k
                st.nsimplex = 0
                st.nx = 0
                st.dist[0] = MAX_LIMIT
                return st
        if n == 3 and backup:
            st.gjk_iterations = k
            st, ret = gjk_intersect(st, md, sv, sv1, sv2, si1, si2)
            if ret != -1:
                st.nx = 0
                st.separated = wp.where(ret == 0, 1, 0)
                st.dist[0] = wp.where(ret > 0, 0.0, MAX_LIMIT)
                return st
            k = st.gjk_iterations
            backup = False
        lam = subdistance(n + 1, sv)
        # keep the vertices with non-zero weight
        m = int(0)
        for i in range(4):
            if lam[i] != 0.0:
                sv[m] = sv[i]
                sv1[m] = sv1[i]
                sv2[m] = sv2[i]
                si1[m] = si1[i]
                si2[m] = si2[i]
                lam[m] = lam[i]
                m += 1
        n = m
        if n < 1:  # should not occur
            st.gjk_iterations = k
            st.nsimplex = 0
            st.nx = 0
            st.dist[0] = MAX_LIMIT
            st.separated = 1
            return st
        x_k = lincomb(lam, n, sv)
        x_norm_prev = x_norm
        x_norm = wp.length(x_k)
        if n == 4:
            break
        k += 1
    if n > 0:
        x1_k = lincomb(lam, n, sv1)
        x2_k = lincomb(lam, n, sv2)
    # final separation check
    dneg = x_k * (1.0 / x_norm)
    st, p1, p2 = minkowski_support(st, md, -dneg)
    if wp.dot(x_k, p1 - p2) > 0.0:
        st.separated = 1
    st.nx = 1
    st.gjk_iterations = k
    st.nsimplex = n
    st.simplex = sv
    st.simplex1 = sv1
    st.simplex2 = sv2
    st.sindex1 = si1
    st.sindex2 = si2
    st.x1[0] = x1_k
    st.x2[0] = x2_k
    if n == 4 and st.separated == 0:
        st.dist[0] = 0.0
    else:
        st.dist[0] = x_norm
    return st


# ---------------------------------------------------------------------------------------------------------------
# EPA


@wp.func
def same_side(p0: wp.vec3, p1: wp.vec3, p2: wp.vec3, p3: wp.vec3):
    """True if the origin and p3 are strictly on the same side of the plane (p0, p1, p2)."""
    n = wp.cross(p1 - p0, p2 - p0)
    dot1 = wp.dot(n, p3 - p0)
    dot2 = wp.dot(n, -p0)
    return (dot1 > 0.0 and dot2 > 0.0) or (dot1 < 0.0 and dot2 < 0.0)


@wp.func
def test_tetra(p0: wp.vec3, p1: wp.vec3, p2: wp.vec3, p3: wp.vec3):
    """True if the origin lies inside the tetrahedron."""
    return (
        same_side(p0, p1, p2, p3)
        and same_side(p1, p2, p3, p0)
        and same_side(p2, p3, p0, p1)
        and same_side(p3, p0, p1, p2)
    )


@wp.func
def rot120(axis: wp.vec3):
    """Rotation matrix by 120 degrees about axis."""
    u = axis / wp.length(axis)
    s = 0.86602540378
    c = -0.5
    t = 1.0 - c
    return wp.mat33(
        c + u[0] * u[0] * t,
        u[0] * u[1] * t - u[2] * s,
        u[0] * u[2] * t + u[1] * s,
        u[1] * u[0] * t + u[2] * s,
        c + u[1] * u[1] * t,
        u[1] * u[2] * t - u[0] * s,
        u[0] * u[2] * t - u[1] * s,
        u[1] * u[2] * t + u[0] * s,
        c + u[2] * u[2] * t,
    )


@wp.func
def ray_triangle(v1: wp.vec3, v2: wp.vec3, v3: wp.vec3, v4: wp.vec3, v5: wp.vec3):
    """Nonzero if the ray v1 -> v2 crosses triangle (v3, v4, v5)."""
    d12 = v2 - v1
    d13 = v3 - v1
    d14 = v4 - v1
    d15 = v5 - v1
    vol1 = det3(d13, d14, d12)
    vol2 = det3(d14, d15, d12)
    vol3 = det3(d15, d13, d12)
    if vol1 >= 0.0 and vol2 >= 0.0 and vol3 >= 0.0:
        return 1
    if vol1 <= 0.0 and vol2 <= 0.0 and vol3 <= 0.0:
        return -1
    return 0


@wp.func
def tri_affine_coord(v1: wp.vec3, v2: wp.vec3, v3: wp.vec3, p: wp.vec3):
    """Affine coordinates of p (on the triangle's plane) in triangle (v1, v2, v3)."""
    m14 = v2[1] * v3[2] - v2[2] * v3[1] - v1[1] * v3[2] + v1[2] * v3[1] + v1[1] * v2[2] - v1[2] * v2[1]
    m24 = v2[0] * v3[2] - v2[2] * v3[0] - v1[0] * v3[2] + v1[2] * v3[0] + v1[0] * v2[2] - v1[2] * v2[0]
    m34 = v2[0] * v3[1] - v2[1] * v3[0] - v1[0] * v3[1] + v1[1] * v3[0] + v1[0] * v2[1] - v1[1] * v2[0]
    mu1 = wp.abs(m14)
    mu2 = wp.abs(m24)
    mu3 = wp.abs(m34)
    x = int(0)
    y = int(1)
    m_max = m34
    if mu1 >= mu2 and mu1 >= mu3:
        m_max = m14
        x = 1
        y = 2
    elif mu2 >= mu3:
        m_max = m24
        x = 0
        y = 2
    c31 = p[x] * v2[y] + p[y] * v3[x] + v2[x] * v3[y] - p[x] * v3[y] - p[y] * v2[x] - v3[x] * v2[y]
    c32 = p[x] * v3[y] + p[y] * v1[x] + v3[x] * v1[y] - p[x] * v1[y] - p[y] * v3[x] - v1[x] * v3[y]
    c33 = p[x] * v1[y] + p[y] * v2[x] + v1[x] * v2[y] - p[x] * v2[y] - p[y] * v1[x] - v2[x] * v1[y]
    return wp.vec3(c31, c32, c33) / m_max


@wp.func
def tri_point_intersect(v1: wp.vec3, v2: wp.vec3, v3: wp.vec3, p: wp.vec3):
    """True if p lies on triangle (v1, v2, v3)."""
    lam = tri_affine_coord(v1, v2, v3, p)
    if lam[0] < 0.0 or lam[1] < 0.0 or lam[2] < 0.0:
        return False
    pr = v1 * lam[0] + v2 * lam[1] + v3 * lam[2]
    return wp.length(pr - p) < MINVAL


@wp.func
def face_plane(a: wp.vec3, b: wp.vec3, c: wp.vec3, center: wp.vec3):
    """Projection of the origin on the plane of polytope face (a, b, c), pointing away from the polytope center:
    (ok, projection, its squared norm); not ok for a degenerate face."""
    ret, v = project_origin_plane(c, b, a)
    if ret != 0:
        return False, v, float(0.0)
    if wp.dot(v, a - center) < 0.0:
        v = -v
    return True, v, wp.dot(v, v)


@wp.func
def face_edge(fv: matF3i, f: int, vertex: int):
    """Index (0-2) of ``vertex`` in face f."""
    if fv[f, 0] == vertex:
        return 0
    if fv[f, 1] == vertex:
        return 1
    return 2


@wp.func
def epa_support(
    st: CCDStatus,
    md: MeshData,
    d: wp.vec3,
    dnorm: float,
    pv: matV3,
    pv1: matV3,
    pv2: matV3,
    pi1: vecVi,
    pi2: vecVi,
    nv: int,
):
    """Append the Minkowski support point along d (norm dnorm; +x if tiny) to the polytope vertices."""
    dr = wp.vec3(1.0, 0.0, 0.0)
    if dnorm > MINVAL:
        dr = d / dnorm
    st, p1, p2 = minkowski_support(st, md, dr)
    pv[nv] = p1 - p2
    pv1[nv] = p1
    pv2[nv] = p2
    pi1[nv] = st.obj1.vertindex
    pi2[nv] = st.obj2.vertindex
    return st, pv, pv1, pv2, pi1, pi2, nv + 1


@wp.func
def epa(st: CCDStatus, md: MeshData):
    """Penetration depth and witness points from GJK's simplex (MuJoCo's polytope2/3/4 + epa): builds an initial
    polytope around the origin in the Minkowski difference and expands it towards the face nearest to the origin.
    Returns (st, ok); if ok, st.dist[0] (negative), st.x1[0], st.x2[0] and the face's vertices are set."""
    pv = matV3()
    pv1 = matV3()
    pv2 = matV3()
    pi1 = vecVi()
    pi2 = vecVi()
    nv = int(0)
    fv = matF3i()  # face vertices
    fadj = matF3i()  # adjacent face across edge (v0, v1), (v1, v2), (v2, v0)
    fproj = matF3()  # projection of the origin on the face
    fd2 = vecF()  # its squared norm
    fidx = vecFi()  # position in the map; -1 not in map, -2 deleted
    nf = int(0)
    fmap = vecFi()
    nmap = int(0)
    center = wp.vec3(0.0)
    # initial faces (up to 6): vertex and adjacency tables
    ta = vec3i()
    tv0 = vec6i()
    tv1 = vec6i()
    tv2 = vec6i()
    ok = bool(True)
    mode = st.nsimplex
    sv = st.simplex
    sv1 = st.simplex1
    sv2 = st.simplex2
    si1 = st.sindex1
    si2 = st.sindex2
    # face adjacency of the 6-face hexahedra and the 4-face tetrahedron (MuJoCo's layout)
    adj_hex = mat63i(1, 3, 2, 2, 4, 0, 0, 5, 1, 5, 0, 4, 3, 1, 5, 4, 2, 3)
    adj_tet = mat43i(1, 3, 2, 2, 3, 0, 0, 3, 1, 2, 0, 1)

    if mode == 4:
        for i in range(4):
            pv[i] = sv[i]
            pv1[i] = sv1[i]
            pv2[i] = sv2[i]
            pi1[i] = si1[i]
            pi2[i] = si2[i]
        nv = int(4)
        center = 0.25 * (pv[0] + pv[1] + pv[2] + pv[3])
        tv0 = vec6i(0, 0, 0, 3, 0, 0)
        tv1 = vec6i(1, 3, 2, 2, 0, 0)
        tv2 = vec6i(2, 1, 3, 1, 0, 0)
        bad = int(-1)
        for t in range(4):
            good, proj, d2f = face_plane(pv[tv0[t]], pv[tv1[t]], pv[tv2[t]], center)
            fv[nf] = vec3i(tv0[t], tv1[t], tv2[t])
            fadj[nf] = vec3i(adj_tet[t, 0], adj_tet[t, 1], adj_tet[t, 2])
            fproj[nf] = proj
            fd2[nf] = d2f
            fidx[nf] = -1
            nf += 1
            if not good:
                d2f = 0.0
            if d2f < MINDIST4:
                bad = t
                break
        if bad >= 0:
            # origin on a face: continue from that triangle
            ta = vec3i(tv0[bad], tv1[bad], tv2[bad])
            mode = 3
        elif not test_tetra(pv[0], pv[1], pv[2], pv[3]):
            ok = False
        else:
            for i in range(4):
                fmap[i] = i
                fidx[i] = i
            nmap = int(4)
    elif mode == 2:
        v1 = sv[0]
        v2 = sv[1]
        center = 0.5 * (v1 + v2)
        diff = v2 - v1
        # rotate around the segment to get three support directions 120 degrees apart
        index = int(0)
        value = float(MAX_LIMIT)
        for i in range(3):
            if wp.abs(diff[i]) < value:
                value = wp.abs(diff[i])
                index = i
        e = wp.vec3(0.0)
        e[index] = 1.0
        dir1 = wp.cross(e, diff)
        rot = rot120(diff)
        dir2 = rot @ dir1
        dir3 = rot @ dir2
        for i in range(2):
            pv[i] = sv[i]
            pv1[i] = sv1[i]
            pv2[i] = sv2[i]
            pi1[i] = si1[i]
            pi2[i] = si2[i]
        nv = int(2)
        for i in range(3):
            dd = dir1
            if i == 1:
                dd = dir2
            elif i == 2:
                dd = dir3
            st, pv, pv1, pv2, pi1, pi2, nv = epa_support(st, md, dd, wp.length(dd), pv, pv1, pv2, pi1, pi2, nv)
        tv0 = vec6i(0, 0, 0, 1, 1, 1)
        tv1 = vec6i(2, 4, 3, 3, 2, 4)
        tv2 = vec6i(3, 2, 4, 2, 4, 3)
        bad = int(-1)
        for t in range(6):
            good, proj, d2f = face_plane(pv[tv0[t]], pv[tv1[t]], pv[tv2[t]], center)
            fv[nf] = vec3i(tv0[t], tv1[t], tv2[t])
            fadj[nf] = vec3i(adj_hex[t, 0], adj_hex[t, 1], adj_hex[t, 2])
            fproj[nf] = proj
            fd2[nf] = d2f
            fidx[nf] = -1
            nf += 1
            if not good:
                d2f = 0.0
            if d2f < MINDIST2:
                bad = t
                break
        if bad >= 0:
            ta = vec3i(tv0[bad], tv1[bad], tv2[bad])
            mode = 3
        elif ray_triangle(pv[0], pv[1], pv[2], pv[3], pv[4]) == 0:
            ok = False
        else:
            for i in range(6):
                fmap[i] = i
                fidx[i] = i
            nmap = int(6)
    else:
        ta = vec3i(0, 1, 2)
        for i in range(3):
            pv[i] = sv[i]
            pv1[i] = sv1[i]
            pv2[i] = sv2[i]
            pi1[i] = si1[i]
            pi2[i] = si2[i]

    if mode == 3 and ok:
        # triangle: (re)start the polytope from it and the support points on both sides of it
        a0 = pv[ta[0]]
        a1 = pv[ta[1]]
        a2 = pv[ta[2]]
        b0 = pv1[ta[0]]
        b1 = pv1[ta[1]]
        b2 = pv1[ta[2]]
        c0 = pv2[ta[0]]
        c1 = pv2[ta[1]]
        c2 = pv2[ta[2]]
        i0 = pi1[ta[0]]
        i1 = pi1[ta[1]]
        i2 = pi1[ta[2]]
        j0 = pi2[ta[0]]
        j1 = pi2[ta[1]]
        j2 = pi2[ta[2]]
        pv[0] = a0
        pv[1] = a1
        pv[2] = a2
        pv1[0] = b0
        pv1[1] = b1
        pv1[2] = b2
        pv2[0] = c0
        pv2[1] = c1
        pv2[2] = c2
        pi1[0] = i0
        pi1[1] = i1
        pi1[2] = i2
        pi2[0] = j0
        pi2[1] = j1
        pi2[2] = j2
        nv = int(3)
        nf = int(0)
        nmap = int(0)
        center = (a0 + a1 + a2) * (1.0 / 3.0)
        n = wp.cross(a1 - a0, a2 - a0)
        n_norm = wp.length(n)
        if n_norm < MINVAL:
            ok = False
        else:
            st, pv, pv1, pv2, pi1, pi2, nv = epa_support(st, md, -n, n_norm, pv, pv1, pv2, pi1, pi2, nv)  # v5
            st, pv, pv1, pv2, pi1, pi2, nv = epa_support(st, md, n, n_norm, pv, pv1, pv2, pi1, pi2, nv)  # v4
            if tri_point_intersect(a0, a1, a2, pv[4]) or tri_point_intersect(a0, a1, a2, pv[3]):
                ok = False
            else:
                # vertex ids: v1..v3 = 0..2, v4 = 4, v5 = 3
                tv0 = vec6i(4, 4, 4, 3, 3, 3)
                tv1 = vec6i(0, 2, 1, 1, 0, 2)
                tv2 = vec6i(1, 0, 2, 0, 2, 1)
                for t in range(6):
                    good, proj, d2f = face_plane(pv[tv0[t]], pv[tv1[t]], pv[tv2[t]], center)
                    fv[nf] = vec3i(tv0[t], tv1[t], tv2[t])
                    fadj[nf] = vec3i(adj_hex[t, 0], adj_hex[t, 1], adj_hex[t, 2])
                    fproj[nf] = proj
                    fd2[nf] = d2f
                    fidx[nf] = -1
                    nf += 1
                    if not good:
                        d2f = 0.0
                    if d2f < MINDIST3:
                        ok = False
                        break
                if ok:
                    for i in range(6):
                        fmap[i] = i
                        fidx[i] = i
                    nmap = int(6)
    st.epa_status = 0
    if not ok:
        st.epa_status = 1
        return st, False

    # ---- expansion
    discrete = discrete_geoms(st)
    tolerance = st.tolerance
    if discrete:
        tolerance = MINEPATOL
    upper = float(MAX_LIMIT)
    upper2 = float(MAX_LIMIT)
    face = int(-1)
    hidx = vecHi()
    hedge = vecHi()
    sf = vecSi()
    se = vecSi()
    sk = vecSi()
    k = int(0)
    while k < CCD_ITERATIONS:
        pface = face
        lower2 = float(MAX_LIMIT)
        for i in range(nmap):
            if fd2[fmap[i]] < lower2:
                face = fmap[i]
                lower2 = fd2[face]
        if lower2 > upper2 or face < 0:
            face = pface
            break
        if lower2 <= 0.0:
            break
        lower = wp.sqrt(lower2)
        st, pv, pv1, pv2, pi1, pi2, nv = epa_support(st, md, fproj[face], lower, pv, pv1, pv2, pi1, pi2, nv)
        wi = nv - 1
        w = pv[wi]
        upper_k = wp.dot(fproj[face], w) / lower
        if upper_k < upper:
            upper = upper_k
            upper2 = upper * upper
        if upper - lower < tolerance:
            if k == 0 and upper < lower - 1.0e-10:
                face = -1
            break
        if discrete:
            repeated = bool(False)
            for i in range(nv - 1):
                if pi1[wi] == pi1[i] and pi2[wi] == pi2[i]:
                    repeated = True
                    break
            if repeated:
                break

        # ---- horizon: delete the faces visible from w (depth-first, as MuJoCo's recursion), collect the edges
        nedges = int(0)
        overflow = bool(False)
        # delete the starting face
        if fidx[face] >= 0:
            nmap -= 1
            fmap[fidx[face]] = fmap[nmap]
            fidx[fmap[fidx[face]]] = fidx[face]
        fidx[face] = -2
        depth = int(1)
        sf[0] = face
        se[0] = 0
        sk[0] = 0
        while depth > 0:
            top = depth - 1
            if sk[top] == 3:
                depth -= 1
                continue
            f = sf[top]
            ei = (se[top] + sk[top]) % 3
            sk[top] = sk[top] + 1
            adj = fadj[f, ei]
            if fidx[adj] <= -2:
                continue
            adj_edge = face_edge(fv, adj, fv[f, (ei + 1) % 3])
            if wp.dot(fproj[adj], w) - fd2[adj] > MINVAL:
                # visible: delete, then search its two other edges
                if fidx[adj] >= 0:
                    nmap -= 1
                    fmap[fidx[adj]] = fmap[nmap]
                    fidx[fmap[fidx[adj]]] = fidx[adj]
                fidx[adj] = -2
                if depth >= HORIZON_STACK:
                    overflow = True
                    break
                sf[depth] = adj
                se[depth] = adj_edge
                sk[depth] = 1
                depth += 1
            else:
                if nedges >= HORIZON_MAX:
                    overflow = True
                    break
                hidx[nedges] = adj
                hedge[nedges] = adj_edge
                nedges += 1
        if overflow:
            break
        if nedges < 3:
            face = -1
            break
        if nedges > EPA_MAXFACE - nf:
            break

        # ---- attach a face from w to every horizon edge
        nf0 = nf
        failed = bool(False)
        for i in range(nedges):
            hf = hidx[i]
            he = hedge[i]
            a = fv[hf, he]
            b = fv[hf, (he + 1) % 3]
            fadj[hf, he] = nf0 + i
            prv = nf0 + i - 1
            if i == 0:
                prv = nf0 + nedges - 1
            nxt = nf0 + (i + 1) % nedges
            good, proj, d2f = face_plane(pv[wi], pv[b], pv[a], center)
            fv[nf] = vec3i(wi, b, a)
            fadj[nf] = vec3i(prv, hf, nxt)
            fproj[nf] = proj
            fd2[nf] = d2f
            fidx[nf] = -1
            nf += 1
            if not good or d2f == 0.0:
                failed = True
                break
            if d2f >= lower2 and d2f <= upper2:
                fmap[nmap] = nf - 1
                fidx[nf - 1] = nmap
                nmap += 1
        if failed:
            face = -1
            break
        if nmap == 0:
            break
        k += 1

    st.epa_iterations = k
    if face < 0:
        st.nx = 0
        st.dist[0] = 0.0
        return st, False
    # witness points: the origin's projection on the face, in the face's affine coordinates
    a = fv[face, 0]
    b = fv[face, 1]
    c = fv[face, 2]
    lam = tri_affine_coord(pv[a], pv[b], pv[c], fproj[face])
    st.x1[0] = lam[0] * pv1[a] + lam[1] * pv1[b] + lam[2] * pv1[c]
    st.x2[0] = lam[0] * pv2[a] + lam[1] * pv2[b] + lam[2] * pv2[c]
    st.dist[0] = -wp.sqrt(fd2[face])
    st.nx = 1
    st.face1 = wp.matrix_from_rows(pv1[a], pv1[b], pv1[c])
    st.face2 = wp.matrix_from_rows(pv2[a], pv2[b], pv2[c])
    st.findex1 = vec3i(pi1[a], pi1[b], pi1[c])
    st.findex2 = vec3i(pi2[a], pi2[b], pi2[c])
    return st, True


# ---------------------------------------------------------------------------------------------------------------
# multi-contact: clip the touching faces of two polytopes against each other


@wp.func
def normalize3(v: wp.vec3):
    """v / |v|, or +x if |v| is tiny (mju_normalize3)."""
    n = wp.length(v)
    if n < MINVAL:
        return wp.vec3(1.0, 0.0, 0.0)
    return v / n


@wp.func
def box_corner(obj: CCDObj, bits: int):
    """Box corner with coordinate signs given by bits (x: 1, y: 2, z: 4 set means +size)."""
    s = obj.size
    c = wp.vec3(-s[0], -s[1], -s[2])
    if (bits & 1) != 0:
        c[0] = s[0]
    if (bits & 2) != 0:
        c[1] = s[1]
    if (bits & 4) != 0:
        c[2] = s[2]
    return obj.pos + obj.mat @ c


@wp.func
def box_face_near(mat: wp.mat33, n: wp.vec3):
    """(found, normal, face index) of the box face whose normal is within FACE_TOL of direction n."""
    ln = wp.transpose(mat) @ n
    ln = ln / wp.sqrt(wp.dot(ln, ln))
    for i in range(6):
        ax = i // 2
        sgn = 1.0 - 2.0 * float(i % 2)
        if ln[ax] * sgn > FACE_TOL:
            e = wp.vec3(0.0)
            e[ax] = sgn
            return 1, mat @ e, i
    return 0, wp.vec3(0.0), 0


@wp.func
def box_normals(obj: CCDObj, dim: int, vi: vec3i, d: wp.vec3):
    """Candidate face normals (and face ids 0-5: +x, -x, +y, -y, +z, -z) of a box feature given by 1-3 corners
    (MuJoCo's boxNormals); d is the contact direction used when the corners do not pin down a face."""
    res = matD3()
    idx = vecDi()
    mat = obj.mat
    n = int(0)
    if dim == 1:
        c = vi[0]
        for a in range(3):
            sgn = float(-1.0)
            if (c & (1 << a)) != 0:
                sgn = 1.0
            e = wp.vec3(0.0)
            e[a] = sgn
            res[a] = mat @ e
            idx[a] = 2 * a + wp.where(sgn > 0.0, 0, 1)
        return 3, res, idx
    # axis a is shared by the corners when they all have (or all lack) its bit
    cnt = int(0)
    for a in range(3):
        b = 1 << a
        alls = (vi[0] & b) != 0 and (vi[1] & b) != 0
        none = (vi[0] & b) == 0 and (vi[1] & b) == 0
        if dim == 3:
            alls = alls and (vi[2] & b) != 0
            none = none and (vi[2] & b) == 0
        if alls or none:
            e = wp.vec3(0.0)
            e[a] = wp.where(alls, 1.0, -1.0)
            res[cnt] = mat @ e
            idx[cnt] = 2 * a + wp.where(alls, 0, 1)
            cnt += 1
    if (dim == 3 and cnt == 1) or (dim == 2 and cnt == 2):
        return cnt, res, idx
    found, nrm, fi = box_face_near(mat, d)
    res[0] = nrm
    idx[0] = fi
    n = found
    return n, res, idx


@wp.func
def box_edge_normals(obj: CCDObj, dim: int, vi: vec3i):
    """Unit directions, far end points and start point of the box edges at a feature: the edge itself for dim 2,
    the three edges at the corner for dim 1 (MuJoCo's boxEdgeNormals)."""
    res = matD3()
    ends = matD3()
    v1 = box_corner(obj, vi[0])
    if dim == 2:
        ends[0] = box_corner(obj, vi[1])
        res[0] = wp.normalize(ends[0] - v1)
        return 1, res, ends, v1
    if dim == 1:
        for a in range(3):
            ends[a] = box_corner(obj, vi[0] ^ (1 << a))
            res[a] = wp.normalize(ends[a] - v1)
        return 3, res, ends, v1
    return 0, res, ends, v1


@wp.func
def box_face(obj: CCDObj, idx: int):
    """The 4 corners of box face idx (0-5: +x, -x, +y, -y, +z, -z) in MuJoCo's order."""
    table = vec24i(7, 3, 1, 5, 2, 6, 4, 0, 2, 3, 7, 6, 4, 5, 1, 0, 6, 7, 5, 4, 3, 2, 0, 1)
    res = matP3()
    for i in range(4):
        res[i] = box_corner(obj, table[4 * idx + i])
    return 4, res


@wp.func
def polymap_intersect(md: MeshData, adr1: int, num1: int, adr2: int, num2: int):
    """Up to two polygon ids in both polymap lists (in the order of the first)."""
    res = wp.vec2i(0, 0)
    count = int(0)
    for i in range(num1):
        for j in range(num2):
            if count < 2 and md.mesh_polymap[adr1 + i] == md.mesh_polymap[adr2 + j]:
                res[count] = md.mesh_polymap[adr1 + i]
                count += 1
    return count, res


@wp.func
def mesh_normals(obj: CCDObj, md: MeshData, dim: int, vi: vec3i):
    """Candidate polygon normals (and polygon ids) of a mesh feature given by 1-3 vertices (MuJoCo's
    meshNormals): the polygon through 3 vertices, the (up to 2) polygons at an edge, all polygons at a vertex."""
    res = matD3()
    idx = vecDi()
    a1 = md.mesh_polymapadr[obj.vertadr + vi[0]]
    n1 = md.mesh_polymapnum[obj.vertadr + vi[0]]
    if dim == 1:
        cnt = wp.min(n1, DEG_MAX)
        for i in range(cnt):
            p = md.mesh_polymap[a1 + i]
            res[i] = obj.mat @ md.mesh_polynormal[obj.polyadr + p]
            idx[i] = p
        return cnt, res, idx
    a2 = md.mesh_polymapadr[obj.vertadr + vi[1]]
    n2 = md.mesh_polymapnum[obj.vertadr + vi[1]]
    n, edgeset = polymap_intersect(md, a1, n1, a2, n2)
    if n == 0:
        return 0, res, idx
    if dim == 2:
        for i in range(n):
            res[i] = obj.mat @ md.mesh_polynormal[obj.polyadr + edgeset[i]]
            idx[i] = edgeset[i]
        return n, res, idx
    a3 = md.mesh_polymapadr[obj.vertadr + vi[2]]
    n3 = md.mesh_polymapnum[obj.vertadr + vi[2]]
    for i in range(n):
        for j in range(n3):
            if edgeset[i] == md.mesh_polymap[a3 + j]:
                res[0] = obj.mat @ md.mesh_polynormal[obj.polyadr + edgeset[i]]
                idx[0] = edgeset[i]
                return 1, res, idx
    return 0, res, idx


@wp.func
def mesh_point(obj: CCDObj, md: MeshData, v: int):
    """Mesh vertex v in the common frame."""
    return obj.pos + obj.mat @ md.mesh_vert[obj.vertadr + v]


@wp.func
def mesh_edge_normals(obj: CCDObj, md: MeshData, dim: int, vi: vec3i):
    """Unit directions, far end points and start point of the mesh edges at a feature: the edge itself for dim 2,
    the edge to the previous vertex of each polygon at the vertex for dim 1 (MuJoCo's meshEdgeNormals)."""
    res = matD3()
    ends = matD3()
    v1 = mesh_point(obj, md, vi[0])
    if dim == 2:
        ends[0] = mesh_point(obj, md, vi[1])
        res[0] = wp.normalize(ends[0] - v1)
        return 1, res, ends, v1
    if dim == 1:
        adr = md.mesh_polymapadr[obj.vertadr + vi[0]]
        num = wp.min(md.mesh_polymapnum[obj.vertadr + vi[0]], DEG_MAX)
        for i in range(num):
            p = obj.polyadr + md.mesh_polymap[adr + i]
            padr = md.mesh_polyvertadr[p]
            nvert = md.mesh_polyvertnum[p]
            for j in range(nvert):
                if md.mesh_polyvert[padr + j] == vi[0]:
                    k = j - 1
                    if j == 0:
                        k = nvert - 1
                    ends[i] = mesh_point(obj, md, md.mesh_polyvert[padr + k])
                    res[i] = wp.normalize(ends[i] - v1)
        return num, res, ends, v1
    return 0, res, ends, v1


@wp.func
def mesh_face(obj: CCDObj, md: MeshData, idx: int):
    """Vertices of mesh polygon idx in reverse order (0 vertices if it has more than POLY_MAX)."""
    res = matP3()
    p = obj.polyadr + idx
    adr = md.mesh_polyvertadr[p]
    nvert = md.mesh_polyvertnum[p]
    if nvert > POLY_MAX:
        return 0, res
    for i in range(nvert):
        res[i] = mesh_point(obj, md, md.mesh_polyvert[adr + nvert - 1 - i])
    return nvert, res


@wp.func
def cylinder_normals(obj: CCDObj, dim: int, vi: vec3i):
    """Cap normal of a cylinder feature on one cap (support index 0: top, 1: bottom)."""
    res = matD3()
    idx = vecDi()
    if dim == 1:
        sgn = wp.where(vi[0] != 0, -1.0, 1.0)
        res[0] = sgn * wp.vec3(obj.mat[0, 2], obj.mat[1, 2], obj.mat[2, 2])
        idx[0] = vi[0]
        return 1, res, idx
    return 0, res, idx


@wp.func
def cylinder_edge_normals(obj: CCDObj, dim: int, vi: vec3i, v: wp.vec3):
    """The side line of a cylinder through rim point v (margin removed), pointing to the other cap."""
    res = matD3()
    ends = matD3()
    if dim == 1 or dim == 2:
        sgn = wp.where(vi[0] != 0, 1.0, -1.0)
        if obj.margin > 0.0:
            diff = v - obj.pos
            l0 = wp.dot(wp.vec3(obj.mat[0, 0], obj.mat[1, 0], obj.mat[2, 0]), diff)
            l1 = wp.dot(wp.vec3(obj.mat[0, 1], obj.mat[1, 1], obj.mat[2, 1]), diff)
            n2 = l0 * l0 + l1 * l1
            scl = float(0.0)
            if n2 >= MINVAL2:
                scl = obj.size[0] / wp.sqrt(n2)
            v = obj.pos + obj.mat @ wp.vec3(scl * l0, scl * l1, -sgn * obj.size[1])
        axis = sgn * wp.vec3(obj.mat[0, 2], obj.mat[1, 2], obj.mat[2, 2])
        res[0] = axis
        ends[0] = v + axis * (2.0 * obj.size[1])
        return 1, res, ends, v
    return 0, res, ends, v


@wp.func
def cylinder_face(obj: CCDObj, idx: int):
    """A cylinder cap (0: top, 1: bottom) as a regular 16-gon."""
    res = matP3()
    sgn = wp.where(idx != 0, -1.0, 1.0)
    center = obj.pos + obj.mat @ wp.vec3(0.0, 0.0, sgn * obj.size[1])
    col0 = obj.mat @ wp.vec3(obj.size[0], 0.0, 0.0)
    col1 = obj.mat @ wp.vec3(0.0, obj.size[0] * sgn, 0.0)
    for i in range(16):
        ang = float(i) * 0.39269908169872414
        res[i] = col0 * wp.cos(ang) - col1 * wp.sin(ang) + center
    return 16, res


@wp.func
def capsule_edge_normals(obj: CCDObj, w: wp.vec3):
    """The capsule's surface line through witness point w, parallel to its axis."""
    res = matD3()
    ends = matD3()
    axis = wp.vec3(obj.mat[0, 2], obj.mat[1, 2], obj.mat[2, 2])
    pr = wp.dot(w - obj.pos, axis)
    res[0] = axis
    ends[0] = w + axis * (obj.size[1] - pr)
    return 1, res, ends, w - axis * (pr + obj.size[1])


@wp.func
def simplex_dim(vi: vec3i, v: wp.mat33):
    """Number of distinct vertices (1-3) of an EPA face on one shape, moving them to the front."""
    if vi[0] == vi[1]:
        if vi[0] == vi[2]:
            return 1, vi, v
        vi[1] = vi[2]
        v[1] = v[2]
        return 2, vi, v
    if vi[2] == vi[0] or vi[2] == vi[1]:
        return 2, vi, v
    return 3, vi, v


@wp.func
def area4(a: wp.vec3, b: wp.vec3, c: wp.vec3, d: wp.vec3):
    """Area of the quadrilateral (a, b, c, d) from its diagonals."""
    return 0.5 * wp.length(wp.cross(a - c, b - d))


@wp.func
def polygon_quad(poly: matC3, nvert: int):
    """Indices of a large-area quadrilateral of a convex polygon (MuJoCo's polygonQuad)."""
    b = int(1)
    c = int(2)
    d = int(3)
    res = vec4i(0, 1, 2, 3)
    m = area4(poly[0], poly[1], poly[2], poly[3])
    for a in range(nvert):
        while True:
            m_next = area4(poly[a], poly[b], poly[c], poly[(d + 1) % nvert])
            if m_next <= m:
                break
            m = m_next
            d = (d + 1) % nvert
            res = vec4i(a, b, c, d)
            while True:
                m_next = area4(poly[a], poly[b], poly[(c + 1) % nvert], poly[d])
                if m_next <= m:
                    break
                m = m_next
                c = (c + 1) % nvert
                res = vec4i(a, b, c, d)
            while True:
                m_next = area4(poly[a], poly[(b + 1) % nvert], poly[c], poly[d])
                if m_next <= m:
                    break
                m = m_next
                b = (b + 1) % nvert
                res = vec4i(a, b, c, d)
        if b == a:
            b = (b + 1) % nvert
            if c == b:
                c = (c + 1) % nvert
                if d == c:
                    d = (d + 1) % nvert
    return res


@wp.func
def set_witness(st: CCDStatus, i: int, v: wp.vec3, p: wp.vec3, n: wp.vec3, d: wp.vec3):
    """Witness pair i from a clipped vertex v of the incident polygon: its projection on the reference face
    (point p, normal n) and that projection moved back along d; the distance along d."""
    w1 = v - wp.dot(v - p, n) * n
    dist = wp.dot(w1 - v, d)
    st.dist[i] = dist
    st.x1[i] = w1
    st.x2[i] = w1 - dist * d
    return st


@wp.func
def polygon_clip(st: CCDStatus, face1: matP3, nface1: int, face2: matP3, nface2: int, n: wp.vec3, d: wp.vec3,
                 margin: float):  # fmt: skip
    """Clip the incident polygon face2 by the side planes of the reference polygon face1 (normal n), keep the
    vertices at most ``margin`` above face1 and turn them into up to 4 witness pairs (MuJoCo's polygonClip).
    Returns (st, number of pairs)."""
    if nface1 < 3:
        return st, 0
    pn = matP3()
    pd = vecP()
    for i in range(nface1):
        a = face1[i]
        r = wp.cross(face1[(i + 1) % nface1] - a, n)
        pn[i] = r
        pd[i] = wp.dot(r, a)
    poly = matC3()
    npoly = nface2
    for i in range(nface2):
        poly[i] = face2[i]
    for e in range(nface1):
        clipped = matC3()
        nclip = int(0)
        a = face1[e]
        pne = pn[e]
        for i in range(npoly):
            p = poly[i]
            q = poly[(i + 1) % npoly]
            in1 = wp.dot(p - a, pne) > -1.0e-10
            in2 = wp.dot(q - a, pne) > -1.0e-10
            if nclip > CLIP_MAX - 2:
                continue
            if in1 and in2:
                clipped[nclip] = q
                nclip += 1
            elif in1 or in2:
                dd = wp.dot(pne, q - p)
                if wp.abs(dd) >= 1.0e-10:
                    t = (pd[e] - wp.dot(pne, p)) / dd
                    if t > -INTERSECT_TOL and t < 1.0 + INTERSECT_TOL:
                        t = wp.clamp(t, 0.0, 1.0)
                        clipped[nclip] = p + t * (q - p)
                        nclip += 1
                if in2:
                    clipped[nclip] = q
                    nclip += 1
        poly = clipped
        npoly = nclip
    # keep the vertices on, below or within the margin above the reference face
    m = npoly
    npoly = int(0)
    for i in range(m):
        if wp.dot(poly[i] - face1[0], n) <= margin:
            poly[npoly] = poly[i]
            npoly += 1
    if npoly < 1:
        return st, 0
    if nface2 == 2 and npoly > 2:
        # an edge: its two extreme points
        best1 = int(0)
        best2 = int(1)
        dmax = float(0.0)
        for i in range(npoly):
            for j in range(i + 1, npoly):
                dd = wp.length_sq(poly[j] - poly[i])
                if dd > dmax:
                    dmax = dd
                    best1 = i
                    best2 = j
        st = set_witness(st, 0, poly[best1], face1[0], n, d)
        st = set_witness(st, 1, poly[best2], face1[0], n, d)
        return st, 2
    if npoly > 4:
        q4 = polygon_quad(poly, npoly)
        for i in range(4):
            st = set_witness(st, i, poly[q4[i]], face1[0], n, d)
        return st, 4
    for i in range(npoly):
        st = set_witness(st, i, poly[i], face1[0], n, d)
    return st, npoly


@wp.func
def aligned_faces(n1: matD3, nn1: int, n2: matD3, nn2: int, d: wp.vec3):
    """(found, i, j): the most opposed pair of face normals n1[i] (facing along -d) and n2[j] (facing along d),
    opposed within FACE_TOL."""
    tol = EDGE_TOL * wp.length(d)
    best = float(-FACE_TOL)
    found = bool(False)
    bi = int(0)
    bj = int(0)
    for i in range(nn1):
        if wp.dot(n1[i], d) < -tol:
            for j in range(nn2):
                if wp.dot(n2[j], d) > tol:
                    dd = wp.dot(n1[i], n2[j])
                    if dd < best:
                        best = dd
                        bi = i
                        bj = j
                        found = True
    return found, bi, bj


@wp.func
def aligned_face_edge(edge: matD3, nedge: int, face: matD3, nface: int, d: wp.vec3):
    """(found, edge index, face index): the first edge lying in a face (within EDGE_TOL) that faces along d."""
    for i in range(nface):
        if wp.dot(face[i], d) > MINVAL:
            for j in range(nedge):
                if wp.abs(wp.dot(edge[j], face[i])) < EDGE_TOL:
                    return True, j, i
    return False, 0, 0


@wp.func
def has_faces(t: int):
    """Shapes whose flat faces multi-contact can clip: box, mesh, cylinder (caps)."""
    return t == GEOM_BOX or t == GEOM_MESH or t == GEOM_CYLINDER


@wp.func
def supports_multicontact(t1: int, t2: int):
    """Face-face, edge (capsule)-face and face-edge pairs."""
    f1 = has_faces(t1)
    f2 = has_faces(t2)
    return (f1 and f2) or (t1 == GEOM_CAPSULE and f2) or (f1 and t2 == GEOM_CAPSULE)


@wp.func
def feature_normals(obj: CCDObj, md: MeshData, dim: int, vi: vec3i, d: wp.vec3):
    """Face normals of a box, mesh or cylinder feature."""
    if obj.gtype == GEOM_BOX:
        return box_normals(obj, dim, vi, d)
    if obj.gtype == GEOM_MESH:
        return mesh_normals(obj, md, dim, vi)
    if obj.gtype == GEOM_CYLINDER:
        return cylinder_normals(obj, dim, vi)
    return 0, matD3(), vecDi()


@wp.func
def feature_edges(obj: CCDObj, md: MeshData, dim: int, vi: vec3i, v: wp.vec3, w: wp.vec3):
    """Edges of a feature: (count, directions, far ends, start); v is the feature's first point, w the witness."""
    if obj.gtype == GEOM_BOX:
        return box_edge_normals(obj, dim, vi)
    if obj.gtype == GEOM_MESH:
        return mesh_edge_normals(obj, md, dim, vi)
    if obj.gtype == GEOM_CYLINDER:
        return cylinder_edge_normals(obj, dim, vi, v)
    if obj.gtype == GEOM_CAPSULE:
        return capsule_edge_normals(obj, w)
    return 0, matD3(), matD3(), v


@wp.func
def feature_face(obj: CCDObj, md: MeshData, idx: int):
    """Polygon of a box face, mesh polygon or cylinder cap."""
    if obj.gtype == GEOM_BOX:
        return box_face(obj, idx)
    if obj.gtype == GEOM_MESH:
        return mesh_face(obj, md, idx)
    return cylinder_face(obj, idx)


@wp.func
def multicontact(st: CCDStatus, md: MeshData):
    """Up to 4 contacts between flat-sided shapes from the final EPA face (or GJK simplex) (MuJoCo 4's
    multicontact): find the two features' opposed faces, or an edge lying in a face, and clip one against the
    other; the witness pairs replace st.x1/x2/dist when clipping yields any."""
    o1 = st.obj1
    o2 = st.obj2
    if o1.gtype == GEOM_MESH and o1.polynum == 0:
        return st
    if o2.gtype == GEOM_MESH and o2.polynum == 0:
        return st
    nface1, v1i, v1 = simplex_dim(st.findex1, st.face1)
    nface2, v2i, v2 = simplex_dim(st.findex2, st.face2)
    x1 = st.x1[0]
    x2 = st.x2[0]
    dir12 = x2 - x1
    nn1, n1, idx1 = feature_normals(o1, md, nface1, v1i, -dir12)
    nn2, n2, idx2 = feature_normals(o2, md, nface2, v2i, dir12)
    ends = matD3()
    e1 = v1[0]
    e2 = v2[0]
    edgecon1 = bool(False)
    edgecon2 = bool(False)
    found, i, j = aligned_faces(n1, nn1, n2, nn2, dir12)
    if not found:
        if nface1 < 3 and nn2 > 0 and (nface1 <= nface2 or nn1 == 0):
            nn1, n1, ends, e1 = feature_edges(o1, md, nface1, v1i, v1[0], x1)
            found, i, j = aligned_face_edge(n1, nn1, n2, nn2, dir12)
            if not found:
                return st
            edgecon1 = True
        elif nface2 < 3:
            nn2, n2, ends, e2 = feature_edges(o2, md, nface2, v2i, v2[0], x2)
            found, i, j = aligned_face_edge(n2, nn2, n1, nn1, -dir12)
            if not found:
                return st
            edgecon2 = True
        else:
            return st
    face1 = matP3()
    face2 = matP3()
    nf1 = int(2)
    nf2 = int(2)
    if edgecon1:
        face1[0] = e1
        face1[1] = ends[i]
    else:
        fi = idx1[i]
        if edgecon2:
            fi = idx1[j]
        nf1, face1 = feature_face(o1, md, fi)
    if edgecon2:
        face2[0] = e2
        face2[1] = ends[i]
    else:
        nf2, face2 = feature_face(o2, md, idx2[j])
    if nf1 == 0 or nf2 == 0:
        return st  # polygon larger than POLY_MAX
    # margins not yet in the polygons (a capsule's edge already runs on its surface)
    m1 = wp.where(o1.gtype != GEOM_CAPSULE, 0.5 * o1.margin, 0.0)
    m2 = wp.where(o2.gtype != GEOM_CAPSULE, 0.5 * o2.margin, 0.0)
    margin = m1 + m2
    sc = st
    nclip = int(0)
    normal = wp.vec3(0.0)
    if edgecon1:
        normal = -n2[j]
        sc, nclip = polygon_clip(st, face2, nf2, face1, nf1, n2[j], -n2[j], margin)
        # the faces were swapped: swap the witness points back
        for k in range(nclip):
            tmp = sc.x1[k]
            sc.x1[k] = sc.x2[k]
            sc.x2[k] = tmp
    elif edgecon2:
        normal = n1[j]
        sc, nclip = polygon_clip(st, face1, nf1, face2, nf2, n1[j], -n1[j], margin)
    else:
        normal = -n2[j]
        sc, nclip = polygon_clip(st, face1, nf1, face2, nf2, n1[i], n2[j], margin)
    if nclip < 1:
        return st
    for k in range(nclip):
        sc.x1[k] = sc.x1[k] + m1 * normal
        sc.x2[k] = sc.x2[k] - m2 * normal
        sc.dist[k] = sc.dist[k] - margin
    sc.nx = nclip
    return sc


# ---------------------------------------------------------------------------------------------------------------
# driver


@wp.func
def inflate(st: CCDStatus, md: MeshData, m1: float, m2: float):
    """Grow the witness points of shrunk shapes (sphere -> point, capsule -> segment, margins removed) back."""
    if st.obj1.gtype == GEOM_HFIELD and HFIELD_SIDE_RULE:
        side = bool(False)
        for i in range(st.nsimplex):
            if st.sindex1[i] != st.sindex1[0]:
                side = True
        if side:
            # the nearest prism feature is a side: drop the geom's lowest point onto the top triangle
            up = wp.vec3(0.0, 0.0, 1.0)
            sp, vi, mi = shape_support(st.obj2, md, st.x2[0])
            x2 = sp - m2 * up
            a = st.obj1.prism[3]
            b = st.obj1.prism[4]
            c = st.obj1.prism[5]
            lam = tri_affine_coord(a, b, c, x2)
            x1 = wp.vec3(0.0)
            if lam[0] > 0.0 and lam[1] > 0.0 and lam[2] > 0.0:
                x1 = lam[0] * a + lam[1] * b + lam[2] * c
            else:
                q = c
                if lam[1] > 0.0:
                    q = b
                if lam[0] > 0.0:
                    q = a
                x1 = x2 - wp.dot(x2 - q, up) * up
            st.x1[0] = x1
            st.x2[0] = x2
            st.dist[0] = -wp.length(x1 - x2)
            return st
    n = wp.normalize(st.x2[0] - st.x1[0])
    if m1 > 0.0:
        st.x1[0] = st.x1[0] + m1 * n
    if m2 > 0.0:
        st.x2[0] = st.x2[0] - m2 * n
    st.dist[0] = st.dist[0] - (m1 + m2)
    return st


@wp.func
def simplex_face(st: CCDStatus):
    """Use GJK's simplex (1-3 vertices) as the 'EPA face' for multi-contact of shallow contacts."""
    i2 = wp.where(st.nsimplex > 1, 1, 0)
    i3 = wp.where(st.nsimplex > 2, 2, 0)
    st.face1 = wp.matrix_from_rows(st.simplex1[0], st.simplex1[i2], st.simplex1[i3])
    st.face2 = wp.matrix_from_rows(st.simplex2[0], st.simplex2[i2], st.simplex2[i3])
    st.findex1 = vec3i(st.sindex1[0], st.sindex1[i2], st.sindex1[i3])
    st.findex2 = vec3i(st.sindex2[0], st.sindex2[i2], st.sindex2[i3])
    return st


@wp.func
def ccd(st: CCDStatus, md: MeshData):
    """General convex collision (MuJoCo 4's mjc_ccd): returns (st, smallest witness distance); negative means
    penetration with st.nx witness pairs (st.x1, st.x2, st.dist). ``st.max_contacts`` > 1 enables multi-contact
    for face-face and capsule-face pairs (at most 4)."""
    st.x1[0] = obj_center(st.obj1)
    st.x2[0] = obj_center(st.obj2)
    st.gjk_iterations = 0
    st.nx = 0
    cutoff = st.dist_cutoff
    t1 = st.obj1.gtype
    t2 = st.obj2.gtype
    multi = st.max_contacts > 1 and supports_multicontact(t1, t2)
    m1 = st.obj1.margin
    m2 = st.obj2.margin
    shrink_margin = supports_multicontact(t1, t2) and (m1 > 0.0 or m2 > 0.0)
    fm1 = float(0.0)
    fm2 = float(0.0)
    if t1 == GEOM_SPHERE or t1 == GEOM_CAPSULE:
        fm1 = st.obj1.size[0] + 0.5 * m1
        st.obj1.core = 1
        st.obj1.margin = 0.0
    elif shrink_margin:
        fm1 = 0.5 * m1
        st.obj1.margin = 0.0
    if t2 == GEOM_SPHERE or t2 == GEOM_CAPSULE:
        fm2 = st.obj2.size[0] + 0.5 * m2
        st.obj2.core = 1
        st.obj2.margin = 0.0
    elif shrink_margin:
        fm2 = 0.5 * m2
        st.obj2.margin = 0.0
    if fm1 + fm2 > 0.0:
        # first a distance query between the shrunk shapes; only deep penetrations need the full shapes
        st.dist_cutoff = cutoff + fm1 + fm2
        st = gjk(st, md)
        st.dist_cutoff = cutoff
        if st.dist[0] > st.tolerance:
            if st.dist[0] < MAX_LIMIT:
                st = inflate(st, md, fm1, fm2)
            st.obj1.margin = m1
            st.obj2.margin = m2
            st.obj1.core = 0
            st.obj2.core = 0
            if st.dist[0] > st.dist_cutoff:
                st.dist[0] = MAX_LIMIT
                return st, st.dist[0]
            if multi and st.nsimplex > 0:
                st = simplex_face(st)
                st = multicontact(st, md)
            mind = st.dist[0]
            for i in range(1, st.nx):
                mind = wp.min(mind, st.dist[i])
            return st, mind
        st.obj1.margin = m1
        st.obj2.margin = m2
        st.obj1.core = 0
        st.obj2.core = 0
        st.gjk_iterations = 0
        st.x1[0] = obj_center(st.obj1)
        st.x2[0] = obj_center(st.obj2)
    st = gjk(st, md)
    if st.dist[0] <= st.tolerance and st.nsimplex > 1 and st.separated == 0:
        st.dist[0] = 0.0
        st, found = epa(st, md)
        if found and multi:
            st = multicontact(st, md)
    mind = st.dist[0]
    for i in range(1, st.nx):
        mind = wp.min(mind, st.dist[i])
    return st, mind
