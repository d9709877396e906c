"""Bake per-frame vertex offsets into forms Blender plays well (bpy-free maths).

* :func:`compact_basis`: a truncated SVD (PCA without centring, so zero motion stays at rest)
  turns ``(T, V, 3)`` offsets into a few basis shapes ``(K, V, 3)`` and one weight curve each
  ``(T, K)``; weights are scaled to ``[-1, 1]`` so they fit shape-key slider ranges. It is the
  randomised SVD of Halko, Martinsson & Tropp (2011, "Finding structure with randomness",
  algorithms 4.4 and 5.1) run over blocks of frames in float32: a handful of passes over the
  offsets, never a ``T x T`` or ``3V x 3V`` matrix nor a float64 copy of the motion, so its
  extra memory stays near ``(T + 3V) x (K + 10)`` numbers however long the take.
* :func:`offsets_from_channels`: channel weights on channel shapes, one matrix product.
* :func:`write_pc2` / :func:`read_pc2`: the PC2 point cache read by Blender's Mesh Cache
  modifier (little-endian: ``b"POINTCACHE2\\0"``, int32 version 1, int32 points, float32
  start, float32 sample rate, int32 samples, then float32 xyz per point per sample), written
  block by block.
* :func:`per_frame_keys_warning` / :func:`point_cache_warning`: what a long take costs in those
  outputs, for the user, above the lengths measured to hurt.

The bake and the writer refuse non-finite motion (NaN or infinity) with a
:class:`MotionError` (:func:`check_finite` says at which frame) and never return or write a
non-finite number; they work a block of frames at a time (:func:`frame_blocks`).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MotionError, OutputError

PC2_MAGIC = b"POINTCACHE2\0"
_PC2_HEADER = struct.Struct("<12siiffi")
BLOCK_BYTES = 64 * 2**20  # float32 frames handled at once by the blocked passes
OVERSAMPLE = 10  # extra random directions of the range finder (Halko et al. 2011, sec. 4.2)
POWER_ITERATIONS = 2  # subspace iterations (ibid., alg. 4.4): sharpens a slowly decaying spectrum


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


def _vertex_motion(offsets: np.ndarray, what: str) -> np.ndarray:
    offsets = np.asarray(offsets)
    if offsets.ndim != 3 or offsets.shape[-1] != 3:
        raise MotionError(f"{what} needs (T, V, 3) vertex motion, got an array of shape "
                          f"{offsets.shape}; channel motion needs its shapes first "
                          "(offsets_from_channels)")
    return offsets


def frame_blocks(frames: int, values_per_frame: int) -> Iterator[slice]:
    """Consecutive slices of ``frames`` frames, each about :data:`BLOCK_BYTES` of float32."""
    step = max(1, BLOCK_BYTES // max(1, 4 * values_per_frame))
    for start in range(0, frames, step):
        yield slice(start, min(frames, start + step))


def _not_finite(block: np.ndarray, first_frame: int, what: str) -> MotionError:
    bad = ~np.isfinite(block.reshape(block.shape[0], -1)).all(axis=1)
    frame = first_frame + int(np.argmax(bad)) if bad.any() else first_frame
    return MotionError(f"{what} holds NaN or infinite values (first at frame {frame} of the "
                       "take, counting from 0); nothing was written. Generate again (another "
                       "seed); if it persists, check the model, its checkpoint and the head's "
                       "shape keys")


def check_finite(values: np.ndarray, what: str = "the generated motion") -> None:
    """Raise a :class:`MotionError` naming the first frame with a NaN or infinity."""
    values = np.asarray(values)
    if values.size == 0:
        return
    flat = values.reshape(len(values), -1) if values.ndim else values.reshape(1, 1)
    for rows in frame_blocks(flat.shape[0], flat.shape[1]):
        if not np.isfinite(flat[rows]).all():
            raise _not_finite(flat[rows], rows.start, what)


def _orthonormal(columns: np.ndarray) -> np.ndarray:
    """An orthonormal basis (float64) of the span of ``columns`` (a thin QR)."""
    return np.linalg.qr(columns.astype(np.float64))[0]


def _times(flat: np.ndarray, right: np.ndarray) -> np.ndarray:
    """``flat @ right`` block by block: ``(T, n) @ (n, l) -> (T, l)`` float64."""
    right32 = right.astype(np.float32)
    out = np.empty((flat.shape[0], right.shape[1]), np.float64)
    for rows in frame_blocks(*flat.shape):
        out[rows] = np.asarray(flat[rows], np.float32) @ right32
    return out


def _transpose_times(flat: np.ndarray, left: np.ndarray) -> np.ndarray:
    """``flat.T @ left`` block by block: ``(n, T) @ (T, l) -> (n, l)`` float64."""
    out = np.zeros((flat.shape[1], left.shape[1]), np.float64)
    for rows in frame_blocks(*flat.shape):
        out += np.asarray(flat[rows], np.float32).T @ left[rows].astype(np.float32)
    return out


def _energy_and_sketch(flat: np.ndarray, probe: np.ndarray) -> tuple[float, np.ndarray]:
    """``(sum of squares, flat @ probe)`` in one pass, refusing non-finite frames."""
    total = 0.0
    sketch = np.empty((flat.shape[0], probe.shape[1]), np.float64)
    for rows in frame_blocks(*flat.shape):
        block = np.asarray(flat[rows], np.float32)
        energy = float(np.einsum("ij,ij->", block, block, dtype=np.float64))
        if not np.isfinite(energy):
            raise _not_finite(block, rows.start, "the motion to bake into basis shapes")
        total += energy
        sketch[rows] = block @ probe
    return total, sketch


def compact_basis(offsets: np.ndarray, max_shapes: int = 64, energy: float = 0.99999,
                  seed: int = 0) -> BasisBake:
    """Decompose ``(T, V, 3)`` offsets into at most ``max_shapes`` basis shapes.

    Keeps the fewest singular vectors whose squared singular values reach ``energy`` of the
    total (all ``max_shapes`` when they do not); all-zero motion gives one zero shape with
    zero weights. The right singular vectors come from a randomised range finder with
    :data:`POWER_ITERATIONS` subspace iterations (Halko, Martinsson & Tropp 2011, alg. 4.4,
    then the SVD of the small projected matrix, alg. 5.1), the weights from one more
    projection of every frame on them (their least-squares weights). When ``K + 10`` reaches
    the frame or coordinate count the range is captured whole and the SVD is exact. The same
    ``seed`` gives the same bake. Raises :class:`MotionError` on NaN or infinite offsets and
    when the decomposition fails; never returns a non-finite number.
    """
    offsets = _vertex_motion(offsets, "a basis bake")
    if max_shapes < 1:
        raise MotionError(f"a basis bake needs at least one shape, got max_shapes={max_shapes}")
    t, v, _ = offsets.shape
    if t == 0 or v == 0:
        raise MotionError(f"cannot bake empty motion ({t} frames of {v} vertices)")
    flat = offsets.reshape(t, v * 3)  # a view when the offsets are contiguous
    rank = min(max_shapes + OVERSAMPLE, t, v * 3)
    probe = np.random.default_rng(seed).standard_normal((v * 3, rank), dtype=np.float32)
    try:
        total, sketch = _energy_and_sketch(flat, probe)
        if total <= 1e-30:
            return BasisBake(np.zeros((1, v, 3), np.float32), np.zeros((t, 1), np.float32))
        frames_basis = _orthonormal(sketch)  # (T, l): the range of the motion
        for _ in range(POWER_ITERATIONS):
            coords_basis = _orthonormal(_transpose_times(flat, frames_basis))
            frames_basis = _orthonormal(_times(flat, coords_basis))
        # B^T = A^T Q (n, l); B = Q^T A = X S W^T, so the right singular vectors are W
        right, singular, _ = np.linalg.svd(_transpose_times(flat, frames_basis), full_matrices=False)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise MotionError(f"the basis bake of {t} frames x {v} vertices failed numerically "
                          f"({exc}); nothing was written. Choose the point cache output") from exc
    except MemoryError as exc:
        raise MotionError(f"not enough memory for the basis bake of {t} frames x {v} vertices; "
                          "nothing was written. Close other programs or choose the point "
                          "cache output") from exc
    power = singular**2
    if not (np.isfinite(power).all() and np.isfinite(right).all()):
        raise MotionError(f"the basis bake of {t} frames x {v} vertices gave non-finite values; "
                          "nothing was written. Choose the point cache output")
    k = int(np.searchsorted(np.cumsum(power) / total, energy) + 1)
    k = max(1, min(k, max_shapes, int(np.count_nonzero(power > total * 1e-14))))
    bases = right[:, :k].T.astype(np.float32)  # (K, 3V), orthonormal rows
    weights = _times(flat, right[:, :k]).astype(np.float32)
    scale = np.abs(weights).max(axis=0)
    scale[~(scale > 0)] = 1.0
    weights /= scale
    bases *= scale[:, None]
    if not (np.isfinite(weights).all() and np.isfinite(bases).all()):
        raise MotionError(f"the basis bake of {t} frames x {v} vertices gave non-finite values; "
                          "nothing was written. Choose the point cache output")
    return BasisBake(bases.reshape(k, v, 3), weights)


def basis_bake_bytes(frames: int, vertices: int, max_shapes: int = 64) -> int:
    """An upper bound of the memory :func:`compact_basis` needs besides its input (bytes).

    Float64 ``(T, K + 10)`` and ``(3V, K + 10)`` matrices with their QR and SVD work space
    (four of each), and two float32 blocks of frames; measured peaks stay below it (about
    75 MB for 18000 frames of 5023 vertices, the estimate is 220 MB).
    """
    rank = min(max_shapes + OVERSAMPLE, frames, 3 * vertices)
    block = min(BLOCK_BYTES, 4 * frames * 3 * vertices)
    return 8 * rank * 4 * (frames + 3 * vertices) + 2 * block + 12 * frames * rank


# What long takes cost, measured on a 5023-vertex head (FLAME size) with bpy 5.0.1:
# per-frame keys evaluate in 3 ms per frame at 300 frames, 16 ms at 600, 41 ms at 1000,
# 0.11 s at 2000, 1.3 s at 4000 and 21 s at 18000 (the figure): every frame's key and
# curve is looked up at every frame, so the cost grows faster than the length, whatever the
# vertex count; they keep 12 bytes per vertex per frame in the .blend and in memory. A point
# cache evaluates in 0.4 ms per frame at any length; its file holds 12 bytes per vertex per
# frame. 64 basis shapes evaluate in 1-10 ms per frame and take 6.7 MB of .blend for 3000
# frames, 22 MB for 18000.
PER_FRAME_KEYS_WARN_FRAMES = 1000  # from here on a frame takes longer than 24 fps allows
POINT_CACHE_WARN_BYTES = 512 * 2**20  # 8900 frames (5 min at 30 fps) of 5023 vertices


def per_frame_keys_warning(frames: int, vertices: int) -> str | None:
    """What per-frame shape keys cost above :data:`PER_FRAME_KEYS_WARN_FRAMES` frames."""
    if frames <= PER_FRAME_KEYS_WARN_FRAMES:
        return None
    size = 12 * frames * vertices / 2**20
    return (f"{frames} per-frame shape keys: scrubbing slows with every frame of the take "
            f"(measured on a 5023-vertex head: 41 ms to show one frame at 1000 keys, 1.3 s at "
            f"4000, 21 s at 18000) and the .blend grows by {size:.0f} MB. For takes this long "
            "choose Basis Shapes (compact and editable) or a Point Cache")


def point_cache_warning(frames: int, vertices: int) -> str | None:
    """The file size of a point cache above :data:`POINT_CACHE_WARN_BYTES`."""
    size = pc2_bytes(frames, vertices)
    if size <= POINT_CACHE_WARN_BYTES:
        return None
    return (f"the point cache of {frames} frames x {vertices} vertices is {size / 2**20:.0f} MB "
            "on disk (12 bytes per vertex per frame) and must travel with the .blend; Basis "
            "Shapes keep a take in the .blend at a fraction of that (measured with 64 shapes of "
            "5023 vertices: 22 MB for 18000 frames)")


def offsets_from_channels(weights: np.ndarray, channel_shapes: np.ndarray) -> np.ndarray:
    """Per-frame offsets ``(T, V, 3)`` of channel weights ``(T, K)`` on shapes ``(K, V, 3)``.

    One float32 matrix product ``(T, K) @ (K, 3V)``.
    """
    weights = np.asarray(weights, np.float32)
    channel_shapes = _vertex_motion(channel_shapes, "channel shapes")
    if weights.ndim != 2 or weights.shape[1] != channel_shapes.shape[0]:
        raise MotionError(f"channel weights {weights.shape} do not fit {channel_shapes.shape[0]} "
                          "channel shapes: need (T, K) weights for (K, V, 3) shapes")
    k, v, _ = channel_shapes.shape
    flat = weights @ np.asarray(channel_shapes, np.float32).reshape(k, v * 3)
    return flat.reshape(weights.shape[0], v, 3)


def write_pc2(path: str | Path, positions: np.ndarray, start: float = 0.0, rate: float = 1.0,
              rest: np.ndarray | None = None) -> None:
    """Write ``(T, V, 3)`` positions as a PC2 point cache, block by block.

    With ``rest`` ``(V, 3)``, ``positions`` are offsets from it (added a block at a time, so a
    long take never has a second full copy in memory). The file appears complete or not at
    all (written beside, then renamed); non-finite values raise :class:`MotionError` and a
    folder that cannot be written :class:`OutputError`, leaving any earlier file alone.
    """
    positions = _vertex_motion(positions, "a point cache")
    samples, points, _ = positions.shape
    if rest is not None:
        rest = np.asarray(rest, np.float32)
        if rest.shape != (points, 3):
            raise MotionError(f"rest positions {rest.shape} do not fit offsets of {points} "
                              "vertices: need (V, 3)")
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    try:
        with open(partial, "wb") as f:
            f.write(_PC2_HEADER.pack(PC2_MAGIC, 1, points, float(start), float(rate), samples))
            for rows in frame_blocks(samples, points * 3):
                block = np.asarray(positions[rows], "<f4")
                if rest is not None:
                    block = block + rest
                if not np.isfinite(block).all():
                    raise _not_finite(block, rows.start, "the point cache's positions")
                f.write(np.ascontiguousarray(block, "<f4").data)
        os.replace(partial, path)
    except OSError as exc:
        raise OutputError(f"cannot write the point cache {path}: {exc.strerror or exc}; choose "
                          f"a writable folder with {pc2_bytes(samples, points) / 2**20:.0f} MB "
                          "free") from exc
    finally:
        if partial.exists():
            partial.unlink()


def pc2_bytes(samples: int, points: int) -> int:
    """The size of a PC2 file of ``samples`` frames of ``points`` vertices."""
    return _PC2_HEADER.size + 12 * samples * points


def read_pc2(path: str | Path) -> tuple[np.ndarray, float, float]:
    """Read a PC2 file: ``(positions (T, V, 3), start, rate)``."""
    raw = Path(path).read_bytes()
    if len(raw) < _PC2_HEADER.size:
        raise MotionError(f"{path} is not a PC2 point cache (only {len(raw)} bytes)")
    magic, version, points, start, rate, samples = _PC2_HEADER.unpack_from(raw)
    if magic != PC2_MAGIC or version != 1:
        raise MotionError(f"{path} is not a PC2 point cache (version 1, starting with "
                          f"{PC2_MAGIC!r}); choose a .pc2 file written by Blender or this add-on")
    needed = pc2_bytes(max(0, samples), max(0, points))
    if samples < 0 or points < 0 or len(raw) < needed:
        raise MotionError(f"{path} is a truncated PC2 point cache ({len(raw)} of {needed} bytes); "
                          "write it again")
    data = np.frombuffer(raw, dtype="<f4", offset=_PC2_HEADER.size, count=samples * points * 3)
    return data.reshape(samples, points, 3).copy(), float(start), float(rate)
