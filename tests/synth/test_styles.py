"""Identities are recognisable from their motion alone."""

from __future__ import annotations

import numpy as np

from diffusiontalker.synth.corpus import make_clip
from diffusiontalker.synth.styles import IDENTITIES, get_identity


def _features(motion: np.ndarray) -> np.ndarray:
    """Per-clip statistics: mean, spread and mean speed of every channel."""
    speed = np.abs(np.diff(motion, axis=0)).mean(axis=0)
    return np.concatenate([motion.mean(0), motion.std(0), speed])


def _speech_frames(clip) -> np.ndarray:
    """The clip's motion between the leading and trailing silences (styles show in speech)."""
    start, end = clip.alignment[0]["end"], clip.alignment[-1]["start"]
    return clip.motion[int(start * 30): int(end * 30)]


def test_identities_are_separable_by_a_nearest_centroid_classifier():
    train_per, test_per = 4, 2
    feats = {i: [_features(_speech_frames(make_clip(11, i, u, augment_audio=False)))
                 for u in range(train_per + test_per)] for i in range(len(IDENTITIES))}
    train = np.array([f for i in feats for f in feats[i][:train_per]])
    mu, sd = train.mean(0), train.std(0) + 1e-6
    centroids = np.stack([(np.mean(feats[i][:train_per], 0) - mu) / sd for i in feats])
    correct = total = 0
    for i in feats:
        for f in feats[i][train_per:]:
            guess = int(np.argmin(((centroids - (f - mu) / sd) ** 2).sum(1)))
            correct += guess == i
            total += 1
    accuracy = correct / total
    print(f"nearest-centroid identity accuracy {accuracy:.2f}")
    assert accuracy >= 0.7, accuracy  # chance is 1/16


def test_identities_are_distinct_and_named():
    names = [i.name for i in IDENTITIES]
    assert len(set(names)) == len(names) >= 12
    assert len({i.voice for i in IDENTITIES}) >= 12
    assert len({i.style for i in IDENTITIES}) == len(IDENTITIES)
    assert get_identity("ada").voice.startswith("en-us")
