"""The procedural demo head: our own mesh (no third-party assets) that reads as a face.

Topology: a latitude/longitude grid over the lofted skull of :mod:`.demo_shape` (one pole on
the crown, an open rim at the neck), denser over the face and the mouth. Near the mouth the
grid rows are warped to follow the lips (:func:`.demo_shape.lip_heights`): a few rows run
inside each vermilion and converge at the rounded corners, so the lip colour is painted on
whole rows and its outline is smooth. The mouth and the eyes are *slits* in the grid: along
one row the vertices between two corner vertices are duplicated, so the upper and lower lips
(lids) are separate surfaces joined only at the corners. Behind the mouth slit an oral
cavity holds teeth and a tongue (:mod:`.demo_mouth`); the eye slits are opened over separate
eyeball spheres; the ears are folds of the skin (:mod:`.demo_ear`). Landmarks are known by
construction (vertex indices). Axes: Blender's (metres, z up, face toward -Y, +X = left).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import DiffusionTalkerError
from . import demo_ear, demo_mouth, demo_parts
from . import demo_shape as shape
from .demo_features import open_eye, place_landmarks, warp_lip_rows

MATERIALS = ("skin", "lips", "eye_white", "iris", "pupil", "mouth", "teeth", "gums", "tongue")


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


class _Builder:
    """Points, faces and face materials of the head as it is assembled."""

    def __init__(self, points: np.ndarray):
        self.parts = [np.asarray(points, np.float64)]
        self.n = len(points)
        self.faces: list[tuple[int, ...]] = []
        self.mats: list[int] = []

    def points(self, pts: np.ndarray) -> np.ndarray:
        ids = np.arange(self.n, self.n + len(pts))
        self.parts.append(np.asarray(pts, np.float64).reshape(-1, 3))
        self.n += len(pts)
        return ids

    def face(self, f, material: str = "skin") -> None:
        self.faces.append(tuple(int(i) for i in f))
        self.mats.append(MATERIALS.index(material))

    def part(self, part: demo_parts.Part) -> np.ndarray:
        pts, faces, mats = part
        ids = self.points(pts)
        for f, m in zip(faces, mats, strict=True):
            self.face([ids[0] + i for i in f], m)
        return ids

    @property
    def v(self) -> np.ndarray:
        if len(self.parts) > 1:
            self.parts = [np.concatenate(self.parts)]
        return self.parts[0]


def build_demo_head(resolution: float = 1.0) -> HeadMesh:
    """Build the demo head; ``resolution`` 1.0 gives ~7k vertices (deterministic)."""
    if not 0.6 <= resolution <= 1.5:
        raise DiffusionTalkerError(f"resolution must be within 0.6..1.5, got {resolution}")
    cols = 2 * round(38 * resolution)
    rows = round(70 * resolution)
    theta = shape.column_angles(cols)
    centre = cols // 2
    t = shape.row_parameters(rows)
    eye_col = int(np.argmin(np.abs(np.sin(theta) * 0.077 - shape.EYE_X)))
    i_eye = _snap_row(t, theta[eye_col], shape.EYE_Z)
    i_mouth = _snap_row(t, 0.0, shape.MOUTH_Z)
    grid = _Grid(rows, cols)
    pts = shape.skull_points(t[1:], theta)  # (rows - 1, cols, 3): grid rows 1..
    warp_lip_rows(pts, i_mouth - 1)
    b = _Builder(np.concatenate([[[0.0, 0.0, shape.PROFILE[0, 1]]], pts.reshape(-1, 3)]))

    row_x = pts[i_mouth - 1, :, 0]
    k_mouth = int(np.argmin(np.abs(row_x[centre:] - shape.MOUTH_HALF_WIDTH)))
    mouth = (centre - k_mouth, centre + k_mouth)
    mouth_dup = _slit(b, grid, i_mouth, *mouth)
    eye_x = pts[i_eye - 1, :, 0]
    cand = [j for j in range(centre, cols) if abs(eye_x[j] - shape.EYE_X) <= shape.EYE_SLIT
            and np.cos(theta[j]) > 0]
    j0, j1 = min(cand) - 1, max(cand) + 1
    eyes = {"L": (j0, j1, _slit(b, grid, i_eye, j0, j1))}
    eyes["R"] = (cols - j1, cols - j0, _slit(b, grid, i_eye, cols - j1, cols - j0))
    slits = {i_mouth: mouth_dup, i_eye: {**eyes["L"][2], **eyes["R"][2]}}

    def vid(i: int, j: int, below: bool) -> int:
        """Grid vertex, taking the lower copy on a slit row for faces below the slit."""
        dup = slits.get(i, {}) if below else {}
        return dup.get(j % cols, grid(i, j))

    ear_cells = _ear_cells(pts, theta, cols)
    for j in range(cols):
        b.face((0, grid(1, j), grid(1, j + 1)))
    lips = {"upper": [], "lower": []}
    for i in range(1, rows - 1):
        for j in range(cols):
            if (i, j % cols) in ear_cells["cells"]:
                continue
            if mouth[0] <= j < mouth[1] and -shape.UPPER_LIP_ROWS <= i - i_mouth < 0:
                lips["upper"].append(len(b.faces))
            if mouth[0] <= j < mouth[1] and 0 <= i - i_mouth < shape.LOWER_LIP_ROWS:
                lips["lower"].append(len(b.faces))
            b.face((vid(i, j, True), vid(i + 1, j, False), vid(i + 1, j + 1, False),
                    vid(i, j + 1, True)), "skin")
    v = b.v
    lower_rows = np.array([grid(i, j) for i in range(i_mouth + 1, rows) for j in range(cols)]
                          + list(mouth_dup.values()))
    v[:] = _sculpt(v, grid, cols, i_mouth)
    eye_info = {s: open_eye(v, grid, i_eye, e, s) for s, e in eyes.items()}
    groups: dict[str, np.ndarray] = {}
    for side, (front, back, sign) in ear_cells["ears"].items():
        root = {(i, j): (grid(i, j), v[grid(i, j)]) for i in ear_cells["rows"]
                for j in (front, back)}
        pts_e, faces_e = demo_ear.ear(root, ear_cells["rows"], front, back, sign, b.n)
        groups[f"ear_{side}"] = b.points(pts_e)
        for f in faces_e:
            b.face(f)
    skin_count = b.n

    # the oral cavity behind the slit, then teeth and tongue inside it
    jl, jr = mouth
    loop = ([grid(i_mouth, jl)] + [grid(i_mouth, j) for j in range(jl + 1, jr)]
            + [grid(i_mouth, jr)] + [mouth_dup[j] for j in range(jr - 1, jl, -1)])
    half = np.array([0] + [1] * (jr - jl - 1) + [0] + [-1] * (jr - jl - 1), np.float64)
    p_pts, p_faces, p_mats = demo_mouth.pocket(b.v, loop, half, b.n)
    groups["mouth_cavity"] = b.points(p_pts)
    for f, m in zip(p_faces, p_mats, strict=True):
        b.face(f, m)
    seam = b.v[grid(i_mouth, centre)]
    for name, part in demo_mouth.mouth_parts(float(seam[1]), float(seam[2])):
        groups[name] = b.part(part)
    for side, (c, radius) in eye_info.items():
        groups[f"eyeball_{side}"] = b.part(demo_parts.eyeball(c, radius))

    v = b.v
    mats = np.asarray(b.mats, np.int32)
    mats[lips["upper"] + lips["lower"]] = MATERIALS.index("lips")
    groups["skin"] = np.arange(skin_count)
    low = set(lower_rows.tolist())
    lip_ids = sorted({i for f in lips["upper"] + lips["lower"] for i in b.faces[f]})
    groups["upper_lip"] = np.array([i for i in lip_ids if i not in low])
    groups["lower_lip"] = np.array([i for i in lip_ids if i in low])
    landmarks = place_landmarks(v, grid, centre, i_mouth, mouth, mouth_dup, i_eye, eyes, groups)
    return HeadMesh(v.astype(np.float32), b.faces, mats, MATERIALS, groups, landmarks)


def _slit(b: _Builder, grid: _Grid, row: int, j0: int, j1: int) -> dict[int, int]:
    """Duplicate the row's vertices strictly between columns j0 and j1 (lower copies)."""
    cols = range(j0 + 1, j1)
    ids = b.points(b.v[[grid(row, j) for j in cols]])
    return dict(zip(cols, ids.tolist(), strict=True))


