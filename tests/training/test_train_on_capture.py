"""Training on Live Link Face takes directly (synthetic takes written by ``capture.synthetic``):
a folder with takes.json, a list of CSVs, a folder of take folders; channels a take did not
capture masked in the loss, never learnt; fine-tuning the shipped model with ``--init``."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from model_toy_data import write_toy_dataset  # noqa: E402

from diffusiontalker.audio.build import build_frontend
from diffusiontalker.capture.synthetic import write_synthetic_takes
from diffusiontalker.channels import ARKIT_CHANNELS, CHANNELS
from diffusiontalker.cli import main
from diffusiontalker.config import AudioEncoderConfig
from diffusiontalker.datasets import load_dataset, select_channels
from diffusiontalker.network.checkpoint import load_model
from diffusiontalker.paths import DEFAULT_CHECKPOINT
from diffusiontalker.training.data import open_corpus
from diffusiontalker.training.teacher import TrainConfig, build_teacher, teacher_loss

TINY = ["--config", "tiny", "--audio", "mel", "--batch-size", "4", "--window", "1",
        "--teacher-steps", "8"]


@pytest.fixture(scope="module")
def takes(tmp_path_factory):
    """Six synthetic Live Link Face takes (3 speakers, train and val) with takes.json."""
    root = tmp_path_factory.mktemp("capture")
    corpus = load_dataset(write_toy_dataset(root / "corpus", "channels", clips_per_speaker=1))
    write_synthetic_takes(corpus, root / "takes", seed=0)
    return root / "takes"


def test_train_and_distil_on_a_folder_of_takes(takes, tmp_path):
    teacher, student = tmp_path / "t.safetensors", tmp_path / "s.safetensors"
    assert main(["train", str(takes), "-o", str(teacher), "--steps", "4", *TINY]) == 0
    model = load_model(teacher)
    assert model.identity.names == ["ada", "bo", "cy"]
    assert set(model.config.motion.channels) == set(CHANNELS)  # what takes.json says was captured
    assert model.config.provenance["dataset_kind"] == "takes"
    assert main(["distill", str(teacher), "--data", str(takes), "--to", "4", "--steps-per-round",
                 "2", "--batch-size", "2", "--window", "1", "-o", str(student)]) == 0
    assert load_model(student).config.diffusion.distilled_from == [8]


def test_a_list_of_take_csvs_and_a_folder_of_take_folders(takes, tmp_path):
    csvs = [str(takes / "ada_000.csv"), str(takes / "bo_000.csv")]
    corpus = load_dataset(csvs, speaker="mia")
    assert corpus.kind == "takes" and corpus.speakers == ["mia"] and corpus.fps == 30.0
    assert [c.id for c in corpus.clips] == ["ada_000", "bo_000"]
    out = tmp_path / "mia.safetensors"
    assert main(["train", *csvs, "--speaker", "mia", "-o", str(out), "--steps", "2", *TINY]) == 0
    assert load_model(out).identity.names == ["mia"]
    # the app's export: one folder a take, no takes.json: every column counts as captured
    take = tmp_path / "shoot" / "20250101_Slate_1"
    take.mkdir(parents=True)
    shutil.copy(takes / "ada_000.csv", take / "Slate_1_iPhone_cal.csv")
    shutil.copy(takes / "ada_000.wav", take / "Slate_1_iPhone.wav")
    app = load_dataset(tmp_path / "shoot", fps=25.0)
    assert [c.id for c in app.clips] == ["Slate_1_iPhone"] and app.speakers == ["performer"]
    assert app.channels == ARKIT_CHANNELS and app.clips[0].channel_mask is None
    assert app.fps == 25.0 and app.clips[0].load_pair()[1].shape == (50, 52)


def _uncapture(takes, tmp_path, take: str, channel: str):
    """A copy of the takes where ``take`` did not capture ``channel`` (takes.json says so) and
    its CSV column holds 0.9 (a value that must never be learnt)."""
    copy = tmp_path / "takes"
    shutil.copytree(takes, copy)
    manifest = json.loads((copy / "takes.json").read_text())
    entry = next(e for e in manifest["takes"] if e["csv"] == take)
    entry["captured"] = [n for n in entry["captured"] if n != channel]
    (copy / "takes.json").write_text(json.dumps(manifest))
    lines = (copy / take).read_text().splitlines()
    column = lines[0].split(",").index(channel[0].upper() + channel[1:])
    for i in range(1, len(lines)):
        cells = lines[i].split(",")
        cells[column] = "0.9"
        lines[i] = ",".join(cells)
    (copy / take).write_text("\n".join(lines) + "\n")
    return copy


def test_channels_a_take_did_not_capture_are_masked_not_learnt(takes, tmp_path):
    copy = _uncapture(takes, tmp_path, "bo_000.csv", "jawOpen")
    corpus = load_dataset(copy)
    k = corpus.channels.index("jawOpen")
    assert len(corpus.channels) == len(CHANNELS) and "tongueOut" not in corpus.channels
    bo = next(c for c in corpus.clips if c.id == "bo_000")
    assert not bo.channel_mask[k] and bo.channel_mask.sum() == len(CHANNELS) - 1
    assert np.all(bo.motion[:, k] == 0.0)  # not the file's 0.9
    assert all(c.channel_mask is None for c in corpus.clips if c is not bo)
    # the normalisation of jawOpen is fitted on the takes that captured it
    frontend = build_frontend(AudioEncoderConfig(n_mels=16))
    cfg = TrainConfig(data=str(copy), out=str(tmp_path / "m.safetensors"), preset="tiny",
                      audio={"kind": "mel", "n_mels": 16}, batch_size=8)
    corpus, sampler, _ = open_corpus(str(copy), frontend, 1.0, seed=0)
    model = build_teacher(cfg, corpus, frontend)
    captured = np.concatenate([c.motion[:, k] for c in corpus.split("train") if c.id != bo.id])
    assert float(model.normalizer.mean[k]) == pytest.approx(captured.mean(), abs=1e-6)
    # in the loss: the uncaptured values change nothing, a captured one does
    batch = sampler.batch(8)
    rows = [i for i, clip in enumerate(batch.clip_ids) if clip == "bo_000"]
    assert rows and not batch.channel_mask[rows[0], k]
    assert batch.channel_mask[:, k].sum() == 8 - len(rows)
    u, noise = torch.full((8,), 0.5, dtype=torch.float64), torch.randn(8, 30, len(CHANNELS))

    def loss(motion):
        return teacher_loss(model, type(batch)(**{**batch.__dict__, "motion": motion}), u,
                            noise, 0.1)[1]["diffusion"]

    changed = batch.motion.clone()
    changed[rows, :, k] = 5.0
    assert loss(changed) == loss(batch.motion)
    changed[rows, :, k + 1] = 5.0
    assert loss(changed) != loss(batch.motion)
    # onto a model's channels: reordered, and a channel no take has is masked for every clip
    wanted = ("tongueOut", *reversed(corpus.channels))
    mapped = select_channels(corpus, wanted)
    ada = next(c for c in mapped.clips if c.id == "ada_000")
    np.testing.assert_array_equal(ada.motion[:, 1:], next(
        c for c in corpus.clips if c.id == "ada_000").motion[:, ::-1])
    assert not ada.channel_mask[0] and ada.channel_mask[1:].all()
    assert not next(c for c in mapped.clips if c.id == "bo_000").channel_mask[
        wanted.index("jawOpen")]


def test_fine_tune_the_default_model_on_takes(takes, tmp_path):
    run = ["train", str(takes), "--init", "default", "--batch-size", "2", "--window", "1",
           "--cache-dir", str(tmp_path / "cache")]
    same = tmp_path / "same.safetensors"
    assert main([*run, "-o", str(same), "--steps", "1", "--lr", "0"]) == 0
    default, tuned = load_model(DEFAULT_CHECKPOINT), load_model(same)
    old = default.identity.names
    assert tuned.identity.names == [*old, "bo", "cy"]  # ada is the shipped ada: her row is kept
    assert tuned.config.motion == default.config.motion
    assert tuned.config.provenance["kind"] == "fine-tuned"
    assert tuned.config.provenance["added_identities"] == ["bo", "cy"]
    before, after = default.state_dict(), tuned.state_dict()
    for name, value in before.items():
        if name != "identity.embeddings":
            torch.testing.assert_close(after[name], value, rtol=0, atol=0, msg=name)
    torch.testing.assert_close(after["identity.embeddings"][:len(old)],
                               before["identity.embeddings"])
    # a real fine-tune, interrupted and resumed, is the same run; its weights moved
    whole, cut = tmp_path / "whole.safetensors", tmp_path / "cut.safetensors"
    assert main([*run, "-o", str(whole), "--steps", "2", "--lr", "1e-3"]) == 0
    assert main([*run, "-o", str(cut), "--steps", "2", "--lr", "1e-3", "--stop-at", "1"]) == 0
    assert main([*run, "-o", str(cut), "--steps", "2", "--lr", "1e-3", "--resume"]) == 0
    a, b = load_model(whole).state_dict(), load_model(cut).state_dict()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=1e-6, msg=name)
    assert not torch.equal(a["denoiser.out.weight"], before["denoiser.out.weight"])


def test_init_keeps_the_checkpoints_model_settings(takes, tmp_path, capsys):
    assert main(["train", str(takes), "--init", "default", "--config", "tiny", "-o",
                 str(tmp_path / "x.safetensors")]) == 2
    assert "keeps the --init checkpoint's settings" in capsys.readouterr().err
