"""Forward kinematics, dof motion axes and body velocities, one thread per world, in MuJoCo's order.

Translation invariance
----------------------
Positions are kept relative to the origin of each body's *tree* (the bodies below one child of the world, MuJoCo's
``body_rootid``): ``root_origin[w, b]`` is the world position of that origin (the root body's frame), and ``xpos``,
``xipos``, ``geom_xpos``, ``site_xpos`` and the linear parts of ``cdof``/``cvel`` are relative to it. A model 10 km
from the origin therefore computes lever arms, inertias and contact geometry from small numbers, as at the
origin; world positions are ``root_origin + xpos`` (:func:`forward_kinematics`).

A root body's joint chain is measured backwards from the body's final frame (see :func:`eval_body_poses`), so
even the frames before a long slide or a free joint are tree-relative and exact. ``root_origin`` is the float32
nearest the tree's true position; what it cannot hold (the rounding of the chain's sums, and the compensation
``qpos_err`` of its translations, see :mod:`.integrator`) is the root body's ``xpos``, a sub-millimetre offset. Two
trees 10 km out therefore still see each other at their exact distance: the difference of their (nearby, rounded)
origins is exact, and the remainders are added to it.

Every value that crosses a loop iteration lives in an array (Warp's reverse mode does not replay dynamic loops),
written once per step.
"""

from __future__ import annotations

import warp as wp

from .spatial import JNT_BALL, JNT_FREE, JNT_HINGE, JNT_SLIDE, cross_motion, quat_from_mj, sv


@wp.func
def joint_step(
    t: int,
    qa: int,
    w: int,
    b: int,
    qpos: wp.array2d(dtype=wp.float32),
    qpos0: wp.array(dtype=wp.float32),
    jnt_pos: wp.vec3,
    jnt_axis: wp.vec3,
    prot: wp.quat,
    base_pos: wp.vec3,
    body_pos: wp.array(dtype=wp.vec3),
):
    """(position increment, orientation after the joint) of one joint, from the frame before it (orientation
    ``prot``; ``base_pos`` its position relative to the body's base point, used only by a free joint, which sets an
    absolute position). Increments are computed from local offsets, never as a difference of two positions."""
    if t == JNT_FREE:
        p = wp.vec3(qpos[w, qa], qpos[w, qa + 1], qpos[w, qa + 2]) - body_pos[b] - base_pos
        r = quat_from_mj(qpos[w, qa + 3], qpos[w, qa + 4], qpos[w, qa + 5], qpos[w, qa + 6])
        return p, r
    if t == JNT_BALL:
        r = prot * quat_from_mj(qpos[w, qa], qpos[w, qa + 1], qpos[w, qa + 2], qpos[w, qa + 3])
        return wp.quat_rotate(prot, jnt_pos) - wp.quat_rotate(r, jnt_pos), r
    if t == JNT_HINGE:
        r = prot * wp.quat_from_axis_angle(jnt_axis, qpos[w, qa] - qpos0[qa])
        return wp.quat_rotate(prot, jnt_pos) - wp.quat_rotate(r, jnt_pos), r
    return wp.quat_rotate(prot, jnt_axis) * (qpos[w, qa] - qpos0[qa]), prot  # slide


@wp.func
def sum_remainder(a: wp.vec3, b: wp.vec3, s: wp.vec3):
    """Per component, the rounding error of the float32 sum ``s = a + b`` (TwoSum): a + b = s + remainder exactly.
    Its derivative is zero (the three terms cancel)."""
    bb = s - a
    return (a - (s - bb)) + (b - bb)


@wp.func
def joint_remainder(t: int, qa: int, w: int, qpos_err: wp.array2d(dtype=wp.float32), prot: wp.quat,
                    jnt_axis: wp.vec3):  # fmt: skip
    """The part of a joint's translation that float32 ``qpos`` could not hold (its ``qpos_err``), in the frame of
    the chain [m]: a free joint's position remainder, or a slide's along its axis."""
    if t == JNT_FREE:
        return wp.vec3(qpos_err[w, qa], qpos_err[w, qa + 1], qpos_err[w, qa + 2])
    if t == JNT_SLIDE:
        return wp.quat_rotate(prot, jnt_axis) * qpos_err[w, qa]
    return wp.vec3(0.0)


