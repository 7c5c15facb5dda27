"""Soft contact: which geom pairs can touch (built once from the MjModel) and the force kernel.

Each candidate pair is split into *slots*: one point-like feature of geom B (a sphere centre, a capsule end, a
box corner) tested against the shape of geom A, plus segment-segment for capsule pairs. Per slot the kernel
computes the signed distance φ (negative in penetration), the normal n (from A to B) and the contact point,
then the force on B (and its opposite on A):

    f_n = m_eff [ k · ramp(x; δ) + c · step(x; δ/4) · ramp(−v_n; ε) ],  x = margin + δ/2 − φ   (f_n ≥ 0)
    f_t = −γ v_t,  γ = μ f_n / sqrt(|v_t|² + ε²)                                  (regularized Coulomb)

with k = contact_stiffness [1/s²], c = contact_damping [1/s], δ = contact_smoothing [m],
ε = contact_vel_smoothing [m/s], μ the pair's friction (MuJoCo's rule: the higher-priority geom's, else the
max of the two), margin the pair's MuJoCo margin, and m_eff = 1 / (invweight(A) + invweight(B)) the effective
mass as MuJoCo approximates it from ``body_invweight0``, rescaled by each body's current ``body_mass`` (so
per-world masses keep the contact's natural frequency).

``ramp`` is the C¹ ramp (0 for x ≤ 0, x²/2δ, then x − δ/2) and ``step`` the C¹ cubic step: there is no
force at a gap of δ/2 or more, the force is exactly the linear spring k·(margin − φ) once the penetration
exceeds δ/2, damping acts only while approaching and fades in over δ/4, and gradients are continuous through
touch-down. Friction is treated implicitly: this kernel records γ, the point and the normal per slot, and the
dynamics adds h·γ·J_tᵀJ_t to the mass matrix (as MuJoCo does for joint damping), so a small ε (nearly static
friction) stays stable at large steps.

Collision table (A vs B; ✓ exact, ≈ approximate):
    plane-sphere ✓, plane-capsule ✓ (both end caps), plane-box ✓ (8 corners), plane-cylinder ✓ (per cap the
    rim point nearest the plane, plus 3 fixed rim points), sphere-sphere ✓, sphere-capsule ✓,
    capsule-capsule ✓ (closest points of the segments), sphere-box ✓, capsule-box ≈ (the two end caps only),
    box-box ≈ (each box's corners against the other box; no edge-edge), sphere-cylinder ✓, capsule-cylinder ≈
    (end caps), cylinder-box and cylinder-cylinder ≈ (rim points and corners against the other shape). Pairs
    follow MuJoCo's filters, including <exclude>, and the
    contact starts at the pair's margin (the sum of the geom margins), as in MuJoCo.
"""

from __future__ import annotations

import mujoco
import numpy as np
import warp as wp

from .spatial import point_velocity, smooth_ramp, smooth_step, sv

# slot kinds: how the feature of geom B meets geom A
SLOT_PLANE = wp.constant(0)  # A plane, B point-sphere feature
SLOT_SPHERE = wp.constant(1)  # A sphere, B point-sphere feature
SLOT_CAPSULE = wp.constant(2)  # A capsule (segment), B point-sphere feature
SLOT_BOX = wp.constant(3)  # A box, B point-sphere feature
SLOT_SEGMENTS = wp.constant(4)  # A capsule, B capsule: closest points of the two segments
SLOT_CYLINDER = wp.constant(5)  # A cylinder, B point-sphere feature


# friction combination per slot
FRIC_MAX = 0
FRIC_A = 1
FRIC_B = 2
FRIC_NONE = 3

