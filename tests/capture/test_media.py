"""A take's audio from its .mov/.mp4 (decoded with PyAV, written here with PyAV too) or a .wav,
and the one-line errors: a video without audio, PyAV missing, no audio beside a CSV."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from diffusiontalker.capture import load_take, read_take_audio, write_live_link_csv
from diffusiontalker.channels import CHANNELS
from diffusiontalker.errors import CaptureError

from .helpers import SAMPLE_RATE, click_wave, write_video, write_wave

av = pytest.importorskip("av")


@pytest.mark.parametrize("fmt,codec", [("mov", "pcm_s16le"), ("mp4", "aac"), ("mov", "aac")])
def test_the_audio_of_a_video_is_16_khz_mono_with_the_click_in_place(tmp_path, fmt, codec):
    path = write_video(tmp_path / f"take.{fmt}", fmt, codec, seconds=1.0, click_at=0.5)
    wave, lead = read_take_audio(path)
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert abs(wave.shape[0] - SAMPLE_RATE) <= 64  # an AAC stream may end a frame later
    assert np.argmax(np.abs(wave)) / SAMPLE_RATE == pytest.approx(0.5, abs=2e-3)
    assert lead == 0.0


def test_a_take_with_its_mov_is_aligned_at_frame_0(tmp_path):
    frames = 120  # ~2 s at 59.94
    write_live_link_csv(tmp_path / "MySlate_1_iPhone_cal.csv",
                        np.full((frames, len(CHANNELS)), 0.2, np.float32), CHANNELS)
    write_video(tmp_path / "MySlate_1_iPhone.mov", "mov", "pcm_s16le", seconds=2.1,
                click_at=1.0, video=True)
    take = load_take(tmp_path / "MySlate_1_iPhone_cal.csv")
    assert take.num_frames == frames
    assert np.argmax(np.abs(take.audio)) / SAMPLE_RATE == pytest.approx(1.0, abs=2e-3)
    assert take.audio.shape[0] == round(take.duration * SAMPLE_RATE)


def test_a_video_without_an_audio_track_is_one_line(tmp_path):
    path = write_video(tmp_path / "silent.mov", "mov", None, video=True)
    with pytest.raises(CaptureError, match="silent.mov has no audio track") as caught:
        read_take_audio(path)
    assert "\n" not in str(caught.value)


def test_a_file_that_is_not_a_video_is_a_capture_error(tmp_path):
    path = tmp_path / "broken.mov"
    path.write_bytes(b"not a video at all" * 10)
    with pytest.raises(CaptureError, match="cannot read the video"):
        read_take_audio(path)


def test_without_pyav_the_error_says_which_extra(tmp_path, monkeypatch):
    path = write_video(tmp_path / "take.mov", "mov", "pcm_s16le")
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(CaptureError, match=r'pip install "diffusiontalker\[capture\]"'):
        read_take_audio(path)


def test_a_wav_reads_without_pyav(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)
    path = write_wave(tmp_path / "take.wav", click_wave(1.0, 0.25, rate=44100), rate=44100)
    wave, lead = read_take_audio(path)
    assert wave.shape == (SAMPLE_RATE,) and lead == 0.0
    assert np.argmax(wave) / SAMPLE_RATE == pytest.approx(0.25, abs=1e-3)


def test_no_audio_beside_a_csv_says_how_to_give_it(tmp_path):
    write_live_link_csv(tmp_path / "lonely.csv", np.zeros((4, 1)), ["jawOpen"])
    with pytest.raises(CaptureError, match="no audio found for lonely.csv.*--audio"):
        load_take(tmp_path / "lonely.csv")
    assert load_take(tmp_path / "lonely.csv", require_audio=False).audio is None
