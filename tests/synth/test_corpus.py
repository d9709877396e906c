"""The corpus writer: folder format, splits, identities, determinism, clear errors."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import soundfile

from diffusiontalker.channels import ARKIT_CHANNELS, FULL_FACE_CHANNELS, HEAD_ROTATION_CHANNELS
from diffusiontalker.cli import main
from diffusiontalker.errors import DiffusionTalkerError
from diffusiontalker.synth.corpus import make_clip, write_corpus
from diffusiontalker.synth.styles import HELD_OUT_IDENTITIES, IDENTITIES


def _hashes(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_writes_the_folder_format(tmp_path):
    out = tmp_path / "c"
    manifest = write_corpus(out, identities=3, utterances=2, seed=3, progress=False)
    data = json.loads((out / "dataset.json").read_text())
    assert data == manifest
    assert data["format"] == "diffusiontalker-folder" and data["space"] == "channels"
    assert data["fps"] == 30.0 and data["channels"] == list(FULL_FACE_CHANNELS)
    assert data["generator"] == {"name": "diffusiontalker synth", "version": "0.1.0", "seed": 3}
    assert data["speakers"] == [i.name for i in IDENTITIES[:3]]
    assert len(data["clips"]) == 6
    for clip in data["clips"]:
        audio, sr = soundfile.read(out / "audio" / f"{clip['id']}.wav")
        motion = np.load(out / "motion" / f"{clip['id']}.npy")
        alignment = json.loads((out / "alignments" / f"{clip['id']}.json").read_text())
        assert sr == 16000 and audio.ndim == 1
        assert motion.dtype == np.float32 and motion.shape[1] == len(FULL_FACE_CHANNELS)
        assert abs(len(motion) / 30.0 - len(audio) / sr) <= 1 / 30.0
        shapes, head = motion[:, :len(ARKIT_CHANNELS)], motion[:, len(ARKIT_CHANNELS):]
        assert 0.0 <= shapes.min() and shapes.max() <= 1.0  # blendshapes
        assert head.shape[1] == len(HEAD_ROTATION_CHANNELS)  # radians, a few degrees
        assert np.abs(head).max() <= 0.15 and head.std(axis=0).min() > 1e-3
        assert alignment and all(a["start"] < a["end"] <= len(audio) / sr for a in alignment)
        assert clip["text"] and clip["split"] in ("train", "val", "test")


def test_same_seed_same_bytes_and_workers_do_not_matter(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    write_corpus(a, identities=2, utterances=2, seed=7, progress=False)
    write_corpus(b, identities=2, utterances=2, seed=7, progress=False, workers=2)
    write_corpus(c, identities=2, utterances=2, seed=8, progress=False)
    assert _hashes(a) == _hashes(b)
    assert _hashes(a) != _hashes(c)
    motion = {k: v for k, v in _hashes(a).items() if k.startswith("motion/")}
    assert motion and motion != {k: v for k, v in _hashes(c).items() if k.startswith("motion/")}


def test_splits_hold_out_sentences_and_whole_identities():
    identities = {i.name: n for n, i in enumerate(IDENTITIES)}
    assert len(IDENTITIES) >= 12 and len(HELD_OUT_IDENTITIES) >= 2
    assert all(identities[name] < 12 for name in HELD_OUT_IDENTITIES)  # in any >= 12 corpus
    from diffusiontalker.synth.corpus import split_of

    for identity in IDENTITIES:
        splits = {split_of(identity, u) for u in range(40)}
        if identity.name in HELD_OUT_IDENTITIES:
            assert splits == {"test"}
        else:
            assert splits == {"train", "val", "test"}


def test_hours_stops_at_the_target(tmp_path):
    manifest = write_corpus(tmp_path / "h", identities=2, hours=20 / 3600, seed=0,
                            progress=False)
    durations = [c["duration"] for c in manifest["clips"]]
    assert sum(durations) >= 20 and sum(durations[:-1]) < 20


def test_clips_are_distinct_and_augmentation_keeps_timing():
    clean = make_clip(0, 0, 5, augment_audio=False)
    noisy = make_clip(0, 0, 5, augment_audio=True)
    assert clean.text == noisy.text and len(clean.audio) == len(noisy.audio)
    np.testing.assert_array_equal(clean.motion, noisy.motion)
    assert make_clip(0, 0, 6, augment_audio=False).text != clean.text


def test_cli_and_clear_errors(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["synth", str(out), "--identities", "1", "--utterances", "1"]) == 0
    assert "wrote 1 clips" in capsys.readouterr().out
    assert main(["synth", str(out), "--identities", "1", "--utterances", "1"]) == 2
    assert "is not empty" in capsys.readouterr().err
    with pytest.raises(DiffusionTalkerError, match="--identities must be between 1 and 16"):
        write_corpus(tmp_path / "x", identities=40)
    with pytest.raises(DiffusionTalkerError, match="--hours must be positive"):
        write_corpus(tmp_path / "y", hours=-1)


def test_vertex_offsets_on_the_demo_head(tmp_path):
    from diffusiontalker.head import build_demo_head, build_rig

    out = tmp_path / "v"
    manifest = write_corpus(out, identities=1, utterances=1, seed=0, progress=False,
                            vertices=True)
    clip = manifest["clips"][0]["id"]
    motion = np.load(out / "motion" / f"{clip}.npy")
    offsets = np.load(out / "vertices" / f"{clip}.npy")
    head = build_demo_head()
    names = manifest["vertex_offsets"]["channels"]  # the corpus channels the demo rig builds
    assert "jawOpen" in names and set(names) <= set(FULL_FACE_CHANNELS)
    rig = build_rig(head.vertices, head.faces, head.landmarks, names)
    assert offsets.shape == (len(motion), len(head.vertices), 3) and offsets.dtype == np.float32
    columns = [FULL_FACE_CHANNELS.index(n) for n in names]
    np.testing.assert_allclose(offsets, rig.apply(motion[:, columns]), atol=1e-6)
    assert np.abs(offsets).max() > 1e-4  # the face moves
    template = np.load(out / "demo_head_template.npy")
    assert template.shape == (len(head.vertices), 3)
    assert manifest["vertex_offsets"]["num_vertices"] == len(head.vertices)


def test_clips_begin_and_end_in_silence_with_the_mouth_at_rest():
    """Every clip has 0.1-0.9 s of silence before the sentence and 0.2-1.0 s after it, as pause
    phones, with silent audio and a closed mouth there (models must learn rest in silence)."""
    from diffusiontalker.evaluation.speech_check import demo_head_aperture
    from diffusiontalker.head.rig_fields import BUILDERS

    names = [n for n in FULL_FACE_CHANNELS if n in BUILDERS]
    columns = [FULL_FACE_CHANNELS.index(n) for n in names]
    head_aperture = demo_head_aperture(names)

    def aperture(motion):
        return head_aperture(motion[:, columns])

    for utterance in range(3):
        clip = make_clip(0, utterance, utterance, augment_audio=False)
        first, last = clip.alignment[0], clip.alignment[-1]
        assert first["phoneme"] == "_" and 0.1 <= first["end"] <= 0.9
        assert last["phoneme"] == "_" and 0.2 <= last["end"] - last["start"] <= 1.0 + 1e-3
        lead = int(first["end"] * 16000)
        assert np.abs(clip.audio[: lead - 160]).max() == 0.0
        rest = aperture(clip.motion[: int(first["end"] * 30) - 4])
        assert rest.max() < 0.0015  # lips within 1.5 mm of closed before speech starts
        assert aperture(clip.motion[-3:]).max() < 0.0015
