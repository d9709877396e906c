"""``build_frontend(config)``: the frozen audio frontend a config describes.

Kept apart from the frontends themselves (:mod:`.frontends`, :mod:`.pretrained`,
:mod:`.compact_encoder`) so that each of them can import the ``Frontend`` base without a cycle.
"""

from __future__ import annotations

import torch

from ..config import AudioEncoderConfig
from .frontends import Frontend, MelFrontend


def build_frontend(config: AudioEncoderConfig | dict, device: str | torch.device = "cpu") -> Frontend:
    """Build the frozen frontend a config describes (pretrained kinds load their weights)."""
    if isinstance(config, dict):
        config = AudioEncoderConfig.from_dict(config)
    if config.kind == "mel":
        return MelFrontend(config)
    if config.kind == "student":
        from .compact_encoder import StudentFrontend

        return StudentFrontend(config, device)
    from . import pretrained

    if config.kind == "whisper":
        return pretrained.WhisperFrontend(config, device)
    return pretrained.TransformersFrontend(config, device)
