"""The inference API: ``load_model()`` -> ``Talker``; ``Talker.generate(audio, ...)`` -> Motion.

Audio of any length is generated in overlapping windows (default 10 s with 1 s overlap), each
sampled with DDIM and cross-faded linearly into the next, so memory stays bounded by one
window's attention. The starting noise is drawn per one-second block from the seed, so
overlapping windows start from the same noise where they overlap (a smoother seam).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from .audio.loading import SAMPLE_RATE, load_audio
from .diffusion.samplers import sample_ddim
from .diffusion.windows import crossfade_weights, window_spans
from .errors import CheckpointError, DiffusionTalkerError
from .motion import Motion
from .network import checkpoint as checkpoint_io
from .network.identity import MATCH, IdentityChoice
from .network.model import Conditioning, DiffusionTalker
from .paths import DEFAULT_CHECKPOINT


def load_model(checkpoint: str | Path | None = None, device: str = "cpu",
               audio_encoder: str | None = None) -> Talker:
    """Load a checkpoint (``None``: the shipped default model) as a ready ``Talker``.

    ``audio_encoder``: None reads audio with the model's own frontend; ``"compact"`` (the
    compact encoder shipped with the package) or the path of a ``distill-audio`` file swaps
    in that fast stand-in for the model's Whisper encoder
    (:func:`.audio_distill.compact_encoder_config`)."""
    if checkpoint is None:
        if not DEFAULT_CHECKPOINT.is_file():
            raise CheckpointError(
                f"no default model is installed yet (expected {DEFAULT_CHECKPOINT}); "
                "pass a checkpoint path, or train one with `diffusiontalker train`")
        checkpoint = DEFAULT_CHECKPOINT
    model = checkpoint_io.load_model(checkpoint, device)
    if audio_encoder is not None:
        from .audio.compact_encoder import compact_encoder_config

        model.config.audio = compact_encoder_config(audio_encoder, model.config)
    return Talker(model, device)


class Talker:
    """A loaded model with its audio frontend: generation and identity matching."""

    window_seconds = 10.0
    overlap_seconds = 1.0

    def __init__(self, model: DiffusionTalker, device: str = "cpu"):
        self.model = model.eval()
        self.device = torch.device(device)
        self._frontend = None

    # -- what the model is -------------------------------------------------------------
    @property
    def config(self):
        return self.model.config

    @property
    def identities(self) -> list[str]:
        return list(self.model.identity.names)

    @property
    def space(self) -> str:
        return self.config.motion.space

    @property
    def fps(self) -> float:
        return float(self.config.motion.fps)

    @property
    def channels(self) -> tuple[str, ...] | None:
        ch = self.config.motion.channels
        return tuple(ch) if ch else None

    @property
    def num_vertices(self) -> int | None:
        return self.config.motion.num_vertices if self.space == "vertices" else None

    @property
    def template(self) -> np.ndarray | None:
        if self.space != "vertices":
            return None
        return self.model.template.detach().cpu().numpy().astype(np.float32)

    @property
    def default_steps(self) -> int:
        return int(self.config.diffusion.default_steps)

    # -- audio -> tokens ---------------------------------------------------------------
    @property
    def frontend(self):
        if self._frontend is None:
            from .audio.frontends import build_frontend

            self._frontend = build_frontend(self.config.audio, self.device)
        return self._frontend

    def num_frames(self, wave: np.ndarray) -> int:
        return max(1, int(round(wave.shape[0] / SAMPLE_RATE * self.fps)))

    @torch.no_grad()
    def audio_tokens(self, wave: np.ndarray) -> torch.Tensor:
        """Audio tokens ``(1, T, d)`` for a 16 kHz wave at the motion frame rate."""
        features = torch.from_numpy(np.ascontiguousarray(self.frontend(wave))).to(self.device)
        return self.model.audio_tokens(features[None].float(), self.num_frames(wave))

    # -- identities --------------------------------------------------------------------
    @torch.no_grad()
    def match_identity(self, audio, sample_rate: int | None = None,
                       top_k: int = 3) -> list[tuple[str, float]]:
        """The library identities whose style best matches this voice, ``(name, cosine)``."""
        tokens = self.audio_tokens(load_audio(audio, sample_rate))
        return self.model.identity.match(tokens, top_k=top_k)

    # -- generation --------------------------------------------------------------------
    def windows(self, num_frames: int) -> list[tuple[int, int]]:
        """Frame ranges ``[a, b)`` covering ``num_frames`` with the configured overlap."""
        return window_spans(num_frames, self.fps, self.window_seconds, self.overlap_seconds)

    def _noise(self, seed: int, start: int, stop: int, width: int) -> torch.Tensor:
        """Noise for frames ``[start, stop)``, drawn per one-second block from the seed."""
        block = max(1, int(round(self.fps)))
        parts = []
        for k in range(start // block, (stop - 1) // block + 1):
            gen = torch.Generator().manual_seed((int(seed) % (2**31)) * 1_000_003 + k)
            parts.append(torch.randn(block, width, generator=gen))
        noise = torch.cat(parts)
        offset = start - (start // block) * block
        return noise[offset: offset + stop - start]

    @torch.no_grad()
    def generate(self, audio, sample_rate: int | None = None, *, identity: IdentityChoice = None,
                 steps: int | None = None, seed: int = 0, style_strength: float = 1.0,
                 progress: Callable[[float], None] | None = None,
                 cancel: Callable[[], bool] | None = None) -> Motion:
        """Speech -> facial motion. ``identity``: None (neutral), a name, ``{name: weight}``
        (a convex blend) or ``"match"`` (the best library match for this voice)."""
        steps = self.default_steps if steps is None else int(steps)
        if steps < 1:
            raise DiffusionTalkerError(f"the number of sampling steps must be at least 1, got {steps}")
        wave = load_audio(audio, sample_rate)
        tokens = self.audio_tokens(wave)
        num_frames = tokens.shape[1]
        ident, weights = self.model.identity.resolve(
            identity, style_strength, tokens=tokens if identity == MATCH else None)
        width = self.model.normalizer.model_dim
        spans = self.windows(num_frames)
        total = torch.zeros(num_frames, width)
        weight_sum = torch.zeros(num_frames, 1)
        for j, (a, b) in enumerate(spans):
            cond = Conditioning(tokens[:, a:b], ident[None].to(self.device))
            noise = self._noise(seed, a, b, width)[None].to(self.device)
            report = None if progress is None else (
                lambda f, j=j: progress((j + f) / len(spans)))
            x = sample_ddim(self.model.denoise, tuple(noise.shape), steps, noise=noise,
                            cond=cond, progress=report, cancel=cancel)
            w = torch.from_numpy(crossfade_weights(spans, j))
            total[a:b] += x[0].cpu() * w[:, None]
            weight_sum[a:b] += w[:, None]
        blended = total / weight_sum
        motion = np.empty((num_frames, self.config.motion.dim), np.float32)
        for a in range(0, num_frames, 1024):  # decode in slices: no full-size temporaries
            chunk = blended[a:a + 1024].to(self.device)
            motion[a:a + 1024] = self.model.decode_motion(chunk).cpu().numpy()
        if self.space == "vertices":
            data = motion.reshape(num_frames, -1, 3)
            return Motion(self.fps, "vertices", data, identity=weights)
        return Motion(self.fps, "channels", motion, self.channels, identity=weights)

