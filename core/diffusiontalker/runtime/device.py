"""Where generation runs: the torch device chain and the ONNX Runtime execution providers.

torch path: ``auto`` tries CUDA, then Apple MPS, then the CPU. Each candidate is *probed*
(a small matmul on the device) before it is chosen, so a device that reports itself as
available but fails on first use (driver mismatch, out of memory, an MPS build without the
op) falls back cleanly to the CPU, and the reason is reported with the choice. Half precision
is used only where it is safe: on CUDA, as autocast with bfloat16 where the GPU supports it,
else float16 on GPUs with compute capability >= 7.0; never on the CPU and never on MPS.

A device this build can never use (``cuda`` with a CPU-only torch, ``mps`` where torch has no
MPS backend, an unknown name such as ``tpu``) is a :class:`DeviceError` naming the devices it
can use; a device the build supports but this machine lacks or cannot start falls back to the
CPU, and the choice's ``reason`` says which device was asked for and why the CPU is used.

ONNX Runtime path: providers are always named explicitly (never the library's implicit
default). The CPU is the default; ``auto`` or ``gpu`` adds the first accelerator present of
CUDA and DirectML (Windows); CoreML (in every macOS wheel) only when asked for by name, since
its support for dynamic shapes is partial and the CPU is fast for this model. The CPU provider
is always last, as the fallback. Naming a provider this onnxruntime build lacks is a
DeviceError. Thread counts and spinning are :mod:`.threads`' (one decision for all sessions).

Neither torch nor onnxruntime is imported at module import time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from ..errors import DeviceError, DiffusionTalkerError

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")
PRECISION_CHOICES = ("auto", "float32", "half")

T = TypeVar("T")


@dataclass(frozen=True)
class DeviceChoice:
    """The device generation runs on, its compute dtype and why it was chosen.

    ``device`` is a torch device string (``"cuda:0"``, ``"mps"``, ``"cpu"``); ``dtype`` is
    ``"float32"``, ``"float16"`` or ``"bfloat16"`` (the autocast dtype; weights stay float32);
    ``name`` is a human-readable device name; ``reason`` says why, including any fallback.
    """

    device: str
    dtype: str
    name: str
    reason: str

    @property
    def kind(self) -> str:
        return self.device.split(":")[0]

    def describe(self) -> str:
        """One line for the UI / log, e.g. ``"cuda:0 (NVIDIA H100) bfloat16 - ..."``."""
        return f"{self.device} ({self.name}) {self.dtype} - {self.reason}"

    def autocast(self) -> contextlib.AbstractContextManager:
        """A context that runs torch ops in ``dtype`` (a no-op context for float32)."""
        if self.dtype == "float32":
            return contextlib.nullcontext()
        import torch

        return torch.autocast(device_type=self.kind, dtype=getattr(torch, self.dtype))

    def to_dict(self) -> dict[str, str]:
        return {"device": self.device, "dtype": self.dtype, "name": self.name, "reason": self.reason}


def _cpu(reason: str) -> DeviceChoice:
    return DeviceChoice("cpu", "float32", "CPU", reason)


def _probe(torch: Any, device: str) -> None:
    """Run a tiny computation on ``device``; raises whatever the device raises."""
    a = torch.ones((8, 8), device=device)
    float((a @ a).sum().item())


def _mps_available(torch: Any) -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def _half_dtype(torch: Any, index: int) -> str | None:
    """The safe half dtype on CUDA device ``index``, or None (bf16 first, then fp16 on >= 7.0)."""
    try:
        if torch.cuda.is_bf16_supported():
            return "bfloat16"
        major, _ = torch.cuda.get_device_capability(index)
        return "float16" if major >= 7 else None
    except Exception:  # noqa: BLE001 - any query failure means: do not use half
        return None


def torch_build_devices(torch: Any) -> list[str]:
    """The device names this torch build can ever use (whether or not the hardware is here):
    ``auto`` and ``cpu``, plus ``cuda`` in a CUDA or ROCm build and ``mps`` in one with MPS."""
    def built(backend: str) -> bool:
        check = getattr(getattr(torch.backends, backend, None), "is_built", None)
        return True if check is None else bool(check())  # an older torch: assume built

    return ["auto", "cpu", *(["cuda"] if built("cuda") else []), *(["mps"] if built("mps") else [])]


def _torch() -> Any:
    """The torch module, or None where it does not import."""
    try:
        import torch
    except Exception:  # noqa: BLE001 - a broken or blocked torch counts as absent
        return None
    return torch


def _unusable(preference: str, usable: Sequence[str], why: str) -> DeviceError:
    return DeviceError(f"{why}; this build can use: {', '.join(usable)} "
                       f"(pass one of those instead of {preference!r})")


def choose_device(preference: str = "auto", precision: str = "float32",
                  torch_module: Any = None) -> DeviceChoice:
    """Pick the torch device for generation: ``auto`` -> CUDA -> MPS -> CPU.

    ``preference`` is one of ``auto``, ``cuda`` (or ``cuda:N``), ``mps``, ``cpu``. A named
    device this torch build cannot use at all (``cuda`` on a CPU-only build) is a DeviceError
    naming the devices it can use; one the build supports that is absent or fails its probe
    falls back to the CPU (``reason`` says so). ``precision``: ``float32`` (default), ``half``
    (half where safe, else float32 with the reason) or ``auto`` (same as ``half`` on CUDA).
    ``torch_module`` is for tests.
    """
    pref = preference.strip().lower()
    kind = pref.split(":")[0]
    known = kind in DEVICE_CHOICES and (":" not in pref or kind == "cuda" and pref[5:].isdigit())
    if known and precision not in PRECISION_CHOICES:
        raise DeviceError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISION_CHOICES)}")
    if pref == "cpu":
        return _cpu("CPU requested")
    torch = _torch() if torch_module is None else torch_module
    usable = ["auto", "cpu"] if torch is None else torch_build_devices(torch)
    if not known:
        raise _unusable(preference, usable, f"unknown device {preference!r}")
    if torch is None:
        return _cpu("torch is not installed here (use the ONNX Runtime path)")
    if kind not in usable:
        raise _unusable(preference, usable, f"this torch build ({getattr(torch, '__version__', '?')}) "
                        f"has no {'CUDA' if kind == 'cuda' else 'Apple MPS'} support")

    failures: list[str] = []
    if pref == "auto" or pref.startswith("cuda"):
        index = int(pref.split(":")[1]) if ":" in pref else 0
        choice = _try_cuda(torch, index, precision, failures)
        if choice is not None:
            return choice
    if pref in ("auto", "mps"):
        choice = _try_mps(torch, precision, failures)
        if choice is not None:
            return replace(choice, reason="; ".join([*failures, choice.reason]))
    why = "; ".join(failures) if failures else "no GPU found"
    if pref == "auto":
        return _cpu(f"auto: {why}; using the CPU")
    return _cpu(f"{pref} was requested but {why}; using the CPU instead")


def _try_cuda(torch: Any, index: int, precision: str, failures: list[str]) -> DeviceChoice | None:
    try:
        if not torch.cuda.is_available():
            failures.append("CUDA is not available")
            return None
        if index >= torch.cuda.device_count():
            failures.append(f"there is no CUDA device {index}")
            return None
        device = f"cuda:{index}"
        _probe(torch, device)
        name = str(torch.cuda.get_device_name(index))
    except Exception as exc:  # noqa: BLE001 - any device error means: fall back
        failures.append(f"CUDA failed ({type(exc).__name__}: {exc})")
        return None
    dtype, note = "float32", "CUDA"
    if precision in ("half", "auto"):
        half = _half_dtype(torch, index)
        if half is None:
            note = "CUDA; this GPU has no safe half precision, using float32"
        else:
            dtype = half
    return DeviceChoice(device, dtype, name, note)


def _try_mps(torch: Any, precision: str, failures: list[str]) -> DeviceChoice | None:
    try:
        if not _mps_available(torch):
            failures.append("Apple MPS is not available")
            return None
        _probe(torch, "mps")
    except Exception as exc:  # noqa: BLE001
        failures.append(f"MPS failed ({type(exc).__name__}: {exc})")
        return None
    note = "Apple MPS"
    if precision == "half":
        note += "; half precision is not used on MPS"
    return DeviceChoice("mps", "float32", "Apple GPU (MPS)", note)


def run_with_cpu_fallback(run: Callable[[DeviceChoice], T],
                          choice: DeviceChoice) -> tuple[T, DeviceChoice]:
    """Call ``run(choice)``; if it fails with a device error, call ``run`` again on the CPU.

    User errors (any ``DiffusionTalkerError``, including ``CancelledError``) are not device
    errors and propagate unchanged. Returns the result and the choice it finally ran on.
    """
    try:
        return run(choice), choice
    except DiffusionTalkerError:
        raise
    except Exception as exc:
        if choice.kind == "cpu":
            raise
        cpu = _cpu(f"{choice.device} failed during generation ({type(exc).__name__}: {exc}); "
                   "fell back to the CPU")
        return run(cpu), cpu


# --- ONNX Runtime -----------------------------------------------------------------------

CPU_PROVIDER = "CPUExecutionProvider"
# Accelerators in order of preference; each maps a user-facing name to the provider name.
ACCELERATOR_PROVIDERS = {
    "cuda": "CUDAExecutionProvider",
    "directml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
}
AUTO_ACCELERATORS = ("cuda", "directml")  # CoreML only on request
PROVIDER_CHOICES = ("cpu", "auto", "gpu", *ACCELERATOR_PROVIDERS)


def available_ort_providers() -> list[str]:
    """The providers this onnxruntime build offers (imports onnxruntime)."""
    import onnxruntime

    return list(onnxruntime.get_available_providers())


def choose_ort_providers(preference: str = "cpu",
                         available: Sequence[str] | None = None) -> list[str]:
    """The explicit provider list for an ``InferenceSession``; the CPU provider always last.

    ``cpu`` (default): only the CPU. ``auto``/``gpu``: the first present of CUDA and DirectML,
    then the CPU. ``cuda``/``directml``/``coreml``: that one; a build without it is a
    DeviceError naming the devices this build can use (:func:`ort_build_devices`).
    """
    pref = preference.strip().lower()
    if pref not in PROVIDER_CHOICES:
        have = None if available is None else list(available)
        raise _unusable(preference, ort_build_devices(have),
                        f"unknown ONNX Runtime device {preference!r}")
    if pref == "cpu":
        return [CPU_PROVIDER]
    have = list(available_ort_providers() if available is None else available)
    names = AUTO_ACCELERATORS if pref in ("auto", "gpu") else (pref,)
    for provider in (ACCELERATOR_PROVIDERS[n] for n in names):
        if provider in have:
            return [provider, CPU_PROVIDER]
    if pref not in ("auto", "gpu"):
        raise _unusable(preference, ort_build_devices(have),
                        f"this onnxruntime build has no {ACCELERATOR_PROVIDERS[pref]}")
    return [CPU_PROVIDER]


def ort_build_devices(available: Sequence[str] | None = None) -> list[str]:
    """The ONNX Runtime device names this onnxruntime build can use: ``auto``, ``cpu``, and
    each accelerator whose provider it has (``available``: the provider list, for tests)."""
    have = available_ort_providers() if available is None else available
    return ["auto", "cpu", *(n for n, p in ACCELERATOR_PROVIDERS.items() if p in have)]


def create_ort_session(model_path: str, preference: str = "cpu",
                       threads: int | None = None) -> tuple[Any, list[str]]:
    """An ``onnxruntime.InferenceSession`` on the chosen providers, falling back to the CPU.

    ``threads``: None/0 = :mod:`.threads`' automatic choice (the same for every session, with
    spinning off). Returns the session and the providers it actually runs on
    (``session.get_providers()``).
    """
    import onnxruntime

    from .threads import ort_session_options

    options = ort_session_options(threads)
    providers = choose_ort_providers(preference)
    try:
        session = onnxruntime.InferenceSession(model_path, sess_options=options,
                                               providers=providers)
    except Exception:
        if providers == [CPU_PROVIDER]:
            raise
        session = onnxruntime.InferenceSession(model_path, sess_options=options,
                                               providers=[CPU_PROVIDER])
    return session, list(session.get_providers())
