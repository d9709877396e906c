"""The ONNX Runtime path agrees with torch, runs without torch, and exports reproducibly.

Tolerance: on the same inputs, seed and starting noise, ONNX Runtime and torch motion agree
within |a - b| <= 1e-4 + 1e-4 |b| element-wise (measured: ~2e-6 on the tiny models).
The exports in tests/runtime/data are made by make_onnx_fixtures.py; tests that export need
torch and the `onnx` package, here or in the export environment $DT_EXPORT_VENV (default: the
checkout's .venv-export, which ./dev.sh test sets up from requirements/export.txt). They skip
without it, and fail under CI=true (marker `needs_in_ci`); tests that only run the shipped
exports need just onnxruntime.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from diffusiontalker.errors import (
    CancelledError,
    CheckpointError,
    DiffusionTalkerError,
    IdentityError,
)
from diffusiontalker.runtime.onnx_export import MANIFEST, sha256_of
from diffusiontalker.runtime.onnx_talker import load_onnx_model

DATA = Path(__file__).resolve().parent / "data"
# ./dev.sh exports DT_EXPORT_VENV; without it, the checkout's own .venv-export
EXPORT_VENV = Path(os.environ.get("DT_EXPORT_VENV")
                   or Path(__file__).resolve().parents[2] / ".venv-export")
MODELS = ("tiny_channels", "tiny_vertices")
RTOL = ATOL = 1e-4


def _wave(seconds: float, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(16000 * seconds))).astype(np.float32)


def _torch_talker(name: str):
    pytest.importorskip("torch")
    from diffusiontalker.api import load_model

    return load_model(DATA / f"{name}.safetensors")


@pytest.mark.parametrize("name", MODELS)
def test_shipped_exports_come_from_their_checkpoints(name):
    manifest = json.loads((DATA / f"{name}.onnx" / MANIFEST).read_text())
    assert manifest["source"]["sha256"] == sha256_of(DATA / f"{name}.safetensors")
    assert max(manifest["max_abs_difference"].values()) < ATOL


@pytest.mark.parametrize(("name", "identity"), [
    ("tiny_channels", None), ("tiny_channels", {"ada": 0.3, "bo": 0.7}),
    ("tiny_vertices", "ada"), ("tiny_vertices", "match")])
def test_onnx_runtime_gives_the_same_take_as_torch_for_the_same_seed(name, identity):
    ort = load_onnx_model(DATA / f"{name}.onnx")
    ref = _torch_talker(name)
    wave = _wave(10.5)  # two overlapping windows
    a = ref.generate(wave, 16000, identity=identity, steps=3, seed=5, style_strength=1.5)
    b = ort.generate(wave, 16000, identity=identity, steps=3, seed=5, style_strength=1.5)
    assert (b.space, b.fps, b.channels, b.data.shape) == (a.space, a.fps, a.channels, a.data.shape)
    assert b.identity == a.identity
    np.testing.assert_allclose(b.data, a.data, rtol=RTOL, atol=ATOL)
    assert np.abs(a.data).max() > 10 * ATOL  # the comparison is not between zeros


def test_identity_matching_agrees():
    ort = load_onnx_model(DATA / "tiny_channels.onnx")
    ref = _torch_talker("tiny_channels")
    wave = _wave(3.0, seed=4)
    ours, theirs = ort.match_identity(wave, 16000, top_k=3), ref.match_identity(wave, 16000, top_k=3)
    assert [n for n, _ in ours] == [n for n, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-5)


def test_windows_crossfade_features_and_identity_rules_match_the_torch_talker():
    pytest.importorskip("torch")
    from diffusiontalker.audio.build import build_frontend

    ort = load_onnx_model(DATA / "tiny_channels.onnx")
    ref = _torch_talker("tiny_channels")
    for n in (1, 5, 299, 300, 301, 570, 1000, 3001):  # same window settings in both runtimes
        assert ort.windows(n) == ref.windows(n)
    frontend = build_frontend(ref.config.audio)
    for samples in (1, 159, 16000, 16000 * 3 + 77):
        wave = _wave(samples / 16000, seed=samples)
        np.testing.assert_array_equal(ort.features(wave), frontend(wave))
        assert ort.num_frames(wave) == ref.num_frames(wave)
    for bad in ({"zed": 1.0}, {}, {"ada": -1.0}, {"ada": 0.0}, 5):
        with pytest.raises(IdentityError) as ours:
            ort.resolve_identity(bad)
        with pytest.raises(IdentityError) as theirs:
            ref.model.identity.resolve(bad)
        assert str(ours.value) == str(theirs.value)


def test_seed_progress_and_cancel():
    ort = load_onnx_model(DATA / "tiny_channels.onnx")
    wave = _wave(2.0)
    seen: list[float] = []
    a = ort.generate(wave, 16000, seed=1, steps=4, progress=seen.append)
    assert seen == [0.0, 0.25, 0.5, 0.75, 1.0]  # 0.0: reported before any work
    np.testing.assert_array_equal(ort.generate(wave, 16000, seed=1, steps=4).data, a.data)
    assert not np.allclose(ort.generate(wave, 16000, seed=2, steps=4).data, a.data)
    with pytest.raises(CancelledError):
        ort.generate(wave, 16000, steps=4, cancel=lambda: True)
    with pytest.raises(DiffusionTalkerError, match="steps must be at least 1, got 0"):
        ort.generate(wave, 16000, steps=0)


def test_bad_exports_are_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="is not an exported ONNX model"):
        load_onnx_model(tmp_path)
    (tmp_path / MANIFEST).write_text(json.dumps({"format": "diffusiontalker-onnx", "format_version": 1}))
    with pytest.raises(CheckpointError, match="lacks adapter.onnx"):
        load_onnx_model(tmp_path)
    from diffusiontalker.runtime.loader import load_talker

    with pytest.raises(CheckpointError, match="no ONNX export found"):
        load_talker(tmp_path / "x.safetensors", runtime="onnx")


def test_a_newer_export_format_says_to_upgrade(tmp_path):
    (tmp_path / MANIFEST).write_text(json.dumps({"format": "diffusiontalker-onnx", "format_version": 9}))
    with pytest.raises(CheckpointError, match="v9 manifest; this version reads v1, v2: upgrade"):
        load_onnx_model(tmp_path)


class _CountingSession:
    """An onnxruntime session that counts its runs."""

    def __init__(self, session) -> None:
        self.session, self.runs = session, 0

    def get_outputs(self):
        return self.session.get_outputs()

    def run(self, *args, **kwargs):
        self.runs += 1
        return self.session.run(*args, **kwargs)


def test_the_denoisers_window_context_is_computed_once_per_window_not_per_step():
    """Format 2 splits the denoiser: ``denoiser_context`` (keys, values, window constants)
    runs once per window and sample, ``denoiser`` once per step."""
    ort = load_onnx_model(DATA / "tiny_channels.onnx")
    assert ort.manifest["format_version"] == 2
    inputs = [i.name for i in ort.sessions["denoiser"].get_inputs()]
    assert "audio" not in inputs and {"key0", "value0", "self_bias", "cross_bias"} <= set(inputs)
    for name in ("denoiser", "denoiser_context"):
        ort.sessions[name] = _CountingSession(ort.sessions[name])
    wave = _wave(10.5)
    assert len(ort.windows(ort.num_frames(wave))) == 2
    ort.generate(wave, 16000, steps=3, seed=5)
    assert (ort.sessions["denoiser_context"].runs, ort.sessions["denoiser"].runs) == (2, 6)


def test_format_1_exports_still_give_the_same_take():
    """A format-1 export (one denoiser graph taking the audio tokens, kept from the release
    before the split) runs, and gives the take of torch and of the format-2 export."""
    old = load_onnx_model(DATA / "tiny_channels_v1.onnx")
    assert old.manifest["format_version"] == 1 and "denoiser_context" not in old.sessions
    new = load_onnx_model(DATA / "tiny_channels.onnx")
    wave = _wave(10.5)
    a = old.generate(wave, 16000, identity={"ada": 0.3, "bo": 0.7}, steps=3, seed=5)
    b = new.generate(wave, 16000, identity={"ada": 0.3, "bo": 0.7}, steps=3, seed=5)
    np.testing.assert_allclose(a.data, b.data, rtol=RTOL, atol=ATOL)
    assert np.abs(a.data).max() > 10 * ATOL


def test_the_onnx_path_runs_where_torch_cannot_be_imported(repo_root):
    code = (
        "import sys; sys.modules['torch'] = None\n"  # `import torch` raises ImportError
        "import numpy as np\n"
        "from diffusiontalker.runtime.loader import load_talker\n"
        f"t = load_talker({str(DATA / 'tiny_vertices.safetensors')!r}, device='auto')\n"
        "m = t.generate(np.zeros(8000, np.float32) + 0.01, 16000, identity='bo', steps=2)\n"
        "print(t.runtime, t.device_report, m.space, m.data.shape, sys.modules['torch'])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(repo_root / "core")})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["onnx", "ONNX", "Runtime", "on", "CPUExecutionProvider",
                                   "vertices", "(15,", "50,", "3)", "None"]


def test_the_onnx_path_does_not_import_torch_even_where_it_exists(repo_root):
    code = (
        "import sys, numpy as np\n"
        "from diffusiontalker.runtime.onnx_talker import load_onnx_model\n"
        f"t = load_onnx_model({str(DATA / 'tiny_channels.onnx')!r})\n"
        "t.generate(np.zeros(4000, np.float32) + 0.01, 16000, steps=2)\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(repo_root / "core")})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False"]


def _export_python() -> str | None:
    try:
        import onnx  # noqa: F401
        import torch  # noqa: F401

        return sys.executable
    except ImportError:
        pass
    candidate = EXPORT_VENV / "bin" / "python"
    return str(candidate) if candidate.is_file() else None


def _export_python_or_skip() -> str:
    python = _export_python()
    if python is None:
        pytest.skip(f"exporting needs torch and the 'onnx' package: not importable here and no "
                    f"export environment at {EXPORT_VENV} ($DT_EXPORT_VENV; ./dev.sh test "
                    "sets it up from requirements/export.txt)")
    return python


def _make_onnx_fixture(flag: str, folder: Path, repo_root: Path) -> None:
    """Run make_onnx_fixtures.py ``flag folder`` in the export environment."""
    done = subprocess.run([_export_python_or_skip(),
                           str(Path(__file__).with_name("make_onnx_fixtures.py")), flag,
                           str(folder)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(repo_root / "core")})
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.needs_in_ci
def test_export_command_reproduces_the_shipped_export(tmp_path, repo_root):
    python = _export_python_or_skip()
    done = subprocess.run([python, "-m", "diffusiontalker", "export-onnx",
                           str(DATA / "tiny_channels.safetensors"), "-o", str(tmp_path / "out")],
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(repo_root / "core")})
    assert done.returncode == 0, done.stderr
    assert "max |torch - onnxruntime|" in done.stdout
    fresh, shipped = load_onnx_model(tmp_path / "out"), load_onnx_model(DATA / "tiny_channels.onnx")
    wave = _wave(4.0, seed=9)
    np.testing.assert_allclose(fresh.generate(wave, 16000, seed=3).data,
                               shipped.generate(wave, 16000, seed=3).data, rtol=1e-6, atol=1e-6)


def test_export_without_the_onnx_package_says_what_to_do(tmp_path, capsys):
    try:
        import onnx  # noqa: F401
        pytest.skip("onnx is importable here")
    except ImportError:
        pass
    from diffusiontalker.cli import main

    assert main(["export-onnx", str(DATA / "tiny_channels.safetensors"), "-o", str(tmp_path)]) == 2
    assert "needs torch and the 'onnx' package" in capsys.readouterr().err


def test_bench_compares_runtimes_in_fresh_processes(capsys):
    pytest.importorskip("torch")
    from diffusiontalker.cli import main

    ckpt = str(DATA / "tiny_channels.safetensors")
    assert main(["bench", "--checkpoint", ckpt, "--runtimes", "torch,onnx", "--lengths", "1",
                 "--repeats", "1", "--threads", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {r["runtime"]: r for r in report["results"]}
    assert set(rows) == {"torch", "onnx"} and report["machine"]["cpus"] >= 1
    for r in rows.values():
        assert r["steps"] == 4 and r["audio_seconds"] == 1.0 and r["threads"] == 1
        assert r["median_s"] > 0 and r["first_call_s"] > 0 and r["load_s"] > 0
        assert r["peak_rss_mb"] >= r["rss_before_load_mb"] > 0
    assert rows["torch"]["torch_imported"] and not rows["onnx"]["torch_imported"]
    # both rows divide the same counted FLOPs by the matmul speed measured in this run
    assert report["matmul_gflops"]["1"] > 0
    assert rows["torch"]["gflop"] == rows["onnx"]["gflop"] > 0
    for r in rows.values():
        assert r["limit_ratio"] == pytest.approx(r["median_s"] / r["limit_s"], rel=0.02)


@pytest.mark.needs_in_ci
def test_a_student_audio_encoder_is_exported_and_matches_torch(tmp_path, repo_root):
    _export_python_or_skip()
    pytest.importorskip("torch")
    _make_onnx_fixture("--student", tmp_path, repo_root)
    from diffusiontalker.api import load_model

    ort = load_onnx_model(tmp_path / "student_frontend.onnx")
    assert ort.frontend["kind"] == "student" and "frontend" in ort.sessions
    ref = load_model(tmp_path / "student_frontend.safetensors")
    wave = _wave(2.3, seed=6)
    np.testing.assert_allclose(ort.features(wave), ref.frontend(wave), rtol=RTOL, atol=ATOL)
    # the encoder equalises the speech level first (level_rms): a 40 dB quieter copy reads alike
    assert ort.frontend["level_rms"] == 0.05
    np.testing.assert_allclose(ort.features(wave * 0.01), ort.features(wave), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ref.frontend(wave * 0.01), ref.frontend(wave), rtol=RTOL, atol=ATOL)
    a = ref.generate(wave, 16000, identity="bo", steps=3, seed=2)
    b = ort.generate(wave, 16000, identity="bo", steps=3, seed=2)
    np.testing.assert_allclose(b.data, a.data, rtol=RTOL, atol=ATOL)
    assert np.abs(a.data).max() > 10 * ATOL


@pytest.fixture(scope="module")
def whisper_export(tmp_path_factory, repo_root):
    """A tiny model on a random tiny Whisper encoder (float16 file, trim mode) and its export."""
    _export_python_or_skip()
    pytest.importorskip("transformers")
    folder = tmp_path_factory.mktemp("whisper_export")
    _make_onnx_fixture("--whisper", folder, repo_root)
    return folder


def test_whisper_log_mel_matches_the_transformers_feature_extractor():
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("torch")
    from diffusiontalker.audio.features import whisper_log_mel

    for n_mels, seconds, seed in ((80, 3.3, 0), (80, 30.0, 1), (128, 0.01, 2), (80, 31.0, 3)):
        wave = _wave(seconds, seed) * np.linspace(0.0, 1.0, int(16000 * seconds), dtype=np.float32)
        extractor = transformers.WhisperFeatureExtractor(feature_size=n_mels)
        theirs = extractor(wave[:480000], sampling_rate=16000, return_tensors="pt").input_features
        ours = whisper_log_mel(wave, n_mels)
        assert ours.shape == (3000, n_mels) and ours.dtype == np.float32
        np.testing.assert_allclose(ours, theirs[0].numpy().T, atol=5e-5, rtol=0)
    silence = whisper_log_mel(np.zeros(1000, np.float32))
    np.testing.assert_array_equal(silence, np.full((3000, 80), -1.5, np.float32))  # (-10 + 4) / 4


@pytest.mark.needs_in_ci
def test_a_whisper_frontend_is_exported_in_float16_and_matches_torch(whisper_export):
    from diffusiontalker.api import load_model

    ort = load_onnx_model(whisper_export / "whisper_frontend.onnx")
    assert ort.frontend["kind"] == "whisper" and ort.frontend["trim"] and "frontend" in ort.sessions
    # float16 storage: the 1500 x 16 position embeddings alone are 96 kB in float32, and all
    # the encoder's float32 weights together ~195 kB
    assert (whisper_export / "whisper_frontend.onnx" / "frontend.onnx").stat().st_size < 120_000
    ref = load_model(whisper_export / "whisper_frontend.safetensors")
    for seconds, seed in ((0.05, 1), (2.3, 6), (31.0, 7)):  # 31 s: two 30 s pieces
        wave = _wave(seconds, seed)
        ours, theirs = ort.features(wave), ref.frontend(wave)
        assert ours.shape == theirs.shape == (ort.num_features(wave.shape[0]), 16)
        np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)
    wave = _wave(12.0, seed=8)  # two overlapping windows
    a = ref.generate(wave, 16000, identity="bo", steps=3, seed=2)
    b = ort.generate(wave, 16000, identity="bo", steps=3, seed=2)
    np.testing.assert_allclose(b.data, a.data, rtol=RTOL, atol=ATOL)
    assert np.abs(a.data).max() > 10 * ATOL
    assert [n for n, _ in ort.match_identity(wave, 16000)] == [n for n, _ in ref.match_identity(wave, 16000)]


def _export_command(checkpoint: Path, out: Path, repo_root: Path, *extra: str):
    return subprocess.run([_export_python_or_skip(), "-m", "diffusiontalker", "export-onnx",
                           str(checkpoint), "-o", str(out), *extra], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(repo_root / "core")})


@pytest.mark.needs_in_ci
def test_quantize_int8_stores_the_whisper_encoder_with_int8_weights(whisper_export, tmp_path,
                                                                    repo_root):
    """``export-onnx --quantize int8`` on the tiny random Whisper model: the manifest records the
    quantisation, the graph really has int8 products (found after the float16 storage is undone),
    the encoder's output moves a little from the float export's, and the talker loads it through
    the manifest's files as before. A model without an encoder graph is a one-line error."""
    done = _export_command(whisper_export / "whisper_frontend.safetensors", tmp_path / "int8",
                           repo_root, "--quantize", "int8")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "frontend quantised to int8" in done.stdout
    record = json.loads((tmp_path / "int8" / MANIFEST).read_text())["quantize"]["frontend"]
    assert (record["weight_type"], record["per_channel"], record["reduce_range"]) == (
        "QInt8", True, True)
    assert record["nodes"]["MatMulInteger"] == 12  # 2 layers x (q, k, v, out, fc1, fc2)
    assert record["nodes"].get("MatMul", 0) == 4  # attention scores and mixing stay float
    int8, float_ = (load_onnx_model(tmp_path / "int8"),
                    load_onnx_model(whisper_export / "whisper_frontend.onnx"))
    wave = _wave(2.3, seed=6)
    ours, theirs = int8.features(wave), float_.features(wave)
    assert ours.shape == theirs.shape
    # mean |int8 - float| / mean |float| measured 1.8e-4 (the float export is 1e-7 off torch)
    error = np.abs(ours - theirs).mean() / np.abs(theirs).mean()
    assert 1e-5 < error < 2e-3, error
    a = float_.generate(wave, 16000, identity="bo", steps=3, seed=2)
    b = int8.generate(wave, 16000, identity="bo", steps=3, seed=2)
    assert b.data.shape == a.data.shape
    assert np.abs(b.data - a.data).max() < 1e-3  # measured 4.8e-5 (motion up to 6.5)

    done = _export_command(DATA / "tiny_channels.safetensors", tmp_path / "mel", repo_root,
                           "--quantize", "int8")
    assert done.returncode == 2 and "'mel' frontend has none" in done.stderr


