"""The bounded-memory basis bake (randomised SVD over blocks of frames), channel offsets as one
product, streamed point caches, the long-take warnings, and that no NaN gets through."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from diffusiontalker.bake import shapes
from diffusiontalker.bake.shapes import (
    basis_bake_bytes,
    check_finite,
    compact_basis,
    offsets_from_channels,
    pc2_bytes,
    per_frame_keys_warning,
    point_cache_warning,
    read_pc2,
    write_pc2,
)
from diffusiontalker.bake.timing import resample_motion
from diffusiontalker.errors import MotionError, OutputError


def _talking_motion(frames: int, vertices: int, rank: int = 24, noise: float = 1e-3,
                    seed: int = 0) -> np.ndarray:
    """Smooth curves on shapes of decaying size, plus per-vertex noise (a full-rank tail)."""
    rng = np.random.default_rng(seed)
    curves = np.cumsum(rng.normal(size=(frames, rank)), 0) / np.sqrt(frames)
    sizes = 0.8 ** np.arange(rank)
    motion = (curves * sizes) @ rng.normal(size=(rank, vertices * 3))
    motion += noise * rng.normal(size=motion.shape)
    return motion.astype(np.float32).reshape(frames, vertices, 3)


def _relative_error(offsets: np.ndarray, played: np.ndarray) -> float:
    return float(np.linalg.norm(played - offsets) / np.linalg.norm(offsets))


def _exact_error(offsets: np.ndarray, k: int) -> float:
    """The best rank-k error (Eckart-Young): numpy's full SVD, singular values past k."""
    sv = np.linalg.svd(offsets.reshape(len(offsets), -1).astype(np.float64), compute_uv=False)
    return float(np.sqrt((sv[k:] ** 2).sum() / (sv**2).sum()))


@pytest.mark.parametrize("max_shapes", [4, 12, 40])
def test_basis_bake_is_as_good_as_the_exact_svd(max_shapes):
    offsets = _talking_motion(400, 150, noise=1e-2)  # 400 x 450 coordinates: rank 24 + noise
    bake = compact_basis(offsets, max_shapes=max_shapes)
    k = len(bake.bases)
    assert k == max_shapes  # the noise keeps the energy target out of reach
    exact = _exact_error(offsets, k)
    ours = _relative_error(offsets, bake.reconstruct())
    assert 0.9999 * exact <= ours <= 1.02 * exact, (ours, exact)
    assert np.abs(bake.weights).max() == pytest.approx(1.0)


def test_energy_target_picks_the_exact_number_of_shapes():
    offsets = _talking_motion(300, 120, rank=10, noise=0.0)
    sv = np.linalg.svd(offsets.reshape(300, -1).astype(np.float64), compute_uv=False)
    for energy in (0.9, 0.99, 0.999):
        want = int(np.searchsorted(np.cumsum(sv**2) / (sv**2).sum(), energy) + 1)
        assert len(compact_basis(offsets, energy=energy).bases) == want


def test_blocks_seeds_and_input_layouts_do_not_change_the_bake(monkeypatch):
    offsets = _talking_motion(300, 60)
    whole = compact_basis(offsets, max_shapes=8)
    again = compact_basis(offsets, max_shapes=8)
    np.testing.assert_array_equal(whole.bases, again.bases)  # the same seed, the same bake
    monkeypatch.setattr(shapes, "BLOCK_BYTES", 7 * 180 * 4)  # 7 frames a block: 43 blocks
    blocked = compact_basis(offsets, max_shapes=8)
    np.testing.assert_allclose(blocked.reconstruct(), whole.reconstruct(), atol=1e-5)
    strided = np.ascontiguousarray(offsets.transpose(1, 0, 2)).transpose(1, 0, 2)
    for other in (offsets.astype(np.float64), strided):
        np.testing.assert_allclose(compact_basis(other, max_shapes=8).reconstruct(),
                                   whole.reconstruct(), atol=1e-5)


def test_basis_bake_memory_is_bounded():
    offsets = _talking_motion(3000, 1000, noise=1e-4)  # 36 MB of float32 motion
    tracemalloc.start()
    try:
        compact_basis(offsets)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # a float64 copy (72 MB) or the 3000 x 3000 Gram matrix (72 MB) would not fit
    assert peak < offsets.nbytes / 2
    assert peak < basis_bake_bytes(3000, 1000)


def test_non_finite_motion_is_refused_with_its_frame():
    offsets = _talking_motion(50, 20)
    offsets[37, 4, 1] = np.nan
    with pytest.raises(MotionError, match="NaN or infinite.*frame 37"):
        compact_basis(offsets)
    offsets[37, 4, 1] = np.inf
    with pytest.raises(MotionError, match="frame 37"):
        check_finite(offsets)
    check_finite(np.zeros((0, 3, 3)))  # nothing to check


