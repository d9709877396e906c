"""How many CPU threads generation uses: one decision for torch and every ONNX Runtime session.

The default is the number of *physical* cores this process may run on, at most
:data:`MAX_AUTO_THREADS` (4): the model is small, so more threads mostly add synchronisation,
and hyper-threads (two logical CPUs on one core) slow each other down on matrix work. Both
libraries' own defaults are worse neighbours: torch takes every core, and ONNX Runtime gives
each session its own pool whose threads *spin* (busy-wait) between operators, so a talker's
four sessions could keep four pools of cores busy while the machine has other work.

Order of precedence: an explicit ``threads=`` (``load_talker``, ``generate --threads``, the
Blender preference; ``None`` or ``0`` = automatic), then the environment variable
:data:`THREADS_ENV` (``DIFFUSIONTALKER_THREADS``), then the automatic choice.

Physical cores: Linux reads the CPU topology in ``/sys`` for the CPUs this process may use
(its affinity mask) and honours a cgroup CPU quota (containers); macOS asks ``sysctlbyname
("hw.physicalcpu")``; elsewhere ``psutil`` is used when installed. Where the count is
unknown, half the logical CPUs (rounded up) are assumed to be cores, as on most x86 CPUs with
two hardware threads per core.

torch: its OpenMP threads spin too, which on a busy machine (another process on a core) made a
2-thread generate 10-30x slower than 1 thread in our measurements; importing this module
therefore sets ``OMP_WAIT_POLICY=PASSIVE`` unless it is already set (:func:`prefer_passive_openmp`;
it takes effect only if torch is imported afterwards, as ``runtime.loader`` arranges).

ONNX Runtime: every session gets the same count, no inter-op parallelism, and spinning off
(``session.intra_op.allow_spinning = 0``), so an idle pool costs nothing. (ONNX Runtime's
global shared pools are not used: Python can size them only through a private function and
cannot turn their spinning off.) Neither torch nor onnxruntime is imported by this module
until a function that needs it is called.
"""

from __future__ import annotations

import functools
import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError

THREADS_ENV = "DIFFUSIONTALKER_THREADS"
MAX_AUTO_THREADS = 4
MAX_THREADS = 1024  # more than this is a typo, not a machine
OPENMP_WAIT_ENV = "OMP_WAIT_POLICY"


def prefer_passive_openmp() -> None:
    """Ask OpenMP (torch's CPU threads) to sleep rather than spin while waiting, unless the
    user chose a policy; read by the OpenMP runtime when torch is first imported."""
    os.environ.setdefault(OPENMP_WAIT_ENV, "PASSIVE")


prefer_passive_openmp()


@dataclass(frozen=True)
class ThreadChoice:
    """The intra-op thread count and why: ``source`` is ``requested``, ``environment`` or
    ``automatic``; ``reason`` is a short human-readable explanation."""

    count: int
    source: str
    reason: str

    def describe(self) -> str:
        """One line for reports, e.g. ``"2 threads (automatic: 2 physical cores)"``."""
        return f"{self.count} thread{'s' if self.count != 1 else ''} ({self.reason})"


