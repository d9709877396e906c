"""The trainable audio adapter: frontend features -> audio tokens at the motion frame rate.

A small dilated conv stack for log-mel or an MLP for pretrained features (the peers' recipe,
notes in docs/model.md), followed by linear interpolation from the feature rate to the
motion fps (FaceFormer's interpolation of 50 Hz wav2vec2 features to 30/25 fps).
"""

from __future__ import annotations

import torch
from torch import nn

from ..audio.frontends import interpolate_to_frames
from ..errors import AudioEncoderError


class AudioAdapter(nn.Module):
    """Trainable map from frontend features to per-motion-frame audio tokens.

    ``kind="conv"`` (for log-mel): LayerNorm, three 1-D convolutions (kernel 3, dilations
    1, 2, 4; receptive field 150 ms at 100 Hz) with GELU, a linear output (a few hundred k
    parameters at ``d_model=256``); the compact student encoder of DiffusionTalker 2025 is a
    deeper stack of its own (``audio.compact_encoder.CompactAudioEncoder``).
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