def test_auto_runs_the_onnx_export_when_the_torch_checkpoint_is_left_out(tmp_path):
    """The light build ships ``NAME.onnx/`` without ``NAME.safetensors``: even where torch
    imports, ``auto`` must then pick ONNX Runtime instead of failing on the missing file."""
    import shutil

    from diffusiontalker.runtime.loader import load_talker

    shutil.copytree(DATA / "tiny_channels.onnx", tmp_path / "model.onnx")
    talker = load_talker(tmp_path / "model.safetensors", device="auto")
    assert talker.runtime == "onnx"


def test_the_shipped_default_export_matches_its_checkpoint_on_the_demo_sentence():
    """``weights/default.onnx`` is ``export-onnx --quantize int8`` of
    ``weights/default.safetensors``: same source hash, an int8 audio encoder which the torch
    runtime reads audio with too, and so the same motion as torch on the demo sentence."""
    from diffusiontalker.runtime.loader import DEFAULT_CHECKPOINT, onnx_dir_for

    folder = onnx_dir_for(DEFAULT_CHECKPOINT)
    if not (DEFAULT_CHECKPOINT.is_file() and (folder / MANIFEST).is_file()):
        pytest.skip("the default model and its ONNX export are not shipped yet")
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["source"]["sha256"] == sha256_of(DEFAULT_CHECKPOINT)
    assert manifest["quantize"]["frontend"]["weight_type"] == "QInt8"
    pytest.importorskip("torch")
    from diffusiontalker.api import load_model
    from diffusiontalker.runtime.onnx_frontend import ExportedFrontend

    ort, ref = load_onnx_model(folder), load_model(DEFAULT_CHECKPOINT)
    assert isinstance(ref.frontend, ExportedFrontend)
    demo = DEFAULT_CHECKPOINT.parents[1] / "data" / "demo_speech.wav"
    for identity in (ort.identities[0], "match"):
        a = ref.generate(demo, identity=identity, seed=0)
        b = ort.generate(demo, identity=identity, seed=0)
        assert b.data.shape == a.data.shape and b.identity == a.identity
        np.testing.assert_allclose(b.data, a.data, rtol=RTOL, atol=ATOL)  # measured 3e-6
        assert np.abs(a.data).max() > 10 * ATOL


