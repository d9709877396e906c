"""The inference API: ``load_model()`` -> ``Talker``; ``Talker.generate(audio, ...)`` -> Motion.

The torch runtime (:mod:`.runtime.torch_talker`) behind the one generate loop
(:mod:`.runtime.talker`); :func:`.runtime.loader.load_talker` chooses among torch, ONNX
Runtime and a worker process. Kept as the short public import path.
"""

from __future__ import annotations

from .identity_choice import MATCH, IdentityChoice  # noqa: F401
from .motion import Motion  # noqa: F401
from .paths import DEFAULT_CHECKPOINT  # noqa: F401
from .runtime.torch_talker import Talker, load_model  # noqa: F401

__all__ = ["DEFAULT_CHECKPOINT", "MATCH", "IdentityChoice", "Motion", "Talker", "load_model"]
