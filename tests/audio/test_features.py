"""numpy log-mel against librosa, and the mel frontend's shape/rate contract."""

from __future__ import annotations

import numpy as np
import pytest

from diffusiontalker.audio.features import hz_to_mel, log_mel, mel_filterbank, mel_power, mel_to_hz


@pytest.fixture(scope="module")
def speechlike() -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(16000 * 1.3) / 16000
    wave = 0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    return (wave + 0.05 * rng.standard_normal(t.shape)).astype(np.float32)


def test_filterbank_matches_librosa():
    librosa = pytest.importorskip("librosa")
    for n_mels, n_fft in [(80, 512), (40, 400)]:
        ours = mel_filterbank(16000, n_fft, n_mels)
        ref = librosa.filters.mel(sr=16000, n_fft=n_fft, n_mels=n_mels)
        assert ours.shape == ref.shape
        np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-7)


def test_log_mel_matches_librosa(speechlike):
    librosa = pytest.importorskip("librosa")
    ref = librosa.feature.melspectrogram(y=speechlike, sr=16000, n_fft=512, hop_length=160,
                                         win_length=400, n_mels=80, center=True,
                                         pad_mode="constant").T
    ours = mel_power(speechlike)
    assert ours.shape == ref.shape == (1 + speechlike.shape[0] // 160, 80)
    np.testing.assert_allclose(ours, ref, rtol=1e-3, atol=1e-6 * ref.max())
    feats = log_mel(speechlike)
    assert feats.dtype == np.float32
    np.testing.assert_allclose(feats, np.log(ref + 1e-6), atol=1e-3)


def test_mel_scale_round_trip():
    hz = np.array([0.0, 300.0, 999.0, 1000.0, 4000.0, 8000.0])
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(hz)), hz, atol=1e-6)
    assert hz_to_mel(1000.0) == pytest.approx(15.0)


def test_chunking_does_not_change_frames(speechlike):
    import diffusiontalker.audio.features as features

    whole = log_mel(speechlike)
    old = features._FRAMES_PER_CHUNK
    features._FRAMES_PER_CHUNK = 7
    try:
        np.testing.assert_array_equal(log_mel(speechlike), whole)
    finally:
        features._FRAMES_PER_CHUNK = old


def test_rate_is_100_per_second():
    assert log_mel(np.zeros(32000, np.float32)).shape == (201, 80)
    silence = log_mel(np.zeros(1600, np.float32), n_mels=40)
    assert silence.shape == (11, 40)
    assert np.allclose(silence, np.log(1e-6))


def test_features_module_is_numpy_only():
    import ast
    import pathlib

    import diffusiontalker.audio.features as features

    tree = ast.parse(pathlib.Path(features.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import | ast.ImportFrom)
                for alias in getattr(node, "names", [])}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= {"__future__", "functools", "numpy", "annotations", "lru_cache"}


@pytest.mark.parametrize("samples", [0, 1, 159, 160, 201, 320, 16000, 160000, 479_700, 479_840,
                                     480_000, 500_000])
def test_whisper_log_mel_computes_only_the_wanted_frames_and_gets_the_same_rows(samples):
    """``frames=n`` transforms only the frames that reach the audio, yet each row and the
    window maximum are those of the whole padded 30 s window (bit for bit)."""
    from diffusiontalker.audio.features import whisper_log_mel

    rng = np.random.default_rng(samples)
    wave = (rng.standard_normal(samples) * 0.1).astype(np.float32)
    wave[-50:] *= 8.0  # the loudest frame last: the one that straddles the end
    whole = whisper_log_mel(wave)
    for frames in (0, 1, 2 * -(-samples // 320), 3000, 4000):
        part = whisper_log_mel(wave, frames=frames)
        assert part.shape == (min(frames, 3000), 80)
        np.testing.assert_array_equal(part, whole[:frames])



def test_whisper_log_mel_of_near_silence_is_that_of_the_whole_window():
    """Below Whisper's floor (power < 1e-10) every frame sits at the floor, as the padding does."""
    from diffusiontalker.audio.features import whisper_log_mel

    whisper = np.random.default_rng(1).standard_normal(16000).astype(np.float32) * 1e-9
    np.testing.assert_array_equal(whisper_log_mel(whisper, frames=100), whisper_log_mel(whisper)[:100])
    np.testing.assert_array_equal(whisper_log_mel(whisper, frames=100), np.float32(-1.5))
