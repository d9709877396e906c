"""The result of generation: per-frame motion with its frame rate, and its `.npz` form.

The `.npz` contract (DESIGN.md): ``fps`` and either ``offsets`` ``(T, V, 3)`` float32 or
``weights`` ``(T, K)`` float32 with ``channels`` ``(K,)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


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
                raise ValueError(f"vertex motion must be (T, V, 3), got {self.data.shape}")
        elif self.space == "channels":
            if self.data.ndim != 2:
                raise ValueError(f"channel motion must be (T, K), got {self.data.shape}")
            if self.channels is None or len(self.channels) != self.data.shape[1]:
                raise ValueError("channel motion needs one name per column")
            self.channels = tuple(self.channels)
        else:
            raise ValueError(f"unknown motion space {self.space!r}")

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
        np.savez(path, **arrays)

    @classmethod
    def load_npz(cls, path: str | Path) -> Motion:
        with np.load(path, allow_pickle=False) as f:
            identity = {}
            if "identity_names" in f:
                identity = dict(zip(f["identity_names"].tolist(), f["identity_weights"].tolist(), strict=True))
            if "offsets" in f:
                return cls(float(f["fps"]), "vertices", f["offsets"], identity=identity)
            return cls(float(f["fps"]), "channels", f["weights"],
                       tuple(f["channels"].tolist()), identity=identity)
