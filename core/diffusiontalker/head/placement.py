"""The rig for a mesh as it is placed in a scene: any rotation, mirror or scale, any parent.

A head is seen as it appears (its vertices through the object's matrix: rotation, negative or
non-uniform scale, parents), brought into the face frame (:mod:`.face_frame`), detected and
rigged there, and the offsets are mapped back into the mesh's own coordinates, where shape
keys live. So the shapes built on a transformed object equal the shapes built on the same
mesh with its transform applied, mapped into the mesh's frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..channels import CHANNELS
from ..errors import TopologyError
from .face_frame import FaceFrame, find_face_frame, frame_from_landmarks
from .geometry import components, triangulate
from .landmarks import LANDMARK_NAMES, check_known, find_landmarks, swap_sides
from .rig import Rig, build_rig


@dataclass
class PlacedRig:
    """A rig whose bases are offsets in the mesh's own coordinates, with what it was built
    from: the landmarks (vertex indices) and the face frame of the placed head."""

    rig: Rig
    landmarks: dict[str, int]
    frame: FaceFrame


def placed_vertices(vertices: np.ndarray, matrix: np.ndarray | None) -> np.ndarray:
    """The mesh's vertices ``(V, 3)`` as placed by a 4x4 ``matrix`` (None: as they are)."""
    v = np.asarray(vertices, dtype=np.float64)
    if matrix is None:
        return v
    m = np.asarray(matrix, dtype=np.float64)
    return v @ m[:3, :3].T + m[:3, 3]


def outward_faces(vertices: np.ndarray, faces: Sequence[Sequence[int]]) -> list[list[int]]:
    """``faces`` wound so that the largest part's normals point outward (its signed volume is
    positive): a mirrored placement, or a mesh with flipped normals, is turned back."""
    tris = triangulate(faces)
    main = np.zeros(len(vertices), bool)
    main[components(len(vertices), faces)[0]] = True
    tris = tris[main[tris[:, 0]]]
    v = np.asarray(vertices, dtype=np.float64)
    v = v - v[main].mean(0)
    volume = np.einsum("ij,ij->i", v[tris[:, 0]], np.cross(v[tris[:, 1]], v[tris[:, 2]])).sum()
    if volume < 0:
        return [list(f)[::-1] for f in faces]
    return [list(f) for f in faces]


def locate(
    vertices: np.ndarray, faces: Sequence[Sequence[int]], known: dict[str, int] | None = None
) -> tuple[dict[str, int], FaceFrame]:
    """Every landmark (``known`` kept) and the face frame of a head in any orientation."""
    v = np.asarray(vertices, dtype=np.float64)
    known = check_known(known, len(v))
    frame = frame_from_landmarks(v, known)
    if frame is not None and frame.sides_swapped:  # set before the head was mirrored
        known = swap_sides(known)
    if frame is None:
        frame = find_face_frame(v, faces, known)
    if all(n in known for n in LANDMARK_NAMES):
        return known, frame
    return find_landmarks(v, faces, known, frame=frame), frame


def build_placed_rig(
    vertices: np.ndarray,
    faces: Sequence[Sequence[int]],
    landmarks: dict[str, int] | None = None,
    matrix: np.ndarray | None = None,
    channels: Sequence[str] = CHANNELS,
) -> PlacedRig:
    """Build the rig for a mesh placed by ``matrix`` (4x4, mesh -> scene, e.g. an object's
    world matrix); the bases come back in the mesh's own coordinates.

    ``landmarks``: those you know (found ones fill the gaps). The head is rigged as it is
    seen: in the placed coordinates, rotated into its face frame.
    """
    m = np.eye(4) if matrix is None else np.asarray(matrix, dtype=np.float64)
    linear = m[:3, :3]
    if abs(np.linalg.det(linear)) < 1e-12 * max(1.0, np.abs(linear).max()) ** 3:
        raise TopologyError("the head's transform flattens it (a scale of 0 on an axis); "
                            "give the object a non-zero scale")
    # rounded as a mesh stores them (float32): the same mesh with its transform applied
    # then gives the same numbers, not a rounding apart (the rig's steep fields amplify it)
    placed = placed_vertices(vertices, m).astype(np.float32).astype(np.float64)
    oriented = outward_faces(placed, faces)
    found, frame = locate(placed, oriented, landmarks)
    rig = build_rig(frame.to_canonical(placed), oriented, found, channels)
    bases = frame.vectors_from_canonical(rig.bases.astype(np.float64))
    bases = bases @ np.linalg.inv(linear).T
    return PlacedRig(Rig(rig.channels, bases.astype(np.float32)), found, frame)
