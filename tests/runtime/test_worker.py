"""The worker protocol: framing round-trips, and a real worker subprocess with a fake model."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from diffusiontalker.errors import AudioError, CancelledError, CheckpointError
from diffusiontalker.runtime.client import WorkerClient
from diffusiontalker.runtime.protocol import (
    MAGIC,
    ProtocolError,
    WorkerError,
    encode,
    read_message,
    write_message,
)

from .fake_talker import CHANNELS, FPS, expected_weights

HERE = Path(__file__).resolve().parent


def _client(**kw) -> WorkerClient:
    return WorkerClient(loader="fake_talker:load_fake", env={"PYTHONPATH": str(HERE)}, **kw)


@pytest.fixture
def worker():
    client = _client()
    client.start()
    yield client
    client.close()


def _wave(seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(int(16000 * seconds)).astype(np.float32)


def test_protocol_round_trips_arrays_of_every_dtype():
    rng = np.random.default_rng(1)
    arrays = {
        "f32": rng.standard_normal((3, 4)).astype(np.float32),
        "f64_big_endian": rng.standard_normal(5).astype(">f8"),
        "f16": rng.standard_normal((2, 2)).astype(np.float16),
        "i64": np.arange(7, dtype=np.int64),
        "u8": np.arange(4, dtype=np.uint8),
        "mask": np.array([True, False, True]),
        "empty": np.zeros((0, 3), np.float32),
        "scalar": np.float32(2.5),
        "strided": rng.standard_normal((6, 6)).astype(np.float32)[::2, ::3],
    }
    stream = io.BytesIO()
    write_message(stream, {"type": "result", "id": 7, "names": ["a", "b"]}, arrays)
    write_message(stream, {"type": "bye"})
    stream.seek(0)
    msg = read_message(stream)
    assert msg.type == "result" and msg.id == 7 and msg.header["names"] == ["a", "b"]
    assert list(msg.arrays) == list(arrays)
    for name, value in arrays.items():
        got = msg.arrays[name]
        assert got.shape == np.shape(value) and got.dtype == np.asarray(value).dtype.newbyteorder("=")
        np.testing.assert_array_equal(got, value)
        assert got.flags.writeable
    assert read_message(stream).type == "bye"
    assert read_message(stream) is None  # clean end between messages


def test_protocol_rejects_bad_input():
    with pytest.raises(ProtocolError, match="not a worker message"):
        read_message(io.BytesIO(b"hello world, not a frame"))
    data = encode({"type": "result"}, {"x": np.ones(100, np.float32)})
    with pytest.raises(ProtocolError, match="stream ended inside array 'x'"):
        read_message(io.BytesIO(data[:-10]))
    with pytest.raises(ProtocolError, match="dtype object"):
        encode({"type": "x"}, {"o": np.array([{}], dtype=object)})
    with pytest.raises(ProtocolError, match="needs a 'type'"):
        encode({"id": 1})
    bad_header = b'{"type": "x", "arrays": [["a", "complex64", [2]]]}'
    frame = MAGIC + len(bad_header).to_bytes(4, "little") + bad_header
    with pytest.raises(ProtocolError, match="bad array description"):
        read_message(io.BytesIO(frame))


def test_worker_hello_load_generate_round_trip(worker):
    assert worker.info["protocol"] == 1 and worker.info["pid"] > 0
    loaded = worker.load("fast", device="cpu")
    config = loaded["model_config"]
    assert loaded["device"]["device"] == "cpu" and config["identity"]["names"] == ["ada", "bo"]
    assert config["motion"]["space"] == "channels" and config["motion"]["channels"] == list(CHANNELS)
    wave = _wave(1.3)
    fractions: list[float] = []
    motion = worker.generate(wave, 16000, identity={"ada": 0.25, "bo": 0.75}, steps=5, seed=3,
                             style_strength=0.5, progress=fractions.append)
    assert motion.fps == FPS and motion.space == "channels" and motion.channels == CHANNELS
    np.testing.assert_array_equal(motion.data, expected_weights(wave, 16000, 3, 0.5))
    assert motion.identity == {"ada": 0.25, "bo": 0.75}
    assert fractions == [0.2, 0.4, 0.6, 0.8, 1.0]
    assert worker.last_device["device"] == "cpu"


def test_worker_reports_errors_with_their_class(worker):
    with pytest.raises(WorkerError, match="no model is loaded"):
        worker.generate(_wave(), 16000)
    with pytest.raises(CheckpointError, match="'missing' does not exist"):
        worker.load("missing", device="cpu")
    worker.load("fast", device="cpu")
    with pytest.raises(AudioError, match="audio is empty"):
        worker.generate(np.zeros(0, np.float32), 16000)
    # the worker is still usable after an error
    assert worker.generate(_wave(0.5), 16000).num_frames == 15


def test_stray_stdout_output_does_not_break_the_protocol(worker):
    worker.load("noisy", device="cpu")
    wave = _wave(0.2)
    motion = worker.generate(wave, 16000, steps=3)
    np.testing.assert_array_equal(motion.data, expected_weights(wave, 16000, 0, 1.0))
    # stderr is read by its own thread: give it a moment to catch up
    for _ in range(100):
        if "stray output on stdout" in worker.stderr_tail():
            break
        time.sleep(0.05)
    assert "stray output on stdout" in worker.stderr_tail()


def test_cancel_stops_generation_and_keeps_the_worker(worker):
    worker.load("slow", device="cpu")
    pid = worker.info["pid"]
    seen = threading.Event()

    def progress(fraction: float) -> None:
        seen.set()

    with pytest.raises(CancelledError, match="cancelled"):
        worker.generate(_wave(), 16000, progress=progress, cancel=seen.is_set)
    assert seen.is_set() and worker.alive and worker.info["pid"] == pid
    # cancel from another thread through the client's own method
    timer = threading.Timer(0.2, worker.cancel)
    timer.start()
    with pytest.raises(CancelledError):
        worker.generate(_wave(), 16000)
    timer.join()
    worker.load("fast", device="cpu")
    assert worker.generate(_wave(0.1), 16000).num_frames == 3


def test_cancel_kills_a_worker_that_does_not_stop_then_restarts():
    client = _client(cancel_grace=0.3)
    try:
        client.load("stuck", device="cpu")
        first_pid = client.info["pid"]
        with pytest.raises(CancelledError, match="worker was stopped"):
            client.generate(_wave(), 16000, cancel=lambda: True)
        assert not client.alive
        client.load("fast", device="cpu")  # a fresh process
        assert client.alive and client.info["pid"] != first_pid
        assert client.generate(_wave(0.1), 16000).num_frames == 3
    finally:
        client.close()


def test_a_crashing_worker_gives_a_clear_error(worker):
    worker.load("crash", device="cpu")
    with pytest.raises(WorkerError, match="exited unexpectedly(.|\n)*crashing on purpose"):
        worker.generate(_wave(), 16000)


def test_a_missing_python_gives_a_clear_error(tmp_path):
    client = WorkerClient(tmp_path / "no-such-python")
    with pytest.raises(WorkerError, match="cannot start the worker Python"):
        client.start()


def test_a_python_without_the_model_code_says_so():
    client = WorkerClient(loader="no_such_module:load")
    try:
        with pytest.raises(Exception, match="cannot load models: ModuleNotFoundError"):
            client.load(None, device="cpu")
    finally:
        client.close()


def test_the_worker_cli_command_serves_the_protocol(repo_root):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo_root / "core"), str(HERE)])}
    proc = subprocess.Popen([sys.executable, "-m", "diffusiontalker", "worker",
                             "--loader", "fake_talker:load_fake"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    write_message(proc.stdin, {"type": "hello", "id": 1, "protocol": 1})
    write_message(proc.stdin, {"type": "hello", "id": 2, "protocol": 99})
    write_message(proc.stdin, {"type": "shutdown", "id": 3})
    replies = [read_message(proc.stdout) for _ in range(3)]
    assert proc.wait(30) == 0
    assert [r.type for r in replies] == ["hello", "error", "bye"]
    assert "protocol 99 is not supported" in replies[1].header["message"]


def test_the_worker_runs_a_real_checkpoint_like_the_parent():
    pytest.importorskip("torch")
    from diffusiontalker.api import load_model

    ckpt = HERE / "data" / "tiny_channels.safetensors"
    wave = _wave(1.5, seed=2)
    expected = load_model(ckpt).generate(wave, 16000, identity="bo", steps=3, seed=4)
    with WorkerClient() as client:
        loaded = client.load(ckpt, device="auto")
        assert loaded["model_config"]["identity"]["names"] == ["ada", "bo", "cy"]
        assert loaded["device"]["device"] == "cpu"
        motion = client.generate(wave, 16000, identity="bo", steps=3, seed=4)
    assert motion.channels == expected.channels and motion.identity == {"bo": 1.0}
    np.testing.assert_allclose(motion.data, expected.data, rtol=1e-5, atol=1e-6)


def test_load_talker_runtime_worker_is_a_talker_in_another_process():
    pytest.importorskip("torch")
    import sys

    from diffusiontalker.api import load_model
    from diffusiontalker.runtime.loader import load_talker

    ckpt = HERE / "data" / "tiny_vertices.safetensors"
    local = load_model(ckpt)
    remote = load_talker(ckpt, device="cpu", runtime="worker", python=sys.executable)
    try:
        assert remote.runtime == "worker" and "Python" in remote.device_report
        assert (remote.space, remote.fps, remote.num_vertices, remote.identities) == (
            local.space, local.fps, local.num_vertices, local.identities)
        np.testing.assert_array_equal(remote.template, local.template)
        wave = _wave(1.2, seed=8)
        ours, theirs = remote.match_identity(wave, 16000), local.match_identity(wave, 16000)
        assert [n for n, _ in ours] == [n for n, _ in theirs]
        a = remote.generate(wave, 16000, identity="match", steps=2, seed=1)
        b = local.generate(wave, 16000, identity="match", steps=2, seed=1)
        assert a.data.shape == b.data.shape == (36, 50, 3) and a.identity == b.identity
        np.testing.assert_allclose(a.data, b.data, rtol=1e-5, atol=1e-6)
    finally:
        remote.close()
