"""Accuracy report: worldsim held against MuJoCo (float64, ``mujoco.mj_step``) on the same MJCF files, goal by goal,
and its gradients against finite differences.

Prints the numbers that the tests assert bounds on (tests/test_mujoco_agreement.py, test_gym_models.py,
test_dmc_models.py, test_far_from_origin.py, test_gradients.py), each next to the goal it answers:

* free motion: contact-free trajectories, 0.5 s;
* contact: drops with critically damped and underdamped ``solref`` (rebound height), a cube sliding to a stop for
  μ from 0.2 to 1.0 (distance, tilt), box stacks (aligned, offset, yawed, five high), dropped shapes at rest, a
  rolling cylinder;
* every gymnasium and DeepMind Control Suite model file: in flight (lifted 1 m, 0.1 s) and settling on the floor
  (root height over 1 s);
* 16 episodes x 1000 env steps of full-range random actions on gymnasium's locomotion models (reward and root
  height statistics);
* far from the origin: gymnasium's walkers 10 km away vs at the origin, 1 s of random actions;
* gradients: autodiff vs central finite differences of MuJoCo (float64).

    python benchmarks/accuracy.py            # ~5 min on a 2-core CPU
    python benchmarks/accuracy.py --quick    # ~1 min: 4 episodes x 250 steps of random actions, fewer files
"""

import argparse
import importlib.util
import os
import sys
from pathlib import Path

import mujoco
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("WARP_CACHE_PATH", str(ROOT / ".cache" / "warp"))
import worldsim  # noqa: E402
from worldsim.physics.mujoco_reference import (  # noqa: E402
    both_trajectories,
    box_stack,
    lifted,
    mujoco_finite_difference,
    mujoco_trajectory,
    plane_scene,
    random_action_episodes,
    rebound_height,
    root_height_index,
    root_translations,
    tilt_degrees,
    worldsim_trajectory,
)

ASSETS = ROOT / "tests" / "assets"
GYM_ASSETS = Path(importlib.util.find_spec("gymnasium").origin).parent / "envs" / "mujoco" / "assets"
DMC_ASSETS = Path(importlib.util.find_spec("dm_control").origin).parent / "suite"
# gymnasium v5's frame_skip per locomotion model
LOCOMOTION = {"half_cheetah": 5, "hopper": 4, "walker2d": 4, "ant": 5, "humanoid": 5, "humanoidstandup": 5,
              "swimmer": 4}  # fmt: skip


def free_motion(name: str, qvel_scale: float, steps: int = 250, seed: int = 0) -> float:
    """Max |qpos - MuJoCo's| over ``steps`` steps from random velocities and controls, no contact."""
    mj = mujoco.MjModel.from_xml_path(str(ASSETS / name))
    rng = np.random.default_rng(seed)
    qvel0 = rng.normal(0, qvel_scale, mj.nv)
    ctrl = rng.uniform(-2, 2, (steps, mj.nu))
    ref, _ = mujoco_trajectory(mj, mj.qpos0, qvel0, ctrl)
    ours, _ = worldsim_trajectory(worldsim.from_mjmodel(mj), mj.qpos0, qvel0, ctrl)
    return float(np.abs(ours - ref).max())


