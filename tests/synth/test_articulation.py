"""The articulation model: resting mouth in silence, closed lips at bilabials, coarticulation,
loudness coupling and a stochastic upper face."""

from __future__ import annotations

import numpy as np
import pytest

from diffusiontalker.channels import CHANNELS, FULL_FACE_CHANNELS
from diffusiontalker.synth.articulation import articulate, lip_aperture, loudness_envelope
from diffusiontalker.synth.espeak import Phone, synthesize
from diffusiontalker.synth.face import face_motion
from diffusiontalker.synth.styles import IDENTITIES, MotionStyle

IDX = {n: i for i, n in enumerate(FULL_FACE_CHANNELS)}
SR = 22050


def test_silence_gives_a_closed_resting_mouth():
    silence = np.zeros(SR * 2, np.float32)
    for identity in IDENTITIES:
        phones = [Phone("_", 0.0, 2.0)]
        m = face_motion(phones, silence, SR, identity.style, np.random.default_rng(0))
        assert m.shape == (60, len(FULL_FACE_CHANNELS)) and m.dtype == np.float32
        assert np.all(m[:, IDX["jawOpen"]] <= 0.03)
        np.testing.assert_allclose(m[:, IDX["mouthClose"]], m[:, IDX["jawOpen"]], atol=1e-6)
        assert np.all(lip_aperture(m) < 1e-3), identity.name
        for name in ("mouthFunnel", "mouthPucker", "mouthLowerDownLeft", "mouthUpperUpRight"):
            assert np.all(m[:, IDX[name]] < 1e-3)


def test_long_pause_inside_speech_relaxes_to_rest():
    u = synthesize("Look at that. And then we left.", "en-us", rate=140)
    m = face_motion(u.phones, u.audio, u.sample_rate, MotionStyle(), np.random.default_rng(0))
    pauses = [p for p in u.phones if p.phoneme == "_" and p.end - p.start > 0.25]
    assert pauses
    p = pauses[0]
    mid = int(round(0.5 * (p.start + p.end) * 30))
    assert lip_aperture(m)[mid] < 0.05
    assert lip_aperture(m).max() > 0.3  # and it does open while speaking


@pytest.mark.parametrize("identity", IDENTITIES[:4], ids=lambda i: i.name)
def test_bilabials_close_the_lips_at_their_times(identity):
    u = synthesize("Bob bought a pumpkin. Maybe my mom moved the map.", identity.voice,
                   identity.rate, identity.pitch, identity.pitch_range)
    m = face_motion(u.phones, u.audio, u.sample_rate, identity.style, np.random.default_rng(1))
    aperture = lip_aperture(m)
    bilabials = [p for p in u.phones if p.phoneme.strip("ˈˌ") in ("p", "b", "m")]
    assert len(bilabials) >= 8
    for p in bilabials:
        # the style may lead or lag the sound by a few tens of ms: look where it puts them
        frame = min(int(round((0.5 * (p.start + p.end) - identity.style.lead) * 30)), len(m) - 1)
        assert aperture[frame] < 1e-3, (p, aperture[frame])
        assert m[frame, IDX["mouthPressLeft"]] > 0.2
    # between the bilabials the mouth opens for the vowels (v2: the lips cancel part of the
    # jaw's opening on vowels too, as mouthClose does in real capture, so the gap is smaller)
    vowels = [p for p in u.phones if p.phoneme.strip("ˈˌ") in ("ɑː", "ɔː", "æ", "ʌ", "ɒ")]
    assert max(aperture[int(round(0.5 * (p.start + p.end) * 30))] for p in vowels) > 0.18


def test_rounded_and_spread_vowels_and_labiodentals():
    phones = [Phone("_", 0, 0.2), Phone("uː", 0.2, 0.5), Phone("_", 0.5, 0.9),
              Phone("iː", 0.9, 1.2), Phone("_", 1.2, 1.6), Phone("f", 1.6, 1.75),
              Phone("_", 1.75, 2.2)]
    m = articulate(phones, 66, MotionStyle())
    u, i, f = 10, 31, 50  # frames in the middle of each
    assert m[u, CHANNELS.index("mouthPucker")] > 0.4
    assert m[i, CHANNELS.index("mouthStretchLeft")] > 0.25
    assert m[i, CHANNELS.index("mouthPucker")] < 0.05
    assert m[f, CHANNELS.index("mouthRollLower")] > 0.3


def test_coarticulation_anticipates_rounding():
    """/s/ before /u/ is rounded already (anticipation); before /i/ it is not."""
    def s_frame_pucker(vowel):
        phones = [Phone("_", 0, 0.3), Phone("s", 0.3, 0.42), Phone(vowel, 0.42, 0.7),
                  Phone("_", 0.7, 1.0)]
        return articulate(phones, 30, MotionStyle())[11, CHANNELS.index("mouthPucker")]

    assert s_frame_pucker("uː") > s_frame_pucker("iː") + 0.1


def test_mouth_opening_follows_loudness():
    u = synthesize("Hmm, I said that already, and I meant every word of it.", "en-us")
    m = face_motion(u.phones, u.audio, u.sample_rate, MotionStyle(), np.random.default_rng(0))
    env = loudness_envelope(u.audio, u.sample_rate, len(m))
    assert np.corrcoef(env, m[:, IDX["jawOpen"]])[0, 1] > 0.5


def test_upper_face_differs_between_seeds_and_blinks_are_brief():
    u = synthesize("This is a rather long sentence about nothing at all, said slowly and "
                   "with some care, so that the eyes have time to blink.", "en-us", rate=120)
    style = IDENTITIES[8].style  # blinks often
    a = face_motion(u.phones, u.audio, u.sample_rate, style, np.random.default_rng(1))
    b = face_motion(u.phones, u.audio, u.sample_rate, style, np.random.default_rng(2))
    upper = [IDX[n] for n in ("browInnerUp", "eyeBlinkLeft", "eyeBlinkRight")]
    assert not np.allclose(a[:, upper], b[:, upper])
    again = face_motion(u.phones, u.audio, u.sample_rate, style, np.random.default_rng(1))
    np.testing.assert_array_equal(a, again)
    blink = a[:, IDX["eyeBlinkLeft"]] > 0.5
    assert blink.any()
    runs = np.diff(np.flatnonzero(np.diff(np.r_[0, blink.astype(int), 0])))[::2]
    assert runs.max() <= 6  # frames above half-closed: about 0.1-0.2 s
    assert np.corrcoef(a[:, IDX["eyeBlinkLeft"]], a[:, IDX["eyeBlinkRight"]])[0, 1] > 0.8
