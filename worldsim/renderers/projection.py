"""EWA projection of 3D Gaussians to the image plane, in torch (differentiable by autograd).

Conventions are gsplat's: quaternions (w, x, y, z), normalized here; ``viewmats`` world-to-camera with +z
forward (OpenCV); ``Ks`` in pixels; a Gaussian projects to mean2d = (fx x/z + cx, fy y/z + cy).
"""

from __future__ import annotations

import torch


def quat_to_rotmat(quats: torch.Tensor) -> torch.Tensor:
    """Rotation matrices [..., 3, 3] from quaternions [..., 4] (w, x, y, z), normalized first."""
    q = quats / quats.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    w, x, y, z = q.unbind(-1)
    return torch.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ],
        dim=-1,
    ).reshape(*q.shape[:-1], 3, 3)  # fmt: skip


def covariances(quats: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """World-frame covariances Σ = R S Sᵀ Rᵀ [N, 3, 3] from quaternions [N, 4] and scales [N, 3] (std devs, m)."""
    m = quat_to_rotmat(quats) * scales.unsqueeze(-2)  # R S
    return m @ m.transpose(-1, -2)


def project(
    means: torch.Tensor,
    quats: torch.Tensor,
    scales: torch.Tensor,
    viewmats: torch.Tensor,
    Ks: torch.Tensor,
    width: int,
    height: int,
    *,
    near_plane: float = 0.01,
    far_plane: float = 1e10,
    eps2d: float = 0.3,
) -> dict[str, torch.Tensor]:
    """Project N Gaussians into C cameras. ``means`` [N, 3] / ``quats`` [N, 4] / ``scales`` [N, 3] are shared by all
    cameras, or given per camera as [C, N, ...] (a batch of worlds rendered in one call).

    Returns ``means2d`` [C, N, 2] (pixels), ``conics`` [C, N, 3] (a, b, c of the inverse 2D covariance
    [[a, b], [b, c]] [1/px²]), ``depths`` [C, N] (camera z, m), ``radii`` [C, N] (int, pixels; 0 = culled: behind
    the near plane, beyond the far plane, degenerate or entirely outside the image) and ``covars2d`` [C, N, 3].
    """
    R = viewmats[:, :3, :3]  # [C, 3, 3]
    t = viewmats[:, :3, 3]  # [C, 3]
    if means.ndim == 3:
        p_cam = torch.einsum("cij,cnj->cni", R, means) + t[:, None, :]  # [C, N, 3]
    else:
        p_cam = torch.einsum("cij,nj->cni", R, means) + t[:, None, :]
    x, y, z = p_cam.unbind(-1)
    valid = (z > near_plane) & (z < far_plane)
    zs = torch.where(valid, z, torch.ones_like(z))  # safe divisor for culled points (their outputs are unused)
    fx, fy = Ks[:, 0, 0, None], Ks[:, 1, 1, None]
    cx, cy = Ks[:, 0, 2, None], Ks[:, 1, 2, None]
    means2d = torch.stack([fx * x / zs + cx, fy * y / zs + cy], dim=-1)
    # EWA: Jacobian of the perspective projection at the mean. Like the 3DGS kernels, the slopes x/z and y/z
    # are clamped to 30% beyond the image edges, so a Gaussian far outside the view (near the camera's side)
    # cannot blow up into a screen-filling blob.
    lim_x_pos = (width - cx) / fx + 0.3 * (0.5 * width / fx)
    lim_x_neg = cx / fx + 0.3 * (0.5 * width / fx)
    lim_y_pos = (height - cy) / fy + 0.3 * (0.5 * height / fy)
    lim_y_neg = cy / fy + 0.3 * (0.5 * height / fy)
    tx = zs * torch.minimum(lim_x_pos, torch.maximum(-lim_x_neg, x / zs))
    ty = zs * torch.minimum(lim_y_pos, torch.maximum(-lim_y_neg, y / zs))
    zero = torch.zeros_like(zs)
    J = torch.stack([fx / zs, zero, -fx * tx / (zs * zs), zero, fy / zs, -fy * ty / (zs * zs)], dim=-1)
    J = J.reshape(*zs.shape, 2, 3)
    cov = covariances(quats, scales)
    cov = cov if cov.ndim == 4 else cov[None]
    cov_cam = R[:, None] @ cov @ R.transpose(-1, -2)[:, None]  # [C, N, 3, 3]
    cov2d = J @ cov_cam @ J.transpose(-1, -2)
    a = cov2d[..., 0, 0] + eps2d
    b = cov2d[..., 0, 1]
    c = cov2d[..., 1, 1] + eps2d
    det = a * c - b * b
    valid = valid & (det > 1e-12)
    det_s = torch.where(valid, det, torch.ones_like(det))
    conics = torch.stack([c / det_s, -b / det_s, a / det_s], dim=-1)
    with torch.no_grad():
        mid = 0.5 * (a + c)
        lam = mid + torch.sqrt(torch.clamp(mid * mid - det, min=0.1))
        radii = torch.ceil(3.0 * torch.sqrt(lam.clamp_min(0))).to(torch.int32)
        mx, my = means2d[..., 0], means2d[..., 1]
        inside = (mx + radii > 0) & (mx - radii < width) & (my + radii > 0) & (my - radii < height)
        radii = torch.where(valid & inside, radii, torch.zeros_like(radii))
    return {
        "means2d": means2d,
        "conics": conics,
        "depths": z,
        "radii": radii,
        "covars2d": torch.stack([a, b, c], dim=-1),
    }