def contact_goals() -> None:
    print("Drops: a 0.1 m ball from 0.6 m, 1.4 s (goal: default solref rebounds < 1 mm; underdamped within 20%)")
    for solref in ("0.02 1", "0.02 0.3", "0.005 0.5", "-10000 -30"):
        ball = f'<body pos="0 0 0.6"><freejoint/><geom type="sphere" size="0.1" mass="1" solref="{solref}"/></body>'
        ref, ours = both_trajectories(plane_scene(ball, floor=f'solref="{solref}"'), 700)
        r_ref, r_ours = rebound_height(ref[:, 2], 0.1), rebound_height(ours[:, 2], 0.1)
        print(f"  solref {solref:11s} rebound: worldsim {r_ours * 1e3:8.3f} mm, MuJoCo {r_ref * 1e3:8.3f} mm"
              f"   max |dqpos| {np.abs(ours - ref).max():.1e}")  # fmt: skip

    print("Sliding 0.2 m cube at 2 m/s, 3 s (goal: stopping distance within 3%, tilt within 2 deg)")
    for mu in (0.2, 0.4, 0.6, 0.8, 1.0):
        cube = f'<body pos="0 0 0.1"><freejoint/><geom type="box" size="0.1 0.1 0.1" mass="1" friction="{mu}"/></body>'
        qvel0 = np.array([2.0, 0, 0, 0, 0, 0])
        ref, ours = both_trajectories(plane_scene(cube, floor=f'friction="{mu}"'), 1500, qvel0=qvel0)
        dtilt = np.abs(tilt_degrees(ours[:, 3:7]) - tilt_degrees(ref[:, 3:7])).max()
        print(f"  mu {mu:.1f}: distance worldsim {ours[-1, 0]:.5f} m, MuJoCo {ref[-1, 0]:.5f} m "
              f"({abs(ours[-1, 0] / ref[-1, 0] - 1) * 100:.3f}%), max tilt difference {dtilt:.4f} deg")  # fmt: skip

    print("Stacks of 0.2 m cubes, 3 s (goal: hold as MuJoCo's, heights within 2 mm)")
    for n, offset, yaw in ((3, 0.0, 0.0), (3, 0.02, 0.0), (3, 0.05, 0.0), (3, 0.0, 30.0), (5, 0.0, 0.0)):
        ref, ours = both_trajectories(box_stack(n, offset, yaw), 1500)
        dz = np.abs(ours[-1, 2::7] - ref[-1, 2::7]).max()
        top = 7 * n - 5
        print(f"  {n} high, offset {offset * 100:.0f} cm, yaw {yaw:2.0f} deg per level: top at {ours[-1, top]:.4f} m"
              f" (MuJoCo {ref[-1, top]:.4f} m), max height difference {dz * 1e3:.4f} mm")  # fmt: skip

    print("Shapes dropped from 0.3 m, at rest after 3 s (goal: rest where MuJoCo's rest, within 0.5 mm)")
    shapes = {
        "sphere": '<geom type="sphere" size="0.1" mass="1"/>',
        "capsule": '<geom type="capsule" size="0.05 0.1" quat="0.7071 0.7071 0 0" mass="1"/>',
        "tilted plate": '<geom type="box" size="0.1 0.05 0.02" quat="0.9 0.1 0.3 0.2" mass="1"/>',
        "cylinder": '<geom type="cylinder" size="0.1 0.1" quat="0.7071 0.7071 0 0" mass="1"/>',
        "ellipsoid": '<geom type="ellipsoid" size="0.1 0.07 0.05" mass="1"/>',
    }
    for label, geom in shapes.items():
        ref, ours = both_trajectories(plane_scene(f'<body pos="0 0 0.3"><freejoint/>{geom}</body>'), 1500)
        print(f"  {label:12s} rest height worldsim {ours[-1, 2]:.6f} m, MuJoCo {ref[-1, 2]:.6f} m, "
              f"max |dqpos| over the drop {np.abs(ours - ref).max():.1e}")  # fmt: skip

    mj = plane_scene('<body pos="0 0 0.1" quat="0.7071 0.7071 0 0"><freejoint/>'
                     '<geom type="cylinder" size="0.1 0.1" mass="1"/></body>')  # fmt: skip
    qvel0 = np.zeros(6)
    qvel0[0], qvel0[5] = 1.0, -10.0  # rolling along x at 1 m/s: w = v / r about world y, the body's -z
    ref, ours = both_trajectories(mj, 1000, qvel0=qvel0)
    print(f"Lying cylinder rolling at 1 m/s, 2 s: x worldsim {ours[-1, 0]:.5f} m, MuJoCo {ref[-1, 0]:.5f} m")


def model_files(quick: bool) -> None:
    print("Model files (goal: all load; in flight within 1e-3 over 0.1 s; legged settle within 1 cm over 1 s)")
    files = [("gymnasium", p) for p in sorted(GYM_ASSETS.glob("*.xml"))]
    files += [("dm_control", p) for p in sorted(DMC_ASSETS.glob("*.xml"))]
    if quick:
        files = [f for f in files if f[1].stem in ("half_cheetah", "ant", "humanoid", "cheetah", "quadruped")]
    for suite, path in files:
        mj = mujoco.MjModel.from_xml_path(str(path))
        model = worldsim.from_mjmodel(mj)
        line = f"  {suite:10s} {path.stem:25s} nq {mj.nq:3d} nv {mj.nv:3d} {model.integrator:5s}"
        if mj.nv:
            steps = max(1, round(0.1 / mj.opt.timestep))
            rng = np.random.default_rng(0)
            ctrl = rng.uniform(0.1 * mj.actuator_ctrlrange[:, 0], 0.1 * mj.actuator_ctrlrange[:, 1], (steps, mj.nu))
            q0 = lifted(mj, mj.qpos0)
            ref, _ = mujoco_trajectory(mj, q0, np.zeros(mj.nv), ctrl)
            ours, _ = worldsim_trajectory(model, q0, np.zeros(mj.nv), ctrl)
            line += f"  in flight max |dqpos| {np.abs(ours - ref).max():.1e}"
        z = root_height_index(mj)
        legged = z is not None and mj.ngeom > 1 and path.stem not in ("cartpole", "acrobot", "pendulum")
        if legged:
            steps = round(1.0 / mj.opt.timestep)
            ref, ours = both_trajectories(mj, steps)
            line += f" | on the floor, root height max diff {np.abs(ours[:, z] - ref[:, z]).max() * 1e3:.3f} mm"
        print(line)


