"""Gradients of losses through worldsim.rollout against finite differences of the same discrete system.

The oracle is MuJoCo itself: central differences of ``mujoco.mj_step`` trajectories in float64 with a small step
(1e-5 relative), which resolve the derivative of the discrete dynamics that the implicit differentiation of the
constraint solver computes. (Float32 differences of worldsim need steps so large that they cross the kinks of
contact, where the discrete system is only piecewise smooth.)
"""

import mujoco
import numpy as np
import pytest
import torch

import worldsim
from worldsim.physics.mujoco_reference import mujoco_finite_difference as mujoco_fd
from worldsim.sysid import BOUNCE_SCENE


def check(ad, fd, rtol=1e-2, atol=1e-4):
    np.testing.assert_allclose(ad, fd, rtol=rtol, atol=atol)
    assert np.abs(fd).max() > 10 * atol, "the loss does not depend on the inputs: the test would prove nothing"


def torch_loss(qs, vs, loss):
    return loss(qs[:, 0], vs[:, 0])


def test_bounce_gradient_wrt_initial_velocity(asset):
    """A spinning ball thrown at the floor: position after the bounce w.r.t. all 6 initial velocities."""
    mj = mujoco.MjModel.from_xml_path(asset("ball.xml"))
    model = worldsim.from_mjmodel(mj)
    qpos0 = mj.qpos0.copy()
    qpos0[2] = 0.3
    ctrl = np.zeros((150, 0))
    v0 = np.array([1.0, 0.2, -1.0, 0.5, -0.3, 0.1])

    def loss(qs, vs):
        return qs[-1, 0] + 0.2 * qs[-1, 1] + 0.5 * qs[-1, 2]

    v = torch.tensor(v0, dtype=torch.float32)[None].requires_grad_(True)
    qs, vs = worldsim.rollout(model, torch.tensor(qpos0, dtype=torch.float32)[None], v, torch.zeros(150, 1, 0))
    torch_loss(qs, vs, loss).backward()
    fd = mujoco_fd(lambda x: (mj, qpos0, x, ctrl), v0, range(6), loss)
    check(v.grad[0].numpy(), fd)


def test_restitution_gradient_wrt_solref_damping_ratio():
    """An underdamped ball (solref 0.02, damping ratio ζ): its height 0.1 s after the first impact w.r.t. ζ of the
    ball's geom (the pair mixes both geoms' solref), the issue's "restitution's gradient agrees with finite
    differences". More damping: a lower bounce."""
    xml = """<mujoco><option timestep="0.002"/><worldbody><geom type="plane" size="5 5 .1" solref="0.02 0.3"/>
      <body pos="0 0 0.6"><freejoint/><geom type="sphere" size="0.1" mass="1" solref="0.02 0.3"/></body>
      </worldbody></mujoco>"""
    mj = mujoco.MjModel.from_xml_string(xml)
    model = worldsim.from_mjmodel(mj)
    steps = 230  # the impact is at ~0.32 s (step ~160)
    ctrl = np.zeros((steps, 0))

    def loss(qs, vs):
        return qs[-1, 2]

    solref = model.get_params()["geom_solref"].clone().requires_grad_(True)
    q0, v0 = model.default_state()
    qs, vs = worldsim.rollout(model, q0, v0, torch.zeros(steps, 1, 0), params={"geom_solref": solref})
    torch_loss(qs, vs, loss).backward()

    def make(x):
        m = mujoco.MjModel.from_xml_string(xml)
        m.geom_solref[1, 1] = x[0]
        return m, m.qpos0, np.zeros(6), ctrl

    fd = mujoco_fd(make, np.array([0.3]), [0], loss)
    check(solref.grad[0, 1, 1:2].numpy(), fd)
    assert fd[0] < 0