_PLANE, _SPHERE, _CAPSULE, _CYLINDER, _BOX = (
    int(mujoco.mjtGeom.mjGEOM_PLANE), int(mujoco.mjtGeom.mjGEOM_SPHERE), int(mujoco.mjtGeom.mjGEOM_CAPSULE),
    int(mujoco.mjtGeom.mjGEOM_CYLINDER), int(mujoco.mjtGeom.mjGEOM_BOX),
)  # fmt: skip
# number of point features of each geom type: sphere centre, capsule end caps, box corners, cylinder rims (per
# cap: the rim point nearest the plane, plus three fixed rim points 120° apart that carry an upright cylinder)
_NFEATURE = {_SPHERE: 1, _CAPSULE: 2, _BOX: 8, _CYLINDER: 8}


def _pair_filtered(mjm: mujoco.MjModel, b1: int, b2: int, filterparent: bool) -> bool:
    """MuJoCo's body-pair filter: same weld, or (with filterparent) welded parent and child, neither the world."""
    w1, w2 = int(mjm.body_weldid[b1]), int(mjm.body_weldid[b2])
    if w1 == w2:
        return True
    p1 = int(mjm.body_weldid[mjm.body_parentid[w1]])
    p2 = int(mjm.body_weldid[mjm.body_parentid[w2]])
    return filterparent and w1 != 0 and w2 != 0 and (w1 == p2 or w2 == p1)


def _friction_mode(mjm: mujoco.MjModel, ga: int, gb: int) -> int:
    pa, pb = mjm.geom_priority[ga], mjm.geom_priority[gb]
    condim = mjm.geom_condim[ga] if pa > pb else mjm.geom_condim[gb] if pb > pa else max(mjm.geom_condim[[ga, gb]])
    if condim == 1:
        return FRIC_NONE
    return FRIC_A if pa > pb else FRIC_B if pb > pa else FRIC_MAX


def build_contact_slots(mjm: mujoco.MjModel, *, filterparent: bool = True) -> dict:
    """All contact slots of a model: arrays ``geom1, geom2, kind, sub, friction_mode`` and ``pairs``."""
    out = {k: [] for k in ("geom1", "geom2", "kind", "sub", "friction_mode", "margin")}
    pairs = []
    excluded = {(int(sig) >> 16, int(sig) & 0xFFFF) for sig in mjm.exclude_signature}

    def add(ga, gb, kind, nsub):
        for s in range(nsub):
            out["margin"].append(mjm.geom_margin[ga] + mjm.geom_margin[gb])  # MuJoCo's includemargin
            out["geom1"].append(ga)
            out["geom2"].append(gb)
            out["kind"].append(kind)
            out["sub"].append(s)
            out["friction_mode"].append(_friction_mode(mjm, ga, gb))

    for g1 in range(mjm.ngeom):
        for g2 in range(g1 + 1, mjm.ngeom):
            ok = (mjm.geom_contype[g1] & mjm.geom_conaffinity[g2]) or (mjm.geom_contype[g2] & mjm.geom_conaffinity[g1])
            b1, b2 = int(mjm.geom_bodyid[g1]), int(mjm.geom_bodyid[g2])
            if not ok or _pair_filtered(mjm, b1, b2, filterparent) or (min(b1, b2), max(b1, b2)) in excluded:
                continue
            # order so that type(ga) <= type(gb): plane < sphere < capsule < box
            ga, gb = (g1, g2) if mjm.geom_type[g1] <= mjm.geom_type[g2] else (g2, g1)
            ta, tb = int(mjm.geom_type[ga]), int(mjm.geom_type[gb])
            if ta == _PLANE:
                if tb == _PLANE:
                    continue  # MuJoCo does not collide plane with plane either
                add(ga, gb, int(SLOT_PLANE), _NFEATURE[tb])
            elif ta == _SPHERE:
                kind = {_SPHERE: SLOT_SPHERE, _CAPSULE: SLOT_CAPSULE, _CYLINDER: SLOT_CYLINDER, _BOX: SLOT_BOX}[tb]
                if tb == _SPHERE:
                    add(ga, gb, int(kind), 1)
                else:
                    add(gb, ga, int(kind), 1)  # the other shape is A, the sphere centre the feature
            elif ta == _CAPSULE:
                if tb == _CAPSULE:
                    add(ga, gb, int(SLOT_SEGMENTS), 1)
                else:
                    add(gb, ga, int(SLOT_CYLINDER if tb == _CYLINDER else SLOT_BOX), 2)  # capsule end caps
            elif ta == _CYLINDER:
                # rim features of the cylinder against the other shape, and the other's features against it
                add(gb, ga, int(SLOT_CYLINDER if tb == _CYLINDER else SLOT_BOX), _NFEATURE[_CYLINDER])
                add(ga, gb, int(SLOT_CYLINDER), _NFEATURE[tb])
            else:  # box-box: corners of each against the other
                add(ga, gb, int(SLOT_BOX), 8)
                add(gb, ga, int(SLOT_BOX), 8)
            pairs.append((g1, g2))
    out = {k: np.array(v) for k, v in out.items()}
    out["pairs"] = pairs
    return out