def test_a_failed_decomposition_is_a_clear_error_never_nan(monkeypatch):
    offsets = _talking_motion(60, 30)

    def fails(*args, **kwargs):
        raise np.linalg.LinAlgError("SVD did not converge")

    monkeypatch.setattr(np.linalg, "svd", fails)
    with pytest.raises(MotionError, match="failed numerically.*point cache"):
        compact_basis(offsets)

    def nan_svd(a, full_matrices=True):
        u = np.full((a.shape[0], min(a.shape)), np.nan)
        return u, np.full(min(a.shape), np.nan), np.full((min(a.shape), a.shape[1]), np.nan)

    monkeypatch.setattr(np.linalg, "svd", nan_svd)
    with pytest.raises(MotionError, match="non-finite"):
        compact_basis(offsets)

    def out_of_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(np.linalg, "qr", out_of_memory)
    with pytest.raises(MotionError, match="not enough memory"):
        compact_basis(offsets)


def test_bad_basis_requests_are_clear_errors():
    with pytest.raises(MotionError, match="at least one shape"):
        compact_basis(np.ones((4, 3, 3), np.float32), max_shapes=0)
    with pytest.raises(MotionError, match="empty motion"):
        compact_basis(np.ones((0, 3, 3), np.float32))


def test_channel_offsets_are_one_product():
    rng = np.random.default_rng(4)
    weights, channel = rng.normal(size=(30, 5)), rng.normal(size=(5, 7, 3))
    out = offsets_from_channels(weights, channel)
    assert out.dtype == np.float32 and out.shape == (30, 7, 3)
    np.testing.assert_allclose(out, np.einsum("tk,kvc->tvc", weights, channel), atol=1e-5)
    with pytest.raises(MotionError, match="do not fit 5 channel shapes"):
        offsets_from_channels(weights[:, :4], channel)


def test_point_cache_streams_offsets_from_rest(tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    offsets = rng.normal(size=(23, 9, 3)).astype(np.float32)
    rest = rng.normal(size=(9, 3)).astype(np.float32)
    monkeypatch.setattr(shapes, "BLOCK_BYTES", 4 * 27 * 5)  # 5 frames a block
    write_pc2(tmp_path / "a.pc2", offsets, start=2.0, rest=rest)
    back, start, _ = read_pc2(tmp_path / "a.pc2")
    np.testing.assert_array_equal(back, rest + offsets)
    assert start == 2.0 and (tmp_path / "a.pc2").stat().st_size == pc2_bytes(23, 9)
    assert [p.name for p in tmp_path.iterdir()] == ["a.pc2"]


def test_point_cache_with_nan_leaves_the_earlier_file(tmp_path, monkeypatch):
    good = np.ones((4, 9, 3), np.float32)
    write_pc2(tmp_path / "a.pc2", good)
    bad = np.ones((20, 9, 3), np.float32)
    bad[17, 2, 0] = np.nan
    monkeypatch.setattr(shapes, "BLOCK_BYTES", 4 * 27 * 5)  # the NaN is in the 4th block
    with pytest.raises(MotionError, match="frame 17"):
        write_pc2(tmp_path / "a.pc2", bad)
    np.testing.assert_array_equal(read_pc2(tmp_path / "a.pc2")[0], good)
    assert [p.name for p in tmp_path.iterdir()] == ["a.pc2"]
    with pytest.raises(OutputError, match="cannot write the point cache"):
        write_pc2(tmp_path / "missing" / "b.pc2", good)
    with pytest.raises(MotionError, match=r"\(V, 3\)"):
        write_pc2(tmp_path / "c.pc2", good, rest=np.zeros((8, 3), np.float32))


def test_long_take_warnings_name_their_cost():
    limit = shapes.PER_FRAME_KEYS_WARN_FRAMES
    assert per_frame_keys_warning(limit, 5023) is None
    note = per_frame_keys_warning(18000, 5023)
    assert "18000 per-frame shape keys" in note and "1035 MB" in note and "Basis" in note
    frames = shapes.POINT_CACHE_WARN_BYTES // (12 * 5023)
    assert point_cache_warning(frames, 5023) is None
    note = point_cache_warning(18000, 5023)
    assert "1035 MB" in note and "18000 frames x 5023 vertices" in note


def test_resampling_in_blocks_matches_one_interpolation(monkeypatch):
    data = np.random.default_rng(6).normal(size=(40, 6, 3)).astype(np.float32)
    times = np.linspace(-0.1, 1.5, 57)
    whole = resample_motion(data, 30.0, times)
    monkeypatch.setattr(shapes, "BLOCK_BYTES", 4 * 18 * 4)  # 4 frames a block
    blocked = resample_motion(data, 30.0, times)
    np.testing.assert_array_equal(blocked, whole)
    pos = np.clip(times * 30.0, 0, 39)
    lo = np.floor(pos).astype(int)
    hi, frac = np.minimum(lo + 1, 39), (pos - lo)[:, None, None]
    np.testing.assert_allclose(whole, data[lo] * (1 - frac) + data[hi] * frac, atol=1e-6)
