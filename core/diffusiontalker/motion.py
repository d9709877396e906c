"""The result of generation: per-frame motion with its frame rate, and its `.npz` form.

The `.npz` contract (docs/model.md § CLI): ``fps`` and either ``offsets`` ``(T, V, 3)`` float32 or
``weights`` ``(T, K)`` float32 with ``channels`` ``(K,)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import MotionError, OutputError


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

    def __post_init__(self) -> None:
        self.data = np.asarray(self.data, dtype=np.float32)
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

    def save_npz(self, path: str | Path) -> None:
        """Write the `.npz` of the public contract."""
        arrays: dict[str, np.ndarray] = {"fps": np.float32(self.fps)}
        if self.space == "vertices":
            arrays["offsets"] = self.data
        else:
            arrays["weights"] = self.data
            arrays["channels"] = np.array(self.channels)
        if self.identity:
            arrays["identity_names"] = np.array(list(self.identity))
            arrays["identity_weights"] = np.array(list(self.identity.values()), np.float32)
        try:
            np.savez(path, **arrays)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}; check that its "
                              "folder exists and is writable") from None

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
