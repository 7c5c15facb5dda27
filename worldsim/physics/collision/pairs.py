"""Candidate geom pairs of a model, built once at load time: MuJoCo's filters, contact slots, contact parameters.

A pair (geom1, geom2) exists when MuJoCo would test it (contype/conaffinity bitmasks, not welded together, not a
welded parent-child pair unless ``filterparent`` is disabled, not both static, not ``<exclude>``d) and a collider
exists for its types. geom1 has the lower type, as in MuJoCo, so the contact normal points from a plane into the
other geom. Each pair owns ``maxcon`` consecutive contact slots (MuJoCo's mj_maxContact).

Contact parameters follow MuJoCo's mj_contactParam: with different ``priority`` the higher one's condim,
friction, solref and solimp; with equal priority the larger condim and friction, and solref/solimp mixed with
weight solmix1 / (solmix1 + solmix2) (the smaller of the two for MuJoCo's direct, negative solref).
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from .convex import CONVEX_COLLIDERS, convex_maxcon
from .primitive import PRIMITIVE_COLLIDERS

FRIC_MAX = 0  # equal priority: element-wise max of the two geoms' friction
FRIC_GEOM1 = 1  # geom1 has the higher priority: its parameters
FRIC_GEOM2 = 2


def collider_for(mjm: mujoco.MjModel, g1: int, g2: int):
    """(kernel, maxcon) for the ordered pair, or None if worldsim has no collider for these types."""
    key = (int(mjm.geom_type[g1]), int(mjm.geom_type[g2]))
    if key in PRIMITIVE_COLLIDERS:
        return PRIMITIVE_COLLIDERS[key]
    if key in CONVEX_COLLIDERS:
        return CONVEX_COLLIDERS[key], convex_maxcon(mjm, g1, g2)
    return None


def _filtered(mjm: mujoco.MjModel, b1: int, b2: int, filterparent: bool) -> bool:
    """MuJoCo's body-pair filter (filterBodyPair): True to discard."""
    w1, w2 = int(mjm.body_weldid[b1]), int(mjm.body_weldid[b2])
    if w1 == w2:
        return True
    if mjm.body_dofnum[w1] == 0 and mjm.body_dofnum[w2] == 0:
        return True
    p1 = int(mjm.body_weldid[mjm.body_parentid[w1]])
    p2 = int(mjm.body_weldid[mjm.body_parentid[w2]])
    return filterparent and w1 != 0 and w2 != 0 and (w1 == p2 or w2 == p1)


@dataclass
class PairTable:
    """Arrays over pairs (numpy; the loader moves them to the device) and the collider families."""

    geom1: np.ndarray
    geom2: np.ndarray
    conadr: np.ndarray  # first slot
    maxcon: np.ndarray  # slot count
    margin: np.ndarray  # detection distance: margin + gap
    includemargin: np.ndarray  # a contact enters the solver when dist < includemargin (MuJoCo's margin)
    condim: np.ndarray
    fricmode: np.ndarray  # FRIC_*
    mix: np.ndarray  # weight of geom1's solref/solimp (1 or 0 with different priorities)
    slot_pair: np.ndarray  # [nslot] the pair of each slot
    families: list  # [(kernel, [pair indices])]

    @property
    def npair(self) -> int:
        return len(self.geom1)

    @property
    def nslot(self) -> int:
        return int(self.maxcon.sum())


def build_pairs(mjm: mujoco.MjModel, *, contact: bool = True, filterparent: bool = True,
                override_margin: float | None = None) -> PairTable:  # fmt: skip
    """Every pair MuJoCo could collide in ``mjm`` (none when contacts are disabled)."""
    excluded = {(int(sig) >> 16, int(sig) & 0xFFFF) for sig in mjm.exclude_signature}
    rows = []
    if contact:
        for g1 in range(mjm.ngeom):
            for g2 in range(g1 + 1, mjm.ngeom):
                ok = (mjm.geom_contype[g1] & mjm.geom_conaffinity[g2]) or (
                    mjm.geom_contype[g2] & mjm.geom_conaffinity[g1]
                )
                b1, b2 = int(mjm.geom_bodyid[g1]), int(mjm.geom_bodyid[g2])
                if not ok or _filtered(mjm, b1, b2, filterparent) or (min(b1, b2), max(b1, b2)) in excluded:
                    continue
                a, b = (g1, g2) if mjm.geom_type[g1] <= mjm.geom_type[g2] else (g2, g1)
                found = collider_for(mjm, a, b)
                if found is None:
                    continue  # MuJoCo has no collider either (plane-plane, hfield-plane, ...)
                rows.append((a, b, *found))
    n = len(rows)
    geom1 = np.array([r[0] for r in rows], dtype=np.int32)
    geom2 = np.array([r[1] for r in rows], dtype=np.int32)
    maxcon = np.array([r[3] for r in rows], dtype=np.int32)
    conadr = np.concatenate([[0], np.cumsum(maxcon)[:-1]]).astype(np.int32) if n else np.zeros(0, np.int32)
    if override_margin is not None:
        margin = np.full(n, override_margin)
    else:
        margin = mjm.geom_margin[geom1] + mjm.geom_margin[geom2]
    gap = mjm.geom_gap[geom1] + mjm.geom_gap[geom2]
    condim = np.zeros(n, np.int32)
    fricmode = np.zeros(n, np.int32)
    mix = np.zeros(n, np.float64)
    for i, (a, b, *_rest) in enumerate(rows):
        pa, pb = mjm.geom_priority[a], mjm.geom_priority[b]
        if pa != pb:
            hi = a if pa > pb else b
            condim[i] = mjm.geom_condim[hi]
            fricmode[i] = FRIC_GEOM1 if pa > pb else FRIC_GEOM2
            mix[i] = 1.0 if pa > pb else 0.0
        else:
            condim[i] = max(mjm.geom_condim[a], mjm.geom_condim[b])
            fricmode[i] = FRIC_MAX
            s1, s2 = mjm.geom_solmix[a], mjm.geom_solmix[b]
            eps = 1e-15
            mix[i] = s1 / (s1 + s2) if s1 >= eps and s2 >= eps else 0.5 if s1 < eps and s2 < eps else (
                0.0 if s1 < eps else 1.0)  # fmt: skip
    families: dict = {}
    for i, r in enumerate(rows):
        families.setdefault(r[2], []).append(i)
    return PairTable(
        geom1=geom1, geom2=geom2, conadr=conadr, maxcon=maxcon, margin=(margin + gap).astype(np.float32),
        includemargin=np.asarray(margin, dtype=np.float32), condim=condim, fricmode=fricmode,
        mix=mix.astype(np.float32), slot_pair=np.repeat(np.arange(n, dtype=np.int32), maxcon),
        families=list(families.items()),
    )  # fmt: skip
