"""Denoiser, identity library (InfoNCE separation, blends, errors) and motion normalisation."""

from __future__ import annotations

import pytest
import torch

from diffusiontalker.errors import IdentityError
from diffusiontalker.network.denoiser import Denoiser, DenoiserConfig, alignment_mask
from diffusiontalker.network.identity import IdentityConfig, IdentityLibrary
from diffusiontalker.network.normalization import MotionNormalizer


def _tiny_denoiser(**kw) -> Denoiser:
    cfg = DenoiserConfig(in_dim=6, audio_dim=8, id_dim=4, d_model=16, num_layers=2,
                         num_heads=2, align_window=1, period=5, **kw)
    return Denoiser(cfg)


def test_denoiser_shapes_and_zero_initialised_output():
    net = _tiny_denoiser()
    z = torch.randn(2, 11, 6)
    out = net(z, torch.tensor([0.3, 0.9]), torch.randn(2, 11, 8), torch.randn(2, 4))
    assert out.shape == (2, 11, 6)
    assert torch.count_nonzero(out) == 0  # zero-initialised output layer


def test_denoiser_cross_attention_respects_alignment_window():
    torch.manual_seed(0)
    net = _tiny_denoiser()
    torch.nn.init.normal_(net.out.weight)
    for layer in net.layers:  # remove self-attention/FF mixing so only cross-attention links
        for p in (*layer.self_attn.parameters(), *layer.ff.parameters()):
            torch.nn.init.zeros_(p)
    z, audio, ident = torch.randn(1, 12, 6), torch.randn(1, 12, 8), torch.randn(1, 4)
    u = torch.tensor([0.5])
    base = net(z, u, audio, ident)
    audio2 = audio.clone()
    audio2[0, 10] += 5.0
    changed = (net(z, u, audio2, ident) - base).abs().sum(-1)[0] > 1e-6
    # two layers of ±1 cross-attention => only frames 9..11 can see audio token 10
    assert changed.nonzero().flatten().tolist() == [9, 10, 11]
    assert alignment_mask(4, 1).sum().item() == 10


def test_denoiser_padding_mask_isolates_padded_frames():
    torch.manual_seed(1)
    net = _tiny_denoiser()
    torch.nn.init.normal_(net.out.weight)
    z, audio, ident = torch.randn(1, 10, 6), torch.randn(1, 10, 8), torch.randn(1, 4)
    mask = torch.zeros(1, 10, dtype=torch.bool)
    mask[0, :6] = True
    u = torch.tensor([0.4])
    a = net(z, u, audio, ident, mask)
    z2 = z.clone()
    z2[0, 8] = 100.0
    b = net(z2, u, audio, ident, mask)
    assert torch.allclose(a[0, :6], b[0, :6], atol=1e-5)


def test_normalizer_round_trip_plain_and_pca():
    torch.manual_seed(0)
    frames = torch.randn(200, 3) @ torch.randn(3, 12) + 2.0
    plain = MotionNormalizer(12).fit(frames)
    assert torch.allclose(plain.decode(plain.encode(frames)), frames, atol=1e-4)
    assert torch.allclose(plain.encode(frames).std(0), torch.ones(12), atol=1e-3)
    pca = MotionNormalizer(12, components=3).fit(frames)
    assert pca.encode(frames).shape == (200, 3)
    assert torch.allclose(pca.decode(pca.encode(frames)), frames, atol=1e-3)


def _library(names=("ada", "bo", "cy")) -> IdentityLibrary:
    torch.manual_seed(0)
    return IdentityLibrary(IdentityConfig(names=list(names), dim=8, audio_dim=6, hidden=16))


def test_identity_blends_strength_and_errors():
    lib = _library()
    neutral, w = lib.resolve(None)
    assert w == {} and torch.allclose(neutral, lib.embeddings.mean(0))
    ada, w = lib.resolve("ada")
    assert w == {"ada": 1.0} and torch.allclose(ada, lib.embeddings[0])
    blend, w = lib.resolve({"ada": 1, "bo": 3})
    assert w == {"ada": 0.25, "bo": 0.75}
    assert torch.allclose(blend, 0.25 * lib.embeddings[0] + 0.75 * lib.embeddings[1], atol=1e-6)
    half, _ = lib.resolve("bo", style_strength=0.5)
    assert torch.allclose(half, 0.5 * (neutral + lib.embeddings[1]), atol=1e-6)
    zero, _ = lib.resolve("bo", style_strength=0.0)
    assert torch.allclose(zero, neutral)
    with pytest.raises(IdentityError, match="unknown identity 'zed'; known identities: ada, bo, cy"):
        lib.resolve({"zed": 1.0})
    with pytest.raises(IdentityError, match="non-negative"):
        lib.resolve({"ada": -1.0})
    with pytest.raises(IdentityError, match="needs the audio"):
        lib.resolve("match")


def test_contrastive_training_separates_identities():
    """Toy voices: each speaker's audio tokens have their own mean and spread."""
    torch.manual_seed(0)
    names = [f"spk{i}" for i in range(5)]
    lib = IdentityLibrary(IdentityConfig(names=names, dim=8, audio_dim=6, hidden=32,
                                         temperature=0.1))
    centres, spreads = torch.randn(5, 6) * 0.7, torch.rand(5, 6) + 0.3

    def clips(n):
        spk = torch.randint(0, 5, (n,))
        tokens = centres[spk][:, None] + spreads[spk][:, None] * torch.randn(n, 20, 6)
        return tokens, spk

    opt = torch.optim.Adam(lib.parameters(), lr=1e-2)
    for _ in range(150):
        tokens, spk = clips(32)
        loss = lib.info_nce(tokens, spk)
        opt.zero_grad()
        loss.backward()
        opt.step()
    tokens, spk = clips(200)
    with torch.no_grad():
        top1 = (lib.similarities(tokens).argmax(1) == spk).float().mean().item()
        matched = lib.match(tokens[0], top_k=3)
    assert top1 > 0.95
    assert matched[0][0] == names[int(spk[0])] and len(matched) == 3
    assert matched[0][1] >= matched[1][1] >= matched[2][1]
    assert lib.resolve("match", tokens=tokens[:1])[1] == {names[int(spk[0])]: 1.0}
