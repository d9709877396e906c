"""Augmentations keep the length and timing of the speech."""

from __future__ import annotations

import numpy as np
import pytest

from diffusiontalker.synth import augment as aug

SR = 16000


def _click_train():
    x = np.zeros(SR * 2)
    x[[4000, 12000, 20000]] = 1.0  # clicks at known times
    return x


@pytest.mark.parametrize("transform", [
    lambda x, r: aug.add_noise(x, r, 10.0, "white"),
    lambda x, r: aug.add_noise(x, r, 10.0, "pink"),
    lambda x, r: aug.add_noise(x, r, 10.0, "babble"),
    lambda x, r: aug.reverberate(x, SR, r, 0.5, 0.5),
    lambda x, r: aug.band_limit(x, SR, 300.0, 3400.0),
    lambda x, r: aug.through_lower_rate(x, SR, 8000),
])
def test_each_transform_keeps_length_and_timing(transform):
    x = _click_train()
    y = transform(x, np.random.default_rng(0))
    assert len(y) == len(x)
    if not np.allclose(y, x):
        # the first click is still where it was (no shift of the timeline)
        window = np.abs(y[3900:4100])
        assert abs(int(np.argmax(window)) - 100) <= 3


def test_noise_snr_is_as_asked():
    rng = np.random.default_rng(0)
    x = np.sin(np.arange(SR) * 0.05)
    y = aug.add_noise(x, rng, 10.0, "white")
    snr = 10 * np.log10(np.mean(x ** 2) / np.mean((y - x) ** 2))
    assert snr == pytest.approx(10.0, abs=0.01)


def test_augment_chain_is_seeded_and_keeps_some_clips_clean():
    x = (np.sin(np.arange(SR) * 0.05) * 0.5).astype(np.float32)
    a, desc_a = aug.augment(x, SR, np.random.default_rng(3))
    b, desc_b = aug.augment(x, SR, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert desc_a == desc_b and len(a) == len(x) and a.dtype == np.float32
    assert np.abs(a).max() <= 0.99 + 1e-6
    kinds = [aug.augment(x, SR, np.random.default_rng(s))[1] for s in range(60)]
    clean = sum(len(d) == 1 for d in kinds)  # only the gain
    assert 5 <= clean <= 30
    assert any("reverb" in " ".join(d) for d in kinds)
