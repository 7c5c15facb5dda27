"""Primitive colliders against MuJoCo's mj_collision, pair type by pair type: random configurations near contact
(touching, separated, deep; with and without margin; at the origin and 10 km away), the configurations people care
about, and gradients of the contact distance against finite differences."""

import zlib

import mujoco
import numpy as np
import pytest
import warp as wp
from collision_harness import (
    TYPE_NAMES,
    assert_same_contacts,
    mujoco_contacts,
    place,
    random_quat,
    run_collider,
    two_geom_model,
)

from worldsim.physics.collision.common import COLLIDER_ARGS
from worldsim.physics.collision.primitive import PRIMITIVE_COLLIDERS

FAR = (1e4, -2e3, 5.0)  # origin shift: the same contacts must come out 10 km away
TILTED_PLANE = '<geom type="plane" size="5 5 .1" quat="0.9 0.1 0.2 0"/>'
FLAT_PLANE = '<geom type="plane" size="5 5 .1"/>'

# geoms for the random tests; same-type pairs use the second entry as geom2
SHAPES = {
    "sphere": ('<geom type="sphere" size=".1"/>', '<geom type="sphere" size=".07"/>'),
    "capsule": ('<geom type="capsule" size=".05 .15"/>', '<geom type="capsule" size=".04 .2"/>'),
    "cylinder": ('<geom type="cylinder" size=".08 .12"/>', '<geom type="cylinder" size=".08 .12"/>'),
    "box": ('<geom type="box" size=".1 .15 .07"/>', '<geom type="box" size=".12 .05 .09"/>'),
}

PAIRS = [(TYPE_NAMES[t1], TYPE_NAMES[t2]) for t1, t2 in PRIMITIVE_COLLIDERS]

#: the largest deviation from MuJoCo seen per pair (distance / position / frame), printed with ``pytest -s``
DEVIATIONS: dict[str, np.ndarray] = {}


def with_margin(geom: str, margin: float) -> str:
    return geom if margin == 0 else geom.replace("/>", f' margin="{margin}"/>')


def pair_model(name1: str, name2: str, margin: float = 0.0) -> mujoco.MjModel:
    geom1 = TILTED_PLANE if name1 == "plane" else SHAPES[name1][0]
    geom2 = SHAPES[name2][1] if name1 == name2 else SHAPES[name2][0]
    return two_geom_model(geom1, with_margin(geom2, margin))


def collider(mjm: mujoco.MjModel):
    t1, t2 = sorted(int(t) for t in mjm.geom_type)
    return PRIMITIVE_COLLIDERS[(t1, t2)]


def deviation(ours: list[dict], theirs: list[dict]) -> np.ndarray:
    """Largest |difference| of (dist, pos, frame) between matched contacts (matched as assert_same_contacts)."""
    dev = np.zeros(3)
    unused = list(range(len(ours)))
    for c in theirs:
        j = min(unused, key=lambda k: np.linalg.norm(ours[k]["pos"] - c["pos"]) + abs(ours[k]["dist"] - c["dist"]))
        unused.remove(j)
        o = ours[j]
        dev = np.maximum(dev, [abs(o["dist"] - c["dist"]), np.abs(o["pos"] - c["pos"]).max(),
                               np.abs(o["frame"] - c["frame"]).max()])  # fmt: skip
    return dev


def check(mjm: mujoco.MjModel, d: mujoco.MjData, atol: float = 1e-4, key: str | None = None,
          check_frame: bool = True) -> list[dict]:  # fmt: skip
    """Our contacts equal MuJoCo's at the origin and shifted far away; returns MuJoCo's contacts."""
    kernel, maxcon = collider(mjm)
    theirs = mujoco_contacts(d)
    assert len(theirs) <= maxcon
    for shift in [(0.0, 0.0, 0.0), FAR]:
        ours = run_collider(kernel, mjm, d, maxcon, origin_shift=shift)
        assert_same_contacts(ours, theirs, atol=atol, check_frame=check_frame)
        if key is not None:
            DEVIATIONS[key] = np.maximum(DEVIATIONS.get(key, np.zeros(3)), deviation(ours, theirs))
    return theirs


