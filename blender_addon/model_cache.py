"""The loaded model, shared by the panel and jobs (loaded lazily, off the main thread).

The model is loaded only when first needed (so registering the add-on stays instant), by
``diffusiontalker.runtime.loader.load_talker``: torch where it imports, else ONNX Runtime on
the checkpoint's exported ``.onnx`` folder (the light install). Scripts and tests can hand in a ready Talker with
:func:`use_talker`.

This module reads no preferences (and imports no other module of the add-on): callers read
the device and runtime choices on the main thread (``prefs.runtime_choice``) and pass them in,
so ``prefs`` may import this module without a cycle, and worker threads never touch ``bpy``.
The Threads preference arrives the same way, through :func:`set_threads` (called by
``prefs.runtime_choice``), or as ``get_talker(threads=...)``.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_talker = None
_loaded_key: tuple[str, str, str, str, int] | None = None
_override = None
_threads = 0  # the Threads preference: 0 = automatic (diffusiontalker.runtime.threads)
found_device = ""  # the device the last load actually used, for the preferences


def set_threads(threads: int) -> None:
    """Use ``threads`` CPU threads (0 = automatic) for models loaded from now on."""
    global _threads
    _threads = max(0, int(threads))


def get_talker(checkpoint: str = "", device: str = "AUTO", runtime: str = "auto",
               python: str = "", threads: int | None = None):
    """The Talker for ``checkpoint`` ("" = the shipped default) on ``device`` (may load it),
    on ``runtime`` (``prefs.runtime_choice()``: auto, torch, onnx or worker; a worker process
    runs ``python``) with ``threads`` CPU threads (None: the last :func:`set_threads`; 0 =
    automatic). A change of any of these loads the model again."""
    global _talker, _loaded_key, found_device
    with _lock:
        if _override is not None:
            return _override
        threads = _threads if threads is None else max(0, int(threads))
        key = (checkpoint or "", device, runtime, python, threads)
        if _talker is not None and _loaded_key == key:
            return _talker
        from diffusiontalker.runtime.loader import load_talker

        chosen = {"threads": threads} if threads else {}  # 0: load_talker's automatic default
        talker = load_talker(checkpoint or None, device=device.lower(), runtime=runtime,
                             python=python or None, **chosen)
        _talker, _loaded_key, found_device = talker, key, talker.device_report
        return talker


def loaded_talker():
    """The Talker already in memory, or None (never loads)."""
    return _override if _override is not None else _talker


def use_talker(talker) -> None:
    """Use ``talker`` instead of loading checkpoints (scripts, tests); None to undo."""
    global _override
    with _lock:
        _override = talker


def forget() -> None:
    """Drop the loaded model (e.g. after the checkpoint or device preference changed)."""
    global _talker, _loaded_key
    with _lock:
        _talker, _loaded_key = None, None
