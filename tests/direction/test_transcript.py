"""Transcript guidance: aligned phones -> mouth keys (direction.transcript)."""

from __future__ import annotations

import numpy as np
import pytest

from diffusiontalker.audio.alignment import Alignment, Phone, Word
from diffusiontalker.channels import CHANNELS
from diffusiontalker.direction import transcript as tr
from diffusiontalker.direction.keys import key_arrays, parse_keys
from diffusiontalker.direction.transcript import (
    CLOSED,
    phone_frames,
    transcript_guidance,
    transcript_keys,
    trusted_phones,
)

FPS = 30.0
PHONES = [Phone("SIL", 0.0, 0.5), Phone("M", 1.0, 1.1), Phone("AA", 1.1, 1.3),
          Phone("P", 2.0, 2.02), Phone("F", 2.5, 2.6), Phone("UW", 3.0, 3.4),
          Phone("T", 3.4, 3.5)]


def _by_first_frame(keys):
    return {k.get("frame", k.get("start")): k for k in keys}


def test_bilabials_close_the_lips_on_the_frames_inside_the_phone():
    keys = _by_first_frame(transcript_keys(PHONES, FPS, CHANNELS, 200))
    m = keys[31]  # /m/ 1.0-1.1 s: middle half 1.025-1.075 s -> frames 31 and 32 (i / 30 s)
    assert (m["start"], m["end"]) == (31, 32)
    assert m["channels"] == CLOSED and m["weight"] == 1.0
    assert m["channels"]["jawOpen"] == m["channels"]["mouthClose"]  # lips sealed
    assert all(m["channels"][c] == 0.0 for c in ("mouthFunnel", "mouthLowerDownLeft",
                                                 "mouthUpperUpRight"))
    p = keys[60]  # /p/ 2.00-2.02 s: shorter than a frame period -> its nearest frame
    assert p == {"frame": 60, "channels": CLOSED, "weight": 1.0, "ease": 1}
    assert set(keys) == {31, 60, 76, 93}  # /m p f uw/; SIL, AA and T get none


def test_tuck_and_rounding_are_softer_and_on_their_own_channels():
    keys = _by_first_frame(transcript_keys(PHONES, FPS, CHANNELS, 200))
    tuck, rounding = keys[76], keys[93]
    assert tuck["channels"]["mouthRollLower"] > 0.3 and 0 < tuck["weight"] < 1
    assert set(rounding["channels"]) == {"mouthPucker", "mouthFunnel"}  # the jaw stays free
    assert 0 < rounding["weight"] < tuck["weight"]
    assert (rounding["start"], rounding["end"]) == (93, 99)  # middle half of 3.0-3.4 s


def test_channels_absent_from_the_model_are_skipped():
    keys = transcript_keys(PHONES, FPS, ("jawOpen", "mouthSmileLeft"), 200)
    assert [k["channels"] for k in keys] == [{"jawOpen": 0.06}, {"jawOpen": 0.06},
                                             {"jawOpen": 0.1}]  # no pucker: no rounding key
    assert transcript_keys(PHONES, FPS, ("eyeBlinkLeft",), 200) == []


def test_keys_are_valid_for_the_sampler_and_stop_at_the_last_frame():
    keys = transcript_keys(PHONES, FPS, CHANNELS, 62)  # 62 frames: /f uw/ fall past the end
    assert [k.get("frame", k.get("start")) for k in keys] == [31, 60]
    weight, target = key_arrays(parse_keys(keys), 62, CHANNELS, 8)
    jaw, close = CHANNELS.index("jawOpen"), CHANNELS.index("mouthClose")
    assert weight[31, jaw] == 1.0 and target[31, jaw] == target[31, close] == np.float32(0.06)
    assert weight[34, jaw] == 0.0  # ease of one frame only: frame 33 eased, 34 free


def test_strength_scales_the_weights():
    full = transcript_keys(PHONES, FPS, CHANNELS, 200)
    half = transcript_keys(PHONES, FPS, CHANNELS, 200, strength=0.5)
    assert [k["weight"] for k in half] == [k["weight"] / 2 for k in full]
    assert transcript_keys(PHONES, FPS, CHANNELS, 200, strength=0.0) == []
    with pytest.raises(ValueError):
        transcript_keys(PHONES, FPS, CHANNELS, 200, strength=-1.0)


def test_phone_frames_at_another_rate():
    assert phone_frames(Phone("M", 1.0, 1.2), 60.0) == (60, 72)
    assert phone_frames(Phone("M", 1.0, 1.2), 60.0, 0.5) == (63, 69)


def test_the_closed_pose_closes_the_demo_heads_lips():
    from diffusiontalker.evaluation.speech_check import demo_head_aperture
    from diffusiontalker.synth.visemes import VISEMES

    names = list(CHANNELS)
    aperture = demo_head_aperture(names)
    pose = np.zeros((3, len(names)))
    for c, v in CLOSED.items():
        pose[0, names.index(c)] = v
    pose[1] = pose[0]
    pose[1, names.index("mouthClose")] = 0.0  # a model without mouthClose
    pose[2, names.index("jawOpen")] = 0.3  # an open mouth, for contrast
    gap = aperture(pose)
    assert gap[0] < 1e-4 and gap[1] < 0.002 < gap[2]
    bilabial = VISEMES["bilabial"].target  # the synthetic corpus's pose: one fact
    assert {c: bilabial[c] for c in ("jawOpen", "mouthClose")} == \
        {c: CLOSED[c] for c in ("jawOpen", "mouthClose")}


