"""The v2 articulation model: anticipation (the mouth is never late), jaw and lips apart
(JALI), sealed bilabials with a release, the labiodental tuck, a still mouth in pauses, and
the corpus's statistics against real ARKit capture (BEAT)."""

from __future__ import annotations

import numpy as np

from diffusiontalker.channels import FULL_FACE_CHANNELS
from diffusiontalker.synth.articulation import ARTICULATION_CHANNELS, articulate, lip_aperture
from diffusiontalker.synth.corpus import make_clip
from diffusiontalker.synth.espeak import Phone
from diffusiontalker.synth.styles import IDENTITIES, MotionStyle

A = {n: i for i, n in enumerate(ARTICULATION_CHANNELS)}
F = {n: i for i, n in enumerate(FULL_FACE_CHANNELS)}
MS = 1000.0  # articulate at 1000 fps: one frame a millisecond


def _phones(*spec):
    """Phones from (phoneme, duration) pairs, back to back from 0."""
    out, t = [], 0.0
    for name, d in spec:
        out.append(Phone(name, t, t + d))
        t += d
    return out


def test_bilabial_closure_starts_before_the_segment_and_releases_at_its_end():
    phones = _phones(("_", 0.4), ("ɑː", 0.2), ("p", 0.08), ("ɑː", 0.2), ("_", 0.4))
    m = articulate(phones, 1280, MotionStyle(), fps=MS)
    aperture = lip_aperture(m)
    start, end = 0.6, 0.68
    assert aperture[int((start - 0.02) * MS)] < 1e-3  # sealed 20 ms ahead of the sound
    assert aperture[int(start * MS): int(end * MS)].max() < 1e-3  # and all through it
    assert aperture[int((start - 0.1) * MS)] > 0.1  # open on the vowel before
    assert aperture[int((end + 0.04) * MS)] > 0.05  # released right after
    sealed = slice(int(start * MS), int(end * MS))
    np.testing.assert_allclose(m[sealed, A["mouthClose"]], m[sealed, A["jawOpen"]], atol=1e-9)
    assert m[sealed, A["mouthPressLeft"]].min() > 0.3  # compressed lips


def test_a_plosive_release_parts_the_lips_before_a_pause():
    phones = _phones(("_", 0.3), ("ʌ", 0.15), ("p", 0.08), ("_", 0.6))
    m = articulate(phones, 1130, MotionStyle(), fps=MS)
    lips = m[:, A["mouthLowerDownLeft"]] + m[:, A["mouthUpperUpLeft"]]
    after = lips[int(0.53 * MS): int(0.6 * MS)]
    assert after.max() > 0.05  # the burst
    assert lip_aperture(m)[int(0.95 * MS):].max() < 1e-3  # then the mouth rests


def test_rounding_starts_well_ahead_of_a_rounded_vowel():
    def pucker(vowel):
        phones = _phones(("_", 0.3), ("s", 0.1), ("t", 0.08), (vowel, 0.25), ("_", 0.4))
        m = articulate(phones, 1130, MotionStyle(), fps=MS)
        return m[:, A["mouthPucker"]] + m[:, A["mouthFunnel"]]

    onset = 0.48
    rounded, spread = pucker("uː"), pucker("iː")
    at = int((onset - 0.12) * MS)  # 120 ms before the vowel, in the /s/
    assert rounded[at] > 0.25 and rounded[at] > spread[at] + 0.2


def test_loudness_moves_the_jaw_not_the_lips():
    phones = _phones(("_", 0.2), ("w", 0.1), ("ɑː", 0.25), ("f", 0.1), ("iː", 0.2), ("_", 0.3))
    style = MotionStyle(loudness_coupling=0.8)
    quiet = articulate(phones, 35, style, np.full(35, 0.3))
    loud = articulate(phones, 35, style, np.full(35, 1.0))
    speech = slice(8, 30)
    assert loud[speech, A["jawOpen"]].mean() > 1.5 * quiet[speech, A["jawOpen"]].mean()
    for name in ("mouthPucker", "mouthFunnel", "mouthStretchLeft", "mouthRollLower",
                 "mouthLowerDownLeft", "mouthUpperUpRight"):
        np.testing.assert_allclose(loud[speech, A[name]], quiet[speech, A[name]], atol=1e-9)


