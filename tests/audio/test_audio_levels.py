"""Audio levels and non-finite samples: NaN/inf is an AudioError, an absurd level (peak above
MAX_PEAK) is peak-normalised so nothing downstream overflows."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from diffusiontalker.audio.loading import MAX_PEAK, finite_level, load_audio
from diffusiontalker.errors import AudioError


def _speechy(seconds: float = 0.5, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_are_refused(tmp_path, bad):
    wave = _speechy()
    wave[100] = bad
    with pytest.raises(AudioError, match="contains 1 NaN or infinite sample of 8000"):
        load_audio(wave, 16000)
    path = tmp_path / "bad.wav"
    soundfile.write(str(path), wave, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"bad.wav' contains 1 NaN or infinite sample"):
        load_audio(path)


def test_absurd_levels_are_peak_normalised(tmp_path):
    wave = _speechy()
    expected = wave / np.abs(wave).max()
    for scale, dtype in ((1e30, np.float32), (1e300, np.float64), (32767.0, np.float32)):
        loud = (wave.astype(np.float64) * scale).astype(dtype)
        got = load_audio(loud, 16000)
        assert got.dtype == np.float32 and np.all(np.isfinite(got))
        np.testing.assert_allclose(got, expected, atol=1e-6)
    path = tmp_path / "loud.wav"
    soundfile.write(str(path), wave * np.float32(1e30), 16000, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(path), expected, atol=1e-6)


def test_ordinary_levels_are_unchanged():
    wave = _speechy()
    np.testing.assert_array_equal(load_audio(wave, 16000), wave)
    hot = wave * np.float32(MAX_PEAK / 0.6)  # peak just under MAX_PEAK: left alone
    np.testing.assert_array_equal(finite_level(hot), hot)
