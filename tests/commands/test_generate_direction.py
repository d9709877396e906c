"""``generate --keys``, ``--takes``: the keyed values land in the file, N takes make N files
with consecutive seeds, and bad options are one-line errors before any work."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from diffusiontalker.cli import main
from diffusiontalker.motion import Motion

DATA = Path(__file__).resolve().parents[1] / "runtime" / "data"
CKPT = str(DATA / "tiny_channels.safetensors")


@pytest.fixture
def speech(tmp_path) -> Path:
    import soundfile

    t = np.arange(16000 * 2) / 16000
    wave = 0.1 * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)) * np.random.default_rng(1).standard_normal(t.size)
    path = tmp_path / "speech.wav"
    soundfile.write(path, wave.astype(np.float32), 16000)
    return path


def test_keys_file_is_honoured(tmp_path, speech):
    channels = Motion.load_npz(_generate(tmp_path, speech, "free.npz")).channels
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps([{"frame": 12, "channels": {channels[0]: 0.7}},
                                {"start": 30, "end": 35, "channels": {channels[2]: 0.0}}]))
    out = _generate(tmp_path, speech, "keyed.npz", "--keys", str(keys))
    data = Motion.load_npz(out).data
    assert abs(data[12, 0] - 0.7) <= 0.03 and np.abs(data[30:36, 2]).max() <= 0.03


def test_takes_write_one_file_per_seed(tmp_path, speech, capsys):
    _generate(tmp_path, speech, "take.npz", "--takes", "3", "--seed", "5")
    files = sorted(p.name for p in tmp_path.glob("take_*.npz"))
    assert files == ["take_0.npz", "take_1.npz", "take_2.npz"]
    assert "seed 7" in capsys.readouterr().err
    single = Motion.load_npz(_generate(tmp_path, speech, "single.npz", "--seed", "6")).data
    assert np.abs(Motion.load_npz(tmp_path / "take_1.npz").data - single).max() <= 1e-5


@pytest.mark.parametrize("extra, words", [
    (["--takes", "0"], "at least 1"),
    (["--keys", "missing.json"], "not found"),
    (["--takes", "2", "--retake", "x.npz", "--frames", "1:3"], "do not combine"),
    (["--transcript-file", "missing.txt"], "cannot read the transcript"),
])
def test_bad_direction_options_are_one_line_errors(tmp_path, speech, capsys, extra, words):
    assert main(["generate", str(speech), "-o", str(tmp_path / "o.npz"), "--checkpoint", CKPT,
                 *extra]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    assert not list(tmp_path.glob("o*.npz"))


def _generate(tmp_path: Path, speech: Path, name: str, *extra: str) -> Path:
    out = tmp_path / name
    assert main(["generate", str(speech), "-o", str(out), "--checkpoint", CKPT, "--steps", "3",
                 *extra]) == 0
    return out
