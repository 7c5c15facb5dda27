"""`PixelCamera`: an env's pixel observations, every world seen by the task's camera through the splat renderer
in one call, with the per-world visual randomization applied."""

from __future__ import annotations

import torch

from ..renderers.cameras import intrinsics, look_at
from .randomizer import WorldRandomizer
from .task import Task

SKY = (0.7, 0.8, 0.95)


class PixelCamera:
    """Renders ``width`` × ``height`` images of every world of ``task`` (the splat scene is built on first use).

    The camera is the task's (:attr:`Task.camera_eye` / ``camera_target``, following the root along x when
    :attr:`Task.camera_follows_root`), moved and widened per world by ``randomizer.visual``."""

    def __init__(self, task: Task, randomizer: WorldRandomizer, width: int, height: int):
        for name, v in (("width", width), ("height", height)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer (pixels), got {v!r}")
        self.task, self.randomizer = task, randomizer
        self.width, self.height = width, height
        self.scene = None  # SplatScene, built on first render

    def pixels(self) -> torch.Tensor:
        """uint8 RGB images [N, H, W, 3] of every world."""
        return self.render_images(rgb_only=True)["pixels"]

    def render_images(self, qpos: torch.Tensor | None = None, rgb_only: bool = False) -> dict[str, torch.Tensor]:
        """Every world seen by the task's camera, in one rasterizer call: ``pixels`` uint8 [N, H, W, 3],
        ``depth`` float32 [N, H, W] (metres along the optical axis, 0 where nothing is hit) and ``body_id``
        int64 [N, H, W] (the body each pixel shows, -1 for the background); ``rgb_only``: ``pixels`` alone.
        ``qpos`` [N, nq]: render these configurations instead of the simulator's (same cameras, e.g. a planned
        state as a ghost)."""
        from ..renderers.scene import SplatScene

        task, visual = self.task, self.randomizer.visual
        if self.scene is None:
            self.scene = SplatScene.from_model(task.model, density=1500, ground_density=200)
        dev = task.model.device
        eye, target = self.task_camera()
        views = look_at(eye + visual["camera_offset"], target)[:, None].to(dev)
        Ks = intrinsics(45 + visual["fov_offset"], self.width, self.height)
        sky = torch.tensor(SKY).expand(task.num_worlds, 3)
        bg = torch.where(torch.isnan(visual["background"]), sky, visual["background"]).to(dev)
        colors = (self.scene.colors[None] * visual["color_gain"][:, None, :].to(dev)).clamp(0, 1)
        with torch.no_grad():
            q = task.sim.qpos.clone() if qpos is None else qpos.to(device=dev, dtype=torch.float32)
            out = self.scene.render(q, views, Ks[:, None].to(dev), self.width, self.height,
                                    backgrounds=bg[:, None], colors=colors, rgb_only=rgb_only)  # fmt: skip
        images = {"pixels": (out.rgb[:, 0].clamp(0, 1) * 255).to(torch.uint8)}
        if not rgb_only:
            images["depth"] = out.depth[:, 0].reshape(task.num_worlds, self.height, self.width).to(torch.float32)
            images["body_id"] = out.body_id[:, 0].to(torch.int64)
        return images

    def task_camera(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per world eye and target [N, 3] of the task's camera, in metres."""
        task = self.task
        centre = torch.zeros(task.num_worlds, 3)
        if task.camera_follows_root:
            centre[:, 0] = task.sim.qpos[:, 0].detach().cpu()
        return centre + torch.tensor(task.camera_eye), centre + torch.tensor(task.camera_target)
