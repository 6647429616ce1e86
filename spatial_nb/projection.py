"""3D boxes -> 2D line segments: rotation, corners, near-plane clipping, pinhole projection.

Pure numpy, shared by the PIL, SVG and matplotlib drawers. Conventions (Gemini's 3D boxes
and Google's viewers): camera frame x right, y forward (depth), z up; R = Rz(yaw)·Ry(pitch)·
Rx(roll) in degrees; f = W / (2·tan(FOV/2)); u = W/2 + f·x/y, v = H/2 − f·z/y. Edges are
clipped against the plane y = ``near`` BEFORE projecting, so corners behind the camera never
turn into lines across the picture; the 2D result is then clipped to a margin around the frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "BOX_EDGES",
    "DEFAULT_FOV_DEG",
    "NEAR_PLANE",
    "rotation_matrix",
    "box3d_corners",
    "focal_length",
    "project_points",
    "clip_segments_near",
    "clip_segments_rect",
    "box3d_segments",
]

DEFAULT_FOV_DEG = 60.0
#: Depth (metres) of the clipping plane in front of the camera.
NEAR_PLANE = 0.01

#: The 12 edges of a box as pairs of corner indices into :func:`box3d_corners`.
BOX_EDGES = np.array(
    [[0, 1], [2, 3], [4, 5], [6, 7],  # along x
     [0, 2], [1, 3], [4, 6], [5, 7],  # along y
     [0, 4], [1, 5], [2, 6], [3, 7]],  # along z
    dtype=np.int64,
)  # fmt: skip


def rotation_matrix(roll_deg: float, pitch_deg: float, yaw_deg: float) -> np.ndarray:
    """``Rz(yaw) @ Ry(pitch) @ Rx(roll)`` for angles in degrees (3x3)."""
    r, p, y = np.radians([roll_deg, pitch_deg, yaw_deg])
    rx = np.array([[1, 0, 0], [0, np.cos(r), -np.sin(r)], [0, np.sin(r), np.cos(r)]])
    ry = np.array([[np.cos(p), 0, np.sin(p)], [0, 1, 0], [-np.sin(p), 0, np.cos(p)]])
    rz = np.array([[np.cos(y), -np.sin(y), 0], [np.sin(y), np.cos(y), 0], [0, 0, 1]])
    return rz @ ry @ rx


def box3d_corners(box3d: Sequence[float]) -> np.ndarray:
    """The 8 corners ``(8, 3)`` of ``[x_c, y_c, z_c, x_size, y_size, z_size, roll, pitch, yaw]``.

    Corner ``i`` has offsets ``(±x, ±y, ±z)`` with bit 0 -> x, bit 1 -> y, bit 2 -> z
    (bit set = +half size).

    >>> box3d_corners([0, 5, 0, 2, 2, 2, 0, 0, 0])[0].tolist()
    [-1.0, 4.0, -1.0]
    """
    xc, yc, zc, sx, sy, sz, roll, pitch, yaw = (float(v) for v in box3d)
    bits = np.array([[(i >> k) & 1 for k in range(3)] for i in range(8)], dtype=np.float64)
    local = (bits - 0.5) * np.array([sx, sy, sz])
    return local @ rotation_matrix(roll, pitch, yaw).T + np.array([xc, yc, zc])


def focal_length(width: float, fov_deg: float = DEFAULT_FOV_DEG) -> float:
    """Pinhole focal length in pixels for a horizontal field of view."""
    if not 0 < fov_deg < 180:
        raise ValueError(f"fov must be between 0 and 180 degrees, got {fov_deg!r}")
    return width / (2.0 * np.tan(np.radians(fov_deg) / 2.0))


def project_points(points: np.ndarray, width: float, height: float, fov_deg: float = DEFAULT_FOV_DEG) -> np.ndarray:
    """Camera-frame points ``(N, 3)`` with y > 0 -> pixel ``(N, 2)`` (u, v)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    f = focal_length(width, fov_deg)
    u = width / 2.0 + f * pts[:, 0] / pts[:, 1]
    v = height / 2.0 - f * pts[:, 2] / pts[:, 1]
    return np.stack([u, v], axis=1)