@wp.func
def cylinder_rim_point(pos: wp.vec3, rot: wp.quat, size: wp.vec3, sub: int, towards: wp.vec3):
    """Feature ``sub`` (0-7) of a cylinder on cap sub // 4: k = 0 is the rim point furthest along ``towards``
    (moving continuously onto the cap face when ``towards`` is nearly along the axis, where the rim direction is
    undefined); k = 1, 2, 3 are fixed rim points at 0°, 120°, 240°."""
    cap = 1.0
    if sub >= 4:
        cap = -1.0
    k = sub % 4
    local = wp.vec3(0.0)
    if k == 0:
        t = wp.quat_rotate_inv(rot, towards)
        t = t / wp.sqrt(wp.dot(t, t) + 1.0e-12)
        radial = wp.vec3(t[0], t[1], 0.0)
        rl = wp.sqrt(wp.dot(radial, radial))
        local = radial * (size[0] / wp.max(rl, 0.25))
    else:
        ang = float(k - 1) * 2.0943951023931953
        local = wp.vec3(size[0] * wp.cos(ang), size[0] * wp.sin(ang), 0.0)
    return pos + wp.quat_rotate(rot, local + wp.vec3(0.0, 0.0, cap * size[1]))


@wp.func
def geom_feature(gtype: int, pos: wp.vec3, rot: wp.quat, size: wp.vec3, sub: int):
    """Point feature ``sub`` of a geom as (centre, radius): sphere centre, capsule end cap, or box corner."""
    if gtype == 3:  # capsule: end caps along local z
        sign = 1.0
        if sub == 1:
            sign = -1.0
        return pos + wp.quat_rotate(rot, wp.vec3(0.0, 0.0, sign * size[1])), size[0]
    if gtype == 6:  # box corner
        sx = 1.0
        sy = 1.0
        sz = 1.0
        if (sub & 1) != 0:
            sx = -1.0
        if (sub & 2) != 0:
            sy = -1.0
        if (sub & 4) != 0:
            sz = -1.0
        return pos + wp.quat_rotate(rot, wp.vec3(sx * size[0], sy * size[1], sz * size[2])), 0.0
    return pos, size[0]


@wp.func
def safe_length(v: wp.vec3):
    """|v| with a finite gradient at v = 0 (offset 1e-12 m² inside the square root)."""
    return wp.sqrt(wp.dot(v, v) + 1.0e-12)


@wp.func
def sphere_sphere(ca: wp.vec3, ra: float, cb: wp.vec3, rb: float):
    """(φ, normal A→B, contact point) of two spheres."""
    d = cb - ca
    dist = safe_length(d)
    n = d / dist
    phi = dist - ra - rb
    return phi, n, ca + n * (ra + 0.5 * phi)


@wp.func
def closest_on_segment(a: wp.vec3, b: wp.vec3, p: wp.vec3):
    ab = b - a
    t = wp.clamp(wp.dot(p - a, ab) / wp.max(wp.dot(ab, ab), 1.0e-12), 0.0, 1.0)
    return a + t * ab


