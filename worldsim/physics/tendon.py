"""Tendon lengths, Jacobians and velocities: fixed tendons (linear in joint positions) and spatial tendons through
sites, with pulleys (MuJoCo's mj_tendon, without wrapping around geoms). Launched over (N, ntendon).
"""

from __future__ import annotations

import warp as wp

from .kinematics import point_jacobian_column
from .spatial import dof_moves

WRAP_JOINT = wp.constant(1)
WRAP_PULLEY = wp.constant(2)
WRAP_SITE = wp.constant(3)


@wp.kernel
def eval_tendons(
    nv: int,
    tendon_adr: wp.array(dtype=wp.int32),
    tendon_num: wp.array(dtype=wp.int32),
    wrap_type: wp.array(dtype=wp.int32),
    wrap_objid: wp.array(dtype=wp.int32),
    wrap_prm: wp.array(dtype=wp.float32),
    wrap_divisor: wp.array(dtype=wp.float32),
    jnt_qposadr: wp.array(dtype=wp.int32),
    jnt_dofadr: wp.array(dtype=wp.int32),
    site_bodyid: wp.array(dtype=wp.int32),
    body_lastdof: wp.array(dtype=wp.int32),
    dof_isanc: wp.array2d(dtype=wp.int32),
    qpos: wp.array2d(dtype=wp.float32),
    qvel: wp.array2d(dtype=wp.float32),
    site_xpos: wp.array2d(dtype=wp.vec3),
    root_origin: wp.array2d(dtype=wp.vec3),
    cdof: wp.array2d(dtype=wp.spatial_vector),
    # outputs
    ten_length: wp.array2d(dtype=wp.float32),
    ten_J: wp.array3d(dtype=wp.float32),
    ten_velocity: wp.array2d(dtype=wp.float32),
):
    w, t = wp.tid()
    ten_length[w, t] = 0.0
    for k in range(nv):
        ten_J[w, t, k] = 0.0
    adr = tendon_adr[t]
    num = tendon_num[t]
    for i in range(adr, adr + num):
        typ = wrap_type[i]
        if typ == WRAP_JOINT:
            j = wrap_objid[i]
            coef = wrap_prm[i]
            ten_length[w, t] += coef * qpos[w, jnt_qposadr[j]]
            ten_J[w, t, jnt_dofadr[j]] += coef
        elif typ == WRAP_SITE and i + 1 < adr + num:
            if wrap_type[i + 1] == WRAP_SITE:  # a straight segment between two sites
                s0 = wrap_objid[i]
                s1 = wrap_objid[i + 1]
                b0 = site_bodyid[s0]
                b1 = site_bodyid[s1]
                p0 = site_xpos[w, s0]
                p1 = site_xpos[w, s1]
                seg = (root_origin[w, b1] - root_origin[w, b0]) + (p1 - p0)
                length = wp.length(seg)
                ten_length[w, t] += length / wrap_divisor[i]
                u = seg / (wp.max(length, 1.0e-12) * wrap_divisor[i])
                for k in range(nv):
                    col = float(0.0)
                    if dof_moves(dof_isanc, body_lastdof[b1], k):
                        col += wp.dot(u, point_jacobian_column(cdof[w, k], p1))
                    if dof_moves(dof_isanc, body_lastdof[b0], k):
                        col -= wp.dot(u, point_jacobian_column(cdof[w, k], p0))
                    ten_J[w, t, k] += col
    ten_velocity[w, t] = 0.0
    for k in range(nv):
        ten_velocity[w, t] += ten_J[w, t, k] * qvel[w, k]