@pytest.mark.parametrize("cone", ["pyramidal", "elliptic"])
def test_sliding_friction_gradient_wrt_friction_and_initial_velocity(asset, cone):
    """A box sliding to a stop on a plane (pyramidal and elliptic friction cones): travel w.r.t. the box's μ (which
    wins over the floor's) and w.r.t. the launch velocity."""
    mj = mujoco.MjModel.from_xml_path(asset("box_slide.xml"))
    mj.opt.cone = mujoco.mjtCone.mjCONE_ELLIPTIC if cone == "elliptic" else mujoco.mjtCone.mjCONE_PYRAMIDAL
    model = worldsim.from_mjmodel(mj)
    qpos0 = mj.qpos0.copy()
    v0 = np.zeros(6)
    v0[0] = 1.5
    steps = 120  # still sliding
    ctrl = np.zeros((steps, 0))

    def loss(qs, vs):
        return qs[-1, 0]

    friction = model.get_params()["geom_friction"].clone().requires_grad_(True)
    v = torch.tensor(v0, dtype=torch.float32)[None].requires_grad_(True)
    qs, vs = worldsim.rollout(model, torch.tensor(qpos0, dtype=torch.float32)[None], v, torch.zeros(steps, 1, 0),
                              params={"geom_friction": friction})  # fmt: skip
    torch_loss(qs, vs, loss).backward()

    def make_mu(x):
        m = mujoco.MjModel.from_xml_path(asset("box_slide.xml"))
        m.opt.cone = mj.opt.cone
        m.geom_friction[1, 0] = x[0]
        return m, qpos0, v0, ctrl

    check(friction.grad[0, 1, :1].numpy(), mujoco_fd(make_mu, np.array([0.5]), [0], loss))
    check(v.grad[0, :1].numpy(), mujoco_fd(lambda x: (mj, qpos0, x, ctrl), v0, [0], loss))


def test_torque_sequence_mass_damping_armature_gravity_gradients(asset):
    """Pendulum with a geared motor: a final-state loss w.r.t. controls, link masses, damping, armature, gravity."""
    path = asset("pendulum.xml")
    mj = mujoco.MjModel.from_xml_path(path)
    model = worldsim.from_mjmodel(mj)
    qpos0, qvel0 = np.array([0.8, -0.4]), np.zeros(2)
    steps = 150
    ctrl = (0.5 * np.sin(np.linspace(0, 6, steps)))[:, None]

    def loss(qs, vs):
        return qs[-1, 0] + 0.3 * vs[-1, 1]

    u = torch.tensor(ctrl, dtype=torch.float32)[:, None].requires_grad_(True)
    params = {k: model.get_params()[k].clone().requires_grad_(True)
              for k in ("body_mass", "dof_damping", "dof_armature", "gravity")}  # fmt: skip
    qs, vs = worldsim.rollout(model, torch.tensor(qpos0, dtype=torch.float32)[None],
                              torch.tensor(qvel0, dtype=torch.float32)[None], u, params=params)  # fmt: skip
    torch_loss(qs, vs, loss).backward()

    steps_idx = [0, 50, 100, 149]
    check(u.grad[steps_idx, 0, 0].numpy(),
          mujoco_fd(lambda x: (mj, qpos0, qvel0, x.reshape(steps, 1)), ctrl.copy(), steps_idx, loss))  # fmt: skip
    for name, field, idx in [("body_mass", "body_mass", [1, 2]), ("dof_damping", "dof_damping", [0, 1]),
                             ("dof_armature", "dof_armature", [0, 1])]:  # fmt: skip

        def make(x, field=field):
            m = mujoco.MjModel.from_xml_path(path)
            getattr(m, field)[:] = x
            return m, qpos0, qvel0, ctrl

        base = getattr(mj, field).copy()
        check(params[name].grad[0, idx].numpy(), mujoco_fd(make, base, idx, loss), atol=2e-4)

    def make_g(x):
        m = mujoco.MjModel.from_xml_path(path)
        m.opt.gravity[:] = x
        return m, qpos0, qvel0, ctrl

    check(params["gravity"].grad[0, [0, 2]].numpy(),
          mujoco_fd(make_g, mj.opt.gravity.copy(), [0, 2], loss))  # fmt: skip


