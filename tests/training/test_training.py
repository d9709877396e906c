"""Tiny teacher training -> progressive distillation -> generation, for both motion spaces."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from model_toy_data import PITCH, speech_like, write_toy_dataset  # noqa: E402

from diffusiontalker import api  # noqa: E402
from diffusiontalker.errors import CheckpointError  # noqa: E402
from diffusiontalker.network import checkpoint  # noqa: E402
from diffusiontalker.training.distill import DistillConfig, distill, round_schedule  # noqa: E402
from diffusiontalker.training.teacher import TrainConfig, train  # noqa: E402

AUDIO = {"kind": "mel", "n_mels": 16}


def _train_cfg(data, out, **kw) -> TrainConfig:
    base = dict(preset="tiny", audio=AUDIO, steps=12, batch_size=4, window_seconds=1.0,
                lr=3e-3, warmup=2, teacher_steps=8, log_every=4, val_every=6, save_every=6)
    return TrainConfig(data=str(data), out=str(out), **{**base, **kw})


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_round_schedule():
    assert round_schedule(256, 8) == [128, 64, 32, 16, 8]
    assert round_schedule(512, 2)[-1] == 2 and len(round_schedule(512, 8)) == 6
    with pytest.raises(ValueError, match="powers of two"):
        round_schedule(500, 8)


@pytest.mark.parametrize("space,prediction", [("channels", "x"), ("vertices", "v")])
def test_train_distill_generate(space, prediction, tmp_path):
    data = write_toy_dataset(tmp_path / "data", space)
    teacher_path = train(_train_cfg(data, tmp_path / "teacher.safetensors", prediction=prediction),
                         show_progress=False)
    log = _records(tmp_path / "teacher.train.jsonl")
    assert any("diffusion" in r and "identity" in r for r in log)
    assert any("val_x_mse" in r and "val_identity_top1" in r for r in log)
    teacher = api.load_model(teacher_path)
    assert teacher.default_steps == 8 and teacher.identities == ["ada", "bo", "cy"]
    assert teacher.config.denoiser.prediction == prediction

    student_path = distill(DistillConfig(teacher=str(teacher_path), out=str(tmp_path / "s.safetensors"),
                                         data=str(data), to_steps=2, steps_per_round=6, batch_size=4,
                                         window_seconds=1.0, log_every=3), show_progress=False)
    student = api.load_model(student_path)
    diffusion = student.config.diffusion
    assert student.default_steps == 2 and diffusion.distilled_from == [8, 4]
    assert student.config.provenance["kind"] == "student"
    dlog = _records(tmp_path / "s.distill.jsonl")
    assert [r["student_steps"] for r in dlog if "val_student_sample_mse" in r] == [4, 2]
    # the frozen conditioning is bit-identical to the teacher's
    t_state, s_state = teacher.model.state_dict(), student.model.state_dict()
    for name in t_state:
        if name.startswith(("adapter.", "identity.", "normalizer.", "template")):
            assert torch.equal(t_state[name], s_state[name]), name
    assert not torch.equal(t_state["denoiser.out.weight"], s_state["denoiser.out.weight"])

    wave, _ = speech_like(1.5, PITCH["bo"], np.random.default_rng(9))
    motion = student.generate(wave, 16000, identity="bo", seed=1)
    expected = (45, 24) if space == "channels" else (45, 20, 3)
    assert motion.data.shape == expected and np.isfinite(motion.data).all()


def test_training_resumes_exactly(tmp_path):
    data = write_toy_dataset(tmp_path / "data", "channels", clips_per_speaker=1)
    short = dict(steps=8, val_every=100, save_every=100)
    whole = train(_train_cfg(data, tmp_path / "a.safetensors", **short), show_progress=False)
    with pytest.raises(CheckpointError, match="nothing to resume"):
        train(_train_cfg(data, tmp_path / "b.safetensors", **short), resume=True, show_progress=False)
    train(_train_cfg(data, tmp_path / "b.safetensors", **short), show_progress=False, stop_at=3)
    assert not (tmp_path / "b.safetensors").exists()
    resumed = train(_train_cfg(data, tmp_path / "b.safetensors", **short), resume=True,
                    show_progress=False)
    a = checkpoint.load_model(whole).state_dict()
    b = checkpoint.load_model(resumed).state_dict()
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-6), name


def test_distillation_resumes_exactly(tmp_path):
    data = write_toy_dataset(tmp_path / "data", "channels", clips_per_speaker=1)
    teacher = train(_train_cfg(data, tmp_path / "t.safetensors", steps=4, val_every=100,
                               save_every=100), show_progress=False)

    def cfg(out):
        return DistillConfig(teacher=str(teacher), out=str(tmp_path / out), data=str(data),
                             to_steps=2, steps_per_round=4, batch_size=4, window_seconds=1.0,
                             log_every=100)

    whole = distill(cfg("a.safetensors"), show_progress=False)
    with pytest.raises(CheckpointError, match="nothing to resume"):
        distill(cfg("b.safetensors"), resume=True, show_progress=False)
    distill(cfg("b.safetensors"), show_progress=False, stop_at=6)  # inside round 2 (4 -> 2)
    resumed = distill(cfg("b.safetensors"), resume=True, show_progress=False)
    a, b = checkpoint.load_model(whole), checkpoint.load_model(resumed)
    assert b.config.diffusion.distilled_from == [8, 4]
    for name, value in a.state_dict().items():
        assert torch.allclose(value, b.state_dict()[name], atol=1e-6), name


def test_held_out_speakers_get_no_library_row(tmp_path):
    """A speaker with only test clips is not in the trained identity library; distilling a
    teacher whose library has such a never-trained row drops the row."""
    import json

    from diffusiontalker.network.checkpoint import load_model, save_model
    from diffusiontalker.training.distill import DistillConfig, distill

    data = write_toy_dataset(tmp_path / "data", "channels", clips_per_speaker=1, seconds=1.0)
    meta = json.loads((data / "dataset.json").read_text())
    held = meta["speakers"][-1]
    for clip in meta["clips"]:
        if clip["speaker"] == held:
            clip["split"] = "test"
    (data / "dataset.json").write_text(json.dumps(meta))
    teacher_path = train(_train_cfg(data, tmp_path / "t.safetensors", steps=2))
    teacher = load_model(teacher_path)
    assert teacher.identity.names == meta["speakers"][:-1]
    # An older teacher with an extra, untrained row: distillation aligns it to the data.
    teacher.identity.embeddings.data = torch.cat([teacher.identity.embeddings.data,
                                                  torch.zeros(1, teacher.identity.embeddings.shape[1])])
    teacher.identity.names.append(held)
    teacher.identity.config.names = list(teacher.identity.names)
    old = save_model(teacher, tmp_path / "old.safetensors")
    student = load_model(distill(DistillConfig(teacher=str(old), out=str(tmp_path / "s.safetensors"),
                                               data=str(data), to_steps=2, from_steps=4,
                                               steps_per_round=1, batch_size=2)))
    assert student.identity.names == meta["speakers"][:-1]
    assert student.identity.embeddings.shape[0] == len(meta["speakers"]) - 1


def _teacher_moved_copy_and_batch(tmp_path):
    """A 2-step teacher on a toy corpus, a copy of it with its denoiser moved at random, and a
    batch of 4 from that corpus (for the distillation loss tests)."""
    from diffusiontalker.audio.build import build_frontend
    from diffusiontalker.training.data import open_corpus

    data = write_toy_dataset(tmp_path / "data", "channels", clips_per_speaker=1)
    path = train(_train_cfg(data, tmp_path / "t.safetensors", steps=2, val_every=100,
                            save_every=100), show_progress=False)
    teacher = checkpoint.load_model(path).eval()
    moved = checkpoint.load_model(path).eval()
    with torch.no_grad():
        for p in moved.denoiser.parameters():
            p.add_(0.1 * torch.randn_like(p))
    _, sampler, _ = open_corpus(str(data), build_frontend(teacher.config.audio), 1.0, 0, None)
    return teacher, moved, sampler.batch(4)


def test_data_weight_pulls_the_distillation_target_to_the_data(tmp_path):
    """λ = 1 makes the target the clean data (the loss no longer depends on the teacher);
    λ = 0 is plain progressive distillation (it does)."""
    from diffusiontalker.training.distill import distillation_loss

    teacher, other, batch = _teacher_moved_copy_and_batch(tmp_path)

    def loss(t, weight):
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            return distillation_loss(teacher, t, batch, 4, gen, "truncated_snr", weight)[0].item()

    assert loss(teacher, 1.0) == pytest.approx(loss(other, 1.0), rel=1e-6)
    assert loss(teacher, 0.0) != pytest.approx(loss(other, 0.0), rel=1e-3)
    assert loss(teacher, 0.5) != pytest.approx(loss(teacher, 0.0), rel=1e-3)


def test_the_distillation_lip_term_adds_the_aperture_error_to_the_target(tmp_path):
    """The lip contact loss between the student's and the target's decoded lip aperture is
    added with its weight (and logged); a student equal to the target would pay nothing."""
    from diffusiontalker.training.distill import distillation_loss

    teacher, student, batch = _teacher_moved_copy_and_batch(tmp_path)

    def loss(weight):
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            return distillation_loss(student, teacher, batch, 4, gen, "truncated_snr",
                                     lip_weight=weight)

    plain, _ = loss(0.0)
    with_lip, parts = loss(10.0)
    assert parts["lip"] > 0
    assert with_lip.item() == pytest.approx(plain.item() + 10.0 * parts["lip"], rel=1e-5)
