"""The eyelids of the landmark rig: ``eyeBlinkLeft``/``eyeBlinkRight``.

A blink turns the upper lid down over the eyeball (85 % of the closing) and the lower lid up
(15 %), each a rotation about the eyeball's centre, so the lids slide over the ball instead
of cutting through it. How far each part of a lid turns is the opening at its own lateral
position: the lid margins are read from the eye opening's boundary loop (a hole in the skin
around the eyeball, as on the demo head) and closed exactly where they are, so no iris
shows through a closed eye; without such a loop (FLAME's lids are one surface with the eye
socket) an elliptical opening between the corner, lid and eye landmarks stands in.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .geometry import smoothstep
from .rig_frame import FaceFields

UPPER_SHARE = 0.85  # the upper lid's share of the closing (the lower lid: the rest)


def eye_frame(f: FaceFields, sfx: str):
    """Eyeball centre (local), its radius, the centre lid elevation angles and per-vertex
    eye coordinates (offsets from the centre and elevation angle)."""
    r = 0.185 * f.s
    c = f.lq[f"eye_{sfx}"] - np.array([0.0, 0.0, r])
    elev = {k: np.arctan2(f.lq[f"eye_{k}_{sfx}"][1] - c[1], f.lq[f"eye_{k}_{sfx}"][2] - c[2])
            for k in ("upper", "lower")}
    d = f.q - c
    beta = np.arctan2(d[:, 1], d[:, 2])
    return c, r, elev, d, beta


def margins(f: FaceFields, c: np.ndarray, r: float, elev: dict):
    """Upper and lower margin elevation as functions of the lateral position: ``(x (N,),
    upper (N,), lower (N,))`` sampled along the eye opening, or None without an opening."""
    loops = f.loops()
    best = None
    for loop in loops:
        q = f.q[loop]
        centre = q.mean(axis=0)
        if np.hypot(*(centre - c)[:2]) < 0.8 * r and len(loop) >= 6:
            best = loop if best is None or len(loop) > len(best) else best
    if best is None:
        return None
    d = f.q[best] - c
    beta = np.arctan2(d[:, 1], d[:, 2])
    mid = 0.5 * (elev["upper"] + elev["lower"])
    x = d[:, 0]
    up, lo = beta > mid, beta <= mid
    if up.sum() < 2 or lo.sum() < 2:
        return None
    grid = np.linspace(x.min(), x.max(), 48)
    b_up = np.interp(grid, *_sorted(x[up], beta[up]))
    b_lo = np.interp(grid, *_sorted(x[lo], beta[lo]))
    return grid, b_up, b_lo


def _sorted(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(x)
    return x[order], y[order]


def lids(f: FaceFields, sfx: str):
    """The lids of one eye: ``(centre (3,), gap (V,), w_up (V,), w_lo (V,))``: the eyeball
    centre (local), the opening angle at each vertex's lateral position and how much each
    vertex belongs to the upper and the lower lid (0 off the lids)."""
    c, r, elev, d, beta = eye_frame(f, sfx)
    found = margins(f, c, r, elev)
    if found is not None:
        grid, b_up, b_lo = found
        top = np.interp(d[:, 0], grid, b_up)
        bottom = np.interp(d[:, 0], grid, b_lo)
    else:  # an elliptical opening between the landmarks
        inner, outer = f.lq[f"eye_inner_{sfx}"][0], f.lq[f"eye_outer_{sfx}"][0]
        half = max(abs(outer - inner) / 2, 1e-6)
        u = (d[:, 0] + c[0] - (inner + outer) / 2) / half
        profile = np.sqrt(np.clip(1 - u**2, 0, 1))
        mid = 0.5 * (elev["upper"] + elev["lower"])
        top = mid + (elev["upper"] - mid) * profile
        bottom = mid - (mid - elev["lower"]) * profile
    gap = np.maximum(top - bottom, 0.0)
    mid = 0.5 * (top + bottom)
    width = 0.1 * max(elev["upper"] - elev["lower"], 1e-3)
    gate = (1 - smoothstep(1.15 * r, 2.0 * r, np.linalg.norm(d, axis=1)))
    gate *= smoothstep(-0.6 * r, 0.0, d[:, 2]) * f.movable
    is_up = smoothstep(mid - width, mid + width, beta)
    w_up = is_up * (1 - smoothstep(top + 0.15, top + 0.75, beta)) * gate
    w_lo = (1 - is_up) * (1 - smoothstep(0.2, 0.7, bottom - beta)) * gate
    return c, gap, w_up, w_lo


def blink(sign: int) -> Callable[[FaceFields], np.ndarray]:
    """The builder of eyeBlinkLeft (``sign`` +1) or eyeBlinkRight (-1)."""

    def build(f: FaceFields) -> np.ndarray:
        c, gap, w_up, w_lo = lids(f, "L" if sign > 0 else "R")
        angle = gap * (-UPPER_SHARE * w_up + (1 - UPPER_SHARE) * w_lo)
        return f.rotation_offsets(c, angle)

    return build
