"""The CLI's error contract: a user error is one line ``error: ...`` on stderr and exit status
2, never a traceback; ``--debug`` re-raises it; a bug still shows its traceback."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile

from diffusiontalker import cli
from diffusiontalker.cli import main
from diffusiontalker.errors import ConfigError
from diffusiontalker.network.checkpoint import save_model
from diffusiontalker.network.factory import random_model


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli_errors")
    ckpt = save_model(random_model("channels"), root / "tiny.safetensors")
    corrupt = root / "corrupt.safetensors"
    corrupt.write_bytes(bytes(range(256)) * 4)  # not safetensors: a nonsense header length
    wav = root / "speech.wav"
    t = np.arange(16000) / 16000
    soundfile.write(str(wav), (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000)
    return {"ckpt": str(ckpt), "corrupt": str(corrupt), "wav": str(wav), "root": root}


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def _generate(files, *extra, checkpoint=None):
    return ["generate", files["wav"], "-o", str(files["root"] / "out.npz"),
            "--checkpoint", checkpoint or files["ckpt"], *extra]


def _distill(files, *extra):
    return ["distill", files["ckpt"], "-o", str(files["root"] / "student.safetensors"),
            "--data", str(files["root"] / "no-dataset"), *extra]


@pytest.mark.parametrize("case, expected", [
    ("distill --to 3", "--to must be a power of two"),
    ("generate --steps 0", "number of sampling steps must be"),
    ("unknown identity", "unknown identity 'zed'; known identities: ada, bo, cy"),
    ("bad blend", "bad blend weight in 'ada=lots'"),
    ("missing checkpoint", "checkpoint not found"),
    ("corrupt checkpoint", "is not a safetensors file or is truncated"),
])
def test_user_errors_are_one_line_and_exit_2(files, capsys, case, expected):
    argv = {
        "distill --to 3": _distill(files, "--to", "3"),
        "generate --steps 0": _generate(files, "--steps", "0"),
        "unknown identity": _generate(files, "--identity", "zed"),
        "bad blend": _generate(files, "--blend", "ada=lots,bo=0.5"),
        "missing checkpoint": _generate(files, checkpoint=str(files["root"] / "none.safetensors")),
        "corrupt checkpoint": _generate(files, checkpoint=files["corrupt"]),
    }[case]
    assert main(argv) == 2
    assert expected in _one_line_error(capsys)


@pytest.mark.parametrize("extra, expected", [
    (["--to", "0"], "--to must be a power of two"),
    (["--to", "8", "--from-steps", "12"], "--from-steps must be a power of two"),
    (["--to", "16", "--from-steps", "16"], "must be fewer steps than the teacher's 16"),
    (["--to", "512"], "must be fewer steps than the teacher's 256 (the teacher_steps of"),
    (["--data-weight", "1"], "--data-weight must be in [0, 1)"),
    (["--batch-size", "0"], "--batch-size must be at least 1"),
    (["--device", "tpu"], "unknown --device 'tpu'"),
])
def test_distill_checks_its_arguments_before_training(files, capsys, extra, expected):
    assert main(_distill(files, *extra)) == 2
    assert expected in _one_line_error(capsys)


def test_distill_with_good_arguments_reaches_the_data(files, capsys):
    # The checks pass; the next error is the missing dataset (from the training code).
    assert main(_distill(files, "--to", "8")) == 2
    assert "no-dataset" in _one_line_error(capsys)


def test_debug_reraises_the_error_with_its_traceback(files):
    with pytest.raises(ConfigError, match="--to must be a power of two"):
        main(["--debug", *_distill(files, "--to", "3")])


def test_a_bug_is_not_hidden(monkeypatch):
    class Broken:  # a command whose run() has a bug
        @staticmethod
        def add_arguments(parser):
            pass

        @staticmethod
        def run(args):
            raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "_load", lambda name: Broken if name == "identities" else None)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["identities"])


def test_a_real_process_exits_2_without_a_traceback(files, repo_root):
    done = subprocess.run([sys.executable, "-m", "diffusiontalker", *_distill(files, "--to", "3")],
                          capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(repo_root / "core"), "OMP_NUM_THREADS": "1"})
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: --to must be a power of two (8, 4 or 2): each distillation round halves the "
        "steps; got 3"]
