"""Synthetic Live Link Face takes from a channel corpus: the app's format, the corpus's motion
and speakers kept, the captured channels told by takes.json, seeded head and eye motion."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from diffusiontalker.bake.timing import resample_motion
from diffusiontalker.capture import HEADER, LIVE_LINK_FPS, load_take
from diffusiontalker.capture.synthetic import write_synthetic_takes
from diffusiontalker.channels import ARKIT_CHANNELS, CHANNELS
from diffusiontalker.datasets import load_dataset, write_folder_dataset
from diffusiontalker.errors import CaptureError

from .helpers import SAMPLE_RATE

NAMES = CHANNELS[:6]


def small_corpus(root, channels=NAMES, identities=None):
    """Two speakers x two 1-2 s clips of smooth motion in 0..1 (one channel all 0)."""
    clips = []
    for s, speaker in enumerate(("ada", "bo")):
        for k in range(2):
            frames = 30 + 15 * k
            t = np.arange(frames)[:, None] / 30.0
            motion = (0.5 + 0.4 * np.sin(2 * np.pi * (0.7 + 0.3 * s) * t + np.arange(len(channels))))
            motion[:, -1] = 0.0  # never moves: still a captured channel
            clips.append({"id": f"{speaker}_{k}", "speaker": speaker, "split": "train" if k else "val",
                          "text": f"sentence {k}", "motion": motion.astype(np.float32),
                          "wave": 0.1 * np.sin(np.arange(frames * 16000 // 30) / 7.0),
                          "sample_rate": SAMPLE_RATE})
    write_folder_dataset(root, "channels", 30.0, clips, channels=channels)
    if identities is not None:
        meta = json.loads((root / "dataset.json").read_text())
        meta["identities"] = identities
        (root / "dataset.json").write_text(json.dumps(meta))
    return load_dataset(root)


def _hashes(root):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.iterdir())}


def test_each_clip_becomes_an_app_format_take_with_its_motion(tmp_path):
    corpus = small_corpus(tmp_path / "corpus", identities=[{"name": "ada", "style": {"jaw": 1}}])
    manifest = write_synthetic_takes(corpus, tmp_path / "takes", seed=3)
    out = tmp_path / "takes"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{c.id}.csv" for c in corpus.clips] + [f"{c.id}.wav" for c in corpus.clips]
        + ["takes.json"])
    assert json.loads((out / "takes.json").read_text()) == manifest
    assert manifest["identities"] == [{"name": "ada", "style": {"jaw": 1}}]
    for clip in corpus.clips:
        lines = (out / f"{clip.id}.csv").read_text().splitlines()
        assert lines[0] == ",".join(HEADER)
        assert all(line.split(",")[1] == "61" for line in lines[1:])
        take = load_take(out / f"{clip.id}.csv")
        assert take.fps == LIVE_LINK_FPS
        assert (take.speaker, take.split, take.text) == (clip.speaker, clip.split, clip.text)
        assert take.captured == tuple(n for n in ARKIT_CHANNELS if n in NAMES)  # incl. the 0 one
        assert len(take.missing) == 52 - len(NAMES)
        expected = resample_motion(clip.motion, 30.0, np.arange(take.num_frames) / LIVE_LINK_FPS)
        got = take.data[:, [ARKIT_CHANNELS.index(n) for n in NAMES]]
        np.testing.assert_array_equal(got, expected)
        back, _ = take.to_motion(NAMES, fps=30.0)
        assert back.num_frames == clip.motion.shape[0]
        assert np.abs(back.data - clip.motion).mean() < 0.01
        np.testing.assert_allclose(take.audio, clip.load_audio()[:take.audio.shape[0]], atol=1e-4)


def test_head_and_eyes_are_small_seeded_signals(tmp_path):
    corpus = small_corpus(tmp_path / "corpus")
    write_synthetic_takes(corpus, tmp_path / "a", seed=1)
    write_synthetic_takes(corpus, tmp_path / "b", seed=1)
    write_synthetic_takes(corpus, tmp_path / "c", seed=2)
    assert _hashes(tmp_path / "a") == _hashes(tmp_path / "b")
    take_a, take_c = (load_take(tmp_path / x / "ada_1.csv") for x in ("a", "c"))
    assert not np.array_equal(take_a.head, take_c.head)
    np.testing.assert_array_equal(take_a.data, take_c.data)  # the face is the corpus's
    assert take_a.start_seconds != take_c.start_seconds
    head, eyes = take_a.head, take_a.eyes
    assert 0.002 < np.abs(head).max() < 0.1 and head.std(axis=0).min() > 0
    np.testing.assert_array_equal(eyes[:, :3], eyes[:, 3:])  # the eyes look together
    assert not eyes[:, [2, 5]].any() and 0 < np.abs(eyes).max() <= 0.15


def test_a_corpus_that_cannot_be_written_is_refused(tmp_path):
    with pytest.raises(CaptureError, match="not ARKit blendshapes"):
        write_synthetic_takes(small_corpus(tmp_path / "x", channels=("jaw", "lips")),
                              tmp_path / "out")
    corpus = small_corpus(tmp_path / "corpus")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(CaptureError, match="not empty"):
        write_synthetic_takes(corpus, tmp_path / "full")


def test_a_full_face_corpus_writes_its_own_head_and_gaze(tmp_path):
    from diffusiontalker.capture.synthetic import eye_rotation
    from diffusiontalker.channels import FULL_FACE_CHANNELS, HEAD_ROTATION_CHANNELS
    from diffusiontalker.synth.corpus import write_corpus

    write_corpus(tmp_path / "corpus", identities=1, utterances=1, seed=2, progress=False,
                 augment_audio=False)
    corpus = load_dataset(tmp_path / "corpus")
    assert corpus.channels == FULL_FACE_CHANNELS
    manifest = write_synthetic_takes(corpus, tmp_path / "takes", seed=0)
    assert manifest["takes"][0]["captured"] == list(ARKIT_CHANNELS)  # not the head channels
    clip = corpus.clips[0]
    take = load_take(tmp_path / "takes" / f"{clip.id}.csv")
    assert take.captured == ARKIT_CHANNELS and not take.missing
    expected = resample_motion(clip.motion, 30.0, np.arange(take.num_frames) / LIVE_LINK_FPS)
    head = [FULL_FACE_CHANNELS.index(n) for n in HEAD_ROTATION_CHANNELS]
    np.testing.assert_allclose(take.head, expected[:, head], atol=1e-6)  # the corpus's head
    assert np.abs(take.head).max() > 0.005
    np.testing.assert_allclose(take.eyes, eye_rotation(expected, FULL_FACE_CHANNELS), atol=1e-6)
    np.testing.assert_array_equal(take.eyes[:, :3], take.eyes[:, 3:])  # conjugate gaze
    np.testing.assert_allclose(take.data, expected[:, :len(ARKIT_CHANNELS)], atol=1e-6)
