"""scripts/fetch_real_speech.py: the low-bitrate copies keep their original's timing."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av")
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "fetch_real_speech.py"


def _fetcher():
    spec = importlib.util.spec_from_file_location("fetch_real_speech", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bursts(rate):
    """Tone bursts at 0.3 s and 0.9 s in 1.5 s (a speech-band tone, 1 kHz)."""
    t = np.arange(int(1.5 * rate)) / rate
    on = ((t > 0.3) & (t < 0.5)) | ((t > 0.9) & (t < 1.0))
    return (0.5 * np.sin(2 * np.pi * 1000 * t) * on).astype(np.float32)


def _onsets(wave, rate):
    env = np.abs(wave) > 0.1
    rises = np.flatnonzero(env[1:] & ~env[:-1]) / rate
    return rises[np.concatenate([[True], np.diff(rises) > 0.05])] if rises.size else rises


def test_mp3_copy_has_no_codec_delay():
    fetch = _fetcher()
    wave = _bursts(16000)
    coded = fetch.mp3_round_trip(wave, 16000)
    assert coded.shape == wave.shape
    assert _onsets(coded, 16000) == pytest.approx(_onsets(wave, 16000), abs=0.003)


def test_telephone_copy_is_8k_band_limited_and_in_time():
    fetch = _fetcher()
    wave = _bursts(16000)
    phone, rate = fetch.telephone(wave, 16000)
    assert rate == 8000 and abs(len(phone) - len(wave) // 2) <= 1
    assert _onsets(phone, 8000) == pytest.approx(_onsets(wave, 16000), abs=0.003)
    low = np.sin(2 * np.pi * 100 * np.arange(16000) / 16000).astype(np.float32) * 0.5
    assert np.abs(fetch.telephone(low, 16000)[0][2000:6000]).max() < 0.1  # 100 Hz: cut
