"""`generate`: the bad-input matrix (one-line error, exit 2, no file written), output paths
checked before any work, atomic writes, the path reported is the path written, and batches
(several inputs or a folder -> one NAME.npz each, one model load)."""

from __future__ import annotations

import errno

import numpy as np
import pytest
import soundfile
import torch

from diffusiontalker.cli import main
from diffusiontalker.commands import generate as generate_command
from diffusiontalker.network.checkpoint import save_model
from diffusiontalker.network.factory import random_model


def _speech(seconds: float, pitch: float = 180.0) -> np.ndarray:
    t = np.arange(int(seconds * 16000)) / 16000
    return (0.3 * np.sin(2 * np.pi * pitch * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("generate_outputs")
    ckpt = save_model(random_model("channels"), root / "tiny.safetensors")
    broken = random_model("channels")
    with torch.no_grad():
        next(p for p in broken.parameters() if p.numel()).view(-1)[0] = float("nan")
    nan_ckpt = save_model(broken, root / "nan.safetensors")
    audio = root / "audio"
    audio.mkdir()
    for name, pitch in (("a", 150.0), ("b", 200.0), ("c", 250.0)):
        soundfile.write(str(audio / f"{name}.wav"), _speech(0.6, pitch), 16000)
    nan_wave = _speech(0.6)
    nan_wave[50] = np.nan
    soundfile.write(str(root / "nan.wav"), nan_wave, 16000, subtype="FLOAT")
    soundfile.write(str(root / "loud.wav"), _speech(0.6, 150.0) * np.float32(1e30), 16000,
                    subtype="FLOAT")
    return {"root": root, "ckpt": str(ckpt), "nan_ckpt": str(nan_ckpt), "audio": audio,
            "a": str(audio / "a.wav")}


def _run(files, inputs, output, *extra, checkpoint=None) -> int:
    return main(["generate", *map(str, inputs), "-o", str(output), "--steps", "2",
                 "--checkpoint", checkpoint or files["ckpt"], *extra])


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


@pytest.mark.parametrize("case, expected", [
    ("blend inf", "blend weights must be finite"),
    ("style nan", "style strength must be a finite number, got nan"),
    ("nan checkpoint", "contains 1 NaN value"),
    ("nan audio", "nan.wav' contains 1 NaN or infinite sample"),
])
def test_bad_inputs_are_one_line_errors_and_write_nothing(files, capsys, tmp_path, case, expected):
    source, extra, checkpoint = {
        "blend inf": (files["a"], ["--blend", "ada=inf,bo=1"], None),
        "style nan": (files["a"], ["--style-strength", "nan"], None),
        "nan checkpoint": (files["a"], [], files["nan_ckpt"]),
        "nan audio": (files["root"] / "nan.wav", [], None),
    }[case]
    assert _run(files, [source], tmp_path / "out.npz", *extra, checkpoint=checkpoint) == 2
    assert expected in _one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []


def test_audio_at_an_absurd_level_gives_the_same_finite_motion(files, tmp_path):
    assert _run(files, [files["root"] / "loud.wav"], tmp_path / "loud.npz") == 0
    quiet = files["root"] / "quiet.wav"  # the same audio at full scale
    loud_wave = soundfile.read(str(files["root"] / "loud.wav"))[0]
    soundfile.write(str(quiet), loud_wave / np.abs(loud_wave).max(), 16000, subtype="FLOAT")
    assert _run(files, [quiet], tmp_path / "quiet.npz") == 0
    loud, calm = (np.load(tmp_path / f"{n}.npz")["weights"] for n in ("loud", "quiet"))
    assert np.all(np.isfinite(loud))
    np.testing.assert_allclose(loud, calm, atol=1e-4)


@pytest.mark.parametrize("case, expected", [
    ("missing folder", "does not exist"),
    ("under a file", "is not a folder"),
    ("a folder named .npz", "is a folder; give a file name"),
    ("not writable", "cannot write in the folder"),
    ("several inputs, one file", "need an output folder"),
    ("several inputs, missing folder", "the output folder"),
    ("same names", "would both be written to"),
])
def test_output_paths_are_checked_before_any_work(files, capsys, tmp_path, monkeypatch, case, expected):
    def no_work(*args, **kwargs):
        raise AssertionError("the model was loaded before the output was checked")

    monkeypatch.setattr(generate_command, "load_generator", no_work)
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir.npz").mkdir()
    (tmp_path / "other").mkdir()
    soundfile.write(str(tmp_path / "other" / "a.wav"), _speech(0.3), 16000)
    inputs, output = {
        "missing folder": ([files["a"]], tmp_path / "missing" / "x.npz"),
        "under a file": ([files["a"]], tmp_path / "file" / "x.npz"),
        "a folder named .npz": ([files["a"]], tmp_path / "dir.npz"),
        "not writable": ([files["a"]], tmp_path / "x.npz"),
        "several inputs, one file": ([files["a"], files["audio"] / "b.wav"], tmp_path / "file"),
        "several inputs, missing folder": ([files["audio"]], tmp_path / "missing"),
        "same names": ([files["a"], tmp_path / "other" / "a.wav"], tmp_path / "other"),
    }[case]
    if case == "not writable":
        def refuse(*args, **kwargs):
            raise PermissionError(errno.EACCES, "Permission denied")

        monkeypatch.setattr(generate_command.tempfile, "mkstemp", refuse)
    assert _run(files, inputs, output) == 2
    assert expected in _one_line_error(capsys)


def test_a_failed_write_leaves_no_half_written_file(files, capsys, tmp_path, monkeypatch):
    def disk_full(file, **arrays):
        file.write(b"PK\x03\x04 partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    assert _run(files, [files["a"]], tmp_path / "take.npz") == 2
    assert "No space left on device" in _one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []


def test_the_message_names_the_file_written(files, capsys, tmp_path):
    assert _run(files, [files["a"]], tmp_path / "take") == 0
    assert (tmp_path / "take.npz").is_file() and not (tmp_path / "take").exists()
    assert f"wrote {tmp_path / 'take.npz'}: " in capsys.readouterr().err


def test_a_batch_writes_one_file_per_input_with_the_same_takes(files, capsys, tmp_path):
    single = tmp_path / "single.npz"
    assert _run(files, [files["audio"] / "b.wav"], single, "--seed", "4") == 0
    out = tmp_path / "out"
    out.mkdir()
    capsys.readouterr()
    assert _run(files, [files["audio"]], out, "--seed", "4") == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.npz", "b.npz", "c.npz"]
    err = capsys.readouterr().err
    assert [line.split(" wrote ")[0] for line in err.strip().splitlines()] == ["[1/3]", "[2/3]", "[3/3]"]
    np.testing.assert_array_equal(np.load(out / "b.npz")["weights"], np.load(single)["weights"])


def test_a_batch_skips_unusable_audio_and_ends_with_an_error(files, capsys, tmp_path):
    assert _run(files, [files["a"], files["root"] / "nan.wav"], f"{tmp_path}/") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("[1/2] wrote ") and err[1].startswith("[2/2] skipped ")
    assert err[-1].startswith("error: 1 of 2 inputs were not usable audio")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz"]
