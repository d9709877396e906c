"""The full face of the v2 corpus: all 55 channels move on speech, head rotation is small and
tied to prosody, gaze is conjugate with saccades, smiles reach the eyes."""

from __future__ import annotations

import numpy as np

from diffusiontalker.channels import ARKIT_CHANNELS, FULL_FACE_CHANNELS
from diffusiontalker.synth.corpus import make_clip
from diffusiontalker.synth.espeak import Phone
from diffusiontalker.synth.face import face_motion
from diffusiontalker.synth.full_face import head_rotation, phrase_ends, stressed_vowels
from diffusiontalker.synth.styles import IDENTITIES, MotionStyle

F = {n: i for i, n in enumerate(FULL_FACE_CHANNELS)}


def _clips(n=8, seed=5):
    return [make_clip(seed, k % len(IDENTITIES), k, augment_audio=False) for k in range(n)]


def test_every_channel_moves_and_head_rotation_stays_small():
    clips = _clips()
    motion = np.concatenate([c.motion for c in clips])
    assert motion.shape[1] == 55
    p5, p95 = np.percentile(motion, 5, axis=0), np.percentile(motion, 95, axis=0)
    flat = [n for n, lo, hi in zip(FULL_FACE_CHANNELS, p5, p95, strict=True) if hi - lo < 0.01
            and n not in ("tongueOut", "cheekPuff")]
    assert not flat, flat
    for name in ("tongueOut", "cheekPuff"):  # brief by nature: only on their phones
        assert motion[:, F[name]].max() > 0.05
    assert motion[:, F["tongueOut"]].max() <= 0.3
    for name, limit in (("headYaw", 0.15), ("headPitch", 0.12), ("headRoll", 0.08)):
        assert np.abs(motion[:, F[name]]).max() <= limit
        assert motion[:, F[name]].std() > 0.005
    assert 0.0 <= motion[:, : len(ARKIT_CHANNELS)].min()
    assert motion[:, : len(ARKIT_CHANNELS)].max() <= 1.0


def test_gaze_is_conjugate_small_and_jumps_in_saccades():
    for clip in _clips(4):
        m = clip.motion
        np.testing.assert_array_equal(m[:, F["eyeLookOutLeft"]], m[:, F["eyeLookInRight"]])
        np.testing.assert_array_equal(m[:, F["eyeLookInLeft"]], m[:, F["eyeLookOutRight"]])
        np.testing.assert_array_equal(m[:, F["eyeLookUpLeft"]], m[:, F["eyeLookUpRight"]])
        # never looking left and right (or up and down) at once
        assert not np.any((m[:, F["eyeLookOutLeft"]] > 0) & (m[:, F["eyeLookInLeft"]] > 0))
        assert not np.any((m[:, F["eyeLookUpLeft"]] > 0) & (m[:, F["eyeLookDownLeft"]] > 0))
        gaze = [F[n] for n in FULL_FACE_CHANNELS if n.startswith("eyeLook")]
        assert m[:, gaze].max() <= 0.4
    step = np.abs(np.diff(np.concatenate([c.motion for c in _clips(4)])[:, F["eyeLookOutLeft"]]))
    assert step.max() > 0.05 and np.median(step) < 0.01  # quick saccades between fixations


def test_nods_fall_on_stressed_syllables_and_questions_tilt():
    phones = [Phone("_", 0.0, 0.3), Phone("ˈɑː", 0.3, 0.6), Phone("t", 0.6, 0.7),
              Phone("ə", 0.7, 0.8), Phone("ˈɑː", 0.8, 1.1), Phone("_", 1.1, 2.0)]
    assert [p.start for p in stressed_vowels(phones)] == [0.3, 0.8]
    assert phrase_ends(phones) == [1.1]
    times = np.arange(60) / 30
    calm = MotionStyle(nod_rate=0.0, head_gain=1.0)
    nodding = MotionStyle(nod_rate=1.0, head_gain=1.0)
    a = head_rotation(phones, times, calm, np.random.default_rng(0), 30.0, False)
    b = head_rotation(phones, times, nodding, np.random.default_rng(0), 30.0, False)
    nod = b["headPitch"] - a["headPitch"]
    assert nod[int(0.3 * 30): int(0.8 * 30)].max() > 0.01 and np.abs(nod[:4]).max() < 1e-3
    q = head_rotation(phones, times, calm, np.random.default_rng(0), 30.0, True)
    assert np.abs(q["headRoll"] - a["headRoll"]).max() > 0.015


def test_smiles_reach_the_eyes_and_styles_differ_in_the_head():
    u = [Phone("_", 0.0, 0.2), Phone("iː", 0.2, 1.0), Phone("_", 1.0, 1.5)]
    audio = np.zeros(24000, np.float32)
    plain = face_motion(u, audio, 16000, MotionStyle(smile_bias=0.0), np.random.default_rng(1))
    smiley = face_motion(u, audio, 16000, MotionStyle(smile_bias=0.4), np.random.default_rng(1))
    for name in ("eyeSquintLeft", "cheekSquintRight", "mouthDimpleLeft"):
        assert smiley[:, F[name]].mean() > plain[:, F[name]].mean() + 0.05
    styles = {i.name: i.style for i in IDENTITIES}
    assert len({(s.head_gain, s.gaze_range, s.gaze_hold) for s in styles.values()}) == 16
    still = [make_clip(2, 3, k, augment_audio=False).motion for k in range(2)]  # dmitri
    lively = [make_clip(2, 5, k, augment_audio=False).motion for k in range(2)]  # felix
    spread = [np.concatenate(x)[:, [F["headYaw"], F["headPitch"]]].std() for x in (still, lively)]
    assert spread[1] > 1.5 * spread[0]