def random_actions(quick: bool) -> None:
    episodes, steps = (4, 250) if quick else (16, 1000)
    print(f"Random full-range actions, {episodes} episodes x {steps} env steps (goal: no NaN, forward-reward "
          "statistics within 10%, root within MuJoCo's envelope)")  # fmt: skip
    for name, skip in LOCOMOTION.items():
        mj = mujoco.MjModel.from_xml_path(str(GYM_ASSETS / f"{name}.xml"))
        ref, ours = random_action_episodes(mj, episodes=episodes, env_steps=steps, frame_skip=skip)
        r_ref, r_ours = ref.forward_reward, ours.forward_reward
        dstd = (r_ours.std() / r_ref.std() - 1) * 100
        line = (f"  {name:16s} finite {ours.finite!s:5s} reward std {r_ours.std():6.3f} vs {r_ref.std():6.3f} "
                f"({dstd:+5.1f}%), mean {r_ours.mean():+6.3f} vs {r_ref.mean():+6.3f}")  # fmt: skip
        if ref.root_height is not None:
            z_ref, z_ours = ref.root_height, ours.root_height
            line += (f" | root p99 {np.percentile(z_ours, 99):.3f} vs {np.percentile(z_ref, 99):.3f} m, "
                     f"max {z_ours.max():.2f} vs {z_ref.max():.2f} m")  # fmt: skip
        print(line)


def far_from_origin() -> None:
    far = 10_000.0
    print("10 km from the origin vs at the origin, 1 s of full-range random actions (goal: within 1e-3)")
    for name in ("half_cheetah", "hopper", "walker2d", "ant", "humanoid"):
        model = worldsim.load_mjcf(str(GYM_ASSETS / f"{name}.xml"), num_worlds=2)
        mj = model.mj_model
        steps = round(1.0 / mj.opt.timestep)
        rng = np.random.default_rng(0)
        lo, hi = mj.actuator_ctrlrange[:, 0], mj.actuator_ctrlrange[:, 1]
        ctrl = torch.tensor(rng.uniform(lo, hi, (steps, 1, mj.nu)), dtype=torch.float32).expand(steps, 2, mj.nu)
        shifted = root_translations(mj)
        q0, v0 = model.default_state()
        q0[1, shifted] += far
        qs, _ = worldsim.rollout(model, q0, v0, ctrl.contiguous())
        dq = qs[:, 1].double() - qs[:, 0].double()
        dq[:, shifted] -= far
        rest = [i for i in range(model.nq) if i not in shifted]
        ulp = np.spacing(np.float32(far))
        print(f"  {name:13s} max |dqpos| {dq[:, rest].abs().max():.1e} (shifted coordinates "
              f"{dq[:, shifted].abs().max():.1e}; a float32 ulp at 10 km is {ulp:.1e})")  # fmt: skip


