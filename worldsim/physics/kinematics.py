"""Forward kinematics and velocities, one thread per world, in MuJoCo's order.

Frames are kept in arrays rather than loop-carried locals so that Warp's reverse mode, which does not replay
dynamic loops, sees every intermediate value (see ``docs`` in Warp: "Dynamic Loops").
"""

import warp as wp

from .spatial import JNT_BALL, JNT_FREE, JNT_HINGE, cross_motion, quat_from_mj, sv


@wp.kernel
def eval_kinematics(
    qpos: wp.array2d(dtype=wp.float32),
    qvel: wp.array2d(dtype=wp.float32),
    nbody: int,
    body_parent: wp.array(dtype=wp.int32),
    body_pos: wp.array(dtype=wp.vec3),
    body_quat: wp.array(dtype=wp.quat),
    body_jntadr: wp.array(dtype=wp.int32),
    body_jntnum: wp.array(dtype=wp.int32),
    body_frameadr: wp.array(dtype=wp.int32),
    jnt_type: wp.array(dtype=wp.int32),
    jnt_qposadr: wp.array(dtype=wp.int32),
    jnt_dofadr: wp.array(dtype=wp.int32),
    jnt_pos: wp.array(dtype=wp.vec3),
    jnt_axis: wp.array(dtype=wp.vec3),
    qpos0: wp.array(dtype=wp.float32),
    body_ipos: wp.array2d(dtype=wp.vec3),
    # outputs
    frame_pos: wp.array2d(dtype=wp.vec3),
    frame_quat: wp.array2d(dtype=wp.quat),
    frame_vel: wp.array2d(dtype=wp.spatial_vector),
    xpos: wp.array2d(dtype=wp.vec3),
    xquat: wp.array2d(dtype=wp.quat),
    xipos: wp.array2d(dtype=wp.vec3),
    cdof: wp.array2d(dtype=wp.spatial_vector),
    cdof_dot: wp.array2d(dtype=wp.spatial_vector),
    cvel: wp.array2d(dtype=wp.spatial_vector),
):
    """Body poses ``xpos/xquat``, centres of mass ``xipos``, dof motion axes ``cdof`` (world frame, at the world
    origin), their time derivatives ``cdof_dot`` and body spatial velocities ``cvel`` for world ``w``."""
    w = wp.tid()
    xpos[w, 0] = wp.vec3(0.0)
    xquat[w, 0] = wp.quat_identity()
    xipos[w, 0] = wp.vec3(0.0)
    cvel[w, 0] = wp.spatial_vector()
    for b in range(1, nbody):
        p = body_parent[b]
        fa = body_frameadr[b]
        frame_pos[w, fa] = xpos[w, p] + wp.quat_rotate(xquat[w, p], body_pos[b])
        frame_quat[w, fa] = xquat[w, p] * body_quat[b]
        # poses: apply the body's joints in order (frame k -> frame k+1)
        for k in range(body_jntnum[b]):
            j = body_jntadr[b] + k
            ppos = frame_pos[w, fa + k]
            prot = frame_quat[w, fa + k]
            t = jnt_type[j]
            qa = jnt_qposadr[j]
            anchor = ppos + wp.quat_rotate(prot, jnt_pos[j])
            npos = ppos
            nrot = prot
            if t == JNT_FREE:
                npos = wp.vec3(qpos[w, qa], qpos[w, qa + 1], qpos[w, qa + 2])
                nrot = quat_from_mj(qpos[w, qa + 3], qpos[w, qa + 4], qpos[w, qa + 5], qpos[w, qa + 6])
            elif t == JNT_BALL:
                nrot = prot * quat_from_mj(qpos[w, qa], qpos[w, qa + 1], qpos[w, qa + 2], qpos[w, qa + 3])
                npos = anchor - wp.quat_rotate(nrot, jnt_pos[j])
            elif t == JNT_HINGE:
                nrot = prot * wp.quat_from_axis_angle(jnt_axis[j], qpos[w, qa] - qpos0[qa])
                npos = anchor - wp.quat_rotate(nrot, jnt_pos[j])
            else:  # slide
                npos = ppos + wp.quat_rotate(prot, jnt_axis[j]) * (qpos[w, qa] - qpos0[qa])
            frame_pos[w, fa + k + 1] = npos
            frame_quat[w, fa + k + 1] = nrot
        nj = body_jntnum[b]
        bpos = frame_pos[w, fa + nj]
        brot = frame_quat[w, fa + nj]
        xpos[w, b] = bpos
        xquat[w, b] = brot
        xipos[w, b] = bpos + wp.quat_rotate(brot, body_ipos[w, b])

        # velocities: motion axes of each dof and the body velocity, joint by joint
        frame_vel[w, fa] = cvel[w, p]
        for k in range(nj):
            j = body_jntadr[b] + k
            d = jnt_dofadr[j]
            t = jnt_type[j]
            v = frame_vel[w, fa + k]
            # joint anchor and axis in the frame before this joint (the hinge/slide axis is unchanged by itself)
            ppos = frame_pos[w, fa + k]
            prot = frame_quat[w, fa + k]
            anchor = ppos + wp.quat_rotate(prot, jnt_pos[j])
            vout = v
            if t == JNT_FREE or t == JNT_BALL:
                rdof = d
                if t == JNT_FREE:
                    # translational dofs along the world axes; their axes do not move
                    for i in range(3):
                        e = wp.vec3(0.0)
                        e[i] = 1.0
                        cdof[w, d + i] = sv(wp.vec3(0.0), e)
                        cdof_dot[w, d + i] = wp.spatial_vector()
                    v = v + sv(wp.vec3(0.0), wp.vec3(qvel[w, d], qvel[w, d + 1], qvel[w, d + 2]))
                    rdof = d + 3
                    anchor = bpos
                # rotational dofs about the body's own axes (angular velocity in the body frame)
                a0 = wp.quat_rotate(brot, wp.vec3(1.0, 0.0, 0.0))
                a1 = wp.quat_rotate(brot, wp.vec3(0.0, 1.0, 0.0))
                a2 = wp.quat_rotate(brot, wp.vec3(0.0, 0.0, 1.0))
                s0 = sv(a0, wp.cross(anchor, a0))
                s1 = sv(a1, wp.cross(anchor, a1))
                s2 = sv(a2, wp.cross(anchor, a2))
                vout = v + s0 * qvel[w, rdof] + s1 * qvel[w, rdof + 1] + s2 * qvel[w, rdof + 2]
                cdof[w, rdof] = s0
                cdof[w, rdof + 1] = s1
                cdof[w, rdof + 2] = s2
                cdof_dot[w, rdof] = cross_motion(vout, s0)
                cdof_dot[w, rdof + 1] = cross_motion(vout, s1)
                cdof_dot[w, rdof + 2] = cross_motion(vout, s2)
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
    geom_body: wp.array(dtype=wp.int32),
    geom_pos: wp.array(dtype=wp.vec3),
    geom_quat: wp.array(dtype=wp.quat),
    geom_xpos: wp.array2d(dtype=wp.vec3),
    geom_xquat: wp.array2d(dtype=wp.quat),
):
    """World pose of every geom: ``geom_xpos [N, ngeom]``, ``geom_xquat [N, ngeom]``."""
    w, g = wp.tid()
    b = geom_body[g]
    geom_xpos[w, g] = xpos[w, b] + wp.quat_rotate(xquat[w, b], geom_pos[g])
    geom_xquat[w, g] = xquat[w, b] * geom_quat[g]