def check_threads(value: Any, what: str = "threads") -> int | None:
    """A requested thread count: ``None`` or ``0`` = automatic (returns None), else an int
    from 1 to :data:`MAX_THREADS`; anything else is a ConfigError naming ``what``."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("", "auto", "0"):
            return None
        try:
            value = int(text)
        except ValueError:
            raise ConfigError(f"{what} must be a whole number of threads (0 = automatic), "
                              f"got {text!r}") from None
    if isinstance(value, bool) or not isinstance(value, int) and not hasattr(value, "__index__"):
        raise ConfigError(f"{what} must be a whole number of threads (0 = automatic), got {value!r}")
    count = int(value)
    if count == 0:
        return None
    if not 1 <= count <= MAX_THREADS:
        raise ConfigError(f"{what} must be between 1 and {MAX_THREADS} (0 = automatic), got {count}")
    return count


def choose_threads(requested: Any = None,
                   environ: Mapping[str, str] | None = None) -> ThreadChoice:
    """The thread count to use: ``requested``, else ``$DIFFUSIONTALKER_THREADS``, else
    the physical cores this process may use, at most :data:`MAX_AUTO_THREADS`."""
    count = check_threads(requested)
    if count is not None:
        return ThreadChoice(count, "requested", "requested")
    environ = os.environ if environ is None else environ
    count = check_threads(environ.get(THREADS_ENV), f"the environment variable {THREADS_ENV}")
    if count is not None:
        return ThreadChoice(count, "environment", f"{THREADS_ENV}={count}")
    cores = physical_cores()
    if cores is None:
        logical = usable_cpus()
        cores = max(1, math.ceil(logical / 2)) if logical >= 4 else logical
        found = f"{logical} logical CPUs, physical cores unknown, assuming {cores}"
    else:
        found = f"{cores} physical core{'s' if cores != 1 else ''}"
    count = max(1, min(cores, MAX_AUTO_THREADS))
    capped = f", at most {MAX_AUTO_THREADS}" if cores > MAX_AUTO_THREADS else ""
    return ThreadChoice(count, "automatic", f"automatic: {found}{capped}")


def usable_cpus() -> int:
    """Logical CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except OSError:
            pass
    return max(1, os.cpu_count() or 1)


@functools.lru_cache(maxsize=1)
def physical_cores() -> int | None:
    """Physical cores this process may use, or None where that cannot be found out."""
    if sys.platform.startswith("linux"):
        cores = linux_physical_cores(Path("/sys/devices/system/cpu"), _affinity())
        quota = cgroup_cpu_quota(Path("/sys/fs/cgroup/cpu.max"))
        if cores is not None and quota is not None:
            cores = min(cores, quota)
        if cores is not None:
            return cores
    elif sys.platform == "darwin":
        cores = _macos_physical_cores()
        if cores is not None:
            return cores
    try:
        import psutil
    except ImportError:
        return None
    count = psutil.cpu_count(logical=False)
    return int(count) if count else None


def _affinity() -> set[int] | None:
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def linux_physical_cores(cpu_root: Path, cpus: set[int] | None) -> int | None:
    """Distinct cores among ``cpus`` (all CPUs when None) by the sysfs topology under
    ``cpu_root`` (``/sys/devices/system/cpu``): one core per distinct set of thread
    siblings. None when the topology cannot be read."""
    try:
        entries = [p for p in cpu_root.glob("cpu[0-9]*") if p.name[3:].isdigit()]
        cores: set[str] = set()
        for entry in entries:
            if cpus is not None and int(entry.name[3:]) not in cpus:
                continue
            siblings = entry / "topology" / "thread_siblings_list"
            if not siblings.is_file():
                siblings = entry / "topology" / "core_cpus_list"
            cores.add(siblings.read_text().strip())
    except (OSError, ValueError):
        return None
    return len(cores) or None


def cgroup_cpu_quota(cpu_max: Path) -> int | None:
    """Whole CPUs allowed by a cgroup v2 ``cpu.max`` (``"QUOTA PERIOD"``, rounded up), or None
    when there is no quota (``max``) or no such file."""
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota == "max":
            return None
        return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        return None


def _macos_physical_cores() -> int | None:
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        value = ctypes.c_int(0)
        size = ctypes.c_size_t(ctypes.sizeof(value))
        if libc.sysctlbyname(b"hw.physicalcpu", ctypes.byref(value), ctypes.byref(size), None, 0):
            return None
        return int(value.value) or None
    except (OSError, AttributeError):
        return None


def use_torch_threads(requested: Any = None) -> ThreadChoice:
    """Set torch's intra-op thread count (process-wide) by :func:`choose_threads`; imports torch."""
    choice = choose_threads(requested)
    import torch

    if torch.get_num_threads() != choice.count:
        torch.set_num_threads(choice.count)
    return choice


def ort_session_options(requested: Any = None) -> Any:
    """``onnxruntime.SessionOptions`` with :func:`choose_threads`' count, one inter-op thread
    and spinning off; imports onnxruntime."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = choose_threads(requested).count
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options
