"""Weight fields and per-channel offset builders of the landmark rig (see :mod:`.rig`).

All sizes scale with ``s``, the distance between the pupils, so the rig fits heads of any
size. Local axes: ``lat`` toward the subject's left, ``up``, ``fwd`` out of the face.
Every field is compact (exactly zero beyond its radius) and only the surface connected to
the face moves (eyeballs, teeth and other loose parts stay still).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..errors import TopologyError
from .geometry import bump, components, geodesic_distances, smoothstep, vertex_normals

RIG_LANDMARKS = (
    "mouth_corner_L", "mouth_corner_R", "upper_lip_inner", "upper_lip_outer",
    "lower_lip_inner", "lower_lip_outer", "chin", "jaw_pivot_L", "jaw_pivot_R",
    "eye_L", "eye_R", "eye_upper_L", "eye_upper_R", "eye_lower_L", "eye_lower_R",
    "eye_inner_L", "eye_inner_R", "eye_outer_L", "eye_outer_R",
    "brow_inner_L", "brow_inner_R", "brow_outer_L", "brow_outer_R", "nose_tip",
)
JAW_ANGLE = 0.26  # radians at jawOpen = 1 (~25 mm at the lower lip of an adult head)


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
        skin = next(c for c in components(len(v), faces) if int(landmarks["nose_tip"]) in c)
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

    def world(self, d_lat, d_up, d_fwd) -> np.ndarray:
        """Local displacement components (V,) each -> world offsets (V, 3)."""
        n = len(self.v)
        comps = [np.broadcast_to(np.asarray(c, dtype=np.float64), (n,)) for c in (d_lat, d_up, d_fwd)]
        return np.stack(comps, axis=1) @ self.axes

    def rotation_offsets(self, centre_q, angle) -> np.ndarray:
        """Offsets of rotating about the lateral axis through ``centre_q`` (local) by ``angle``
        (per-vertex allowed; positive lifts points in front of the axis)."""
        u = self.q[:, 1] - centre_q[1]
        f = self.q[:, 2] - centre_q[2]
        c, s = np.cos(angle), np.sin(angle)
        return self.world(0.0, u * c + f * s - u, -u * s + f * c - f)

    def jaw_weight(self, force_lower: bool = False) -> np.ndarray:
        s = self.s
        side = -1.0 if force_lower else self.side
        eff = self.q[:, 1] + side * 0.35 * s * self.near_mouth
        lower = smoothstep(0.08 * s, -0.30 * s, eff)
        pivot = (self.lq["jaw_pivot_L"] + self.lq["jaw_pivot_R"]) / 2
        back = smoothstep(-0.1 * s, 0.5 * s, self.q[:, 2] - pivot[2])
        neck = smoothstep(-0.9 * s, -0.2 * s, self.q[:, 1] - self.lq["chin"][1])
        return lower * back * neck * self.movable

    def jaw_motion(self) -> np.ndarray:
        pivot = (self.lq["jaw_pivot_L"] + self.lq["jaw_pivot_R"]) / 2
        return self.rotation_offsets(pivot, -JAW_ANGLE)

    def around(self, name: str, r_lat: float, r_up: float, r_down: float | None = None):
        """Compact ellipsoidal falloff around a landmark (radii in units of ``s``)."""
        c = self.lq[name]
        d = self.q - c
        r_v = np.where(d[:, 1] >= 0, r_up, r_down if r_down is not None else r_up) * self.s
        rr = np.sqrt((d[:, 0] / (r_lat * self.s)) ** 2 + (d[:, 1] / r_v) ** 2
                     + (d[:, 2] / (0.6 * self.s)) ** 2)
        return bump(rr) * self.movable


def _jaw_open(f: FaceFields) -> np.ndarray:
    return f.jaw_weight()[:, None] * f.jaw_motion()


def _mouth_close(f: FaceFields) -> np.ndarray:
    """Lips meet relative to the jaw: the lower lip takes back 70 % of the jaw's motion, the
    upper lip comes down 30 %; both scale with the lip weight, so they never cross."""
    w = f.jaw_weight(force_lower=True) * (0.3 * f.upper - 0.7 * f.lower)
    return w[:, None] * f.jaw_motion()


def _funnel(f: FaceFields) -> np.ndarray:
    s, lat = f.s, f.q[:, 0]
    centre = np.clip(1 - (lat / f.w_m) ** 2, 0, 1)
    return f.world(-0.22 * lat * f.lips, (0.05 * f.upper - 0.06 * f.lower) * s * centre,
                   0.09 * s * f.lips)


def _pucker(f: FaceFields) -> np.ndarray:
    return f.world(-0.38 * f.q[:, 0] * f.lips, -0.12 * f.q[:, 1] * f.lips, 0.12 * f.s * f.lips)


def _stretch(sign: int) -> Callable[[FaceFields], np.ndarray]:
    def build(f: FaceFields) -> np.ndarray:
        w = f.around("mouth_corner_L" if sign > 0 else "mouth_corner_R", 0.55, 0.4) * f.front
        return f.world(sign * 0.16 * f.s * w, -0.05 * f.s * w, -0.03 * f.s * w)

    return build


def _smile(sign: int) -> Callable[[FaceFields], np.ndarray]:
    def build(f: FaceFields) -> np.ndarray:
        w = f.around("mouth_corner_L" if sign > 0 else "mouth_corner_R", 0.6, 0.55) * f.front
        cheek = bump(np.hypot((f.q[:, 0] - sign * 1.4 * f.w_m) / (0.9 * f.w_m),
                              (f.q[:, 1] - 0.9 * f.w_m) / (0.9 * f.w_m))) * f.front
        s = f.s
        return f.world(sign * 0.10 * s * w, 0.13 * s * w + 0.05 * s * cheek,
                       -0.04 * s * w + 0.02 * s * cheek)

    return build


def _press(sign: int) -> Callable[[FaceFields], np.ndarray]:
    def build(f: FaceFields) -> np.ndarray:
        half = f.left if sign > 0 else 1.0 - f.left
        return f.world(0.0, -0.45 * f.q[:, 1] * f.lips * half, 0.0)

    return build


def _roll(upper: bool) -> Callable[[FaceFields], np.ndarray]:
    """The lip turns inward about an axis through its own cross-section."""

    def build(f: FaceFields) -> np.ndarray:
        sign = 1.0 if upper else -1.0
        inner = f.lq["upper_lip_inner" if upper else "lower_lip_inner"]
        corner = 0.5 * (f.lq["mouth_corner_L"][2] + f.lq["mouth_corner_R"][2])
        # the axis follows the lip line as it curves back toward the corners
        bend = (inner[2] - corner) * np.clip(f.q[:, 0] / f.w_m, -1, 1) ** 2
        centre = (0.0, sign * 0.08 * f.s, inner[2] - bend)
        band = bump((f.q[:, 1] - centre[1]) / (0.3 * f.s))
        w = (f.upper if upper else f.lower) * band
        return w[:, None] * f.rotation_offsets(centre, sign * 0.5)

    return build


def _lower_down(sign: int) -> Callable[[FaceFields], np.ndarray]:
    def build(f: FaceFields) -> np.ndarray:
        half = f.left if sign > 0 else 1.0 - f.left
        w = f.lower * half
        return f.world(0.0, -0.10 * f.s * w, 0.01 * f.s * w)

    return build


def _upper_up(sign: int) -> Callable[[FaceFields], np.ndarray]:
    def build(f: FaceFields) -> np.ndarray:
        half = f.left if sign > 0 else 1.0 - f.left
        w = f.upper * half
        return f.world(0.0, 0.09 * f.s * w, 0.005 * f.s * w)

    return build


def _cheek_puff(f: FaceFields) -> np.ndarray:
    normals = vertex_normals(f.v, f.faces)
    w = np.zeros(len(f.v))
    for sign in (1, -1):
        w = np.maximum(w, bump(np.hypot((f.q[:, 0] - sign * 1.45 * f.w_m) / (1.1 * f.w_m),
                                        (f.q[:, 1] - 0.3 * f.w_m) / (1.1 * f.w_m))))
    w *= f.front
    return 0.10 * f.s * w[:, None] * normals + f.world(0.0, 0.0, 0.02 * f.s * f.lips)


def _brow_inner_up(f: FaceFields) -> np.ndarray:
    w = np.maximum(f.around("brow_inner_L", 0.45, 0.6, 0.3), f.around("brow_inner_R", 0.45, 0.6, 0.3))
    return f.world(0.0, 0.11 * f.s * w, 0.0)


def _brow_outer_up(sign: int) -> Callable[[FaceFields], np.ndarray]:
    def build(f: FaceFields) -> np.ndarray:
        w = f.around("brow_outer_L" if sign > 0 else "brow_outer_R", 0.5, 0.6, 0.3)
        return f.world(0.0, 0.10 * f.s * w, 0.0)

    return build


def _brow_down(sign: int) -> Callable[[FaceFields], np.ndarray]:
    def build(f: FaceFields) -> np.ndarray:
        sfx = "L" if sign > 0 else "R"
        w = np.maximum(f.around(f"brow_inner_{sfx}", 0.45, 0.6, 0.3),
                       0.6 * f.around(f"brow_outer_{sfx}", 0.5, 0.6, 0.3))
        return f.world(-sign * 0.03 * f.s * w, -0.07 * f.s * w, 0.01 * f.s * w)

    return build


def eye_frame(f: FaceFields, sfx: str):
    """Eyeball centre (local), lid elevation angles and per-vertex eye coordinates."""
    r = 0.185 * f.s
    c = f.lq[f"eye_{sfx}"] - np.array([0.0, 0.0, r])
    elev = {k: np.arctan2(f.lq[f"eye_{k}_{sfx}"][1] - c[1], f.lq[f"eye_{k}_{sfx}"][2] - c[2])
            for k in ("upper", "lower")}
    d = f.q - c
    beta = np.arctan2(d[:, 1], d[:, 2])
    return c, r, elev, d, beta


def _blink(sign: int) -> Callable[[FaceFields], np.ndarray]:
    """The upper lid rotates down over the eyeball (85 %), the lower lid up (15 %)."""

    def build(f: FaceFields) -> np.ndarray:
        sfx = "L" if sign > 0 else "R"
        c, r, elev, d, beta = eye_frame(f, sfx)
        b_u, b_l = elev["upper"], elev["lower"]
        gap = max(b_u - b_l, 1e-3)
        mid = 0.5 * (b_u + b_l)
        inner, outer = f.lq[f"eye_inner_{sfx}"][0], f.lq[f"eye_outer_{sfx}"][0]
        half = max(abs(outer - inner) / 2, 1e-6)
        profile = np.sqrt(np.clip(1 - ((d[:, 0] + c[0] - (inner + outer) / 2) / half) ** 2, 0, 1))
        gate = (1 - smoothstep(1.3 * r, 2.4 * r, np.linalg.norm(d, axis=1))) * smoothstep(-0.6 * r, 0.0, d[:, 2])
        gate *= f.movable
        is_up = smoothstep(mid - 0.1 * gap, mid + 0.1 * gap, beta)
        w_up = is_up * (1 - smoothstep(b_u + 0.25, b_u + 0.9, beta)) * gate
        w_lo = (1 - is_up) * (1 - smoothstep(0.2, 0.7, b_l - beta)) * gate
        angle = gap * profile * (-0.85 * w_up + 0.15 * w_lo)
        return f.rotation_offsets(c, angle)

    return build


BUILDERS: dict[str, Callable[[FaceFields], np.ndarray]] = {
    "jawOpen": _jaw_open,
    "mouthClose": _mouth_close,
    "mouthFunnel": _funnel,
    "mouthPucker": _pucker,
    "mouthStretchLeft": _stretch(1),
    "mouthStretchRight": _stretch(-1),
    "mouthSmileLeft": _smile(1),
    "mouthSmileRight": _smile(-1),
    "mouthPressLeft": _press(1),
    "mouthPressRight": _press(-1),
    "mouthRollLower": _roll(False),
    "mouthRollUpper": _roll(True),
    "mouthLowerDownLeft": _lower_down(1),
    "mouthLowerDownRight": _lower_down(-1),
    "mouthUpperUpLeft": _upper_up(1),
    "mouthUpperUpRight": _upper_up(-1),
    "cheekPuff": _cheek_puff,
    "browInnerUp": _brow_inner_up,
    "browOuterUpLeft": _brow_outer_up(1),
    "browOuterUpRight": _brow_outer_up(-1),
    "browDownLeft": _brow_down(1),
    "browDownRight": _brow_down(-1),
    "eyeBlinkLeft": _blink(1),
    "eyeBlinkRight": _blink(-1),
}