def test_words_that_fit_badly_get_no_keys():
    words = [Word("my", 0.9, 1.3, -2.0), Word("pop", 1.9, 2.3, tr.WORD_FIT_MIN - 60)]
    alignment = Alignment(words, PHONES, match=0.0, silence_match=0.0, attempt=0)
    kept, skipped = trusted_phones(alignment)
    assert skipped == ["pop"]
    assert [p.name for p in kept] == ["SIL", "M", "AA", "F", "UW", "T"]


def test_guidance_without_a_transcript_or_for_a_vertex_model():
    wave = np.zeros(16000, np.float32)
    assert transcript_guidance(wave, None, fps=FPS, channels=CHANNELS, num_frames=30) == ([], None)
    assert transcript_guidance(wave, "  ", fps=FPS, channels=CHANNELS, num_frames=30) == ([], None)
    keys, message = transcript_guidance(wave, "hello", fps=FPS, channels=None, num_frames=30)
    assert keys == [] and "vertices" in message and "generating without it" in message


def test_guidance_that_cannot_align_says_why_and_returns_no_keys(monkeypatch):
    from diffusiontalker.errors import AudioError

    def fail(*args, **kwargs):
        raise AudioError("the transcript does not match the audio: ...")

    monkeypatch.setattr(tr, "align_transcript", fail)
    keys, message = transcript_guidance(np.ones(16000, np.float32), "hello", fps=FPS,
                                        channels=CHANNELS, num_frames=30)
    assert keys == []
    assert message.startswith("transcript not used, generating without it: the transcript "
                              "does not match")


@pytest.mark.needs_in_ci
def test_the_demo_sentence_with_its_transcript_closes_every_bilabial():
    """End to end: the shipped model, the demo sentence and its text (data/README.md)."""
    pytest.importorskip("pocketsphinx")
    from diffusiontalker.api import load_model
    from diffusiontalker.audio.alignment import align_transcript
    from diffusiontalker.audio.loading import load_audio
    from diffusiontalker.evaluation.speech_check import check_motion, demo_head_aperture
    from diffusiontalker.paths import DATA_DIR

    text = "Hello there! I am a talking head, animated with diffusion. Watch my lips move."
    wave = load_audio(DATA_DIR / "demo_speech.wav")
    talker = load_model()
    n = talker.num_frames(wave)
    keys, message = transcript_guidance(wave, text, fps=talker.fps, channels=talker.channels,
                                        num_frames=n)
    assert message is None
    phones = align_transcript(wave, 16000, text).phones
    bilabials = [p for p in phones if p.name in ("P", "B", "M")]
    closures = [k for k in keys if k["channels"] == CLOSED]
    assert len(closures) == len(bilabials) == 5
    for key, phone in zip(closures, bilabials, strict=True):  # each inside its phone
        first, last = key.get("start", key.get("frame")), key.get("end", key.get("frame"))
        assert phone.start - 1 / talker.fps <= first / talker.fps <= last / talker.fps <= \
            phone.end + 1 / talker.fps
    aperture = demo_head_aperture(talker.channels)
    motion = talker.generate(wave, 16000, seed=0, keys=keys)
    check = check_motion(wave, 16000, motion.fps, aperture(motion.data), phones, 0.002)
    assert check.bilabials_closed == check.bilabials == 5


@pytest.mark.needs_in_ci
@pytest.mark.parametrize("runtime", ["onnx", "worker"])
def test_generate_takes_the_transcript_and_says_when_it_cannot_use_it(runtime):
    """``generate(transcript=...)`` in every runtime: the right text keys the take (its
    closures are met); a wrong one leaves the free take and a note saying why."""
    pytest.importorskip("pocketsphinx")
    from diffusiontalker.audio.loading import load_audio
    from diffusiontalker.paths import DATA_DIR
    from diffusiontalker.runtime.loader import load_talker

    text = "Hello there! I am a talking head, animated with diffusion. Watch my lips move."
    wave = load_audio(DATA_DIR / "demo_speech.wav")
    talker = load_talker(None, "cpu", runtime, threads=1)
    try:
        free = talker.generate(wave, 16000, seed=0)
        guided = talker.generate(wave, 16000, seed=0, transcript=text)
        wrong = talker.generate(wave, 16000, seed=0, transcript="banana pie for breakfast")
    finally:
        getattr(talker, "close", lambda: None)()
    assert guided.notes == [] and free.notes == []
    keys, _ = transcript_guidance(wave, text, fps=talker.fps, channels=talker.channels,
                                  num_frames=free.num_frames)
    jaw = list(talker.channels).index("jawOpen")
    for key in (k for k in keys if k["channels"] == CLOSED):
        frame = key.get("frame", key.get("start"))
        assert abs(guided.data[frame, jaw] - CLOSED["jawOpen"]) <= 0.03
    assert np.abs(guided.data - free.data).max() > 0.01
    assert len(wrong.notes) == 1 and "transcript not used" in wrong.notes[0]
    assert np.abs(wrong.data - free.data).max() <= 1e-5
