"""The procedural demo head: our own mesh (no third-party assets) that reads as a face.

Topology: a latitude/longitude grid over the lofted skull of :mod:`.demo_shape` (one pole on
the crown, an open rim at the neck), denser over the face. The mouth and the eyes are *slits*
in the grid: along one grid row the vertices between two corner vertices are duplicated, so
the upper and lower lips (lids) are separate surfaces joined only at the corners. The mouth
slit is closed behind by an oral-cavity pocket; the eye slits are opened over separate
eyeball spheres. Landmarks are therefore known by construction (vertex indices).
Axes: Blender's (metres, z up, face toward -Y, +X = subject's left).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import DiffusionTalkerError
from . import demo_shape as shape
from .geometry import smoothstep

MATERIALS = ("skin", "lips", "eye_white", "iris", "pupil", "mouth")


@dataclass
class HeadMesh:
    """A head mesh with named parts and landmarks (vertex indices)."""

    vertices: np.ndarray  # (V, 3) float32
    faces: list[tuple[int, ...]]  # quads and triangles
    face_materials: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    material_names: tuple[str, ...] = MATERIALS
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    landmarks: dict[str, int] = field(default_factory=dict)

    @property
    def num_vertices(self) -> int:
        return int(len(self.vertices))


class _Grid:
    """Vertex indexing of the skull grid: index 0 is the crown pole, rows 1.. are loops."""

    def __init__(self, rows: int, cols: int):
        self.rows, self.cols = rows, cols

    def __call__(self, i: int, j: int) -> int:
        return 1 + (i - 1) * self.cols + j % self.cols


def _solve_row(t_lo: float, t_hi: float, theta: float, z_target: float) -> float:
    """Profile parameter whose skull point at azimuth ``theta`` has height ``z_target``."""
    for _ in range(40):
        mid = 0.5 * (t_lo + t_hi)
        z = shape.skull_points(np.array([mid]), np.array([theta]))[0, 0, 2]
        t_lo, t_hi = (mid, t_hi) if z > z_target else (t_lo, mid)
    return 0.5 * (t_lo + t_hi)


def _snap_row(t: np.ndarray, theta: float, z_target: float) -> int:
    z = shape.skull_points(t, np.array([theta]))[:, 0, 2]
    i = int(np.argmin(np.abs(z - z_target)))
    t[i] = _solve_row(t[i - 1], t[i + 1], theta, z_target)
    return i


def build_demo_head(resolution: float = 1.0) -> HeadMesh:
    """Build the demo head; ``resolution`` 1.0 gives ~5k vertices (deterministic)."""
    if not 0.6 <= resolution <= 1.5:
        raise DiffusionTalkerError(f"resolution must be within 0.6..1.5, got {resolution}")
    cols = 2 * round(36 * resolution)
    rows = round(62 * resolution)
    theta = shape.column_angles(cols)
    centre = cols // 2
    t = shape.row_parameters(rows)
    eye_col = int(np.argmin(np.abs(np.sin(theta) * 0.077 - shape.EYE_X)))
    i_eye = _snap_row(t, theta[eye_col], shape.EYE_Z)
    i_mouth = _snap_row(t, 0.0, shape.MOUTH_Z)
    grid = _Grid(rows, cols)
    pts = shape.skull_points(t[1:], theta).reshape(-1, 3)
    verts = [np.array([[0.0, 0.0, shape.PROFILE[0, 1]]]), pts]
    n = 1 + len(pts)

    def slit(row: int, j0: int, j1: int) -> dict[int, int]:
        """Duplicate the row's vertices strictly between columns j0 and j1 (lower copies)."""
        nonlocal n
        dup = {j: n + k for k, j in enumerate(range(j0 + 1, j1))}
        verts.append(pts[[grid(row, j) - 1 for j in dup]])
        n += len(dup)
        return dup

    row_x = pts[[grid(i_mouth, j) - 1 for j in range(cols)], 0]
    k_mouth = int(np.argmin(np.abs(row_x[centre:] - shape.MOUTH_HALF_WIDTH)))
    mouth = (centre - k_mouth, centre + k_mouth)
    mouth_dup = slit(i_mouth, *mouth)
    eye_x = pts[[grid(i_eye, j) - 1 for j in range(cols)], 0]
    cand = [j for j in range(centre, cols) if abs(eye_x[j] - shape.EYE_X) <= 0.0135
            and np.cos(theta[j]) > 0]
    j0, j1 = min(cand) - 1, max(cand) + 1
    eyes = {"L": (j0, j1, slit(i_eye, j0, j1))}
    eyes["R"] = (cols - j1, cols - j0, slit(i_eye, cols - j1, cols - j0))

    def vid(i: int, j: int, below: bool) -> int:
        """Grid vertex, taking the lower copy on a slit row for faces below the slit."""
        if below and i == i_mouth and j % cols in mouth_dup:
            return mouth_dup[j % cols]
        if below and i == i_eye:
            for _j0, _j1, dup in eyes.values():
                if j % cols in dup:
                    return dup[j % cols]
        return grid(i, j)

    faces = [(0, grid(1, j), grid(1, j + 1)) for j in range(cols)]
    for i in range(1, rows - 1):
        for j in range(cols):
            faces.append((vid(i, j, True), vid(i + 1, j, False),
                          vid(i + 1, j + 1, False), vid(i, j + 1, True)))
    v = np.concatenate(verts).astype(np.float64)
    skin_count = n
    lower_rows = _lower_side(v, grid, rows, cols, i_mouth, mouth_dup)
    v = _sculpt(v, grid, cols, centre, i_mouth, mouth, mouth_dup, lower_rows)
    eye_info = {s: _open_eye(v, grid, i_eye, e, s) for s, e in eyes.items()}
    mats = [0] * len(faces)

    # oral cavity pocket behind the mouth slit
    j0, j1 = mouth
    loop = ([grid(i_mouth, j0)] + [grid(i_mouth, j) for j in range(j0 + 1, j1)]
            + [grid(i_mouth, j1)] + [mouth_dup[j] for j in range(j1 - 1, j0, -1)])
    upper_half = np.array([k <= j1 - j0 for k in range(len(loop))])
    ring0 = v[loop]
    mid = ring0.mean(axis=0)
    prev, new_pts = loop, []
    for depth, scale, lift in ((0.004, 0.97, 0.0025), (0.010, 0.88, 0.006),
                               (0.017, 0.72, 0.008), (0.024, 0.5, 0.006)):
        ring = mid + (ring0 - mid) * [scale, 1.0, 1.0]
        ring[:, 1] += depth + 0.006 * ((ring0[:, 0] - mid[0]) / (np.ptp(ring0[:, 0]) / 2)) ** 2
        ring[:, 2] = mid[2] + np.where(upper_half, lift, -lift) + (ring0[:, 2] - mid[2]) * 0.5
        idx = list(range(n, n + len(loop)))
        new_pts.append(ring)
        n += len(loop)
        for k in range(len(loop)):
            k1 = (k + 1) % len(loop)
            faces.append((prev[k], idx[k], idx[k1], prev[k1]))
            mats.append(5)
        prev = idx
    back = mid + [0.0, 0.03, 0.0]
    new_pts.append(back[None])
    for k in range(len(loop)):
        faces.append((prev[k], n, prev[(k + 1) % len(loop)]))
        mats.append(5)
    n += 1
    v = np.concatenate([v] + new_pts)
    cavity = np.arange(skin_count, n)

    groups: dict[str, np.ndarray] = {"skin": np.arange(skin_count), "mouth_cavity": cavity}
    for side, (c, radius) in eye_info.items():
        start = n
        ev, ef, em = _eyeball(c, radius, start)
        v = np.concatenate([v, ev])
        faces += ef
        mats += em
        n += len(ev)
        groups[f"eyeball_{side}"] = np.arange(start, n)

    mats = np.asarray(mats, np.int32)
    _paint_lips(v, faces, mats, skin_count, i_mouth, grid, mouth, lower_rows)
    lips = [i for i in range(skin_count) if abs(v[i, 0]) < shape.MOUTH_HALF_WIDTH + 0.002
            and -0.011 < v[i, 2] - shape.MOUTH_Z < 0.010 and v[i, 1] < -0.07]
    low = set(lower_rows)
    groups["upper_lip"] = np.array([i for i in lips if i not in low])
    groups["lower_lip"] = np.array([i for i in lips if i in low])
    landmarks = _landmarks(v, grid, centre, i_mouth, mouth, mouth_dup, i_eye, eyes, groups)
    return HeadMesh(v.astype(np.float32), faces, mats, MATERIALS, groups, landmarks)


