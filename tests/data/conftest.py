"""Small builders shared by the data tests."""

from __future__ import annotations

import numpy as np
import pytest

from diffusiontalker.datasets import write_folder_dataset


def make_clips(speakers=("ada", "bo"), per_speaker=3, fps=30.0, rate=22050, dim=(5,),
               seconds=(0.5, 1.2, 2.0), seed=0):
    """Clips whose motion encodes (speaker, clip, frame) so windows can be checked exactly."""
    rng = np.random.default_rng(seed)
    clips = []
    for s, speaker in enumerate(speakers):
        for k in range(per_speaker):
            duration = seconds[k % len(seconds)]
            frames = int(round(duration * fps))
            motion = np.zeros((frames, *dim), np.float32)
            motion.reshape(frames, -1)[:, 0] = np.arange(frames)  # frame index in column 0
            motion.reshape(frames, -1)[:, 1:] = s + 0.1 * k
            clips.append({
                "id": f"{speaker}_{k:02d}", "speaker": speaker,
                "split": "train" if k < per_speaker - 1 else "test",
                "text": f"sentence {k}",
                "wave": 0.1 * rng.standard_normal(int(round(duration * rate))).astype(np.float32),
                "sample_rate": rate, "motion": motion,
            })
    return clips


@pytest.fixture
def clip_maker():
    """The :func:`make_clips` builder, for tests that write their own dataset."""
    return make_clips


@pytest.fixture
def channel_dataset(tmp_path):
    channels = ["jawOpen", "mouthClose", "mouthFunnel", "browInnerUp", "eyeBlinkLeft"]
    return write_folder_dataset(tmp_path / "chan", "channels", 30.0, make_clips(),
                                channels=channels)


@pytest.fixture
def vertex_dataset(tmp_path):
    templates = {"ada": np.zeros((4, 3), np.float32), "bo": np.ones((4, 3), np.float32)}
    return write_folder_dataset(tmp_path / "vert", "vertices", 25.0,
                                make_clips(fps=25.0, dim=(4, 3)), templates=templates)
