"""The client side of the worker: start a worker in another Python, load, generate, cancel.

Typical use (e.g. from the Blender add-on, on a background thread)::

    with WorkerClient("/path/to/cuda-env/bin/python") as worker:
        info = worker.load(None, device="auto")         # -> the "loaded" reply as a dict
        motion = worker.generate(wave, 16000, identity="ada", steps=8,
                                 progress=lambda f: ..., cancel=lambda: user_pressed_esc)

The worker imports exactly this copy of the ``diffusiontalker`` package (by file location,
without putting any directory on its ``sys.path``), so the user's environment only has to
provide numpy and torch. ``cancel`` is cooperative first: the worker stops at its next
sampler step and stays alive; if it has not answered within ``cancel_grace`` seconds the
process is killed (the last resort), and the next call starts a fresh one.
"""

from __future__ import annotations

import collections
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import errors
from ..config import ModelConfig
from ..motion import Motion
from ..paths import PACKAGE_DIR
from .protocol import (
    PROTOCOL_VERSION,
    Message,
    ProtocolError,
    WorkerError,
    read_message,
    write_message,
)
from .talker import TalkerFacts

# Imports the package from PACKAGE_DIR by location, then runs the worker's main().
_BOOTSTRAP = (
    "import importlib.util, os, sys\n"
    "d = sys.argv[1]\n"
    "spec = importlib.util.spec_from_file_location('diffusiontalker', os.path.join(d, '__init__.py'),"
    " submodule_search_locations=[d])\n"
    "m = importlib.util.module_from_spec(spec); sys.modules['diffusiontalker'] = m\n"
    "spec.loader.exec_module(m)\n"
    "from diffusiontalker.runtime.worker import main\n"
    "sys.exit(main(sys.argv[2:]))\n"
)
# An error reply's "kind" -> its class: every class of diffusiontalker.errors, so an error
# raised in the worker is raised here with the same class and message.
_ERRORS: dict[str, type[errors.DiffusionTalkerError]] = errors.error_classes()
_EOF = object()


