"""The compact student audio encoder of DiffusionTalker 2025 (arXiv 2503.18159).

The 2025 version replaces the large pretrained speech encoder at inference with a small
network trained to reproduce its features (a feature-regression / MSE distillation loss).
Here the student reads log-mel features (numpy only, so it also runs in the torch-free
path's preprocessing), runs a dilated conv stack (:class:`AudioAdapter`'s conv kind) and a
linear head, and outputs vectors at the teacher's rate and width. A trained student is saved
as safetensors (config in the metadata) and used as the frontend kind ``"student"``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .audio_encoders import (
    AudioAdapter,
    AudioEncoderConfig,
    AudioEncoderError,
    Frontend,
    fit_length,
)
from .features import log_mel

MEL_RATE_HZ = 100.0


@dataclass
class StudentConfig:
    n_mels: int
    out_dim: int
    out_rate_hz: float
    hidden: int = 256
    teacher: str = ""  # the teacher frontend's cache key (provenance)


class CompactAudioEncoder(nn.Module):
    """log-mel ``(B, F, n_mels)`` at 100 Hz -> ``(B, F', out_dim)`` at ``out_rate_hz``.

    Outputs are de-normalised with the teacher's per-dimension mean/std (buffers), so the
    student's features live in the teacher's space.
    """

    def __init__(self, config: StudentConfig) -> None:
        super().__init__()
        self.config = config
        self.body = AudioAdapter(config.n_mels, MEL_RATE_HZ, config.out_rate_hz, config.hidden,
                                 kind="conv")
        self.head = nn.Linear(config.hidden, config.out_dim)
        self.register_buffer("target_mean", torch.zeros(config.out_dim))
        self.register_buffer("target_std", torch.ones(config.out_dim))

    def forward_normalized(self, mel: torch.Tensor, num_out: int) -> torch.Tensor:
        return self.head(self.body(mel, num_out))

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
        from safetensors import SafetensorError, safe_open

        path = Path(path)
        if not path.is_file():
            raise AudioEncoderError(f"student encoder file not found: {path}")
        try:
            with safe_open(str(path), framework="pt") as handle:
                meta = handle.metadata() or {}
                tensors = {k: handle.get_tensor(k) for k in handle.keys()}
            config = StudentConfig(**json.loads(meta["student_config"]))
        except (SafetensorError, KeyError, ValueError, TypeError, OSError) as error:
            raise AudioEncoderError(f"{path} is not a student audio encoder file: {error}") from None
        model = cls(config)
        model.load_state_dict(tensors, strict=True)
        return model.eval().requires_grad_(False)


class StudentFrontend(Frontend):
    """A trained :class:`CompactAudioEncoder` used as a frozen frontend (kind ``"student"``)."""

    def __init__(self, config: AudioEncoderConfig, device: str | torch.device = "cpu") -> None:
        self.config, self.device = config, torch.device(device)
        self.model = CompactAudioEncoder.load(str(config.source)).to(self.device)
        self.rate_hz = float(self.model.config.out_rate_hz)
        self.dim = int(self.model.config.out_dim)

    def source_fingerprint(self) -> str:
        path = Path(str(self.config.source))
        return f"{path.resolve()}:{path.stat().st_size}:{int(path.stat().st_mtime)}"

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        wave = np.asarray(wave, dtype=np.float32).reshape(-1)
        mel = torch.from_numpy(log_mel(wave, n_mels=self.model.config.n_mels))[None]
        count = self.num_features(wave.shape[0])
        with torch.inference_mode():
            out = self.model(mel.to(self.device), count)[0].float().cpu().numpy()
        return fit_length(out, count)


def distill_audio_encoder(teacher: Frontend, waves: Sequence[np.ndarray], *, steps: int = 2000,
                          batch_size: int = 16, crop_seconds: float = 2.0, hidden: int = 256,
                          n_mels: int = 80, lr: float = 1e-3, seed: int = 0,
                          on_step: Callable[[int, float], None] | None = None,
                          ) -> tuple[CompactAudioEncoder, list[float]]:
    """Train a compact mel student to regress ``teacher``'s features (feature MSE).

    The teacher runs once per wave (frozen); training draws random aligned crops of
    ``crop_seconds``. The loss is the MSE between the student's output and the teacher's
    features standardised per dimension. Returns the student (eval mode) and the loss per step.
    """
    if not waves:
        raise AudioEncoderError("distillation needs at least one wave")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    targets = [np.asarray(teacher(np.asarray(w, np.float32)), np.float32) for w in waves]
    mels = [log_mel(np.asarray(w, np.float32), n_mels=n_mels) for w in waves]
    stacked = np.concatenate(targets)
    mean, std = stacked.mean(0), stacked.std(0) + 1e-5
    student = CompactAudioEncoder(StudentConfig(n_mels, teacher.dim, teacher.rate_hz, hidden,
                                                teacher.cache_key()))
    student.target_mean.copy_(torch.from_numpy(mean))
    student.target_std.copy_(torch.from_numpy(std))
    ratio = MEL_RATE_HZ / teacher.rate_hz
    crop_out = max(1, int(round(crop_seconds * teacher.rate_hz)))
    crop_mel = int(round(crop_out * ratio))
    optimizer = torch.optim.AdamW(student.parameters(), lr=lr, weight_decay=0.0)
    losses: list[float] = []
    student.train()
    for step in range(steps):
        mel_batch, target_batch = [], []
        for index in rng.integers(0, len(waves), size=batch_size):
            start = int(rng.integers(0, max(1, targets[index].shape[0] - crop_out) + 1))
            mel_start = int(round(start * ratio))
            mel_batch.append(fit_length(mels[index][mel_start:mel_start + crop_mel]
                                        if mel_start < mels[index].shape[0] else mels[index][-1:],
                                        crop_mel))
            target_batch.append(fit_length(targets[index][start:start + crop_out], crop_out))
        mel_t = torch.from_numpy(np.stack(mel_batch))
        target_t = (torch.from_numpy(np.stack(target_batch)) - student.target_mean) / student.target_std
        loss = nn.functional.mse_loss(student.forward_normalized(mel_t, crop_out), target_t)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if on_step is not None:
            on_step(step, losses[-1])
    return student.eval().requires_grad_(False), losses
