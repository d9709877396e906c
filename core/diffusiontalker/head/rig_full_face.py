"""The rest of the ARKit face for the landmark rig: mouth sideways, frown, dimple, shrugs,
nose sneer, tongue out, and zero bases for head rotation.

- ``mouthLeft``/``mouthRight``: both lips (and the skin around them, fading) shift toward the
  subject's left / right.
- ``mouthFrown{Left,Right}``: the corner goes down (and a little out).
- ``mouthDimple{Left,Right}``: the corner goes back into the cheek (and a little out).
- ``mouthShrugLower``: the lower lip and the chin push up and out; the upper lip's edge is
  pushed along by as much, so the lips press together instead of crossing.
- ``mouthShrugUpper``: the upper lip goes up (and a little forward).
- ``noseSneer{Left,Right}``: the nose wing rises, the skin beside it a little.
- ``tongueOut``: on a mesh with a tongue (a loose part inside the mouth below the lip line,
  longer front to back than wide: the demo head's) the jaw opens part way
  (:data:`TONGUE_JAW` of jawOpen) and the tongue slides forward out between the lips, centred
  between them. A mesh without a tongue (FLAME) gets an approximation: the lower lip, its
  inner edge most, pushes forward and a little down.
- ``headYaw``/``headPitch``/``headRoll``: zero bases. Head rotation is not a vertex offset
  (Blender writes it as rotation keys); a zero basis lets ``Rig.apply`` take a full motion.

Left/Right are the subject's own (``lat`` > 0 is the subject's left, as for mouthSmileLeft).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..channels import HEAD_ROTATION_CHANNELS
from . import rig_jaw
from .geometry import bump, smoothstep
from .rig_frame import FaceFields

MOUTH_SIDE = 0.12  # mouthLeft/Right at weight 1, in inter-pupil distances (~7 mm)
SHRUG = 0.05  # mouthShrugLower/Upper rise at weight 1, in inter-pupil distances (~3 mm)
TONGUE_JAW = 0.6  # tongueOut opens the jaw this much (of jawOpen) to let the tongue out
TONGUE_OUT = 0.5  # how far the tongue slides forward, in inter-pupil distances (~32 mm)


def _corner(f: FaceFields, side: int, r_lat: float, r_up: float) -> np.ndarray:
    return f.around("mouth_corner_L" if side > 0 else "mouth_corner_R", r_lat, r_up) * f.front


def mouth_side(side: int) -> Callable[[FaceFields], np.ndarray]:
    """mouthLeft (``side`` +1) / mouthRight (-1): both lips shift sideways together."""

    def build(f: FaceFields) -> np.ndarray:
        ellipse = np.hypot(f.q[:, 0] / (2.0 * f.w_m), f.q[:, 1] / (1.3 * f.w_m))
        w = (1 - smoothstep(0.55, 1.0, ellipse)) * f.front  # the lips and corners fully
        return f.world(side * MOUTH_SIDE * f.s * w, 0.0, -0.01 * f.s * w)

    return build


def frown(side: int) -> Callable[[FaceFields], np.ndarray]:
    """mouthFrownLeft (+1) / mouthFrownRight (-1): the corner down and a little out."""

    def build(f: FaceFields) -> np.ndarray:
        w = _corner(f, side, 0.5, 0.45)
        return f.world(side * 0.03 * f.s * w, -0.09 * f.s * w, -0.01 * f.s * w)

    return build


def dimple(side: int) -> Callable[[FaceFields], np.ndarray]:
    """mouthDimpleLeft (+1) / mouthDimpleRight (-1): the corner back into the cheek."""

    def build(f: FaceFields) -> np.ndarray:
        w = _corner(f, side, 0.45, 0.35)
        return f.world(side * 0.05 * f.s * w, 0.01 * f.s * w, -0.07 * f.s * w)

    return build


def _inside_corners(f: FaceFields) -> np.ndarray:
    return 1 - smoothstep(0.9, 1.1, np.abs(f.q[:, 0]) / f.w_m)


def shrug_lower(f: FaceFields) -> np.ndarray:
    """The lower lip and the chin up and out; the upper lip's edge goes along."""
    s = f.s
    chin = f.around("chin", 0.7, 0.45, 0.5) * f.front
    lower = np.maximum(f.lower, chin)
    up_band, _ = rig_jaw.jaw_of(f).lip_bands()
    follow = f.upper * up_band * _inside_corners(f)
    w = np.maximum(lower, follow)
    return f.world(0.0, SHRUG * s * w, 0.04 * s * w)