class WorkerClient:
    """A worker subprocess running ``python`` (default: this interpreter)."""

    def __init__(self, python: str | os.PathLike | None = None, *, loader: str | None = None,
                 env: dict[str, str] | None = None, cancel_grace: float = 5.0,
                 start_timeout: float = 120.0) -> None:
        self.python = str(python or sys.executable)
        self.loader = loader
        self.env = env
        self.cancel_grace = cancel_grace
        self.start_timeout = start_timeout
        self.info: dict[str, Any] = {}
        self._proc: subprocess.Popen | None = None
        self._replies: queue.Queue = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=200)
        self._write_lock = threading.Lock()
        self._next_id = 0
        self._cancel = threading.Event()
        self._last_load: dict[str, Any] | None = None
        self._stderr_thread: threading.Thread | None = None
        self.last_device: dict[str, Any] | None = None
        self.template: np.ndarray | None = None

    # --- process ---------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> dict[str, Any]:
        """Start the worker (if it is not running) and return its ``hello`` reply."""
        if self.alive:
            return self.info
        args = [self.python, "-c", _BOOTSTRAP, str(PACKAGE_DIR)]
        if self.loader:
            args += ["--loader", self.loader]
        env = {**os.environ, **(self.env or {}), "PYTHONUNBUFFERED": "1"}
        try:
            proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=env)
        except OSError as exc:
            raise WorkerError(f"cannot start the worker Python {self.python!r}: {exc}") from None
        self._proc, self._replies = proc, queue.Queue()
        self._stderr.clear()
        threading.Thread(target=self._read_replies, args=(proc, self._replies), daemon=True).start()
        self._stderr_thread = threading.Thread(target=self._read_stderr, args=(proc,), daemon=True)
        self._stderr_thread.start()
        self.info = self._request({"type": "hello", "protocol": PROTOCOL_VERSION},
                                  timeout=self.start_timeout).header
        return self.info

    def _read_replies(self, proc: subprocess.Popen, replies: queue.Queue) -> None:
        try:
            while (msg := read_message(proc.stdout)) is not None:
                replies.put(msg)
        except (ProtocolError, OSError, ValueError) as exc:
            replies.put(exc)
        replies.put(_EOF)

    def _read_stderr(self, proc: subprocess.Popen) -> None:
        for line in iter(proc.stderr.readline, b""):
            self._stderr.append(line.decode("utf-8", "replace").rstrip())

    def stderr_tail(self, lines: int = 20) -> str:
        """The last lines the worker wrote to stderr (its log and tracebacks)."""
        return "\n".join(list(self._stderr)[-lines:])

    def kill(self) -> None:
        """End the worker process at once (the last resort of cancel)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def close(self, timeout: float = 5.0) -> None:
        """Ask the worker to exit; kill it if it does not within ``timeout`` seconds."""
        if not self.alive:
            return
        try:
            self._send({"type": "shutdown", "id": self._new_id()})
            self._proc.stdin.close()
            self._proc.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()

    def __enter__(self) -> WorkerClient:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- messages --------------------------------------------------------------------------
    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _send(self, header: dict[str, Any], arrays: dict[str, np.ndarray] | None = None) -> None:
        if not self.alive:
            raise WorkerError("the worker is not running" + self._died_because())
        with self._write_lock:
            try:
                write_message(self._proc.stdin, header, arrays)
            except OSError as exc:
                raise WorkerError(f"cannot talk to the worker ({exc})" + self._died_because()) from None

    def _died_because(self) -> str:
        if self._proc is not None and self._proc.poll() is not None and self._stderr_thread:
            self._stderr_thread.join(2.0)  # let the dead worker's last words arrive
        tail = self.stderr_tail()
        return f"; its last output:\n{tail}" if tail else ""

    def _next_reply(self, rid: int, timeout: float | None) -> Message | None:
        """The next reply to request ``rid``; None when ``timeout`` passes first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                item = self._replies.get(timeout=wait)
            except queue.Empty:
                return None
            if item is _EOF:
                if self._proc is not None:
                    self._proc.wait()
                raise WorkerError("the worker exited unexpectedly" + self._died_because())
            if isinstance(item, Exception):
                self.kill()
                raise WorkerError(f"the worker broke the protocol: {item}")
            if item.id == rid or (item.id is None and item.type == "error"):
                return item

    def _raise_for(self, msg: Message) -> None:
        if msg.type == "error":
            kind, message = msg.header.get("kind", ""), str(msg.header.get("message", ""))
            cls = _ERRORS.get(kind)
            if cls is None:
                raise WorkerError(f"the worker failed: {message}")
            raise cls(message)

    def _request(self, header: dict[str, Any], arrays: dict | None = None,
                 timeout: float | None = None) -> Message:
        rid = self._new_id()
        self._send({**header, "id": rid}, arrays)
        reply = self._next_reply(rid, timeout)
        if reply is None:
            self.kill()
            raise WorkerError(f"the worker did not answer '{header['type']}' within {timeout} s"
                              + self._died_because())
        self._raise_for(reply)
        return reply

    # --- the API ---------------------------------------------------------------------------
    def load(self, checkpoint: str | os.PathLike | None = None, device: str = "auto",
             precision: str = "float32", timeout: float | None = None) -> dict[str, Any]:
        """Load a checkpoint in the worker (None: the shipped default); the ``loaded`` reply."""
        self.start()
        request = {"type": "load", "checkpoint": None if checkpoint is None else str(checkpoint),
                   "device": device, "precision": precision}
        reply = self._request(request, timeout=timeout)
        self._last_load = request
        self.template = reply.arrays.get("template")
        return reply.header

    def match_identity(self, audio: np.ndarray, sample_rate: int,
                       top_k: int = 3) -> list[tuple[str, float]]:
        """The library identities closest to this voice, ``(name, cosine)``, from the worker."""
        if self._last_load is None:
            raise WorkerError("no model is loaded in the worker: call load() first")
        wave = np.ascontiguousarray(np.asarray(audio, dtype=np.float32))
        reply = self._request({"type": "match", "sample_rate": int(sample_rate),
                               "top_k": int(top_k)}, {"audio": wave})
        return [(str(n), float(s)) for n, s in reply.header["matches"]]

    def cancel(self) -> None:
        """Ask the running ``generate`` to stop (thread-safe; it raises ``CancelledError``)."""
        self._cancel.set()

    def generate(self, audio: np.ndarray, sample_rate: int, *, seed: int = 0,
                 status: Callable[[str], None] | None = None, **options: Any) -> Motion:
        """Generate motion in the worker; blocks, so call it off Blender's main thread.
        Options as :meth:`generate_takes`'."""
        return self._generate(audio, sample_rate, {"seed": int(seed)}, status=status,
                              **options)[0]

    def generate_takes(self, audio: np.ndarray, sample_rate: int, *, seeds: Any = (0,),
                       **options: Any) -> list[Motion]:
        """One take per seed, sampled together in the worker (``WindowedTalker.generate_takes``)."""
        return self._generate(audio, sample_rate, {"seeds": [int(s) for s in seeds]}, **options)

    def retake(self, audio: np.ndarray, sample_rate: int, take: Motion, *,
               frames: tuple[int, int], seed: int, **options: Any) -> Motion:
        """``runtime.retake.retake`` run by the worker's own Talker."""
        which = {"seed": int(seed), "frames": [int(f) for f in frames]}
        return self._generate(audio, sample_rate, which, take=take.data, **options)[0]

    def _generate(self, audio: np.ndarray, sample_rate: int, which: dict[str, Any], *,
                  take: np.ndarray | None = None,
                  identity: Any = None, steps: int | None = None, style_strength: float = 1.0,
                  keys: Any = None, transcript: str | None = None,
                  progress: Callable[[float], None] | None = None,
                  cancel: Callable[[], bool] | None = None,
                  status: Callable[[str], None] | None = None) -> list[Motion]:
        """``progress(fraction)`` is called for each progress message; ``cancel()`` is polled
        (as is :meth:`cancel`). ``keys`` (``direction.keys`` format) and ``transcript`` travel
        as JSON. Raises the worker's error class, or ``CancelledError``.
        """
        from ..direction.keys import parse_keys

        key_dicts = [k.to_dict() for k in parse_keys(keys)] or None
        if self._last_load is None:
            raise WorkerError("no model is loaded in the worker: call load() first")
        if not self.alive:  # e.g. killed by an earlier cancel: start again, reload
            self.start()
            self._request(dict(self._last_load))
        self._cancel.clear()
        rid = self._new_id()
        wave = np.ascontiguousarray(np.asarray(audio, dtype=np.float32))
        header = {"type": "generate", "id": rid, "sample_rate": int(sample_rate),
                  "identity": identity, "steps": steps, "style_strength": float(style_strength),
                  **which}
        header.update({k: v for k, v in (("keys", key_dicts), ("transcript", transcript))
                       if v is not None})
        arrays = {"audio": wave}
        if take is not None:
            arrays["take"] = np.ascontiguousarray(take, np.float32)
        self._send(header, arrays)
        cancelled_at: float | None = None
        while True:
            msg = self._next_reply(rid, timeout=0.05)
            wants_cancel = self._cancel.is_set() or bool(cancel and cancel())
            if wants_cancel and cancelled_at is None:
                cancelled_at = time.monotonic()
                self._send({"type": "cancel", "id": rid})
            if msg is None:
                if cancelled_at is not None and time.monotonic() - cancelled_at > self.cancel_grace:
                    self.kill()
                    raise errors.CancelledError("generation was cancelled (the worker was stopped)")
                continue
            if msg.type == "progress":
                if cancelled_at is None and "status" in msg.header:
                    if status is not None:
                        status(str(msg.header["status"]))
                elif progress is not None and cancelled_at is None:
                    progress(float(msg.header.get("fraction", 0.0)))
                continue
            if msg.type == "cancelled" or cancelled_at is not None:
                raise errors.CancelledError("generation was cancelled")
            self._raise_for(msg)
            h = msg.header
            self.last_device = h.get("device")
            data = msg.arrays["motion"]
            takes = data if "seeds" in which else data[None]
            return [Motion(float(h["fps"]), h["space"], take,
                           None if h.get("channels") is None else tuple(h["channels"]),
                           identity=dict(h.get("identity") or {}),
                           notes=[str(n) for n in h.get("notes") or []]) for take in takes]


