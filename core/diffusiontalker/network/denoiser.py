"""The denoiser: a transformer over motion frames (DiffusionTalker's x̂-network).

Follows the open peers' recipe (FaceFormer, arXiv 2112.05329; FaceDiffuser, arXiv 2309.11306): input projection of the
noisy motion ``z`` ``(B, T, D)``, periodic positional encoding (FaceFormer, Fan et al. 2022),
self-attention with an ALiBi-style temporal bias (Press et al. 2022; symmetric here, since the
denoiser sees the whole window), cross-attention to the audio tokens ``(B, T, d)`` restricted by
an alignment mask (frame ``i`` attends to audio tokens ``j`` with ``|i − j| ≤ k``), the
diffusion time (sinusoidal embedding of the log-SNR) and the identity embedding injected by
FiLM (adaptive layer norm), and a zero-initialised output layer. It predicts ``x`` (default)
or ``v`` (``DenoiserConfig.prediction``); ``DiffusionTalker.denoise`` turns either into ``x̂``.

Three things bring a sampling step nearer the CPU's matrix-multiply limit without changing the
maths:

- what depends only on the window length ``T`` (positional encoding, the ALiBi bias, the band
  of the alignment mask) is built once per ``(T, device, dtype)`` and reused by every step
  (:meth:`Denoiser.window_constants`; rebuilt from ``T`` inside an ONNX trace, where ``T`` is
  a graph input);
- the cross-attention is *banded*: frame ``i`` gathers only its ``2k + 1`` neighbouring audio
  tokens and takes a softmax over them (:class:`BandedAttention`), instead of a dense ``T × T``
  product of which all but ``(2k + 1) / T`` is masked to zero weight. Neighbours that fall
  outside the window get the same additive ``finfo.min / 2`` as the dense mask, so the weights
  are those of the dense masked softmax (``tests/network/test_banded_attention.py``);
- what depends only on the audio tokens (their projection and each layer's neighbouring keys
  and values) can be computed once per window (:meth:`Denoiser.prepare_audio`, with the
  window constants), and passed to every step in place of the tokens; the ONNX export splits
  the denoiser the same way (``denoiser_context.onnx`` once per window, ``denoiser.onnx`` per
  step).
"""

from __future__ import annotations

import math
from typing import NamedTuple

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
    idx = torch.arange(num_frames, device=slopes.device, dtype=slopes.dtype)  # exact integers
    dist = (idx[:, None] - idx[None, :]).abs()
    return -slopes[:, None, None] * dist[None]


def alignment_mask(num_frames: int, window: int, device=None) -> Tensor:
    """Boolean ``(T, T)``: motion frame ``i`` may attend audio token ``j`` iff ``|i−j| ≤ k``."""
    idx = torch.arange(num_frames, device=device)
    return (idx[:, None] - idx[None, :]).abs() <= window


def band_offsets(window: int) -> range:
    """Offsets ``o`` of the ``2k + 1`` neighbours ``i + o − k`` of frame ``i``."""
    return range(2 * window + 1)


def band_neighbours(x: Tensor, window: int) -> Tensor:
    """``(B, T, ...) -> (B, T, 2k + 1, ...)``: entry ``[:, i, o]`` is ``x[:, i + o − k]``, zeros
    where ``i + o − k`` falls outside ``[0, T)`` (static slices, so an ONNX trace keeps ``T``
    dynamic)."""
    t = x.shape[1]
    edge = x.new_zeros((x.shape[0], window, *x.shape[2:]))
    padded = torch.cat([edge, x, edge], dim=1)
    return torch.stack([padded[:, o:o + t] for o in band_offsets(window)], dim=2)


def band_bias(num_frames: int, window: int, dtype: torch.dtype, device=None) -> Tensor:
    """Additive ``(1, T, 2k + 1, 1)``: 0 where neighbour ``i + o − k`` exists, ``finfo.min / 2``
    (the dense mask's value) where it lies outside the window."""
    inside = band_neighbours(torch.ones(1, num_frames, dtype=torch.bool, device=device), window)
    zero = torch.zeros(inside.shape, dtype=dtype, device=device)
    return zero.masked_fill(~inside, torch.finfo(dtype).min / 2)[..., None]