@wp.func
def segment_segment(p1: wp.vec3, q1: wp.vec3, p2: wp.vec3, q2: wp.vec3):
    """Closest points (on segment 1, on segment 2) between segments p1-q1 and p2-q2."""
    d1 = q1 - p1
    d2 = q2 - p2
    r = p1 - p2
    a = wp.dot(d1, d1)
    e = wp.dot(d2, d2)
    f = wp.dot(d2, r)
    c = wp.dot(d1, r)
    b = wp.dot(d1, d2)
    denom = a * e - b * b
    s = 0.0
    if denom > 1.0e-10 * a * e:
        s = wp.clamp((b * f - c * e) / denom, 0.0, 1.0)
    t = (b * s + f) / wp.max(e, 1.0e-12)
    if t < 0.0:
        t = 0.0
        s = wp.clamp(-c / wp.max(a, 1.0e-12), 0.0, 1.0)
    elif t > 1.0:
        t = 1.0
        s = wp.clamp((b - c) / wp.max(a, 1.0e-12), 0.0, 1.0)
    return p1 + s * d1, p2 + t * d2


@wp.func
def point_box(p: wp.vec3, box_pos: wp.vec3, box_rot: wp.quat, size: wp.vec3):
    """(signed distance, outward normal, surface point) of world point ``p`` relative to a box."""
    lp = wp.quat_rotate_inv(box_rot, p - box_pos)
    q = wp.vec3(
        wp.clamp(lp[0], -size[0], size[0]), wp.clamp(lp[1], -size[1], size[1]), wp.clamp(lp[2], -size[2], size[2])
    )
    inside = wp.abs(lp[0]) < size[0] and wp.abs(lp[1]) < size[1] and wp.abs(lp[2]) < size[2]
    dist = 0.0
    nl = wp.vec3(0.0, 0.0, 1.0)
    if inside:
        # nearest face
        dx = size[0] - wp.abs(lp[0])
        dy = size[1] - wp.abs(lp[1])
        dz = size[2] - wp.abs(lp[2])
        if dx <= dy and dx <= dz:
            nl = wp.vec3(wp.sign(lp[0]), 0.0, 0.0)
            dist = -dx
        elif dy <= dz:
            nl = wp.vec3(0.0, wp.sign(lp[1]), 0.0)
            dist = -dy
        else:
            nl = wp.vec3(0.0, 0.0, wp.sign(lp[2]))
            dist = -dz
        q = lp - dist * nl
    else:
        d = lp - q
        dist = safe_length(d)
        nl = d / dist
    return dist, wp.quat_rotate(box_rot, nl), box_pos + wp.quat_rotate(box_rot, q)


@wp.func
def point_cylinder(p: wp.vec3, cyl_pos: wp.vec3, cyl_rot: wp.quat, size: wp.vec3):
    """(signed distance, outward normal, surface point) of world point ``p`` relative to a cylinder (local z axis,
    radius size[0], half-height size[1])."""
    lp = wp.quat_rotate_inv(cyl_rot, p - cyl_pos)
    radial = wp.vec3(lp[0], lp[1], 0.0)
    rl = wp.sqrt(wp.dot(radial, radial) + 1.0e-12)
    rdir = radial / rl
    r = size[0]
    hz = size[1]
    dist = 0.0
    nl = wp.vec3(0.0, 0.0, 1.0)
    q = lp
    if rl <= r and wp.abs(lp[2]) <= hz:  # inside: nearest of side and caps
        d_side = r - rl
        d_cap = hz - wp.abs(lp[2])
        if d_side < d_cap:
            nl = rdir
            dist = -d_side
        else:
            nl = wp.vec3(0.0, 0.0, wp.sign(lp[2]))
            dist = -d_cap
        q = lp - dist * nl
    else:
        q = wp.vec3(rdir[0] * wp.min(rl, r), rdir[1] * wp.min(rl, r), wp.clamp(lp[2], -hz, hz))
        d = lp - q
        dist = wp.sqrt(wp.dot(d, d) + 1.0e-12)
        nl = d / dist
    return dist, wp.quat_rotate(cyl_rot, nl), cyl_pos + wp.quat_rotate(cyl_rot, q)


