"""The error contract (core/diffusiontalker/errors.py): every user-facing error class of the
core is defined there, documented, and a DiffusionTalkerError."""

from __future__ import annotations

import ast
from pathlib import Path

from diffusiontalker import errors

CORE = Path(errors.__file__).resolve().parent


def test_every_error_class_is_defined_in_errors_py():
    known = set(errors.error_classes())
    outside = []
    for path in sorted(CORE.rglob("*.py")):
        if path.name == "errors.py" and path.parent == CORE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")
                         for b in node.bases}
                if bases & (known | {"Exception"}) or node.name.endswith("Error"):
                    outside.append(f"{path.relative_to(CORE)}: class {node.name}")
    assert outside == [], "define these in errors.py and import them from there"


def test_error_classes_are_documented_and_derive_from_the_base():
    classes = errors.error_classes()
    assert classes["DiffusionTalkerError"] is errors.DiffusionTalkerError
    for name, cls in classes.items():
        assert issubclass(cls, errors.DiffusionTalkerError) and cls.__name__ == name
        assert cls.__doc__ and cls.__doc__.strip(), f"{name} needs a docstring (when it is raised)"


def test_old_import_locations_still_work():
    from diffusiontalker.audio.frontends import AudioEncoderError
    from diffusiontalker.audio.whisper_ct2 import CT2FormatError
    from diffusiontalker.evaluation.metrics import MetricError
    from diffusiontalker.runtime.device import DeviceError
    from diffusiontalker.runtime.onnx_export import ExportError
    from diffusiontalker.runtime.protocol import ProtocolError, WorkerError
    from diffusiontalker.synth.espeak import SynthError

    assert (AudioEncoderError, CT2FormatError, MetricError, DeviceError, ExportError,
            ProtocolError, WorkerError, SynthError) == (
        errors.AudioEncoderError, errors.CT2FormatError, errors.MetricError, errors.DeviceError,
        errors.ExportError, errors.ProtocolError, errors.WorkerError, errors.SynthError)
