"""One loader for every runtime: torch where torch imports, ONNX Runtime otherwise, or a worker.

``load_talker(checkpoint, device, runtime)`` returns a ``torch_talker.Talker`` (torch), an
``onnx_talker.OrtTalker`` (onnxruntime + numpy) or a ``client.WorkerTalker`` (a worker
process); all run the one generate loop of ``runtime.talker``, so a seed gives the same take. The ONNX export
of a checkpoint ``NAME.safetensors`` is looked for in the folder ``NAME.onnx`` beside it
(``diffusiontalker export-onnx NAME.safetensors -o NAME.onnx``); a folder holding an
``onnx_model.json`` may also be passed as the checkpoint itself.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from ..errors import CheckpointError
from ..paths import DEFAULT_CHECKPOINT
from .device import DeviceError, choose_device, run_with_cpu_fallback
from .onnx_export import MANIFEST

RUNTIMES = ("auto", "torch", "onnx", "worker")
# device names of the torch chain -> ONNX Runtime provider preferences
_ORT_DEVICE = {"auto": "auto", "cpu": "cpu", "cuda": "cuda", "mps": "coreml",
               "directml": "directml", "coreml": "coreml", "gpu": "gpu"}


def torch_available() -> bool:
    """Whether torch can be imported here (without importing it when it is absent)."""
    try:
        if importlib.util.find_spec("torch") is None:
            return False
        import torch  # noqa: F401
    except Exception:  # noqa: BLE001 - a broken or blocked torch counts as absent
        return False
    return True


def onnx_dir_for(checkpoint: str | Path | None) -> Path:
    """The exported-ONNX folder of a checkpoint (``NAME.onnx`` beside ``NAME.safetensors``)."""
    path = Path(checkpoint) if checkpoint else DEFAULT_CHECKPOINT
    if path.is_dir():
        return path
    return path.with_suffix(".onnx")


def is_onnx_dir(path: str | Path | None) -> bool:
    return path is not None and (Path(path) / MANIFEST).is_file()


def load_talker(checkpoint: str | Path | None = None, device: str = "auto",
                runtime: str = "auto", precision: str = "float32",
                python: str | Path | None = None) -> Any:
    """Load a model for generation on the best runtime available.

    ``runtime``: ``torch``, ``onnx``, ``worker`` (a worker process running ``python``, e.g. a
    CUDA torch environment; see ``runtime.client``) or ``auto`` (an ONNX folder, or a missing
    checkpoint whose ONNX export exists (the light build) -> onnx; else torch when it imports,
    else the checkpoint's ONNX export). ``device`` follows ``runtime.device``:
    ``auto``, ``cuda``, ``mps``, ``cpu`` (for onnx also ``directml``, ``coreml``, ``gpu``).
    The chosen runtime and device are in the talker's ``runtime`` and ``device_report``.
    """
    if runtime not in RUNTIMES:
        raise DeviceError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
    pref = str(device).strip().lower()
    if runtime == "worker":
        from .client import WorkerClient, WorkerTalker

        client = WorkerClient(python)
        try:
            loaded = client.load(None if checkpoint is None else str(checkpoint), pref, precision)
        except BaseException:
            client.close()
            raise
        return WorkerTalker(client, loaded)
    if runtime == "auto":
        # the light build ships the default model's ONNX export without its torch checkpoint
        only_onnx = not Path(checkpoint or DEFAULT_CHECKPOINT).exists() and is_onnx_dir(
            onnx_dir_for(checkpoint))
        runtime = "onnx" if is_onnx_dir(checkpoint) or only_onnx or not torch_available() else "torch"
    if runtime == "onnx":
        from .onnx_talker import load_onnx_model

        folder = onnx_dir_for(checkpoint)
        if not is_onnx_dir(folder):
            raise CheckpointError(
                f"no ONNX export found at {folder}; torch is not available here, so the model "
                f"must be exported first: diffusiontalker export-onnx {checkpoint or DEFAULT_CHECKPOINT} -o {folder}")
        if pref.split(":")[0] not in _ORT_DEVICE:
            raise DeviceError(f"unknown device {device!r} for ONNX Runtime; choose one of "
                              f"{', '.join(_ORT_DEVICE)}")
        return load_onnx_model(folder, _ORT_DEVICE[pref.split(":")[0]])
    from .torch_talker import load_model

    talker, used = run_with_cpu_fallback(lambda c: load_model(checkpoint, device=c.device),
                                         choose_device(pref, precision))
    if used.dtype != "float32":  # half precision where safe: autocast around generation
        plain = talker.generate

        def generate(*args: Any, **kwargs: Any) -> Any:
            with used.autocast():
                return plain(*args, **kwargs)

        talker.generate = generate
    talker.device_report = used.describe()
    return talker