class WorkerTalker(TalkerFacts):
    """The Talker interface over a worker process (``runtime.loader.load_talker(...,
    runtime="worker", python=...)``): the model's facts come from the ``ModelConfig`` in the
    worker's ``loaded`` reply; generation runs the worker's own Talker, i.e. the one generate
    loop (:mod:`.talker`), so a seed gives the same take as in this process."""

    runtime = "worker"

    def __init__(self, client: WorkerClient, loaded: dict[str, Any]) -> None:
        self.client, self.loaded = client, loaded
        try:
            self.config = ModelConfig.from_dict(loaded.get("model_config"))
        except errors.ConfigError as exc:
            raise WorkerError(f"the worker's model description is not valid: {exc}; is the "
                              "worker Python running another version of diffusiontalker?") from None
        device = loaded.get("device") or {}
        self.device_report = (f"worker {client.info.get('executable')} (Python "
                              f"{client.info.get('python')}): {device.get('device')} "
                              f"({device.get('name')}) {device.get('dtype')} - {device.get('reason')}")

    template = property(lambda self: self.client.template)

    @staticmethod
    def _wave(audio: Any, sample_rate: int | None) -> tuple[np.ndarray, int]:
        from ..audio.loading import SAMPLE_RATE, load_audio

        return load_audio(audio, sample_rate), SAMPLE_RATE

    def generate(self, audio: Any, sample_rate: int | None = None, *, seed: int = 0,
                 status: Callable[[str], None] | None = None, **options: Any) -> Motion:
        wave, rate = self._wave(audio, sample_rate)
        return self.client.generate(wave, rate, seed=seed, status=status, **options)

    def generate_takes(self, audio: Any, sample_rate: int | None = None, *,
                       seeds: Any = (0,), **options: Any) -> list[Motion]:
        wave, rate = self._wave(audio, sample_rate)
        return self.client.generate_takes(wave, rate, seeds=seeds, **options)

    def retake(self, take: Motion, audio: Any, sample_rate: int | None = None, *,
               frames: tuple[int, int], seed: int, **options: Any) -> Motion:
        wave, rate = self._wave(audio, sample_rate)
        return self.client.retake(wave, rate, take, frames=frames, seed=seed, **options)

    def match_identity(self, audio: Any, sample_rate: int | None = None,
                       top_k: int = 3) -> list[tuple[str, float]]:
        wave, rate = self._wave(audio, sample_rate)
        return self.client.match_identity(wave, rate, top_k=top_k)

    def close(self) -> None:
        self.client.close()
