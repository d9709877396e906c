"""One loader for every runtime: torch where torch imports, ONNX Runtime otherwise, or a worker.

``load_talker(checkpoint, device, runtime)`` returns a ``torch_talker.Talker`` (torch), an
``onnx_talker.OrtTalker`` (onnxruntime + numpy) or a ``client.WorkerTalker`` (a worker
process); all run the one generate loop of ``runtime.talker``, so a seed gives the same take. The ONNX export
of a checkpoint ``NAME.safetensors`` is looked for in the folder ``NAME.onnx`` beside it
(``diffusiontalker export-onnx NAME.safetensors -o NAME.onnx``); a folder holding an
``onnx_model.json`` may also be passed as the checkpoint itself.

Threads: ``threads=`` (None or 0 = automatic) is decided once by :mod:`.threads` for torch and
all ONNX Runtime sessions; the choice is the talker's ``threads_report``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from ..errors import CheckpointError
from ..paths import DEFAULT_CHECKPOINT
from .device import (
    ACCELERATOR_PROVIDERS,
    DeviceError,
    choose_device,
    ort_build_devices,
    run_with_cpu_fallback,
)
from .exports import export_matches, is_onnx_dir, onnx_dir_for
from .threads import check_threads, choose_threads, use_torch_threads

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


def resolve_runtime(runtime: str, checkpoint: str | Path | None = None,
                    light_first: bool = False) -> str:
    """The runtime ``auto`` stands for: an ONNX folder, or a missing checkpoint whose export
    exists (the light build) -> ``onnx``; with ``light_first`` (the CLI on the CPU, which needs
    no torch) also a checkpoint whose matching export exists (:func:`export_matches`); else
    ``torch`` when it imports, else ``onnx``. Other runtimes are returned unchanged."""
    if runtime not in RUNTIMES:
        raise DeviceError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
    if runtime != "auto":
        return runtime
    if is_onnx_dir(checkpoint):
        return "onnx"
    only_onnx = not Path(checkpoint or DEFAULT_CHECKPOINT).exists() and is_onnx_dir(
        onnx_dir_for(checkpoint))
    if only_onnx or (light_first and export_matches(checkpoint)):
        return "onnx"
    return "torch" if torch_available() else "onnx"


def load_talker(checkpoint: str | Path | None = None, device: str = "auto",
                runtime: str = "auto", precision: str = "float32",
                python: str | Path | None = None, threads: int | None = None) -> Any:
    """Load a model for generation on the best runtime available.

    ``runtime``: ``torch``, ``onnx``, ``worker`` (a worker process running ``python``, e.g. a
    CUDA torch environment; see ``runtime.client``) or ``auto`` (:func:`resolve_runtime`: an
    ONNX folder, or a missing checkpoint whose ONNX export exists (the light build) -> onnx;
    else torch when it imports, else the checkpoint's ONNX export). ``device`` follows
    ``runtime.device``: ``auto``, ``cuda``, ``mps``, ``cpu`` (for onnx also ``directml``,
    ``coreml``, ``gpu``); a device this build can never use is a DeviceError naming those it
    can. ``threads``: intra-op CPU threads (None or 0: automatic, ``runtime.threads``; the
    worker process decides its own). The chosen runtime, device and threads are in the
    talker's ``runtime``, ``device_report`` and ``threads_report``.
    """
    runtime = resolve_runtime(runtime, checkpoint)
    threads = check_threads(threads)
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
    if runtime == "onnx":
        return _load_onnx(checkpoint, device, threads)
    from .torch_talker import load_model

    chosen = choose_device(pref, precision)
    thread_choice = use_torch_threads(threads)
    talker, used = run_with_cpu_fallback(
        lambda c: load_model(checkpoint, device=c.device, threads=thread_choice.count), chosen)
    if used.dtype != "float32":  # half precision where safe: autocast around generation
        plain = talker.generate

        def generate(*args: Any, **kwargs: Any) -> Any:
            with used.autocast():
                return plain(*args, **kwargs)

        talker.generate = generate
    talker.device_report = used.describe()
    talker.threads_report = thread_choice.describe()
    return talker


def _load_onnx(checkpoint: str | Path | None, device: str, threads: int | None) -> Any:
    """The ONNX Runtime talker of a checkpoint's export, with errors that say what is missing."""
    from .onnx_talker import load_onnx_model

    folder = onnx_dir_for(checkpoint)
    if not is_onnx_dir(folder):
        path = Path(checkpoint) if checkpoint else DEFAULT_CHECKPOINT
        if not path.exists():
            raise CheckpointError(f"checkpoint not found: {path} (and no ONNX export found at "
                                  f"{folder} either); check the path")
        why = ("torch is not available here, so the model must be exported first"
               if not torch_available() else "the ONNX Runtime path needs the model exported first")
        raise CheckpointError(f"no ONNX export found at {folder}; {why}: "
                              f"diffusiontalker export-onnx {path} -o {folder}")
    kind = str(device).strip().lower().split(":")[0]
    if kind not in _ORT_DEVICE:
        raise DeviceError(f"unknown device {device!r} for ONNX Runtime; this build can use: "
                          f"{', '.join(ort_build_devices())} (pass one of those instead)")
    talker = load_onnx_model(folder, _ORT_DEVICE[kind], threads)
    wanted = ACCELERATOR_PROVIDERS.get(_ORT_DEVICE[kind])
    if wanted is not None and wanted not in talker.providers:
        talker.device_report += (f"; {kind} was requested but {wanted} failed to start, "
                                 "so the CPU is used instead")
    talker.threads_report = choose_threads(threads).describe()
    return talker
