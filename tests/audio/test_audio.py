"""load_audio: every format, rate and channel layout -> 16 kHz mono; one clear error per bad input."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile

from diffusiontalker.audio.loading import SAMPLE_RATE, audio_duration, load_audio, resample
from diffusiontalker.errors import AudioError


def _tone(rate: int, seconds: float = 0.5, channels: int = 1, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    mono = 0.5 * np.sin(2 * np.pi * freq * t).astype(np.float32)
    return mono if channels == 1 else np.stack([mono] * channels, axis=1)


def _dominant_hz(wave: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(wave))
    return float(np.argmax(spectrum) * SAMPLE_RATE / wave.shape[0])


@pytest.mark.parametrize("suffix,subtype", [(".wav", "PCM_16"), (".flac", "PCM_16"),
                                            (".ogg", "VORBIS"), (".wav", "FLOAT")])
@pytest.mark.parametrize("rate,channels", [(44100, 2), (22050, 1), (16000, 1), (48000, 6)])
def test_formats_rates_channels(tmp_path, suffix, subtype, rate, channels):
    path = tmp_path / f"clip{suffix}"
    soundfile.write(str(path), _tone(rate, channels=channels), rate, subtype=subtype)
    wave = load_audio(path)
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert abs(wave.shape[0] - SAMPLE_RATE * 0.5) <= 2
    assert abs(_dominant_hz(wave) - 440.0) < 5.0
    assert 0.3 < np.abs(wave).max() < 0.6
    assert audio_duration(path) == pytest.approx(0.5, abs=1e-3)


def test_mp3(tmp_path):
    path = tmp_path / "clip.mp3"
    try:
        soundfile.write(str(path), _tone(44100), 44100, format="MP3")
    except Exception as error:  # libsndfile built without MP3 encoding
        pytest.skip(f"soundfile cannot write MP3 here: {error}")
    wave = load_audio(path)
    assert abs(wave.shape[0] - SAMPLE_RATE * 0.5) < 0.05 * SAMPLE_RATE  # mp3 adds padding
    assert abs(_dominant_hz(wave) - 440.0) < 5.0


@pytest.mark.parametrize("layout", ["n", "nc", "cn"])
def test_arrays_any_layout(layout):
    stereo = _tone(22050, channels=2)
    stereo[:, 1] *= 0.5
    arr = {"n": stereo[:, 0], "nc": stereo, "cn": stereo.T.copy()}[layout]
    wave = load_audio(arr, 22050)
    assert wave.shape == (8000,)
    expected_peak = 0.5 if layout == "n" else 0.375
    assert abs(np.abs(wave).max() - expected_peak) < 0.02


def test_integer_pcm_array_is_scaled():
    pcm = (_tone(16000) * 32767).astype(np.int16)
    wave = load_audio(pcm, 16000)
    assert abs(np.abs(wave).max() - 0.5) < 1e-3


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="audio file not found"):
        load_audio(tmp_path / "nope.wav")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioError, match=r"is empty \(0 bytes\)"):
        load_audio(path)


def test_empty_clip_with_header(tmp_path):
    path = tmp_path / "silent.wav"
    soundfile.write(str(path), np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioError, match=r"is empty \(zero samples\)"):
        load_audio(path)


def test_zero_length_array():
    with pytest.raises(AudioError, match=r"the audio array is empty \(zero samples\)"):
        load_audio(np.zeros(0, np.float32), 16000)


def test_random_bytes_named_wav(tmp_path):
    path = tmp_path / "noise.wav"
    path.write_bytes(np.random.default_rng(0).bytes(4000))
    with pytest.raises(AudioError, match="could not decode .*not an audio file"):
        load_audio(path)


def test_nan_samples():
    wave = _tone(16000)
    wave[10] = np.nan
    with pytest.raises(AudioError, match="NaN or infinite"):
        load_audio(wave, 16000)


def test_array_needs_rate():
    with pytest.raises(AudioError, match="needs its sample rate"):
        load_audio(_tone(16000))


def test_too_many_channels():
    with pytest.raises(AudioError, match="more than 8 channels"):
        load_audio(np.zeros((20, 30), np.float32), 16000)


def test_fft_fallback_matches_soxr():
    from diffusiontalker.audio.loading import _fft_resample

    wave = _tone(44100, seconds=0.25, freq=1000.0)
    a, b = resample(wave, 44100, 16000), _fft_resample(wave, 44100, 16000)
    assert a.shape == b.shape
    inner = slice(200, -200)  # ignore edge effects of the periodic FFT assumption
    assert np.max(np.abs(a[inner] - b[inner])) < 0.02


def test_directory_is_not_audio(tmp_path):
    with pytest.raises(AudioError, match="is a directory"):
        load_audio(tmp_path)


def test_path_string_accepted(tmp_path):
    path = tmp_path / "a.wav"
    soundfile.write(str(path), _tone(16000), 16000)
    assert load_audio(os.fspath(path)).shape == (8000,)


def test_require_sound():
    from diffusiontalker.audio.loading import require_sound, rms_dbfs

    assert rms_dbfs(np.full(100, 0.5, np.float32)) == pytest.approx(20 * np.log10(0.5))
    tone = _tone(16000)
    assert require_sound(tone) is tone
    with pytest.raises(AudioError, match=r"the audio is silent \(digital silence"):
        require_sound(np.zeros(1600, np.float32))
    with pytest.raises(AudioError, match=r"clip.wav is silent \(-80.0 dBFS"):
        require_sound(np.full(1600, 1e-4, np.float32), "clip.wav")


def test_unsigned_pcm_array_is_centred():
    pcm = np.array([0, 128, 255], np.uint8)
    np.testing.assert_allclose(load_audio(pcm, 16000), [-1.0, 0.0, 127 / 128], atol=1e-6)


def test_resampler_keeps_passband_and_removes_aliases():
    """A good resampler keeps a 6 kHz tone and removes a 10 kHz one (it would alias to 6 kHz)."""
    for use_numpy in (False, True):
        from diffusiontalker.audio.loading import _fft_resample

        convert = _fft_resample if use_numpy else resample
        kept = convert(_tone(44100, seconds=1.0, freq=6000.0), 44100, 16000)
        removed = convert(_tone(44100, seconds=1.0, freq=10000.0), 44100, 16000)
        assert abs(_dominant_hz(kept) - 6000.0) < 5.0
        assert np.sqrt(np.mean(kept[500:-500] ** 2)) > 0.3
        assert np.sqrt(np.mean(removed[500:-500] ** 2)) < 0.01
