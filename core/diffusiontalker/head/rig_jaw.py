"""The jaw of the landmark rig: the mandible's weight field, the hinge and the jaw channels.

The jaw is a rotation about the lateral axis through the two jaw pivots (the hinge found from
the landmarks), weighted per vertex by an anatomical mandible field (see :class:`Jaw`):

- **fully** the chin, the lower lip and the jaw line; the neck fades below the chin and the
  region around the pivots (ramus) fades toward the ears;
- the **cheeks partly**: above a line from the mouth corner up toward the pivot the weight
  falls from the corners' share to zero;
- **nothing above the upper lip**: the upper lip itself moves only near the corners (it follows
  the corners down), everything above it stays;
- the lip opening is an **oval**: along the lip line the lower lip follows the jaw by
  ``D(r) + sqrt(1 - r^2)`` (eased at its very end) and the upper lip by ``D(r)``, ``r`` the
  distance from the midline in mouth half-widths and ``D(r) = CORNER_FOLLOW * r^4`` the
  corners' share, so the gap is a half-ellipse and the corners (which follow the jaw by
  :data:`CORNER_FOLLOW`) stay soft.

Upper and lower lips are told apart near the mouth by geodesic distance (``FaceFields.side``),
elsewhere by height above the lip line. Loose parts of the mesh inside the mouth below the lip
line (lower teeth, tongue) follow the jaw rigidly; other loose parts stay.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .geometry import smoothstep
from .rig_frame import FaceFields

JAW_ANGLE = 0.26  # radians at jawOpen = 1 (~25 mm at the lower lip of an adult head)
CORNER_FOLLOW = 0.35  # share of the jaw's motion the mouth corners take (the lip centre: 1)
CLOSE_UPPER = 0.3  # mouthClose: share of the closing done by the upper lip (the rest: lower)
JAW_FORWARD = 0.10  # jawForward at weight 1, in inter-pupil distances (~6 mm)
JAW_SIDE = 0.11  # jawLeft/jawRight at weight 1, in inter-pupil distances (~7 mm)
OVAL_POWER = 0.5  # the opening along the lip line ~ (1 - r^2)^OVAL_POWER: a half-ellipse
OVAL_EASE = 0.05  # how the oval's end is eased off (its slope at the corner stays finite)


class Jaw:
    """Mandible weights and the hinge of a head (built from a :class:`.rig_frame.FaceFields`)."""

    def __init__(self, f: FaceFields):
        self.f = f
        s, q, lq = f.s, f.q, f.lq
        self.pivot = (lq["jaw_pivot_L"] + lq["jaw_pivot_R"]) / 2
        corner_y = 0.5 * (lq["mouth_corner_L"][1] + lq["mouth_corner_R"][1])
        # lip heights (upper and lower vermilion) from the outer lip points, within sane bounds
        self.h_up = float(np.clip(2.0 * lq["upper_lip_outer"][1], 0.08 * s, 0.3 * s))
        self.h_lo = float(np.clip(-2.0 * lq["lower_lip_outer"][1], 0.08 * s, 0.3 * s))
        x = np.abs(q[:, 0])
        w_m = f.w_m
        self.r = x / w_m
        beyond = np.clip((x - w_m) / max(abs(self.pivot[0]) - w_m, 0.1 * s), 0.0, 1.0)
        # the lip line (a parabola through the inner lips and the corners), then rising from
        # the corners toward the pivots: the upper edge of the mandible's region
        rise = (self.pivot[1] - 0.3 * s) - corner_y
        line = corner_y * np.minimum(self.r, 1.0) ** 2 + max(rise, 0.0) * beyond**2
        self.t = q[:, 1] - line  # height above the line
        spread = smoothstep(w_m, w_m + 0.6 * s, x)
        self.m_up = self.h_up + (0.45 * s - self.h_up) * spread  # cheek falloff above the line
        self.m_dn = self.h_lo + (0.30 * s - self.h_lo) * spread  # to full weight below it
        # lower share: by geodesic side near the mouth, by height elsewhere
        near = (1 - smoothstep(0.9 * w_m, 1.25 * w_m, x)) * (
            1 - smoothstep(1.5 * self.h_lo, 3.0 * self.h_lo, np.abs(self.t)))
        by_side = np.clip(0.5 - 0.5 * f.side, 0.0, 1.0)
        by_height = smoothstep(0.02 * s, -0.02 * s, self.t)
        self.lower_share = near * by_side + (1 - near) * by_height
        self.gate = self._gate() * f.movable
        self.weight = self.field() * self.gate
        self.parts = self._lower_parts()

    def _gate(self) -> np.ndarray:
        """Fades toward and behind the pivots (ramus, ears) and into the neck below the chin."""
        f, s = self.f, self.f.s
        back = smoothstep(-0.1 * s, 0.5 * s, f.q[:, 2] - self.pivot[2])
        neck = smoothstep(-0.9 * s, -0.2 * s, f.q[:, 1] - f.lq["chin"][1])
        return back * neck

    def edge_lower(self) -> np.ndarray:
        """The lower lip's share of the jaw along the lip line (1 at the centre): the corners'
        share plus a half-ellipse, rounded off within a few percent of the corner so that its
        slope stays finite (a corner vertex a rounding error away gets the same weight)."""
        r = np.minimum(self.r, 1.0)
        e2, p = OVAL_EASE**2, OVAL_POWER
        oval = ((np.clip(1 - r * r, 0.0, 1.0) + e2) ** p - e2**p) / ((1 + e2) ** p - e2**p)
        return CORNER_FOLLOW * r**4 + oval

    def edge_upper(self) -> np.ndarray:
        """The upper lip's share along the lip line (0 at the centre, the corners' share at the
        corners and beyond)."""
        return CORNER_FOLLOW * np.minimum(self.r, 1.0) ** 4

    def opening(self) -> np.ndarray:
        """Lower minus upper share at each vertex's lateral position: the oval gap profile."""
        return self.edge_lower() - self.edge_upper()

    def formulas(self) -> tuple[np.ndarray, np.ndarray]:
        """The mandible weight as the lower lip's side sees it (the lip line's share, rising to
        1 below) and as the upper lip's side sees it (the corners' share, falling to 0
        above); :meth:`field` mixes them by the lower share."""
        base_lo, base_up = self.edge_lower(), self.edge_upper()
        t = self.t
        lower = base_lo + (1 - base_lo) * smoothstep(0.0, -self.m_dn, np.minimum(t, 0.0))
        upper = base_up * (1 - smoothstep(0.0, self.m_up, np.maximum(t, 0.0)))
        return lower, upper

    def field(self) -> np.ndarray:
        """The mandible weight before the gates."""
        lower, upper = self.formulas()
        return self.lower_share * lower + (1 - self.lower_share) * upper

    def lip_bands(self) -> tuple[np.ndarray, np.ndarray]:
        """How much of each lip mouthClose moves: 1 up to a third of a lip height from the
        lip line, 0 one lip height away (upper, lower)."""
        t = self.t
        up = 1 - smoothstep(0.3 * self.h_up, self.h_up, np.maximum(t, 0.0))
        lo = 1 - smoothstep(0.3 * self.h_lo, self.h_lo, np.maximum(-t, 0.0))
        return up, lo

    def in_mouth(self, q: np.ndarray) -> bool:
        """Whether a part with local points ``q`` sits inside the mouth below the lip line
        (lower teeth, tongue): it then follows the jaw rigidly."""
        f, s = self.f, self.f.s
        c = q.mean(axis=0)
        return bool(abs(c[0]) < 1.5 * f.w_m and f.lq["chin"][1] - 0.1 * s < c[1] < 0.0
                    and self.pivot[2] < c[2] < 0.05 * s)

    def _lower_parts(self) -> np.ndarray:
        """1 on the mesh's loose parts that :meth:`in_mouth`."""
        out = np.zeros(len(self.f.v))
        for ids in self.f.loose:
            if self.in_mouth(self.f.q[ids]):
                out[ids] = 1.0
        return out

    def hinge(self) -> np.ndarray:
        """Offsets ``(V, 3)`` of rotating every vertex about the hinge by jawOpen = 1."""
        return self.f.rotation_offsets(self.pivot, -JAW_ANGLE)

    def rigid(self) -> np.ndarray:
        """Per-vertex weight of the jaw's rigid motion: the mandible field plus lower parts."""
        return np.maximum(self.weight, self.parts)


