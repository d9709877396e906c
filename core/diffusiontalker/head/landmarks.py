"""Landmarks (name -> vertex index) of a head, found from its geometry.

Works on meshes in Blender's convention (metres, z up, face toward -Y) that look like the
FLAME template: a face surface plus separate eyeball components, and an opening (hole) at
the mouth. What it uses: the symmetry plane (mid-x of the face surface), extremal points of
the midline profile (nose tip, lips, chin), the boundary loop of the mouth opening (corners
and inner lip points), the eyeball components (centres, lid margins where the skin meets the
eyeball), and fixed offsets scaled by the eyeball radius for the brows and jaw pivots.
For any other head, pass the landmarks yourself (``known``): found ones fill only the gaps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import TopologyError
from .geometry import boundary_loops, components, geodesic_distances
from .rig_fields import RIG_LANDMARKS

LANDMARK_NAMES: tuple[str, ...] = RIG_LANDMARKS


def _argmin(v: np.ndarray, ids: np.ndarray, key: np.ndarray, what: str) -> int:
    if len(ids) == 0:
        raise TopologyError(f"could not find the {what} on this mesh; pass landmarks yourself")
    return int(ids[np.argmin(key)])


def find_landmarks(
    vertices: np.ndarray,
    faces: Sequence[Sequence[int]],
    known: dict[str, int] | None = None,
) -> dict[str, int]:
    """Find :data:`LANDMARK_NAMES` on a head; entries of ``known`` are kept as given."""
    v = np.asarray(vertices, dtype=np.float64)
    known = {k: int(i) for k, i in (known or {}).items()}
    bad = {k: i for k, i in known.items() if not 0 <= i < len(v)}
    if bad:
        raise TopologyError(f"landmark vertex indices out of range (V = {len(v)}): {bad}")
    if all(n in known for n in LANDMARK_NAMES):
        return known
    comps = components(len(v), faces)
    skin = comps[0]
    x0 = 0.5 * (v[skin, 0].min() + v[skin, 0].max())
    lm: dict[str, int] = {}
    mid = skin[np.abs(v[skin, 0] - x0) < 0.004]
    lm["nose_tip"] = _argmin(v, mid, v[mid, 1], "nose tip")
    nose = v[known.get("nose_tip", lm["nose_tip"])]

    # eyes: small closed parts above the nose tip and behind it, one on each side
    balls = []
    for c in comps[1:]:
        centre = v[c].mean(axis=0)
        radius = np.median(np.linalg.norm(v[c] - centre, axis=1))
        if len(c) >= 20 and centre[2] > nose[2] and 0.005 < radius < 0.03:
            balls.append((centre, radius, c))
    left = [b for b in balls if b[0][0] > x0]
    right = [b for b in balls if b[0][0] < x0]
    if not left or not right:
        raise TopologyError("could not find two eyeballs (separate mesh parts); pass the eye "
                            "landmarks yourself")
    radius = 0.0
    for sfx, group, sign in (("L", left, 1), ("R", right, -1)):
        centre, r, ids = max(group, key=lambda b: len(b[2]))
        radius = r
        lm[f"eye_{sfx}"] = _argmin(v, ids, v[ids, 1], "eye")
        d = v[skin] - centre
        dist = np.linalg.norm(d, axis=1)
        beta = np.arctan2(d[:, 2], -d[:, 1])
        band = (dist > 0.97 * r) & (dist < r + 0.004) & (-d[:, 1] > 0.3 * r)
        central = band & (np.abs(d[:, 0]) < 0.3 * r)
        up, lo = skin[central & (beta > 0)], skin[central & (beta < 0)]
        lm[f"eye_upper_{sfx}"] = _argmin(v, up, beta[central & (beta > 0)], "upper lid")
        lm[f"eye_lower_{sfx}"] = _argmin(v, lo, -beta[central & (beta < 0)], "lower lid")
        rim = band & (np.abs(beta) < 0.45) & (dist < r + 0.0025)
        ids_rim = skin[rim]
        medial = sign * (v[ids_rim, 0] - centre[0])
        lm[f"eye_inner_{sfx}"] = _argmin(v, ids_rim, medial, "inner eye corner")
        lm[f"eye_outer_{sfx}"] = _argmin(v, ids_rim, -medial, "outer eye corner")
        for name, dx in (("brow_inner", -1.25), ("brow_outer", 1.4)):
            target_x = centre[0] + sign * dx * r
            near = skin[(np.abs(v[skin, 0] - target_x) < 0.4 * r)
                        & (np.abs(v[skin, 2] - centre[2] - 1.8 * r) < 0.4 * r)
                        & (v[skin, 1] < centre[1])]
            lm[f"{name}_{sfx}"] = _argmin(v, near, v[near, 1], name.replace("_", " "))
        # jaw pivot: the side of the head ~9.5 cm behind the nose tip, ~3.5 cm below the eyes
        near = skin[(np.abs(v[skin, 1] - nose[1] - 0.095) < 0.012)
                    & (np.abs(v[skin, 2] - centre[2] + 0.035) < 0.012)
                    & (sign * (v[skin, 0] - x0) > 0)]
        lm[f"jaw_pivot_{sfx}"] = _argmin(v, near, -sign * v[near, 0], "jaw pivot")

    # mouth: the boundary loop below the nose, in front, centred on the midline
    loops = [np.array(lp) for lp in boundary_loops(faces) if len(lp) >= 6]
    mouth = [lp for lp in loops
             if v[lp, 2].mean() < nose[2] and abs(v[lp, 0].mean() - x0) < 0.01
             and v[lp, 2].mean() > nose[2] - 6 * radius and v[lp, 1].mean() < nose[1] + 0.06
             and np.ptp(v[lp, 0]) < 8 * radius]
    if not mouth:
        mouth = _slit(v, skin, nose, x0, radius)
    if not mouth:
        raise TopologyError("could not find the mouth opening (a hole between the lips); pass "
                            "the lip landmarks yourself")
    loop = max(mouth, key=lambda lp: v[lp, 2].mean())
    lm["mouth_corner_L"] = int(loop[np.argmax(v[loop, 0])])
    lm["mouth_corner_R"] = int(loop[np.argmin(v[loop, 0])])
    half = 0.5 * np.ptp(v[loop, 0])
    centre_ids = loop[np.abs(v[loop, 0] - x0) < 0.3 * half]
    hole_up = int(centre_ids[np.argmax(v[centre_ids, 2])])
    hole_lo = int(centre_ids[np.argmin(v[centre_ids, 2])])
    if np.allclose(v[hole_up], v[hole_lo]):  # a closed slit: the upper twin is nearer the nose
        twins = centre_ids[np.all(np.abs(v[centre_ids] - v[hole_up]) < 1e-6, axis=1)]
        to_nose = geodesic_distances(v, faces, [lm["nose_tip"]], 1.0)[twins]
        hole_up, hole_lo = int(twins[np.argmin(to_nose)]), int(twins[np.argmax(to_nose)])
        lm["upper_lip_inner"], lm["lower_lip_inner"] = hole_up, hole_lo
    # inner lip points: where the two lips meet in front of the opening (each lip curls from
    # its outer surface back to the opening's rim; geodesic distance says which lip is which)
    limit = 8 * radius
    d_up = geodesic_distances(v, faces, [hole_up], limit)
    d_lo = geodesic_distances(v, faces, [hole_lo], limit)
    z_top, z_bot = v[hole_up, 2], v[hole_lo, 2]
    front = mid[(v[mid, 2] <= z_top) & (v[mid, 2] >= z_bot) & (v[mid, 1] < v[hole_up, 1] - 0.004)]
    ups = front[d_up[front] < d_lo[front]]
    los = front[d_lo[front] < d_up[front]]
    if len(ups) and len(los):
        lm["upper_lip_inner"] = _argmin(v, ups, v[ups, 2], "upper lip")
        lm["lower_lip_inner"] = _argmin(v, los, -v[los, 2], "lower lip")
    else:
        lm["upper_lip_inner"], lm["lower_lip_inner"] = hole_up, hole_lo
    z_up, z_lo = v[lm["upper_lip_inner"], 2], v[lm["lower_lip_inner"], 2]
    sel = mid[(v[mid, 2] > z_up - 0.001) & (v[mid, 2] < z_up + 0.3 * (nose[2] - z_up))]
    lm["upper_lip_outer"] = _argmin(v, sel, v[sel, 1], "upper lip")
    sel = mid[(v[mid, 2] < z_lo + 0.001) & (v[mid, 2] > z_lo - 1.5 * radius)]
    lm["lower_lip_outer"] = _argmin(v, sel, v[sel, 1], "lower lip")
    z_ll = v[lm["lower_lip_outer"], 2]
    sel = mid[(v[mid, 2] < z_ll - 1.0 * radius) & (v[mid, 2] > z_ll - 4.0 * radius)]
    lm["chin"] = _argmin(v, sel, v[sel, 1], "chin")
    lm.update(known)
    return lm


def _slit(v: np.ndarray, skin: np.ndarray, nose: np.ndarray, x0: float, radius: float):
    """A closed mouth slit: coincident vertex pairs (upper and lower lip) below the nose."""
    cand = skin[(v[skin, 2] < nose[2]) & (v[skin, 2] > nose[2] - 6 * radius)
                & (np.abs(v[skin, 0] - x0) < 5 * radius) & (v[skin, 1] < nose[1] + 0.04)]
    keys = np.round(v[cand] * 1e6).astype(np.int64)
    _, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    twins = cand[counts[inverse.ravel()] > 1]
    return [twins] if len(twins) >= 4 else []
