"""Background jobs: the heavy work in a worker thread, its result applied on the main thread.

A :class:`Job` runs ``work(progress, cancelled)`` in a thread; :func:`drain` (called by a
``bpy.app.timers`` function, by the modal Generate operator, or directly by tests and
blocking runs, since timers never fire under the ``bpy`` module) hands a finished job's result
to its ``apply`` callback on the main thread. Cancelling sets a flag the work polls; a
cancelled or failed job applies nothing, so the scene stays as it was.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from diffusiontalker.errors import CancelledError, DiffusionTalkerError


class Job:
    """One piece of work off the main thread, with progress and cancel."""

    def __init__(self, label: str, work: Callable[[Callable[[float], None], Callable[[], bool]], Any],
                 apply: Callable[[Any], str | None]):
        self.label = label
        self.progress = 0.0
        self.stage = ""  # what the work is doing, in words ("sampling window 2/7")
        self.state = "running"  # running | done | failed | cancelled | applied
        self.result: Any = None
        self.error = ""
        self.message = ""
        self._work, self._apply = work, apply
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"diffusiontalker {label}", daemon=True)

    def start(self) -> Job:
        self._thread.start()
        return self

    def _set_progress(self, fraction: float | None, stage: str | None = None) -> None:
        """The work's progress callback: a fraction, and optionally the stage in words."""
        if fraction is not None:
            self.progress = min(1.0, max(0.0, float(fraction)))
        if stage is not None:
            self.stage = str(stage)

    def _run(self) -> None:
        try:
            self.result = self._work(self._set_progress, self._cancel.is_set)
            self.state = "cancelled" if self._cancel.is_set() else "done"
        except CancelledError:
            self.state = "cancelled"
        except DiffusionTalkerError as exc:
            self.error, self.state = str(exc), "failed"
        except Exception as exc:  # an unexpected bug: still reach the user, with the trace
            traceback.print_exc()
            self.error, self.state = f"{type(exc).__name__}: {exc}", "failed"

    @property
    def finished(self) -> bool:
        return not self._thread.is_alive() and self.state != "running"

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def finish(self) -> None:
        """Main thread: apply a finished job's result (errors become ``self.error``)."""
        if self.state == "done":
            try:
                self.message = self._apply(self.result) or ""
                self.state = "applied"
            except DiffusionTalkerError as exc:
                self.error, self.state = str(exc), "failed"
        elif self.state == "cancelled":
            self.message = f"{self.label} cancelled; nothing was changed"


_current: Job | None = None
_listeners: list[Callable[[Job], None]] = []


def current() -> Job | None:
    """The job running or waiting to be applied, if any."""
    return _current


def start(job: Job) -> Job:
    """Start ``job`` as the current one (one job at a time)."""
    global _current
    if _current is not None and not _current.finished:
        raise DiffusionTalkerError(f"'{_current.label}' is still running; wait or cancel it")
    _current = job.start()
    return job


def drain() -> Job | None:
    """Main thread: apply the current job if it finished; returns it when it did."""
    global _current
    job = _current
    if job is None or not job.finished:
        return None
    _current = None
    job.finish()
    for listener in list(_listeners):
        listener(job)
    return job


def run_blocking(job: Job) -> Job:
    """Run ``job`` to the end on this thread's behalf (scripts, background mode)."""
    start(job)
    job.wait()
    drain()
    return job


def on_finished(listener: Callable[[Job], None]) -> None:
    """Call ``listener(job)`` on the main thread after each job is drained."""
    if listener not in _listeners:
        _listeners.append(listener)


def timer_tick() -> float | None:
    """``bpy.app.timers`` callback: drain, redraw the UI, keep ticking while a job runs."""
    drain()
    _redraw()
    return 0.1 if _current is not None else None


def _redraw() -> None:
    import bpy

    wm = getattr(bpy.context, "window_manager", None)
    for window in wm.windows if wm else ():
        for area in window.screen.areas:
            area.tag_redraw()