def part_bases(jaw: Jaw, points: np.ndarray, channels) -> np.ndarray:
    """Offset bases ``(K, P, 3)`` of a separate part (teeth or tongue in an object of their
    own, ``points`` in the head's coordinates): inside the mouth below the lip line it follows
    the jaw channels rigidly, like the head's own lower teeth; otherwise, and for every other
    channel, it stays."""
    q = jaw.f.local(points)
    out = np.zeros((len(channels), len(q), 3))
    if len(q) and jaw.in_mouth(q):
        s = jaw.f.s
        moves = {"jawOpen": jaw.f.rotation_offsets(jaw.pivot, -JAW_ANGLE, q),
                 "jawForward": jaw.f.world(0.0, 0.0, JAW_FORWARD * s, n=len(q)),
                 "jawLeft": jaw.f.world(JAW_SIDE * s, 0.0, 0.0, n=len(q)),
                 "jawRight": jaw.f.world(-JAW_SIDE * s, 0.0, 0.0, n=len(q))}
        for k, channel in enumerate(channels):
            if channel in moves:
                out[k] = moves[channel]
    return out


def jaw_of(f: FaceFields) -> Jaw:
    """The head's :class:`Jaw`, built once per :class:`.rig_frame.FaceFields`."""
    if "jaw" not in f.cache:
        f.cache["jaw"] = Jaw(f)
    return f.cache["jaw"]


