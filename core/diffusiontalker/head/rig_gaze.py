"""The eyes of the landmark rig beyond the blink: gaze, squint, wide eyes and cheek squint.

- ``eyeLook{Up,Down,In,Out}{Left,Right}``: the eyeball turns about its own centre (``In``
  toward the nose, ``Out`` toward the ear; Left/Right the subject's own eye). A mesh with
  separate eyeballs (the demo head, FLAME) turns the eyeball's loose part rigidly; on a mesh
  whose eyes are part of the skin, an approximation turns the iris region inside the eye
  opening (the skin there between the lids). For up/down gaze the lids follow a little
  (:data:`LID_FOLLOW` of the eye's angle), as real lids do.
- ``eyeSquint{Left,Right}``: the lower lid comes up (:data:`SQUINT_LID` of the opening) and
  the cheek under the eye rises slightly.
- ``eyeWide{Left,Right}``: the upper lid goes up (:data:`WIDE_LID` of the opening).
- ``cheekSquint{Left,Right}``: the cheek under the eye rises (and pushes the lower lid a bit).

Lids turn about the eyeball's centre (as in :mod:`.rig_eyes`), so they slide over the ball.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .geometry import bump, smoothstep
from .rig_eyes import eye_frame, lids
from .rig_frame import FaceFields

# the eye's rotation at weight 1 (radians): toward the nose / the ear, up, down
GAZE_ANGLES = {"In": 0.45, "Out": 0.45, "Up": 0.35, "Down": 0.40}
LID_FOLLOW = 0.35  # share of a vertical gaze angle the lids follow
SQUINT_LID = 0.20  # eyeSquint: the lower lid's rise, in shares of the eye's opening angle
WIDE_LID = 0.30  # eyeWide: the upper lid's rise, in shares of the eye's opening angle


def rotate_local(q: np.ndarray, centre: np.ndarray, axis: np.ndarray, angle) -> np.ndarray:
    """Local offsets ``(N, 3)`` of turning local points ``q`` about ``axis`` (local, through
    ``centre``) by ``angle`` (scalar or per point; right-handed), by Rodrigues' formula."""
    k = np.asarray(axis, np.float64) / np.linalg.norm(axis)
    p = q - centre
    angle = np.broadcast_to(np.asarray(angle, np.float64), (len(q),))[:, None]
    c, s = np.cos(angle), np.sin(angle)
    turned = p * c + np.cross(k, p) * s + k * (p @ k)[:, None] * (1 - c)
    return turned - p


