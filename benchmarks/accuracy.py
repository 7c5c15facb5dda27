"""Accuracy report: worldsim vs MuJoCo (contact-free, 0.5 s) and autodiff vs central finite differences.

Prints the numbers that tests/test_mujoco_agreement.py and tests/test_gradients.py assert bounds on:

    python benchmarks/accuracy.py        # ~20 s on a 2-core CPU
"""

import os
import sys

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
import worldsim  # noqa: E402
from worldsim.physics.gradcheck import autodiff, finite_difference  # noqa: E402
from worldsim.physics.mujoco_reference import mujoco_trajectory  # noqa: E402

ASSETS = os.path.join(ROOT, "tests", "assets")


def mujoco_agreement(name: str, qvel_scale: float, steps: int = 250, seed: int = 0):
    path = os.path.join(ASSETS, name)
    model = worldsim.load_mjcf(path)
    mj = model.mj_model
    rng = np.random.default_rng(seed)
    qpos0 = mj.qpos0.copy()
    qvel0 = rng.normal(0, qvel_scale, mj.nv)
    ctrl = rng.uniform(-2, 2, (steps, mj.nu))
    ref, _ = mujoco_trajectory(mj, qpos0, qvel0, ctrl)
    qs, _ = worldsim.rollout(
        model,
        torch.tensor(qpos0, dtype=torch.float32)[None],
        torch.tensor(qvel0, dtype=torch.float32)[None],
        torch.tensor(ctrl, dtype=torch.float32)[:, None],
    )
    return np.abs(qs[:, 0].numpy() - ref).max()


def grad_vs_fd(loss_fn, x: torch.Tensor, eps: float, indices):
    indices = list(indices)
    ad = autodiff(loss_fn, x, indices)
    fd = finite_difference(loss_fn, x, eps, indices)
    big = np.abs(fd) > 1e-2 * np.abs(fd).max()
    rel = np.abs(ad - fd)[big] / np.abs(fd)[big]
    return rel.max(), bool(np.all(np.sign(ad[big]) == np.sign(fd[big])))


def gym_agreement():
    """gymnasium's models vs MuJoCo: in flight (lifted 1 m, valid pose, 10% random torques, 0.1 s) and on the floor
    (gymnasium's initial pose, zero torques, root height; walker2d over 0.5 s, it topples later in both)."""
    import gymnasium

    assets = os.path.join(os.path.dirname(gymnasium.__file__), "envs", "mujoco", "assets")
    root_z = {"half_cheetah": 1, "hopper": 1, "walker2d": 1, "ant": 2}
    rng = np.random.default_rng(0)
    for name in ["inverted_pendulum", "inverted_double_pendulum", "reacher", "half_cheetah", "hopper", "walker2d",
                 "ant"]:  # fmt: skip
        model = worldsim.load_mjcf(os.path.join(assets, f"{name}.xml"))
        mj = model.mj_model
        q0 = mj.qpos0.copy()
        for j in np.flatnonzero(mj.jnt_limited):
            q0[mj.jnt_qposadr[j]] = np.clip(q0[mj.jnt_qposadr[j]], *mj.jnt_range[j])
        if name in root_z:
            q0[root_z[name]] += 1.0
        steps = round(0.1 / mj.opt.timestep)
        ctrl = rng.uniform(0.1 * mj.actuator_ctrlrange[:, 0], 0.1 * mj.actuator_ctrlrange[:, 1], (steps, mj.nu))
        flight = np.abs(_worldsim(model, q0, ctrl) - mujoco_trajectory(mj, q0, np.zeros(mj.nv), ctrl)[0]).max()
        line = f"  {name:25s} {model.integrator:5s} in flight max |dqpos| {flight:.1e}"
        if name in root_z:
            seconds = 0.5 if name == "walker2d" else 1.0
            ctrl = np.zeros((round(seconds / mj.opt.timestep), mj.nu))
            z = root_z[name]
            dz = np.abs(
                _worldsim(model, mj.qpos0, ctrl)[:, z] - mujoco_trajectory(mj, mj.qpos0, np.zeros(mj.nv), ctrl)[0][:, z]
            )
            line += f" | on the floor ({seconds:.1f} s) root height: max diff {dz.max() * 100:.1f} cm"
            line += f", at the end {dz[-1] * 100:.1f} cm"
        print(line)


