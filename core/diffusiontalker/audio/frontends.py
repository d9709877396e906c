"""Audio encoders: frozen feature *frontends* and the trainable *adapter* to the motion rate.

DiffusionTalker (arXiv 2311.16565) conditions the denoiser on a large pretrained speech
encoder; the 2025 version (arXiv 2503.18159) distils it into a compact encoder. Here that is
split in two:

- a **frontend** (``build_frontend``): frozen and deterministic, ``wave (N,) -> (F, dim)`` at
  ``rate_hz`` features per second; its output can be cached on disk. Kinds: ``"mel"`` (log-mel,
  100 Hz, numpy only) and the pretrained ``"wav2vec2"``, ``"hubert"``, ``"whisper"`` (50 Hz,
  see :mod:`diffusiontalker.audio.pretrained`);
- an **adapter** (:class:`AudioAdapter`): the trainable part, a small dilated conv stack for mel
  (the compact encoder) or an MLP for pretrained features, followed by linear interpolation
  from the feature rate to the motion frame rate.

:func:`diffusiontalker.audio.compact_encoder.distill_audio_encoder` trains the compact student of the
2025 paper (a mel conv encoder regressing a frozen large frontend's features, feature MSE);
it is re-exported here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import DiffusionTalkerError
from .features import cmvn, fit_length, log_mel
from .loading import SAMPLE_RATE

FRONTEND_KINDS = ("mel", "wav2vec2", "hubert", "whisper", "student")
PRETRAINED_RATE_HZ = 50.0  # wav2vec2 / HuBERT / Whisper encoders: one vector per 20 ms
FEATURE_VERSION = 1  # bump when a frontend's output changes, to invalidate caches


class AudioEncoderError(DiffusionTalkerError):
    """An audio encoder config is invalid or its pretrained weights cannot be loaded."""


@dataclass
class AudioEncoderConfig:
    """Which frontend turns a wave into features (saved inside checkpoints).

    ``kind``: ``"mel" | "wav2vec2" | "hubert" | "whisper" | "student"``.
    ``source``: for pretrained kinds, a hub id (``facebook/wav2vec2-base-960h``,
    ``facebook/hubert-base-ls960``, ``openai/whisper-tiny.en``), a local HF directory, or for
    Whisper also a CTranslate2 ``model.bin`` (file or its directory); for ``"student"`` the
    ``.safetensors`` file of a distilled compact encoder (:mod:`.audio_distill`).
    ``layer``: which hidden state to use (index into ``hidden_states``; -1 = last layer).
    ``chunk_seconds``/``context_seconds``: long audio goes through wav2vec2/HuBERT in chunks
    with this much extra context on each side (bounds memory; Whisper always uses 30 s).
    ``normalize``: ``"cmvn"`` gives mel features zero mean and unit variance per bin over the
    clip (cepstral mean and variance normalisation, Viikki & Laurila 1998): it removes the
    recording channel and level, which differ most between synthetic and real speech.
    ``trim`` (Whisper): encode only the audio's own frames instead of a zero-padded 30 s
    window (positions ``0..n``); several times faster on short clips.
    """

    kind: str = "mel"
    source: str | None = None
    n_mels: int = 80
    layer: int = -1
    chunk_seconds: float = 20.0
    context_seconds: float = 2.0
    normalize: str = "none"
    trim: bool = False

    def __post_init__(self) -> None:
        if self.normalize not in ("none", "cmvn"):
            raise AudioEncoderError(f"unknown feature normalisation {self.normalize!r}; "
                                    "expected 'none' or 'cmvn'")
        if self.kind not in FRONTEND_KINDS:
            raise AudioEncoderError(
                f"unknown audio encoder kind {self.kind!r}; expected one of {FRONTEND_KINDS}")
        if self.kind != "mel" and not self.source:
            raise AudioEncoderError(
                f"audio encoder kind {self.kind!r} needs a source (hub id or local path)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AudioEncoderConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise AudioEncoderError(f"unknown audio encoder config keys: {unknown}")
        return cls(**data)


class Frontend:
    """A frozen, deterministic feature extractor: ``wave (N,) @ 16 kHz -> (F, dim) float32``.

    Every frontend returns exactly :meth:`num_features` ``= max(1, round(N * rate_hz / 16000))``
    vectors; vector ``j`` describes the audio around time ``j / rate_hz``.
    """

    config: AudioEncoderConfig
    rate_hz: float
    dim: int

    def __call__(self, wave: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def num_features(self, num_samples: int) -> int:
        return max(1, int(round(num_samples * self.rate_hz / SAMPLE_RATE)))

    def source_fingerprint(self) -> str:
        """What identifies the weights (hub id, or local path + size + mtime)."""
        return ""

    def cache_key(self) -> str:
        """Stable short hash of everything that determines the features."""
        payload = json.dumps({"config": self.config.to_dict(), "version": FEATURE_VERSION,
                              "weights": self.source_fingerprint()}, sort_keys=True)
        return f"{self.config.kind}-{hashlib.sha1(payload.encode()).hexdigest()[:16]}"


class MelFrontend(Frontend):
    """Log-mel features (:func:`diffusiontalker.audio.features.log_mel`), 100 per second."""

    def __init__(self, config: AudioEncoderConfig) -> None:
        self.config = config
        self.rate_hz = 100.0
        self.dim = config.n_mels

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        wave = np.asarray(wave, dtype=np.float32).reshape(-1)
        mel = fit_length(log_mel(wave, n_mels=self.dim), self.num_features(wave.shape[0]))
        return cmvn(mel) if self.config.normalize == "cmvn" else mel.astype(np.float32)


def build_frontend(config: AudioEncoderConfig | dict, device: str | torch.device = "cpu") -> Frontend:
    """Build the frozen frontend a config describes (pretrained kinds load their weights)."""
    if isinstance(config, dict):
        config = AudioEncoderConfig.from_dict(config)
    if config.kind == "mel":
        return MelFrontend(config)
    if config.kind == "student":
        from .compact_encoder import StudentFrontend

        return StudentFrontend(config, device)
    from . import pretrained as audio_pretrained

    if config.kind == "whisper":
        return audio_pretrained.WhisperFrontend(config, device)
    return audio_pretrained.TransformersFrontend(config, device)


def interpolate_to_frames(features: torch.Tensor, rate_hz: float, fps: float,
                          num_frames: int) -> torch.Tensor:
    """Linear interpolation of ``(B, F, C)`` at ``rate_hz`` to ``(B, T, C)`` at ``fps``.

    Motion frame ``i`` (time ``i / fps``) reads feature position ``i * rate_hz / fps``;
    positions past the last feature repeat it.
    """
    num_features = features.shape[1]
    pos = torch.arange(num_frames, device=features.device, dtype=torch.float64) * (rate_hz / fps)
    pos = pos.clamp(max=num_features - 1)
    left = pos.floor().long()
    right = (left + 1).clamp(max=num_features - 1)
    weight = (pos - left).to(features.dtype)[None, :, None]
    return features[:, left] * (1 - weight) + features[:, right] * weight


class AudioAdapter(nn.Module):
    """Trainable map from frontend features to per-motion-frame audio tokens.

    ``kind="conv"`` (for log-mel): LayerNorm, three 1-D convolutions (kernel 3, dilations
    1, 2, 4; receptive field 150 ms at 100 Hz) with GELU, a linear output (a few hundred k
    parameters at ``d_model=256``); the compact student encoder of DiffusionTalker 2025 is a
    deeper stack of its own (``audio_distill.CompactAudioEncoder``).
    ``kind="linear"`` (for pretrained features): LayerNorm and a two-layer MLP.
    Both are followed by :func:`interpolate_to_frames` to ``fps``.
    """

    def __init__(self, in_dim: int, rate_hz: float, fps: float, d_model: int,
                 kind: str = "conv") -> None:
        super().__init__()
        if kind not in ("conv", "linear"):
            raise AudioEncoderError(f"unknown adapter kind {kind!r}; expected 'conv' or 'linear'")
        self.in_dim, self.rate_hz, self.fps, self.d_model, self.kind = (
            in_dim, float(rate_hz), float(fps), d_model, kind)
        self.norm = nn.LayerNorm(in_dim)
        if kind == "conv":
            self.convs = nn.ModuleList([
                nn.Conv1d(in_dim if i == 0 else d_model, d_model, 3, padding=d, dilation=d)
                for i, d in enumerate((1, 2, 4))
            ])
            self.out = nn.Linear(d_model, d_model)
        else:
            self.mlp = nn.Sequential(nn.Linear(in_dim, d_model), nn.GELU(),
                                     nn.Linear(d_model, d_model))

    def encode(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, F, in_dim) -> (B, F, d_model)`` at the feature rate."""
        if features.ndim != 3 or features.shape[-1] != self.in_dim:
            raise AudioEncoderError(
                f"adapter expects features (B, F, {self.in_dim}), got {tuple(features.shape)}")
        x = self.norm(features)
        if self.kind == "linear":
            return self.mlp(x)
        x = x.transpose(1, 2)
        for conv in self.convs:
            x = nn.functional.gelu(conv(x))
        return self.out(x.transpose(1, 2))

    def forward(self, features: torch.Tensor, num_frames: int) -> torch.Tensor:
        """``(B, F, in_dim)`` features -> ``(B, num_frames, d_model)`` at the motion fps."""
        return interpolate_to_frames(self.encode(features), self.rate_hz, self.fps, num_frames)


def distill_audio_encoder(*args, **kwargs):
    """Train the compact student encoder; see :func:`.audio_distill.distill_audio_encoder`."""
    from .compact_encoder import distill_audio_encoder as distill

    return distill(*args, **kwargs)
