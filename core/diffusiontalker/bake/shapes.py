"""Bake per-frame vertex offsets into forms Blender plays well (bpy-free maths).

* :func:`compact_basis`: a truncated SVD (via the frames' Gram matrix; PCA without centring, so zero motion stays at rest)
  turns ``(T, V, 3)`` offsets into a few basis shapes ``(K, V, 3)`` and one weight curve each
  ``(T, K)``; weights are scaled to ``[-1, 1]`` so they fit shape-key slider ranges.
* :func:`write_pc2` / :func:`read_pc2`: the PC2 point cache read by Blender's Mesh Cache
  modifier (little-endian: ``b"POINTCACHE2\\0"``, int32 version 1, int32 points, float32
  start, float32 sample rate, int32 samples, then float32 xyz per point per sample).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MotionError

PC2_MAGIC = b"POINTCACHE2\0"
_PC2_HEADER = struct.Struct("<12siiffi")


@dataclass
class BasisBake:
    """Offsets ≈ ``weights @ bases``: ``bases`` ``(K, V, 3)``, ``weights`` ``(T, K)``."""

    bases: np.ndarray
    weights: np.ndarray

    def reconstruct(self) -> np.ndarray:
        """The ``(T, V, 3)`` offsets this bake plays back."""
        k, v, _ = self.bases.shape
        flat = self.weights @ self.bases.reshape(k, v * 3)
        return flat.reshape(self.weights.shape[0], v, 3).astype(np.float32)


def compact_basis(offsets: np.ndarray, max_shapes: int = 64, energy: float = 0.99999) -> BasisBake:
    """Decompose ``(T, V, 3)`` offsets into at most ``max_shapes`` basis shapes.

    Keeps the fewest singular vectors whose squared singular values reach ``energy`` of the
    total; all-zero motion gives one zero shape with zero weights.
    """
    offsets = np.asarray(offsets, np.float32)
    if offsets.ndim != 3 or offsets.shape[-1] != 3:
        raise MotionError(f"offsets must be (T, V, 3) vertex motion, got an array of shape "
                          f"{offsets.shape}; channel motion needs its shapes first "
                          "(offsets_from_channels)")
    t, v, _ = offsets.shape
    flat = offsets.reshape(t, v * 3).astype(np.float64)
    # The eigenvectors of the small T x T Gram matrix are the left singular vectors of the
    # offsets: much cheaper than a full SVD when frames are fewer than coordinates.
    if t <= 3 * v:
        power, u = np.linalg.eigh(flat @ flat.T)
        power, u = np.clip(power[::-1], 0.0, None), u[:, ::-1]
    else:  # more frames than coordinates (a long clip on a tiny mesh)
        u, sv, _ = np.linalg.svd(flat, full_matrices=False)
        power = sv**2
    total = float(power.sum())
    if total <= 1e-30:
        return BasisBake(np.zeros((1, v, 3), np.float32), np.zeros((t, 1), np.float32))
    k = int(np.searchsorted(np.cumsum(power) / total, energy) + 1)
    k = max(1, min(k, max_shapes, int(np.count_nonzero(power > total * 1e-14))))
    weights = flat @ (flat.T @ u[:, :k]) / np.sqrt(power[:k])  # U_k S_k, projected again
    bases = (u[:, :k].T @ flat) / np.sqrt(power[:k])[:, None]  # V_k^T
    scale = np.abs(weights).max(axis=0)
    scale[scale == 0] = 1.0
    weights = weights / scale
    bases = bases * scale[:, None]
    return BasisBake(bases.reshape(k, v, 3).astype(np.float32), weights.astype(np.float32))


def offsets_from_channels(weights: np.ndarray, channel_shapes: np.ndarray) -> np.ndarray:
    """Per-frame offsets ``(T, V, 3)`` of channel weights ``(T, K)`` on shapes ``(K, V, 3)``."""
    return np.einsum("tk,kvc->tvc", np.asarray(weights, np.float32),
                     np.asarray(channel_shapes, np.float32)).astype(np.float32)


def write_pc2(path: str | Path, positions: np.ndarray, start: float = 0.0, rate: float = 1.0) -> None:
    """Write ``(T, V, 3)`` absolute positions as a PC2 point cache."""
    positions = np.ascontiguousarray(positions, dtype="<f4")
    if positions.ndim != 3 or positions.shape[-1] != 3:
        raise MotionError(f"a point cache needs (T, V, 3) vertex positions, got an array of "
                          f"shape {positions.shape}")
    samples, points, _ = positions.shape
    with open(path, "wb") as f:
        f.write(_PC2_HEADER.pack(PC2_MAGIC, 1, points, float(start), float(rate), samples))
        f.write(positions.tobytes())


def read_pc2(path: str | Path) -> tuple[np.ndarray, float, float]:
    """Read a PC2 file: ``(positions (T, V, 3), start, rate)``."""
    raw = Path(path).read_bytes()
    if len(raw) < _PC2_HEADER.size:
        raise MotionError(f"{path} is not a PC2 point cache (only {len(raw)} bytes)")
    magic, version, points, start, rate, samples = _PC2_HEADER.unpack_from(raw)
    if magic != PC2_MAGIC or version != 1:
        raise MotionError(f"{path} is not a PC2 point cache (version 1, starting with "
                          f"{PC2_MAGIC!r}); choose a .pc2 file written by Blender or this add-on")
    needed = _PC2_HEADER.size + 4 * max(0, samples) * max(0, points) * 3
    if samples < 0 or points < 0 or len(raw) < needed:
        raise MotionError(f"{path} is a truncated PC2 point cache ({len(raw)} of {needed} bytes); "
                          "write it again")
    data = np.frombuffer(raw, dtype="<f4", offset=_PC2_HEADER.size, count=samples * points * 3)
    return data.reshape(samples, points, 3).copy(), float(start), float(rate)
