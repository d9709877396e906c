"""The result of generation: per-frame motion with its frame rate, and its `.npz` form.

The `.npz` contract (docs/model.md § CLI): ``fps`` and either ``offsets`` ``(T, V, 3)`` float32 or
``weights`` ``(T, K)`` float32 with ``channels`` ``(K,)``.

Nothing non-finite leaves the core: :func:`require_finite` is the one check (motion data,
exported model arrays, generated motion), a :class:`Motion` refuses NaN or infinite data and
``save_npz`` writes atomically (a temporary file in the same folder, then ``os.replace``), so a
failed write (a full disk) leaves no half-written file and keeps any old one.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DiffusionTalkerError, MotionError, OutputError


def require_finite(array: np.ndarray, what: str, hint: str = "",
                   error: type[DiffusionTalkerError] = MotionError) -> np.ndarray:
    """Return ``array`` unchanged, or raise ``error`` saying that ``what`` holds NaN or infinite
    values (how many, and where the first one is), followed by ``hint`` (the likely cause or
    what to do). Arrays of non-float dtypes (integers, strings) are always finite."""
    array = np.asarray(array)
    if array.dtype.kind not in "fc":
        return array
    finite = np.isfinite(array)
    if finite.all():
        return array
    bad = int(finite.size - np.count_nonzero(finite))
    nans = int(np.count_nonzero(np.isnan(array)))
    first = tuple(int(i) for i in np.unravel_index(int(np.argmin(finite)), array.shape))
    where = f" (first at index {first[0] if len(first) == 1 else first})" if first else ""
    kinds = " and ".join(part for part in (f"{nans} NaN" if nans else "",
                                           f"{bad - nans} infinite" if bad > nans else "") if part)
    raise error(f"{what} contains {kinds} value{'s' if bad != 1 else ''} of "
                f"{array.size}{where}" + (f"; {hint}" if hint else ""))


NON_FINITE_EXPORT = ("the exported model is broken; export it again from a good checkpoint "
                     "(diffusiontalker export-onnx CHECKPOINT -o DIR)")


def require_finite_arrays(arrays: Mapping[str, np.ndarray], where: str, hint: str = "",
                          error: type[DiffusionTalkerError] = MotionError) -> None:
    """:func:`require_finite` on each named array, e.g. an ``.npz``'s; names the array."""
    for name, array in arrays.items():
        require_finite(array, f"{where}: array {name!r}", hint, error)


@dataclass
class Motion:
    """Generated facial motion in one of the two motion spaces.

    ``space == "vertices"``: ``data`` is ``(T, V, 3)`` offsets from the neutral template.
    ``space == "channels"``: ``data`` is ``(T, K)`` weights of the named ``channels``.
    """

    fps: float
    space: str
    data: np.ndarray
    channels: tuple[str, ...] | None = None
    identity: dict[str, float] = field(default_factory=dict)
    # what the user should hear about how this take was made (e.g. "the transcript did not
    # match the audio; generated without it"); not saved in the .npz
    notes: list[str] = field(default_factory=list, compare=False)

    def __post_init__(self) -> None:
        self.data = np.asarray(self.data, dtype=np.float32)
        if not (isinstance(self.fps, (int, float, np.number)) and math.isfinite(self.fps)
                and self.fps > 0):
            raise MotionError(f"motion needs a positive, finite frame rate, got fps={self.fps!r}")
        require_finite(self.data, "the motion data",
                       "motion with NaN or infinity cannot be used or saved")
        bad = [k for k, v in self.identity.items() if not math.isfinite(float(v))]
        if bad:
            raise MotionError(f"the motion's identity weight of {bad[0]!r} is not finite "
                              f"({self.identity[bad[0]]!r})")
        if self.space == "vertices":
            if self.data.ndim != 3 or self.data.shape[-1] != 3:
                raise MotionError(f"vertex motion must be (T, V, 3) offsets, got an array of "
                                  f"shape {self.data.shape}")
        elif self.space == "channels":
            if self.data.ndim != 2:
                raise MotionError(f"channel motion must be (T, K) weights, got an array of "
                                  f"shape {self.data.shape}")
            if self.channels is None or len(self.channels) != self.data.shape[1]:
                got = "no names" if self.channels is None else f"{len(self.channels)} names"
                raise MotionError(f"channel motion needs one channel name per column: "
                                  f"{self.data.shape[1]} columns, {got}")
            self.channels = tuple(self.channels)
        else:
            raise MotionError(f"unknown motion space {self.space!r}; use 'vertices' or 'channels'")

    @property
    def num_frames(self) -> int:
        return int(self.data.shape[0])

    @property
    def duration(self) -> float:
        """Seconds covered by the frames (frame i shows time i / fps)."""
        return self.num_frames / self.fps

    def save_npz(self, path: str | Path) -> Path:
        """Write the `.npz` of the public contract atomically; returns the path written.

        As with ``numpy.savez``, ``.npz`` is appended to a name without it (``take`` ->
        ``take.npz``). The data goes to a temporary file in the same folder, which replaces
        ``path`` only when complete: a failure (full disk, no permission) raises OutputError
        and leaves no partial file behind (an existing file at ``path`` is kept)."""
        path = npz_path(path)
        arrays: dict[str, np.ndarray] = {"fps": np.float32(self.fps)}
        if self.space == "vertices":
            arrays["offsets"] = self.data
        else:
            arrays["weights"] = self.data
            arrays["channels"] = np.array(self.channels)
        if self.identity:
            arrays["identity_names"] = np.array(list(self.identity))
            arrays["identity_weights"] = np.array(list(self.identity.values()), np.float32)
        write_atomically(path, lambda f: np.savez(f, **arrays))
        return path

    @classmethod
    def load_npz(cls, path: str | Path) -> Motion:
        """Read a motion `.npz` of the public contract; a file that is not one: MotionError."""
        try:
            with np.load(path, allow_pickle=False) as f:
                identity = {}
                if "identity_names" in f:
                    identity = dict(zip(f["identity_names"].tolist(),
                                        f["identity_weights"].tolist(), strict=True))
                if "offsets" in f:
                    return cls(float(f["fps"]), "vertices", f["offsets"], identity=identity)
                return cls(float(f["fps"]), "channels", f["weights"],
                           tuple(f["channels"].tolist()), identity=identity)
        except MotionError as exc:
            raise MotionError(f"{path}: {exc}") from None
        except FileNotFoundError:
            raise MotionError(f"motion file not found: {path}") from None
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise MotionError(f"{path} is not a motion .npz (fps and offsets, or fps, weights "
                              f"and channels; written by `diffusiontalker generate`): {exc}") from None


def npz_path(path: str | Path) -> Path:
    """The path ``save_npz`` writes for ``path``: ``.npz`` appended when the name lacks it."""
    path = Path(path)
    return path if path.name.endswith(".npz") else path.with_name(path.name + ".npz")


def write_atomically(path: Path, write) -> None:
    """Call ``write(binary_file)`` on a temporary file beside ``path``, then move it onto
    ``path``; on any failure remove the temporary file (OSError becomes OutputError)."""
    tmp = None
    try:
        # os.open with mode 0o666 lets the umask decide the permissions, as a plain open() does
        name = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        tmp = name
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}; check that its folder "
                          "exists, is writable and has free space") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