def test_gradient_through_joint_limits_and_contacts_of_half_cheetah():
    """gymnasium's half_cheetah on the floor with strong controls (feet in contact, joints at their limits):
    the root's final x after 40 steps w.r.t. the first controls."""
    from conftest import GYM_ASSETS

    mj = mujoco.MjModel.from_xml_path(str(GYM_ASSETS / "half_cheetah.xml"))
    model = worldsim.from_mjmodel(mj)
    rng = np.random.default_rng(1)
    steps = 40
    ctrl = rng.uniform(-1, 1, (steps, mj.nu))
    qpos0, qvel0 = mj.qpos0.copy(), np.zeros(mj.nv)

    def loss(qs, vs):
        return qs[-1, 0] + 0.1 * qs[-1, 1]

    u = torch.tensor(ctrl, dtype=torch.float32)[:, None].requires_grad_(True)
    qs, vs = worldsim.rollout(model, torch.tensor(qpos0, dtype=torch.float32)[None], torch.zeros(1, mj.nv), u)
    torch_loss(qs, vs, loss).backward()
    idx = [0, 3, 20 * mj.nu + 1, 30 * mj.nu + 5]
    fd = mujoco_fd(lambda x: (mj, qpos0, qvel0, x.reshape(steps, mj.nu)), ctrl.copy(), idx, loss)
    check(u.grad[:, 0].numpy().flat[idx], fd, rtol=2e-2, atol=2e-4)


def test_rk4_model_gradient_in_flight():
    """gymnasium's hopper (RK4) lifted off the floor: final joint angles w.r.t. controls and initial velocity."""
    from conftest import GYM_ASSETS, lifted

    mj = mujoco.MjModel.from_xml_path(str(GYM_ASSETS / "hopper.xml"))
    model = worldsim.from_mjmodel(mj)
    qpos0 = lifted(mj, mj.qpos0)
    v0 = np.full(mj.nv, 0.1)
    steps = 60
    ctrl = 0.3 * np.ones((steps, mj.nu))

    def loss(qs, vs):
        return qs[-1, 3] + qs[-1, 4] - qs[-1, 5]

    u = torch.tensor(ctrl, dtype=torch.float32)[:, None].requires_grad_(True)
    v = torch.tensor(v0, dtype=torch.float32)[None].requires_grad_(True)
    qs, vs = worldsim.rollout(model, torch.tensor(qpos0, dtype=torch.float32)[None], v, u)
    torch_loss(qs, vs, loss).backward()
    check(v.grad[0].numpy(), mujoco_fd(lambda x: (mj, qpos0, x, ctrl), v0, range(mj.nv), loss))
    idx = [0, 2, 30 * mj.nu + 1]
    fd = mujoco_fd(lambda x: (mj, qpos0, v0, x.reshape(steps, mj.nu)), ctrl.copy(), idx, loss)
    check(u.grad[:, 0].numpy().flat[idx], fd)


def test_model_parameters_with_requires_grad_receive_gradients(asset):
    model = worldsim.load_mjcf(asset("pendulum.xml"), requires_grad=True)
    qpos0, qvel0 = model.default_state()
    qs, vs = worldsim.rollout(model, qpos0 + 0.3, qvel0, torch.ones(100, 1, 1))
    (qs[-1].sum() + vs[-1].sum()).backward()
    params = model.get_params()
    for name in ("body_mass", "body_inertia", "body_ipos", "dof_damping", "actuator_gear", "gravity"):
        assert params[name].grad is not None and torch.isfinite(params[name].grad).all(), name
        assert params[name].grad.abs().sum() > 0, name
    assert params["body_mass"].grad[0, 0] == 0  # the world body has no dynamics


def test_repeated_rollouts_reuse_their_recorded_steps_correctly(asset):
    """A model's rollout steps are recorded once and reused, with each call's parameters copied in: a call with
    other parameters, interleaved with a pending backward, gives the same values and gradients as a fresh model."""
    ctrl = torch.ones(60, 1, 1)

    def run(model, damping):
        qpos0, qvel0 = model.default_state()
        d = torch.full_like(model.get_params()["dof_damping"], damping).requires_grad_(True)
        qs, vs = worldsim.rollout(model, qpos0 + 0.3, qvel0, ctrl, {"dof_damping": d})
        return qs, vs, d

    shared = worldsim.load_mjcf(asset("pendulum.xml"))
    qa, va, da = run(shared, 0.5)
    qb, vb, db = run(shared, 2.0)  # recorded step reused with other parameters, before a's backward
    (qa[-1].sum() + va[-1].sum()).backward()
    (qb[-1].sum() + vb[-1].sum()).backward()
    for damping, q, d in ((0.5, qa, da), (2.0, qb, db)):
        fq, fv, fd = run(worldsim.load_mjcf(asset("pendulum.xml")), damping)
        (fq[-1].sum() + fv[-1].sum()).backward()
        assert torch.equal(q, fq) and torch.equal(d.grad, fd.grad) and d.grad.abs().sum() > 0
    assert not torch.equal(qa, qb)