def _lower_side(v, grid, rows, cols, i_mouth, mouth_dup) -> np.ndarray:
    """Skin vertices below the lip seam (rows under the mouth row, and its lower copies)."""
    ids = [grid(i, j) for i in range(i_mouth + 1, rows) for j in range(cols)]
    return np.array(ids + list(mouth_dup.values()))


def _sculpt(v, grid, cols, centre, i_mouth, mouth, mouth_dup, lower_rows):
    """Apply the face relief (around the lip seam) and the ears to the skin vertices."""
    seam = v[[grid(i_mouth, j) for j in range(cols)]]
    front = seam[:, 1] < 0
    order = np.argsort(seam[front, 0])
    seam_x, seam_z = seam[front, 0][order], seam[front, 2][order]
    skin = v[: len(v)]
    cos = -skin[:, 1] / np.maximum(np.hypot(skin[:, 0], skin[:, 1]), 1e-9)
    mask = smoothstep(0.05, 0.55, cos)
    relief = shape.face_relief(skin[:, 0], skin[:, 2], np.interp(skin[:, 0], seam_x, seam_z))
    out = skin.copy()
    out[:, 1] -= relief * mask
    out[:, 0] += shape.ear_relief(out)
    return out


def _open_eye(v, grid, i_eye, eye, side):
    """Open an eye slit (lids apart) and wrap the lids over the eyeball; returns its centre."""
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
    for i in near:
        s = np.clip((v[i, 0] - mid_x) / half, -1.0, 1.0)
        dz = v[i, 2] - cz
        if i in lower_ids or dz < -1e-9:
            v[i, 2] -= 0.0033 * (1 - s * s) ** 0.8 * (1 - smoothstep(0.0, 0.011, -dz))
        else:
            skew = 1.0 - 0.25 * sign * s  # the upper lid arches highest toward the nose side
            v[i, 2] += 0.0050 * (1 - s * s) ** 0.6 * skew * (1 - smoothstep(0.0, 0.013, dz))
    r = shape.EYE_RADIUS
    centre = np.array([cx, seam_y - 0.003 + r, cz])
    rho = np.hypot(v[near, 0] - cx, v[near, 2] - cz)
    r_lid = r + 0.0009
    lid_y = centre[1] - np.sqrt(np.maximum(r_lid**2 - rho**2, 0.0))
    w = 1.0 - smoothstep(0.009, 0.018, rho)
    y = (1 - w) * v[near, 1] + w * lid_y
    v[near, 1] = np.where(rho < r_lid, np.minimum(y, lid_y), y)
    return centre, r


