"""Weight fields and per-channel offset builders of the landmark rig (see :mod:`.rig`).

All sizes scale with ``s``, the distance between the pupils, so the rig fits heads of any
size. Local axes: ``lat`` toward the subject's left, ``up``, ``fwd`` out of the face.
Every field is compact (exactly zero beyond its radius) and only the surface connected to
the face moves; of the loose parts only those inside the mouth below the lip line (lower
teeth, tongue) move, rigidly with the jaw (:mod:`.rig_jaw`), the tongue with ``tongueOut``
and the eyeballs with gaze (``eyeLook*``); upper teeth stay. The jaw, the lids, the eyes and
the rest of the ARKit face have modules of their own (:mod:`.rig_jaw`, :mod:`.rig_eyes`,
:mod:`.rig_gaze`, :mod:`.rig_full_face`): ``BUILDERS`` covers every ARKit channel plus head
rotation (zero bases).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import rig_eyes, rig_full_face, rig_gaze, rig_jaw
from .geometry import bump, vertex_normals
from .rig_frame import RIG_LANDMARKS, FaceFields, check_landmarks

__all__ = ["BUILDERS", "RIG_LANDMARKS", "FaceFields", "check_landmarks"]

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


BUILDERS: dict[str, Callable[[FaceFields], np.ndarray]] = {
    "jawOpen": lambda f: rig_jaw.jaw_open(rig_jaw.jaw_of(f)),
    "jawForward": lambda f: rig_jaw.jaw_forward(rig_jaw.jaw_of(f)),
    "jawLeft": lambda f: rig_jaw.jaw_side(1)(rig_jaw.jaw_of(f)),
    "jawRight": lambda f: rig_jaw.jaw_side(-1)(rig_jaw.jaw_of(f)),
    "mouthClose": lambda f: rig_jaw.mouth_close(rig_jaw.jaw_of(f)),
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
    "eyeBlinkLeft": rig_eyes.blink(1),
    "eyeBlinkRight": rig_eyes.blink(-1),
    **rig_gaze.BUILDERS,  # gaze, eyeSquint, eyeWide, cheekSquint
    **rig_full_face.BUILDERS,  # mouth sideways, frown, dimple, shrugs, sneer, tongue, head
}
