"""Every config dataclass in one torch-free module, read and written by one strict codec.

A checkpoint alone rebuilds its model (diffusers' ``from_config``/``save_config`` idea): the
``ModelConfig`` tree is JSON in the safetensors metadata, the ONNX manifest and the worker's
``loaded`` reply carry the same ``to_dict()``, and every runtime derives the model's facts
(space, fps, channels, default steps, identities) from it (:mod:`.runtime.talker`).

:meth:`ConfigBase.from_dict` is strict: unknown keys, missing required keys and values of the
wrong kind are a :class:`~.errors.ConfigError` naming the key and the config. Nested configs
are declared by the field's annotation.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from .errors import AudioEncoderError, ConfigError

C = TypeVar("C", bound="ConfigBase")
SPACES = ("channels", "vertices")
FRONTEND_KINDS = ("mel", "wav2vec2", "hubert", "whisper", "student")
PREDICTIONS = ("x", "v")
PRECISIONS = ("fp32", "bf16", "fp16")  # training: full precision or mixed (torch.autocast)
SAMPLE_RATE = 16000  # every frontend reads 16 kHz mono (audio.loading.SAMPLE_RATE)


class ConfigBase:
    """``to_dict()`` / strict ``from_dict()`` for a config dataclass (nested ones too)."""

    error: ClassVar[type[ConfigError]] = ConfigError  # what a bad dict raises

    def to_dict(self) -> dict[str, Any]:
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, ConfigBase):
                value = value.to_dict()
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, (list, dict)):
                value = type(value)(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls: type[C], data: Any) -> C:
        name = cls.__name__
        if not isinstance(data, dict):
            raise cls.error(f"{name} must be a JSON object, got {type(data).__name__}")
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise cls.error(
                f"{name} has unknown keys {unknown} (known: {sorted(fields)}); it may come "
                "from a newer version of diffusiontalker: upgrade the package")
        missing = [k for k, f in fields.items() if k not in data
                   and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        if missing:
            raise cls.error(f"{name} lacks the required keys {missing}")
        kwargs = {}
        for key, value in data.items():
            hint = hints.get(key)
            if isinstance(hint, type) and issubclass(hint, ConfigBase):
                value = hint.from_dict(value)
            kwargs[key] = value
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise cls.error(f"invalid {name}: {exc}") from None


def _require(ok: bool, message: str, error: type[ConfigError] = ConfigError) -> None:
    if not ok:
        raise error(message)


# --- the model ----------------------------------------------------------------------------
@dataclass
class MotionSpec(ConfigBase):
    """What the model predicts: ``channels`` (T, K) weights or ``vertices`` (T, V, 3) offsets."""

    space: str
    fps: float
    channels: list[str] | None = None
    num_vertices: int | None = None
    pca_components: int | None = None

    def __post_init__(self) -> None:
        _require(self.space in SPACES, f"motion space must be one of {SPACES}, got {self.space!r}")
        _require(self.space != "channels" or bool(self.channels),
                 "the channels space needs channel names")
        _require(self.space != "vertices" or bool(self.num_vertices),
                 "the vertices space needs num_vertices")
        _require(isinstance(self.fps, (int, float)) and math.isfinite(self.fps) and self.fps > 0,
                 f"motion fps must be a positive number, got {self.fps!r}")

    @property
    def dim(self) -> int:
        """Flattened motion width D: K channels or V*3."""
        return len(self.channels) if self.space == "channels" else 3 * int(self.num_vertices)

    @property
    def model_dim(self) -> int:
        """Width the denoiser sees: the PCA size P if a basis is used, else D."""
        return self.pca_components or self.dim


@dataclass
class AudioEncoderConfig(ConfigBase):
    """Which frontend turns a wave into features (saved inside checkpoints).

    ``kind``: ``"mel" | "wav2vec2" | "hubert" | "whisper" | "student"``.
    ``source``: for pretrained kinds, a hub id (``facebook/wav2vec2-base-960h``,
    ``openai/whisper-tiny.en``), a local HF directory, a Whisper encoder file
    (``package:NAME`` for files shipped in ``weights/``) or a CTranslate2 ``model.bin``; for
    ``"student"`` the ``.safetensors`` file of a compact encoder
    (:mod:`.audio.compact_encoder`). ``layer``: which hidden state (-1 = last).
    ``chunk_seconds``/``context_seconds``: long audio goes through wav2vec2/HuBERT in chunks
    with this much context on each side. ``normalize``: ``"cmvn"`` gives mel features zero
    mean and unit variance per bin over the clip (Viikki & Laurila 1998). ``trim`` (Whisper):
    encode only the audio's own frames instead of a zero-padded 30 s window.
    """

    error: ClassVar[type[ConfigError]] = AudioEncoderError

    kind: str = "mel"
    source: str | None = None
    n_mels: int = 80
    layer: int = -1
    chunk_seconds: float = 20.0
    context_seconds: float = 2.0
    normalize: str = "none"
    trim: bool = False

    def __post_init__(self) -> None:
        _require(self.normalize in ("none", "cmvn"),
                 f"unknown feature normalisation {self.normalize!r}; expected 'none' or 'cmvn'",
                 AudioEncoderError)
        _require(self.kind in FRONTEND_KINDS,
                 f"unknown audio encoder kind {self.kind!r}; expected one of {FRONTEND_KINDS}",
                 AudioEncoderError)
        _require(self.kind == "mel" or bool(self.source),
                 f"audio encoder kind {self.kind!r} needs a source (hub id or local path)",
                 AudioEncoderError)


@dataclass
class AdapterSpec(ConfigBase):
    """The trainable audio adapter: frontend width/rate in, ``d_model`` tokens out."""

    in_dim: int
    rate_hz: float
    d_model: int = 128
    kind: str = "conv"

    def __post_init__(self) -> None:
        _require(self.kind in ("conv", "linear"),
                 f"adapter kind must be 'conv' or 'linear', got {self.kind!r}")


@dataclass
class DenoiserConfig(ConfigBase):
    """Sizes of the denoiser. ``in_dim`` is the motion width it sees (K, V*3 or PCA P)."""

    in_dim: int
    audio_dim: int = 128
    id_dim: int = 64
    d_model: int = 128
    num_layers: int = 2
    num_heads: int = 4
    ff_mult: int = 4
    align_window: int = 2
    period: int = 30
    prediction: str = "x"

    def __post_init__(self) -> None:
        _require(self.prediction in PREDICTIONS,
                 f"prediction must be 'x' or 'v', got {self.prediction!r}")
        _require(self.num_heads > 0 and self.d_model % self.num_heads == 0,
                 f"d_model ({self.d_model}) must be divisible by num_heads ({self.num_heads})")


@dataclass
class IdentityConfig(ConfigBase):
    """Identity library and style encoder sizes; ``names`` are the training speakers."""

    names: list[str] = field(default_factory=list)
    dim: int = 64
    audio_dim: int = 128
    hidden: int = 128
    temperature: float = 0.1
    # identities added after training (``identity add``, new speakers of a fine-tune): the
    # neutral identity is the mean of the other rows, so adding one changes no other take
    learned: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.names = [str(n) for n in self.names]
        self.learned = [str(n) for n in self.learned if str(n) in self.names]


@dataclass
class DiffusionSpec(ConfigBase):
    """Parameterisation and step counts. ``default_steps``: what generation uses unless told
    otherwise (the single source of that number for every runtime and the add-on);
    ``teacher_steps``: the grid the teacher is distilled from; ``distilled_from``: the step
    counts of earlier rounds (empty for a teacher)."""

    prediction: str = "x"
    default_steps: int = 8
    teacher_steps: int = 256
    distilled_from: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        _require(isinstance(self.default_steps, int) and self.default_steps >= 1,
                 f"default_steps must be a whole number >= 1, got {self.default_steps!r}")


@dataclass
class ModelConfig(ConfigBase):
    """The whole model: a checkpoint's config rebuilds it (``network.model.DiffusionTalker``)."""

    motion: MotionSpec
    audio: AudioEncoderConfig
    adapter: AdapterSpec
    denoiser: DenoiserConfig
    identity: IdentityConfig
    diffusion: DiffusionSpec = field(default_factory=DiffusionSpec)
    provenance: dict = field(default_factory=dict)


