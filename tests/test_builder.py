"""ModelBuilder produces the same Model as the equivalent MJCF file."""

import numpy as np
import pytest
import torch

import worldsim
from worldsim import ModelBuilder


def build_scene() -> ModelBuilder:
    """tests/assets/builder_scene.xml, written with the builder."""
    b = ModelBuilder(timestep=0.002, integrator="RK4")
    b.add_ground_plane(friction=0.8)
    upper = b.add_body(pos=(0, 0, 1), name="upper")
    shoulder = b.add_joint_hinge(upper, axis=(0, 1, 0), damping=0.1, armature=0.01, limits=(-1.5, 1.5))
    b.add_shape_capsule(upper, radius=0.04, half_height=0.2, pos=(0.2, 0, 0), quat=(0.7071068, 0, 0.7071068, 0),
                        mass=1.0)  # fmt: skip
    lower = b.add_body(upper, pos=(0.4, 0, 0), name="lower")
    elbow = b.add_joint_hinge(lower, axis=(0, 1, 0), stiffness=2.0, springref=0.2)
    b.add_shape_box(lower, half_extents=(0.15, 0.03, 0.03), pos=(0.15, 0, 0), mass=0.5)
    ball = b.add_body(pos=(0.3, 0, 0.3), name="ball")
    b.add_joint_free(ball)
    b.add_shape_sphere(ball, radius=0.08, mass=0.3, friction=0.8)
    can = b.add_body(pos=(-0.5, 0, 0.2), quat=(0.9238795, 0.3826834, 0, 0), name="can")
    b.add_joint_free(can)
    b.add_shape_cylinder(can, radius=0.05, half_height=0.1, mass=0.4, friction=0.8)
    b.add_actuator_motor(shoulder, gear=5.0, ctrlrange=(-1, 1))
    b.add_actuator_motor(elbow, gear=2.0, ctrlrange=(-1, 1))
    return b


def test_builder_and_mjcf_step_identically(asset):
    built = build_scene().finalize(num_worlds=2)
    loaded = worldsim.load_mjcf(asset("builder_scene.xml"), num_worlds=2)
    for attr in ("nq", "nv", "nu", "nbody", "ngeom", "nslot", "timestep", "integrator"):
        assert getattr(built, attr) == getattr(loaded, attr), attr
    for name, value in loaded.get_params().items():
        torch.testing.assert_close(built.get_params()[name], value, rtol=1e-6, atol=1e-7, msg=name)
    qpos0, qvel0 = loaded.default_state()
    ctrl = torch.sin(torch.linspace(0, 20, 300 * 2 * 2)).reshape(300, 2, 2)
    q_built, v_built = worldsim.rollout(built, qpos0, qvel0, ctrl)
    q_loaded, v_loaded = worldsim.rollout(loaded, qpos0, qvel0, ctrl)
    torch.testing.assert_close(q_built, q_loaded, rtol=0, atol=1e-6)
    torch.testing.assert_close(v_built, v_loaded, rtol=0, atol=1e-5)
    assert q_built[-1, 0, 4] < 0.2  # the ball fell and rests on the ground (contact in the comparison)
    can_z = q_built[-1, 0, 11].item()
    assert abs(can_z - 0.05) < 3e-3 or abs(can_z - 0.1) < 3e-3  # the cylinder rests on its side or a cap


def test_to_xml_round_trip(tmp_path):
    path = tmp_path / "scene.xml"
    path.write_text(build_scene().to_xml())
    model = worldsim.load_mjcf(path)
    assert (model.nq, model.nv, model.nu) == (2 + 7 + 7, 2 + 6 + 6, 2)


def test_builder_errors():
    b = ModelBuilder()
    with pytest.raises(ValueError, match="integrator must be one of"):
        ModelBuilder(integrator="implicit")
    with pytest.raises(ValueError, match="radius must be a positive number"):
        b.add_shape_sphere(ModelBuilder.WORLD, radius=-1.0)
    with pytest.raises(ValueError, match="body handle 3 does not exist"):
        b.add_joint_hinge(3)
    with pytest.raises(ValueError, match="the world body cannot have one"):
        b.add_joint_free(ModelBuilder.WORLD)
    body = b.add_body()
    with pytest.raises(ValueError, match=r"limits must be \(lo, hi\) with lo < hi"):
        b.add_joint_hinge(body, limits=(1.0, -1.0))
    with pytest.raises(ValueError, match="joint handle 7 does not exist"):
        b.add_actuator_motor(7)
    with pytest.raises(ValueError, match="pos must be 3 finite numbers"):
        b.add_body(pos=(0.0, np.nan, 0.0))