@wp.func
def slot_geometry(
    kind: int,
    sub: int,
    type_b: int,
    pos_a: wp.vec3,
    rot_a: wp.quat,
    size_a: wp.vec3,
    pos_b: wp.vec3,
    rot_b: wp.quat,
    size_b: wp.vec3,
):
    """(φ [m], unit normal from A to B, contact point [m]) of one contact slot."""
    if kind == SLOT_SEGMENTS:
        ha = wp.quat_rotate(rot_a, wp.vec3(0.0, 0.0, size_a[1]))
        hb = wp.quat_rotate(rot_b, wp.vec3(0.0, 0.0, size_b[1]))
        ca, cb = segment_segment(pos_a - ha, pos_a + ha, pos_b - hb, pos_b + hb)
        return sphere_sphere(ca, size_a[0], cb, size_b[0])
    if kind == SLOT_PLANE and type_b == 5:  # cylinder on a plane: rim points
        n = wp.quat_rotate(rot_a, wp.vec3(0.0, 0.0, 1.0))
        p = cylinder_rim_point(pos_b, rot_b, size_b, sub, -n)
        phi = wp.dot(n, p - pos_a)
        return phi, n, p - n * (0.5 * phi)
    cb = pos_b
    rb = 0.0
    if type_b == 5:  # cylinder features: rim points, the first of each cap the one nearest A
        cb = cylinder_rim_point(pos_b, rot_b, size_b, sub, pos_a - pos_b)
    else:
        cb, rb = geom_feature(type_b, pos_b, rot_b, size_b, sub)
    if kind == SLOT_PLANE:
        n = wp.quat_rotate(rot_a, wp.vec3(0.0, 0.0, 1.0))
        phi = wp.dot(n, cb - pos_a) - rb
        return phi, n, cb - n * (rb + 0.5 * phi)
    if kind == SLOT_SPHERE:
        return sphere_sphere(pos_a, size_a[0], cb, rb)
    if kind == SLOT_CAPSULE:
        h = wp.quat_rotate(rot_a, wp.vec3(0.0, 0.0, size_a[1]))
        ca = closest_on_segment(pos_a - h, pos_a + h, cb)
        return sphere_sphere(ca, size_a[0], cb, rb)
    if kind == SLOT_CYLINDER:
        dist, n, surf = point_cylinder(cb, pos_a, rot_a, size_a)
        phi = dist - rb
        return phi, n, surf + n * (0.5 * phi + 0.5 * rb)
    # SLOT_BOX: sphere feature of B against box A
    dist, n, surf = point_box(cb, pos_a, rot_a, size_a)
    phi = dist - rb
    return phi, n, surf + n * (0.5 * phi + 0.5 * rb)


@wp.func
def scaled_invweight(
    invweight0: wp.array(dtype=wp.float32),
    mass0: wp.array(dtype=wp.float32),
    mass: wp.array2d(dtype=wp.float32),
    w: int,
    b: int,
):
    """MuJoCo's translational inverse weight of body b at qpos0, rescaled by the body's current mass (exact for a
    free body; 0 for the world and static bodies)."""
    iw = invweight0[b]
    if mass0[b] > 0.0:
        iw = iw * mass0[b] / mass[w, b]
    return iw


