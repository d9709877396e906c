"""VOCASET raw files, the FaceFormer layout and BIWI-style data, from fixtures built here;
and the restricted unpickler refusing a pickle that names a class."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import soundfile

from diffusiontalker.datasets import WindowSampler, load_dataset
from diffusiontalker.datasets.safe_pickle import load_pickle
from diffusiontalker.errors import DatasetError, TopologyError

V = 10  # a small topology keeps fixtures tiny; the loaders take the count from the data
TRAIN, VAL, TEST = "FaceTalk_170725_00137_TA", "FaceTalk_170811_03275_TA", "FaceTalk_170809_00138_TA"
SENTENCES = ("sentence01", "sentence21", "sentence22")


def _template(index: int) -> np.ndarray:
    return np.full((V, 3), float(index), np.float32)


@pytest.fixture
def vocaset_root(tmp_path):
    """Raw VOCASET: 0.5 s per sentence at 60 fps; the offset's x of capture frame k is k."""
    rng = np.random.default_rng(0)
    verts, index, audio, templates = [], {}, {}, {}
    for s, subject in enumerate((TRAIN, VAL, TEST)):
        templates[subject] = _template(s)
        index[subject], audio[subject] = {}, {}
        for sentence in SENTENCES:
            frames = {}
            for k in range(30):  # capture frame numbers 1..30 at 60 fps
                offset = np.zeros((V, 3), np.float32)
                offset[:, 0] = k
                frames[k + 1] = len(verts)
                verts.append(templates[subject] + offset)
            index[subject][sentence] = frames
            samples = (rng.standard_normal(11000) * 3000).astype(np.int16)  # 0.5 s at 22 kHz
            audio[subject][sentence] = {"audio": samples, "sample_rate": 22000}
    np.save(tmp_path / "data_verts.npy", np.stack(verts))
    for name, value in (("subj_seq_to_idx.pkl", index), ("raw_audio_fixed.pkl", audio),
                        ("templates.pkl", templates)):
        with open(tmp_path / name, "wb") as handle:
            pickle.dump(value, handle, protocol=2)
    return tmp_path


def test_vocaset_raw(vocaset_root):
    corpus = load_dataset(vocaset_root)
    assert corpus.kind == "vocaset" and corpus.fps == 30.0 and corpus.num_vertices == V
    assert corpus.speakers == sorted([TRAIN, VAL, TEST])
    splits = {c.id: c.split for c in corpus.clips}
    assert {k for k, v in splits.items() if v == "train"} == {f"{TRAIN}_{s}" for s in SENTENCES}
    assert splits[f"{VAL}_sentence21"] == "val" and splits[f"{TEST}_sentence22"] == "test"
    assert f"{VAL}_sentence01" not in splits  # sentences 1-20 of held-out subjects unused
    clip = next(c for c in corpus.clips if c.id == f"{VAL}_sentence21")
    motion = clip.motion
    assert motion.shape == (15, V, 3)  # 60 -> 30 fps
    np.testing.assert_array_equal(motion[:, 0, 0], np.arange(0, 30, 2))  # every second frame
    assert np.all(motion[:, :, 1:] == 0)  # template subtracted
    wave, motion = clip.load_pair()
    assert wave.shape == (8000,) and motion.shape[0] == 15


def test_vocaset_refuses_a_pickle_with_a_class(vocaset_root):
    class Payload:
        def __reduce__(self):
            return (os.system, ("echo this must never run",))

    with open(vocaset_root / "templates.pkl", "wb") as handle:
        pickle.dump({TRAIN: Payload()}, handle)
    with pytest.raises(DatasetError, match=r"refusing to load (posix|nt|os)\.system"):
        load_dataset(vocaset_root)


def test_restricted_unpickler_allows_plain_values(tmp_path):
    value = {"a": [1, 2.5, "x", (3, None)], "b": np.arange(6, dtype=np.int16).reshape(2, 3),
             "c": np.float64(2.0), "d": {1, 2}, "e": b"raw"}
    for protocol in (0, 2, pickle.HIGHEST_PROTOCOL):
        path = tmp_path / f"p{protocol}.pkl"
        path.write_bytes(pickle.dumps(value, protocol=protocol))
        back = load_pickle(path)
        np.testing.assert_array_equal(back["b"], value["b"])
        assert back["a"] == value["a"] and back["c"] == 2.0 and back["d"] == {1, 2}
        assert back["e"] == b"raw"
    path = tmp_path / "counter.pkl"
    import collections

    path.write_bytes(pickle.dumps(collections.Counter("aab")))
    with pytest.raises(DatasetError, match="refusing to load collections.Counter"):
        load_pickle(path)
    (tmp_path / "junk.pkl").write_bytes(b"\x80\x04garbage")
    with pytest.raises(DatasetError, match="is not a readable dataset pickle"):
        load_pickle(tmp_path / "junk.pkl")


