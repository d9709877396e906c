"""The plain folder format: reading, writing, and each malformed input's message."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile

from diffusiontalker.datasets import load_dataset
from diffusiontalker.errors import DatasetError, TopologyError


def test_channels_round_trip(channel_dataset):
    corpus = load_dataset(channel_dataset)
    assert corpus.kind == "folder" and corpus.space == "channels" and corpus.fps == 30.0
    assert corpus.speakers == ["ada", "bo"] and corpus.motion_dim == 5
    assert [c.id for c in corpus.split("test")] == ["ada_02", "bo_02"]
    clip = corpus.clips[1]
    assert clip.text == "sentence 1" and clip.speaker == "ada"
    assert clip.motion.shape == (36, 5) and clip.motion.dtype == np.float32
    wave = clip.load_audio()
    assert wave.dtype == np.float32 and abs(wave.shape[0] - 1.2 * 16000) <= 1
    assert clip.load_vertices() is None and clip.load_alignment() is None


def test_vertices_and_templates(vertex_dataset):
    corpus = load_dataset(vertex_dataset, kind="folder")
    assert corpus.num_vertices == 4 and corpus.motion_dim == 12
    assert corpus.clips[0].motion.shape == (12, 4, 3)
    np.testing.assert_array_equal(corpus.templates["bo"], np.ones((4, 3)))


def test_template_of_wrong_size(vertex_dataset):
    np.save(vertex_dataset / "templates" / "bo.npy", np.zeros((7, 3), np.float32))
    with pytest.raises(TopologyError, match="has 7 vertices, expected 4"):
        load_dataset(vertex_dataset)


def test_motion_of_wrong_topology(vertex_dataset):
    np.save(vertex_dataset / "motion" / "ada_00.npy", np.zeros((12, 9, 3), np.float32))
    corpus = load_dataset(vertex_dataset)
    with pytest.raises(TopologyError, match="motion has 9 vertices, expected 4"):
        _ = corpus.clips[0].motion


def test_missing_files_are_listed(channel_dataset):
    (channel_dataset / "audio" / "bo_01.wav").unlink()
    (channel_dataset / "motion" / "ada_00.npy").unlink()
    with pytest.raises(DatasetError, match=r"missing files: audio/bo_01.wav, motion/ada_00.npy|"
                                           r"missing files: motion/ada_00.npy, audio/bo_01.wav"):
        load_dataset(channel_dataset)


@pytest.mark.parametrize("edit,message", [
    (lambda m: m.update(format="other"), "'format' must be 'diffusiontalker-folder'"),
    (lambda m: m.update(version=9), "unsupported version 9"),
    (lambda m: m.pop("fps"), "required key 'fps' is missing"),
    (lambda m: m.update(space="pixels"), "'space' must be one of"),
    (lambda m: m["clips"][0].update(split="dev"), "has split 'dev'"),
    (lambda m: m["clips"][1].update(id="ada_00"), "is empty or repeated"),
    (lambda m: m.update(speakers=["ada"]), r"speakers that are not listed: \['bo'\]"),
    (lambda m: m.update(channels=None), "needs its channel names"),
])
def test_bad_metadata(channel_dataset, edit, message):
    path = channel_dataset / "dataset.json"
    meta = json.loads(path.read_text())
    edit(meta)
    path.write_text(json.dumps(meta))
    with pytest.raises(DatasetError, match=message):
        load_dataset(channel_dataset)


def test_not_json(channel_dataset):
    (channel_dataset / "dataset.json").write_text("{nope")
    with pytest.raises(DatasetError, match="is not valid JSON"):
        load_dataset(channel_dataset)


def test_pickled_npy_is_refused(channel_dataset):
    np.save(channel_dataset / "motion" / "ada_00.npy", np.array([{"a": 1}], dtype=object),
            allow_pickle=True)
    corpus = load_dataset(channel_dataset)
    with pytest.raises(DatasetError, match="cannot read .* as a numpy .npy array"):
        _ = corpus.clips[0].motion


def test_unknown_folder(tmp_path):
    with pytest.raises(DatasetError, match="is not a dataset this reader knows"):
        load_dataset(tmp_path)
    with pytest.raises(DatasetError, match="dataset path not found"):
        load_dataset(tmp_path / "absent")
    with pytest.raises(DatasetError, match="unknown dataset kind 'lmdb'"):
        load_dataset(tmp_path, kind="lmdb")


def test_duration_mismatch(channel_dataset):
    clip = load_dataset(channel_dataset).clips[1]  # 1.2 s, 36 frames
    soundfile.write(str(channel_dataset / "audio" / "ada_01.wav"),
                    np.zeros(int(1.0 * 16000), np.float32), 16000)
    with pytest.raises(DatasetError, match="audio lasts 1.000 s but motion 1.200 s"):
        clip.load_pair()


def test_small_mismatch_is_reconciled(channel_dataset):
    clip = load_dataset(channel_dataset).clips[1]
    # half a frame shorter audio: padded with silence to the motion's length
    soundfile.write(str(channel_dataset / "audio" / "ada_01.wav"),
                    np.full(int((1.2 - 0.5 / 30) * 16000), 0.1, np.float32), 16000)
    wave, motion = clip.load_pair()
    assert motion.shape[0] == 36 and wave.shape[0] == int(round(36 / 30 * 16000))
    assert wave[-1] == 0.0
    # a frame of extra motion is cut
    np.save(channel_dataset / "motion" / "ada_01.npy", np.zeros((37, 5), np.float32))
    soundfile.write(str(channel_dataset / "audio" / "ada_01.wav"),
                    np.zeros(int(1.2 * 16000), np.float32), 16000)
    wave, motion = clip.load_pair()
    assert motion.shape[0] == 36


def test_optional_vertices_and_alignment(tmp_path, clip_maker):
    from diffusiontalker.datasets import write_folder_dataset

    clips = clip_maker(speakers=("ada",), per_speaker=1)
    clips[0]["vertices"] = np.ones((15, 2, 3))
    clips[0]["alignment"] = [{"phoneme": "a", "start": 0.0, "end": 0.2}]
    root = write_folder_dataset(tmp_path / "d", "channels", 30.0, clips,
                                channels=["a", "b", "c", "d", "e"])
    clip = load_dataset(root).clips[0]
    assert clip.load_vertices().shape == (15, 2, 3)
    assert clip.load_alignment()[0]["phoneme"] == "a"


def test_writer_refuses_mixed_topologies(tmp_path, clip_maker):
    from diffusiontalker.datasets import write_folder_dataset

    clips = clip_maker(speakers=("ada",), per_speaker=2, dim=(4, 3))
    clips[1]["motion"] = np.zeros((10, 5, 3), np.float32)
    with pytest.raises(TopologyError, match="has 5 vertices, the clips before it 4"):
        write_folder_dataset(tmp_path / "d", "vertices", 30.0, clips)
