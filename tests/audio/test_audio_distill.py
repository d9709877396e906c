"""The compact student encoder (DiffusionTalker 2025): distillation reduces the feature MSE,
and a saved student works as a frontend."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from diffusiontalker.audio.build import build_frontend
from diffusiontalker.audio.compact_encoder import CompactAudioEncoder
from diffusiontalker.audio.features import log_mel
from diffusiontalker.audio.frontends import AudioEncoderConfig, AudioEncoderError, Frontend
from diffusiontalker.training.audio_distill import distill_audio_encoder


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
                 "--n-mels", "16", "--max-clips", "2", "--augment", "1"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["clips"] == 4 and summary["output"] == str(out)  # 2 clips + 1 variant each
    frontend = build_frontend(AudioEncoderConfig(kind="student", source=str(out)))
    assert frontend.rate_hz == 100.0 and frontend.dim == 80  # the teacher's rate and width
    narrow = tmp_path / "narrow.safetensors"  # --init with a narrower --hidden prunes it
    assert main(["distill-audio", str(channel_dataset), "--teacher", "mel", "-o", str(narrow),
                 "--steps", "2", "--batch-size", "2", "--crop", "0.3", "--hidden", "4",
                 "--max-clips", "2", "--init", str(out), "--level-rms", "0.1"]) == 0
    pruned = CompactAudioEncoder.load(narrow)
    assert pruned.config.hidden == 4 and pruned.config.n_mels == 16
    assert pruned.config.level_rms == 0.1
    assert main(["distill-audio", str(channel_dataset), "--teacher", "mel", "-o", str(out),
                 "--split", "val"]) != 0
    assert "has no clips in the 'val' split" in capsys.readouterr().err


def test_task_aware_loss_targets_the_tokens_and_continues_a_student():
    """With a token map the loss is measured in its output space (here a projection that
    ignores half of the teacher's dimensions): those dimensions stop mattering, the others
    are learnt; ``init`` continues from a trained student without re-normalising it."""
    teacher, waves = ToyTeacher(), _waves()
    project = torch.nn.Linear(12, 4, bias=False)
    with torch.no_grad():
        project.weight.zero_()
        project.weight[:, :6] = torch.randn(4, 6, generator=torch.Generator().manual_seed(1))
    kwargs = dict(batch_size=4, crop_seconds=0.5, hidden=32, n_mels=16, lr=1e-2, seed=2)
    student, losses = distill_audio_encoder(teacher, waves, steps=60, token_map=project,
                                            feature_weight=0.0, **kwargs)
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:5])
    assert all(not p.requires_grad for p in project.parameters())
    target = teacher(waves[2])
    mel = torch.from_numpy(student.mel(waves[2]))[None]
    with torch.no_grad():
        feats = student(mel, target.shape[0])[0].numpy()
    tokens = (feats - target) @ project.weight.numpy().T
    assert np.mean(tokens ** 2) < 0.5 * np.mean((target @ project.weight.numpy().T
                                                  - (target @ project.weight.numpy().T).mean(0)) ** 2)
    more, more_losses = distill_audio_encoder(teacher, waves, steps=5, init=student,
                                              token_map=project, feature_weight=0.0, **kwargs)
    torch.testing.assert_close(more.target_std, student.target_std)
    assert more is not student and more_losses[0] < 0.5 * losses[0]


def test_student_reads_a_50_hz_mel_and_shipped_sources(tmp_path, monkeypatch):
    """The default student reads log-mel every 320 samples (50 frames/s); ``package:NAME``
    sources resolve among the package's weights."""
    from diffusiontalker.audio import whisper_file as whisper_encoder_file
    from diffusiontalker.audio.compact_encoder import StudentConfig

    encoder = CompactAudioEncoder(StudentConfig(n_mels=16, out_dim=6, out_rate_hz=50.0, hidden=8))
    assert encoder.mel(np.zeros(16000, np.float32)).shape == (51, 16)
    encoder.save(tmp_path / "enc.safetensors")
    monkeypatch.setattr(whisper_encoder_file, "PACKAGE_WEIGHTS", tmp_path)
    frontend = build_frontend(AudioEncoderConfig(kind="student", source="package:enc.safetensors"))
    assert frontend(np.zeros(8000, np.float32)).shape == (25, 6)


def test_augmented_speech_is_a_seeded_re_recording():
    """A variant keeps the speech's sample rate contract (speed 0.85-1.18x changes the length
    accordingly), stays finite and below clipping, differs from the input, and is seeded."""
    from diffusiontalker.training.audio_distill import augment_speech

    wave = _waves(1, 2.0)[0]
    variants = [augment_speech(wave, np.random.default_rng(s)) for s in range(12)]
    again = augment_speech(wave, np.random.default_rng(3))
    np.testing.assert_array_equal(variants[3], again)
    for v in variants:
        assert v.dtype == np.float32 and np.isfinite(v).all()
        assert 32000 / 1.19 <= v.shape[0] <= 32000 / 0.84
        assert np.max(np.abs(v)) <= 0.99 + 1e-6 and np.sqrt(np.mean(v ** 2)) > 1e-3
    assert len({v.shape[0] for v in variants}) > 6  # the speed really varies
    same_length = [v for v in variants if v.shape[0] == wave.shape[0]]
    assert all(not np.allclose(v, wave, atol=1e-3) for v in same_length)


def test_identity_match_distillation_follows_the_teachers_lookup():
    """With an identity library the loss adds KL(teacher match || student match): training
    with it brings the student's library-match distribution closer to the teacher's than the
    same run without it; it needs a token map."""
    from diffusiontalker.network.identity import IdentityConfig, IdentityLibrary

    teacher, waves = ToyTeacher(), _waves(6, 1.0)
    torch.manual_seed(3)
    library = IdentityLibrary(IdentityConfig(names=["a", "b", "c"], dim=4, audio_dim=12, hidden=8))
    project = torch.nn.Identity()
    kwargs = dict(batch_size=4, crop_seconds=0.5, hidden=16, n_mels=16, lr=1e-2, seed=4,
                  token_map=project, feature_weight=0.0)

    def match_kl(student):
        total = 0.0
        for w in waves:
            target = torch.from_numpy(teacher(w))[None]
            with torch.no_grad():
                pred = student(torch.from_numpy(student.mel(w))[None], target.shape[1])
                p = library.logits(target).softmax(-1)
                total += float(torch.nn.functional.kl_div(library.logits(pred).log_softmax(-1),
                                                          p, reduction="batchmean"))
        return total / len(waves)

    without, _ = distill_audio_encoder(teacher, waves, steps=40, **kwargs)
    with_id, losses = distill_audio_encoder(teacher, waves, steps=40, identity=library,
                                            identity_weight=5.0, **kwargs)
    assert all(not p.requires_grad for p in library.parameters())
    assert match_kl(with_id) < match_kl(without)
    with pytest.raises(AudioEncoderError, match="needs a token_map"):
        distill_audio_encoder(teacher, waves, steps=1, identity=library)


def test_torch_log_mel_agrees_with_the_numpy_one():
    """The frontend's float32 torch log-mel is the numpy log_mel the student was trained on."""
    from diffusiontalker.audio.compact_encoder import StudentConfig

    encoder = CompactAudioEncoder(StudentConfig(n_mels=40, out_dim=6, out_rate_hz=50.0, hidden=8))
    for wave in [*_waves(2, 1.3), np.zeros(5000, np.float32), np.zeros(1, np.float32)]:
        expected = encoder.mel(wave)
        got = encoder.mel_torch(torch.from_numpy(wave)).numpy()
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=1e-4)
    assert "window" not in encoder.state_dict()  # fixed by the config, never saved


