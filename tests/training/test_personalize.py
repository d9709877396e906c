"""Learning a talking identity from face capture (training/personalize.py): a new library row
fitted with every other weight frozen, written as a complete checkpoint; masked channels, the
errors, cancel and remove. Tiny random models: plumbing, not quality (that is
tests/evaluation/test_capture_eval.py with the shipped model)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

from personal_takes import (  # noqa: E402
    NAMES,
    SAMPLE_RATE,
    identity_model,
    save_identity_model,
    speech_like,
    take_weights,
    write_take,
)

from diffusiontalker import api  # noqa: E402
from diffusiontalker.capture import Take, load_take  # noqa: E402
from diffusiontalker.channels import ARKIT_CHANNELS, CHANNELS  # noqa: E402
from diffusiontalker.errors import (  # noqa: E402
    CancelledError,
    CaptureError,
    ConfigError,
    IdentityError,
)
from diffusiontalker.network.checkpoint import load_model, save_model  # noqa: E402
from diffusiontalker.network.factory import random_model  # noqa: E402
from diffusiontalker.training.personalize import (  # noqa: E402
    FitSettings,
    capture_tracks,
    fit_identity,
    learn_identity,
    learned_identities,
    remove_identity,
)

FAST = FitSettings(steps=40, batch_size=4, window_seconds=1.0, lr=0.05)


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return save_identity_model(tmp_path_factory.mktemp("base") / "base.safetensors")


@pytest.fixture(scope="module")
def takes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("takes")
    return [load_take(write_take(folder, f"take{i}", seconds=2.5, seed=i)) for i in range(2)]


def _take(seconds: float = 3.0, present=None, audio: bool = True) -> Take:
    """A take at 30 fps of every ARKit channel, the model's 24 captured unless ``present``."""
    frames = int(seconds * 30)
    data = np.zeros((frames, len(ARKIT_CHANNELS)), np.float32)
    data[:, [ARKIT_CHANNELS.index(n) for n in CHANNELS]] = take_weights(seconds, 0, fps=30.0)
    if present is None:
        present = np.isin(ARKIT_CHANNELS, CHANNELS)
    return Take(30.0, data, present, audio=speech_like(seconds) if audio else None)


def test_the_new_row_joins_the_library_and_nothing_else_changes(base, takes, tmp_path):
    out = tmp_path / "personal.safetensors"
    path, result = learn_identity("mia", takes, out, base, FAST)
    assert path == out and sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # no .tmp
    before, after = load_model(base), load_model(out)
    assert after.identity.names == [*NAMES, "mia"]
    old, new = before.state_dict(), after.state_dict()
    for key, value in old.items():
        if key != "identity.embeddings":
            assert torch.equal(value, new[key]), key
    assert torch.equal(new["identity.embeddings"][:3], old["identity.embeddings"])
    assert torch.equal(new["identity.embeddings"][3], result.embedding)
    assert after.config.diffusion.default_steps == before.config.diffusion.default_steps
    record = learned_identities(after.config)["mia"]
    assert record["takes"] == ["take0.csv", "take1.csv"] and record["capture_seconds"] == 5.0
    assert record["start"] in ("neutral", *NAMES) and len(record["captured_channels"]) == 24
    motion = api.load_model(out).generate(speech_like(1.5), SAMPLE_RATE, identity="mia", seed=0)
    assert motion.identity == {"mia": 1.0} and np.isfinite(motion.data).all()


def test_the_fit_lowers_the_denoising_loss_and_is_seeded(takes):
    rows = []
    for _ in range(2):
        model = identity_model()
        result = fit_identity(model, capture_tracks(model, takes), "mia", FAST)
        assert result.final_loss < result.first_loss
        rows.append(result.embedding)
    torch.testing.assert_close(rows[0], rows[1], rtol=0, atol=0)