def core_point(rng: np.random.Generator, mjm: mujoco.MjModel, g: int) -> tuple[np.ndarray, float]:
    """A random point of geom g's "core" (local frame: centre, axis segment or inner box) and its thickness there."""
    size = mjm.geom_size[g]
    u = rng.uniform(-1, 1, 3)
    match TYPE_NAMES[int(mjm.geom_type[g])]:
        case "sphere":
            return np.zeros(3), size[0]
        case "capsule":
            return np.array([0, 0, u[2] * size[1]]), size[0]
        case "cylinder":
            return np.array([0.5 * u[0] * size[0], 0.5 * u[1] * size[0], u[2] * size[1]]), 0.5 * min(size[0], size[1])
        case _:  # box
            return 0.8 * u * size, 0.5 * size.min()


def random_poses(rng: np.random.Generator, mjm: mujoco.MjModel) -> list[tuple[np.ndarray, np.ndarray]]:
    """Poses of the free bodies near contact: from deep overlap to beyond touching. A random point of geom2's
    core is put at a random distance from the plane, or from a random point of geom1's core."""
    quat2 = random_quat(rng)
    mat2 = np.zeros(9)
    mujoco.mju_quat2Mat(mat2, quat2)
    core2, thick2 = core_point(rng, mjm, 1)
    offset2 = mat2.reshape(3, 3) @ core2  # from geom2's centre to its core point
    if mjm.geom_type[0] == mujoco.mjtGeom.mjGEOM_PLANE:
        mat1 = np.zeros(9)
        mujoco.mju_quat2Mat(mat1, mjm.geom_quat[0])
        normal = mat1.reshape(3, 3)[:, 2]
        height = rng.choice([rng.uniform(-0.5, 3.0), rng.uniform(0.8, 1.4)]) * thick2
        return [(rng.uniform(-0.3, 0.3, 3) + height * normal - offset2, quat2)]
    pos1, quat1 = rng.uniform(-0.1, 0.1, 3), random_quat(rng)
    mat1 = np.zeros(9)
    mujoco.mju_quat2Mat(mat1, quat1)
    core1, thick1 = core_point(rng, mjm, 0)
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction)
    reach = rng.choice([rng.uniform(-0.3, 4.0), rng.uniform(0.8, 1.4)]) * (thick1 + thick2)
    return [(pos1, quat1), (pos1 + mat1.reshape(3, 3) @ core1 + reach * direction - offset2, quat2)]


@pytest.mark.parametrize("margin", [0.0, 0.02])
@pytest.mark.parametrize("name1,name2", PAIRS)
def test_random_configurations_match_mujoco(name1, name2, margin):
    mjm = pair_model(name1, name2, margin)
    rng = np.random.default_rng(zlib.crc32(f"{name1}-{name2}-{margin}".encode()))
    n = 150
    key = f"{name1}-{name2}-{margin}"
    contacts = [check(mjm, place(mjm, random_poses(rng, mjm)), key=key) for _ in range(n)]
    counts = [len(c) for c in contacts]
    # beyond assert_same_contacts' 1e-4: distances and positions agree to float32 rounding
    dev = DEVIATIONS[key]
    assert dev[0] < 1e-6 and dev[1] < 1e-5 and dev[2] < 1e-3, (key, dev)
    print(f"{name1}-{name2} margin {margin}: configurations by contact count {np.bincount(counts)}")
    # the loop compared real contacts (many configurations touch, some deeply), and misses too
    assert sum(c > 0 for c in counts) >= n // 4, np.bincount(counts)
    assert sum(c == 0 for c in counts) >= 3, np.bincount(counts)
    dists = np.array([c["dist"] for cs in contacts for c in cs])
    assert (dists < -0.02).sum() >= 5, dists  # deep
    if margin > 0:  # contacts inside the margin band (positive distance) were compared as well
        assert ((dists > 0) & (dists <= margin)).sum() >= 3, dists


def test_max_contacts_are_mujocos():
    for (t1, t2), (kernel, maxcon) in PRIMITIVE_COLLIDERS.items():
        mjm = pair_model(TYPE_NAMES[t1], TYPE_NAMES[t2])
        assert maxcon == mujoco.mj_maxContact(mjm, 0, 1, 0), (TYPE_NAMES[t1], TYPE_NAMES[t2])
        assert tuple(a.label for a in kernel.adj.args) == COLLIDER_ARGS


# ----------------------------------------------------------------------------------------------------------------
# the configurations people care about


