"""Frozen audio *frontends*: ``wave (N,) -> features (F, dim)`` at ``rate_hz`` per second.

DiffusionTalker (arXiv 2311.16565) conditions the denoiser on a large pretrained speech
encoder; the 2025 version (arXiv 2503.18159) distils it into a compact encoder. A frontend is
frozen and deterministic, so its output can be cached on disk. Kinds: ``"mel"`` (log-mel,
100 Hz, numpy only), the pretrained ``"wav2vec2"``, ``"hubert"``, ``"whisper"`` (50 Hz,
:mod:`.pretrained`) and ``"student"`` (the compact encoder, :mod:`.compact_encoder`). The
trainable part that follows, the adapter to the motion frame rate, is in
:mod:`diffusiontalker.network.adapter`.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import torch

from ..config import FRONTEND_KINDS, AudioEncoderConfig  # noqa: F401  (re-exported)
from ..errors import AudioEncoderError  # noqa: F401  (defined in errors; re-exported)
from .features import cmvn, fit_length, log_mel
from .loading import SAMPLE_RATE

PRETRAINED_RATE_HZ = 50.0  # wav2vec2 / HuBERT / Whisper encoders: one vector per 20 ms
FEATURE_VERSION = 1  # bump when a frontend's output changes, to invalidate caches


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