def clip_segments_near(p0: np.ndarray, p1: np.ndarray, near: float = NEAR_PLANE):
    """Clip 3D segments to the half-space ``y >= near``.

    Returns:
        ``(q0, q1, keep)``: clipped endpoints ``(N, 3)`` and a bool mask of segments with
        any part in front of the plane.
    """
    p0 = np.asarray(p0, dtype=np.float64).reshape(-1, 3).copy()
    p1 = np.asarray(p1, dtype=np.float64).reshape(-1, 3).copy()
    y0, y1 = p0[:, 1], p1[:, 1]
    keep = (y0 >= near) | (y1 >= near)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (near - y0) / (y1 - y0)
    hit = np.clip(np.nan_to_num(t), 0.0, 1.0)[:, None]
    cut = p0 + (p1 - p0) * hit
    behind0 = keep & (y0 < near)
    behind1 = keep & (y1 < near)
    p0[behind0] = cut[behind0]
    p1[behind1] = cut[behind1]
    return p0, p1, keep


def clip_segments_rect(a: np.ndarray, b: np.ndarray, x0: float, y0: float, x1: float, y1: float):
    """Liang-Barsky clipping of 2D segments ``a -> b`` (``(N, 2)``) to a rectangle.

    Returns:
        ``(a', b', keep)``; segments fully outside have ``keep == False``.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 2)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 2)
    d = b - a
    t0 = np.zeros(len(a))
    t1 = np.ones(len(a))
    keep = np.ones(len(a), dtype=bool)
    for p, q in (
        (-d[:, 0], a[:, 0] - x0),
        (d[:, 0], x1 - a[:, 0]),
        (-d[:, 1], a[:, 1] - y0),
        (d[:, 1], y1 - a[:, 1]),
    ):
        parallel = p == 0
        keep &= ~(parallel & (q < 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = q / p
        entering = (~parallel) & (p < 0)
        leaving = (~parallel) & (p > 0)
        t0 = np.where(entering, np.maximum(t0, r), t0)
        t1 = np.where(leaving, np.minimum(t1, r), t1)
    keep &= t0 <= t1
    return a + d * t0[:, None], a + d * t1[:, None], keep


def box3d_segments(
    box3d: Sequence[float],
    width: int,
    height: int,
    fov_deg: float = DEFAULT_FOV_DEG,
    near: float = NEAR_PLANE,
    margin: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Visible 2D edges of a 3D box in a ``width`` x ``height`` image.

    Args:
        box3d: The 9 numbers of a Gemini 3D box.
        width: Image width in pixels.
        height: Image height in pixels.
        fov_deg: Horizontal field of view of the assumed pinhole camera.
        near: Clipping plane depth in metres.
        margin: Segments are clipped to the frame grown by this fraction on each side.

    Returns:
        ``(segments, depths)``: ``(K, 2, 2)`` pixel endpoints ``[[u0, v0], [u1, v1]]`` and
        ``(K,)`` mean depth (metres) of each clipped edge, for the edges that are visible.

    Example:
        >>> seg, depth = box3d_segments([0, 5, 0, 2, 2, 2, 0, 0, 0], 640, 480, fov_deg=90)
        >>> len(seg), float(depth.min()), float(depth.max())
        (12, 4.0, 6.0)
    """
    corners = box3d_corners(box3d)
    q0, q1, keep = clip_segments_near(corners[BOX_EDGES[:, 0]], corners[BOX_EDGES[:, 1]], near)
    q0, q1 = q0[keep], q1[keep]
    depth = (q0[:, 1] + q1[:, 1]) / 2.0
    a = project_points(q0, width, height, fov_deg)
    b = project_points(q1, width, height, fov_deg)
    mx, my = width * margin, height * margin
    a, b, inside = clip_segments_rect(a, b, -mx, -my, width + mx, height + my)
    return np.stack([a[inside], b[inside]], axis=1), depth[inside]