def _worldsim(model, q0, ctrl):
    qs, _ = worldsim.rollout(
        model, torch.tensor(q0, dtype=torch.float32)[None], torch.zeros(1, model.nv),
        torch.tensor(ctrl, dtype=torch.float32)[:, None],
    )  # fmt: skip
    return qs[:, 0].numpy()


def main():
    print("MuJoCo agreement (no contact, 0.5 s, Euler, max |qpos - MuJoCo qpos|):")
    print(f"  double pendulum, motor + damping + armature + spring : {mujoco_agreement('pendulum.xml', 1.0):.2e}")
    print(f"  tumbling free body + ball + slide joints             : {mujoco_agreement('tumbling.xml', 2.0):.2e}")

    print("gymnasium MuJoCo models vs MuJoCo (soft contact and limits vs MuJoCo's constraint solver):")
    gym_agreement()

    print("Gradients, autodiff vs central finite differences (max relative error over components, signs):")
    ball = worldsim.load_mjcf(os.path.join(ASSETS, "ball.xml"))
    q0, _ = ball.default_state()
    q0[0, 2] = 0.3

    def bounce(v):
        qs, _ = worldsim.rollout(ball, q0, v, torch.zeros(150, 1, 0))
        return qs[-1, 0, 0] + 0.2 * qs[-1, 0, 1] + 0.5 * qs[-1, 0, 2]

    rel, sign = grad_vs_fd(bounce, torch.tensor([[1.0, 0.2, -1.0, 0.5, -0.3, 0.1]]), 1e-3, range(6))
    print(f"  spinning bounce, d pos / d qvel0 (6)      : {rel:.2e}  signs agree: {sign}")

    box = worldsim.load_mjcf(os.path.join(ASSETS, "box_slide.xml"))
    qb, vb = box.default_state()
    qb = worldsim.rollout(box, qb, vb, torch.zeros(300, 1, 0))[0][-1]  # settle on the floor first
    vb[0, 0] = 1.5
    fr0 = box.get_params()["geom_friction"]

    def slide(mu):
        fr = fr0.clone()
        fr[0, 1, 0] = mu[0]
        return worldsim.rollout(box, qb, vb, torch.zeros(200, 1, 0), params={"geom_friction": fr})[0][-1, 0, 0]

    rel, sign = grad_vs_fd(slide, torch.tensor([0.5]), 1e-2, [0])
    print(f"  sliding box, d x / d friction              : {rel:.2e}  signs agree: {sign}")

    pend = worldsim.load_mjcf(os.path.join(ASSETS, "pendulum.xml"))
    qp, vp = pend.default_state()
    ctrl = (0.5 * torch.sin(torch.linspace(0, 6, 200))).reshape(200, 1, 1)

    def torque(u):
        qs, vs = worldsim.rollout(pend, qp, vp, u)
        return qs[-1, 0, 0] + 0.3 * vs[-1, 0, 1]

    rel, sign = grad_vs_fd(torque, ctrl, 1e-2, [0, 50, 100, 150, 199])
    print(f"  pendulum, d state / d torque sequence (5)  : {rel:.2e}  signs agree: {sign}")

    def mass(m):
        qs, vs = worldsim.rollout(pend, qp, vp, ctrl, params={"body_mass": m})
        return qs[-1, 0, 0] + 0.3 * vs[-1, 0, 1]

    rel, sign = grad_vs_fd(mass, pend.get_params()["body_mass"], 1e-2, [1, 2])
    print(f"  pendulum, d state / d body_mass (2)        : {rel:.2e}  signs agree: {sign}")


if __name__ == "__main__":
    main()
