"""Exceptions with messages meant for the user.

Every error the core raises on bad input is a :class:`DiffusionTalkerError`; its message says
what is wrong and, where possible, what to do. The Blender add-on shows it as-is; the
``diffusiontalker`` command prints it as one line ``error: ...`` and exits with status 2
(``diffusiontalker --debug ...`` shows the traceback instead).

Every such class is defined here, in this module, and nowhere else (modules that raise one
re-export it under its old name): the worker sends an error by its class name and
:func:`error_classes` maps the name back, so an error reads the same, with the same class,
in-process and out-of-process. A class that also derives from ``ValueError`` replaced a plain
``ValueError`` and keeps old ``except ValueError`` code working. Errors of a programming
mistake (an internal argument no user can pass) stay ``ValueError`` / ``TypeError``.
"""


class DiffusionTalkerError(Exception):
    """Base class: the message is shown to the user unchanged."""


class AudioError(DiffusionTalkerError):
    """Audio is missing, empty, silent where speech is required, or not decodable."""


class CheckpointError(DiffusionTalkerError):
    """A checkpoint is missing, truncated, not safetensors, or inconsistent."""


class TopologyError(DiffusionTalkerError):
    """A mesh or template does not match what the model drives."""


class IdentityError(DiffusionTalkerError):
    """An unknown identity name or an invalid blend."""


class DatasetError(DiffusionTalkerError):
    """A dataset folder or file is malformed."""


class CancelledError(DiffusionTalkerError):
    """A job was cancelled by the user; nothing was written."""


class ConfigError(DiffusionTalkerError, ValueError):
    """A setting or a saved config is invalid: unknown or missing keys, a value out of range,
    or a config written by a newer version of the package."""


class AudioEncoderError(ConfigError):
    """An audio encoder config is invalid, or its pretrained or student weights cannot be
    loaded (``audio.frontends``, ``audio.pretrained``, ``audio.compact_encoder``)."""


class CT2FormatError(DiffusionTalkerError):
    """A file is not a CTranslate2 ``model.bin`` that ``audio.whisper_ct2`` understands."""


class DeviceError(DiffusionTalkerError):
    """An unknown device or ONNX Runtime provider name was asked for (``runtime.device``)."""


class ExportError(DiffusionTalkerError):
    """A model could not be exported to ONNX: the ``onnx`` package is missing, or the exported
    graph disagrees with the torch model (``runtime.onnx_export``)."""


class MetricError(DiffusionTalkerError, ValueError):
    """Arrays given to an evaluation metric have incompatible shapes or are empty
    (``evaluation.metrics``)."""


class MotionError(DiffusionTalkerError, ValueError):
    """Motion data has the wrong shape, space or channel names, or is empty; or a motion file
    (``.npz``, ``.pc2`` point cache) is not one (``motion``, ``bake``)."""


class OutputError(DiffusionTalkerError):
    """An output file cannot be written: its folder is missing, it is not writable, or the
    disk is full (``Motion.save_npz``)."""


class ProtocolError(DiffusionTalkerError):
    """The other side of a worker connection sent something that is not a valid worker
    message, or a request the worker does not understand (``runtime.protocol``)."""


class WorkerError(DiffusionTalkerError):
    """The worker process failed: it could not start, crashed, stopped answering, or raised an
    unexpected (non-``DiffusionTalkerError``) error (``runtime.client``)."""


class SynthError(DiffusionTalkerError):
    """eSpeak NG is missing, failed to start, or rejected a voice or a text (``synth``)."""


class CaptureError(DiffusionTalkerError):
    """A face-capture take cannot be used: a CSV that is not a Live Link Face export (wrong
    columns, unreadable timecodes or values), a take without frames, audio shorter than the
    motion, a video without an audio track, or channels asked for that were not captured
    (``capture``)."""


def error_classes() -> dict[str, type[DiffusionTalkerError]]:
    """Every error class defined in this module, by class name (including the base class).

    The worker client maps an ``error`` reply's ``kind`` back to its class with this table.
    """
    return {name: obj for name, obj in globals().items()
            if isinstance(obj, type) and issubclass(obj, DiffusionTalkerError)
            and obj.__module__ == __name__}
