"""Figures for the bakes of a long take (a script, not a test: it reports, asserts nothing).

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python tests/bake/bench_bakes.py basis 18000

Cases: ``basis`` (``compact_basis``: seconds, shapes kept, relative reconstruction error,
extra memory traced by ``tracemalloc``), ``channels`` (``offsets_from_channels`` of 52
channels), ``pc2`` (``write_pc2`` of offsets from a rest pose). One case per process, so that
the peak resident size printed is that case's. The motion is synthetic: 40 smooth weight
curves on shapes of decaying size plus 1e-6 of noise, on 5023 vertices (a FLAME-size head).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
import tracemalloc

import numpy as np

from diffusiontalker.bake import shapes

VERTICES = 5023


def synthetic_motion(frames: int, vertices: int = VERTICES, rank: int = 40,
                     noise: float = 1e-6, seed: int = 0) -> np.ndarray:
    """``(T, V, 3)`` float32 offsets built a block at a time (no float64 copy of the take)."""
    rng = np.random.default_rng(seed)
    curves = np.cumsum(rng.normal(size=(frames, rank)), 0).astype(np.float32) * 0.01
    sizes = (0.85 ** np.arange(rank) * 1e-3)[:, None]
    basis = (rng.normal(size=(rank, vertices * 3)) * sizes).astype(np.float32)
    out = np.empty((frames, vertices * 3), np.float32)
    for rows in shapes.frame_blocks(frames, vertices * 3):
        np.matmul(curves[rows], basis, out=out[rows])
        out[rows] += noise * rng.standard_normal(out[rows].shape, dtype=np.float32)
    return out.reshape(frames, vertices, 3)


def _relative_error(offsets: np.ndarray, bake: shapes.BasisBake) -> float:
    flat = offsets.reshape(len(offsets), -1)
    bases = bake.bases.reshape(len(bake.bases), -1)
    error = total = 0.0
    for rows in shapes.frame_blocks(*flat.shape):
        block = flat[rows].astype(np.float64)
        error += float(((block - bake.weights[rows] @ bases) ** 2).sum())
        total += float((block**2).sum())
    return float(np.sqrt(error / total))


def _traced(run) -> tuple[float, float]:
    """``(seconds, peak MB traced)`` of ``run()``."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        run()
        return time.perf_counter() - start, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=["basis", "channels", "pc2"])
    parser.add_argument("frames", type=int)
    args = parser.parse_args()
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    frames = args.frames
    if args.case == "basis":
        offsets = synthetic_motion(frames)
        result = {}
        seconds, peak = _traced(lambda: result.setdefault("bake", shapes.compact_basis(offsets)))
        bake = result["bake"]
        what = (f"{len(bake.bases)} shapes, relative error {_relative_error(offsets, bake):.2e}, "
                f"input {offsets.nbytes / 2**20:.0f} MB")
    elif args.case == "channels":
        rng = np.random.default_rng(0)
        weights = rng.normal(size=(frames, 52)).astype(np.float32)
        channel = rng.normal(size=(52, VERTICES, 3)).astype(np.float32)
        seconds, peak = _traced(lambda: shapes.offsets_from_channels(weights, channel))
        what = "52 channels (the output itself is traced too)"
    else:
        offsets = synthetic_motion(frames)
        rest = np.zeros((VERTICES, 3), np.float32)
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "take.pc2")
            seconds, peak = _traced(lambda: shapes.write_pc2(path, offsets, 1.0, rest=rest))
            what = f"file {os.path.getsize(path) / 2**20:.0f} MB"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.case} {frames} frames x {VERTICES} vertices, OMP_NUM_THREADS={threads}: "
          f"{seconds:.2f} s, extra memory {peak:.0f} MB (tracemalloc), peak RSS {rss:.0f} MB; "
          f"{what}")


if __name__ == "__main__":
    main()
