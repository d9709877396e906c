"""The torch runtime: a checkpoint's ``DiffusionTalker`` behind the one generate loop.

``load_model(checkpoint)`` -> :class:`Talker`. The loop, the starting noise, windows, identity
blends and decoding slices are :class:`~.talker.WindowedTalker`'s; this module supplies only
the torch callables (frontend + adapter tokens, the identity table, the denoiser, decoding).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import CheckpointError
from ..network import checkpoint as checkpoint_io
from ..network.model import Conditioning, DiffusionTalker
from ..paths import DEFAULT_CHECKPOINT
from .talker import WindowedTalker
from .threads import use_torch_threads


def load_model(checkpoint: str | Path | None = None, device: str = "cpu",
               audio_encoder: str | None = None, threads: int | None = None) -> Talker:
    """Load a checkpoint (``None``: the shipped default model) as a ready ``Talker``.

    ``audio_encoder``: None reads audio with the model's own frontend; ``"compact"`` (the
    compact encoder shipped with the package) or the path of a ``distill-audio`` file swaps
    in that fast stand-in for the model's Whisper encoder
    (:func:`diffusiontalker.audio.compact_encoder.compact_encoder_config`). ``threads``: torch's
    intra-op threads (None: ``runtime.threads``' automatic choice).

    Where the checkpoint's own ONNX export quantises its audio encoder (the shipped default
    model), that int8 graph reads the audio here too, on the CPU whatever ``device`` the
    denoiser runs on (``onnx_frontend.quantized_frontend``), so the take is ONNX Runtime's on
    every device; the float encoder otherwise."""
    use_torch_threads(threads)
    if checkpoint is None:
        if not DEFAULT_CHECKPOINT.is_file():
            raise CheckpointError(
                f"no default model is installed yet (expected {DEFAULT_CHECKPOINT}); "
                "pass a checkpoint path, or train one with `diffusiontalker train`")
        checkpoint = DEFAULT_CHECKPOINT
    model = checkpoint_io.load_model(checkpoint, device)
    if audio_encoder is not None:
        from ..audio.compact_encoder import compact_encoder_config

        model.config.audio = compact_encoder_config(audio_encoder, model.config)
        return Talker(model, device)
    from .onnx_frontend import quantized_frontend

    return Talker(model, device, quantized_frontend(checkpoint, threads))


class Talker(WindowedTalker):
    """A loaded torch model with its audio frontend: generation and identity matching."""

    runtime = "torch"

    def __init__(self, model: DiffusionTalker, device: str = "cpu", frontend: Any = None):
        """``frontend``: the audio frontend to use (``wave -> features`` callable); None builds
        the model's own (``audio.build.build_frontend``) when first needed."""
        self.model = model.eval()
        self.device = torch.device(device)
        self._frontend = frontend

    @property
    def config(self):
        return self.model.config

    @property
    def template(self) -> np.ndarray | None:
        if self.space != "vertices":
            return None
        return self.model.template.detach().cpu().numpy().astype(np.float32)

    @property
    def frontend(self):
        if self._frontend is None:
            from ..audio.build import build_frontend

            self._frontend = build_frontend(self.config.audio, self.device)
        return self._frontend

    # --- the array callables of the one loop ---------------------------------------------
    @torch.no_grad()
    def audio_tokens(self, wave: np.ndarray) -> torch.Tensor:
        """Audio tokens ``(1, T, d)`` for a 16 kHz wave at the motion frame rate."""
        features = torch.from_numpy(np.ascontiguousarray(self.frontend(wave))).to(self.device)
        return self.model.audio_tokens(features[None].float(), self.num_frames(wave))

    def identity_table(self) -> tuple[torch.Tensor, torch.Tensor]:
        library = self.model.identity
        return library.embeddings.detach(), library.neutral().detach()

    @torch.no_grad()
    def similarities(self, tokens: torch.Tensor) -> np.ndarray:
        return self.model.identity.similarities(tokens)[0].cpu().numpy()

    @torch.no_grad()
    def condition(self, tokens: torch.Tensor, identity: torch.Tensor) -> Conditioning:
        """The window's conditioning, with the cross-attention's per-window part computed once
        (``Denoiser.prepare_audio``) instead of at every step."""
        batch = int(tokens.shape[0])
        return Conditioning(self.model.denoiser.prepare_audio(tokens),
                            identity[None].to(self.device).expand(batch, -1))

    def repeat_batch(self, tokens: torch.Tensor, count: int) -> torch.Tensor:
        return tokens.expand(count, *tokens.shape[1:])

    @torch.no_grad()
    def denoise(self, z: torch.Tensor, u: torch.Tensor, cond: Conditioning) -> torch.Tensor:
        return self.model.denoise(z, u, cond)

    @torch.no_grad()
    def decode(self, x: np.ndarray) -> np.ndarray:
        return self.model.decode_motion(torch.from_numpy(x).to(self.device)).cpu().numpy()

    @torch.no_grad()
    def encode(self, motion: np.ndarray) -> np.ndarray:
        return self.model.encode_motion(torch.from_numpy(motion).to(self.device)).cpu().numpy()

    def as_backend(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).to(self.device)

    def as_numpy(self, array: Any) -> np.ndarray:
        return array.detach().float().cpu().numpy()
