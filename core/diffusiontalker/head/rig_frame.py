"""The face-local frame of the landmark rig and the fields its channels share.

All sizes scale with ``s``, the distance between the pupils, so the rig fits heads of any
size. Local axes: ``lat`` toward the subject's left, ``up``, ``fwd`` out of the face.
Upper and lower lips are told apart by geodesic distance (``FaceFields.side``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import TopologyError
from .geometry import (
    boundary_loops,
    bump,
    components,
    geodesic_distances,
    smoothstep,
)

RIG_LANDMARKS = (
    "mouth_corner_L", "mouth_corner_R", "upper_lip_inner", "upper_lip_outer",
    "lower_lip_inner", "lower_lip_outer", "chin", "jaw_pivot_L", "jaw_pivot_R",
    "eye_L", "eye_R", "eye_upper_L", "eye_upper_R", "eye_lower_L", "eye_lower_R",
    "eye_inner_L", "eye_inner_R", "eye_outer_L", "eye_outer_R",
    "brow_inner_L", "brow_inner_R", "brow_outer_L", "brow_outer_R", "nose_tip",
)


def check_landmarks(landmarks: dict[str, int], num_vertices: int) -> None:
    """Raise a clear error for missing or out-of-range landmarks."""
    missing = [n for n in RIG_LANDMARKS if n not in landmarks]
    if missing:
        raise TopologyError(f"the rig needs landmarks that are missing: {', '.join(missing)}")
    bad = {n: i for n, i in landmarks.items() if not 0 <= int(i) < num_vertices}
    if bad:
        raise TopologyError(f"landmark vertex indices out of range (V = {num_vertices}): {bad}")


class FaceFields:
    """Face-local frame, region weights and motions shared by the channel builders."""

    def __init__(self, v: np.ndarray, faces: Sequence[Sequence[int]], landmarks: dict[str, int]):
        check_landmarks(landmarks, len(v))
        self.v, self.faces = v, faces
        p = {n: v[int(i)] for n, i in landmarks.items()}
        self.p = p
        self.index = {n: int(i) for n, i in landmarks.items()}  # landmark -> vertex id
        lat = p["eye_L"] - p["eye_R"]
        self.s = s = float(np.linalg.norm(lat))
        if s < 1e-6:
            raise TopologyError("landmarks eye_L and eye_R are at the same place")
        lat /= s
        up = (p["brow_inner_L"] + p["brow_inner_R"]) / 2 - p["chin"]
        up -= lat * (up @ lat)
        up /= np.linalg.norm(up)
        self.axes = np.stack([lat, up, np.cross(lat, up)])  # rows: lat, up, fwd
        self.origin = (p["upper_lip_inner"] + p["lower_lip_inner"]) / 2
        self.q = (v - self.origin) @ self.axes.T
        self.lq = {n: (x - self.origin) @ self.axes.T for n, x in p.items()}
        self.w_m = abs(self.lq["mouth_corner_L"][0] - self.lq["mouth_corner_R"][0]) / 2
        parts = components(len(v), faces)
        skin = next(c for c in parts if int(landmarks["nose_tip"]) in c)
        self.loose = [c for c in parts if c is not skin]  # eyeballs, teeth, tongue, ...
        self.movable = np.zeros(len(v))
        self.movable[skin] = 1.0
        self.front = smoothstep(-1.0 * s, -0.6 * s, self.q[:, 2]) * self.movable
        d_up = geodesic_distances(v, faces, [landmarks["upper_lip_inner"],
                                             landmarks["upper_lip_outer"]], 3 * s)
        d_lo = geodesic_distances(v, faces, [landmarks["lower_lip_inner"],
                                             landmarks["lower_lip_outer"]], 3 * s)
        with np.errstate(invalid="ignore"):
            diff = np.where(np.isfinite(d_up) & np.isfinite(d_lo), d_lo - d_up, 0.0)
        diff = np.where(np.isfinite(d_up) & ~np.isfinite(d_lo), s, diff)
        diff = np.where(~np.isfinite(d_up) & np.isfinite(d_lo), -s, diff)
        self.side = np.clip(diff / (0.06 * s), -1.0, 1.0)  # +1 upper lip side, -1 lower
        lat_q, up_q = self.q[:, 0], self.q[:, 1]
        self.near_mouth = bump(np.hypot(lat_q, up_q) / (1.7 * self.w_m)) * self.front
        ellipse = np.hypot(lat_q / (1.25 * self.w_m), up_q / (0.62 * self.w_m))
        self.lips = 1.0 - smoothstep(0.45, 1.0, ellipse)
        self.lips *= self.front
        self.upper = self.lips * np.clip(self.side, 0, 1)
        self.lower = self.lips * np.clip(-self.side, 0, 1)
        self.left = smoothstep(-0.35 * self.w_m, 0.35 * self.w_m, lat_q)
        self.cache: dict[str, object] = {}  # fields built once by their modules (the jaw)
        self._loops: list[np.ndarray] | None = None

    def world(self, d_lat, d_up, d_fwd, n: int | None = None) -> np.ndarray:
        """Local displacement components (``n`` = V by default) each -> world offsets (n, 3)."""
        n = len(self.v) if n is None else n
        comps = [np.broadcast_to(np.asarray(c, dtype=np.float64), (n,)) for c in (d_lat, d_up, d_fwd)]
        return np.stack(comps, axis=1) @ self.axes

    def rotation_offsets(self, centre_q, angle, q: np.ndarray | None = None) -> np.ndarray:
        """Offsets of rotating about the lateral axis through ``centre_q`` (local) by ``angle``
        (per-vertex allowed; positive lifts points in front of the axis); of the vertices, or
        of other points ``q`` given in local coordinates."""
        q = self.q if q is None else q
        u = q[:, 1] - centre_q[1]
        f = q[:, 2] - centre_q[2]
        c, s = np.cos(angle), np.sin(angle)
        return self.world(0.0, u * c + f * s - u, -u * s + f * c - f, n=len(q))

    def local(self, points: np.ndarray) -> np.ndarray:
        """Points ``(N, 3)`` in the mesh's coordinates -> the face-local frame."""
        return (np.asarray(points, np.float64) - self.origin) @ self.axes.T

    def loops(self) -> list[np.ndarray]:
        """Boundary loops of the mesh (holes: eye and mouth openings, the neck), found once."""
        if self._loops is None:
            self._loops = [np.asarray(lp) for lp in boundary_loops(self.faces)]
        return self._loops

    def around(self, name: str, r_lat: float, r_up: float, r_down: float | None = None):
        """Compact ellipsoidal falloff around a landmark (radii in units of ``s``)."""
        c = self.lq[name]
        d = self.q - c
        r_v = np.where(d[:, 1] >= 0, r_up, r_down if r_down is not None else r_up) * self.s
        rr = np.sqrt((d[:, 0] / (r_lat * self.s)) ** 2 + (d[:, 1] / r_v) ** 2
                     + (d[:, 2] / (0.6 * self.s)) ** 2)
        return bump(rr) * self.movable
