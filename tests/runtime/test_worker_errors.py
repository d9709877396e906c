"""Every error class of diffusiontalker.errors crosses the worker unchanged: the client raises
the same class with the same message as the model raised in the worker process."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from diffusiontalker import errors
from diffusiontalker.runtime import client as client_module
from diffusiontalker.runtime.client import WorkerClient
from diffusiontalker.runtime.worker import _error_header

from .raising_talker import OutsideError, message, names

HERE = Path(__file__).resolve().parent
CLASSES = sorted(errors.error_classes().items())


@pytest.fixture(scope="module")
def worker():
    client = WorkerClient(loader="raising_talker:load_raising", env={"PYTHONPATH": str(HERE)})
    client.start()
    client.load("ok", device="cpu")
    yield client
    client.close()


def test_the_client_knows_every_error_class():
    assert client_module._ERRORS == errors.error_classes()
    assert {"DiffusionTalkerError", "AudioError", "ConfigError", "ProtocolError",
            "WorkerError", "DeviceError", "CancelledError"} <= set(client_module._ERRORS)


@pytest.mark.parametrize("name, cls", CLASSES)
def test_an_error_raised_in_generate_arrives_with_its_class_and_message(worker, name, cls):
    with pytest.raises(errors.DiffusionTalkerError) as info:
        worker.generate(np.ones(1600, np.float32), 16000, identity=name)
    assert type(info.value) is cls
    assert str(info.value) == message(name)
    # the worker is still there for the next request
    assert worker.alive


@pytest.mark.parametrize("name, cls", CLASSES)
def test_an_error_raised_at_load_arrives_with_its_class_and_message(worker, name, cls):
    with pytest.raises(errors.DiffusionTalkerError) as info:
        worker.load(f"raise:{name}", device="cpu")
    assert type(info.value) is cls and str(info.value) == message(name)
    worker.load("ok", device="cpu")


def test_match_errors_and_outside_classes_and_bugs(worker):
    wave = np.ones(1600, np.float32)
    with pytest.raises(errors.AudioError) as info:
        worker.match_identity(wave, 16000, top_k=names().index("AudioError"))
    assert type(info.value) is errors.AudioError and str(info.value) == message("AudioError")
    # a subclass defined outside errors.py arrives as its nearest class there
    with pytest.raises(errors.IdentityError) as info:
        worker.generate(wave, 16000, identity="OutsideError")
    assert type(info.value) is errors.IdentityError and str(info.value) == message("OutsideError")
    # a bug (not a DiffusionTalkerError) is a WorkerError naming the original exception
    with pytest.raises(errors.WorkerError, match="the worker failed: RuntimeError: RuntimeError"):
        worker.generate(wave, 16000, identity="RuntimeError")


def test_error_header_names_a_class_of_errors_py():
    header = _error_header(3, OutsideError("no"))
    assert (header["kind"], header["message"], header["id"]) == ("IdentityError", "no", 3)
    assert _error_header(None, errors.MetricError("m"))["kind"] == "MetricError"