def _ear_cells(pts: np.ndarray, theta: np.ndarray, cols: int) -> dict:
    """The grid cells removed for the ears' roots: one column of cells just behind the jaw
    hinge, over the rows between the bottom and the top of the root."""
    left = [j for j in range(cols // 2, cols) if np.sin(theta[j]) > 0.5]
    mid_row = int(np.argmin(np.abs(pts[:, left[0], 2] - shape.EAR_ROOT[0] - 0.02)))
    front = min(left, key=lambda j: abs(pts[mid_row, j, 1] - shape.EAR_ROOT[2]))
    rows = range(*[1 + int(np.argmin(np.abs(pts[:, front, 2] - z)))
                   for z in (shape.EAR_ROOT[1], shape.EAR_ROOT[0])])
    rows = range(rows.start, rows.stop + 1)
    cells = {(i, front) for i in rows[:-1]} | {(i, cols - front - 1) for i in rows[:-1]}
    return {"cells": cells, "rows": rows,
            "ears": {"L": (front, front + 1, 1.0), "R": (cols - front, cols - front - 1, -1.0)}}


def _sculpt(v: np.ndarray, grid: _Grid, cols: int, i_mouth: int) -> np.ndarray:
    """The face relief (shaped around the lip seam) applied to the skin vertices."""
    seam = v[[grid(i_mouth, j) for j in range(cols)]]
    front = seam[:, 1] < 0
    order = np.argsort(seam[front, 0])
    seam_x, seam_z = seam[front, 0][order], seam[front, 2][order]
    cos = -v[:, 1] / np.maximum(np.hypot(v[:, 0], v[:, 1]), 1e-9)
    mask = shape.smooth01((cos - 0.05) / 0.5)
    relief = shape.face_relief(v[:, 0], v[:, 2], np.interp(v[:, 0], seam_x, seam_z))
    out = v.copy()
    out[:, 1] -= relief * mask
    return out