# --- the compact audio encoder (DiffusionTalker 2025) -------------------------------------
@dataclass
class StudentConfig(ConfigBase):
    """The compact audio encoder's sizes and the teacher frontend it imitates."""

    n_mels: int
    out_dim: int
    out_rate_hz: float
    hidden: int = 192
    teacher: str = ""  # the teacher frontend's cache key (provenance)
    mel_hop: int = 320  # 16 kHz samples between log-mel frames (320: 50 frames/s)
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 1)
    level_rms: float = 0.0  # > 0: speech level of the input equalised to this RMS first

    def __post_init__(self) -> None:
        self.dilations = tuple(int(d) for d in self.dilations)

    @property
    def mel_rate_hz(self) -> float:
        return SAMPLE_RATE / self.mel_hop


# --- training -----------------------------------------------------------------------------
class RunFiles:
    """A training run's resumable state and its log, beside its output ``out``."""

    RUN: ClassVar[str]  # "train" or "distill"
    out: str

    @property
    def state_path(self) -> Path:
        return Path(self.out).with_suffix(f".{self.RUN}-state.safetensors")

    @property
    def log_path(self) -> Path:
        return Path(self.out).with_suffix(f".{self.RUN}.jsonl")


@dataclass
class TrainConfig(ConfigBase, RunFiles):
    """Teacher training settings (the model's size comes from ``preset``)."""

    RUN: ClassVar[str] = "train"

    data: str | list[str]  # a dataset, or capture takes (one path or several)
    out: str
    preset: str = "small"
    audio: dict = field(default_factory=lambda: {"kind": "mel"})
    prediction: str = "x"
    steps: int = 2000
    batch_size: int = 16
    window_seconds: float = 4.0
    lr: float = 2e-4
    warmup: int = 100
    grad_clip: float = 1.0
    identity_weight: float = 0.1
    lip_weight: float = 0.0  # the lip contact loss (training/lip_loss.py); 0: off
    time_grid: int = 0  # 0: continuous time; N (a power of two): u = i/N
    teacher_steps: int = 256
    pca_components: int = -1  # -1: automatic (vertices wider than 600 -> 128), 0: none
    seed: int = 0
    log_every: int = 25
    val_every: int = 250
    save_every: int = 250
    cache_dir: str | None = None
    device: str = "cpu"
    init: str | None = None  # fine-tune this checkpoint ("default": the shipped model)
    speaker: str | None = None  # who capture takes without a takes.json entry are of
    precision: str = "fp32"  # "bf16" / "fp16": mixed precision (torch.autocast)

    # settings that may change between a run and its resumption (the rest may not)
    RESUMABLE: ClassVar[tuple[str, ...]] = ("steps", "log_every", "val_every", "save_every",
                                            "cache_dir", "device", "out", "data", "precision")

    def __post_init__(self) -> None:
        _require(self.precision in PRECISIONS,
                 f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        _require(not self.time_grid or not self.time_grid & (self.time_grid - 1),
                 f"time_grid must be a power of two (or 0), got {self.time_grid}")
        _require(self.prediction in PREDICTIONS,
                 f"prediction must be 'x' or 'v', got {self.prediction!r}")
        _require(self.steps >= 1 and self.batch_size >= 1,
                 "steps and batch_size must be at least 1")



@dataclass
class DistillConfig(ConfigBase, RunFiles):
    """Progressive distillation settings (Salimans & Ho 2022): halve the steps each round."""

    RUN: ClassVar[str] = "distill"

    teacher: str
    out: str
    data: str | list[str]  # a dataset, or capture takes (one path or several)
    to_steps: int = 8
    from_steps: int = 0  # 0: the teacher's ``diffusion.teacher_steps``
    steps_per_round: int = 500
    batch_size: int = 16
    window_seconds: float = 4.0
    lr: float = 1e-4
    weighting: str = "truncated_snr"
    data_weight: float = 0.0  # λ: the student's target is x̃ + λ (x − x̃) (0: plain distillation)
    lip_weight: float = 0.0  # the lip contact loss against the target (training/lip_loss.py)
    grad_clip: float = 1.0
    seed: int = 0
    log_every: int = 25
    cache_dir: str | None = None
    device: str = "cpu"
    speaker: str | None = None  # who capture takes without a takes.json entry are of
    precision: str = "fp32"  # "bf16" / "fp16": mixed precision (torch.autocast)

    def __post_init__(self) -> None:
        _require(self.precision in PRECISIONS,
                 f"precision must be one of {PRECISIONS}, got {self.precision!r}")


def check_resume(saved: TrainConfig, current: TrainConfig) -> None:
    """Refuse to resume a run with settings that would change what it trains."""
    changed = [f.name for f in dataclasses.fields(TrainConfig)
               if f.name not in TrainConfig.RESUMABLE
               and getattr(saved, f.name) != getattr(current, f.name)]
    if changed:
        detail = ", ".join(f"{k}: saved {getattr(saved, k)!r}, now {getattr(current, k)!r}"
                           for k in changed)
        raise ConfigError(f"cannot resume with different settings ({detail}); use the saved "
                          "settings, or start a new run without --resume")