def _eyeball(c, r, start):
    """A UV sphere whose pole looks forward: pupil, iris and white as separate materials."""
    rings = np.radians([9, 18, 30, 45, 62, 80, 100, 125, 150])
    segs = 16
    b = 2 * np.pi * np.arange(segs) / segs
    pts = [c + [0.0, -r, 0.0]]
    for a in rings:
        pts += [c + r * np.array([np.sin(a) * np.cos(x), -np.cos(a), np.sin(a) * np.sin(x)])
                for x in b]
    pts.append(c + [0.0, r, 0.0])
    faces, mats = [], []
    for k in range(segs):
        k1 = (k + 1) % segs
        faces.append((start, start + 1 + k1, start + 1 + k))
        mats.append(4)
    for ri in range(len(rings) - 1):
        base = start + 1 + ri * segs
        for k in range(segs):
            k1 = (k + 1) % segs
            faces.append((base + k, base + k1, base + segs + k1, base + segs + k))
            mats.append(4 if ri == 0 else 3 if ri == 1 else 2)
    last, tip = start + 1 + (len(rings) - 1) * segs, start + len(pts) - 1
    for k in range(segs):
        faces.append((last + k, last + (k + 1) % segs, tip))
        mats.append(2)
    return np.array(pts), faces, mats


