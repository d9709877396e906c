"""Landmarks (name -> vertex index) of a head, found from its geometry, in any orientation.

The head is first brought into Blender's convention (metres, z up, face toward -Y) by its face
frame (:mod:`.face_frame`: symmetry plane, eyes and mouth, or landmarks you know); detection
runs there and the indices it finds hold in the mesh's own coordinates. Detection works on
heads that look like the FLAME template or the demo head: a face surface plus separate
eyeball parts, and an opening (hole or closed slit) at the mouth. What it uses: the symmetry
plane (mid-x of the face surface), extremal points of the midline profile (nose tip, lips,
chin), the boundary loop of the mouth opening (corners and inner lip points), the eyeball
parts (centres, lid margins where the skin meets the eyeball), and fixed offsets scaled by
the eyeball radius for the brows and jaw pivots. For any other head, pass the landmarks
yourself (``known``): found ones fill only the gaps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import TopologyError
from .face_frame import FaceFrame, find_face_frame, refined_frame
from .geometry import boundary_loops, components, geodesic_distances
from .rig_fields import RIG_LANDMARKS

LANDMARK_NAMES: tuple[str, ...] = RIG_LANDMARKS
REFINE_DEGREES = 1.0  # detect again when the landmarks turn the face frame by more


def _argmin(v: np.ndarray, ids: np.ndarray, key: np.ndarray, what: str) -> int:
    if len(ids) == 0:
        raise TopologyError(f"could not find the {what}")
    return int(ids[np.argmin(key)])


def check_known(known: dict[str, int] | None, num_vertices: int) -> dict[str, int]:
    """``known`` as ``{name: int}``; a clear error for unknown names or bad indices."""
    known = {str(k): int(i) for k, i in (known or {}).items()}
    unknown = sorted(set(known) - set(LANDMARK_NAMES))
    if unknown:
        raise TopologyError(f"unknown landmark names {unknown}; known: {', '.join(LANDMARK_NAMES)}")
    bad = {k: i for k, i in known.items() if not 0 <= i < num_vertices}
    if bad:
        raise TopologyError(f"landmark vertex indices out of range (V = {num_vertices}): {bad}; "
                            "set them again (the mesh changed since they were set?)")
    return known


def swap_sides(landmarks: dict[str, int]) -> dict[str, int]:
    """``_L`` and ``_R`` landmarks exchanged (a mirrored head's left is its mesh's right)."""
    flip = {"L": "R", "R": "L"}
    return {(n[:-1] + flip[n[-1]] if n[-2:] in ("_L", "_R") else n): i
            for n, i in landmarks.items()}


def find_landmarks(
    vertices: np.ndarray,
    faces: Sequence[Sequence[int]],
    known: dict[str, int] | None = None,
    frame: FaceFrame | None = None,
) -> dict[str, int]:
    """Find :data:`LANDMARK_NAMES` on a head in any orientation; ``known`` entries are kept.

    ``frame``: the head's face frame when already known (else :func:`.find_face_frame`).
    Raises :class:`TopologyError` naming what was not found and how the face was oriented.
    """
    v = np.asarray(vertices, dtype=np.float64)
    known = check_known(known, len(v))
    if all(n in known for n in LANDMARK_NAMES):
        return known
    frame = frame if frame is not None else find_face_frame(v, faces, known)
    found = _detect_in(frame, v, faces, known)
    if frame.cues and frame.cues[0] != "eye landmarks":
        better = refined_frame(frame, v, found)
        if better.angle_to(frame) > REFINE_DEGREES:
            try:
                found = _detect_in(better, v, faces, known)
            except TopologyError:
                pass  # keep what the first frame found
    return found


def _detect_in(frame: FaceFrame, v: np.ndarray, faces, known: dict[str, int]) -> dict[str, int]:
    try:
        return _detect(frame.to_canonical(v), faces, known)
    except TopologyError as exc:
        missing = [n for n in LANDMARK_NAMES if n not in known]
        raise TopologyError(
            f"{exc} on this mesh (the face was oriented {frame.how}); set the landmarks "
            f"yourself ({len(missing)} of {len(LANDMARK_NAMES)} are not set)") from exc


EYE_PARTS = ("eye", "eye_upper", "eye_lower", "eye_inner", "eye_outer", "brow_inner",
             "brow_outer", "jaw_pivot")
MOUTH_PARTS = ("mouth_corner_L", "mouth_corner_R", "upper_lip_inner", "lower_lip_inner",
               "upper_lip_outer", "lower_lip_outer", "chin")


class _Picker:
    """Landmarks found so far: a known one wins over a search (which then is not needed)."""

    def __init__(self, v: np.ndarray, known: dict[str, int]):
        self.v, self.known, self.lm = v, known, dict(known)

    def __call__(self, name: str, ids: np.ndarray, key: np.ndarray, what: str) -> int:
        if name not in self.known:
            self.lm[name] = _argmin(self.v, ids, key, what)
        return self.lm[name]

    def has_all(self, names) -> bool:
        return all(n in self.known for n in names)


def _detect(v: np.ndarray, faces: Sequence[Sequence[int]], known: dict[str, int]) -> dict[str, int]:
    """Detection in the canonical frame (z up, face toward -Y, metres)."""
    comps = components(len(v), faces)
    skin = comps[0]
    x0 = 0.5 * (v[skin, 0].min() + v[skin, 0].max())
    pick = _Picker(v, known)
    mid = skin[np.abs(v[skin, 0] - x0) < 0.004]
    nose = v[pick("nose_tip", mid, v[mid, 1], "nose tip")]
    radius = _eyes(v, skin, comps, x0, nose, pick)
    _mouth(v, faces, skin, mid, x0, nose, radius, pick)
    return pick.lm


def _eyes(v, skin, comps, x0, nose, pick: _Picker) -> float:
    """Eyes, lids, brows and jaw pivots; returns the eyeball radius."""
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
        if pick.has_all([f"{n}_{s}" for n in EYE_PARTS for s in "LR"]):
            return 0.2 * float(np.linalg.norm(v[pick.lm["eye_L"]] - v[pick.lm["eye_R"]]))
        raise TopologyError("could not find two eyeballs (separate mesh parts)")
    radius = 0.0
    for sfx, group, sign in (("L", left, 1), ("R", right, -1)):
        centre, r, ids = max(group, key=lambda b: len(b[2]))
        radius = r
        pick(f"eye_{sfx}", ids, v[ids, 1], "eye")
        d = v[skin] - centre
        dist = np.linalg.norm(d, axis=1)
        beta = np.arctan2(d[:, 2], -d[:, 1])
        band = (dist > 0.97 * r) & (dist < r + 0.004) & (-d[:, 1] > 0.3 * r)
        central = band & (np.abs(d[:, 0]) < 0.3 * r)
        up, lo = skin[central & (beta > 0)], skin[central & (beta < 0)]
        pick(f"eye_upper_{sfx}", up, beta[central & (beta > 0)], "upper lid")
        pick(f"eye_lower_{sfx}", lo, -beta[central & (beta < 0)], "lower lid")
        rim = band & (np.abs(beta) < 0.45) & (dist < r + 0.0025)
        ids_rim = skin[rim]
        medial = sign * (v[ids_rim, 0] - centre[0])
        pick(f"eye_inner_{sfx}", ids_rim, medial, "inner eye corner")
        pick(f"eye_outer_{sfx}", ids_rim, -medial, "outer eye corner")
        for name, dx in (("brow_inner", -1.25), ("brow_outer", 1.4)):
            target_x = centre[0] + sign * dx * r
            near = skin[(np.abs(v[skin, 0] - target_x) < 0.4 * r)
                        & (np.abs(v[skin, 2] - centre[2] - 1.8 * r) < 0.4 * r)
                        & (v[skin, 1] < centre[1])]
            pick(f"{name}_{sfx}", near, v[near, 1], name.replace("_", " "))
        # jaw pivot: the side of the head ~9.5 cm behind the nose tip, ~3.5 cm below the eyes
        near = skin[(np.abs(v[skin, 1] - nose[1] - 0.095) < 0.012)
                    & (np.abs(v[skin, 2] - centre[2] + 0.035) < 0.012)
                    & (sign * (v[skin, 0] - x0) > 0)]
        pick(f"jaw_pivot_{sfx}", near, -sign * v[near, 0], "jaw pivot")
    return radius


def _mouth(v, faces, skin, mid, x0, nose, radius, pick: _Picker) -> None:
    """Mouth corners, inner and outer lip points and the chin."""
    if pick.has_all(MOUTH_PARTS):
        return
    lm = pick.lm
    # mouth: the boundary loop below the nose, in front, centred on the midline
    loops = [np.array(lp) for lp in boundary_loops(faces) if len(lp) >= 6]
    mouth = [lp for lp in loops
             if v[lp, 2].mean() < nose[2] and abs(v[lp, 0].mean() - x0) < 0.01
             and v[lp, 2].mean() > nose[2] - 6 * radius and v[lp, 1].mean() < nose[1] + 0.06
             and np.ptp(v[lp, 0]) < 8 * radius]
    if not mouth:
        mouth = _slit(v, skin, nose, x0, radius)
    if not mouth:
        raise TopologyError("could not find the mouth opening (a hole or a closed slit between "
                            "the lips)")
    loop = max(mouth, key=lambda lp: v[lp, 2].mean())
    pick("mouth_corner_L", loop, -v[loop, 0], "mouth corner")
    pick("mouth_corner_R", loop, v[loop, 0], "mouth corner")
    half = 0.5 * np.ptp(v[loop, 0])
    centre_ids = loop[np.abs(v[loop, 0] - x0) < 0.3 * half]
    hole_up = int(centre_ids[np.argmax(v[centre_ids, 2])])
    hole_lo = int(centre_ids[np.argmin(v[centre_ids, 2])])
    if np.allclose(v[hole_up], v[hole_lo]):  # a closed slit: the upper twin is nearer the nose
        twins = centre_ids[np.all(np.abs(v[centre_ids] - v[hole_up]) < 1e-6, axis=1)]
        to_nose = geodesic_distances(v, faces, [lm["nose_tip"]], 1.0)[twins]
        hole_up, hole_lo = int(twins[np.argmin(to_nose)]), int(twins[np.argmax(to_nose)])
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
        pick("upper_lip_inner", ups, v[ups, 2], "upper lip")
        pick("lower_lip_inner", los, -v[los, 2], "lower lip")
    else:
        for name, index in (("upper_lip_inner", hole_up), ("lower_lip_inner", hole_lo)):
            if name not in pick.known:
                lm[name] = index
    z_up, z_lo = v[lm["upper_lip_inner"], 2], v[lm["lower_lip_inner"], 2]
    sel = mid[(v[mid, 2] > z_up - 0.001) & (v[mid, 2] < z_up + 0.3 * (nose[2] - z_up))]
    pick("upper_lip_outer", sel, v[sel, 1], "upper lip")
    sel = mid[(v[mid, 2] < z_lo + 0.001) & (v[mid, 2] > z_lo - 1.5 * radius)]
    z_ll = v[pick("lower_lip_outer", sel, v[sel, 1], "lower lip"), 2]
    sel = mid[(v[mid, 2] < z_ll - 1.0 * radius) & (v[mid, 2] > z_ll - 4.0 * radius)]
    pick("chin", sel, v[sel, 1], "chin")


def _slit(v: np.ndarray, skin: np.ndarray, nose: np.ndarray, x0: float, radius: float):
    """A closed mouth slit: coincident vertex pairs (upper and lower lip) below the nose."""
    cand = skin[(v[skin, 2] < nose[2]) & (v[skin, 2] > nose[2] - 6 * radius)
                & (np.abs(v[skin, 0] - x0) < 5 * radius) & (v[skin, 1] < nose[1] + 0.04)]
    keys = np.round(v[cand] * 1e6).astype(np.int64)
    _, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    twins = cand[counts[inverse.ravel()] > 1]
    return [twins] if len(twins) >= 4 else []