def test_pruning_keeps_the_strongest_residual_channels():
    """A pruned copy is narrower, saves and loads, and equals the original exactly when the
    cut channels carry nothing; a wider target is refused."""
    from diffusiontalker.audio.compact_encoder import StudentConfig
    from diffusiontalker.training.audio_distill import prune_encoder

    encoder = CompactAudioEncoder(StudentConfig(n_mels=16, out_dim=6, out_rate_hz=50.0, hidden=12))
    dead = torch.tensor([1, 4, 5, 9])
    with torch.no_grad():  # channels nothing writes or reads
        encoder.inp.weight[dead] = 0
        encoder.inp.bias[dead] = 0
        for conv in encoder.blocks:
            conv.weight[dead] = 0
            conv.bias[dead] = 0
            conv.weight[:, dead] = 0
        encoder.head.weight[:, dead] = 0
    pruned = prune_encoder(encoder, 8)
    assert pruned.config.hidden == 8 and encoder.config.hidden == 12
    mel = torch.randn(1, 40, 16)
    with torch.no_grad():
        torch.testing.assert_close(pruned(mel, 20), encoder(mel, 20))
    with pytest.raises(AudioEncoderError, match="cannot prune"):
        prune_encoder(encoder, 13)


def test_augmentation_speed_range_is_respected():
    from diffusiontalker.training.audio_distill import augment_speech

    wave = _waves(1, 1.0)[0]
    lengths = [augment_speech(wave, np.random.default_rng(s), (1.4, 1.45)).shape[0] for s in range(4)]
    assert all(16000 / 1.46 <= n <= 16000 / 1.39 for n in lengths)


