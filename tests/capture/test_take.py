"""A capture take: resampling to the model's rate, alignment with its audio (offsets for
trimmed audio), conversion to Motion and to the folder dataset the trainer reads."""

from __future__ import annotations

import numpy as np
import pytest

from diffusiontalker.capture import LIVE_LINK_FPS, Take, load_take, write_live_link_csv
from diffusiontalker.channels import ARKIT_CHANNELS, CHANNELS, FULL_FACE_CHANNELS
from diffusiontalker.datasets import load_dataset, write_folder_dataset
from diffusiontalker.errors import CaptureError

from .helpers import SAMPLE_RATE, click_wave, write_wave


def ramp_take(frames: int = 120, fps: float = LIVE_LINK_FPS) -> Take:
    """jawOpen is the time in seconds, every other channel 0.5; head yaw is -time."""
    data = np.full((frames, len(ARKIT_CHANNELS)), 0.5, np.float32)
    t = np.arange(frames) / fps
    data[:, ARKIT_CHANNELS.index("jawOpen")] = t
    head = np.stack([-t, t * 0, t * 0], axis=1)
    return Take(fps=fps, data=data, present=np.ones(len(ARKIT_CHANNELS), bool), head=head)


def test_resampling_to_the_model_rate_keeps_timing():
    take = ramp_take(frames=600)  # ~10 s at 59.94
    at30 = take.resample(30.0)
    assert at30.fps == 30.0 and at30.num_frames == round(take.duration * 30)
    jaw = at30.data[:, ARKIT_CHANNELS.index("jawOpen")]
    times = np.arange(at30.num_frames) / 30.0
    inside = times <= (take.num_frames - 1) / take.fps
    np.testing.assert_allclose(jaw[inside], times[inside], atol=1e-5)  # value = time, exactly
    np.testing.assert_allclose(at30.head[inside, 0], -times[inside], atol=1e-5)
    assert at30.resample(30.0) is at30


def test_to_motion_offers_the_head_rotation_as_the_full_face_channels():
    take = ramp_take(frames=600)
    motion, lacking = take.to_motion(FULL_FACE_CHANNELS, fps=30.0)
    assert lacking == () and motion.channels == FULL_FACE_CHANNELS
    times = np.arange(motion.num_frames) / 30.0
    inside = times <= (take.num_frames - 1) / take.fps
    yaw = motion.data[:, FULL_FACE_CHANNELS.index("headYaw")]
    np.testing.assert_allclose(yaw[inside], -times[inside], atol=1e-5)
    headless = Take(fps=take.fps, data=take.data, present=take.present)
    assert headless.to_motion(FULL_FACE_CHANNELS)[1] == ("headYaw", "headPitch", "headRoll")


def test_to_motion_restricts_to_the_requested_channels_and_names_the_lacking():
    take = ramp_take()
    present = take.present.copy()
    present[ARKIT_CHANNELS.index("mouthClose")] = False
    take = Take(fps=take.fps, data=take.data, present=present)
    motion, lacking = take.to_motion(["jawOpen", "mouthClose", "browInnerUp", "smile"], fps=30.0)
    assert motion.space == "channels" and motion.fps == 30.0
    assert motion.channels == ("jawOpen", "browInnerUp") and lacking == ("mouthClose", "smile")
    assert motion.data.shape == (round(take.duration * 30), 2)
    with pytest.raises(CaptureError, match="none of the requested"):
        take.to_motion(["mouthClose"])


def test_offset_aligns_trimmed_audio_with_the_frames():
    take = ramp_take(frames=300)  # 5 s
    # the audio was trimmed: it starts 1.5 s into the take; its click marks take time 2.0 s
    wave = click_wave(3.5, click_at=0.5)
    aligned = take.with_audio(wave, SAMPLE_RATE, offset=1.5)
    first_frame_time = aligned.data[0, ARKIT_CHANNELS.index("jawOpen")]
    assert first_frame_time == pytest.approx(1.5, abs=1 / LIVE_LINK_FPS)
    click = np.argmax(aligned.audio) / SAMPLE_RATE  # seconds after the new frame 0
    jaw = aligned.data[:, ARKIT_CHANNELS.index("jawOpen")]
    at_click = np.interp(click, np.arange(aligned.num_frames) / aligned.fps, jaw)
    assert at_click == pytest.approx(2.0, abs=1e-3)  # the click is at take time 2.0 s
    assert aligned.num_frames == take.num_frames - int(np.ceil(1.5 * take.fps))
    assert "starts 1.500 s into the take" in " ".join(aligned.report.lines())


