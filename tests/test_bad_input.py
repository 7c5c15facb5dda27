"""Bad input gets a ValueError that names the argument and the expected shape; unsupported MJCF names the element."""

import pytest
import torch

import worldsim
from worldsim import MJCFError


@pytest.fixture
def pendulum(asset):
    return worldsim.load_mjcf(asset("pendulum.xml"), num_worlds=2)  # nq = nv = 2, nu = 1


def _ok(model, horizon=3):
    q, v = model.default_state()
    return q, v, torch.zeros(horizon, model.num_worlds, model.nu)


def test_rollout_shapes(pendulum):
    q, v, u = _ok(pendulum)
    with pytest.raises(ValueError, match=r"qpos0 has shape \[2, 3\], expected \[2, 2\]"):
        worldsim.rollout(pendulum, torch.zeros(2, 3), v, u)
    with pytest.raises(ValueError, match=r"qvel0 has shape \[1, 2\], expected \[2, 2\]"):
        worldsim.rollout(pendulum, q, torch.zeros(1, 2), u)
    with pytest.raises(ValueError, match=r"ctrl has shape \[3, 2, 2\], expected \[3, 2, 1\]"):
        worldsim.rollout(pendulum, q, v, torch.zeros(3, 2, 2))
    with pytest.raises(ValueError, match=r"ctrl must be a tensor of shape \[T, 2, 1\], got \[2, 1\]"):
        worldsim.rollout(pendulum, q, v, torch.zeros(2, 1))
    with pytest.raises(ValueError, match="horizon T must be at least 1"):
        worldsim.rollout(pendulum, q, v, torch.zeros(0, 2, 1))


def test_rollout_non_finite(pendulum):
    q, v, u = _ok(pendulum)
    bad = u.clone()
    bad[1, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="ctrl contains NaN or inf"):
        worldsim.rollout(pendulum, q, v, bad)
    with pytest.raises(ValueError, match="qpos0 contains NaN or inf"):
        worldsim.rollout(pendulum, q + float("inf"), v, u)
    with pytest.raises(ValueError, match="qvel0 contains NaN or inf"):
        worldsim.rollout(pendulum, q, v * float("nan"), u)


def test_rollout_params(pendulum):
    q, v, u = _ok(pendulum)
    with pytest.raises(ValueError, match="unknown parameter 'body_masses'"):
        worldsim.rollout(pendulum, q, v, u, params={"body_masses": torch.ones(2, 3)})
    with pytest.raises(ValueError, match=r"params\['body_mass'\] has shape \[2, 4\], expected \[2, 3\]"):
        worldsim.rollout(pendulum, q, v, u, params={"body_mass": torch.ones(2, 4)})
    with pytest.raises(ValueError, match=r"params\['gravity'\] contains NaN or inf"):
        worldsim.rollout(pendulum, q, v, u, params={"gravity": torch.full((2, 3), float("nan"))})
    # a shape that broadcasts is accepted, and differentiated
    g = torch.tensor([0.0, 0.0, -9.81], requires_grad=True)
    qs, _ = worldsim.rollout(pendulum, q + 0.5, v, u, params={"gravity": g})
    qs.sum().backward()
    assert g.grad is not None and g.grad.abs().sum() > 0


def test_set_params_errors(pendulum):
    with pytest.raises(ValueError, match="unknown parameter 'mass'"):
        pendulum.set_params(mass=1.0)
    with pytest.raises(ValueError, match=r"parameter 'dof_damping' has shape \(3,\), expected \(2, 2\)"):
        pendulum.set_params(dof_damping=torch.ones(3))
    with pytest.raises(ValueError, match="parameter 'body_mass' contains NaN or inf"):
        pendulum.set_params(body_mass=float("nan"))
    pendulum.set_params(dof_damping=0.5)  # a scalar broadcasts to every world
    assert torch.all(pendulum.get_params()["dof_damping"] == 0.5)
    with pytest.raises(ValueError, match=r"parameter 'geom_solimp' has shape \(2, 3\), expected \(2, 2, 5\)"):
        pendulum.set_params(geom_solimp=torch.ones(2, 3))


def test_simulator_errors(pendulum):
    sim = worldsim.Simulator(pendulum)
    with pytest.raises(ValueError, match=r"ctrl has shape \[2\], expected \[2, 1\]"):
        sim.step(torch.zeros(2))
    with pytest.raises(ValueError, match="ctrl contains NaN or inf"):
        sim.step(torch.full((2, 1), float("inf")))
    with pytest.raises(ValueError, match=r"qpos has shape \[1, 3\], expected \[1, 2\]"):
        sim.reset(qpos=torch.zeros(1, 3), worlds=[0])
    with pytest.raises(ValueError, match=r"worlds indices must be in \[0, 2\)"):
        sim.reset(worlds=[5])


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="MJCF file not found"):
        worldsim.load_mjcf(tmp_path / "missing.xml")
    with pytest.raises(ValueError, match="num_worlds must be a positive integer"):
        worldsim.load_mjcf(_write(tmp_path, "<body><freejoint/><geom size='0.1'/></body>"), num_worlds=0)
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda"):
        worldsim.load_mjcf(_write(tmp_path, "<body><freejoint/><geom size='0.1'/></body>"), device="tpu")


