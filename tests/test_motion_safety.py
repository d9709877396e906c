"""Motion refuses non-finite data; require_finite names what is wrong; save_npz is atomic and
reports the path it wrote."""

from __future__ import annotations

import errno

import numpy as np
import pytest

from diffusiontalker.errors import CheckpointError, MotionError, OutputError
from diffusiontalker.motion import Motion, npz_path, require_finite, require_finite_arrays


def _motion(data=None) -> Motion:
    return Motion(30.0, "channels", np.zeros((4, 2)) if data is None else data, ("a", "b"))


def test_require_finite_names_the_cause():
    ok = np.ones(3)
    assert require_finite(ok, "x") is ok
    assert require_finite(np.array(["text"]), "names").shape == (1,)
    bad = np.zeros((2, 3), np.float32)
    bad[1, 2] = np.nan
    bad[0, 1] = np.inf
    with pytest.raises(MotionError, match=r"^the generated motion contains 1 NaN and 1 infinite "
                                          r"values of 6 \(first at index \(0, 1\)\); the model"):
        require_finite(bad, "the generated motion", "the model overflowed")
    with pytest.raises(CheckpointError, match="model.npz: array 'b' contains 1 infinite value of 1"):
        require_finite_arrays({"a": ok, "b": np.array([np.inf])}, "model.npz", error=CheckpointError)


def test_motion_refuses_non_finite_data_rate_and_identity():
    data = np.zeros((4, 2))
    data[2, 0] = np.nan
    with pytest.raises(MotionError, match="the motion data contains 1 NaN value"):
        _motion(data)
    with pytest.raises(MotionError, match="infinite"):
        Motion(30.0, "vertices", np.full((2, 5, 3), -np.inf))
    for fps in (float("nan"), float("inf"), 0.0):
        with pytest.raises(MotionError, match="positive, finite frame rate"):
            Motion(fps, "channels", np.zeros((4, 2)), ("a", "b"))
    with pytest.raises(MotionError, match="identity weight of 'ada' is not finite"):
        Motion(30.0, "channels", np.zeros((4, 2)), ("a", "b"), identity={"ada": float("nan")})


def test_save_npz_reports_the_path_it_writes(tmp_path):
    assert _motion().save_npz(tmp_path / "take") == tmp_path / "take.npz"
    assert (tmp_path / "take.npz").is_file() and not (tmp_path / "take").exists()
    assert _motion().save_npz(tmp_path / "b.npz") == tmp_path / "b.npz"
    assert npz_path("x.y") .name == "x.y.npz"


def test_a_failed_write_leaves_no_partial_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    target = tmp_path / "take.npz"
    _motion(np.ones((4, 2))).save_npz(target)
    before = target.read_bytes()

    def disk_full(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(OutputError, match="take.npz: No space left on device"):
        _motion().save_npz(target)
    assert target.read_bytes() == before
    with pytest.raises(OutputError):
        _motion().save_npz(tmp_path / "new.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.npz"]  # no temporary left
