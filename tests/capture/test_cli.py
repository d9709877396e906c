"""`diffusiontalker capture synth` and `capture import`: the whole offline path from the
synthetic corpus to Live Link Face takes to a dataset the trainer reads; errors in one line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from diffusiontalker.capture import write_live_link_csv
from diffusiontalker.channels import ARKIT_CHANNELS, CHANNELS, FULL_FACE_CHANNELS
from diffusiontalker.cli import main
from diffusiontalker.datasets import load_dataset

from .helpers import SAMPLE_RATE, click_wave, write_video, write_wave


def test_corpus_to_takes_to_dataset(tmp_path, capsys):
    from diffusiontalker.synth.corpus import write_corpus

    write_corpus(tmp_path / "corpus", identities=2, utterances=1, seed=5, progress=False,
                 augment_audio=False)
    assert main(["capture", "synth", str(tmp_path / "corpus"), "-o", str(tmp_path / "takes")]) == 0
    assert "wrote 2 Live Link Face takes" in capsys.readouterr().out
    assert main(["capture", "import", str(tmp_path / "takes"), "-o", str(tmp_path / "data")]) == 0
    said = capsys.readouterr().out  # the full-face corpus captures all 52 blendshapes
    assert "not captured" not in said and "wrote 2 clip(s) of 2 speaker(s)" in said
    original, imported = load_dataset(tmp_path / "corpus"), load_dataset(tmp_path / "data")
    assert imported.channels == FULL_FACE_CHANNELS and imported.fps == 30.0
    assert imported.speakers == original.speakers
    for a, b in zip(original.clips, imported.clips, strict=True):
        assert (a.id, a.speaker, a.split, a.text) == (b.id, b.speaker, b.split, b.text)
        wave_a, motion_a = a.load_pair()
        wave_b, motion_b = b.load_pair()
        assert original.channels == FULL_FACE_CHANNELS and motion_a.shape == motion_b.shape
        assert np.abs(motion_a - motion_b).mean() < 0.01  # 30 -> 59.94 -> 30 fps, head included
        np.testing.assert_allclose(wave_a[:len(wave_b)], wave_b[:len(wave_a)], atol=1e-4)
    generator = json.loads((tmp_path / "data" / "dataset.json").read_text())["generator"]
    assert generator["name"] == "diffusiontalker capture import" and len(generator["sources"]) == 2


def test_import_one_take_with_its_mov_and_an_offset(tmp_path, capsys):
    frames = 240  # ~4 s
    rng = np.random.default_rng(0)
    write_live_link_csv(tmp_path / "MySlate_2_iPhone_cal.csv",
                        rng.random((frames, len(CHANNELS))).astype(np.float32), CHANNELS)
    pytest.importorskip("av")
    audio = write_video(tmp_path / "trimmed.mov", "mov", "pcm_s16le", seconds=3.0, click_at=1.0)
    assert main(["capture", "import", str(tmp_path / "MySlate_2_iPhone_cal.csv"), "--audio",
                 str(audio), "--offset", "1.0", "--speaker", "mia", "--split", "test",
                 "-o", str(tmp_path / "data")]) == 0
    assert "(calibrated)" in capsys.readouterr().out
    corpus = load_dataset(tmp_path / "data")
    clip = corpus.clips[0]
    assert (clip.id, clip.speaker, clip.split) == ("MySlate_2_iPhone", "mia", "test")
    wave, motion = clip.load_pair()
    assert motion.shape[0] == round((frames / (60000 / 1001) - 1.0) * 30)
    assert np.argmax(np.abs(wave)) / SAMPLE_RATE == pytest.approx(1.0, abs=2e-3)


def _one_line_error(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err, err


def test_errors_are_one_line(tmp_path, capsys):
    for name in ("a", "b"):
        write_live_link_csv(tmp_path / f"{name}.csv", np.full((30, 1), 0.3), ["jawOpen"])
        write_wave(tmp_path / f"{name}.wav", click_wave(0.5, 0.1))
    _one_line_error(capsys, ["capture", "import", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"),
                             "--audio", str(tmp_path / "a.wav"), "-o", str(tmp_path / "o1")],
                    "--audio is the audio of one take; 2 takes were given")
    _one_line_error(capsys, ["capture", "import", str(tmp_path / "a.csv"), "--channels",
                             "jawOpen,smile", "-o", str(tmp_path / "o2")], "not ARKit")
    # a.csv has all 52 columns, so every channel counts as captured; the audio is too short
    write_wave(tmp_path / "a.wav", click_wave(0.2, 0.1))
    _one_line_error(capsys, ["capture", "import", str(tmp_path / "a.csv"), "-o",
                             str(tmp_path / "o3")], "a.csv: the audio lasts 0.20 s")
    (tmp_path / "bad.csv").write_text("time,jaw\n1,2\n")
    _one_line_error(capsys, ["capture", "import", str(tmp_path / "bad.csv"), "-o",
                             str(tmp_path / "o4")], "bad.csv is not a Live Link Face CSV")
    (tmp_path / "o5").mkdir()
    (tmp_path / "o5" / "x").write_text("")
    _one_line_error(capsys, ["capture", "import", str(tmp_path / "b.csv"), "-o",
                             str(tmp_path / "o5")], "is not empty")
    _one_line_error(capsys, ["capture", "import", str(tmp_path / "nothing.csv"), "-o",
                             str(tmp_path / "o6")], "capture file not found")


def test_only_channels_every_take_captured(tmp_path, capsys):
    write_live_link_csv(tmp_path / "a.csv", np.full((30, 1), 0.3), ["jawOpen"])
    write_wave(tmp_path / "a.wav", click_wave(0.5, 0.1))
    header = (tmp_path / "a.csv").read_text().splitlines()
    kept = [i for i, name in enumerate(header[0].split(",")) if name != "MouthClose"]
    (tmp_path / "a.csv").write_text("\n".join(",".join(line.split(",")[i] for i in kept)
                                              for line in header) + "\n")
    _one_line_error(capsys, ["capture", "import", str(tmp_path / "a.csv"), "-o",
                             str(tmp_path / "o1")], "did not capture mouthClose")
    assert main(["capture", "import", str(tmp_path / "a.csv"), "--channels", "captured", "-o",
                 str(tmp_path / "o2")]) == 0
    assert load_dataset(tmp_path / "o2").channels == tuple(
        n for n in ARKIT_CHANNELS if n != "mouthClose")


def test_capture_needs_a_subcommand(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["capture"])
    assert stopped.value.code == 2
