"""``diffusiontalker identity add|remove|list``, ``identities`` and ``evaluate-capture`` on a
tiny model and tiny Live Link Face takes; user errors are one line and exit 2; the personal
checkpoint exports to ONNX and the ONNX Runtime path generates with the new identity."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))

from personal_takes import NAMES, save_identity_model, speech_like, write_take  # noqa: E402

from diffusiontalker.cli import main  # noqa: E402
from diffusiontalker.motion import Motion  # noqa: E402
from diffusiontalker.network.checkpoint import load_model  # noqa: E402

EXPORT_VENV = Path(os.environ.get("DT_EXPORT_VENV")
                   or Path(__file__).resolve().parents[2] / ".venv-export")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("identity_cli")
    base = save_identity_model(root / "base.safetensors")
    fit = [write_take(root / "fit", f"fit{i}", seconds=2.5, seed=i) for i in range(2)]
    held = write_take(root / "held", "held", seconds=2.0, seed=7)
    return {"root": root, "base": str(base), "fit": [str(p) for p in fit], "held": str(held)}


@pytest.fixture(scope="module")
def personal(files):
    """The tiny base with 'mia' learnt from the two fit takes (the CLI's own add)."""
    out = files["root"] / "personal.safetensors"
    argv = ["identity", "add", "mia", "--capture", files["fit"][0], "--capture", files["fit"][1],
            "--checkpoint", files["base"], "-o", str(out), "--steps", "10", "--threads", "1"]
    assert main(argv) == 0
    return out


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_add_writes_the_base_library_plus_the_new_name(personal, files, capsys):
    assert load_model(personal).identity.names == [*NAMES, "mia"]
    assert main(["identity", "list", "--checkpoint", str(personal)]) == 0
    assert capsys.readouterr().out.split() == [*NAMES, "mia"]
    assert main(["identities", "--checkpoint", str(personal)]) == 0  # the old command too
    assert capsys.readouterr().out.split() == [*NAMES, "mia"]


def test_add_reports_each_take_and_the_result(files, tmp_path, capsys):
    out = tmp_path / "p.safetensors"
    assert main(["identity", "add", "zoe", "--capture", files["fit"][0], "--audio",
                 str(Path(files["fit"][0]).with_suffix(".wav")), "--checkpoint", files["base"],
                 "-o", str(out), "--steps", "3"]) == 0
    printed = capsys.readouterr().out
    assert "fit0.csv: 2.5 s" in printed and "identity 'zoe' learnt from 2 s of capture" in printed
    assert "--identity zoe" in printed and "export-onnx" in printed


def test_generate_uses_the_new_identity(personal, files, tmp_path):
    wav = Path(files["fit"][0]).with_suffix(".wav")
    out = tmp_path / "take.npz"
    assert main(["generate", str(wav), "--checkpoint", str(personal), "--identity", "mia",
                 "-o", str(out), "--runtime", "torch"]) == 0
    motion = Motion.load_npz(out)
    assert motion.identity == {"mia": 1.0} and np.isfinite(motion.data).all()


def test_remove_in_place_and_to_another_file(personal, tmp_path, capsys):
    copy = tmp_path / "copy.safetensors"
    copy.write_bytes(personal.read_bytes())
    assert main(["identity", "remove", "mia", "--checkpoint", str(copy)]) == 0
    assert load_model(copy).identity.names == list(NAMES)
    assert main(["identity", "remove", "ada", "--checkpoint", str(copy), "-o",
                 str(tmp_path / "two.safetensors")]) == 0
    assert load_model(tmp_path / "two.safetensors").identity.names == ["bo", "cy"]
    assert "without the identity 'ada'" in capsys.readouterr().out


@pytest.mark.parametrize("case, expected", [
    ("name taken", "already has an identity called 'ada'"),
    ("audio count", "give one --audio per --capture"),
    ("missing take", "capture file not found"),
    ("remove unknown", "no identity called 'zed'"),
    ("shipped in place", "the shipped model is never changed in place"),
    ("output is the shipped model", "is the shipped model, which is never overwritten"),
    ("not safetensors", "must be a .safetensors file"),
])
def test_user_errors_are_one_line_and_exit_2(files, capsys, case, expected):
    from diffusiontalker.paths import DEFAULT_CHECKPOINT

    out = str(files["root"] / "out.safetensors")
    add = ["identity", "add", "ada", "--capture", files["fit"][0], "--checkpoint", files["base"]]
    argv = {
        "name taken": [*add, "-o", out],
        "audio count": ["identity", "add", "x", "--capture", files["fit"][0], "--capture",
                        files["fit"][1], "--audio", "a.wav", "-o", out],
        "missing take": ["identity", "add", "x", "--capture", "nowhere.csv", "-o", out],
        "remove unknown": ["identity", "remove", "zed", "--checkpoint", files["base"], "-o", out],
        "shipped in place": ["identity", "remove", "ada"],
        "output is the shipped model": [*add, "-o", str(DEFAULT_CHECKPOINT)],
        "not safetensors": [*add, "-o", str(files["root"] / "out.pt")],
    }[case]
    assert main(argv) == 2
    assert expected in _one_line_error(capsys)


def test_evaluate_capture_prints_the_three_identities(personal, files, tmp_path, capsys):
    report = tmp_path / "scores.json"
    assert main(["evaluate-capture", str(personal), "--capture", files["held"],
                 "--json", str(report), "--per-channel"]) == 0
    printed = capsys.readouterr().out
    table = printed[printed.index("identity   used"):].splitlines()
    rows = [line.split()[0] for line in table[1:4]]
    assert rows == ["learned", "neutral", "match"]
    assert "neutral of 3 identities" in printed and "jawOpen" in printed
    scores = json.loads(report.read_text())
    assert scores["learned"]["identity"] == "mia" and len(scores["learned"]["mae"]) == 24
    assert all(np.isfinite(scores[k]["mean_mae"]) for k in ("learned", "neutral", "match"))


def test_evaluate_capture_needs_a_learnt_identity_or_a_name(files, capsys):
    assert main(["evaluate-capture", files["base"], "--capture", files["held"]]) == 2
    assert "no identity learnt from capture" in _one_line_error(capsys)
    assert main(["evaluate-capture", files["base"], "--capture", files["held"],
                 "--identity", "ada"]) == 0


def _export_python() -> str | None:
    try:
        import onnx  # noqa: F401

        return sys.executable
    except ImportError:
        candidate = EXPORT_VENV / "bin" / "python"
        return str(candidate) if candidate.is_file() else None


@pytest.mark.needs_in_ci
def test_the_personal_checkpoint_exports_to_onnx_and_generates_there(personal, tmp_path,
                                                                     repo_root):
    python = _export_python()
    if python is None:
        pytest.skip(f"exporting needs the 'onnx' package: no export environment at {EXPORT_VENV}")
    folder = tmp_path / "personal.onnx"
    done = subprocess.run([python, "-m", "diffusiontalker", "export-onnx", str(personal), "-o",
                           str(folder)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(repo_root / "core")})
    assert done.returncode == 0, done.stderr[-2000:]
    from diffusiontalker.runtime.onnx_talker import load_onnx_model
    from diffusiontalker.runtime.torch_talker import load_model as load_torch

    ort, ref = load_onnx_model(folder), load_torch(personal)
    assert ort.identities == [*NAMES, "mia"]
    wave = speech_like(2.0, seed=3)
    a = ort.generate(wave, 16000, identity="mia", seed=1).data
    b = ref.generate(wave, 16000, identity="mia", seed=1).data
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
