"""Every collision pair: shape B dropped onto a static shape A comes to rest at the height geometry predicts.

The README's collision table lists which pairs are exact and which approximate; each row is exercised here
with B centred above A (a symmetric rest, so even a sphere stays on a sphere).
"""

import math

import pytest
import torch

import worldsim
from worldsim import ModelBuilder

LYING = (math.cos(math.pi / 4), math.sin(math.pi / 4), 0.0, 0.0)  # local z axis turned horizontal (about x)
CROSSED = (0.5, 0.5, 0.5, 0.5)  # local z axis along world x


def add(b: ModelBuilder, body: int, shape: str, quat=(1.0, 0.0, 0.0, 0.0)):
    if shape == "sphere":
        b.add_shape_sphere(body, radius=0.1, quat=quat, mass=1.0)
    elif shape == "capsule":
        b.add_shape_capsule(body, radius=0.05, half_height=0.1, quat=quat, mass=1.0)
    elif shape == "box":
        b.add_shape_box(body, half_extents=(0.1, 0.1, 0.1), quat=quat, mass=1.0)
    elif shape == "cylinder":
        b.add_shape_cylinder(body, radius=0.1, half_height=0.05, quat=quat, mass=1.0)


# (A, A orientation, A top height, B, B orientation, B half height along z) ; A is static at the origin
CASES = [
    ("plane", None, 0.0, "sphere", None, 0.1),
    ("plane", None, 0.0, "capsule", LYING, 0.05),
    ("plane", None, 0.0, "box", None, 0.1),
    ("plane", None, 0.0, "cylinder", None, 0.05),
    ("plane", None, 0.0, "cylinder", LYING, 0.1),
    ("sphere", None, 0.1, "sphere", None, 0.1),
    ("capsule", LYING, 0.05, "sphere", None, 0.1),
    ("capsule", LYING, 0.05, "capsule", CROSSED, 0.05),
    ("box", None, 0.1, "sphere", None, 0.1),
    ("box", None, 0.1, "capsule", LYING, 0.05),
    ("box", None, 0.1, "box", None, 0.1),
    ("box", None, 0.1, "cylinder", None, 0.05),
    ("cylinder", None, 0.05, "sphere", None, 0.1),
    ("cylinder", None, 0.05, "box", None, 0.1),
    ("cylinder", None, 0.05, "cylinder", None, 0.05),
    ("cylinder", None, 0.05, "capsule", LYING, 0.05),
]


@pytest.mark.parametrize("a, a_quat, a_top, b_shape, b_quat, b_half", CASES)
def test_shape_rests_on_shape(a, a_quat, a_top, b_shape, b_quat, b_half):
    b = ModelBuilder()
    if a == "plane":
        b.add_ground_plane()
    else:
        base = b.add_body(pos=(0, 0, 0))  # no joint: welded to the world
        add(b, base, a, a_quat or (1.0, 0.0, 0.0, 0.0))
    body = b.add_body(pos=(0, 0, a_top + b_half + 0.05))
    b.add_joint_free(body)
    add(b, body, b_shape, b_quat or (1.0, 0.0, 0.0, 0.0))
    model = b.finalize()
    qpos0, qvel0 = model.default_state()
    qs, vs = worldsim.rollout(model, qpos0, qvel0, torch.zeros(750, 1, 0))
    rest = a_top + b_half
    assert abs(qs[-1, 0, 2].item() - rest) < 3e-3, (qs[-1, 0, 2].item(), rest)
    assert vs[-1, 0].abs().max() < 2e-2