@wp.kernel
def eval_body_poses(
    qpos: wp.array2d(dtype=wp.float32),
    qpos_err: wp.array2d(dtype=wp.float32),
    nbody: int,
    body_parentid: wp.array(dtype=wp.int32),
    body_rootid: wp.array(dtype=wp.int32),
    body_pos: wp.array(dtype=wp.vec3),
    body_quat: wp.array(dtype=wp.quat),
    body_iquat: wp.array(dtype=wp.quat),
    body_jntadr: wp.array(dtype=wp.int32),
    body_jntnum: wp.array(dtype=wp.int32),
    body_frameadr: wp.array(dtype=wp.int32),
    jnt_type: wp.array(dtype=wp.int32),
    jnt_qposadr: wp.array(dtype=wp.int32),
    jnt_pos: wp.array(dtype=wp.vec3),
    jnt_axis: wp.array(dtype=wp.vec3),
    qpos0: wp.array(dtype=wp.float32),
    body_ipos: wp.array2d(dtype=wp.vec3),
    # outputs
    frame_delta: wp.array2d(dtype=wp.vec3),
    frame_sum: wp.array2d(dtype=wp.vec3),
    frame_lo: wp.array2d(dtype=wp.vec3),
    frame_pos: wp.array2d(dtype=wp.vec3),
    frame_quat: wp.array2d(dtype=wp.quat),
    root_origin: wp.array2d(dtype=wp.vec3),
    xpos: wp.array2d(dtype=wp.vec3),
    xquat: wp.array2d(dtype=wp.quat),
    xmat: wp.array2d(dtype=wp.mat33),
    xipos: wp.array2d(dtype=wp.vec3),
    ximat: wp.array2d(dtype=wp.mat33),
):
    """Body poses ``xpos/xquat/xmat``, centres of mass ``xipos/ximat``, tree origins ``root_origin`` and the
    joint-chain frames ``frame_pos/frame_quat`` (all tree-relative).

    Each body's chain is first walked forward for orientations and position increments (``frame_delta``, and
    their running sum from the base point, ``frame_sum``). A child body's frames are its parent-relative base plus
    the running sum. A root body's frames are measured from its final frame backwards, as minus the increments
    after them, so a slide of 10 km never enters a lever arm; that final frame sits at the remainder of the
    tree's position that the float32 ``root_origin`` cannot hold (``frame_lo``: the sums' rounding errors and the
    translations' ``qpos_err``).
    """
    w = wp.tid()
    xpos[w, 0] = wp.vec3(0.0)
    xquat[w, 0] = wp.quat_identity()
    xmat[w, 0] = wp.identity(n=3, dtype=float)
    xipos[w, 0] = wp.vec3(0.0)
    ximat[w, 0] = wp.identity(n=3, dtype=float)
    root_origin[w, 0] = wp.vec3(0.0)
    for b in range(1, nbody):
        p = body_parentid[b]
        fa = body_frameadr[b]
        nj = body_jntnum[b]
        if p == 0:
            frame_quat[w, fa] = body_quat[b]
        else:
            frame_quat[w, fa] = xquat[w, p] * body_quat[b]
        frame_delta[w, fa] = wp.vec3(0.0)
        frame_sum[w, fa] = wp.vec3(0.0)
        frame_lo[w, fa] = wp.vec3(0.0)
        for k in range(nj):
            j = body_jntadr[b] + k
            dpos, rot = joint_step(jnt_type[j], jnt_qposadr[j], w, b, qpos, qpos0, jnt_pos[j], jnt_axis[j],
                                   frame_quat[w, fa + k], frame_sum[w, fa + k], body_pos)  # fmt: skip
            frame_delta[w, fa + k + 1] = dpos
            frame_sum[w, fa + k + 1] = frame_sum[w, fa + k] + dpos
            frame_lo[w, fa + k + 1] = (frame_lo[w, fa + k]
                                       + sum_remainder(frame_sum[w, fa + k], dpos, frame_sum[w, fa + k + 1])
                                       + joint_remainder(jnt_type[j], jnt_qposadr[j], w, qpos_err,
                                                         frame_quat[w, fa + k], jnt_axis[j]))  # fmt: skip
            frame_quat[w, fa + k + 1] = rot
        if p == 0:
            origin = body_pos[b] + frame_sum[w, fa + nj]
            root_origin[w, b] = origin
            frame_pos[w, fa + nj] = frame_lo[w, fa + nj] + sum_remainder(body_pos[b], frame_sum[w, fa + nj], origin)
            for kk in range(nj):
                k = nj - 1 - kk
                frame_pos[w, fa + k] = frame_pos[w, fa + k + 1] - frame_delta[w, fa + k + 1]
        else:
            root_origin[w, b] = root_origin[w, body_rootid[b]]
            base = xpos[w, p] + wp.quat_rotate(xquat[w, p], body_pos[b])
            for k in range(nj + 1):
                frame_pos[w, fa + k] = base + frame_sum[w, fa + k]
        rot = frame_quat[w, fa + nj]
        xpos[w, b] = frame_pos[w, fa + nj]
        xquat[w, b] = rot
        xmat[w, b] = wp.quat_to_matrix(rot)
        xipos[w, b] = xpos[w, b] + wp.quat_rotate(rot, body_ipos[w, b])
        ximat[w, b] = wp.quat_to_matrix(rot * body_iquat[b])


