"""Which geom pairs can touch: MuJoCo's filters (contype/conaffinity, parent-child, <exclude>, filterparent), and
the pairs MuJoCo's own collision detection finds are all among worldsim's candidate pairs."""

import mujoco
import numpy as np
import torch

import worldsim


def _pairs(model):
    names = model.names["geom"]
    g1 = model.const["pair_geom1"].numpy()[: model.npair]
    g2 = model.const["pair_geom2"].numpy()[: model.npair]
    return {tuple(sorted((names[a], names[b]))) for a, b in zip(g1, g2, strict=True)}


def test_contype_conaffinity_and_parent_child_filtering(asset):
    """Pairs follow MuJoCo: contype/conaffinity masks, no parent-child contact, world pairs kept."""
    model = worldsim.load_mjcf(asset("filtering.xml"))
    pairs = _pairs(model)
    assert ("floor", "ghost") not in pairs  # contype 2 vs floor's conaffinity 1
    assert ("lower", "upper") not in pairs and ("hand", "lower") not in pairs  # parent-child
    assert ("hand", "upper") in pairs  # grandparent: collides, as in MuJoCo
    assert ("ball2", "floor") in pairs and ("floor", "hand") in pairs
    # the ghost sphere falls through the floor
    qpos0, qvel0 = model.default_state()
    qs, _ = worldsim.rollout(model, qpos0, qvel0, torch.zeros(400, 1, 0))
    assert qs[-1, 0, 2] < -0.2


def test_mujocos_contacts_are_worldsim_pairs_in_a_crowded_scene(asset):
    """Throw everything of filtering.xml together for 1 s: every pair MuJoCo reports in contact at any step is a
    worldsim candidate pair, and the loop saw contacts (so it checked something)."""
    mj = mujoco.MjModel.from_xml_path(asset("filtering.xml"))
    d = mujoco.MjData(mj)
    rng = np.random.default_rng(0)
    d.qvel[:] = rng.normal(0, 3, mj.nv)
    ours = _pairs(worldsim.from_mjmodel(mj))
    names = worldsim.from_mjmodel(mj).names["geom"]
    seen = 0
    for _ in range(500):
        mujoco.mj_step(mj, d)
        for c in d.contact[: d.ncon]:
            assert tuple(sorted((names[c.geom1], names[c.geom2]))) in ours
            seen += 1
    assert seen > 50


def test_exclude_and_filterparent_flag():
    """<exclude> removes a pair; <flag filterparent="disable"/> makes parent-child pairs collide, as in MuJoCo."""
    xml = """<mujoco><option>{flag}</option><worldbody>
      <body name="a"><joint/><geom name="ga" size="0.1"/>
        <body name="b" pos="0.15 0 0"><joint/><geom name="gb" size="0.1"/></body></body>
      <body name="c" pos="0 0.15 0"><freejoint/><geom name="gc" size="0.1"/></body></worldbody>
      <contact><exclude body1="a" body2="c"/></contact></mujoco>"""
    on = mujoco.MjModel.from_xml_string(xml.format(flag=""))
    off = mujoco.MjModel.from_xml_string(xml.format(flag='<flag filterparent="disable"/>'))
    assert _pairs(worldsim.from_mjmodel(on)) == {("gb", "gc")}
    assert _pairs(worldsim.from_mjmodel(off)) == {("ga", "gb"), ("gb", "gc")}