def test_a_negative_offset_cuts_audio_before_the_first_frame():
    take = ramp_take(frames=120)  # 2 s
    wave = click_wave(3.5, click_at=1.25)  # 1 s of lead-in: the click is at take time 0.25 s
    aligned = take.with_audio(wave, SAMPLE_RATE, offset=-1.0)
    assert aligned.num_frames == take.num_frames
    assert np.argmax(aligned.audio) / SAMPLE_RATE == pytest.approx(0.25, abs=1e-3)
    assert aligned.audio.shape[0] == round(take.duration * SAMPLE_RATE)  # cut at the end


def test_audio_shorter_than_the_motion_is_an_error_unless_cut():
    take = ramp_take(frames=300)  # 5 s
    with pytest.raises(CaptureError, match="audio lasts 3.00 s .* capture 5.00 s") as caught:
        take.with_audio(np.zeros(3 * SAMPLE_RATE, np.float32), SAMPLE_RATE)
    assert "\n" not in str(caught.value)
    cut = take.with_audio(np.zeros(3 * SAMPLE_RATE, np.float32), SAMPLE_RATE, cut_to_audio=True)
    assert cut.duration == pytest.approx(3.0, abs=1 / take.fps)
    # a few milliseconds short is normal: the motion is cut to the audio
    near = take.with_audio(np.zeros(int(4.95 * SAMPLE_RATE), np.float32), SAMPLE_RATE)
    assert near.duration <= 4.95 + 1 / take.fps


def test_an_empty_take_is_refused():
    with pytest.raises(CaptureError, match="no frames"):
        Take(fps=60.0, data=np.zeros((0, 52), np.float32), present=np.ones(52, bool))


def test_a_take_becomes_a_folder_dataset_the_trainer_reads(tmp_path):
    take_dir = tmp_path / "20250101_MySlate_4"
    take_dir.mkdir()
    frames = 180  # 3 s at 59.94
    rng = np.random.default_rng(1)
    weights = rng.random((frames, len(CHANNELS))).astype(np.float32)
    write_live_link_csv(take_dir / "MySlate_4_iPhone_cal.csv", weights, CHANNELS)
    write_live_link_csv(take_dir / "MySlate_4_iPhone_raw.csv", weights * 0 + 0.9, CHANNELS)
    write_wave(take_dir / "MySlate_4_iPhone.wav", rng.standard_normal(3 * SAMPLE_RATE) * 0.1)
    take = load_take(take_dir)  # the calibrated CSV, the audio found beside it
    assert take.report.variant == "calibrated" and take.audio is not None
    clip = take.to_clip("take4", 30.0, CHANNELS, speaker="mia")
    write_folder_dataset(tmp_path / "data", "channels", 30.0, [clip], channels=CHANNELS)
    corpus = load_dataset(tmp_path / "data")
    assert corpus.speakers == ["mia"] and corpus.channels == CHANNELS and corpus.fps == 30.0
    wave, motion = corpus.clips[0].load_pair()
    assert motion.shape == (round(frames / LIVE_LINK_FPS * 30), len(CHANNELS))
    assert wave.shape[0] == round(motion.shape[0] / 30 * SAMPLE_RATE)
    expected = take.to_motion(CHANNELS, 30.0)[0].data
    np.testing.assert_array_equal(motion, expected)
    raw = load_take(take_dir, variant="raw")
    assert raw.report.variant == "raw" and raw.data[:, raw.present].max() == pytest.approx(0.9)


def test_to_clip_refuses_channels_not_captured_and_takes_without_audio():
    take = ramp_take()
    with pytest.raises(CaptureError, match="has no audio"):
        take.to_clip("x", 30.0)
    present = take.present.copy()
    present[ARKIT_CHANNELS.index("cheekPuff")] = False
    masked = Take(fps=take.fps, data=take.data, present=present, audio=np.zeros(40000, np.float32))
    with pytest.raises(CaptureError, match="did not capture cheekPuff"):
        masked.to_clip("x", 30.0, CHANNELS)