def quat_axis_angle(axis, degrees: float) -> np.ndarray:
    q = np.zeros(4)
    mujoco.mju_axisAngle2Quat(q, np.asarray(axis, dtype=float), np.deg2rad(degrees))
    return q


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    q = np.zeros(4)
    mujoco.mju_mulQuat(q, a, b)
    return q


def lowest_point(quat: np.ndarray, half: np.ndarray) -> float:
    """Depth of a box's lowest corner below its centre."""
    mat = np.zeros(9)
    mujoco.mju_quat2Mat(mat, quat)
    return float(np.abs(mat.reshape(3, 3)[2]) @ half)


ID = np.array([1.0, 0, 0, 0])
YAW20, YAW30 = quat_axis_angle([0, 0, 1], 20), quat_axis_angle([0, 0, 1], 30)
ROLL30, ROLL45 = quat_axis_angle([1, 0, 0], 30), quat_axis_angle([1, 0, 0], 45)
ALONG_X, ALONG_Y = quat_axis_angle([0, 1, 0], 90), quat_axis_angle([1, 0, 0], 90)  # capsule/cylinder axis along x, y
PITCH45 = quat_axis_angle([0, 1, 0], 45)
BOX = '<geom type="box" size=".1 .1 .05"/>'
WIDE_BOX = '<geom type="box" size=".2 .2 .05"/>'
CUBE = '<geom type="box" size=".1 .1 .1"/>'
CYLINDER = '<geom type="cylinder" size=".1 .2"/>'

