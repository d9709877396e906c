"""The worker process: runs generation in a user-chosen Python, speaking ``protocol``.

Started by :class:`diffusiontalker.runtime.client.WorkerClient` (or by hand as
``diffusiontalker worker``), it reads requests on stdin and writes replies on stdout:

- ``hello {protocol}`` -> ``hello {protocol, version, python, executable, platform, pid}``
- ``load {checkpoint, device, precision}`` -> ``loaded {device: {...}, runtime, model_config}``
  (+ ``template`` for vertex models); ``model_config`` is ``ModelConfig.to_dict()``, from which
  the client derives every fact of the model (``runtime.talker.TalkerFacts``)
- ``generate {sample_rate, identity, steps, seed | seeds, style_strength[, keys][, transcript]}
  + audio`` -> ``progress {fraction}`` or ``progress {status}``* then ``result {fps, space,
  channels, identity, device, notes} + motion`` (with ``seeds``: one take per seed, stacked
  on a first axis), or ``cancelled``, or ``error {kind, message}``; with ``frames [a, b]`` and
  a ``take`` array, a re-take of frames a..b-1 of that take (``runtime.retake``)
- ``match {sample_rate, top_k} + audio`` -> ``matched {matches: [[name, cosine], ...]}``
- ``cancel {id}``: stops the running generation at its next step (no reply of its own)
- ``shutdown`` -> ``bye``, then the process exits (it also exits when stdin closes)

Generation runs on a thread so that ``cancel`` is read while it runs. Anything the model code
prints goes to stderr: the protocol owns the real stdout. Models are loaded by a *loader*,
``load(checkpoint, device) -> talker``, ``runtime.loader:load_talker`` by default (torch where
it imports, else ONNX Runtime); the talker offers ``generate(audio, sample_rate, *, identity,
steps, seed, style_strength, progress, cancel) -> Motion`` (the interface of ``runtime.talker.WindowedTalker``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np

from .. import __version__
from ..errors import CancelledError, DiffusionTalkerError, error_classes
from ..motion import Motion
from .device import DeviceChoice, choose_device, run_with_cpu_fallback
from .protocol import PROTOCOL_VERSION, Message, ProtocolError, read_message, write_message
from .talker import status_kwarg

DEFAULT_LOADER = "diffusiontalker.runtime.loader:load_talker"


def resolve_loader(spec: str) -> Callable[[str | None, str], Any]:
    """Import ``"module:attribute"`` and return the loader it names."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ProtocolError(f"loader must look like 'module:function', got {spec!r}")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise DiffusionTalkerError(
            f"this Python ({sys.executable}) cannot load models: {type(exc).__name__}: {exc}"
        ) from None


@dataclass
class _Job:
    id: int
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None


