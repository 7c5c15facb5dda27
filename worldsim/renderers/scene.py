"""`SplatScene`: Gaussian splats bound to the bodies of a :class:`~worldsim.Model`, rendered from ``qpos``.

Each splat stores its body index and its pose in that body's frame; rendering runs worldsim's forward
kinematics (differentiable) and :func:`~worldsim.renderers.rasterize`, so a pixel loss reaches ``qpos`` and,
through :func:`worldsim.rollout`, the controls and physical parameters.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import mujoco
import numpy as np
import torch

from .._files import atomic_path
from ..physics.model import Model
from .poses import body_poses
from .projection import quat_to_rotmat
from .rasterize import rasterize

if TYPE_CHECKING:
    import open3d as o3d


def _open3d():
    """Open3D, imported on first use (mesh building and sampling): ``import worldsim`` does not load it."""
    import open3d

    return open3d


_SH_C0 = 0.28209479177387814


@dataclass
class RenderOutput:
    """Images of N worlds from C cameras: ``rgb`` [N, C, H, W, 3], ``alpha`` [N, C, H, W, 1], ``depth``
    [N, C, H, W, 1] (expected depth along the camera axis, m; 0 where nothing is hit) and ``body_id`` [N, C, H, W]
    (the body whose splats weigh most in each pixel, −1 for background); ``depth`` and ``body_id`` are None when
    rendered with ``rgb_only``."""

    rgb: torch.Tensor
    alpha: torch.Tensor
    depth: torch.Tensor | None
    body_id: torch.Tensor | None


def quat_multiply(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamilton product of quaternions [..., 4] (w, x, y, z)."""
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack(
        [aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
         aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw],
        dim=-1,
    )  # fmt: skip


def _quat_from_z(normals: np.ndarray) -> np.ndarray:
    """Quaternions (w, x, y, z) rotating the z axis onto each unit normal [M, 3]."""
    z = np.array([0.0, 0.0, 1.0])
    axis = np.cross(z, normals)
    w = 1.0 + normals @ z
    q = np.concatenate([w[:, None], axis], axis=1)
    flipped = w < 1e-6  # normal = −z: rotate by π about x
    q[flipped] = [0.0, 1.0, 0.0, 0.0]
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def _geom_mesh(gtype: int, size: np.ndarray) -> o3d.geometry.TriangleMesh | None:
    """An Open3D mesh of a MuJoCo geom in its own frame (None for planes, handled as a grid)."""
    o3d = _open3d()
    G = mujoco.mjtGeom
    if gtype == G.mjGEOM_SPHERE:
        return o3d.geometry.TriangleMesh.create_sphere(radius=float(size[0]), resolution=20)
    if gtype == G.mjGEOM_BOX:
        mesh = o3d.geometry.TriangleMesh.create_box(*(2 * size[:3]).tolist())
        return mesh.translate(-size[:3])
    if gtype == G.mjGEOM_CYLINDER:
        return o3d.geometry.TriangleMesh.create_cylinder(
            radius=float(size[0]), height=2 * float(size[1]), resolution=32
        )
    if gtype == G.mjGEOM_CAPSULE:
        r, h = float(size[0]), float(size[1])
        side = o3d.geometry.TriangleMesh.create_cylinder(radius=r, height=2 * h, resolution=32, split=8)
        # drop the cylinder's caps: the hemispheres close the capsule
        keep = np.abs(np.asarray(side.vertices)[:, 2]) < h - 1e-9
        tri = np.asarray(side.triangles)
        side.triangles = o3d.utility.Vector3iVector(tri[np.all(keep[tri] | (np.linalg.norm(
            np.asarray(side.vertices)[tri][..., :2], axis=-1) > r - 1e-6), axis=1)])  # fmt: skip
        top = o3d.geometry.TriangleMesh.create_sphere(radius=r, resolution=16).translate((0, 0, h))
        bottom = o3d.geometry.TriangleMesh.create_sphere(radius=r, resolution=16).translate((0, 0, -h))
        for cap, sign in ((top, 1.0), (bottom, -1.0)):
            v = np.asarray(cap.vertices)
            tri = np.asarray(cap.triangles)
            outer = sign * (v[:, 2] - sign * h) >= -1e-9
            cap.triangles = o3d.utility.Vector3iVector(tri[np.all(outer[tri], axis=1)])
        return side + top + bottom
    return None


def visible_geoms(mjm: mujoco.MjModel):
    """(geom id, geom type, rgba [4]) of every geom that is drawn: rgba from its material when it has one, alpha > 0."""
    for g in range(mjm.ngeom):
        rgba = mjm.mat_rgba[mjm.geom_matid[g]] if mjm.geom_matid[g] >= 0 else mjm.geom_rgba[g]
        if rgba[3] > 0:
            yield g, int(mjm.geom_type[g]), rgba


