"""``ModelConfig`` (one dataclass tree) and ``DiffusionTalker``: the whole network.

DiffusionTalker (arXiv 2311.16565) = frozen audio frontend -> trainable audio adapter at the
motion frame rate -> denoiser conditioned on the diffusion time, the audio tokens and a
talking-identity embedding from the identity library; motion lives in a normalised space
(``normalization.MotionNormalizer``). The frontend itself is not part of the module (it is
frozen and rebuilt from ``config.audio``); everything else is saved in the checkpoint.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import NamedTuple

import torch
from torch import Tensor, nn

from ..audio.frontends import AudioAdapter, AudioEncoderConfig
from ..diffusion.schedule import x_from_v
from .denoiser import Denoiser, DenoiserConfig
from .identity import IdentityConfig, IdentityLibrary
from .normalization import MotionNormalizer

SPACES = ("channels", "vertices")


@dataclass
class MotionSpec:
    """What the model predicts: ``channels`` (T, K) weights or ``vertices`` (T, V, 3) offsets."""

    space: str
    fps: float
    channels: list[str] | None = None
    num_vertices: int | None = None
    pca_components: int | None = None

    def __post_init__(self) -> None:
        if self.space not in SPACES:
            raise ValueError(f"motion space must be one of {SPACES}, got {self.space!r}")
        if self.space == "channels" and not self.channels:
            raise ValueError("the channels space needs channel names")
        if self.space == "vertices" and not self.num_vertices:
            raise ValueError("the vertices space needs num_vertices")

    @property
    def dim(self) -> int:
        """Flattened motion width D: K channels or V*3."""
        return len(self.channels) if self.space == "channels" else 3 * int(self.num_vertices)

    @property
    def model_dim(self) -> int:
        """Width the denoiser sees: the PCA size P if a basis is used, else D."""
        return self.pca_components or self.dim


@dataclass
class AdapterSpec:
    """The trainable audio adapter: frontend width/rate in, ``d_model`` tokens out."""

    in_dim: int
    rate_hz: float
    d_model: int = 128
    kind: str = "conv"


@dataclass
class DiffusionSpec:
    """Parameterisation and step counts. ``teacher_steps``: the grid the teacher is distilled
    from; ``distilled_from`` lists the step counts of earlier rounds (empty for a teacher)."""

    prediction: str = "x"
    default_steps: int = 8
    teacher_steps: int = 256
    distilled_from: list[int] = field(default_factory=list)


@dataclass
class ModelConfig:
    motion: MotionSpec
    audio: AudioEncoderConfig
    adapter: AdapterSpec
    denoiser: DenoiserConfig
    identity: IdentityConfig
    diffusion: DiffusionSpec = field(default_factory=DiffusionSpec)
    provenance: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "motion": asdict(self.motion),
            "audio": self.audio.to_dict(),
            "adapter": asdict(self.adapter),
            "denoiser": self.denoiser.to_dict(),
            "identity": self.identity.to_dict(),
            "diffusion": asdict(self.diffusion),
            "provenance": dict(self.provenance),
        }

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        return cls(
            motion=MotionSpec(**d["motion"]),
            audio=AudioEncoderConfig.from_dict(d["audio"]),
            adapter=AdapterSpec(**d["adapter"]),
            denoiser=DenoiserConfig.from_dict(d["denoiser"]),
            identity=IdentityConfig.from_dict(d["identity"]),
            diffusion=DiffusionSpec(**d.get("diffusion", {})),
            provenance=dict(d.get("provenance", {})),
        )


PRESETS: dict[str, dict] = {
    # d_model, layers, heads, identity dim, adapter width
    "tiny": dict(d_model=32, num_layers=1, num_heads=2, id_dim=16, audio_dim=32),
    "small": dict(d_model=128, num_layers=2, num_heads=4, id_dim=64, audio_dim=128),
    "base": dict(d_model=256, num_layers=4, num_heads=4, id_dim=64, audio_dim=256),
}


def build_config(motion: MotionSpec, audio: AudioEncoderConfig, frontend_dim: int,
                 frontend_rate_hz: float, names: list[str], preset: str = "small",
                 prediction: str = "x", adapter_kind: str | None = None,
                 provenance: dict | None = None) -> ModelConfig:
    """A consistent ``ModelConfig`` from a size preset (``tiny``, ``small``, ``base``)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown model size {preset!r}; choose one of {', '.join(PRESETS)}")
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

    audio: Tensor  # (B, T, d) audio tokens at the motion frame rate
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
