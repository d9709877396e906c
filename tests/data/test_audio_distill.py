"""The compact student encoder (DiffusionTalker 2025): distillation reduces the feature MSE,
and a saved student works as a frontend."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from diffusiontalker.audio_distill import CompactAudioEncoder
from diffusiontalker.audio_encoders import (
    AudioEncoderConfig,
    AudioEncoderError,
    Frontend,
    build_frontend,
    distill_audio_encoder,
)
from diffusiontalker.features import log_mel


class ToyTeacher(Frontend):
    """A fixed nonlinear function of the mel spectrum at 50 Hz, 12 wide (learnable by a conv)."""

    def __init__(self):
        self.config = AudioEncoderConfig(kind="mel", n_mels=16)
        self.rate_hz, self.dim = 50.0, 12
        self.weight = np.random.default_rng(5).standard_normal((16, 12)).astype(np.float32) / 4

    def __call__(self, wave):
        mel = log_mel(wave, n_mels=16)
        pooled = 0.5 * (mel[0::2][: len(mel) // 2] + mel[1::2][: len(mel) // 2])
        return np.tanh(pooled @ self.weight / 4).astype(np.float32)[: self.num_features(len(wave))]


def _waves(count=4, seconds=1.0):
    rng = np.random.default_rng(0)
    t = np.arange(int(16000 * seconds)) / 16000
    return [(0.3 * np.sin(2 * np.pi * (120 + 60 * i) * t) * (1 + np.sin(2 * np.pi * (2 + i) * t))
             + 0.02 * rng.standard_normal(t.shape)).astype(np.float32) for i in range(count)]


def test_distillation_learns_the_teacher(tmp_path):
    teacher = ToyTeacher()
    waves = _waves()
    student, losses = distill_audio_encoder(teacher, waves, steps=40, batch_size=4,
                                            crop_seconds=0.5, hidden=32, n_mels=16, lr=1e-2)
    assert len(losses) == 40
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:5])
    params = sum(p.numel() for p in student.parameters())
    assert params < 50_000
    # saved and rebuilt as a frontend, it predicts the teacher's features in teacher units
    path = student.save(tmp_path / "student.safetensors")
    frontend = build_frontend(AudioEncoderConfig(kind="student", source=str(path)))
    assert frontend.rate_hz == 50.0 and frontend.dim == 12
    feats = frontend(waves[1])
    target = teacher(waves[1])
    assert feats.shape == target.shape == (50, 12)
    baseline = np.mean((target - target.mean(0)) ** 2)
    assert np.mean((feats - target) ** 2) < 0.5 * baseline
    assert CompactAudioEncoder.load(path).config.teacher == teacher.cache_key()


def test_student_bad_file(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not safetensors")
    with pytest.raises(AudioEncoderError, match="is not a student audio encoder file"):
        build_frontend(AudioEncoderConfig(kind="student", source=str(bad)))
    with pytest.raises(AudioEncoderError, match="student encoder file not found"):
        build_frontend(AudioEncoderConfig(kind="student", source=str(tmp_path / "none")))
    with pytest.raises(AudioEncoderError, match="at least one wave"):
        distill_audio_encoder(ToyTeacher(), [], steps=1)


def test_distillation_is_seeded():
    teacher, waves = ToyTeacher(), _waves(2, 0.6)
    kwargs = dict(steps=3, batch_size=2, crop_seconds=0.3, hidden=8, n_mels=16, seed=7)
    a, la = distill_audio_encoder(teacher, waves, **kwargs)
    b, lb = distill_audio_encoder(teacher, waves, **kwargs)
    assert la == lb
    mel = torch.randn(1, 30, 16)
    torch.testing.assert_close(a(mel, 15), b(mel, 15))


def test_distill_audio_command(channel_dataset, tmp_path, capsys):
    import json

    from diffusiontalker.cli import main

    out = tmp_path / "student.safetensors"
    code = main(["distill-audio", str(channel_dataset), "--teacher", "mel", "-o", str(out),
                 "--steps", "3", "--batch-size", "2", "--crop", "0.3", "--hidden", "8",
                 "--n-mels", "16", "--max-clips", "2"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["clips"] == 2 and summary["output"] == str(out)
    frontend = build_frontend(AudioEncoderConfig(kind="student", source=str(out)))
    assert frontend.rate_hz == 100.0 and frontend.dim == 80  # the teacher's rate and width
    assert main(["distill-audio", str(channel_dataset), "--teacher", "mel", "-o", str(out),
                 "--split", "val"]) != 0
    assert "has no clips in the 'val' split" in capsys.readouterr().err