def _paint_lips(v, faces, mats, skin_count, i_mouth, grid, mouth, lower_rows):
    """Lip material on skin faces inside the vermilion outline around the seam."""
    for f_i, f in enumerate(faces):
        if mats[f_i] != 0 or max(f) >= skin_count:
            continue
        c = v[list(f)].mean(axis=0)
        dz = c[2] - shape.MOUTH_Z
        h = 0.0085 if dz > 0 else 0.0105
        width = shape.MOUTH_HALF_WIDTH + 0.0015
        if c[1] < -0.07 and (c[0] / width) ** 2 + (dz / h) ** 2 < 1.0:
            mats[f_i] = 1


def _most_forward(v, ids):
    ids = np.asarray(ids)
    return int(ids[np.argmin(v[ids, 1])])


def _landmarks(v, grid, centre, i_mouth, mouth, mouth_dup, i_eye, eyes, groups):
    j0, j1 = mouth
    lm = {
        "mouth_corner_L": grid(i_mouth, j1),
        "mouth_corner_R": grid(i_mouth, j0),
        "upper_lip_inner": grid(i_mouth, centre),
        "lower_lip_inner": mouth_dup[centre],
        "upper_lip_outer": _most_forward(v, [grid(i_mouth - k, centre) for k in range(1, 4)]),
        "lower_lip_outer": _most_forward(v, [grid(i_mouth + k, centre) for k in range(1, 5)]),
    }
    midline = np.array([grid(i, centre) for i in range(2, grid.rows)])
    chin_rows = midline[(v[midline, 2] < shape.MOUTH_Z - 0.025) & (v[midline, 2] > -0.1)]
    lm["chin"] = _most_forward(v, chin_rows)
    lm["nose_tip"] = _most_forward(v, midline[np.abs(v[midline, 2] - shape.NOSE_TIP_Z) < 0.02])
    skin = groups["skin"]
    for side, sign in (("L", 1), ("R", -1)):
        e0, e1, dup = eyes[side]
        jm = min(dup, key=lambda j: abs(v[grid(i_eye, j), 0] - sign * shape.EYE_X))
        ball = groups[f"eyeball_{side}"]
        lm[f"eye_{side}"] = _most_forward(v, ball)
        lm[f"eye_upper_{side}"] = grid(i_eye, jm)
        lm[f"eye_lower_{side}"] = dup[jm]
        inner, outer = (e0, e1) if side == "L" else (e1, e0)
        lm[f"eye_inner_{side}"] = grid(i_eye, inner)
        lm[f"eye_outer_{side}"] = grid(i_eye, outer)
        for name, x, z in (("brow_inner", 0.015, 0.052), ("brow_outer", 0.05, 0.050)):
            d = np.hypot(v[skin, 0] - sign * x, v[skin, 2] - z) + 10.0 * (v[skin, 1] > -0.04)
            lm[f"{name}_{side}"] = int(skin[np.argmin(d)])
        d = np.linalg.norm(v[skin] - [sign * 0.072, 0.0, -0.005], axis=1)
        lm[f"jaw_pivot_{side}"] = int(skin[np.argmin(d)])
    return lm