class WindowConstants(NamedTuple):
    """What a denoiser step needs that depends only on the window length ``T``."""

    positions: Tensor  # (T, d_model) periodic positional encoding
    self_bias: Tensor  # (1, H, T, T) symmetric ALiBi bias
    cross_bias: Tensor  # (1, T, 2k + 1, 1) additive band mask of the cross-attention


class AudioContext(NamedTuple):
    """What a denoiser step reads from its window alone, the same at every sampling step: per
    layer, the projected keys and values of each frame's ``2k + 1`` neighbouring audio tokens,
    each ``(B, T, 2k + 1, H, d_head)``, and the window's constants
    (:meth:`Denoiser.prepare_audio`; the ONNX export's ``denoiser_context`` graph)."""

    neighbours: tuple[tuple[Tensor, Tensor], ...]
    constants: WindowConstants


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


class BandedAttention(Attention):
    """Cross-attention of frame ``i`` to context tokens ``i − k … i + k`` only.

    The same parameters and maths as :class:`Attention` under the alignment mask
    (``softmax(q·kᵀ/√d_h + bias) v``), computed over the ``2k + 1`` gathered neighbours:
    ``O(T (2k + 1) d)`` instead of ``O(T² d)``. ``bias`` is ``(1 or B, T, 2k + 1, 1)`` additive;
    ``neighbours`` is :meth:`neighbour_kv` of the context (once per window where the caller
    passes :meth:`Denoiser.prepare_audio` instead of the audio tokens).
    """

    def __init__(self, d_model: int, num_heads: int, window: int, kv_dim: int | None = None):
        super().__init__(d_model, num_heads, kv_dim)
        self.window = window

    def neighbour_kv(self, context: Tensor) -> tuple[Tensor, Tensor]:
        """Keys and values of each frame's ``2k + 1`` context neighbours, each
        ``(B, T, 2k + 1, H, d_head)`` and contiguous."""
        b, t, _ = context.shape
        kv = self.kv(context)
        d = kv.shape[-1] // 2
        h = self.num_heads
        return (band_neighbours(kv[..., :d].view(b, t, h, d // h), self.window),
                band_neighbours(kv[..., d:].view(b, t, h, d // h), self.window))

    def forward(self, x: Tensor, neighbours: tuple[Tensor, Tensor], bias: Tensor) -> Tensor:
        b, t, d = x.shape
        h = self.num_heads
        dh = d // h
        q = (self.q(x) * dh ** -0.5).view(b, t, 1, h, dh)
        k, v = neighbours
        weights = ((q * k).sum(-1) + bias).softmax(dim=2)  # (B, T, 2k+1, H)
        y = (weights[..., None] * v).sum(2)
        return self.out(y.reshape(b, t, d))


class DenoiserLayer(nn.Module):
    """Pre-norm block: FiLM-modulated self-attention, cross-attention to audio, feed-forward."""

    def __init__(self, cfg: DenoiserConfig):
        super().__init__()
        d = cfg.d_model
        self.norm_self = nn.LayerNorm(d, elementwise_affine=False)
        self.self_attn = Attention(d, cfg.num_heads)
        self.norm_cross = nn.LayerNorm(d)
        self.cross_attn = BandedAttention(d, cfg.num_heads, cfg.align_window, kv_dim=d)
        self.norm_ff = nn.LayerNorm(d, elementwise_affine=False)
        self.ff = nn.Sequential(nn.Linear(d, cfg.ff_mult * d), nn.GELU(), nn.Linear(cfg.ff_mult * d, d))
        self.film = nn.Linear(d, 4 * d)  # scale/shift for the self-attention and FF norms
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def forward(self, h: Tensor, audio: tuple[Tensor, Tensor], cond: Tensor, self_bias: Tensor,
                cross_bias: Tensor) -> Tensor:
        """``audio``: this layer's :meth:`BandedAttention.neighbour_kv` of the audio tokens."""
        s1, b1, s2, b2 = self.film(cond)[:, None].chunk(4, dim=-1)
        x = self.norm_self(h) * (1 + s1) + b1
        h = h + self.self_attn(x, x, self_bias)
        h = h + self.cross_attn(self.norm_cross(h), audio, cross_bias)
        x = self.norm_ff(h) * (1 + s2) + b2
        return h + self.ff(x)


class Denoiser(nn.Module):
    """``(z (B,T,D), u (B,), audio (B,T,d_audio), identity (B,d_id), mask (B,T)) -> (B,T,D)``."""

    CACHED_LENGTHS = 8  # window lengths whose constants are kept (a run uses one or two)

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
        self._constants: dict[tuple, WindowConstants] = {}

    def build_window_constants(self, num_frames: int, device, dtype: torch.dtype) -> WindowConstants:
        """Positional encoding, ALiBi bias and cross-attention band mask for ``T`` frames."""
        cfg = self.config
        return WindowConstants(
            periodic_positional_encoding(num_frames, cfg.d_model, cfg.period, device).to(dtype),
            temporal_bias(num_frames, self.slopes.to(device=device, dtype=dtype))[None],
            band_bias(num_frames, cfg.align_window, dtype, device))

    def window_constants(self, num_frames: int, device, dtype: torch.dtype) -> WindowConstants:
        """:meth:`build_window_constants`, built once per ``(T, device, dtype)`` and reused by
        every later step; built afresh (from the traced ``T``) while exporting to ONNX."""
        if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
            return self.build_window_constants(num_frames, device, dtype)
        key = (int(num_frames), torch.device(device), dtype, self.slopes.device)
        found = self._constants.get(key)
        if found is None:
            if len(self._constants) >= self.CACHED_LENGTHS:
                self._constants.clear()
            found = self._constants[key] = self.build_window_constants(num_frames, device, dtype)
        return found

    def prepare_audio(self, audio: Tensor) -> AudioContext:
        """The per-window part of the cross-attention for audio tokens ``(B, T, d_audio)``;
        ``forward`` accepts it in place of the tokens, so a sampler computes it once per window
        instead of once per step (the same numbers either way)."""
        tokens = self.audio_proj(audio)
        return AudioContext(tuple(layer.cross_attn.neighbour_kv(tokens) for layer in self.layers),
                            self.window_constants(audio.shape[1], tokens.device, tokens.dtype))

    def forward(self, z: Tensor, u: Tensor, audio: Tensor | AudioContext, identity: Tensor,
                mask: Tensor | None = None) -> Tensor:
        """``audio``: tokens ``(B, T, d_audio)``, or their :meth:`prepare_audio`."""
        cfg = self.config
        # log-SNR in [-20, 20] scaled to a sinusoid-friendly range.
        time = self.time_mlp(sinusoidal_embedding(log_snr(u).float().to(z.device) * 25.0, cfg.d_model))
        cond = time + self.id_proj(identity)
        x = self.in_proj(z)
        context = audio if isinstance(audio, AudioContext) else self.prepare_audio(audio)
        const = context.constants
        h = x + const.positions[None] + cond[:, None]
        self_bias, cross_bias = const.self_bias, const.cross_bias
        if mask is not None:  # padded frames are never attended to (as keys or audio tokens)
            neg = torch.finfo(h.dtype).min / 2
            self_bias = self_bias.masked_fill(~mask.bool()[:, None, None, :], neg)
            padded = ~band_neighbours(mask.bool(), cfg.align_window)[..., None]
            cross_bias = cross_bias.masked_fill(padded, neg)
        for layer, neighbours in zip(self.layers, context.neighbours, strict=True):
            h = layer(h, neighbours, cond, self_bias, cross_bias)
        return self.out(self.out_norm(h))