def eyeball(f: FaceFields, sfx: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The loose part that is the eyeball of eye ``sfx`` (``"L"``/``"R"``) and its centre (the
    middle of its bounds, local), or None when the mesh has no separate eyeball there."""
    c, r = eye_frame(f, sfx)[:2]
    best = None
    for ids in f.loose:
        q = f.q[ids]
        centre = 0.5 * (q.min(axis=0) + q.max(axis=0))
        size = np.ptp(q, axis=0).max()
        dist = float(np.linalg.norm(centre - c))
        if dist < r and 1.0 * r < size < 4.0 * r and (best is None or dist < best[0]):
            best = (dist, ids, centre)
    return None if best is None else (best[1], best[2])


def _around_point(f: FaceFields, centre, r_lat: float, r_up: float, r_fwd: float = 0.6):
    """Compact ellipsoidal falloff around a local point (radii in units of ``s``), skin only."""
    d = f.q - np.asarray(centre)
    rr = np.sqrt((d[:, 0] / (r_lat * f.s)) ** 2 + (d[:, 1] / (r_up * f.s)) ** 2
                 + (d[:, 2] / (r_fwd * f.s)) ** 2)
    return bump(rr) * f.movable


def gaze(side: int, direction: str) -> Callable[[FaceFields], np.ndarray]:
    """The builder of ``eyeLook{direction}{Left if side > 0 else Right}``."""

    def build(f: FaceFields) -> np.ndarray:
        sfx = "L" if side > 0 else "R"
        lateral = {"In": -side, "Out": side}.get(direction, 0)
        vertical = {"Up": 1, "Down": -1}.get(direction, 0)
        angle = GAZE_ANGLES[direction]
        axis = np.cross([0.0, 0.0, 1.0], [lateral, vertical, 0.0])  # turns forward toward it
        found = eyeball(f, sfx)
        c, gap, w_up, w_lo = lids(f, sfx)
        out = np.zeros_like(f.q)
        if found is not None:
            ids, centre = found
            out[ids] = rotate_local(f.q[ids], centre, axis, angle)
        else:  # no eyeball: turn the skin inside the eye opening (the iris region)
            r = eye_frame(f, sfx)[1]
            d = f.q - c
            iris = bump(np.hypot(d[:, 0], d[:, 1]) / (0.75 * r)) * smoothstep(0.0, 0.5 * r, d[:, 2])
            w = iris * (1 - np.maximum(w_up, w_lo)) * f.movable
            out += w[:, None] * rotate_local(f.q, c, axis, angle)
        if vertical:
            lid = np.maximum(w_up, w_lo)
            out += lid[:, None] * rotate_local(f.q, c, axis, LID_FOLLOW * angle)
        return out @ f.axes

    return build


def _under_eye(f: FaceFields, side: int, r_lat: float, r_up: float) -> np.ndarray:
    """A falloff on the cheek just under one eye (the cheek that squints)."""
    sfx = "L" if side > 0 else "R"
    eye, lower = f.lq[f"eye_{sfx}"], f.lq[f"eye_lower_{sfx}"]
    centre = (eye[0] + side * 0.08 * f.s, lower[1] - 0.35 * f.s, lower[2])
    return _around_point(f, centre, r_lat, r_up) * f.front


def squint(side: int) -> Callable[[FaceFields], np.ndarray]:
    """eyeSquintLeft (``side`` +1) / eyeSquintRight (-1): lower lid up, cheek up slightly."""

    def build(f: FaceFields) -> np.ndarray:
        c, gap, w_up, w_lo = lids(f, "L" if side > 0 else "R")
        lid = f.rotation_offsets(c, SQUINT_LID * gap * w_lo)
        cheek = _under_eye(f, side, 0.35, 0.3) * (1 - w_up) * (1 - w_lo)
        return lid + f.world(0.0, 0.03 * f.s * cheek, 0.005 * f.s * cheek)

    return build


def wide(side: int) -> Callable[[FaceFields], np.ndarray]:
    """eyeWideLeft (``side`` +1) / eyeWideRight (-1): the upper lid goes up."""

    def build(f: FaceFields) -> np.ndarray:
        c, gap, w_up, _ = lids(f, "L" if side > 0 else "R")
        return f.rotation_offsets(c, WIDE_LID * gap * w_up)

    return build


def cheek_squint(side: int) -> Callable[[FaceFields], np.ndarray]:
    """cheekSquintLeft (``side`` +1) / cheekSquintRight (-1): the cheek under the eye rises
    (and pushes the lower lid up a little), slightly forward."""

    def build(f: FaceFields) -> np.ndarray:
        _, _, w_up, _ = lids(f, "L" if side > 0 else "R")
        w = _under_eye(f, side, 0.4, 0.35) * (1 - w_up)
        return f.world(0.0, 0.06 * f.s * w, 0.015 * f.s * w)

    return build


BUILDERS: dict[str, Callable[[FaceFields], np.ndarray]] = {}
for _side, _name in ((1, "Left"), (-1, "Right")):
    for _direction in GAZE_ANGLES:
        BUILDERS[f"eyeLook{_direction}{_name}"] = gaze(_side, _direction)
    BUILDERS[f"eyeSquint{_name}"] = squint(_side)
    BUILDERS[f"eyeWide{_name}"] = wide(_side)
    BUILDERS[f"cheekSquint{_name}"] = cheek_squint(_side)
