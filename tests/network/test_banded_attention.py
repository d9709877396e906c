"""The banded cross-attention and per-window constants give the dense masked denoiser's results.

``dense_forward`` below is the denoiser as it was before issue 18 (every step rebuilt the ALiBi
bias and a dense ``T × T`` alignment mask, and the cross-attention multiplied all ``T × T``
pairs); the module's own forward must agree with it within 1e-5 on random inputs, with and
without a padding mask, and on a tiny model's whole generate with a fixed seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from diffusiontalker.diffusion.schedule import log_snr
from diffusiontalker.network.denoiser import (
    Attention,
    Denoiser,
    DenoiserConfig,
    alignment_mask,
    band_neighbours,
    periodic_positional_encoding,
    sinusoidal_embedding,
    temporal_bias,
)

TOLERANCE = 1e-5
DATA = Path(__file__).resolve().parents[1] / "runtime" / "data"


def dense_forward(net: Denoiser, z, u, audio, identity, mask=None):
    """The pre-issue-18 denoiser forward: dense cross-attention under an alignment mask."""
    b, t, _ = z.shape
    cfg = net.config
    time = net.time_mlp(sinusoidal_embedding(log_snr(u).float().to(z.device) * 25.0, cfg.d_model))
    cond = time + net.id_proj(identity)
    pos = periodic_positional_encoding(t, cfg.d_model, cfg.period, z.device)
    h = net.in_proj(z) + pos[None] + cond[:, None]
    audio_h = net.audio_proj(audio)
    neg = torch.finfo(h.dtype).min / 2
    self_bias = temporal_bias(t, net.slopes.to(h.dtype))[None].expand(b, -1, -1, -1)
    cross_allowed = alignment_mask(t, cfg.align_window, z.device)[None, None]
    cross_bias = torch.zeros(1, 1, t, t, dtype=h.dtype).masked_fill(~cross_allowed, neg)
    if mask is not None:
        key_pad = (~mask.bool())[:, None, None, :]
        self_bias = self_bias.masked_fill(key_pad, neg)
        cross_bias = cross_bias.masked_fill(key_pad, neg)
    for layer in net.layers:
        s1, b1, s2, b2 = layer.film(cond)[:, None].chunk(4, dim=-1)
        x = layer.norm_self(h) * (1 + s1) + b1
        h = h + layer.self_attn(x, x, self_bias)
        h = h + Attention.forward(layer.cross_attn, layer.norm_cross(h), audio_h, cross_bias)
        x = layer.norm_ff(h) * (1 + s2) + b2
        h = h + layer.ff(x)
    return net.out(net.out_norm(h))


def _random_denoiser(window: int, seed: int) -> Denoiser:
    torch.manual_seed(seed)
    net = Denoiser(DenoiserConfig(in_dim=6, audio_dim=8, id_dim=4, d_model=16, num_layers=2,
                                  num_heads=2, align_window=window, period=5))
    for p in net.parameters():  # zero-initialised FiLM and output layers would hide differences
        torch.nn.init.normal_(p, std=0.5)
    return net.eval()


def _inputs(batch: int, frames: int, seed: int):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, frames, 6, generator=gen), torch.rand(batch, generator=gen),
            torch.randn(batch, frames, 8, generator=gen), torch.randn(batch, 4, generator=gen))


@pytest.mark.parametrize("window", [0, 1, 2, 4])
@pytest.mark.parametrize("frames", [1, 3, 7, 40])
def test_banded_denoiser_equals_the_dense_masked_one(window, frames):
    net = _random_denoiser(window, seed=window * 100 + frames)
    inputs = _inputs(2, frames, seed=frames)
    with torch.no_grad():
        ours, reference = net(*inputs), dense_forward(net, *inputs)
        again = net(*inputs)  # the second step reuses the cached window constants
    assert reference.abs().max() > 0.1  # not a comparison of zeros
    assert (ours - reference).abs().max() <= TOLERANCE
    assert torch.equal(again, ours)


@pytest.mark.parametrize("window", [1, 2])
def test_padding_mask_gives_the_dense_results_on_real_frames(window):
    net = _random_denoiser(window, seed=7).train()
    z, u, audio, identity = _inputs(3, 25, seed=3)
    mask = torch.zeros(3, 25, dtype=torch.bool)
    for row, length in enumerate((25, 17, 4)):
        mask[row, :length] = True
    ours = net(z, u, audio, identity, mask)
    reference = dense_forward(net, z, u, audio, identity, mask)
    # padded frames are never attended to, so only their own (unused) outputs may differ
    assert (ours - reference)[mask].abs().max() <= TOLERANCE
    ours[mask].sum().backward()  # training still differentiates through the banded form
    assert net.layers[0].cross_attn.kv.weight.grad.abs().sum() > 0


def test_prepared_audio_gives_the_same_numbers_as_the_tokens():
    net = _random_denoiser(2, seed=5)
    z, u, audio, identity = _inputs(2, 33, seed=5)
    with torch.no_grad():
        context = net.prepare_audio(audio)
        prepared = net(z, u, context, identity)
        assert torch.equal(prepared, net(z, u, audio, identity))
        assert (prepared - dense_forward(net, z, u, audio, identity)).abs().max() <= TOLERANCE
    assert [[x.shape for x in kv] for kv in context.neighbours] == [[(2, 33, 5, 2, 8)] * 2] * 2


def test_window_constants_are_built_once_per_length_device_and_dtype():
    net = _random_denoiser(2, seed=0)
    first = net.window_constants(30, torch.device("cpu"), torch.float32)
    assert net.window_constants(30, torch.device("cpu"), torch.float32) is first
    assert net.window_constants(31, torch.device("cpu"), torch.float32) is not first
    double = net.window_constants(30, torch.device("cpu"), torch.float64)
    assert double.self_bias.dtype == torch.float64
    assert torch.allclose(double.self_bias.float(), first.self_bias)


def test_band_neighbours_pad_with_zeros_outside_the_window():
    x = torch.arange(1, 5, dtype=torch.float32).view(1, 4, 1)
    got = band_neighbours(x, 1)[0, :, :, 0]
    assert got.tolist() == [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 0]]


def test_tiny_model_generate_matches_the_dense_denoiser(monkeypatch):
    from diffusiontalker.api import load_model

    talker = load_model(DATA / "tiny_channels.safetensors")
    wave = (0.1 * np.random.default_rng(0).standard_normal(16000 * 3)).astype(np.float32)
    banded = talker.generate(wave, 16000, identity="ada", steps=4, seed=3).data
    monkeypatch.setattr(Denoiser, "forward", dense_forward)
    monkeypatch.setattr(Denoiser, "prepare_audio", lambda self, audio: audio)  # dense: raw tokens
    dense = talker.generate(wave, 16000, identity="ada", steps=4, seed=3).data
    assert np.abs(dense).max() > 0.01
    assert np.abs(banded - dense).max() <= TOLERANCE