def _sample_surface(mesh: o3d.geometry.TriangleMesh, density: float, rng_seed: int):
    """Points and normals (float64 [M, 3]) spread over ``mesh``, about ``density`` per m², and their spacing."""
    o3d = _open3d()
    mesh.compute_triangle_normals()
    area = max(mesh.get_surface_area(), 1e-9)
    count = max(32, int(round(density * area)))
    o3d.utility.random.seed(rng_seed)
    pcd = mesh.sample_points_poisson_disk(count, use_triangle_normal=True)
    return np.asarray(pcd.points), np.asarray(pcd.normals), float(np.sqrt(area / count))


@dataclass
class SplatScene:
    """Gaussian splats bound to bodies: per splat its ``body`` [S] and, in that body's frame, ``means`` [S, 3]
    (m), ``quats`` [S, 4] (w, x, y, z), ``scales`` [S, 3] (m), plus ``opacities`` [S] and ``colors`` [S, 3]
    (RGB in [0, 1]). Body 0 is the world (static splats). The float tensors may require grad (fit them)."""

    model: Model
    body: torch.Tensor
    means: torch.Tensor
    quats: torch.Tensor
    scales: torch.Tensor
    opacities: torch.Tensor
    colors: torch.Tensor

    @property
    def num_splats(self) -> int:
        return int(self.body.shape[0])

    @classmethod
    def from_model(
        cls,
        model: Model,
        *,
        density: float = 4000.0,
        seed: int = 0,
        ground_size: float = 2.0,
        ground_density: float = 400.0,
        checker: float = 0.5,
        thickness: float = 0.1,
    ) -> SplatScene:
        """Splats on every visible geom's surface (Open3D meshes sampled with Poisson-disk spacing), colored from
        the geom's ``rgba`` or material, flat (``thickness`` × their spacing along the surface normal).

        Args:
            density: splats per m² of surface.
            seed: sampling seed.
            ground_size: largest half extent [m] of a plane's visible square (planes are infinite in MuJoCo).
            ground_density: splats per m² on planes (a grid).
            checker: square size [m] of the checkerboard drawn on planes (their color and a darker tone).
            thickness: splat thickness relative to its width.
        """
        if not density > 0:
            raise ValueError(f"density must be positive, got {density!r}")
        mjm = model.mj_model
        parts = []
        for g, gtype, rgba in visible_geoms(mjm):
            if gtype == mujoco.mjtGeom.mjGEOM_PLANE:
                pts, nrm, spacing, cols = _plane_grid(mjm.geom_size[g], ground_size, checker, ground_density, rgba[:3])
            else:
                mesh = _geom_mesh(gtype, mjm.geom_size[g])
                if mesh is None:
                    raise ValueError(f"geom #{g}: type {gtype} cannot be turned into splats")
                pts, nrm, spacing = _sample_surface(mesh, density, seed + g)
                cols = np.tile(rgba[:3], (len(pts), 1))
            rot = quat_to_rotmat(torch.as_tensor(mjm.geom_quat[g], dtype=torch.float64)).numpy()
            pts = pts @ rot.T + mjm.geom_pos[g]
            nrm = nrm @ rot.T
            width = 0.7 * spacing
            parts.append((np.full(len(pts), mjm.geom_bodyid[g]), pts, _quat_from_z(nrm),
                          np.tile([width, width, thickness * width], (len(pts), 1)), cols))  # fmt: skip
        if not parts:
            raise ValueError("the model has no visible geoms to turn into splats")
        body, pts, quats, scales, cols = (np.concatenate(x) for x in zip(*parts, strict=True))
        return cls._make(model, body, pts, quats, scales, np.full(len(body), 0.95), cols)

    @classmethod
    def _make(cls, model, body, means, quats, scales, opacities, colors) -> SplatScene:
        def t(x):
            return torch.tensor(np.array(x, dtype=np.float32), device=model.device)

        return cls(model, torch.tensor(np.array(body, dtype=np.int64), device=model.device), t(means),
                   t(quats), t(scales), t(opacities), t(colors))  # fmt: skip

    def add_mesh(
        self,
        mesh: o3d.geometry.TriangleMesh | o3d.geometry.PointCloud | str | os.PathLike,
        *,
        body: int = 0,
        num_points: int = 2000,
        color=(0.7, 0.7, 0.7),
        splat_size: float | None = None,
        seed: int = 0,
    ) -> SplatScene:
        """A new scene with a user mesh or point cloud (Open3D object, or a PLY/OBJ/GLB/... file) added as
        splats of ``body`` (coordinates taken in that body's frame). Meshes are sampled (``num_points``);
        point clouds use their points (and colors, normals if present)."""
        o3d = _open3d()
        if not 0 <= body < self.model.nbody:
            raise ValueError(f"body {body} does not exist (nbody = {self.model.nbody})")
        if isinstance(mesh, (str, os.PathLike)):
            path = os.fspath(mesh)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"mesh or point cloud file not found: {path}")
            geo = o3d.io.read_triangle_mesh(path)
            mesh = geo if len(geo.triangles) else o3d.io.read_point_cloud(path)
        if isinstance(mesh, o3d.geometry.TriangleMesh):
            if not len(mesh.triangles):
                raise ValueError("the mesh has no triangles")
            area = mesh.get_surface_area()
            pts, nrm, spacing = _sample_surface(mesh, num_points / max(area, 1e-9), seed)
            cols = np.tile(color, (len(pts), 1))
        elif isinstance(mesh, o3d.geometry.PointCloud):
            pts = np.asarray(mesh.points)
            if not len(pts):
                raise ValueError("the point cloud is empty")
            nrm = np.asarray(mesh.normals) if mesh.has_normals() else np.tile([0.0, 0.0, 1.0], (len(pts), 1))
            cols = np.asarray(mesh.colors) if mesh.has_colors() else np.tile(color, (len(pts), 1))
            extent = np.linalg.norm(pts.max(0) - pts.min(0))
            spacing = extent / np.sqrt(len(pts))
        else:
            raise ValueError(f"mesh must be an Open3D TriangleMesh/PointCloud or a file path, got {type(mesh)}")
        size = 0.7 * spacing if splat_size is None else splat_size
        flat = 0.1 if isinstance(mesh, o3d.geometry.TriangleMesh) or mesh.has_normals() else 1.0
        scales = np.tile([size, size, flat * size], (len(pts), 1))
        new = SplatScene._make(self.model, np.full(len(pts), body), pts, _quat_from_z(nrm), scales,
                               np.full(len(pts), 0.95), cols)  # fmt: skip
        return SplatScene(self.model, *(torch.cat([a, b]) for a, b in zip(self._fields(), new._fields(), strict=True)))

    def _fields(self):
        return (self.body, self.means, self.quats, self.scales, self.opacities, self.colors)

    def world_splats(self, qpos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Splat means [N, S, 3] and quaternions [N, S, 4] in the world at ``qpos`` [N, nq] (differentiable)."""
        xpos, xquat = body_poses(self.model, qpos)
        rot = quat_to_rotmat(xquat[:, self.body])  # [N, S, 3, 3]
        means = xpos[:, self.body] + (rot @ self.means[..., None])[..., 0]
        quats = quat_multiply(xquat[:, self.body], self.quats[None].expand(xquat.shape[0], -1, -1))
        return means, quats

    def render(
        self,
        qpos: torch.Tensor,
        viewmats: torch.Tensor,
        Ks: torch.Tensor,
        width: int,
        height: int,
        *,
        backgrounds: torch.Tensor | None = None,
        near_plane: float = 0.01,
        colors: torch.Tensor | None = None,
        rgb_only: bool = False,
    ) -> RenderOutput:
        """Render the N worlds at ``qpos`` [N, nq] from cameras ``viewmats`` [C, 4, 4] (shared) or [N, C, 4, 4]
        (per world) with intrinsics ``Ks`` [C, 3, 3] or [N, C, 3, 3]; ``backgrounds`` [C, 3], [N, C, 3] or None
        (black); ``colors`` [N, S, 3] overrides the splat colors per world (visual randomization). All N·C images
        come from one rasterizer call. On the CPU without gradients (no input requires grad, or under
        ``torch.no_grad()``) every stage runs in Warp over threads (:mod:`worldsim.renderers.batched`): the same
        images, ~4x faster. ``rgb_only``: leave ``depth`` and ``body_id`` out (None), which saves their per-pixel
        work (an env's pixel observations)."""
        n = self.model.num_worlds
        if viewmats.ndim == 3:
            viewmats = viewmats[None].expand(n, -1, -1, -1)
        if viewmats.ndim != 4 or viewmats.shape[0] != n or viewmats.shape[2:] != (4, 4):
            raise ValueError(f"viewmats must be [C, 4, 4] or [{n}, C, 4, 4], got {list(viewmats.shape)}")
        C = viewmats.shape[1]
        Ks = Ks[None].expand(n, -1, -1, -1) if Ks.ndim == 3 else Ks
        if Ks.shape != (n, C, 3, 3):
            raise ValueError(f"Ks has shape {list(Ks.shape)}, expected [{C}, 3, 3] or [{n}, {C}, 3, 3]")
        if backgrounds is not None:
            backgrounds = backgrounds[None].expand(n, -1, -1) if backgrounds.ndim == 2 else backgrounds
            if backgrounds.shape != (n, C, 3):
                raise ValueError(f"backgrounds has shape {list(backgrounds.shape)}, expected [{C}, 3] or [{n}, {C}, 3]")
        if colors is None:
            colors = self.colors[None].expand(n, -1, -1)
        elif colors.shape != (n, self.num_splats, 3):
            raise ValueError(f"colors has shape {list(colors.shape)}, expected [{n}, {self.num_splats}, 3]")
        inputs = (qpos, viewmats, Ks, colors, backgrounds, *self._fields()[1:])
        wants_grad = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in inputs)
        if not wants_grad and qpos.device.type == "cpu":  # the CPU forward: every stage in Warp, multi-threaded
            return self._render_batch(qpos, viewmats, Ks, width, height, backgrounds, near_plane, colors, rgb_only)
        means, quats = self.world_splats(qpos)

        def per_camera(x):  # [N, S, ...] -> [N·C, S, ...]
            return x[:, None].expand(n, C, *x.shape[1:]).reshape(n * C, *x.shape[1:])

        image, alpha, meta = rasterize(
            per_camera(means), per_camera(quats), per_camera(self.scales[None].expand(n, -1, -1)),
            per_camera(self.opacities[None].expand(n, -1)), per_camera(colors),
            viewmats.reshape(n * C, 4, 4), Ks.reshape(n * C, 3, 3), width, height, render_mode="RGB+D",
            backgrounds=None if backgrounds is None else backgrounds.reshape(n * C, 3), near_plane=near_plane,
        )  # fmt: skip
        return self._output(n, C, image[..., :3], alpha, image[..., 3:], meta["top"], rgb_only)

    def _render_batch(self, qpos, viewmats, Ks, width, height, backgrounds, near_plane, colors,
                      rgb_only) -> RenderOutput:  # fmt: skip
        """:meth:`render` without gradients: every stage in Warp (:mod:`worldsim.renderers.batched`)."""
        from .batched import render_batch

        n, C = viewmats.shape[:2]
        xpos, xquat = body_poses(self.model, qpos.detach())
        out = render_batch(xpos, xquat, self.body, self.means, self.quats, self.scales, self.opacities, colors,
                           viewmats.reshape(n * C, 4, 4), Ks.reshape(n * C, 3, 3), width, height,
                           backgrounds=None if backgrounds is None else backgrounds.reshape(n * C, 3),
                           near_plane=near_plane)  # fmt: skip
        return self._output(n, C, out["color"], out["alpha"][..., None], out["depth"][..., None], out["top"],
                            rgb_only)  # fmt: skip

    def _output(self, n, C, rgb, alpha, depth_sum, top, rgb_only) -> RenderOutput:
        """The rasterizer's [N·C, H, W, ...] images as a :class:`RenderOutput` [N, C, ...]: depth normalized by alpha
        (``depth_sum`` = Σ zᵢ αᵢ Tᵢ), ``top`` (c·S + s of each pixel's heaviest splat, −1 for none) as body ids."""

        def split(x):
            return x.reshape(n, C, *x.shape[1:])

        if rgb_only:
            return RenderOutput(split(rgb), split(alpha), None, None)
        depth = torch.where(alpha > 1e-6, depth_sum / alpha.clamp_min(1e-6), torch.zeros_like(alpha))
        top = top.long()
        body_id = torch.where(top >= 0, self.body[(top % self.num_splats).clamp_min(0)], torch.full_like(top, -1))
        return RenderOutput(split(rgb), split(alpha), split(depth), split(body_id))

    # ------------------------------------------------------------------ 3DGS PLY
    def save_ply(self, path: str | os.PathLike) -> None:
        """Write the splats (in their bodies' frames) in the standard 3DGS PLY layout: x, y, z, nx, ny, nz,
        f_dc_0..2 (SH degree 0), opacity (logit), scale_0..2 (log), rot_0..3 (w, x, y, z), plus ``body``.
        Written to a temporary file and renamed, so an interrupted save never leaves a truncated file."""
        s = self.num_splats
        fields = [("x", "f4"), ("y", "f4"), ("z", "f4"), ("nx", "f4"), ("ny", "f4"), ("nz", "f4"),
                  ("f_dc_0", "f4"), ("f_dc_1", "f4"), ("f_dc_2", "f4"), ("opacity", "f4"), ("scale_0", "f4"),
                  ("scale_1", "f4"), ("scale_2", "f4"), ("rot_0", "f4"), ("rot_1", "f4"), ("rot_2", "f4"),
                  ("rot_3", "f4"), ("body", "i4")]  # fmt: skip
        data = np.zeros(s, dtype=[(name, "<" + t) for name, t in fields])
        means = self.means.detach().cpu().numpy()
        op = self.opacities.detach().cpu().numpy().clip(1e-6, 1 - 1e-6)
        for i, axis in enumerate("xyz"):
            data[axis] = means[:, i]
        dc = (self.colors.detach().cpu().numpy() - 0.5) / _SH_C0
        for i in range(3):
            data[f"f_dc_{i}"] = dc[:, i]
            data[f"scale_{i}"] = np.log(self.scales.detach().cpu().numpy()[:, i].clip(1e-12))
        data["opacity"] = np.log(op / (1 - op))
        for i in range(4):
            data[f"rot_{i}"] = self.quats.detach().cpu().numpy()[:, i]
        data["body"] = self.body.cpu().numpy()
        header = "ply\nformat binary_little_endian 1.0\n" + f"element vertex {s}\n"
        header += "".join(f"property {'int' if t == 'i4' else 'float'} {name}\n" for name, t in fields)
        header += "end_header\n"
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            f.write(header.encode("ascii"))
            f.write(data.tobytes())

    @classmethod
    def load_ply(cls, path: str | os.PathLike, model: Model) -> SplatScene:
        """Read a 3DGS PLY (as written by :meth:`save_ply`, or any 3DGS PLY: without ``body`` every splat is a
        static world splat). Colors come from the degree-0 SH coefficients."""
        path = os.fspath(path)
        with open(path, "rb") as f:
            raw = f.read()
        end = raw.find(b"end_header\n")
        if not raw.startswith(b"ply\n") or end < 0:
            raise ValueError(f"{path}: not a PLY file")
        lines = raw[:end].decode("ascii").splitlines()
        if "format binary_little_endian 1.0" not in lines:
            raise ValueError(f"{path}: only binary little-endian PLY is supported")
        count = next(int(line.split()[2]) for line in lines if line.startswith("element vertex"))
        types = {"float": "<f4", "int": "<i4", "double": "<f8", "uchar": "u1"}
        props = [(line.split()[2], types[line.split()[1]]) for line in lines if line.startswith("property")]
        data = np.frombuffer(raw[end + len(b"end_header\n") :], dtype=props, count=count)
        names = {p for p, _ in props}
        missing = {"x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "rot_0"} - names
        if missing:
            raise ValueError(f"{path}: missing 3DGS properties {sorted(missing)}")
        body = data["body"] if "body" in names else np.zeros(count, dtype=np.int64)
        if body.size and (body.min() < 0 or body.max() >= model.nbody):
            raise ValueError(f"{path}: body indices outside [0, {model.nbody})")
        means = np.stack([data["x"], data["y"], data["z"]], 1)
        colors = np.stack([data[f"f_dc_{i}"] for i in range(3)], 1) * _SH_C0 + 0.5
        scales = np.exp(np.stack([data[f"scale_{i}"] for i in range(3)], 1))
        quats = np.stack([data[f"rot_{i}"] for i in range(4)], 1)
        opac = 1 / (1 + np.exp(-data["opacity"].astype(np.float64)))
        return cls._make(model, body, means, quats, scales, opac, colors)


def _plane_grid(size, ground_size: float, checker: float, density: float, rgb):
    """Points, normals, spacing and checkerboard colors of a plane's visible square (its geom frame)."""
    half = min(float(size[0]), ground_size) if size[0] > 0 else ground_size
    half_y = min(float(size[1]), ground_size) if size[1] > 0 else ground_size
    spacing = 1.0 / np.sqrt(density)
    xs = np.arange(-half + spacing / 2, half, spacing)
    ys = np.arange(-half_y + spacing / 2, half_y, spacing)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    pts = np.stack([gx.ravel(), gy.ravel(), np.zeros(gx.size)], 1)
    dark = (np.floor(gx / checker) + np.floor(gy / checker)).astype(int).ravel() % 2 == 1
    cols = np.where(dark[:, None], 0.55 * np.asarray(rgb), np.minimum(1.0, 1.1 * np.asarray(rgb) + 0.1))
    return pts, np.tile([0.0, 0.0, 1.0], (len(pts), 1)), spacing, cols