def test_substeps_gradient(asset):
    """With 3 substeps per step (a 2/3 ms step in MuJoCo): a throw through a bounce w.r.t. the launch velocity."""
    mj = mujoco.MjModel.from_xml_path(asset("ball.xml"))
    model = worldsim.from_mjmodel(mj, substeps=3)
    mj3 = mujoco.MjModel.from_xml_path(asset("ball.xml"))
    mj3.opt.timestep = mj.opt.timestep / 3
    qpos0 = mj.qpos0.copy()
    qpos0[2] = 0.3
    v0 = np.array([0.7, 0.0, 0.0, 0.0, 0.0, 0.0])

    def loss(qs, vs):
        return qs[-1, 0] + qs[-1, 2]

    v = torch.tensor(v0, dtype=torch.float32)[None].requires_grad_(True)
    qs, vs = worldsim.rollout(model, torch.tensor(qpos0, dtype=torch.float32)[None], v, torch.zeros(130, 1, 0))
    torch_loss(qs, vs, loss).backward()
    ctrl3 = np.zeros((390, 0))
    check(v.grad[0, [0, 2]].numpy(), mujoco_fd(lambda x: (mj3, qpos0, x, ctrl3), v0, [0, 2], loss))


def test_2000_step_rollout_has_finite_gradients(asset):
    """A long horizon (bounces, then resting contact) back-propagates without running out of memory or NaN."""
    model = worldsim.load_mjcf(asset("ball.xml"), num_worlds=2)
    qpos0, qvel0 = model.default_state()
    qvel0 = torch.tensor([[1.0, 0.0, 0.0, 0.0, 2.0, 0.0], [-0.5, 0.3, 1.0, 1.0, 0.0, 0.0]], requires_grad=True)
    qs, vs = worldsim.rollout(model, qpos0, qvel0, torch.zeros(2000, 2, 0))
    assert qs.shape == (2000, 2, 7)
    (qs[:, :, :3].square().sum()).backward()
    assert torch.isfinite(qvel0.grad).all()
    assert qvel0.grad.abs().sum() > 0


def test_gradient_wrt_gravity_after_a_bounce_is_the_discrete_systems():
    """The pixel SysID's ball (worldsim/sysid/assets/bounce.xml: a soft, underdamped contact over ~10 steps): the height
    after the first bounce w.r.t. gravity equals MuJoCo's small-step central difference (the derivative of the
    discrete system), which is 9x the difference over a 1% change of gravity: the impact's phase on the step grid
    makes the discrete trajectory rough at that scale, not the gradient wrong. Sysid through bounces needs the
    smoothing or clipping options, or fits in phases as worldsim.sysid.fit_bounce_from_pixels does."""
    path = str(BOUNCE_SCENE)
    mj = mujoco.MjModel.from_xml_path(path)
    model = worldsim.from_mjmodel(mj)
    qpos0, qvel0 = model.default_state()
    qvel0[0, :3] = torch.tensor([1.0, 0.0, 2.0])
    steps = 500  # the bounce is at ~0.75 s, the loss at 1 s

    g = model.get_params()["gravity"].clone().requires_grad_(True)
    qs, _ = worldsim.rollout(model, qpos0, qvel0, torch.zeros(steps, 1, 0), {"gravity": g})
    qs[-1, 0, 2].backward()
    assert qs[:, 0, 2].min() < 0.1 < qs[-1, 0, 2]  # it bounced (radius 0.12 m) and is in the air again

    def make(x):
        m = mujoco.MjModel.from_xml_path(path)
        m.opt.gravity[:] = x
        return m, qpos0[0].double().numpy(), qvel0[0].double().numpy(), np.zeros((steps, 0))

    def height(qs, vs):
        return qs[-1, 2]

    small = mujoco_fd(make, mj.opt.gravity.copy(), [2], height, rel_eps=1e-6)
    check(g.grad[0, [2]].numpy(), small, rtol=1e-3)
    large = mujoco_fd(make, mj.opt.gravity.copy(), [2], height, rel_eps=1e-2)
    assert abs(small[0]) > 5 * abs(large[0])