def gradients() -> None:
    print("Gradients, autodiff vs central finite differences of MuJoCo (float64): max relative error")

    def report(label, ad, fd):
        big = np.abs(fd) > 1e-2 * np.abs(fd).max()
        rel = (np.abs(ad - fd)[big] / np.abs(fd)[big]).max()
        print(f"  {label:48s} {rel:.1e}  signs agree: {bool(np.all(np.sign(ad[big]) == np.sign(fd[big])))}")

    mj = mujoco.MjModel.from_xml_path(str(ASSETS / "ball.xml"))
    model = worldsim.from_mjmodel(mj)
    qpos0 = mj.qpos0.copy()
    qpos0[2] = 0.3
    v0 = np.array([1.0, 0.2, -1.0, 0.5, -0.3, 0.1])
    v = torch.tensor(v0, dtype=torch.float32)[None].requires_grad_(True)
    qs, _ = worldsim.rollout(model, torch.tensor(qpos0, dtype=torch.float32)[None], v, torch.zeros(150, 1, 0))
    (qs[-1, 0, 0] + 0.2 * qs[-1, 0, 1] + 0.5 * qs[-1, 0, 2]).backward()
    fd = mujoco_finite_difference(lambda x: (mj, qpos0, x, np.zeros((150, 0))), v0, range(6),
                                  lambda q, _: q[-1, 0] + 0.2 * q[-1, 1] + 0.5 * q[-1, 2])  # fmt: skip
    report("spinning bounce, d position / d qvel0 (6)", v.grad[0].numpy(), fd)

    xml = """<mujoco><option timestep="0.002"/><worldbody><geom type="plane" size="5 5 .1" solref="0.02 0.3"/>
      <body pos="0 0 0.6"><freejoint/><geom type="sphere" size="0.1" mass="1" solref="0.02 0.3"/></body>
      </worldbody></mujoco>"""
    model = worldsim.from_mjmodel(mujoco.MjModel.from_xml_string(xml))
    solref = model.get_params()["geom_solref"].clone().requires_grad_(True)
    q0, v0t = model.default_state()
    qs, _ = worldsim.rollout(model, q0, v0t, torch.zeros(230, 1, 0), params={"geom_solref": solref})
    qs[-1, 0, 2].backward()

    def make(x):
        m = mujoco.MjModel.from_xml_string(xml)
        m.geom_solref[1, 1] = x[0]
        return m, m.qpos0, np.zeros(6), np.zeros((230, 0))

    fd = mujoco_finite_difference(make, np.array([0.3]), [0], lambda q, _: q[-1, 2])
    report("restitution: bounce height / d solref damping ratio", solref.grad[0, 1, 1:2].numpy(), fd)

    mj = mujoco.MjModel.from_xml_path(str(ASSETS / "box_slide.xml"))
    model = worldsim.from_mjmodel(mj)
    friction = model.get_params()["geom_friction"].clone().requires_grad_(True)
    vb = np.array([1.5, 0, 0, 0, 0, 0])
    qs, _ = worldsim.rollout(model, torch.tensor(mj.qpos0, dtype=torch.float32)[None],
                             torch.tensor(vb, dtype=torch.float32)[None], torch.zeros(120, 1, 0),
                             params={"geom_friction": friction})  # fmt: skip
    qs[-1, 0, 0].backward()

    def make_mu(x):
        m = mujoco.MjModel.from_xml_path(str(ASSETS / "box_slide.xml"))
        m.geom_friction[1, 0] = x[0]
        return m, m.qpos0, vb, np.zeros((120, 0))

    fd = mujoco_finite_difference(make_mu, np.array([0.5]), [0], lambda q, _: q[-1, 0])
    report("sliding box, d distance / d friction", friction.grad[0, 1, :1].numpy(), fd)

    mj = mujoco.MjModel.from_xml_path(str(ASSETS / "pendulum.xml"))
    model = worldsim.from_mjmodel(mj)
    ctrl = (0.5 * np.sin(np.linspace(0, 6, 200))).reshape(200, 1)
    u = torch.tensor(ctrl, dtype=torch.float32)[:, None].requires_grad_(True)
    qs, vs = worldsim.rollout(model, torch.tensor(mj.qpos0, dtype=torch.float32)[None], torch.zeros(1, mj.nv), u)
    (qs[-1, 0, 0] + 0.3 * vs[-1, 0, 1]).backward()
    idx = [0, 50, 100, 150, 199]
    fd = mujoco_finite_difference(lambda x: (mj, mj.qpos0, np.zeros(mj.nv), x.reshape(200, 1)), ctrl.copy(), idx,
                                  lambda q, v: q[-1, 0] + 0.3 * v[-1, 1])  # fmt: skip
    report("pendulum, d state / d torque sequence (5)", u.grad[idx, 0, 0].numpy(), fd)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer random-action episodes and model files")
    args = p.parse_args(argv)
    print("Free motion (no contact, 0.5 s, Euler): max |qpos - MuJoCo qpos|")
    print(f"  double pendulum, motor + damping + armature + spring : {free_motion('pendulum.xml', 1.0):.2e}")
    print(f"  tumbling free body + ball + slide joints             : {free_motion('tumbling.xml', 2.0):.2e}")
    contact_goals()
    model_files(args.quick)
    random_actions(args.quick)
    far_from_origin()
    gradients()
    print("Speed: python benchmarks/physics_step.py (worldsim vs mujoco.rollout, side by side)")


if __name__ == "__main__":
    main()