@wp.kernel
def eval_body_velocities(
    qvel: wp.array2d(dtype=wp.float32),
    nbody: int,
    body_parentid: wp.array(dtype=wp.int32),
    body_jntadr: wp.array(dtype=wp.int32),
    body_jntnum: wp.array(dtype=wp.int32),
    body_frameadr: wp.array(dtype=wp.int32),
    jnt_type: wp.array(dtype=wp.int32),
    jnt_dofadr: wp.array(dtype=wp.int32),
    jnt_pos: wp.array(dtype=wp.vec3),
    jnt_axis: wp.array(dtype=wp.vec3),
    frame_pos: wp.array2d(dtype=wp.vec3),
    frame_quat: wp.array2d(dtype=wp.quat),
    xpos: wp.array2d(dtype=wp.vec3),
    xquat: wp.array2d(dtype=wp.quat),
    # outputs
    frame_vel: wp.array2d(dtype=wp.spatial_vector),
    cdof: wp.array2d(dtype=wp.spatial_vector),
    cdof_dot: wp.array2d(dtype=wp.spatial_vector),
    cvel: wp.array2d(dtype=wp.spatial_vector),
):
    """Dof motion axes ``cdof``, their derivatives ``cdof_dot`` and body velocities ``cvel`` (MuJoCo's mj_comVel
    order: a ball's or free joint's rotational axes are differentiated with the velocity before them)."""
    w = wp.tid()
    cvel[w, 0] = wp.spatial_vector()
    for b in range(1, nbody):
        p = body_parentid[b]
        fa = body_frameadr[b]
        nj = body_jntnum[b]
        frame_vel[w, fa] = cvel[w, p]
        for k in range(nj):
            j = body_jntadr[b] + k
            d = jnt_dofadr[j]
            t = jnt_type[j]
            v = frame_vel[w, fa + k]
            prot = frame_quat[w, fa + k]
            anchor = frame_pos[w, fa + k] + wp.quat_rotate(prot, jnt_pos[j])
            vout = v
            if t == JNT_FREE or t == JNT_BALL:
                rdof = d
                brot = xquat[w, b]
                if t == JNT_FREE:
                    for i in range(3):
                        e = wp.vec3(0.0)
                        e[i] = 1.0
                        cdof[w, d + i] = sv(wp.vec3(0.0), e)
                        cdof_dot[w, d + i] = wp.spatial_vector()
                    v = v + sv(wp.vec3(0.0), wp.vec3(qvel[w, d], qvel[w, d + 1], qvel[w, d + 2]))
                    rdof = d + 3
                    anchor = xpos[w, b]
                a0 = wp.quat_rotate(brot, wp.vec3(1.0, 0.0, 0.0))
                a1 = wp.quat_rotate(brot, wp.vec3(0.0, 1.0, 0.0))
                a2 = wp.quat_rotate(brot, wp.vec3(0.0, 0.0, 1.0))
                s0 = sv(a0, wp.cross(anchor, a0))
                s1 = sv(a1, wp.cross(anchor, a1))
                s2 = sv(a2, wp.cross(anchor, a2))
                cdof[w, rdof] = s0
                cdof[w, rdof + 1] = s1
                cdof[w, rdof + 2] = s2
                cdof_dot[w, rdof] = cross_motion(v, s0)
                cdof_dot[w, rdof + 1] = cross_motion(v, s1)
                cdof_dot[w, rdof + 2] = cross_motion(v, s2)
                vout = v + s0 * qvel[w, rdof] + s1 * qvel[w, rdof + 1] + s2 * qvel[w, rdof + 2]
            else:
                axis = wp.quat_rotate(prot, jnt_axis[j])
                s = sv(wp.vec3(0.0), axis)
                if t == JNT_HINGE:
                    s = sv(axis, wp.cross(anchor, axis))
                cdof[w, d] = s
                cdof_dot[w, d] = cross_motion(v, s)
                vout = v + s * qvel[w, d]
            frame_vel[w, fa + k + 1] = vout
        cvel[w, b] = frame_vel[w, fa + nj]