def test_speech_level_equalisation():
    """normalize_level brings the loudest 30 % of frames to the target RMS whatever the
    recording gain or the length of the silence around the speech; silence stays silent."""
    from diffusiontalker.audio.compact_encoder import StudentConfig
    from diffusiontalker.audio.features import normalize_level

    speech = _waves(1, 1.0)[0]
    framed = np.concatenate([np.zeros(16000, np.float32), speech, np.zeros(8000, np.float32)])
    for wave in (speech, 0.003 * speech, 5 * framed):
        out = normalize_level(wave, 0.1)
        assert out.shape == wave.shape and out.dtype == np.float32
        np.testing.assert_allclose(out[np.abs(wave) > 0] / wave[np.abs(wave) > 0],
                                   out[np.abs(wave) > 0][0] / wave[np.abs(wave) > 0][0], rtol=1e-5)
        frames = out[: out.size // 320 * 320].reshape(-1, 320)
        energy = np.sort(np.mean(frames.astype(np.float64) ** 2, 1))
        assert np.sqrt(np.mean(energy[int(0.7 * energy.size):])) == pytest.approx(0.1, rel=1e-4)
    np.testing.assert_array_equal(normalize_level(np.zeros(4000, np.float32), 0.1), 0)
    # a student with level_rms reads quiet and loud copies alike, and keeps the setting on disk
    encoder = CompactAudioEncoder(StudentConfig(n_mels=16, out_dim=6, out_rate_hz=50.0, hidden=8,
                                                level_rms=0.1))
    np.testing.assert_allclose(encoder.mel(0.01 * speech), encoder.mel(speech), atol=1e-4)
    assert not np.allclose(CompactAudioEncoder(StudentConfig(16, 6, 50.0, 8)).mel(0.01 * speech),
                           CompactAudioEncoder(StudentConfig(16, 6, 50.0, 8)).mel(speech), atol=1e-2)


def test_level_equalisation_is_switched_on_for_a_continued_student(tmp_path):
    teacher, waves = ToyTeacher(), _waves(2, 0.6)
    kwargs = dict(steps=2, batch_size=2, crop_seconds=0.3, hidden=8, n_mels=16)
    plain, _ = distill_audio_encoder(teacher, waves, **kwargs)
    assert plain.config.level_rms == 0.0
    levelled, _ = distill_audio_encoder(teacher, waves, init=plain, level_rms=0.07, **kwargs)
    assert levelled.config.level_rms == 0.07 and plain.config.level_rms == 0.0
    levelled.save(tmp_path / "s.safetensors")
    assert CompactAudioEncoder.load(tmp_path / "s.safetensors").config.level_rms == 0.07


def test_a_compact_encoder_stands_in_only_for_the_whisper_features_it_learned(tmp_path):
    """``compact_encoder_config``: a Whisper-reading model takes a compact encoder of its
    adapter's width and rate; a model on other features, a wrong width or a missing file is
    refused with a message that says so."""
    from diffusiontalker.audio.compact_encoder import StudentConfig, compact_encoder_config
    from diffusiontalker.network.model import MotionSpec, build_config

    encoder = CompactAudioEncoder(StudentConfig(n_mels=16, out_dim=24, out_rate_hz=50.0, hidden=8))
    path = encoder.save(tmp_path / "enc.safetensors")
    motion = MotionSpec("channels", 30.0, channels=["jawOpen", "mouthClose"])
    whisper = build_config(motion, AudioEncoderConfig(kind="whisper", source="w.bin"), 24, 50.0,
                           ["ada"], "tiny")
    config = compact_encoder_config(str(path), whisper)
    assert config.kind == "student" and config.source == str(path)
    mel = build_config(motion, AudioEncoderConfig(kind="mel"), 24, 50.0, ["ada"], "tiny")
    with pytest.raises(AudioEncoderError, match="stands in for Whisper features"):
        compact_encoder_config(str(path), mel)
    wide = build_config(motion, AudioEncoderConfig(kind="whisper", source="w.bin"), 384, 50.0,
                        ["ada"], "tiny")
    with pytest.raises(AudioEncoderError, match="makes 24 features at 50 Hz; this model reads 384"):
        compact_encoder_config(str(path), wide)
    with pytest.raises(AudioEncoderError, match="not found"):
        compact_encoder_config(str(tmp_path / "missing.safetensors"), whisper)
