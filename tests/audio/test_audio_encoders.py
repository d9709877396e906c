"""Mel frontend, AudioAdapter and the config round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from diffusiontalker.audio.build import build_frontend
from diffusiontalker.audio.frontends import (
    AudioEncoderConfig,
    AudioEncoderError,
    interpolate_to_frames,
)
from diffusiontalker.network.adapter import AudioAdapter


def test_config_round_trip_and_errors():
    cfg = AudioEncoderConfig(kind="whisper", source="openai/whisper-tiny.en", layer=2)
    assert AudioEncoderConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(AudioEncoderError, match="unknown audio encoder kind 'mfcc'"):
        AudioEncoderConfig(kind="mfcc")
    with pytest.raises(AudioEncoderError, match="needs a source"):
        AudioEncoderConfig(kind="hubert")
    with pytest.raises(AudioEncoderError, match=r"AudioEncoderConfig has unknown keys \['bogus'\]"):
        AudioEncoderConfig.from_dict({"kind": "mel", "bogus": 1})


@pytest.mark.parametrize("seconds", [0.01, 1.0, 2.345])
def test_mel_frontend_shape_and_rate(seconds):
    frontend = build_frontend(AudioEncoderConfig(kind="mel", n_mels=40))
    wave = np.random.default_rng(1).standard_normal(int(16000 * seconds)).astype(np.float32)
    feats = frontend(wave)
    assert frontend.rate_hz == 100.0 and frontend.dim == 40
    assert feats.shape == (max(1, round(wave.shape[0] / 160)), 40) and feats.dtype == np.float32
    np.testing.assert_array_equal(frontend(wave), feats)  # deterministic


def test_cache_key_depends_on_config():
    a = build_frontend({"kind": "mel", "n_mels": 80})
    b = build_frontend({"kind": "mel", "n_mels": 40})
    assert a.cache_key() == build_frontend({"kind": "mel"}).cache_key()
    assert a.cache_key() != b.cache_key()


def test_interpolation_times():
    feats = torch.arange(10, dtype=torch.float32).view(1, 10, 1)  # value = feature index
    out = interpolate_to_frames(feats, rate_hz=100.0, fps=30.0, num_frames=4)
    # motion frame i sits at feature position i * 100 / 30
    np.testing.assert_allclose(out[0, :, 0].numpy(), [0.0, 10 / 3, 20 / 3, 9.0], atol=1e-6)
    up = interpolate_to_frames(feats, rate_hz=50.0, fps=100.0, num_frames=5)
    np.testing.assert_allclose(up[0, :, 0].numpy(), [0.0, 0.5, 1.0, 1.5, 2.0])


@pytest.mark.parametrize("kind,in_dim,rate", [("conv", 80, 100.0), ("linear", 32, 50.0)])
def test_adapter_shapes_and_gradients(kind, in_dim, rate):
    torch.manual_seed(0)
    adapter = AudioAdapter(in_dim, rate, fps=30.0, d_model=64, kind=kind)
    feats = torch.randn(3, int(rate * 2), in_dim)
    out = adapter(feats, num_frames=60)
    assert out.shape == (3, 60, 64)
    out.square().mean().backward()
    assert all(p.grad is not None for p in adapter.parameters())


def test_conv_adapter_is_compact():
    adapter = AudioAdapter(80, 100.0, 30.0, d_model=256, kind="conv")
    params = sum(p.numel() for p in adapter.parameters())
    assert 100_000 < params < 600_000


def test_adapter_rejects_wrong_width():
    adapter = AudioAdapter(80, 100.0, 30.0, d_model=16)
    with pytest.raises(AudioEncoderError, match=r"expects features \(B, F, 80\)"):
        adapter(torch.zeros(1, 10, 40), 3)
    with pytest.raises(AudioEncoderError, match="unknown adapter kind"):
        AudioAdapter(80, 100.0, 30.0, d_model=16, kind="gru")


def test_mel_cmvn_is_level_invariant():
    """CMVN features: zero mean, unit variance per bin, and the same for a quieter copy."""
    wave = np.random.default_rng(3).standard_normal(16000).astype(np.float32) * 0.1
    frontend = build_frontend(AudioEncoderConfig(kind="mel", normalize="cmvn"))
    loud, quiet = frontend(wave), frontend(wave * 0.05)
    np.testing.assert_allclose(loud.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(loud.std(0), 1.0, atol=0.01)
    assert np.median(np.abs(loud - quiet)) < 0.01  # the level is gone (bar the log floor)
    with pytest.raises(AudioEncoderError, match="normalisation"):
        AudioEncoderConfig(kind="mel", normalize="loudest")