@wp.kernel
def eval_geom_poses(
    xpos: wp.array2d(dtype=wp.vec3),
    xquat: wp.array2d(dtype=wp.quat),
    geom_bodyid: wp.array(dtype=wp.int32),
    geom_pos: wp.array(dtype=wp.vec3),
    geom_quat: wp.array(dtype=wp.quat),
    geom_xpos: wp.array2d(dtype=wp.vec3),
    geom_xmat: wp.array2d(dtype=wp.mat33),
):
    """Pose of every geom (position relative to its tree origin): launched over (N, ngeom)."""
    w, g = wp.tid()
    b = geom_bodyid[g]
    geom_xpos[w, g] = xpos[w, b] + wp.quat_rotate(xquat[w, b], geom_pos[g])
    geom_xmat[w, g] = wp.quat_to_matrix(xquat[w, b] * geom_quat[g])


@wp.kernel
def eval_site_poses(
    xpos: wp.array2d(dtype=wp.vec3),
    xquat: wp.array2d(dtype=wp.quat),
    site_bodyid: wp.array(dtype=wp.int32),
    site_pos: wp.array(dtype=wp.vec3),
    site_quat: wp.array(dtype=wp.quat),
    site_xpos: wp.array2d(dtype=wp.vec3),
    site_xmat: wp.array2d(dtype=wp.mat33),
):
    """Pose of every site (position relative to its tree origin): launched over (N, nsite)."""
    w, s = wp.tid()
    b = site_bodyid[s]
    site_xpos[w, s] = xpos[w, b] + wp.quat_rotate(xquat[w, b], site_pos[s])
    site_xmat[w, s] = wp.quat_to_matrix(xquat[w, b] * site_quat[s])


@wp.func
def point_jacobian_column(cdof_k: wp.spatial_vector, point: wp.vec3):
    """Velocity of ``point`` (tree-relative) per unit velocity of a dof with motion axis ``cdof_k``."""
    return wp.vec3(cdof_k[3], cdof_k[4], cdof_k[5]) + wp.cross(wp.vec3(cdof_k[0], cdof_k[1], cdof_k[2]), point)