# name: (geom1, geom2, poses of the free bodies, MuJoCo's contact count); every contact 1 mm deep unless said
CONFIGURATIONS = {
    "box flat on plane": (FLAT_PLANE, '<geom type="box" size=".1 .15 .05"/>', [((0.3, -0.2, 0.049), YAW20)], 4),
    "box on box aligned": (BOX, BOX, [((0, 0, 0), ID), ((0, 0, 0.099), ID)], 4),
    "box on box offset 2 cm": (BOX, BOX, [((0, 0, 0), ID), ((0.02, 0, 0.099), ID)], 4),
    "box on box yawed 30 deg": (BOX, BOX, [((0, 0, 0), ID), ((0, 0, 0.099), YAW30)], 8),
    "small box on wide box yawed 30 deg": (WIDE_BOX, BOX, [((0, 0, 0), ID), ((0.03, 0.01, 0.099), YAW30)], 4),
    "box tilted edge-on-face": (
        WIDE_BOX, BOX, [((0, 0, 0), ID), ((0.02, 0, 0.049 + lowest_point(ROLL30, np.array([0.1, 0.1, 0.05]))), ROLL30)],
        2,
    ),
    "edge-edge crossing boxes": (
        CUBE, CUBE, [((0, 0, 0), ROLL45), ((0.01, 0.02, 0.2 * np.sqrt(2) - 0.003), PITCH45)], 1,
    ),
    "capsule lying on a box face": (
        '<geom type="capsule" size=".05 .1"/>', '<geom type="box" size=".3 .3 .1"/>',
        [((0.05, 0.02, 0.149), ALONG_X), ((0, 0, 0), ID)], 2,
    ),
    "capsule lying across a box": (
        '<geom type="capsule" size=".05 .4"/>', WIDE_BOX.replace(".05", ".1"),
        [((0.0, 0.02, 0.149), ALONG_X), ((0, 0, 0), ID)], 2,
    ),
    "capsule-capsule parallel": (
        '<geom type="capsule" size=".05 .2"/>', '<geom type="capsule" size=".05 .15"/>',
        [((0, 0, 0), ALONG_X), ((0.1, 0, 0.099), ALONG_X)], 2,
    ),
    "capsule-capsule parallel, end to end": (
        '<geom type="capsule" size=".05 .2"/>', '<geom type="capsule" size=".05 .15"/>',
        [((0, 0, 0), ALONG_X), ((0.36, 0, 0.06), ALONG_X)], 2,  # the same contact twice, as MuJoCo
    ),
    "capsule-capsule 5e-5 rad from parallel": (
        '<geom type="capsule" size=".05 .2"/>', '<geom type="capsule" size=".05 .15"/>',
        [((0, 0, 0), ALONG_X), ((0.1, 0.01, 0.095), quat_axis_angle([0, 1, 0], 90 + np.rad2deg(5e-5)))], 2,
    ),
    "capsule-capsule 3e-4 rad from parallel": (
        '<geom type="capsule" size=".05 .2"/>', '<geom type="capsule" size=".05 .15"/>',
        [((0, 0, 0), ALONG_X), ((0.1, 0.01, 0.095), quat_axis_angle([0, 1, 0], 90 + np.rad2deg(3e-4)))], 1,
    ),
    "capsule-capsule crossed": (
        '<geom type="capsule" size=".05 .2"/>', '<geom type="capsule" size=".05 .15"/>',
        [((0, 0, 0), ALONG_X), ((0.03, 0.02, 0.099), ALONG_Y)], 1,
    ),
    "capsule upright on plane": (FLAT_PLANE, '<geom type="capsule" size=".05 .2"/>', [((0.1, 0.2, 0.249), ID)], 1),
    "capsule lying on plane": (FLAT_PLANE, '<geom type="capsule" size=".05 .2"/>', [((0.1, 0.2, 0.049), ALONG_Y)], 2),
    "cylinder upright on plane": (FLAT_PLANE, CYLINDER, [((0.1, 0.2, 0.199), ID)], 3),
    "cylinder lying on plane": (FLAT_PLANE, CYLINDER, [((0.1, 0.2, 0.099), ALONG_Y)], 2),
    "cylinder tilted 20 deg on plane": (FLAT_PLANE, CYLINDER, [((0.1, 0.2, 0.2), quat_axis_angle([1, 1, 0], 20))], 1),
    "cylinder tilted 3 deg on plane, 1 cm deep": (
        FLAT_PLANE, CYLINDER, [((0.1, 0.2, 0.2 * np.cos(np.deg2rad(3)) + 0.1 * np.sin(np.deg2rad(3)) - 0.01),
                                quat_axis_angle([1, 1, 0], 3))], 3,
    ),
    "sphere deep inside a box": (
        '<geom type="sphere" size=".05"/>', '<geom type="box" size=".2 .15 .1"/>',
        [((0.03, 0.1, -0.02), ID), ((0, 0, 0), ID)], 1,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", CONFIGURATIONS)
def test_configuration_matches_mujoco(name):
    geom1, geom2, poses, count = CONFIGURATIONS[name]
    mjm = two_geom_model(geom1, geom2)
    d = place(mjm, [(np.asarray(pos, dtype=float), quat) for pos, quat in poses])
    assert len(check(mjm, d, atol=2e-5)) == count  # MuJoCo's count: the configuration is what its name says


def assert_subset(ours: list[dict], theirs: list[dict], atol: float):
    """Each of our contacts is one of MuJoCo's (same dist, position and normal)."""
    for o in ours:
        j = min(range(len(theirs)), key=lambda k: np.linalg.norm(theirs[k]["pos"] - o["pos"]))
        c = theirs[j]
        assert abs(o["dist"] - c["dist"]) < atol and np.abs(o["pos"] - c["pos"]).max() < atol, (o, c)
        assert np.abs(o["frame"][0] - c["frame"][0]).max() < 10 * atol, (o, c)


@pytest.mark.parametrize("name", CONFIGURATIONS)
def test_rotated_configuration_matches_mujoco(name):
    """The same configurations with the whole scene rotated: exact alignments now carry rounding noise (1e-16 in
    MuJoCo, 1e-8 in float32), and the colliders must not turn that noise into different contacts.

    One exception is MuJoCo's own: for box faces whose edges lie along each other (equal boxes stacked), MuJoCo's
    rounding sometimes puts an incident corner a hair outside the reference face, and the clipping adds vertices
    along the shared edge (5 to 8 contacts instead of 4). Our clipping treats vertices within float32 rounding of a
    side as on it and keeps the 4 corners, which are then among MuJoCo's contacts.
    """
    geom1, geom2, poses, count = CONFIGURATIONS[name]
    # a capsule lying exactly along a box face that it overhangs: MuJoCo's count (1 or 2) follows the sign of a
    # 1e-16 tilt of the capsule axis, below float32; there, each of the two sets must be part of the other
    ambiguous = name == "capsule lying across a box"
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    exact = 0
    for _ in range(20):
        rotation = random_quat(rng)
        if geom1.startswith('<geom type="plane"'):  # rotate the plane with the scene
            mjm = two_geom_model(geom1.replace("/>", f' quat="{" ".join(map(str, rotation))}"/>'), geom2)
            rotation = mjm.geom_quat[0]
        else:
            mjm = two_geom_model(geom1, geom2)
        rotated = []
        for pos, quat in poses:
            world = np.zeros(3)
            mujoco.mju_rotVecQuat(world, np.asarray(pos, dtype=float), rotation)
            rotated.append((world, quat_mul(rotation, quat)))
        d = place(mjm, rotated)
        kernel, maxcon = collider(mjm)
        theirs = mujoco_contacts(d)
        if len(theirs) > count and mjm.geom_type[0] == mjm.geom_type[1] == mujoco.mjtGeom.mjGEOM_BOX:
            ours = run_collider(kernel, mjm, d, maxcon)
            assert len(ours) == count
            assert_subset(ours, theirs, atol=2e-5)
            continue
        if ambiguous:
            ours = run_collider(kernel, mjm, d, maxcon)
            assert len(ours) in (1, 2) and len(theirs) in (1, 2)
            small, large = sorted((ours, theirs), key=len)
            assert_subset(small, large, atol=2e-5)
            exact += 1
            continue
        # an upright capsule on a tilted plane: MuJoCo's tangent is (1, 0, 0) itself, not orthogonal to the normal
        # (its fallback when the capsule axis is along the normal); ours is (1, 0, 0) made orthogonal to it
        upright_capsule = name == "capsule upright on plane"
        assert len(check(mjm, d, atol=2e-5, check_frame=not upright_capsule)) == count
        exact += 1
    assert exact >= 15


# ----------------------------------------------------------------------------------------------------------------
# gradients


def collider_inputs(mjm: mujoco.MjModel, d: mujoco.MjData, maxcon: int) -> tuple[dict, int]:
    """The collider arguments for the pair (geom 0, geom 1) with every tree origin at the world origin, gradients
    on geom_xpos and the contacts; returns (arguments, geom2)."""
    g1, g2 = (0, 1) if mjm.geom_type[0] <= mjm.geom_type[1] else (1, 0)
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
        "geom_rootid": wp.array(mjm.body_rootid[mjm.geom_bodyid].astype(np.int32), dtype=wp.int32),
        "geom_xpos": wp.array(d.geom_xpos[None].astype(np.float32), dtype=wp.vec3, requires_grad=True),
        "geom_xmat": wp.array(d.geom_xmat.reshape(1, -1, 3, 3).astype(np.float32), dtype=wp.mat33, requires_grad=True),
        "root_origin": wp.zeros((1, mjm.nbody), dtype=wp.vec3, requires_grad=True),
        "contact_dist": wp.zeros((1, maxcon), dtype=wp.float32, requires_grad=True),
        "contact_pos": wp.zeros((1, maxcon), dtype=wp.vec3, requires_grad=True),
        "contact_frame": wp.zeros((1, maxcon), dtype=wp.mat33, requires_grad=True),
    }
    return values, g2


def launch(kernel, values: dict) -> np.ndarray:
    wp.launch(kernel, dim=(1, 1), inputs=[values[a.label] for a in kernel.adj.args], device="cpu")
    return values["contact_dist"].numpy()[0].copy()


def dist_gradients(kernel, values: dict, g2: int) -> tuple[np.ndarray, np.ndarray]:
    """contact_dist and, per slot, its gradient w.r.t. geom2's position (reverse mode)."""
    tape = wp.Tape()
    with tape:
        dist = launch(kernel, values)
    grads = np.zeros((len(dist), 3))
    for slot in np.flatnonzero(dist < 1e29):
        seed = np.zeros((1, len(dist)), dtype=np.float32)
        seed[0, slot] = 1.0
        tape.backward(grads={values["contact_dist"]: wp.array(seed, dtype=wp.float32)})
        grads[slot] = values["geom_xpos"].grad.numpy()[0, g2]
        tape.zero()
    return dist, grads


def finite_differences(kernel, values: dict, g2: int, h: float = 2e-4) -> np.ndarray | None:
    """Central differences of contact_dist w.r.t. geom2's position; None when a step changes which slots hold
    contacts (the configuration sits on a switch)."""
    xpos = values["geom_xpos"].numpy().copy()  # (on the CPU numpy() is a view of the array)
    valid = launch(kernel, values) < 1e29
    fd = np.zeros((len(valid), 3))
    for k in range(3):
        steps = []
        for sign in (1, -1):
            moved = xpos.copy()
            moved[0, g2, k] += sign * h
            values["geom_xpos"].assign(moved)
            dist = launch(kernel, values)
            if not np.array_equal(dist < 1e29, valid):
                values["geom_xpos"].assign(xpos)
                return None
            steps.append(dist)
        fd[:, k] = np.where(valid, (steps[0] - steps[1]) / (2 * h), 0.0)
    values["geom_xpos"].assign(xpos)
    return fd


@pytest.mark.parametrize("name1,name2", PAIRS)
def test_dist_gradient_matches_finite_differences(name1, name2):
    mjm = pair_model(name1, name2, margin=0.01)
    kernel, maxcon = collider(mjm)
    rng = np.random.default_rng(zlib.crc32(f"grad-{name1}-{name2}".encode()))
    checked = 0
    for _ in range(60):
        d = place(mjm, random_poses(rng, mjm))
        if d.ncon == 0:
            continue
        values, g2 = collider_inputs(mjm, d, maxcon)
        dist, grads = dist_gradients(kernel, values, g2)
        fd = finite_differences(kernel, values, g2)
        fd_half = finite_differences(kernel, values, g2, h=1e-4)
        if fd is None or fd_half is None or np.abs(fd - fd_half).max() > 1e-3:
            continue  # a switch or kink within the step (e.g. two capsule axes a step apart): FD says nothing there
        assert np.isfinite(grads).all()
        np.testing.assert_allclose(grads, fd, atol=5e-4, err_msg=f"dist {dist}")
        checked += 1
        if checked == 8:
            break
    assert checked >= 5


def test_dist_gradient_of_resting_contacts():
    """The explicit resting configurations: d(dist)/d(pos2) is the contact normal (pushing geom2 along the normal
    separates it at unit rate)."""
    for name in ["box flat on plane", "box on box offset 2 cm", "box on box yawed 30 deg", "capsule-capsule parallel",
                 "capsule-capsule crossed", "edge-edge crossing boxes", "capsule lying on a box face"]:  # fmt: skip
        geom1, geom2, poses, count = CONFIGURATIONS[name]
        mjm = two_geom_model(geom1, geom2)
        d = place(mjm, [(np.asarray(pos, dtype=float), quat) for pos, quat in poses])
        kernel, maxcon = collider(mjm)
        values, g2 = collider_inputs(mjm, d, maxcon)
        dist, grads = dist_gradients(kernel, values, g2)
        normals = values["contact_frame"].numpy()[0, :, 0]
        valid = dist < 1e29
        assert valid.sum() == count, name
        np.testing.assert_allclose(grads[valid], normals[valid], atol=1e-5, err_msg=name)


def test_plane_sphere_matches_mujoco():
    mjm = two_geom_model('<geom type="plane" size="1 1 .1" quat="0.9 0.1 0.2 0"/>', '<geom type="sphere" size=".1"/>')
    kernel, maxcon = PRIMITIVE_COLLIDERS[(0, 2)]
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(20):
        d = place(mjm, [(rng.uniform(-0.2, 0.2, 3), random_quat(rng))])
        theirs = mujoco_contacts(d)
        hits += len(theirs)
        for shift in [(0, 0, 0), (1e4, -2e3, 5.0)]:
            assert_same_contacts(run_collider(kernel, mjm, d, maxcon, origin_shift=shift), theirs, atol=2e-5)
    assert hits >= 5  # the loop checked real contacts, not only misses


def test_nearly_antiparallel_capsules_far_apart_along_their_line():
    """Two arms of a humanoid in a T-pose (humanoid_CMU's radii): capsules on nearly one line, 1 m apart, axes
    2e-4 rad from anti-parallel. float32 round-off in the closest-point solve once reported a deep contact here."""
    mjm = two_geom_model('<geom type="capsule" size=".03 .06"/>', '<geom type="capsule" size=".03 .06"/>')
    kernel, maxcon = PRIMITIVE_COLLIDERS[(3, 3)]
    q1 = np.array([0.49646055, 0.50347991, -0.49653653, -0.50347431])
    q2 = np.array([0.49652159, 0.5035429, 0.49640804, 0.50347783])
    p1, p2 = np.array([0.5405052, -0.0056029, 2.40344781]), np.array([-0.53949484, -0.00563249, 2.40348035])
    for shift in (0.0, 0.3, 0.9):  # far apart, then overlapping along the line
        d = place(mjm, [(p1 - [shift, 0, 0], q1), (p2, q2)])
        assert_same_contacts(run_collider(kernel, mjm, d, maxcon), mujoco_contacts(d), atol=1e-4)
