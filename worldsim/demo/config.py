"""Sizes and time budgets of ``worldsim demo``: :data:`FULL` (about 12 minutes on a 2-core CPU) and :data:`QUICK`
(under 3 minutes, a first look). Each field names the stage it belongs to, so that changing it reruns that stage
(and the stages that use its output) and nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field, fields


def _of(stage: str, default):
    return field(default=default, metadata={"stage": stage})


@dataclass(frozen=True)
class DemoConfig:
    """One demo run's settings (see :data:`FULL`, :data:`QUICK`)."""

    name: str = "full"
    task: str = _of("simulate,dataset", "CartPole")
    size: int = _of("simulate,dataset", 64)
    seed: int = _of("simulate,dataset,train,motion,trajopt,sysid", 0)
    # simulate: worlds side by side under domain randomization
    dr_worlds: int = _of("simulate", 16)
    dr_steps: int = _of("simulate", 100)
    # dataset (Minari id, under MINARI_DATASETS_PATH)
    dataset: str = _of("dataset", "worldsim-demo/cartpole-v0")
    episodes: int = _of("dataset", 96)
    episode_steps: int = _of("dataset", 48)
    # train: wall-clock budgets [min] (preset small)
    genie_minutes: float = _of("train", 3.5)
    dit_minutes: float = _of("train", 2.5)
    # evaluate
    horizon: int = _of("evaluate", 16)
    eval_clips: int = _of("evaluate", 24)
    # motion suite (PIS)
    motion_dataset: str = _of("motion", "worldsim-demo/motion-v0")
    motion_categories: tuple = _of("motion", ("free_fall", "bouncing"))
    motion_episodes: int = _of("motion", 24)
    motion_frames: int = _of("motion", 20)
    motion_minutes: float = _of("motion", 1.5)
    # trajectory optimization (PushBox)
    plan_horizon: int = _of("trajopt", 50)
    gradient_iters: int = _of("trajopt", 60)
    cem_samples: int = _of("trajopt", 256)
    cem_iters: int = _of("trajopt", 15)
    # system identification from pixels
    sysid_size: int = _of("sysid", 64)
    sysid_frames: int = _of("sysid", 50)
    sysid_iterations: tuple = _of("sysid", (60, 40, 50, 30))
    sysid_candidates: int = _of("sysid", 8)

    def stage_settings(self, stage: str) -> dict:
        """The fields that ``stage`` depends on, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if stage in f.metadata.get("stage", "").split(",")}


FULL = DemoConfig()

QUICK = DemoConfig(
    name="quick",
    dr_worlds=9,
    dr_steps=40,
    dataset="worldsim-demo/cartpole-quick-v0",
    episodes=16,
    episode_steps=24,
    genie_minutes=0.6,
    dit_minutes=0.4,
    horizon=8,
    eval_clips=4,
    motion_dataset="worldsim-demo/motion-quick-v0",
    motion_categories=("free_fall",),
    motion_episodes=8,
    motion_frames=20,
    motion_minutes=0.25,
    plan_horizon=25,
    gradient_iters=40,
    cem_samples=128,
    cem_iters=8,
    sysid_size=32,
    sysid_frames=35,
    sysid_iterations=(30, 20, 20, 15),
    sysid_candidates=4,
)
