"""Test harness for collider kernels: two geoms placed by hand, contacts from MuJoCo's ``mj_collision`` and from a
worldsim collider kernel, compared as sets.

Used by tests/test_collision_*.py; shares nothing with the colliders but the argument layout of
``worldsim.physics.collision.common.COLLIDER_ARGS``.
"""

from __future__ import annotations

import mujoco
import numpy as np
import warp as wp

from worldsim.physics.collision.common import COLLIDER_ARGS

TYPE_NAMES = {int(v): k.removeprefix("mjGEOM_").lower() for k, v in mujoco.mjtGeom.__members__.items()}


def two_geom_model(geom1: str, geom2: str, *, extra_assets: str = "", option: str = "") -> mujoco.MjModel:
    """An MjModel with ``geom1`` and ``geom2`` (MJCF ``<geom .../>`` strings) each on its own free body (a plane or
    height field stays on the world body). Place them with :func:`place`."""

    def body(name, geom):
        if 'type="plane"' in geom or 'type="hfield"' in geom:
            return geom
        return f'<body name="{name}"><freejoint/>{geom}</body>'

    xml = f"""<mujoco><option {option}/><asset>{extra_assets}</asset>
      <worldbody>{body("b1", geom1)}{body("b2", geom2)}</worldbody></mujoco>"""
    return mujoco.MjModel.from_xml_string(xml)


def place(mjm: mujoco.MjModel, poses: list[tuple[np.ndarray, np.ndarray]]) -> mujoco.MjData:
    """MjData with the free bodies at ``poses`` [(pos (3,), quat wxyz (4,)), ...] in body order, after
    ``mj_forward`` (so ``d.contact`` holds MuJoCo's contacts)."""
    d = mujoco.MjData(mjm)
    for j, (pos, quat) in zip(range(mjm.njnt), poses, strict=False):
        a = mjm.jnt_qposadr[j]
        d.qpos[a : a + 3] = pos
        d.qpos[a + 3 : a + 7] = np.asarray(quat) / np.linalg.norm(quat)
    mujoco.mj_forward(mjm, d)
    return d


def mujoco_contacts(mjd: mujoco.MjData) -> list[dict]:
    """MuJoCo's contacts: dist, pos, frame (3×3, rows normal/tangent/tangent), geom ids."""
    out = []
    for c in mjd.contact[: mjd.ncon]:
        out.append(dict(dist=float(c.dist), pos=np.array(c.pos), frame=np.array(c.frame).reshape(3, 3),
                        geom=(int(c.geom[0]), int(c.geom[1]))))  # fmt: skip
    return out