def shrug_upper(f: FaceFields) -> np.ndarray:
    """The upper lip up and a little forward."""
    w = f.upper
    return f.world(0.0, SHRUG * f.s * w, 0.02 * f.s * w)


def nose_sneer(side: int) -> Callable[[FaceFields], np.ndarray]:
    """noseSneerLeft (+1) / noseSneerRight (-1): the nose wing up, the skin beside it a bit."""

    def build(f: FaceFields) -> np.ndarray:
        s, tip = f.s, f.lq["nose_tip"]
        d = f.q - np.array([tip[0] + side * 0.3 * s, tip[1] - 0.1 * s, tip[2] - 0.25 * s])

        def ellipsoid(r_lat: float, r_up: float) -> np.ndarray:
            rr = np.sqrt((d[:, 0] / (r_lat * s)) ** 2 + (d[:, 1] / (r_up * s)) ** 2
                         + (d[:, 2] / (0.6 * s)) ** 2)
            return bump(rr) * f.movable * f.front

        wing, beside = ellipsoid(0.3, 0.35), ellipsoid(0.5, 0.6)
        return f.world(side * 0.01 * s * wing, (0.07 * wing + 0.02 * beside) * s,
                       -0.01 * s * wing)

    return build


def tongue(f: FaceFields) -> np.ndarray | None:
    """Vertex ids of the tongue: the loose part inside the mouth (``Jaw.in_mouth``) that is
    longer front to back than it is wide (a dental arch is wider than long); None if none."""
    jaw = rig_jaw.jaw_of(f)
    found = None
    for ids in f.loose:
        q = f.q[ids]
        extent = np.ptp(q, axis=0)
        if jaw.in_mouth(q) and extent[2] > extent[0] and (found is None or len(ids) > len(found)):
            found = ids
    return found


def tongue_out(f: FaceFields) -> np.ndarray:
    """The jaw part way open and the tongue out between the lips (see the module's notes); on a
    mesh without a tongue, the lower lip's forward push that stands in for it."""
    s = f.s
    ids = tongue(f)
    if ids is None:  # no tongue to show (FLAME): the lower inner lip pushes forward
        _, lo_band = rig_jaw.jaw_of(f).lip_bands()
        w = f.lower * (0.5 + 0.5 * lo_band) * _inside_corners(f)
        return f.world(0.0, -0.02 * s * w, 0.08 * s * w)
    jaw = rig_jaw.jaw_open(rig_jaw.jaw_of(f)) * TONGUE_JAW
    opened = f.q + jaw @ f.axes.T  # local positions with the jaw part way open
    lips = 0.5 * (opened[f.index["upper_lip_inner"], 1] + opened[f.index["lower_lip_inner"], 1])
    q = opened[ids]
    front = q[:, 2] > np.quantile(q[:, 2], 0.75)
    rise = lips - 0.5 * (q[front, 1].min() + q[front, 1].max())
    out = jaw.copy()
    out[ids] += f.world(0.0, rise, TONGUE_OUT * s, n=len(ids))
    return out


def _zero(f: FaceFields) -> np.ndarray:
    return np.zeros((len(f.v), 3))


BUILDERS: dict[str, Callable[[FaceFields], np.ndarray]] = {
    "mouthLeft": mouth_side(1),
    "mouthRight": mouth_side(-1),
    "mouthFrownLeft": frown(1),
    "mouthFrownRight": frown(-1),
    "mouthDimpleLeft": dimple(1),
    "mouthDimpleRight": dimple(-1),
    "mouthShrugLower": shrug_lower,
    "mouthShrugUpper": shrug_upper,
    "noseSneerLeft": nose_sneer(1),
    "noseSneerRight": nose_sneer(-1),
    "tongueOut": tongue_out,
    **{name: _zero for name in HEAD_ROTATION_CHANNELS},
}