def jaw_open(jaw: Jaw) -> np.ndarray:
    """The hinge, weighted by the mandible field (lower teeth and tongue fully)."""
    return jaw.rigid()[:, None] * jaw.hinge()


def mouth_close(jaw: Jaw) -> np.ndarray:
    """Lips closed relative to the jaw (ARKit's meaning): the upper lip comes down
    ``CLOSE_UPPER`` of the oval opening, the lower lip takes back the rest of what the jaw gave
    it, so ``mouthClose = jawOpen`` seals the lips along the whole lip line, on each side of
    it exactly (the jaw, the chin and the lower teeth stay open)."""
    up, lo = jaw.lip_bands()
    lower, upper = jaw.formulas()
    base_lo, base_up = jaw.edge_lower(), jaw.edge_upper()
    inside = 1 - smoothstep(0.95, 1.15, jaw.r)  # nothing beyond the corners
    share = jaw.lower_share
    w = (share * -(1 - CLOSE_UPPER) * (lower - base_up) * lo * inside
         + (1 - share) * CLOSE_UPPER * (base_lo - upper) * up)
    return (w * jaw.gate)[:, None] * jaw.hinge()


def jaw_forward(jaw: Jaw) -> np.ndarray:
    """The mandible slides forward."""
    return jaw.rigid()[:, None] * jaw.f.world(0.0, 0.0, JAW_FORWARD * jaw.f.s)


def jaw_side(sign: int) -> Callable[[Jaw], np.ndarray]:
    """jawLeft (+1, toward the subject's left) / jawRight (-1): the mandible slides sideways."""

    def build(jaw: Jaw) -> np.ndarray:
        return jaw.rigid()[:, None] * jaw.f.world(sign * JAW_SIDE * jaw.f.s, 0.0, 0.0)

    return build
