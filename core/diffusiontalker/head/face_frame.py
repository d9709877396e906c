"""The face frame: which way a head is up and where it looks, found from its geometry.

Landmark detection (:mod:`.landmarks`) and the rig reason in Blender's convention (metres,
z up, the face toward -Y, +X the subject's left). Heads arrive any way round: a FLAME PLY
imported face-up, a Y-up import with a 90° object rotation, a head turned by hand, mirrored
or scaled. :func:`find_face_frame` finds the rotation (and, for heads far from human size, a
scale) that brings a head into that convention; detection runs there and its vertex indices
hold in any frame, and offsets map back with :meth:`FaceFrame.vectors_from_canonical`.

How the frame is found:

1. **Landmarks**, when ``eye_L``, ``eye_R``, ``upper_lip_inner`` and ``lower_lip_inner`` are
   known: lateral from the eyes, up from the mouth to the eyes.
2. Otherwise the **symmetry plane** of the largest part (mirror ICP started from each
   principal axis; the best fit wins) gives the lateral axis. The **eyes** are the largest
   pair of mirror-image separate parts (eyeballs) or of mirror-image holes in the skin; the
   **mouth** is a hole in the skin on the plane (FLAME) or a closed slit of coincident
   vertices (the demo head) about one eye distance from the eyes. Up is the eyes-minus-mouth
   direction turned by the angle it makes on the reference heads (:data:`TILT`); forward is
   the side of the head the eyes and the mouth are on.
3. A frame within :data:`SNAP_DEGREES` of the axes is snapped onto them (imports are
   axis-aligned), so a head upright in Blender is read exactly as placed.

When neither works the error says what was tried and asks for landmarks.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import TopologyError
from .geometry import boundary_loops, components

# Angle (degrees) of (eyes - mouth) from "up" toward "forward" on the reference heads (FLAME,
# demo head): negative leans back. Keyed by (what the eyes are, what the mouth is).
TILT = {
    ("eyeballs", "hole"): -10.1,  # FLAME: eyeball centres, the mouth opening's rim centre
    ("eyeballs", "slit"): -23.9,  # demo head: eyeball centres, the closed slit's centre
    ("eye holes", "slit"): -19.0,  # demo head without its eyeballs: eye openings, slit
    ("eye holes", "hole"): -5.2,  # derived from the three above
    ("eyeballs", "lips"): -25.2,  # eyeball centres, mid of the inner lip points (both heads)
    ("eye landmarks", "lips"): -17.5,  # front of the eyes (eye_L/R), inner lips (both +-2)
}
REFERENCE_EYE_DISTANCE = 0.0625  # metres between the eyes of the reference heads
SNAP_DEGREES = 10.0
MAX_ASYMMETRY = 0.025  # of the width: a mirrored point this far from the surface is no head
# (FLAME: 0.6 %, the demo head: 0)
FRAME_LANDMARKS = ("eye_L", "eye_R", "upper_lip_inner", "lower_lip_inner")


@dataclass(frozen=True)
class FaceFrame:
    """A rotation (+ scale) from a mesh's coordinates into the canonical frame.

    ``axes`` rows are the canonical x (subject's left), y (back of the head) and z (up) in the
    input's coordinates; canonical = ``scale * (p - origin) @ axes.T``.
    """

    axes: np.ndarray
    origin: np.ndarray = field(default_factory=lambda: np.zeros(3))
    scale: float = 1.0
    how: str = "as placed"
    cues: tuple = ()  # (eyes kind, mouth kind, eye centres (2, 3) or None)
    sides_swapped: bool = False  # the known landmarks' _L is on the subject's right (mirrored)

    @classmethod
    def identity(cls, how: str = "as placed") -> FaceFrame:
        return cls(np.eye(3), np.zeros(3), 1.0, how)

    def to_canonical(self, points: np.ndarray) -> np.ndarray:
        """Points ``(..., 3)`` of the mesh -> canonical coordinates."""
        p = np.asarray(points, dtype=np.float64)
        return self.scale * (p - self.origin) @ self.axes.T

    def vectors_from_canonical(self, vectors: np.ndarray) -> np.ndarray:
        """Offsets ``(..., 3)`` in the canonical frame -> offsets in the mesh's coordinates."""
        return (np.asarray(vectors, dtype=np.float64) @ self.axes) / self.scale

    def angle_to(self, other: FaceFrame) -> float:
        """Degrees of rotation between two frames."""
        cos = (np.trace(self.axes @ other.axes.T) - 1.0) / 2.0
        return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def _unit(x: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(x))
    if n < 1e-12:
        raise TopologyError("degenerate face frame (two features at the same place)")
    return x / n


def _nearest(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index into ``b`` of the nearest point to each of ``a``, and the distances."""
    bb = (b * b).sum(1)
    idx = np.empty(len(a), np.int64)
    dist = np.empty(len(a))
    for s in range(0, len(a), 512):
        chunk = a[s:s + 512]
        d2 = (chunk * chunk).sum(1)[:, None] + bb[None] - 2.0 * chunk @ b.T
        idx[s:s + 512] = np.argmin(d2, axis=1)
        dist[s:s + 512] = np.sqrt(np.maximum(d2[np.arange(len(chunk)), idx[s:s + 512]], 0.0))
    return idx, dist


def _mirror_icp(p: np.ndarray, dense: np.ndarray, n: np.ndarray, c: np.ndarray, steps: int):
    """Refine a mirror plane ``(n, c)``: points ``p`` mirrored, paired with their nearest of
    ``dense``; returns the plane and the median distance of a mirrored point to its pair."""
    for _ in range(steps):
        mirrored = p - 2.0 * ((p - c) @ n)[:, None] * n
        idx, dist = _nearest(mirrored, dense)
        keep = dist <= 3.0 * np.median(dist) + 1e-12
        d = (p - dense[idx])[keep]
        d *= np.where(d @ n < 0, -1.0, 1.0)[:, None]
        _, dirs = np.linalg.eigh(d.T @ d)
        new = dirs[:, -1] if dirs[:, -1] @ n >= 0 else -dirs[:, -1]
        c = (0.5 * (p + dense[idx]))[keep].mean(0)
        moved, n = 1.0 - abs(float(new @ n)), new
        if moved < 1e-10:
            break
    mirrored = p - 2.0 * ((p - c) @ n)[:, None] * n
    return n, c, float(np.median(_nearest(mirrored, dense)[1]))


def symmetry_plane(points: np.ndarray, samples: int = 600) -> tuple[np.ndarray, np.ndarray, float]:
    """Mirror plane of a point set: ``(unit normal, point on it, median residual)``.

    Mirror ICP from each principal axis on a few points (reflect, pair each point with its
    nearest point, refit the plane to the pairs); the start with the smallest residual is
    refined on more points; pairs are sought among up to ``8 * samples`` points. The residual is in the points' units (how far a mirrored point
    lies from the nearest point).
    """
    p = np.asarray(points, dtype=np.float64)
    dense = p[np.linspace(0, len(p) - 1, min(8 * samples, len(p))).astype(np.int64)]
    fine = dense[np.linspace(0, len(dense) - 1, min(samples, len(dense))).astype(np.int64)]
    coarse = fine[::3]
    centre = dense.mean(0)
    _, vecs = np.linalg.eigh(np.cov((dense - centre).T))
    starts = [_mirror_icp(coarse, dense, axis.copy(), centre, 4) for axis in vecs.T]
    n, c, _ = min(starts, key=lambda s: s[2])
    return _mirror_icp(fine, dense, n, c, 10)


def _frame(lateral: np.ndarray, eyes: np.ndarray, mouth: np.ndarray, tilt: float,
           front: np.ndarray | None) -> np.ndarray:
    """Canonical axes from a lateral direction (either sign unless ``front`` is None), the
    eyes' and the mouth's centres and the tilt of eyes - mouth. ``front``: a point behind the
    face (the head's centre) fixes which side is forward; without it ``lateral`` is the
    subject's left."""
    n = _unit(lateral)
    u0 = eyes - mouth
    u0 = _unit(u0 - n * (u0 @ n))
    f0 = np.cross(n, u0)
    if front is not None and ((eyes + mouth) / 2 - front) @ f0 < 0:
        f0 = -f0
    a = np.radians(tilt)
    up = np.cos(a) * u0 - np.sin(a) * f0
    fwd = np.sin(a) * u0 + np.cos(a) * f0
    return np.stack([np.cross(up, fwd), -fwd, up])


def _scale(eye_distance: float) -> float:
    """1 for human-sized heads (so they are read exactly as placed), else to human size."""
    ratio = eye_distance / REFERENCE_EYE_DISTANCE
    return 1.0 if 0.5 < ratio < 2.0 else 1.0 / ratio


_ROTATIONS = [np.diag(s)[list(p)] for p in itertools.permutations(range(3))
              for s in itertools.product((1.0, -1.0), repeat=3)]
_ROTATIONS = [r for r in _ROTATIONS if np.linalg.det(r) > 0]


def snap(axes: np.ndarray, degrees: float = SNAP_DEGREES) -> np.ndarray:
    """The axis-aligned rotation nearest ``axes`` when within ``degrees``, else ``axes``."""
    best = max(_ROTATIONS, key=lambda r: np.trace(r @ axes.T))
    cos = (np.trace(best @ axes.T) - 1.0) / 2.0
    return best if np.degrees(np.arccos(np.clip(cos, -1, 1))) < degrees else axes


def frame_from_landmarks(vertices: np.ndarray, landmarks: dict[str, int]) -> FaceFrame | None:
    """The frame from known ``eye_L``, ``eye_R``, ``upper_lip_inner``, ``lower_lip_inner``
    (None when one is missing). Forward is the side of the head the eyes and mouth are on; a
    mirrored head (negative scale) whose ``_L`` landmarks lie on the subject's right is
    flagged ``sides_swapped``."""
    if not all(n in landmarks for n in FRAME_LANDMARKS):
        return None
    v = np.asarray(vertices, dtype=np.float64)
    p = {n: v[int(landmarks[n])] for n in FRAME_LANDMARKS}
    eyes = (p["eye_L"] + p["eye_R"]) / 2
    mouth = (p["upper_lip_inner"] + p["lower_lip_inner"]) / 2
    left = p["eye_L"] - p["eye_R"]
    axes = _frame(left, eyes, mouth, TILT[("eye landmarks", "lips")], v.mean(0))
    scale = _scale(float(np.linalg.norm(left)))
    return FaceFrame(snap(axes), np.zeros(3), scale, "from the landmarks you set",
                     ("eye landmarks", "lips", None), bool(axes[0] @ left < 0))


def _parts(v: np.ndarray, ids_list) -> list[tuple[np.ndarray, float, int]]:
    out = []
    for ids in ids_list:
        centre = v[ids].mean(0)
        out.append((centre, float(np.median(np.linalg.norm(v[ids] - centre, axis=1))), len(ids)))
    return out


def _mirror_pairs(parts, n, c, width) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Pairs of parts mirrored across the plane: ``(centre a, centre b, radius)``, largest
    radius first."""
    pairs = []
    for (ca, ra, _), (cb, rb, _) in itertools.combinations(parts, 2):
        da, db = (ca - c) @ n, (cb - c) @ n
        if da * db >= 0 or not 0.15 * width < abs(da - db) < 0.6 * width:
            continue
        if not (0.005 * width < min(ra, rb) and max(ra, rb) < 0.15 * width):
            continue
        mirrored = ca - 2.0 * da * n
        if np.linalg.norm(mirrored - cb) < 0.3 * min(ra, rb) and abs(ra - rb) < 0.25 * ra:
            pairs.append((ca, cb, 0.5 * (ra + rb)))
    return sorted(pairs, key=lambda p: -p[2])


def _mouths(v, skin, loops, n, c, eyes, eye_distance) -> list[tuple[str, np.ndarray]]:
    """Mouth candidates about one eye distance from the eyes, on the plane."""
    found = []
    for loop in loops:
        centre = v[loop].mean(0)
        if (abs((centre - c) @ n) < 0.1 * eye_distance
                and 0.6 < np.linalg.norm(centre - eyes) / eye_distance < 1.8
                and np.linalg.norm(v[loop] - centre, axis=1).max() < eye_distance):
            found.append(("hole", centre))
    near = skin[(np.abs((v[skin] - c) @ n) < 0.6 * eye_distance)
                & (np.linalg.norm(v[skin] - eyes, axis=1) < 1.8 * eye_distance)]
    keys = np.round(v[near] / (1e-5 * eye_distance)).astype(np.int64)
    if len(keys):
        _, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
        twins = near[counts[inverse.ravel()] > 1]
        if len(twins) >= 4:
            centre = v[twins].mean(0)
            if 0.5 < np.linalg.norm(centre - eyes) / eye_distance < 1.8:
                found.append(("slit", centre))
    return sorted(found, key=lambda m: abs(np.linalg.norm(m[1] - eyes) / eye_distance - 1.0))


def find_face_frame(
    vertices: np.ndarray, faces: Sequence[Sequence[int]], landmarks: dict[str, int] | None = None
) -> FaceFrame:
    """The face frame of a head in any orientation (see the module's description).

    Raises :class:`TopologyError` saying what was tried when the face cannot be found.
    """
    v = np.asarray(vertices, dtype=np.float64)
    known = frame_from_landmarks(v, landmarks or {})
    if known is not None:
        return known
    comps = components(len(v), faces)
    skin = comps[0]
    if len(skin) < 20 or float(np.ptp(v[skin], axis=0).min()) <= 0.0:
        raise _not_found([f"its largest part ({len(skin)} vertices) is too small or flat "
                          "to be a head"])
    n, c, residual = symmetry_plane(v[skin])
    width = float(np.ptp((v[skin] - c) @ n))
    tried = [f"the symmetry plane (a mirrored point lies {residual / width:.1%} of the head's "
             "width from the surface)"]
    if residual > MAX_ASYMMETRY * width:
        tried[-1] = "a symmetry plane (none fits: the mesh is not mirror-symmetric)"
        raise _not_found(tried)
    in_skin = set(skin.tolist())
    loops = [np.asarray(lp) for lp in boundary_loops(faces) if len(lp) >= 4 and lp[0] in in_skin]
    small = [ids for ids in comps[1:201] if len(ids) >= 8]
    eye_sets = [("eyeballs", _mirror_pairs(_parts(v, small), n, c, width)),
                ("eye holes", _mirror_pairs(_parts(v, loops), n, c, width))]
    centre = v[skin].mean(0)
    saw_eyes = False
    for kind, pairs in eye_sets:
        for a, b, _ in pairs[:4]:
            saw_eyes = True
            eyes, eye_distance = (a + b) / 2, float(np.linalg.norm(a - b))
            for mouth_kind, mouth in _mouths(v, skin, loops, n, c, eyes, eye_distance):
                axes = _frame(n, eyes, mouth, TILT[(kind, mouth_kind)], centre)
                ball_centres = np.stack([a, b]) if kind == "eyeballs" else None
                how = (f"from its symmetry plane, {kind} and the mouth ({mouth_kind}) "
                       f"(an eye distance of {eye_distance:.3g})")
                return FaceFrame(snap(axes), np.zeros(3), _scale(eye_distance), how,
                                 (kind, mouth_kind, ball_centres))
    tried.append("eyes: " + ("found, but no mouth (a hole or a closed slit on the symmetry "
                             "plane about one eye distance away)" if saw_eyes else
                             "no pair of mirror-image eyeballs (separate parts) or eye holes"))
    if abs(n[0]) > np.cos(np.radians(20)):  # the mirror plane is x = const: maybe upright
        return FaceFrame.identity("as placed (z up, the face toward -Y): " + "; ".join(tried))
    raise _not_found(tried)


def _not_found(tried: list[str]) -> TopologyError:
    return TopologyError("could not find which way the face looks on this mesh (tried "
                         + "; ".join(tried) + "); set the landmarks yourself: eye_L, eye_R, "
                         "upper_lip_inner and lower_lip_inner orient the face")


def refined_frame(frame: FaceFrame, vertices: np.ndarray, landmarks: dict[str, int]) -> FaceFrame:
    """The frame again from landmarks found in ``frame``: eyeball centres (or the eye
    landmarks) and the inner lip points, whose tilt is the same on every reference head."""
    v = np.asarray(vertices, dtype=np.float64)
    kind, _, balls = frame.cues if frame.cues else (None, None, None)
    mouth = (v[landmarks["upper_lip_inner"]] + v[landmarks["lower_lip_inner"]]) / 2
    left = v[landmarks["eye_L"]] - v[landmarks["eye_R"]]
    if kind == "eyeballs" and balls is not None:
        eyes, tilt = balls.mean(0), TILT[("eyeballs", "lips")]
    else:
        eyes = (v[landmarks["eye_L"]] + v[landmarks["eye_R"]]) / 2
        tilt = TILT[("eye landmarks", "lips")]
    lateral = frame.axes[0] if left @ frame.axes[0] > 0 else -frame.axes[0]
    axes = snap(_frame(lateral, eyes, mouth, tilt, None))
    return FaceFrame(axes, frame.origin, frame.scale, frame.how + ", refined from its landmarks",
                     frame.cues)
