"""3D box projection: hand-computed corners, rotation order, near-plane and frame clipping."""

from __future__ import annotations

import numpy as np
import pytest

from spatial_nb.projection import (
    box3d_corners,
    box3d_segments,
    clip_segments_near,
    clip_segments_rect,
    focal_length,
    project_points,
    rotation_matrix,
)


def test_focal_length_from_horizontal_fov():
    assert focal_length(640, 90) == pytest.approx(320)
    assert focal_length(1000, 60) == pytest.approx(500 / np.tan(np.radians(30)))
    with pytest.raises(ValueError):
        focal_length(640, 0)


@pytest.mark.parametrize(
    "box3d,fov,expected_uv",
    [
        # 2 m cube 5 m ahead, FOV 90 on 640x480 (f=320): near face (y=4) and far face (y=6)
        ((0, 5, 0, 2, 2, 2, 0, 0, 0), 90, {(240.0, 320.0), (400.0, 320.0), (240.0, 160.0), (400.0, 160.0),
                                           (320 - 320 / 6, 240 + 320 / 6), (320 + 320 / 6, 240 - 320 / 6)}),
        # yaw 90 swaps the x and y extents of a 4 x 2 x 2 box: corners at x=+-1, y=3 and 7
        ((0, 5, 0, 4, 2, 2, 0, 0, 90), 90, {(320 - 320 / 3, 240 - 320 / 3), (320 + 320 / 7, 240 + 320 / 7)}),
    ],
)
def test_projected_corners_match_hand_computation(box3d, fov, expected_uv):
    uv = project_points(box3d_corners(box3d), 640, 480, fov)
    got = {(round(u, 6), round(v, 6)) for u, v in uv}
    for u, v in expected_uv:
        assert (round(u, 6), round(v, 6)) in got


def test_rotation_order_is_z_y_x():
    r = rotation_matrix(10, 20, 30)
    rx = rotation_matrix(10, 0, 0)
    ry = rotation_matrix(0, 20, 0)
    rz = rotation_matrix(0, 0, 30)
    assert np.allclose(r, rz @ ry @ rx)
    assert np.allclose(rotation_matrix(0, 0, 90) @ [1, 0, 0], [0, 1, 0])


def test_near_plane_clipping():
    p0 = np.array([[0, -1, 0], [0, 2, 0], [0, -2, 0]], float)
    p1 = np.array([[0, 3, 0], [0, 4, 0], [0, -1, 0]], float)
    q0, q1, keep = clip_segments_near(p0, p1, near=0.5)
    assert keep.tolist() == [True, True, False]
    assert q0[0].tolist() == [0, 0.5, 0] and q1[0].tolist() == [0, 3, 0]
    assert q0[1].tolist() == [0, 2, 0]


def test_rect_clipping():
    a, b, keep = clip_segments_rect([[-10, 5], [20, 20], [2, 2]], [[10, 5], [30, 30], [3, 3]], 0, 0, 10, 10)
    assert keep.tolist() == [True, False, True]
    assert np.allclose(a[0], [0, 5]) and np.allclose(b[0], [10, 5])


def test_segments_never_leave_the_frame_margin():
    # A huge box around the camera: most edges cross the near plane.
    seg, depth = box3d_segments((0, 0.2, 0, 10, 10, 10, 5, 10, 20), 640, 480, 60)
    assert len(seg) > 0 and (depth > 0).all()
    assert seg[..., 0].min() >= -320 - 1e-6 and seg[..., 0].max() <= 960 + 1e-6
    assert seg[..., 1].min() >= -240 - 1e-6 and seg[..., 1].max() <= 720 + 1e-6
