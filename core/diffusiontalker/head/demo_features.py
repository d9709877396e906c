"""Features of the demo head on its skull grid: lip rows, opened eyes and the landmarks.

Helpers of :func:`.demo_head.build_demo_head`; ``grid(i, j)`` is the vertex id of grid row
``i``, column ``j``. Metres, Blender's axes (z up, face toward -Y, +X = subject's left).
"""

from __future__ import annotations

import numpy as np

from . import demo_shape as shape
from .geometry import smoothstep

BLEND_ROWS = 3  # rows beyond each vermilion that ease back to the grid's own spacing


def warp_lip_rows(pts: np.ndarray, seam: int) -> None:
    """Move the rows near the lip seam (row ``seam`` of ``pts (R, C, 3)``) so that
    :data:`.demo_shape.UPPER_LIP_ROWS` rows run inside the upper vermilion and
    :data:`.demo_shape.LOWER_LIP_ROWS` inside the lower one, converging at the corners;
    farther rows ease back to their own spacing, and beyond the corners the grid is kept."""
    x = pts[seam, :, 0]
    up_h, lo_h = shape.lip_heights(x)
    keep = 1.0 - shape.smooth01((np.abs(x) - shape.MOUTH_HALF_WIDTH - 0.002) / 0.014)
    keep *= pts[seam, :, 1] < -0.03  # the front only
    z0 = pts[seam, :, 2]
    for sign, height, count in ((-1, up_h, shape.UPPER_LIP_ROWS), (1, lo_h, shape.LOWER_LIP_ROWS)):
        far = pts[seam + sign * (count + BLEND_ROWS), :, 2] - z0
        for k in range(1, count + BLEND_ROWS + 1):
            row = seam + sign * k
            natural = pts[row, :, 2] - z0
            if k <= count:
                target = -sign * height * k / count
            else:
                target = -sign * height + (far + sign * height) * (k - count) / BLEND_ROWS
            pts[row, :, 2] = z0 + keep * target + (1 - keep) * natural


def open_eye(v: np.ndarray, grid, i_eye: int, eye, side: str) -> tuple[np.ndarray, float]:
    """Open an eye slit (lids apart) and wrap the lids over the eyeball; returns the eyeball's
    centre and radius."""
    j0, j1, dup = eye
    sign = 1.0 if side == "L" else -1.0
    jm = min(dup, key=lambda j: abs(v[grid(i_eye, j), 0] - sign * shape.EYE_X))
    cx, cz = sign * shape.EYE_X, v[grid(i_eye, jm), 2]
    half = abs(v[grid(i_eye, j1), 0] - v[grid(i_eye, j0), 0]) / 2
    mid_x = (v[grid(i_eye, j1), 0] + v[grid(i_eye, j0), 0]) / 2
    lower_ids = set(dup.values()) | {grid(i, j) for i in range(i_eye + 1, i_eye + 8)
                                     for j in range(j0 - 2, j1 + 3)}
    near = np.flatnonzero((np.abs(v[:, 0] - cx) < 0.03) & (np.abs(v[:, 2] - cz) < 0.03)
                          & (v[:, 1] < -0.04))
    seam_y = v[grid(i_eye, jm), 1]
    row = v[[grid(i_eye, j) for j in range(j0 - 4, j1 + 5)]]  # the slit's row, sloping
    order = np.argsort(row[:, 0])
    row_z = np.interp(v[near, 0], row[order, 0], row[order, 2])
    for i, z_row in zip(near, row_z, strict=True):
        s = np.clip((v[i, 0] - mid_x) / half, -1.0, 1.0)
        dz = v[i, 2] - z_row
        if i in lower_ids or dz < -1e-9:
            v[i, 2] -= 0.0033 * (1 - s * s) ** 0.8 * (1 - smoothstep(0.0, 0.011, -dz))
        else:
            skew = 1.0 - 0.25 * sign * s  # the upper lid arches highest toward the nose side
            v[i, 2] += 0.0050 * (1 - s * s) ** 0.6 * skew * (1 - smoothstep(0.0, 0.013, dz))
    r = shape.EYE_RADIUS
    centre = np.array([cx, seam_y - 0.003 + r, cz])
    rho = np.hypot(v[near, 0] - cx, v[near, 2] - cz)
    r_lid = r + 0.0013
    lid_y = centre[1] - np.sqrt(np.maximum(r_lid**2 - rho**2, 0.0))
    w = 1.0 - smoothstep(0.009, 0.018, rho)
    y = (1 - w) * v[near, 1] + w * lid_y
    v[near, 1] = np.where(rho < r_lid, np.minimum(y, lid_y), y)
    return centre, r


def _most_forward(v: np.ndarray, ids) -> int:
    ids = np.asarray(ids)
    return int(ids[np.argmin(v[ids, 1])])


def place_landmarks(v, grid, centre, i_mouth, mouth, mouth_dup, i_eye, eyes, groups):
    """The rig's landmarks on the demo head, by construction (vertex indices)."""
    j0, j1 = mouth
    lm = {
        "mouth_corner_L": grid(i_mouth, j1),
        "mouth_corner_R": grid(i_mouth, j0),
        "upper_lip_inner": grid(i_mouth, centre),
        "lower_lip_inner": mouth_dup[centre],
        "upper_lip_outer": _most_forward(
            v, [grid(i_mouth - k, centre) for k in range(1, shape.UPPER_LIP_ROWS + 1)]),
        "lower_lip_outer": _most_forward(
            v, [grid(i_mouth + k, centre) for k in range(1, shape.LOWER_LIP_ROWS + 2)]),
    }
    midline = np.array([grid(i, centre) for i in range(2, grid.rows)])
    chin_rows = midline[(v[midline, 2] < shape.MOUTH_Z - 0.025) & (v[midline, 2] > -0.1)]
    lm["chin"] = _most_forward(v, chin_rows)
    lm["nose_tip"] = _most_forward(v, midline[np.abs(v[midline, 2] - shape.NOSE_TIP_Z) < 0.02])
    ears = set(np.concatenate([groups["ear_L"], groups["ear_R"]]).tolist())
    skin = np.array([i for i in groups["skin"] if i not in ears])
    for side, sign in (("L", 1), ("R", -1)):
        e0, e1, dup = eyes[side]
        jm = min(dup, key=lambda j: abs(v[grid(i_eye, j), 0] - sign * shape.EYE_X))
        lm[f"eye_{side}"] = _most_forward(v, groups[f"eyeball_{side}"])
        lm[f"eye_upper_{side}"] = grid(i_eye, jm)
        lm[f"eye_lower_{side}"] = dup[jm]
        inner, outer = (e0, e1) if side == "L" else (e1, e0)
        lm[f"eye_inner_{side}"] = grid(i_eye, inner)
        lm[f"eye_outer_{side}"] = grid(i_eye, outer)
        for name, x, z in (("brow_inner", 0.015, 0.052), ("brow_outer", 0.05, 0.050)):
            d = np.hypot(v[skin, 0] - sign * x, v[skin, 2] - z) + 10.0 * (v[skin, 1] > -0.04)
            lm[f"{name}_{side}"] = int(skin[np.argmin(d)])
        d = np.linalg.norm(v[skin] - [sign * 0.072, -0.0087, -0.005], axis=1)
        lm[f"jaw_pivot_{side}"] = int(skin[np.argmin(d)])
    return lm