def run_collider(kernel, mjm: mujoco.MjModel, mjd: mujoco.MjData, maxcon: int, extra: dict | None = None,
                 origin_shift=(0.0, 0.0, 0.0)) -> list[dict]:  # fmt: skip
    """Run a collider kernel on the pair (geom 0, geom 1) of a two-geom model as MuJoCo orders it (lower type
    first) and return its contacts like :func:`mujoco_contacts` (world positions).

    ``extra`` maps the kernel's family-specific argument names to values. ``origin_shift`` moves every tree origin
    by the same world offset (positions stay relative), which must not change the result.
    """
    g1, g2 = 0, 1
    if mjm.geom_type[g1] > mjm.geom_type[g2]:
        g1, g2 = g2, g1
    shift = np.asarray(origin_shift, dtype=np.float64)
    root_origin = np.zeros((1, mjm.nbody, 3))
    for b in range(mjm.nbody):
        root_origin[0, b] = mjd.xpos[mjm.body_rootid[b]] + shift
    # the origins are float32 state, as in the simulator; relative positions are taken from the rounded origins
    root_origin = root_origin.astype(np.float32).astype(np.float64)
    geom_root = mjm.body_rootid[mjm.geom_bodyid]
    geom_xpos = np.array([mjd.geom_xpos[g] + shift - root_origin[0, geom_root[g]] for g in range(mjm.ngeom)])
    margin = mjm.geom_margin[g1] + mjm.geom_margin[g2] + mjm.geom_gap[g1] + mjm.geom_gap[g2]
    values = {
        "family_pairs": wp.array([0], dtype=wp.int32),
        "pair_geom1": wp.array([g1], dtype=wp.int32),
        "pair_geom2": wp.array([g2], dtype=wp.int32),
        "pair_conadr": wp.array([0], dtype=wp.int32),
        "pair_maxcon": wp.array([maxcon], dtype=wp.int32),
        "pair_margin": wp.array([margin], dtype=wp.float32),
        "geom_type": wp.array(mjm.geom_type.astype(np.int32), dtype=wp.int32),
        "geom_size": wp.array(mjm.geom_size.astype(np.float32), dtype=wp.vec3),
        "geom_rootid": wp.array(geom_root.astype(np.int32), dtype=wp.int32),
        "geom_xpos": wp.array(geom_xpos[None].astype(np.float32), dtype=wp.vec3),
        "geom_xmat": wp.array(mjd.geom_xmat.reshape(1, -1, 3, 3).astype(np.float32), dtype=wp.mat33),
        "root_origin": wp.array(root_origin.astype(np.float32), dtype=wp.vec3),
        "contact_dist": wp.zeros((1, maxcon), dtype=wp.float32),
        "contact_pos": wp.zeros((1, maxcon), dtype=wp.vec3),
        "contact_frame": wp.zeros((1, maxcon), dtype=wp.mat33),
    }
    values.update(extra or {})
    args = [a.label for a in kernel.adj.args]
    assert tuple(args[: len(COLLIDER_ARGS)]) == COLLIDER_ARGS, f"{kernel.key} does not start with COLLIDER_ARGS"
    wp.launch(kernel, dim=(1, 1), inputs=[values[a] for a in args], device="cpu")
    dist = values["contact_dist"].numpy()[0]
    pos = values["contact_pos"].numpy()[0]
    frame = values["contact_frame"].numpy()[0]
    # contact positions are relative to the tree origin of collision.common.contact_root: geom2's, or geom1's when
    # geom2 belongs to the world
    root = geom_root[g2] if geom_root[g2] != 0 else geom_root[g1]
    origin = root_origin[0, root] - shift
    return [dict(dist=float(dist[i]), pos=pos[i] + origin, frame=frame[i], geom=(g1, g2))
            for i in range(maxcon) if dist[i] < 1e29]  # fmt: skip


def assert_same_contacts(ours: list[dict], theirs: list[dict], *, atol: float = 1e-4, check_frame: bool = True):
    """Same number of contacts, and each of MuJoCo's matched (by position) by one of ours with the same distance,
    position and normal (and tangents when ``check_frame``) within ``atol``."""
    assert len(ours) == len(theirs), f"{len(ours)} contacts, MuJoCo has {len(theirs)}:\n{ours}\n{theirs}"
    unused = list(range(len(ours)))
    for c in theirs:
        j = min(unused, key=lambda k: np.linalg.norm(ours[k]["pos"] - c["pos"]) + abs(ours[k]["dist"] - c["dist"]))
        o = ours[j]
        unused.remove(j)
        assert o["geom"] == c["geom"], (o["geom"], c["geom"])
        assert abs(o["dist"] - c["dist"]) < atol, (o["dist"], c["dist"])
        assert np.abs(o["pos"] - c["pos"]).max() < atol, (o["pos"], c["pos"])
        rows = 3 if check_frame else 1
        assert np.abs(o["frame"][:rows] - c["frame"][:rows]).max() < 10 * atol, (o["frame"], c["frame"])


def random_quat(rng: np.random.Generator) -> np.ndarray:
    q = rng.normal(size=4)
    return q / np.linalg.norm(q)
