"""Open3D meshes of a model's geoms and their world transforms, for the viewer's 3D pane (a classic mesh view next
to the splat render)."""

from __future__ import annotations

import mujoco
import numpy as np
import open3d as o3d
import torch

from ..physics.forward import forward_kinematics
from ..physics.model import Model
from ..renderers.scene import _geom_mesh, visible_geoms


def _rotmat(q: np.ndarray) -> np.ndarray:
    """Rotation matrix of a unit quaternion (w, x, y, z)."""
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])  # fmt: skip


def _transform(pos: np.ndarray, quat: np.ndarray) -> np.ndarray:
    t = np.eye(4)
    t[:3, :3], t[:3, 3] = _rotmat(quat), pos
    return t


class GeomMeshes:
    """One Open3D triangle mesh per visible geom, in the geom's frame, with its color and body.

    Raises ``ValueError`` when a geom has no mesh form here (mesh files, height fields, ellipsoids): the viewer
    then shows the splat render only ("where the scene allows")."""

    def __init__(self, model: Model, ground_size: float = 2.0):
        mjm = model.mj_model
        self.model = model
        self.items: list[tuple[str, o3d.geometry.TriangleMesh, np.ndarray, int, np.ndarray]] = []
        for g, gtype, rgba in visible_geoms(mjm):
            if gtype == mujoco.mjtGeom.mjGEOM_PLANE:
                sx, sy = (float(s) if s > 0 else ground_size for s in mjm.geom_size[g][:2])
                mesh = o3d.geometry.TriangleMesh.create_box(2 * sx, 2 * sy, 0.01).translate((-sx, -sy, -0.01))
            else:
                mesh = _geom_mesh(gtype, mjm.geom_size[g])
                if mesh is None:
                    raise ValueError(f"geom #{g} (type {gtype}) has no mesh form in the 3D view")
            mesh.compute_vertex_normals()
            local = _transform(mjm.geom_pos[g], mjm.geom_quat[g])
            self.items.append((f"geom{g}", mesh, rgba.copy(), int(mjm.geom_bodyid[g]), local))

    def transforms(self, qpos: torch.Tensor) -> dict[str, np.ndarray]:
        """World transforms (4×4) of every geom at ``qpos`` [nq] (world 0 of the model)."""
        pos, quat = (x[0].detach().cpu().double().numpy() for x in self.body_poses(qpos))
        return {name: _transform(pos[b], quat[b]) @ local for name, _, _, b, local in self.items}

    def body_poses(self, qpos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        q = qpos.reshape(1, -1).expand(self.model.num_worlds, -1).contiguous()
        with torch.no_grad():
            return forward_kinematics(self.model, q)
