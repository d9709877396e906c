"""The denoiser: a transformer over motion frames (DiffusionTalker's x̂-network).

Follows the open peers' recipe (FaceFormer, arXiv 2112.05329; FaceDiffuser, arXiv 2309.11306): input projection of the
noisy motion ``z`` ``(B, T, D)``, periodic positional encoding (FaceFormer, Fan et al. 2022),
self-attention with an ALiBi-style temporal bias (Press et al. 2022; symmetric here, since the
denoiser sees the whole window), cross-attention to the audio tokens ``(B, T, d)`` restricted by
an alignment mask (frame ``i`` attends to audio tokens ``j`` with ``|i − j| ≤ k``), the
diffusion time (sinusoidal embedding of the log-SNR) and the identity embedding injected by
FiLM (adaptive layer norm), and a zero-initialised output layer. It predicts ``x`` (default)
or ``v`` (``DenoiserConfig.prediction``); ``DiffusionTalker.denoise`` turns either into ``x̂``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import DenoiserConfig  # noqa: F401  (re-exported)
from ..diffusion.schedule import log_snr


def sinusoidal_embedding(values: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    """Transformer sinusoids of a scalar per batch element ``(B,) -> (B, dim)``."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=values.device) / half)
    angles = values.float()[:, None] * freqs[None]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)


def periodic_positional_encoding(num_frames: int, dim: int, period: int, device=None) -> Tensor:
    """FaceFormer's periodic positional encoding: sinusoids of ``t mod period`` ``(T, dim)``."""
    pos = (torch.arange(num_frames, device=device) % period).float()
    return sinusoidal_embedding(pos, dim, max_period=float(period) * 10.0)


def alibi_slopes(num_heads: int) -> Tensor:
    """ALiBi head slopes ``2^(−8h/H)`` (Press et al. 2022)."""
    return torch.tensor([2.0 ** (-8.0 * (h + 1) / num_heads) for h in range(num_heads)])


def temporal_bias(num_frames: int, slopes: Tensor) -> Tensor:
    """Symmetric ALiBi bias ``−m_h |i − j|`` ``(H, T, T)``."""
    idx = torch.arange(num_frames, device=slopes.device)
    dist = (idx[:, None] - idx[None, :]).abs().float()
    return -slopes[:, None, None] * dist[None]


def alignment_mask(num_frames: int, window: int, device=None) -> Tensor:
    """Boolean ``(T, T)``: motion frame ``i`` may attend audio token ``j`` iff ``|i−j| ≤ k``."""
    idx = torch.arange(num_frames, device=device)
    return (idx[:, None] - idx[None, :]).abs() <= window


class Attention(nn.Module):
    """Multi-head attention with an additive float bias (``scaled_dot_product_attention``)."""

    def __init__(self, d_model: int, num_heads: int, kv_dim: int | None = None):
        super().__init__()
        self.num_heads = num_heads
        self.q = nn.Linear(d_model, d_model)
        self.kv = nn.Linear(kv_dim or d_model, 2 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x: Tensor, context: Tensor, bias: Tensor) -> Tensor:
        b, t, d = x.shape
        h = self.num_heads
        q = self.q(x).view(b, t, h, d // h).transpose(1, 2)
        k, v = self.kv(context).view(b, context.shape[1], 2, h, d // h).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class DenoiserLayer(nn.Module):
    """Pre-norm block: FiLM-modulated self-attention, cross-attention to audio, feed-forward."""

    def __init__(self, cfg: DenoiserConfig):
        super().__init__()
        d = cfg.d_model
        self.norm_self = nn.LayerNorm(d, elementwise_affine=False)
        self.self_attn = Attention(d, cfg.num_heads)
        self.norm_cross = nn.LayerNorm(d)
        self.cross_attn = Attention(d, cfg.num_heads, kv_dim=d)
        self.norm_ff = nn.LayerNorm(d, elementwise_affine=False)
        self.ff = nn.Sequential(nn.Linear(d, cfg.ff_mult * d), nn.GELU(), nn.Linear(cfg.ff_mult * d, d))
        self.film = nn.Linear(d, 4 * d)  # scale/shift for the self-attention and FF norms
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def forward(self, h: Tensor, audio: Tensor, cond: Tensor, self_bias: Tensor,
                cross_bias: Tensor) -> Tensor:
        s1, b1, s2, b2 = self.film(cond)[:, None].chunk(4, dim=-1)
        x = self.norm_self(h) * (1 + s1) + b1
        h = h + self.self_attn(x, x, self_bias)
        h = h + self.cross_attn(self.norm_cross(h), audio, cross_bias)
        x = self.norm_ff(h) * (1 + s2) + b2
        return h + self.ff(x)


class Denoiser(nn.Module):
    """``(z (B,T,D), u (B,), audio (B,T,d_audio), identity (B,d_id), mask (B,T)) -> (B,T,D)``."""

    def __init__(self, cfg: DenoiserConfig):
        super().__init__()
        self.config = cfg
        d = cfg.d_model
        self.in_proj = nn.Linear(cfg.in_dim, d)
        self.audio_proj = nn.Linear(cfg.audio_dim, d)
        self.time_mlp = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d))
        self.id_proj = nn.Linear(cfg.id_dim, d)
        self.layers = nn.ModuleList(DenoiserLayer(cfg) for _ in range(cfg.num_layers))
        self.out_norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, cfg.in_dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.register_buffer("slopes", alibi_slopes(cfg.num_heads), persistent=False)

    def forward(self, z: Tensor, u: Tensor, audio: Tensor, identity: Tensor,
                mask: Tensor | None = None) -> Tensor:
        b, t, _ = z.shape
        cfg = self.config
        # log-SNR in [-20, 20] scaled to a sinusoid-friendly range.
        time = self.time_mlp(sinusoidal_embedding(log_snr(u).float().to(z.device) * 25.0, cfg.d_model))
        cond = time + self.id_proj(identity)
        pos = periodic_positional_encoding(t, cfg.d_model, cfg.period, z.device)
        h = self.in_proj(z) + pos[None] + cond[:, None]
        audio_h = self.audio_proj(audio)
        neg = torch.finfo(h.dtype).min / 2
        self_bias = temporal_bias(t, self.slopes.to(h.dtype))[None].expand(b, -1, -1, -1)
        cross_allowed = alignment_mask(t, cfg.align_window, z.device)[None, None]
        cross_bias = torch.zeros(1, 1, t, t, device=z.device, dtype=h.dtype)
        cross_bias = cross_bias.masked_fill(~cross_allowed, neg)
        if mask is not None:
            key_pad = (~mask.bool())[:, None, None, :]
            self_bias = self_bias.masked_fill(key_pad, neg)
            cross_bias = cross_bias.masked_fill(key_pad, neg)
        for layer in self.layers:
            h = layer(h, audio_h, cond, self_bias, cross_bias)
        return self.out(self.out_norm(h))