def test_labiodentals_tuck_the_lower_lip():
    phones = _phones(("_", 0.3), ("ɑː", 0.2), ("f", 0.12), ("ɑː", 0.2), ("_", 0.3))
    m = articulate(phones, 34, MotionStyle())
    f = int(0.56 * 30)
    assert 0.5 <= m[f, A["mouthRollLower"]] <= 0.8
    assert 0.03 < m[f, A["mouthUpperUpLeft"]] < 0.3


def test_pauses_rest_still_and_closed():
    phones = _phones(("_", 0.3), ("ɑː", 0.3), ("_", 1.0), ("ɑː", 0.3), ("_", 0.3))
    for identity in IDENTITIES:
        m = articulate(phones, 66, identity.style, np.r_[np.zeros(9), np.ones(9),
                                                         np.zeros(30), np.ones(9), np.zeros(9)])
        pause = slice(int(0.85 * 30), int(1.45 * 30))
        assert lip_aperture(m)[pause].max() < 1e-3, identity.name
        assert m[pause, A["jawOpen"]].max() <= 0.03
        assert np.ptp(m[pause, A["jawOpen"]]) < 1e-3  # still: no drift opens the jaw


def _speech(clip):
    start, end = clip.alignment[0]["end"], clip.alignment[-1]["start"]
    return slice(int(start * 30), int(end * 30))


def test_corpus_vowels_closures_and_statistics_match_real_capture():
    """Over a small corpus: open vowels open >= 1.8x the close ones, rounded vowels round,
    bilabials seal, and jawOpen/mouthClose sit near BEAT's means (0.18 and 0.10)."""
    clips = [make_clip(3, k, k, augment_audio=False) for k in range(8)]
    speech = np.concatenate([c.motion[_speech(c)] for c in clips])
    assert 0.14 < speech[:, F["jawOpen"]].mean() < 0.23
    assert 0.07 < speech[:, F["mouthClose"]].mean() < 0.13
    groups = {"open": {"a", "æ", "ʌ", "ɑ", "ɔ", "aɪ", "aʊ", "ɑː", "ɔː"},
              "close": {"i", "ɪ", "u", "ʊ", "iː", "uː"},
              "round": {"u", "uː", "o", "oʊ", "w", "ɔɪ", "ʊ", "əʊ"}, "spread": {"i", "iː", "ɛ", "æ"}}
    values = {g: [] for g in groups}
    sealed, vowels = [], []
    for c in clips:
        ap = lip_aperture(c.motion)
        lead = next(i for i in IDENTITIES if i.name == c.speaker).style.lead
        t = np.arange(len(ap)) / 30 + lead
        for a in c.alignment:
            ph = a["phoneme"].strip("ˈˌ")
            frames = (t >= a["start"]) & (t < a["end"])
            if not frames.any():
                continue
            rounding = c.motion[frames, F["mouthPucker"]] + c.motion[frames, F["mouthFunnel"]]
            for g, members in groups.items():
                if ph in members:
                    values[g].append(rounding.mean() if g in ("round", "spread")
                                     else ap[frames].mean())
            if ph in groups["open"]:
                vowels.append(ap[frames].mean())
            if ph in ("p", "b", "m"):  # the take's own timing jitter: 8 ms either side
                sealed.append(ap[(t >= a["start"] - 0.02) & (t <= a["end"] - 0.01)].max(
                    initial=0.0))
    assert np.mean(values["open"]) >= 1.8 * np.mean(values["close"])
    assert np.mean(values["round"]) > 2.0 * np.mean(values["spread"])
    assert len(sealed) >= 10 and max(sealed) < 0.35 * np.median(vowels)