def test_onnx_mel_features_honour_cmvn():
    """The torch-free path computes the same per-clip normalised mel as the torch frontend."""
    from diffusiontalker.audio.build import build_frontend
    from diffusiontalker.audio.frontends import AudioEncoderConfig
    from diffusiontalker.runtime.onnx_frontend import ExportedFrontend

    wave = np.random.default_rng(5).standard_normal(24000).astype(np.float32) * 0.1
    for normalize in ("none", "cmvn"):
        ours = ExportedFrontend({"kind": "mel", "n_mels": 80, "rate_hz": 100.0,
                                 "normalize": normalize})
        expected = build_frontend(AudioEncoderConfig(kind="mel", normalize=normalize))(wave)
        np.testing.assert_allclose(ours(wave), expected, atol=1e-5)


def test_torch_reads_audio_with_the_int8_encoder_only_of_its_own_quantised_export(tmp_path):
    """The int8 graph stands in for the float encoder only where the export beside the
    checkpoint was made from it (same SHA-256) and quantises the encoder."""
    pytest.importorskip("torch")
    import shutil

    from diffusiontalker.api import load_model
    from diffusiontalker.audio.pretrained import WhisperFrontend
    from diffusiontalker.runtime.loader import DEFAULT_CHECKPOINT
    from diffusiontalker.runtime.onnx_frontend import quantized_frontend

    assert quantized_frontend(DATA / "tiny_channels.safetensors") is None  # float export
    alone = tmp_path / "alone.safetensors"
    shutil.copyfile(DEFAULT_CHECKPOINT, alone)  # no export beside it
    assert quantized_frontend(alone) is None
    assert isinstance(load_model(alone).frontend, WhisperFrontend)
    shutil.copytree(DEFAULT_CHECKPOINT.with_suffix(".onnx"), tmp_path / "alone.onnx")
    assert quantized_frontend(alone) is not None
    (tmp_path / "other.safetensors").write_bytes(alone.read_bytes() + b" ")  # another file
    shutil.copytree(tmp_path / "alone.onnx", tmp_path / "other.onnx")
    assert quantized_frontend(tmp_path / "other.safetensors") is None


def test_without_onnxruntime_torch_reads_the_float_encoder(monkeypatch):
    pytest.importorskip("torch")
    import sys

    from diffusiontalker.runtime.loader import DEFAULT_CHECKPOINT
    from diffusiontalker.runtime.onnx_frontend import quantized_frontend

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` fails
    assert quantized_frontend(DEFAULT_CHECKPOINT) is None