@wp.kernel
def eval_contact_forces(
    geom_xpos: wp.array2d(dtype=wp.vec3),
    geom_xquat: wp.array2d(dtype=wp.quat),
    geom_type: wp.array(dtype=wp.int32),
    geom_size: wp.array(dtype=wp.vec3),
    geom_body: wp.array(dtype=wp.int32),
    slot_geom1: wp.array(dtype=wp.int32),
    slot_geom2: wp.array(dtype=wp.int32),
    slot_kind: wp.array(dtype=wp.int32),
    slot_sub: wp.array(dtype=wp.int32),
    slot_friction_mode: wp.array(dtype=wp.int32),
    slot_margin: wp.array(dtype=wp.float32),
    body_invweight0: wp.array(dtype=wp.float32),
    body_mass0: wp.array(dtype=wp.float32),
    cvel: wp.array2d(dtype=wp.spatial_vector),
    body_mass: wp.array2d(dtype=wp.float32),
    geom_friction: wp.array2d(dtype=wp.vec3),
    contact_stiffness: wp.array(dtype=wp.float32),
    contact_damping: wp.array(dtype=wp.float32),
    contact_smoothing: wp.array(dtype=wp.float32),
    contact_vel_smoothing: wp.array(dtype=wp.float32),
    # out: external wrench on each body, world frame at the world origin (accumulated)
    cfrc_ext: wp.array2d(dtype=wp.spatial_vector),
    # out: per slot, friction coefficient γ [N s/m] (0 out of contact), contact point and normal, for the
    # implicit friction term of the dynamics
    slot_gamma: wp.array2d(dtype=wp.float32),
    slot_point: wp.array2d(dtype=wp.vec3),
    slot_normal: wp.array2d(dtype=wp.vec3),
):
    w, s = wp.tid()
    ga = slot_geom1[s]
    gb = slot_geom2[s]
    phi, n, c = slot_geometry(
        slot_kind[s], slot_sub[s], geom_type[gb],
        geom_xpos[w, ga], geom_xquat[w, ga], geom_size[ga],
        geom_xpos[w, gb], geom_xquat[w, gb], geom_size[gb],
    )  # fmt: skip
    delta = contact_smoothing[w]
    # the smoothing band is centred on first touch (at the pair's margin, as MuJoCo): zero force at a gap ≥ δ/2,
    # exactly k·pen beyond pen ≥ δ/2
    pen = slot_margin[s] - phi + 0.5 * delta
    if pen <= 0.0:
        slot_gamma[w, s] = 0.0
        return
    ba = geom_body[ga]
    bb = geom_body[gb]
    vrel = point_velocity(cvel[w, bb], c) - point_velocity(cvel[w, ba], c)
    vn = wp.dot(vrel, n)
    vt = vrel - vn * n
    eps = contact_vel_smoothing[w]
    meff = 1.0 / (
        scaled_invweight(body_invweight0, body_mass0, body_mass, w, ba)
        + scaled_invweight(body_invweight0, body_mass0, body_mass, w, bb)
    )
    fn = meff * (
        contact_stiffness[w] * smooth_ramp(pen, delta)
        + contact_damping[w] * smooth_step(pen, 0.25 * delta) * smooth_ramp(-vn, eps)
    )
    mode = slot_friction_mode[s]
    mu = 0.0
    if mode == 0:
        mu = wp.max(geom_friction[w, ga][0], geom_friction[w, gb][0])
    elif mode == 1:
        mu = geom_friction[w, ga][0]
    elif mode == 2:
        mu = geom_friction[w, gb][0]
    # viscous-equivalent friction coefficient; dynamics treats it implicitly (M + h·γ·J_tᵀJ_t), as MuJoCo treats
    # joint damping, so explicit friction cannot overshoot v_t = 0 however stiff it is
    gamma = mu * fn / wp.sqrt(wp.dot(vt, vt) + eps * eps)
    ft = -gamma * vt
    slot_gamma[w, s] = gamma
    slot_point[w, s] = c
    slot_normal[w, s] = n
    f = fn * n + ft
    wrench = sv(wp.cross(c, f), f)
    wp.atomic_add(cfrc_ext, w, bb, wrench)
    wp.atomic_sub(cfrc_ext, w, ba, wrench)
