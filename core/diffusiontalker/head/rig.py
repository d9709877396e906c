"""Landmark rig: one vertex-offset basis per articulation channel, on any head mesh.

A frame's offsets are the weighted sum of the bases (a linear blendshape model, as ARKit-style
rigs are): ``offsets[t] = sum_k weights[t, k] * bases[k]``. Each basis is built from a few
landmarks (see :mod:`.landmarks`) in a face-local frame, with compact smooth falloffs, so the
back of the skull gets exactly zero offset. Upper and lower lips are told apart by geodesic
distance along the surface (paths go around the mouth opening), which keeps the lips apart
on meshes whose lips touch in the neutral pose. The jaw (:mod:`.rig_jaw`) is a hinge about
the jaw pivots weighted by an anatomical mandible field with an oval lip opening; the lids
(:mod:`.rig_eyes`) close along the eye opening's own margins.

``mouthClose`` follows ARKit's meaning: lip closure *relative to the jaw*; it is meant to be
used with ``mouthClose <= jawOpen`` (at equal weights the lips meet, never cross). On its own
with the jaw at rest it pushes the lips into each other, like ARKit's shape. Beyond the
model's ``CHANNELS`` the rig builds ``jawForward``, ``jawLeft`` and ``jawRight`` on request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..channels import CHANNELS
from ..errors import TopologyError
from . import rig_fields as rf
from . import rig_jaw


@dataclass
class Rig:
    """Per-channel vertex-offset bases ``(K, V, 3)`` with their channel names."""

    channels: tuple[str, ...]
    bases: np.ndarray

    def __post_init__(self) -> None:
        self.channels = tuple(self.channels)
        self.bases = np.asarray(self.bases, dtype=np.float32)
        if self.bases.ndim != 3 or self.bases.shape[0] != len(self.channels):
            raise TopologyError(
                f"rig bases must be (K, V, 3) with K = {len(self.channels)} channels, "
                f"got {self.bases.shape}"
            )

    @property
    def num_vertices(self) -> int:
        return int(self.bases.shape[1])

    def basis(self, channel: str) -> np.ndarray:
        """The ``(V, 3)`` offsets of one channel at full weight."""
        if channel not in self.channels:
            raise TopologyError(f"the rig has no channel {channel!r}")
        return self.bases[self.channels.index(channel)]

    def apply(self, weights: np.ndarray) -> np.ndarray:
        """Offsets ``(T, V, 3)`` for channel weights ``(T, K)`` (or ``(K,)`` for one frame)."""
        w = np.asarray(weights, dtype=np.float32)
        single = w.ndim == 1
        w = w[None] if single else w
        if w.ndim != 2 or w.shape[1] != len(self.channels):
            raise TopologyError(
                f"weights must be (T, {len(self.channels)}) for this rig, got {np.shape(weights)}"
            )
        out = np.einsum("tk,kvc->tvc", w, self.bases)
        return out[0] if single else out

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays (for ``np.savez`` or safetensors)."""
        return {"channels": np.array(self.channels), "bases": self.bases}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Rig:
        return cls(tuple(str(c) for c in arrays["channels"]), arrays["bases"])


def build_rig(
    vertices: np.ndarray,
    faces: Sequence[Sequence[int]],
    landmarks: dict[str, int],
    channels: Sequence[str] = CHANNELS,
) -> Rig:
    """Build one offset basis per channel from landmarks (vertex indices) on any head.

    ``vertices`` are in Blender's convention (metres, z up, face toward -Y); see
    :func:`.geometry.flame_to_blender` for FLAME files. Unknown channel names are an error.
    """
    v = np.asarray(vertices, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 3 or len(v) < 10:
        raise TopologyError(f"vertices must be (V, 3) with V >= 10, got {np.shape(vertices)}")
    unknown = [c for c in channels if c not in rf.BUILDERS]
    if unknown:
        raise TopologyError(f"the rig cannot build channels {unknown}; known: {sorted(rf.BUILDERS)}")
    fields = rf.FaceFields(v, faces, landmarks)
    bases = np.stack([rf.BUILDERS[c](fields) for c in channels]).astype(np.float32)
    return Rig(tuple(channels), bases)


def build_part_rig(
    vertices: np.ndarray,
    faces: Sequence[Sequence[int]],
    landmarks: dict[str, int],
    part: np.ndarray,
    channels: Sequence[str] = CHANNELS,
) -> Rig:
    """Bases for a part kept in a mesh of its own (a character's teeth or tongue object),
    ``part (P, 3)`` in the head's coordinates: inside the mouth below the lip line it follows
    the jaw channels (jawOpen, jawForward, jawLeft, jawRight) rigidly, as the head's own lower
    teeth do; upper teeth, eyes and anything else get zero bases."""
    v = np.asarray(vertices, dtype=np.float64)
    unknown = [c for c in channels if c not in rf.BUILDERS]
    if unknown:
        raise TopologyError(f"the rig cannot build channels {unknown}; known: {sorted(rf.BUILDERS)}")
    jaw = rig_jaw.jaw_of(rf.FaceFields(v, faces, landmarks))
    points = np.asarray(part, dtype=np.float64).reshape(-1, 3)
    return Rig(tuple(channels), rig_jaw.part_bases(jaw, points, tuple(channels)).astype(np.float32))
