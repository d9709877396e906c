"""The compact student audio encoder of DiffusionTalker 2025 (arXiv 2503.18159).

The 2025 version replaces the large pretrained speech encoder at inference with a small
network trained to reproduce its features (a feature-regression / MSE distillation loss).
Here the student reads log-mel features (numpy only, so it also runs in the torch-free
path's preprocessing) at ``16000 / mel_hop`` frames per second (50 Hz by default: half the
frames of a 10 ms hop, at the rate of Whisper's states), runs a stack of residual dilated 1-D
convolutions (kernel 3, dilations 1, 2, 4, 8, 16, 1: a receptive field of 1.3 s at 50 Hz, in
the spirit of WaveNet's dilated stacks, van den Oord et al. 2016) and a linear head, and
outputs vectors at the teacher's rate and width. A trained student is saved as safetensors
(config in the metadata) and used as the frontend kind ``"student"``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..training.data import cosine_lr
from .features import LOG_FLOOR, fit_length, log_mel, mel_filterbank, normalize_level, padded_hann
from .frontends import AudioEncoderConfig, AudioEncoderError, Frontend, interpolate_to_frames
from .loading import SAMPLE_RATE, resample

if TYPE_CHECKING:
    from ..network.model import ModelConfig

N_FFT = 512  # log_mel's FFT size (a 400-sample window, zero-padded)


@dataclass
class StudentConfig:
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


class CompactAudioEncoder(nn.Module):
    """log-mel ``(B, F, n_mels)`` at ``mel_rate_hz`` -> ``(B, F', out_dim)`` at ``out_rate_hz``.

    LayerNorm, an input convolution, residual blocks ``h + conv_d(GELU(h))``, GELU and a
    linear head; outputs are de-normalised with the teacher's per-dimension mean/std
    (buffers), so the student's features live in the teacher's space.
    """

    def __init__(self, config: StudentConfig) -> None:
        super().__init__()
        self.config = config
        self.norm = nn.LayerNorm(config.n_mels)
        self.inp = nn.Conv1d(config.n_mels, config.hidden, 3, padding=1)
        self.blocks = nn.ModuleList(
            nn.Conv1d(config.hidden, config.hidden, 3, padding=d, dilation=d)
            for d in config.dilations)
        self.head = nn.Linear(config.hidden, config.out_dim)
        self.register_buffer("target_mean", torch.zeros(config.out_dim))
        self.register_buffer("target_std", torch.ones(config.out_dim))
        # log_mel's analysis window and filterbank for mel_torch (not saved: fixed by the config)
        self.register_buffer("window", torch.tensor(padded_hann(400, N_FFT), dtype=torch.float32),
                             persistent=False)
        self.register_buffer("filterbank", torch.tensor(
            mel_filterbank(SAMPLE_RATE, N_FFT, config.n_mels), dtype=torch.float32).T.contiguous(),
            persistent=False)

    def level(self, wave: np.ndarray) -> np.ndarray:
        """The wave at the level the student reads (``features.normalize_level`` when the
        config's ``level_rms`` is set, else unchanged)."""
        wave = np.asarray(wave, np.float32).reshape(-1)
        return normalize_level(wave, self.config.level_rms) if self.config.level_rms > 0 else wave

    def mel(self, wave: np.ndarray) -> np.ndarray:
        """The student's input for a 16 kHz wave, ``(F, n_mels)`` (numpy, float64 maths)."""
        return log_mel(self.level(wave), n_mels=self.config.n_mels, hop=self.config.mel_hop,
                       n_fft=N_FFT)

    def mel_torch(self, wave: torch.Tensor) -> torch.Tensor:
        """:meth:`mel` of a wave already at its :meth:`level`, in float32 torch on the
        encoder's device: the same centred frames, window, filterbank and floor (agreeing to
        ~1e-5), about 5x faster on one CPU thread."""
        padded = nn.functional.pad(wave.reshape(1, -1).float(), (N_FFT // 2, N_FFT // 2))[0]
        frames = padded.unfold(0, N_FFT, self.config.mel_hop)
        spectrum = torch.fft.rfft(frames * self.window)
        power = spectrum.real.square() + spectrum.imag.square()
        return torch.log(power @ self.filterbank + LOG_FLOOR)

    def forward_normalized(self, mel: torch.Tensor, num_out: int) -> torch.Tensor:
        h = self.inp(self.norm(mel).transpose(1, 2))
        for conv in self.blocks:
            h = h + conv(nn.functional.gelu(h))
        out = self.head(nn.functional.gelu(h).transpose(1, 2))
        return interpolate_to_frames(out, self.config.mel_rate_hz, self.config.out_rate_hz, num_out)

    def forward(self, mel: torch.Tensor, num_out: int) -> torch.Tensor:
        return self.forward_normalized(mel, num_out) * self.target_std + self.target_mean

    def save(self, path: str | Path) -> Path:
        from safetensors.torch import save_file

        path = Path(path)
        tensors = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        save_file(tensors, str(path), metadata={"student_config": json.dumps(asdict(self.config))})
        return path

    @classmethod
    def load(cls, path: str | Path) -> CompactAudioEncoder:
        config, tensors = _read_student_file(path, with_tensors=True)
        model = cls(config)
        model.load_state_dict(tensors, strict=True)
        return model.eval().requires_grad_(False)


def _read_student_file(path: str | Path, with_tensors: bool = False
                       ) -> tuple[StudentConfig, dict[str, torch.Tensor]]:
    """The :class:`StudentConfig` in a student encoder file's metadata, and its tensors when
    ``with_tensors`` (else an empty dict: only the header is read)."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise AudioEncoderError(f"student encoder file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata() or {}
            tensors = {k: handle.get_tensor(k) for k in handle.keys()} if with_tensors else {}
        config = StudentConfig(**json.loads(meta["student_config"]))
    except (SafetensorError, KeyError, ValueError, TypeError, OSError) as error:
        raise AudioEncoderError(f"{path} is not a student audio encoder file: {error}") from None
    return config, tensors


class StudentFrontend(Frontend):
    """A trained :class:`CompactAudioEncoder` used as a frozen frontend (kind ``"student"``).

    ``config.source`` is the encoder file, or ``package:NAME`` for one shipped with the package.
    """

    def __init__(self, config: AudioEncoderConfig, device: str | torch.device = "cpu") -> None:
        from .whisper_file import resolve_source

        self.config, self.device = config, torch.device(device)
        self.path = Path(resolve_source(str(config.source)))
        self.model = CompactAudioEncoder.load(self.path).to(self.device)
        self.rate_hz = float(self.model.config.out_rate_hz)
        self.dim = int(self.model.config.out_dim)

    def source_fingerprint(self) -> str:
        stat = self.path.stat()
        return f"{self.path.resolve()}:{stat.st_size}:{int(stat.st_mtime)}"

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        wave = np.array(wave, dtype=np.float32).reshape(-1)
        count = self.num_features(wave.shape[0])
        with torch.inference_mode():
            mel = self.model.mel_torch(torch.from_numpy(self.model.level(wave)).to(self.device))
            out = self.model(mel[None], count)[0].float().cpu().numpy()
        return fit_length(out, count)


COMPACT_ENCODER_FILE = "compact-audio-encoder.safetensors"  # shipped beside the default model


def compact_encoder_config(source: str, model_config: ModelConfig) -> AudioEncoderConfig:
    """The frontend config that makes a model read a compact encoder instead of Whisper.

    ``source``: ``"compact"`` (the file shipped with the package) or a ``distill-audio``
    ``.safetensors`` path. The encoder must stand in for what the model was trained on: a
    model reading Whisper features (``model_config.audio.kind == "whisper"``), at the width
    and rate its audio adapter expects; anything else raises :class:`AudioEncoderError`.
    """
    from .whisper_file import resolve_source

    path = f"package:{COMPACT_ENCODER_FILE}" if source == "compact" else str(source)
    file = Path(resolve_source(path))
    if model_config.audio.kind != "whisper":
        raise AudioEncoderError(
            "a compact audio encoder stands in for Whisper features, but this model reads "
            f"{model_config.audio.kind!r} features; use the model's own audio encoder")
    if source == "compact" and not file.is_file():
        raise AudioEncoderError(f"no compact audio encoder is installed with this package "
                                f"(expected {file})")
    student, _ = _read_student_file(file)  # the header only: the frontend loads the weights
    adapter = model_config.adapter
    if student.out_dim != adapter.in_dim or abs(student.out_rate_hz - adapter.rate_hz) > 1e-6:
        raise AudioEncoderError(
            f"{file} makes {student.out_dim} features at {student.out_rate_hz:g} Hz; "
            f"this model reads {adapter.in_dim} at {adapter.rate_hz:g} Hz")
    return AudioEncoderConfig(kind="student", source=path)


def augment_speech(wave: np.ndarray, rng: np.random.Generator,
                   speed: tuple[float, float] = (0.85, 1.18),
                   snr_db: tuple[float, float] = (15.0, 40.0)) -> np.ndarray:
    """A randomly "re-recorded" variant of a 16 kHz utterance, for frontend distillation.

    Encoder distillation needs no labels (the teacher reads the variant too), so voice and
    channel variety is free: a playback-speed change drawn log-uniformly from ``speed``
    (default 0.85-1.18x; pitch and vocal-tract length move together, as in VTLP, Jaitly &
    Hinton 2013), a first-order spectral tilt (microphone colour), with probability 0.5 a
    synthetic room (an exponentially decaying noise impulse response, RT60 0.1-0.6 s), with
    probability 0.6 white or brown noise at an SNR drawn from ``snr_db`` (default 15-40 dB),
    and a gain of -18 to +3 dB (peaks limited to 0.99).
    """
    x = np.asarray(wave, np.float64).reshape(-1)
    factor = float(np.exp(rng.uniform(np.log(speed[0]), np.log(speed[1]))))
    x = resample(x.astype(np.float32), int(round(SAMPLE_RATE * factor))).astype(np.float64)
    rms = float(np.sqrt(np.mean(x ** 2))) + 1e-9
    tilt = rng.uniform(-0.6, 0.6)
    x[1:] = x[1:] + tilt * x[:-1]
    if rng.random() < 0.5:
        rt60 = rng.uniform(0.1, 0.6)
        t = np.arange(int(rt60 * SAMPLE_RATE)) / SAMPLE_RATE
        tail = rng.standard_normal(t.size) * np.exp(-6.9 * t / rt60)
        tail *= rng.uniform(0.2, 0.7) / (np.sqrt(np.sum(tail ** 2)) + 1e-9)
        n = x.size + tail.size
        wet = np.fft.irfft(np.fft.rfft(x, n) * np.fft.rfft(tail, n), n)[: x.size]
        x = x + wet
    x *= rms / (float(np.sqrt(np.mean(x ** 2))) + 1e-9)
    if rng.random() < 0.6:
        noise = rng.standard_normal(x.size)
        if rng.random() < 0.5:  # brown: integrated white noise, mean removed
            noise = np.cumsum(noise)
            noise -= np.convolve(noise, np.ones(801) / 801, mode="same")
        noise *= rms / (np.sqrt(np.mean(noise ** 2)) + 1e-9) / 10 ** (rng.uniform(*snr_db) / 20)
        x = x + noise
    x *= 10 ** (rng.uniform(-18, 3) / 20)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak > 0.99:
        x *= 0.99 / peak
    return x.astype(np.float32)


def prune_encoder(encoder: CompactAudioEncoder, hidden: int) -> CompactAudioEncoder:
    """A narrower copy keeping the ``hidden`` residual channels of largest weight norm.

    Every block adds to the same residual stream, so a channel is scored by the L2 norm of
    everything that writes it or reads it (input conv rows, block rows and columns, head
    columns) and the rest are cut (structured magnitude pruning, Li et al. 2017, arXiv
    1608.08710); a short distillation run then recovers what the cut channels carried.
    """
    if not 0 < hidden <= encoder.config.hidden:
        raise AudioEncoderError(f"cannot prune a {encoder.config.hidden}-wide encoder to {hidden}")
    score = (encoder.inp.weight.detach().pow(2).sum((1, 2))
             + encoder.head.weight.detach().pow(2).sum(0))
    for conv in encoder.blocks:
        w = conv.weight.detach().pow(2)
        score = score + w.sum((1, 2)) + w.sum((0, 2))
    keep = torch.argsort(score, descending=True)[:hidden].sort().values
    config = copy.deepcopy(encoder.config)
    config.hidden = hidden
    pruned = CompactAudioEncoder(config)
    state = {k: v.clone() for k, v in encoder.state_dict().items()}
    state["inp.weight"], state["inp.bias"] = state["inp.weight"][keep], state["inp.bias"][keep]
    for i in range(len(encoder.blocks)):
        state[f"blocks.{i}.weight"] = state[f"blocks.{i}.weight"][keep][:, keep]
        state[f"blocks.{i}.bias"] = state[f"blocks.{i}.bias"][keep]
    state["head.weight"] = state["head.weight"][:, keep]
    pruned.load_state_dict(state, strict=True)
    return pruned.eval().requires_grad_(False)


class AdapterTokens(nn.Module):
    """A trained model's audio adapter as a ``token_map``: features -> its tokens, at the
    feature rate (``AudioAdapter.encode``), for the task-aware distillation loss."""

    def __init__(self, adapter: nn.Module) -> None:
        super().__init__()
        self.adapter = adapter

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.adapter.encode(features)


def distill_audio_encoder(teacher: Frontend, waves: Sequence[np.ndarray], *, steps: int = 2000,
                          batch_size: int = 16, crop_seconds: float = 4.0, hidden: int = 192,
                          n_mels: int = 80, mel_hop: int = 320,
                          dilations: Sequence[int] = (1, 2, 4, 8, 16, 1), lr: float = 1e-3,
                          seed: int = 0, token_map: nn.Module | None = None,
                          feature_weight: float = 0.1, init: CompactAudioEncoder | None = None,
                          identity: nn.Module | None = None, identity_weight: float = 1.0,
                          level_rms: float | None = None,
                          on_step: Callable[[int, float], None] | None = None,
                          ) -> tuple[CompactAudioEncoder, list[float]]:
    """Train a compact mel student to regress ``teacher``'s features (feature MSE).

    The teacher runs once per wave (frozen); training draws random aligned crops of
    ``crop_seconds``. The loss is the MSE between the student's output and the teacher's
    features standardised per dimension; Adam's learning rate follows a cosine to 0.

    ``token_map`` (frozen; e.g. a trained model's audio adapter ``encode``) makes the loss
    task-aware: the MSE between ``token_map`` of the student's and of the teacher's features
    (each token dimension standardised), plus ``feature_weight`` times the feature MSE, so the
    student spends its capacity on what the motion model reads. ``identity`` (frozen; the
    model's :class:`~diffusiontalker.network.identity.IdentityLibrary`, with ``token_map``) adds
    ``identity_weight`` times the KL divergence from the library-match distribution
    ``softmax(cos(g(a), E_j)/τ)`` of the teacher's tokens to the student's (Hinton et al. 2015
    distillation on the identity lookup), so "match identity from the voice" keeps naming the
    same speakers: the mean/std pooling of the style encoder is sensitive to small, consistent
    token offsets that the token MSE barely sees. ``init`` continues from a trained student
    instead of a new one. ``level_rms`` sets the student's input level equalisation
    (``StudentConfig.level_rms``; None: off for a new student, unchanged for ``init``).
    Returns the student (eval mode) and the loss per step.
    """
    if not waves:
        raise AudioEncoderError("distillation needs at least one wave")
    if identity is not None and token_map is None:
        raise AudioEncoderError("the identity loss reads tokens: it needs a token_map")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    if init is None:
        config = StudentConfig(n_mels, teacher.dim, teacher.rate_hz, hidden, teacher.cache_key(),
                               mel_hop, tuple(dilations), level_rms or 0.0)
        student = CompactAudioEncoder(config)
    else:
        student = copy.deepcopy(init).requires_grad_(True)
        config = student.config
        if level_rms is not None:
            config.level_rms = float(level_rms)
    targets = [np.asarray(teacher(np.asarray(w, np.float32)), np.float32) for w in waves]
    mels = [student.mel(np.asarray(w, np.float32)) for w in waves]
    if init is None:
        stacked = np.concatenate(targets)
        student.target_mean.copy_(torch.from_numpy(stacked.mean(0)))
        student.target_std.copy_(torch.from_numpy(stacked.std(0) + 1e-5))
        del stacked
    token_scale = None
    if token_map is not None:
        token_map = token_map.eval().requires_grad_(False)
        with torch.no_grad():
            tokens = torch.cat([token_map(torch.from_numpy(t)[None])[0] for t in targets])
        token_mean, token_std = tokens.mean(0), tokens.std(0) + 1e-5
        token_scale = (token_mean, token_std)
        del tokens
    if identity is not None:
        identity = identity.eval().requires_grad_(False)
    ratio = config.mel_rate_hz / teacher.rate_hz
    crop_out = max(1, int(round(crop_seconds * teacher.rate_hz)))
    crop_mel = int(round(crop_out * ratio))
    optimizer = torch.optim.AdamW(student.parameters(), lr=lr, weight_decay=0.0)
    losses: list[float] = []
    student.train()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(step, steps, lr)
        mel_batch, target_batch = [], []
        for index in rng.integers(0, len(waves), size=batch_size):
            start = int(rng.integers(0, max(1, targets[index].shape[0] - crop_out) + 1))
            mel_start = int(round(start * ratio))
            mel_batch.append(fit_length(mels[index][mel_start:mel_start + crop_mel]
                                        if mel_start < mels[index].shape[0] else mels[index][-1:],
                                        crop_mel))
            target_batch.append(fit_length(targets[index][start:start + crop_out], crop_out))
        mel_t = torch.from_numpy(np.stack(mel_batch))
        target_t = torch.from_numpy(np.stack(target_batch))
        pred = student.forward_normalized(mel_t, crop_out)
        loss = nn.functional.mse_loss(pred, (target_t - student.target_mean) / student.target_std)
        if token_scale is not None:
            mean, std = token_scale
            pred_tokens = token_map(pred * student.target_std + student.target_mean)
            with torch.no_grad():
                target_tokens = token_map(target_t)
            token_loss = nn.functional.mse_loss((pred_tokens - mean) / std,
                                                (target_tokens - mean) / std)
            loss = token_loss + feature_weight * loss
            if identity is not None:
                with torch.no_grad():
                    target_match = identity.logits(target_tokens).softmax(-1)
                loss = loss + identity_weight * nn.functional.kl_div(
                    identity.logits(pred_tokens).log_softmax(-1), target_match,
                    reduction="batchmean")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if on_step is not None:
            on_step(step, losses[-1])
    return student.eval().requires_grad_(False), losses