def test_vocaset_template_of_wrong_size(vocaset_root):
    templates = {s: _template(i) for i, s in enumerate((TRAIN, VAL, TEST))}
    templates[VAL] = np.zeros((V + 3, 3), np.float32)
    with open(vocaset_root / "templates.pkl", "wb") as handle:
        pickle.dump(templates, handle)
    with pytest.raises(TopologyError, match=f"has {V + 3} vertices, expected {V}"):
        load_dataset(vocaset_root)


def _write_paired_layout(root, subjects, sentences, fps, num_vertices, stored_fps=None):
    """FaceFormer layout: wav/, vertices_npy/ (absolute positions), templates.pkl."""
    (root / "wav").mkdir(parents=True)
    (root / "vertices_npy").mkdir()
    rng = np.random.default_rng(1)
    templates = {}
    for s, subject in enumerate(subjects):
        templates[subject] = np.full((num_vertices, 3), float(s), np.float32)
        for sentence in sentences:
            stem = f"{subject}_{sentence}"
            soundfile.write(str(root / "wav" / f"{stem}.wav"),
                            0.1 * rng.standard_normal(8000), 16000)  # 0.5 s
            frames = int(round(0.5 * (stored_fps or fps)))
            verts = np.repeat(templates[subject][None], frames, axis=0)
            verts[:, :, 2] += np.arange(frames)[:, None]
            np.save(root / "vertices_npy" / f"{stem}.npy", verts.reshape(frames, -1))
    with open(root / "templates.pkl", "wb") as handle:
        pickle.dump(templates, handle)
    return root


@pytest.mark.parametrize("stored_fps", [30.0, 60.0])
def test_faceformer_layout(tmp_path, stored_fps):
    root = _write_paired_layout(tmp_path / "ff", (TRAIN, TEST), SENTENCES, 30.0, 5023, stored_fps)
    corpus = load_dataset(root)
    assert corpus.kind == "faceformer" and corpus.num_vertices == 5023
    assert sorted(c.id for c in corpus.split("test")) == [f"{TEST}_sentence21",
                                                          f"{TEST}_sentence22"]
    motion = corpus.clips[0].motion
    assert motion.shape == (15, 5023, 3)
    step = int(stored_fps // 30)
    np.testing.assert_array_equal(motion[:, 0, 2], np.arange(0, 15 * step, step))
    assert np.all(motion[:, :, :2] == 0)


def test_faceformer_template_of_wrong_size(tmp_path):
    root = _write_paired_layout(tmp_path / "ff", (TRAIN,), ("sentence01",), 30.0, 12)
    with pytest.raises(TopologyError, match="has 12 vertices, expected 5023"):
        load_dataset(root, kind="faceformer")


def test_biwi_layout_and_split(tmp_path):
    root = _write_paired_layout(tmp_path / "biwi", ("F2", "M1"), ("e01", "e34", "e38"), 25.0,
                                23370)
    corpus = load_dataset(root)
    assert corpus.kind == "biwi" and corpus.fps == 25.0 and corpus.num_vertices == 23370
    splits = {c.id: c.split for c in corpus.clips}
    assert splits == {"F2_e01": "train", "F2_e34": "val", "F2_e38": "test",
                      "M1_e01": "test", "M1_e34": "test", "M1_e38": "test"}
    clip = corpus.clips[0]
    assert clip.motion.shape == (12, 23370, 3)  # round(0.5 s * 25 fps) = 12 (banker's)
    wave, motion = clip.load_pair()
    assert motion.shape[0] == 12 and wave.shape[0] == 7680


def test_window_sampler_on_vocaset(vocaset_root):
    from diffusiontalker.audio.build import build_frontend
    from diffusiontalker.audio.frontends import AudioEncoderConfig

    corpus = load_dataset(vocaset_root)
    sampler = WindowSampler(corpus, build_frontend(AudioEncoderConfig(n_mels=8)),
                            corpus.split("train"), window_frames=12, seed=0)
    batch = sampler.batch(3)
    assert batch.motion.shape == (3, 12, V * 3) and batch.features.shape == (3, 40, 8)
    assert batch.speaker.tolist() == [corpus.speakers.index(TRAIN)] * 3
