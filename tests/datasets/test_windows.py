"""WindowSampler: shapes, alignment of audio and motion, padding masks, the on-disk cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from diffusiontalker.audio.build import build_frontend
from diffusiontalker.audio.frontends import AudioEncoderConfig
from diffusiontalker.datasets import WindowSampler, load_dataset, write_folder_dataset
from diffusiontalker.datasets.windows import aligned_start_step
from diffusiontalker.errors import DatasetError


class IndexFrontend:
    """Features whose value is their own index: alignment becomes checkable exactly."""

    config = AudioEncoderConfig()
    rate_hz = 100.0
    dim = 2

    def __init__(self):
        self.calls = 0

    def __call__(self, wave):
        self.calls += 1
        n = max(1, round(wave.shape[0] * self.rate_hz / 16000))
        return np.stack([np.arange(n), np.zeros(n)], 1).astype(np.float32)

    def cache_key(self):
        return "index-v1"


def test_batch_shapes_and_alignment(channel_dataset):
    corpus = load_dataset(channel_dataset)
    frontend = IndexFrontend()
    sampler = WindowSampler(corpus, frontend, corpus.split("train"), window_frames=30, seed=3)
    batch = sampler.batch(16)
    assert batch.features.shape == (16, 100, 2) and batch.features.dtype == torch.float32
    assert batch.motion.shape == (16, 30, 5) and batch.motion.dtype == torch.float32
    assert batch.speaker.dtype == torch.long and batch.mask.dtype == torch.bool
    assert set(batch.speaker.tolist()) <= {0, 1}
    for row in range(16):
        start = batch.starts[row]
        assert start % 3 == 0  # 3 frames at 30 fps = 10 mel frames exactly
        # motion column 0 holds the frame index; features column 0 the feature index
        real = int(batch.mask[row].sum())
        np.testing.assert_array_equal(batch.motion[row, :real, 0].numpy(),
                                      np.arange(start, start + real))
        assert batch.features[row, 0, 0].item() == start * 100 / 30
        speaker = corpus.speakers[batch.speaker[row]]
        assert batch.clip_ids[row].startswith(speaker)


def test_short_clips_are_padded_and_masked(channel_dataset):
    corpus = load_dataset(channel_dataset)
    clips = [c for c in corpus.clips if c.id == "ada_00"]  # 0.5 s = 15 frames
    sampler = WindowSampler(corpus, IndexFrontend(), clips, window_frames=24, seed=0)
    batch = sampler.batch(2)
    assert batch.mask[0].tolist() == [True] * 15 + [False] * 9
    assert torch.all(batch.motion[:, 15:] == 0)
    assert batch.features.shape == (2, 80, 2)


def test_vertex_motion_is_flattened(vertex_dataset):
    corpus = load_dataset(vertex_dataset)
    frontend = build_frontend(AudioEncoderConfig(kind="mel", n_mels=16))
    sampler = WindowSampler(corpus, frontend, None, window_frames=10, seed=0)
    batch = sampler.batch(4)
    assert batch.motion.shape == (4, 10, 12)
    assert batch.features.shape == (4, 40, 16)
    assert torch.isfinite(batch.features).all()


def test_iter_clips_whole(channel_dataset):
    corpus = load_dataset(channel_dataset)
    sampler = WindowSampler(corpus, IndexFrontend(), corpus.split("test"), window_frames=30)
    items = list(sampler.iter_clips())
    assert [clip.id for clip, _ in items] == ["ada_02", "bo_02"]
    clip, batch = items[0]
    assert batch.motion.shape == (1, 60, 5) and batch.features.shape == (1, 200, 2)
    assert batch.mask.all()


def test_disk_cache(channel_dataset, tmp_path):
    corpus = load_dataset(channel_dataset)
    first = IndexFrontend()
    WindowSampler(corpus, first, None, 30, cache_dir=tmp_path / "cache")
    assert first.calls == 6
    assert len(list((tmp_path / "cache" / "index-v1").glob("*.npy"))) == 6
    second = IndexFrontend()
    again = WindowSampler(corpus, second, None, 30, cache_dir=tmp_path / "cache")
    assert second.calls == 0
    np.testing.assert_array_equal(again._features[0], first(corpus.clips[0].load_audio()))


def test_deterministic_for_a_seed(channel_dataset):
    corpus = load_dataset(channel_dataset)
    a = WindowSampler(corpus, IndexFrontend(), None, 20, seed=7).batch(5)
    b = WindowSampler(corpus, IndexFrontend(), None, 20, seed=7).batch(5)
    assert a.clip_ids == b.clip_ids and a.starts == b.starts


def test_bad_arguments(channel_dataset):
    corpus = load_dataset(channel_dataset)
    with pytest.raises(DatasetError, match="no clips to sample"):
        WindowSampler(corpus, IndexFrontend(), corpus.split("val"), 30)
    with pytest.raises(DatasetError, match="window_frames must be positive"):
        WindowSampler(corpus, IndexFrontend(), None, 0)


@pytest.mark.parametrize("fps,rate,step", [(30, 100, 3), (30, 50, 3), (25, 50, 1),
                                           (25, 100, 1), (60, 50, 6), (29.97, 50, 1),
                                           (24, 50, 12)])
def test_aligned_start_step(fps, rate, step):
    # 29.97 fps: 50 / 29.97 = 5000 / 2997 has no small denominator -> every frame, rounded
    assert aligned_start_step(fps, rate) == step


class ContentFrontend(IndexFrontend):
    """Features that depend on the samples, not only on the length."""

    def __call__(self, wave):
        n = max(1, round(wave.shape[0] * self.rate_hz / 16000))
        chunks = np.array_split(np.asarray(wave, np.float32), n)
        return np.stack([[c.mean(), c.std()] for c in chunks]).astype(np.float32)


def test_disk_cache_is_not_shared_by_reused_clip_ids(clip_maker, tmp_path):
    """Two corpora with the same clip ids but other audio must not share cached features."""
    cache = tmp_path / "cache"
    features = []
    for seed in (0, 1):
        root = tmp_path / f"corpus{seed}"
        write_folder_dataset(root, "channels", 30.0, clip_maker(seed=seed),
                             channels=[f"c{i}" for i in range(5)])
        corpus = load_dataset(root)
        sampler = WindowSampler(corpus, ContentFrontend(), None, 30, cache_dir=cache)
        features.append(sampler._features[0])
    assert not np.array_equal(features[0], features[1])
