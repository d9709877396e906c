"""The demo head's ears: folds of skin grown out of a one-cell-wide strip of the skull grid.

A strip of grid cells in front of where the ear sits is removed; its border (the front
column going down, the back column going up) is the ear's root. The ear is a tube lofted
from that border out to the ear's outline, where its two halves meet: the front half is the
ear's outer face (concha, antihelix, scapha, helix rim), the back half its inner face toward
the scalp. The ear stays one surface with the skin (no loose part), so it is part of the face
for landmark finders and the rig's fields. Metres, Blender's axes.
"""

from __future__ import annotations

import numpy as np

# The outer face across the ear, ring by ring from the root to the rim: how far out toward
# the outline it reaches (1 = the outline) and its height off the head (in units of the
# rim's height): tragus edge, concha floor, antihelix, scapha, the helix rolled over the rim.
OUTER = np.array([(0.10, 0.42), (0.22, 0.30), (0.40, 0.32), (0.55, 0.62), (0.65, 0.72),
                  (0.76, 0.56), (0.88, 0.86), (0.99, 1.00), (1.03, 0.90)])
RINGS = np.array([0.10, 0.22, 0.40, 0.55, 0.65, 0.76, 0.86, 0.93, 0.97])
SEAM = 0.72  # the rim's edge, where the outer and the inner face meet


def _outline(s: np.ndarray, height: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ear's outline for root positions ``s`` (0 top .. 1 bottom) on a root ``height``
    tall: distance behind the front root, height above the root's bottom, and the rim's
    height off the head (zero at the root's ends, where the ear merges into the head)."""
    alpha = np.radians(12.0 + s * (180.0 - 12.0))  # from the top, round the back, to the lobe
    width = 0.029 * (1.0 - 0.30 * np.exp(-(((alpha - np.pi) / 0.6) ** 2)))  # slimmer lobe
    back = width * np.sin(alpha) * (1.0 + 0.22 * np.cos(alpha))  # widest in its upper half
    half = 0.5 * height
    up = half + half * np.cos(alpha)
    rim = 0.017 * np.sin(np.clip(s, 0, 1) * np.pi) ** 0.6
    return back, up, rim


def ear(root: dict, rows: range, front_col: int, back_col: int, sign: float, start: int):
    """An ear grown from the removed strip of cells between grid columns ``front_col`` and
    ``back_col`` over grid ``rows``; ``root`` maps ``(row, column)`` to ``(vertex id,
    position)`` for the strip's border; ``sign`` is +1 on the subject's left. Returns
    ``(points, faces)``, new points numbered from ``start``."""
    v = root
    root_rows = list(rows)
    n = len(root_rows)
    # the root loop in the removed cells' own winding: down the lower-numbered column, up
    # the other
    first, second = sorted((front_col, back_col))
    loop = [(i, first) for i in root_rows] + [(i, second) for i in reversed(root_rows)]
    ids = [v[key][0] for key in loop]
    pos = np.array([v[key][1] for key in loop])
    is_front = np.array([key[1] == front_col for key in loop])
    s = np.array([(key[0] - root_rows[0]) / (n - 1) for key in loop])
    front_pts = np.array([v[(i, front_col)][1] for i in root_rows])
    back_dir = np.array([0.0, 1.0, 0.0])
    out_dir = np.array([sign, 0.0, 0.0])
    origin = np.array([front_pts[:, 0].mean(), front_pts[:, 1].mean(), front_pts[:, 2].min()])
    behind, above, rim = _outline(s, float(np.ptp(front_pts[:, 2])))
    target = origin + behind[:, None] * back_dir + above[:, None] * np.array([0.0, 0.0, 1.0])
    target[:, 0] = pos[:, 0] * 0.3 + origin[0] * 0.7
    pts, faces, prev, m = [], [], list(ids), start
    for rho, (reach, outer) in zip(RINGS, OUTER, strict=True):
        concha = 1.0 - 0.55 * np.exp(-(((s - 0.62) / 0.25) ** 2)) * (0.2 < rho < 0.5)
        height = np.where(is_front, outer * concha, SEAM * rho**1.4) * rim
        frac = np.where(is_front, reach, rho)
        ring = pos + (target - pos) * frac[:, None] + height[:, None] * out_dir
        idx = list(range(m, m + len(loop)))
        m += len(loop)
        pts.append(ring)
        faces += _band(prev, idx)
        prev = idx
    seam = (target + SEAM * rim[:, None] * out_dir)[:n]  # in the first column's order
    seam_ids = list(range(m, m + n))
    pts.append(seam)
    last = [seam_ids[k] if k < n else seam_ids[2 * n - 1 - k] for k in range(2 * n)]
    for k in range(2 * n):
        k1 = (k + 1) % (2 * n)
        face = [prev[k], prev[k1], last[k1], last[k]]
        if last[k1] == last[k]:
            face = face[:3]
        faces.append(tuple(face))
    return np.concatenate(pts), faces


def _band(a: list[int], b: list[int]) -> list[tuple[int, int, int, int]]:
    """Quads between two loops of equal length, keeping the winding of loop ``a``'s edges."""
    return [(a[k], a[(k + 1) % len(a)], b[(k + 1) % len(a)], b[k]) for k in range(len(a))]