def _write(tmp_path, body: str, extra: str = "", option: str = "") -> str:
    path = tmp_path / "scene.xml"
    path.write_text(f"<mujoco><option {option}/><worldbody>{body}</worldbody>{extra}</mujoco>")
    return str(path)


@pytest.mark.parametrize(
    "body, extra, option, message",
    [
        ("<body><freejoint/><geom size='.1'/></body>", "", "integrator='implicitfast'",
         "<option> integrator='implicitfast': supported are 'Euler' and 'RK4'"),
        ("<body name='b' gravcomp='1'><freejoint/><geom size='.1'/></body>", "", "",
         "body 'b': attribute 'gravcomp' is not supported"),
        ("<body><joint name='j'/><geom size='.1'/></body>",
         "<actuator><general name='m' joint='j' dyntype='user'/></actuator>", "",
         "actuator 'm': dyntype 'user' is not supported"),
        ("<body><joint name='j'/><geom size='.1'/><site name='s'/></body>",
         "<actuator><general name='a' site='s'/></actuator>", "", "actuator 'a': transmission 'site' is not supported"),
        ("<body><joint name='j'/><geom size='.1'/></body>",
         "<actuator><motor name='a' joint='j' damping='1'/></actuator>", "",
         "actuator 'a': attribute 'damping' is not supported"),
        ("<body><freejoint/><geom name='g' type='sphere' size='.1'/><site name='s1'/></body>"
         "<body pos='1 0 0'><freejoint/><geom size='.1'/><site name='s2'/></body>",
         "<tendon><spatial name='t'><site site='s1'/><geom geom='g'/><site site='s2'/></spatial></tendon>", "",
         "tendon 't': wrapping around a geom"),
        ("<body><freejoint/><geom name='a' size='.1'/></body><body pos='1 0 0'><freejoint/><geom name='b' size='.1'/>"
         "</body>", "<contact><pair geom1='a' geom2='b'/></contact>", "", "element <contact><pair>"),
        ("<body mocap='true'><geom size='.1'/></body>", "", "", "element mocap <body>"),
        ("<body><freejoint/><geom size='.1'/></body>", "", "><flag sleep='enable'/></option><option",
         "<option><flag sleep='enable'/> is not supported"),
        ("<body><freejoint/><geom size='.1'/></body>", "", "cone='elliptic' noslip_iterations='3'",
         "noslip_iterations with cone='elliptic'"),
    ],
)  # fmt: skip
def test_unsupported_mjcf_is_a_clear_error(tmp_path, body, extra, option, message):
    with pytest.raises(MJCFError, match=message.replace("(", r"\(").replace("[", r"\[")):
        worldsim.load_mjcf(_write(tmp_path, body, extra, option))


def test_one_error_lists_every_blocker(tmp_path):
    """A file with three unsupported features gets one error naming all three."""
    body = "<body name='b' gravcomp='1'><joint name='j'/><geom size='.1'/></body>"
    extra = "<actuator><general name='m' joint='j' dyntype='user'/></actuator>"
    with pytest.raises(MJCFError) as err:
        worldsim.load_mjcf(_write(tmp_path, body, extra, "integrator='implicit'"))
    text = str(err.value)
    assert "3 feature(s) not supported" in text
    for piece in ("integrator='implicit'", "body 'b': attribute 'gravcomp'", "actuator 'm': dyntype 'user'"):
        assert piece in text
    problems = worldsim.physics.unsupported_features(_mjmodel(tmp_path, body, extra, "integrator='implicit'"))
    assert len(problems) == 3


def _mjmodel(tmp_path, body, extra, option):
    import mujoco

    return mujoco.MjModel.from_xml_path(_write(tmp_path, body, extra, option))


def test_every_supported_feature_loads(tmp_path):
    """What the old loader refused (ball limits, ellipsoids, meshes, frictionloss, condim 6, per-geom solref,
    position actuators, sensors, tendons, equality constraints, filter dynamics) now loads."""
    body = """<geom type='plane' size='1 1 1' solref='0.01 1'/>
      <body><joint name='b' type='ball' range='0 1' limited='true'/><geom type='ellipsoid' size='.1 .1 .2'/></body>
      <body pos='1 0 0'><joint name='j' frictionloss='1'/><geom size='.1' condim='6' solref='0.03 0.5'/>
        <site name='s'/></body>
      <body pos='2 0 0'><freejoint/><geom type='mesh' mesh='tet'/></body>"""
    extra = """<asset><mesh name='tet' vertex='0 0 0 1 0 0 0 1 0 0 0 1'/></asset>
      <actuator><position name='p' joint='j' kp='10'/><general joint='j' dyntype='filter' dynprm='0.1'/></actuator>
      <sensor><jointpos joint='j'/><accelerometer site='s'/></sensor>
      <tendon><fixed name='t'><joint joint='j' coef='1'/></fixed></tendon>
      <equality><joint joint1='j'/></equality>"""
    model = worldsim.load_mjcf(_write(tmp_path, body, extra))
    assert (model.nu, model.na, model.ntendon, model.neq, model.nsensor) == (2, 1, 1, 1, 2)