class WorkerServer:
    """Answers protocol requests read from ``inp`` with replies written to ``out``."""

    def __init__(self, out: BinaryIO, loader: str = DEFAULT_LOADER) -> None:
        self.out = out
        self.loader_spec = loader
        self.lock = threading.Lock()
        self.talker: Any = None
        self.checkpoint: str | None = None
        self.choice: DeviceChoice | None = None
        self.job: _Job | None = None

    def send(self, header: dict[str, Any], arrays: dict | None = None) -> None:
        with self.lock:
            write_message(self.out, header, arrays)

    def _send_error(self, rid: int | None, exc: BaseException) -> None:
        self.send(_error_header(rid, exc))

    def serve(self, inp: BinaryIO) -> int:
        """The request loop; returns the process exit status."""
        while True:
            try:
                msg = read_message(inp)
            except ProtocolError as exc:
                self._send_error(None, exc)
                self._stop_job()
                return 2
            if msg is None:  # the client went away
                self._stop_job()
                return 0
            handler = getattr(self, f"_on_{msg.type}", None)
            try:
                if handler is None:
                    raise ProtocolError(f"unknown message type {msg.type!r}")
                if handler(msg):
                    return 0
            except Exception as exc:  # noqa: BLE001 - every failure becomes an error reply
                self._send_error(msg.id, exc)

    def _busy(self) -> None:
        if self.job is not None:
            raise DiffusionTalkerError(f"the worker is busy with request {self.job.id}; "
                                       "cancel it or wait for its result")

    def _on_hello(self, msg: Message) -> bool:
        if msg.header.get("protocol") != PROTOCOL_VERSION:
            raise ProtocolError(f"protocol {msg.header.get('protocol')!r} is not supported; "
                                f"this worker speaks protocol {PROTOCOL_VERSION}")
        self.send({"type": "hello", "id": msg.id, "protocol": PROTOCOL_VERSION,
                   "version": __version__, "python": platform.python_version(),
                   "executable": sys.executable, "platform": platform.platform(),
                   "pid": os.getpid()})
        return False

    def _on_load(self, msg: Message) -> bool:
        self._busy()
        checkpoint = msg.header.get("checkpoint")
        choice = choose_device(str(msg.header.get("device", "auto")),
                               str(msg.header.get("precision", "float32")))
        loader = resolve_loader(self.loader_spec)
        self.talker, self.choice = run_with_cpu_fallback(
            lambda c: loader(checkpoint, c.device), choice)
        self.checkpoint = checkpoint
        t = self.talker
        template = getattr(t, "template", None)
        self.send({"type": "loaded", "id": msg.id, "device": self.choice.to_dict(),
                   "runtime": getattr(t, "runtime", None), "model_config": t.config.to_dict()},
                  None if template is None else {"template": template})
        return False

    def _audio_request(self, msg: Message) -> None:
        """Refuse a ``match``/``generate`` while busy, before a ``load``, or without audio."""
        self._busy()
        if self.talker is None:
            raise DiffusionTalkerError("no model is loaded in the worker: send 'load' first")
        if "audio" not in msg.arrays:
            raise ProtocolError(f"'{msg.type}' needs an 'audio' array")

    def _on_match(self, msg: Message) -> bool:
        self._audio_request(msg)
        found = self.talker.match_identity(msg.arrays["audio"], msg.header.get("sample_rate"),
                                           top_k=int(msg.header.get("top_k", 3)))
        self.send({"type": "matched", "id": msg.id,
                   "matches": [[str(name), float(score)] for name, score in found]})
        return False

    def _on_generate(self, msg: Message) -> bool:
        self._audio_request(msg)
        job = _Job(int(msg.id or 0))
        job.thread = threading.Thread(target=self._generate, args=(job, msg), daemon=True,
                                      name=f"generate-{job.id}")
        self.job = job
        job.thread.start()
        return False

    def _generate(self, job: _Job, msg: Message) -> None:
        h = msg.header

        def progress(fraction: float) -> None:
            if job.cancel.is_set():
                raise CancelledError("generation was cancelled")
            self.send({"type": "progress", "id": job.id, "fraction": float(fraction)})

        def status(text: str) -> None:  # a stage in words, as a progress message without fraction
            self.send({"type": "progress", "id": job.id, "status": str(text)})

        def run(choice: DeviceChoice) -> Any:
            if choice != self.choice:  # the CPU fallback after a device error
                self.talker = resolve_loader(self.loader_spec)(self.checkpoint, choice.device)
                self.choice = choice
            options = dict(identity=h.get("identity"), steps=h.get("steps"),
                           style_strength=float(h.get("style_strength", 1.0)),
                           progress=progress, cancel=job.cancel.is_set,
                           **status_kwarg(self.talker, status))
            options.update({k: h[k] for k in ("keys", "transcript") if h.get(k) is not None})
            with choice.autocast():
                if "frames" in h:  # a re-take of the take sent along
                    from .retake import retake

                    t = self.talker
                    take = Motion(t.fps, t.space, msg.arrays["take"], t.channels)
                    return [retake(t, take, msg.arrays["audio"], h.get("sample_rate"),
                                   frames=tuple(h["frames"]), seed=int(h.get("seed", 0)),
                                   **options)]
                if "seeds" in h:
                    return self.talker.generate_takes(msg.arrays["audio"], h.get("sample_rate"),
                                                      seeds=list(h["seeds"]), **options)
                return [self.talker.generate(msg.arrays["audio"], h.get("sample_rate"),
                                             seed=int(h.get("seed", 0)), **options)]

        try:
            motions, choice = run_with_cpu_fallback(run, self.choice)
            if job.cancel.is_set():
                raise CancelledError("generation was cancelled")
            motion = motions[0]
            header = {"type": "result", "id": job.id, "fps": float(motion.fps),
                      "space": motion.space, "channels": _list_or_none(motion.channels),
                      "identity": dict(motion.identity), "device": choice.to_dict(),
                      "notes": list(motion.notes)}
            data = np.stack([m.data for m in motions]) if "seeds" in h else motion.data
            final: tuple[dict, dict | None] = (header, {"motion": data})
        except CancelledError as exc:
            if job.cancel.is_set():
                final = ({"type": "cancelled", "id": job.id}, None)
            else:  # raised by the model itself, not by a cancel request: an ordinary error
                final = (_error_header(job.id, exc), None)
        except Exception as exc:  # noqa: BLE001 - every failure becomes an error reply
            final = (_error_header(job.id, exc), None)
        with self.lock:  # free the worker before the client can see the reply
            self.job = None
            write_message(self.out, *final)

    def _on_cancel(self, msg: Message) -> bool:
        job = self.job
        if job is not None and (msg.id is None or msg.id == job.id):
            job.cancel.set()
        return False

    def _stop_job(self, timeout: float = 10.0) -> None:
        job = self.job
        if job is not None:
            job.cancel.set()
            if job.thread is not None:
                job.thread.join(timeout)

    def _on_shutdown(self, msg: Message) -> bool:
        self._stop_job()
        self.send({"type": "bye", "id": msg.id})
        return True


def _error_header(rid: int | None, exc: BaseException) -> dict[str, Any]:
    """An ``error`` reply: our own errors keep their class name, others are "internal".

    ``kind`` names a class of :mod:`diffusiontalker.errors` (the client raises that class with
    the same message); an error class defined elsewhere travels as its nearest base there.
    """
    if isinstance(exc, DiffusionTalkerError):
        known = error_classes()
        kind = next(c.__name__ for c in type(exc).__mro__ if known.get(c.__name__) is c)
        return {"type": "error", "id": rid, "kind": kind, "message": str(exc)}
    traceback.print_exception(exc, file=sys.stderr)
    return {"type": "error", "id": rid, "kind": "internal",
            "message": f"{type(exc).__name__}: {exc}"}


def _list_or_none(value: Any) -> list | None:
    return None if value is None else [str(v) for v in value]


def protocol_streams() -> tuple[BinaryIO, BinaryIO]:
    """Take over stdin/stdout for the protocol; stray prints (Python or C) go to stderr."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return sys.stdin.buffer, out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--loader", default=DEFAULT_LOADER,
                        help="'module:function' that loads a model as load(checkpoint, device)")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the worker process (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="diffusiontalker worker")
    add_arguments(parser)
    args = parser.parse_args(argv)
    inp, out = protocol_streams()
    return WorkerServer(out, loader=args.loader).serve(inp)


if __name__ == "__main__":
    sys.exit(main())
