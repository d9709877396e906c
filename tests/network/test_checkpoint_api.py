"""Checkpoints (round trip, bad files) and the inference API (windows, identities, errors)."""

from __future__ import annotations

import pickle
import struct

import numpy as np
import pytest
import torch

from diffusiontalker import api  # noqa: E402
from diffusiontalker.diffusion.windows import crossfade_weights  # noqa: E402
from diffusiontalker.errors import AudioError, CheckpointError, IdentityError  # noqa: E402
from diffusiontalker.network.checkpoint import read_header, save_model  # noqa: E402
from diffusiontalker.network.factory import random_model  # noqa: E402
from diffusiontalker.network.model import ModelConfig  # noqa: E402


def _speechy(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    return (0.2 * envelope * np.sin(2 * np.pi * 180 * t) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture(scope="module")
def channel_ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "channels.safetensors"
    save_model(random_model("channels"), path)
    return path


@pytest.fixture(scope="module")
def vertex_ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "vertices.safetensors"
    save_model(random_model("vertices", num_vertices=40, pca_components=6), path)
    return path


def test_config_round_trip():
    cfg = random_model("vertices", num_vertices=12).config
    assert ModelConfig.from_dict(cfg.to_dict()).to_dict() == cfg.to_dict()


@pytest.mark.parametrize("space", ["channels", "vertices"])
def test_save_load_gives_identical_generate(space, tmp_path):
    model = random_model(space, num_vertices=30)
    path = save_model(model, tmp_path / "m.safetensors")
    wave = _speechy(2.0)
    before = api.Talker(model).generate(wave, 16000, identity="bo", seed=3)
    talker = api.load_model(path)
    after = talker.generate(wave, 16000, identity="bo", seed=3)
    np.testing.assert_array_equal(before.data, after.data)
    assert talker.identities == ["ada", "bo", "cy"] and talker.fps == 30.0
    if space == "vertices":
        assert talker.num_vertices == 30 and talker.template.shape == (30, 3)
        np.testing.assert_array_equal(talker.template, model.template.numpy())
        assert after.data.shape == (60, 30, 3)
    else:
        assert talker.channels[0] == "jawOpen" and after.data.shape == (60, 24)
    other = talker.generate(wave, 16000, identity="bo", seed=4)
    assert not np.array_equal(other.data, after.data)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint not found: .*nope.safetensors"):
        api.load_model(tmp_path / "nope.safetensors")


def test_missing_default_checkpoint(monkeypatch, tmp_path):
    from diffusiontalker.runtime import torch_talker

    monkeypatch.setattr(torch_talker, "DEFAULT_CHECKPOINT", tmp_path / "weights" / "default.safetensors")
    with pytest.raises(CheckpointError, match="no default model is installed yet"):
        api.load_model()


def test_truncated_checkpoint(channel_ckpt, tmp_path):
    data = channel_ckpt.read_bytes()
    bad = tmp_path / "cut.safetensors"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="is truncated: tensor .* ends past the end"):
        api.load_model(bad)
    tiny = tmp_path / "tiny.safetensors"
    tiny.write_bytes(data[:5])
    with pytest.raises(CheckpointError, match="empty or truncated"):
        api.load_model(tiny)


def test_pickle_renamed_to_safetensors_is_never_unpickled(tmp_path):
    bad = tmp_path / "evil.safetensors"
    bad.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(CheckpointError, match="pickle/torch.save file, not safetensors"):
        api.load_model(bad)
    zipped = tmp_path / "torchsave.safetensors"
    torch.save({"w": torch.zeros(2)}, zipped)
    with pytest.raises(CheckpointError, match="pickle/torch.save file"):
        api.load_model(zipped)


def test_random_bytes_and_foreign_safetensors(tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(struct.pack("<Q", 20) + b"not json at all....." + b"\0" * 10)
    with pytest.raises(CheckpointError, match="unreadable header"):
        api.load_model(junk)
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"a": torch.zeros(3)}, str(foreign))
    with pytest.raises(CheckpointError, match="not a diffusiontalker checkpoint"):
        api.load_model(foreign)


def test_wrong_keys(tmp_path):
    model = random_model("channels")
    path = save_model(model, tmp_path / "m.safetensors")
    tensors, metadata = {}, read_header(path)[1]
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(path))
    tensors["bogus.weight"] = tensors.pop("denoiser.out.weight")
    save_file(tensors, str(tmp_path / "keys.safetensors"), metadata=metadata)
    with pytest.raises(CheckpointError, match="missing tensors denoiser.out.weight; unexpected tensors bogus.weight"):
        api.load_model(tmp_path / "keys.safetensors")