def test_channels_the_take_lacks_are_masked_out_of_the_loss():
    present = np.isin(ARKIT_CHANNELS, CHANNELS) & (np.array(ARKIT_CHANNELS) != "jawOpen")
    model = identity_model()
    track = capture_tracks(model, [_take(present=present)])[0]
    jaw = CHANNELS.index("jawOpen")
    assert not track.captured[jaw] and int(track.captured.sum()) == 23
    assert torch.all(track.x[:, jaw] == 0)
    from diffusiontalker.training.personalize import WindowBatches, fit_loss

    batch = WindowBatches([track], 30, torch.Generator().manual_seed(0))(3)
    u, noise = torch.full((3,), 0.5, dtype=torch.float64), torch.randn(batch[1].shape)
    wrong_jaw = batch[1].clone()
    wrong_jaw[..., jaw] = 5.0  # a prediction off only where nothing was captured
    model.denoise = lambda z, u, cond: wrong_jaw
    assert float(fit_loss(model, 0, batch, u, noise, 0.0)[1]) == 0.0
    wrong_jaw[..., jaw - 1 if jaw else jaw + 1] += 1.0  # ... and off on a captured channel
    assert float(fit_loss(model, 0, batch, u, noise, 0.0)[1]) > 0.0


def test_the_contrastive_term_pulls_the_style_match_towards_the_new_row(takes):
    model = identity_model()
    tracks = capture_tracks(model, takes)
    fit_identity(model, tracks, "mia", FitSettings(steps=60, batch_size=4, window_seconds=1.0,
                                                   lr=0.1, contrastive_weight=5.0))
    sims = model.identity.similarities(tracks[0].tokens[None])[0]
    assert int(sims.argmax()) == 3


@pytest.mark.parametrize("case, error, message", [
    ("taken name", IdentityError, "already has an identity called 'ada'"),
    ("blend syntax in the name", IdentityError, "cannot name an identity"),
    ("match", IdentityError, "cannot name an identity"),
    ("too short", CaptureError, "too little to learn"),
    ("no audio", CaptureError, "has no audio"),
    ("none of the channels", CaptureError, "captured none of the model's channels"),
])
def test_bad_requests_are_one_clear_error(base, tmp_path, case, error, message):
    name = {"taken name": "ada", "blend syntax in the name": "mia=1", "match": "match"}.get(
        case, "mia")
    take = {"too short": _take(1.0), "no audio": _take(audio=False),
            "none of the channels": _take(present=np.zeros(len(ARKIT_CHANNELS), bool))}.get(
        case, _take())
    with pytest.raises(error, match=message) as info:
        learn_identity(name, [take], tmp_path / "out.safetensors", base, FAST)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out.safetensors").exists()


def test_a_vertex_model_cannot_learn_from_channel_capture(tmp_path):
    ckpt = save_model(random_model("vertices", num_vertices=20), tmp_path / "v.safetensors")
    with pytest.raises(ConfigError, match="models of channel weights"):
        learn_identity("mia", [_take()], tmp_path / "out.safetensors", ckpt, FAST)


def test_cancel_stops_the_fit_and_writes_nothing(base, takes, tmp_path):
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 5

    with pytest.raises(CancelledError, match="nothing was written"):
        learn_identity("mia", takes, tmp_path / "out.safetensors", base, FAST, cancel=cancel)
    assert list(tmp_path.iterdir()) == []


def test_progress_runs_to_one(base, takes, tmp_path):
    seen, said = [], []
    learn_identity("mia", takes, tmp_path / "out.safetensors", base,
                   progress=seen.append, status=said.append)  # the default settings
    assert seen[-1] == 1.0 and seen == sorted(seen) and len(seen) == FitSettings().steps
    assert any("reading the audio" in s for s in said) and said[-1].startswith("writing")


def test_remove_drops_a_row_and_its_record(base, takes, tmp_path):
    personal = tmp_path / "personal.safetensors"
    learn_identity("mia", takes, personal, base, FAST)
    remove_identity("mia", personal, personal)  # in place
    model = load_model(personal)
    assert model.identity.names == list(NAMES) and learned_identities(model.config) == {}
    torch.testing.assert_close(model.identity.embeddings, load_model(base).identity.embeddings)
    remove_identity("ada", tmp_path / "two.safetensors", personal)
    assert load_model(tmp_path / "two.safetensors").identity.names == ["bo", "cy"]
    with pytest.raises(IdentityError, match="no identity called 'zed'"):
        remove_identity("zed", tmp_path / "x.safetensors", personal)


def test_the_last_identity_cannot_be_removed(tmp_path):
    ckpt = save_model(random_model("channels", names=("solo",)), tmp_path / "one.safetensors")
    with pytest.raises(IdentityError, match="only identity"):
        remove_identity("solo", tmp_path / "none.safetensors", ckpt)
