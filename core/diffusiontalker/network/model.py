"""``ModelConfig`` (one dataclass tree) and ``DiffusionTalker``: the whole network.

DiffusionTalker (arXiv 2311.16565) = frozen audio frontend -> trainable audio adapter at the
motion frame rate -> denoiser conditioned on the diffusion time, the audio tokens and a
talking-identity embedding from the identity library; motion lives in a normalised space
(``normalization.MotionNormalizer``). The frontend itself is not part of the module (it is
frozen and rebuilt from ``config.audio``); everything else is saved in the checkpoint.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from ..config import (  # noqa: F401  (re-exported)
    SPACES,
    AdapterSpec,
    AudioEncoderConfig,
    DenoiserConfig,
    DiffusionSpec,
    IdentityConfig,
    ModelConfig,
    MotionSpec,
)
from ..diffusion.schedule import x_from_v
from ..errors import ConfigError
from .adapter import AudioAdapter
from .denoiser import AudioContext, Denoiser
from .identity import IdentityLibrary
from .normalization import MotionNormalizer

PRESETS: dict[str, dict] = {
    # d_model, layers, heads, identity dim, adapter width
    "tiny": dict(d_model=32, num_layers=1, num_heads=2, id_dim=16, audio_dim=32),
    "small": dict(d_model=128, num_layers=2, num_heads=4, id_dim=64, audio_dim=128),
    "medium": dict(d_model=192, num_layers=3, num_heads=4, id_dim=64, audio_dim=192),
    "base": dict(d_model=256, num_layers=4, num_heads=4, id_dim=64, audio_dim=256),
}


def build_config(motion: MotionSpec, audio: AudioEncoderConfig, frontend_dim: int,
                 frontend_rate_hz: float, names: list[str], preset: str = "small",
                 prediction: str = "x", adapter_kind: str | None = None,
                 provenance: dict | None = None) -> ModelConfig:
    """A consistent ``ModelConfig`` from a size preset (``tiny``, ``small``, ``base``)."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown model size {preset!r}; choose one of {', '.join(PRESETS)}")
    p = PRESETS[preset]
    kind = adapter_kind or ("conv" if audio.kind == "mel" else "linear")
    return ModelConfig(
        motion=motion,
        audio=audio,
        adapter=AdapterSpec(frontend_dim, float(frontend_rate_hz), p["audio_dim"], kind),
        denoiser=DenoiserConfig(in_dim=motion.model_dim, audio_dim=p["audio_dim"],
                                id_dim=p["id_dim"], d_model=p["d_model"],
                                num_layers=p["num_layers"], num_heads=p["num_heads"],
                                period=max(1, round(motion.fps)), prediction=prediction),
        identity=IdentityConfig(names=list(names), dim=p["id_dim"], audio_dim=p["audio_dim"],
                                hidden=2 * p["id_dim"]),
        diffusion=DiffusionSpec(prediction=prediction),
        provenance=dict(provenance or {}),
    )


class Conditioning(NamedTuple):
    """What the denoiser is conditioned on besides ``z`` and ``u``."""

    audio: Tensor | AudioContext  # (B, T, d) audio tokens at the fps, or their prepare_audio()
    identity: Tensor  # (B, d_id) identity embedding
    mask: Tensor | None = None  # (B, T) True on real frames


class DiffusionTalker(nn.Module):
    """Audio adapter + denoiser + identity library/style encoder + motion normalisation."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        a, m = config.adapter, config.motion
        self.adapter = AudioAdapter(a.in_dim, a.rate_hz, m.fps, a.d_model, kind=a.kind)
        self.denoiser = Denoiser(config.denoiser)
        self.identity = IdentityLibrary(config.identity)
        self.normalizer = MotionNormalizer(m.dim, m.pca_components)
        n_vertices = m.num_vertices if m.space == "vertices" else 0
        self.register_buffer("template", torch.zeros(n_vertices, 3))

    @property
    def prediction(self) -> str:
        return self.config.denoiser.prediction

    def audio_tokens(self, features: Tensor, num_frames: int) -> Tensor:
        """Frontend features ``(B, F, C)`` -> audio tokens ``(B, T, d)`` at the motion rate."""
        return self.adapter(features, num_frames)

    def network_output(self, z: Tensor, u: Tensor, cond: Conditioning) -> Tensor:
        """Raw network output: ``x̂`` or ``v̂`` depending on the parameterisation."""
        return self.denoiser(z, u, cond.audio, cond.identity, cond.mask)

    def denoise(self, z: Tensor, u: Tensor, cond: Conditioning) -> Tensor:
        """``x̂(z_u, u, c)`` whatever the parameterisation (the samplers' callable)."""
        out = self.network_output(z, u, cond)
        return x_from_v(z, out, u) if self.prediction == "v" else out

    def encode_motion(self, motion: Tensor) -> Tensor:
        """Motion ``(…, D)`` (vertices flattened) -> normalised model space ``(…, P)``."""
        return self.normalizer.encode(motion)

    def decode_motion(self, x: Tensor) -> Tensor:
        """Normalised model space ``(…, P)`` -> motion ``(…, D)``."""
        return self.normalizer.decode(x)
