"""The viewer's window (Open3D's GUI): a control panel on the left; on the right the geoms in Open3D's own 3D view
(mouse: orbit, pan, zoom), the splat render of the simulator (RGB, depth or body ids) and the world model's dream,
with frame rate, reward and PSNR below. All state lives in a :class:`~worldsim.viewer.session.ViewerSession`;
this module only builds widgets and forwards their events.

Keys: ``q``/``a``, ``w``/``s``, ... raise/lower actuators 0, 1, ...; ``0`` zeroes them; space pauses; ``n`` steps;
``x`` resets (see :meth:`ViewerSession.key`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import open3d as o3d
import open3d.visualization.gui as gui
import open3d.visualization.rendering as rendering

from ..envs.tasks import TASKS
from .geoms3d import GeomMeshes
from .headless import POLICIES
from .session import VIEWS, ViewerSession

PANEL_WIDTH = 330  # pixels at scaling 1
PLAN_METHODS = ("cem", "mppi", "gradient")
REPLAN_EVERY = 25  # frames between plans of a scripted run with policy "plan" (as the headless recorder)
SHOW_TIMEOUT = 30.0  # seconds a scripted run waits for the window's first frame before grabbing it anyway


def _image(img: np.ndarray) -> o3d.geometry.Image:
    return o3d.geometry.Image(np.ascontiguousarray(img))


class ViewerWindow:
    """One window over one session (switching the task or file opens a new window and closes this one).

    Args:
        session: what is shown.
        width, height: window size [pixels].
        policy: who acts when scripted: None (the user), or one of :data:`~worldsim.viewer.headless.POLICIES`.
        steps: scripted run: close the window after this many frames (with ``screenshot``: grab it first).
        screenshot: PNG path of a grab of the window (the X display's pixels) taken after ``steps`` frames.
        show_3d: show Open3D's 3D view of the geoms (where every geom has a mesh form). On a software Vulkan
            device (Mesa's llvmpipe, e.g. under Xvfb) Open3D 0.20's 3D widget sometimes never presents the window's
            first frame; ``False`` leaves it out.
    """

    def __init__(self, session: ViewerSession, *, width: int = 1280, height: int = 760, policy: str | None = None,
                 steps: int | None = None, screenshot: str | Path | None = None, show_3d: bool = True):  # fmt: skip
        self.session, self.show_3d = session, show_3d
        self.app = gui.Application.instance
        self.window = self.app.create_window(f"worldsim view: {session.name}", width, height)
        self.steps, self.screenshot, self.frames = steps, screenshot, 0
        self._opened, self._closing = time.perf_counter(), False
        self._policy, self._scripted_plan = None, policy == "plan"
        if policy in ("smooth", "random"):
            from ..data.policies import make_policy

            self._policy = make_policy(policy, session.env.single_action_space, 1, 0)
        elif policy == "plan":
            session.follow_plan = True
        elif policy not in (None, "zero"):
            raise ValueError(f"policy must be None or one of {POLICIES}, got {policy!r}")
        self._build_panel()
        self._build_panes()
        self.window.set_on_layout(self._on_layout)
        self.window.set_on_key(self._on_key)
        self.window.set_on_tick_event(self._on_tick)
        self._refresh()

    # ---- widgets
    def _build_panel(self) -> None:
        s, em = self.session, self.window.theme.font_size
        margin = gui.Margins(int(0.5 * em), int(0.5 * em), int(0.5 * em), int(0.5 * em))
        self.panel = gui.ScrollableVert(int(0.3 * em), margin)

        self.panel.add_child(gui.Label("Scene"))
        tasks = gui.Combobox()
        for name in sorted(TASKS):
            tasks.add_item(name)
        if s.name in TASKS:
            tasks.selected_text = s.name
        else:
            tasks.add_item(s.name)
            tasks.selected_text = s.name
        tasks.set_on_selection_changed(lambda text, _: self._guarded("Scene", self._switch, text))
        self.panel.add_child(tasks)
        self.panel.add_child(self._button("Open MJCF file...", self._open_mjcf))

        row = gui.Horiz(int(0.3 * em))
        self.play = self._button("Pause", self._toggle_pause)
        for b in (self.play, self._button("Step", self._step_once), self._button("Reset", self._reset)):
            row.add_child(b)
        self.panel.add_child(row)
        views = gui.Combobox()
        for v in VIEWS:
            views.add_item(v)
        views.selected_text = s.view
        views.set_on_selection_changed(lambda text, _: s.set_view(text))
        self.panel.add_child(self._labelled("splat view", views))

        actuators = gui.CollapsableVert("Actuators (keys q/a, w/s, ...)", int(0.2 * em), margin)
        self.action_sliders = []
        for i in range(s.nu):
            sl = gui.Slider(gui.Slider.DOUBLE)
            sl.set_limits(float(s.low[i]), float(s.high[i]))
            sl.double_value = float(s.action[i])
            sl.set_on_value_changed(lambda v, i=i: self._set_action(i, v))
            self.action_sliders.append(sl)
            actuators.add_child(self._labelled(f"u{i}", sl))
        if s.nu == 0:
            actuators.add_child(gui.Label("(no actuators)"))
        self.panel.add_child(actuators)

        dr = gui.CollapsableVert("Domain randomization (live)", int(0.2 * em), margin)
        self.dr_sliders = {}
        for name, spec in s.sliders.items():
            sl = gui.Slider(gui.Slider.DOUBLE)
            sl.set_limits(spec.low, spec.high)
            sl.double_value = spec.value
            sl.set_on_value_changed(lambda v, name=name: s.set_slider(name, v))
            self.dr_sliders[name] = sl
            dr.add_child(self._labelled(spec.label, sl))
        dr.add_child(self._button("Defaults", self._default_sliders))
        self.panel.add_child(dr)

        plan = gui.CollapsableVert("Trajectory optimization", int(0.2 * em), margin)
        self.method = gui.Combobox()
        for m in PLAN_METHODS:
            self.method.add_item(m)
        plan.add_child(self._labelled("method", self.method))
        plan.add_child(self._button("Plan from here", self._plan))
        self.follow = gui.Checkbox("follow the plan")
        self.follow.checked = s.follow_plan
        self.follow.set_on_checked(lambda c: setattr(s, "follow_plan", c))
        plan.add_child(self.follow)
        plan.enabled = s.is_task
        self.panel.add_child(plan)

        dream = gui.CollapsableVert("World model (dream)", int(0.2 * em), margin)
        dream.add_child(self._button("Load model directory...", self._open_model))
        dream.add_child(self._button("Restart dream from this frame", self._restart_dream))
        self.panel.add_child(dream)
        self.window.add_child(self.panel)

    def _build_panes(self) -> None:
        s = self.session
        self.titles = []
        self.meshes = None
        if self.show_3d:
            try:
                self.meshes = GeomMeshes(s.task.model)
            except ValueError:  # a geom without a mesh form: the splat render only
                self.meshes = None
        if self.meshes is not None:
            self.scene3d = gui.SceneWidget()
            self.scene3d.scene = rendering.Open3DScene(self.window.renderer)
            self.scene3d.scene.set_background([0.7, 0.8, 0.95, 1.0])
            for name, mesh, rgba, _, _ in self.meshes.items:
                mat = rendering.MaterialRecord()
                mat.shader = "defaultLit"
                mat.base_color = [float(c) for c in rgba]
                self.scene3d.scene.add_geometry(name, mesh, mat)
            self._update_3d()
            eye, target = (np.asarray(x[0]) for x in s.core.camera.task_camera())
            bbox = self.scene3d.scene.bounding_box
            self.scene3d.setup_camera(45.0, bbox, target.tolist())
            self.scene3d.look_at(target.tolist(), eye.tolist(), [0.0, 0.0, 1.0])
            self.window.add_child(self.scene3d)
            self.titles.append(gui.Label("Open3D geoms (drag: orbit)"))
        self.splat = gui.ImageWidget(_image(s.image()))
        self.window.add_child(self.splat)
        self.titles.append(gui.Label("splat render"))
        self.dream = gui.ImageWidget(_image(np.full((s.size, s.size, 3), 40, np.uint8)))
        self.window.add_child(self.dream)
        self.titles.append(gui.Label("dream (world model)"))
        for t in self.titles:
            self.window.add_child(t)
        self.status = gui.Label("")
        self.window.add_child(self.status)

    def _button(self, text, callback) -> gui.Button:
        b = gui.Button(text)
        b.set_on_clicked(callback)
        return b

    def _labelled(self, text, widget) -> gui.Vert:
        """``text`` above ``widget`` (which then takes the panel's width)."""
        col = gui.Vert(0)
        col.add_child(gui.Label(text))
        col.add_child(widget)
        return col

    def _on_layout(self, ctx) -> None:
        r = self.window.content_rect
        em = self.window.theme.font_size
        pw = int(PANEL_WIDTH * self.window.scaling)
        self.panel.frame = gui.Rect(r.x, r.y, pw, r.height)
        panes = ([self.scene3d] if self.meshes is not None else []) + [self.splat, self.dream]
        title_h, status_h = int(1.6 * em), int(3.5 * em)
        side = max(64, min((r.width - pw) // len(panes), r.height - title_h - status_h))
        for i, (pane, title) in enumerate(zip(panes, self.titles, strict=True)):
            x = r.x + pw + i * side
            title.frame = gui.Rect(x + 4, r.y, side - 4, title_h)
            pane.frame = gui.Rect(x, r.y + title_h, side, side)
        self.status.frame = gui.Rect(r.x + pw + 4, r.y + title_h + side + 4, r.width - pw - 8, status_h)

    # ---- events
    def _on_key(self, event) -> bool:
        if event.type != gui.KeyEvent.DOWN or not 0 < event.key < 128:
            return False
        if not self.session.key(chr(event.key)):
            return False
        for i, sl in enumerate(self.action_sliders):
            sl.double_value = float(self.session.action[i])
        self.play.text = "Play" if self.session.paused else "Pause"
        return True

    def _on_tick(self) -> bool:
        s = self.session
        if self.steps is not None and self.frames >= self.steps:
            if not self._closing:
                self._closing = self._finish()
            return True
        if self._policy is not None:
            s.set_action(self._policy(None)[0])
        elif self._scripted_plan and (s.plan is None or (s.steps - s.plan.start_step) % REPLAN_EVERY == 0):
            self._plan("cem")
        s.tick()
        self.frames += 1
        self._refresh()
        return True

    def _refresh(self) -> None:
        s = self.session
        self.splat.update_image(_image(s.image()))
        if self._policy is not None or s.follow_plan:  # actions not set by the user: show them
            for i, sl in enumerate(self.action_sliders):
                sl.double_value = float(s.action[i])
        if s.dream is not None:
            self.dream.update_image(_image(s.dream.image(s.size)))
        if self.meshes is not None:
            self._update_3d()
            if s.plan is None and self.scene3d.scene.has_geometry("plan"):  # reset: the plan is gone
                self.scene3d.scene.remove_geometry("plan")
        st = s.status()
        line = f"{s.name}   step {st['step']}   reward {st['reward']:+.3f}   return {st['return']:+.2f}   "
        line += f"{st['fps']:.0f} fps   " + ("paused" if s.paused else "running")
        if s.dream is not None and st["dream_psnr"] is not None:
            line += (
                f"\ndream PSNR {st['dream_psnr']:.1f} dB (mean {st['dream_mean_psnr']:.1f} dB over {st['dream_steps']})"
            )
        elif s.dream is None:
            line += "\ndream: load a world model (worldsim train) to run it beside the simulator"
        if s.plan is not None:
            line += f"\nplan ({s.plan.method}): cost {s.plan.cost:.2f}; ghost = its states ahead"
        self.status.text = line

    def _update_3d(self) -> None:
        for name, t in self.meshes.transforms(self.session.task.sim.qpos[0]).items():
            self.scene3d.scene.set_geometry_transform(name, t)

    def _show_plan_3d(self) -> None:
        """The plan's path of the first moving body as a line in the 3D view."""
        plan, scene = self.session.plan, self.scene3d.scene
        if scene.has_geometry("plan"):
            scene.remove_geometry("plan")
        pts = np.stack([self.meshes.body_poses(q)[0][0, 1].cpu().numpy() for q in plan.qpos]).astype(np.float64)
        lines = o3d.geometry.LineSet(
            o3d.utility.Vector3dVector(pts), o3d.utility.Vector2iVector([[i, i + 1] for i in range(len(pts) - 1)])
        )
        mat = rendering.MaterialRecord()
        mat.shader, mat.line_width, mat.base_color = "unlitLine", 3.0, [1.0, 0.2, 0.6, 1.0]
        scene.add_geometry("plan", lines, mat)

    def _finish(self) -> bool:
        """End a scripted run: grab the screenshot, close the window; False while waiting for the window to show.

        A software-rendered window (Xvfb, Mesa's llvmpipe) shows its first frame a second or two after it opens:
        until it does (the grab is one flat color) and for at most ``SHOW_TIMEOUT`` seconds, wait."""
        if self.screenshot is not None:
            from PIL import ImageGrab

            from .._media import write_png

            f = self.window.os_frame
            shot = ImageGrab.grab(xdisplay=os.environ.get("DISPLAY"))
            shot = np.asarray(shot.crop((f.x, f.y, f.x + f.width, f.y + f.height)).convert("RGB"))
            if shot.std() == 0 and time.perf_counter() - self._opened < SHOW_TIMEOUT:
                return False
            write_png(self.screenshot, shot)
        # closing a window inside its own tick callback crashes Open3D: close it from the event queue
        self.app.post_to_main_thread(self.window, self.window.close)
        return True

    # ---- buttons
    def _toggle_pause(self) -> None:
        self.session.paused = not self.session.paused
        self.play.text = "Play" if self.session.paused else "Pause"

    def _step_once(self) -> None:
        self.session.step()
        self._refresh()

    def _reset(self) -> None:
        self.session.reset()
        self._refresh()

    def _set_action(self, i: int, v: float) -> None:
        a = self.session.action.copy()
        a[i] = v
        self.session.set_action(a)

    def _default_sliders(self) -> None:
        for name, spec in self.session.sliders.items():
            self.session.set_slider(name, spec.default)
            self.dr_sliders[name].double_value = spec.default

    def _plan(self, method: str | None = None) -> None:
        """Plan from the current state (on the GUI thread: the window waits for the optimizer, a second or two)."""
        try:
            self.session.make_plan(method or self.method.selected_text, iters=5 if method else 20)
        except (ValueError, RuntimeError) as e:
            self.window.show_message_box("Plan", str(e))
            return
        if self.meshes is not None:
            self._show_plan_3d()

    def _restart_dream(self) -> None:
        if self.session.dream is None:
            self.window.show_message_box("Dream", "no world model loaded")
        else:
            self.session.dream.restart(self.session)

    def _dialog(self, mode, title: str, done, filters=()) -> None:
        dlg = gui.FileDialog(mode, title, self.window.theme)
        for ext, text in filters:
            dlg.add_filter(ext, text)
        dlg.set_on_cancel(self.window.close_dialog)

        def on_done(path: str) -> None:
            self.window.close_dialog()
            self._guarded(title, done, path)

        dlg.set_on_done(on_done)
        self.window.show_dialog(dlg)

    def _open_mjcf(self) -> None:
        self._dialog(gui.FileDialog.OPEN, "Open an MJCF file", self._switch, [(".xml", "MJCF files (.xml)")])

    def _open_model(self) -> None:
        self._dialog(gui.FileDialog.OPEN_DIR, "Open a world model directory", self.session.load_dream)

    def _guarded(self, title: str, fn, *args) -> None:
        """Run a callback; show its error in a message box (an exception must not escape into Open3D)."""
        try:
            fn(*args)
        except (ValueError, FileNotFoundError, RuntimeError) as e:
            self.window.show_message_box(title, str(e))

    def _switch(self, source: str) -> None:
        s = self.session
        new = ViewerSession(source, size=s.size, view=s.view, density=s.density)
        r = self.window.os_frame
        ViewerWindow(new, width=r.width, height=r.height, show_3d=self.show_3d)
        self.app.post_to_main_thread(self.window, self.window.close)  # not inside this window's callback


def run_app(source: str | Path = "CartPole", *, size: int = 128, view: str = "rgb", model_dir=None,
            density: float = 1000.0, width: int = 1280, height: int = 760, policy: str | None = None,
            steps: int | None = None, screenshot: str | Path | None = None, show_3d: bool = True) -> dict:  # fmt: skip
    """Open the viewer window on ``source`` (a task name or an MJCF file) and run until it is closed (or, with
    ``steps``, for that many frames, grabbing ``screenshot`` at the end). Needs a display (``DISPLAY``; under
    ``xvfb-run`` on a machine without one). Returns the session's :meth:`~ViewerSession.status` when the window
    closes (its ``fps``: the window's frame rate, physics, rendering and drawing together)."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        raise RuntimeError("no display to open a window on: use `worldsim view --headless` or run under xvfb-run")
    if screenshot is not None and steps is None:
        raise ValueError("a screenshot needs steps (the frame after which the window is grabbed)")
    session = ViewerSession(source, size=size, view=view, model_dir=model_dir, density=density)
    app = gui.Application.instance
    app.initialize()
    ViewerWindow(session, width=width, height=height, policy=policy, steps=steps, screenshot=screenshot,
                 show_3d=show_3d)  # fmt: skip
    app.run()
    return session.status()
