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
    pendulum.set_params(contact_stiffness=1e4)  # a scalar broadcasts to every world
    assert torch.all(pendulum.get_params()["contact_stiffness"] == 1e4)


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
        ("<body><joint name='j' type='ball' range='0 1' limited='true'/><geom size='.1'/></body>", "", "",
         "joint 'j': attribute 'range' is a limit on a ball joint"),
        ("<body><freejoint/><geom name='e' type='ellipsoid' size='.1 .1 .2'/></body>", "", "",
         "geom 'e': attribute 'type' is 'ellipsoid'"),
        ("<body><freejoint/><geom name='m' type='mesh' mesh='tet'/></body>",
         "<asset><mesh name='tet' vertex='0 0 0 1 0 0 0 1 0 0 0 1'/></asset>", "",
         "geom 'm': attribute 'type' is 'mesh'"),
        ("<body><freejoint/><geom size='.1'/></body>", "", "integrator='implicitfast'",
         "<option>: attribute 'integrator' is 'IMPLICITFAST'"),
        ("<body><joint name='j' frictionloss='1'/><geom size='.1'/></body>", "", "",
         "joint 'j': attribute 'frictionloss'"),
        ("<body><freejoint/><geom name='g' size='.1' condim='6'/></body>", "", "",
         "geom 'g': attribute 'condim' is 6"),
        ("<geom name='floor' type='plane' size='1 1 1'/><body><freejoint/><geom name='g' size='.1' solref='0.01 1'/>"
         "</body>", "", "", "geom 'floor' and geom 'g': attribute 'solref' differs"),
        ("<body><joint name='j'/><geom size='.1'/></body>",
         "<actuator><position name='p' joint='j' kp='10'/></actuator>", "",
         "actuator 'p': attribute 'dyntype/gaintype/biastype'"),
        ("<body name='a'><joint name='j'/><geom size='.1'/></body>",
         "<sensor><jointpos joint='j'/></sensor>", "", "element <sensor>"),
        ("<body><joint name='j'/><geom size='.1'/></body>",
         "<tendon><fixed name='t'><joint joint='j' coef='1'/></fixed></tendon>", "", "element <tendon>"),
    ],
)  # fmt: skip
def test_unsupported_mjcf_is_a_clear_error(tmp_path, body, extra, option, message):
    with pytest.raises(MJCFError, match=message.replace("(", r"\(").replace("[", r"\[")):
        worldsim.load_mjcf(_write(tmp_path, body, extra, option))
