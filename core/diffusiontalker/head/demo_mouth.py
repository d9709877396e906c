"""The demo head's mouth interior: an oral-cavity pocket behind the lip slit, with teeth and
a tongue inside it.

The pocket is lofted from the slit's loop (corner, upper lip's edge, corner, lower lip's
edge) back into the head: first the inside of the lips (lip material), then a cavity tall
enough for the teeth, closing at the throat. Its lower half hangs from the lower lip, so the
rig's mandible field carries the floor of the mouth with the jaw; the lower teeth and the
tongue are loose parts the rig moves rigidly with the jaw. Metres, Blender's axes.
"""

from __future__ import annotations

import numpy as np

from . import demo_parts

# (depth behind the slit, lateral scale, half-height, extra depth at the corners, material)
POCKET_RINGS = (
    (0.0024, 1.00, 0.0015, 0.0010, "lips"),
    (0.0060, 1.06, 0.0090, 0.0030, "mouth"),
    (0.0140, 1.12, 0.0140, 0.0050, "mouth"),
    (0.0270, 1.05, 0.0145, 0.0060, "mouth"),
    (0.0390, 0.72, 0.0100, 0.0040, "mouth"),
)
THROAT_DEPTH = 0.047
TEETH_BEHIND_SLIT = 0.0052  # the incisors' lip side, behind the lips' edge


def pocket(v: np.ndarray, loop: list[int], half: np.ndarray, start: int):
    """The pocket's new points and faces for the slit ``loop`` (vertex ids in ``v``; ``half``:
    +1 upper lip, -1 lower lip, 0 corner), numbering new points from ``start``.

    Returns ``(points, faces, material names)``.
    """
    ring0 = v[loop]
    mid = ring0.mean(axis=0)
    half_width = np.abs(ring0[:, 0] - mid[0]).max()
    r = np.clip((ring0[:, 0] - mid[0]) / half_width, -1.0, 1.0)
    open_ = (1.0 - r**2) ** 0.35
    prev, pts, faces, mats, n = list(loop), [], [], [], start
    for depth, scale, height, corner_depth, material in POCKET_RINGS:
        ring = ring0.copy()
        ring[:, 0] = mid[0] + (ring0[:, 0] - mid[0]) * scale
        ring[:, 1] = ring0[:, 1] + depth + corner_depth * r**2
        ring[:, 2] = ring0[:, 2] + half * height * open_
        idx = list(range(n, n + len(loop)))
        pts.append(ring)
        n += len(loop)
        for k in range(len(loop)):
            k1 = (k + 1) % len(loop)
            faces.append((prev[k], idx[k], idx[k1], prev[k1]))
            mats.append(material)
        prev = idx
    pts.append((mid + [0.0, THROAT_DEPTH, 0.0])[None])
    for k in range(len(loop)):
        faces.append((prev[k], n, prev[(k + 1) % len(loop)]))
        mats.append("mouth")
    return np.concatenate(pts), faces, mats


def mouth_parts(front_y: float, seam_z: float) -> list[tuple[str, demo_parts.Part]]:
    """``(group name, part)`` for the upper teeth, lower teeth and tongue; ``front_y`` is the
    lips' edge at the midline."""
    y = front_y + TEETH_BEHIND_SLIT
    return [("teeth_upper", demo_parts.teeth(y, seam_z, upper=True)),
            ("teeth_lower", demo_parts.teeth(y, seam_z, upper=False)),
            ("tongue", demo_parts.tongue(y, seam_z))]