def test_empty_audio_and_bad_identity(channel_ckpt):
    talker = api.load_model(channel_ckpt)
    with pytest.raises(AudioError):
        talker.generate(np.zeros(0, np.float32), 16000)
    with pytest.raises(IdentityError, match="unknown identity 'zed'; known identities: ada, bo, cy"):
        talker.generate(_speechy(0.5), 16000, identity="zed")


def test_identity_choices_progress_and_match(vertex_ckpt):
    talker = api.load_model(vertex_ckpt)
    wave = _speechy(1.0)
    seen = []
    neutral = talker.generate(wave, 16000, seed=0, progress=seen.append)
    assert seen[-1] == pytest.approx(1.0) and len(seen) == 1 + talker.default_steps  # 0.0 first
    ada = talker.generate(wave, 16000, identity="ada", seed=0)
    zero = talker.generate(wave, 16000, identity="ada", seed=0, style_strength=0.0)
    np.testing.assert_allclose(zero.data, neutral.data, atol=1e-6)
    assert not np.allclose(ada.data, neutral.data)
    matches = talker.match_identity(wave, 16000, top_k=2)
    assert len(matches) == 2 and matches[0][1] >= matches[1][1]
    matched = talker.generate(wave, 16000, identity="match", seed=0)
    assert matched.identity == {matches[0][0]: 1.0}


def test_long_audio_by_windows_with_smooth_seams(channel_ckpt):
    talker = api.load_model(channel_ckpt)
    wave = _speechy(60.0, seed=2)
    spans = talker.windows(talker.num_frames(wave))
    assert len(spans) > 5 and spans[0] == (0, 300) and spans[-1][1] == 1800
    motion = talker.generate(wave, 16000, identity="ada", steps=2)
    assert motion.data.shape == (1800, 24) and np.isfinite(motion.data).all()


def test_window_crossfade_is_a_smooth_partition_of_unity(channel_ckpt):
    """Windows that disagree completely (window j outputs the constant j) blend smoothly."""
    talker = api.load_model(channel_ckpt)
    for num_frames in (1800, 1234, 301):
        spans = talker.windows(num_frames)
        total, weight = np.zeros(num_frames), np.zeros(num_frames)
        for j, (a, b) in enumerate(spans):
            w = crossfade_weights(spans, j)
            total[a:b] += j * w
            weight[a:b] += w
        assert weight.min() > 0
        blended = total / weight
        assert np.all(np.diff(blended) >= -1e-9)  # monotone from window to window
        assert np.abs(np.diff(blended)).max() <= 1.0 / 30 + 1e-6  # ≥ 1 s ramps, no step
        assert blended[0] == 0 and blended[-1] == len(spans) - 1


def test_template_of_the_wrong_size():
    from diffusiontalker.errors import TopologyError
    from diffusiontalker.network.factory import new_model
    from diffusiontalker.network.model import MotionSpec

    with pytest.raises(TopologyError, match=r"template has shape \(7, 3\), the model needs \(20, 3\)"):
        new_model(MotionSpec("vertices", 30.0, num_vertices=20), ["a"], preset="tiny",
                  template=np.zeros((7, 3), np.float32))


def test_cancel_and_bad_steps(channel_ckpt):
    from diffusiontalker.errors import CancelledError, DiffusionTalkerError

    talker = api.load_model(channel_ckpt)
    seen = []
    with pytest.raises(CancelledError, match="cancelled"):
        talker.generate(_speechy(1.0), 16000, progress=seen.append, cancel=lambda: len(seen) >= 2)
    assert len(seen) == 2
    with pytest.raises(DiffusionTalkerError, match="at least 1, got 0"):
        talker.generate(_speechy(1.0), 16000, steps=0)


def test_load_model_keyword_contract(channel_ckpt):
    talker = api.load_model(checkpoint=channel_ckpt, device="cpu")
    assert talker.space == "channels" and talker.default_steps == 4


def test_a_header_length_starting_with_the_pickle_opcode_is_still_safetensors(tmp_path):
    """A safetensors header of length 0x..80 starts with byte 0x80, like a pickle: it loads."""
    model = random_model("channels")
    path = tmp_path / "odd.safetensors"
    for pad in range(300):  # find a provenance size whose header length's low byte is 0x80
        model.config.provenance = {"pad": "x" * pad}
        save_model(model, path)
        if path.read_bytes()[0] == 0x80:
            break
    assert struct.unpack("<Q", path.read_bytes()[:8])[0] & 0xFF == 0x80
    read_header(path)
    assert api.load_model(path).model.config.provenance["pad"] == "x" * pad
