"""Keys: channel values the animator fixed at some frames, as constraints for the sampler.

The KEYS format (``generate --keys KEYS.json``, ``Talker.generate(keys=...)``, the add-on's
"Keep my keys") is a list of dicts, frames at the model's frame rate counted from the start of
the audio::

    [{"frame": 30, "channels": {"jawOpen": 0.0}},
     {"start": 60, "end": 70, "channels": {"mouthSmileLeft": 0.6}, "weight": 1.0}]

``frame`` keys one frame; ``start``/``end`` a held range (both included). ``weight`` in
(0, 1] (default 1): 1 is a hard constraint (the take passes through the value), less pulls the
take that fraction of the way towards it. ``ease`` (frames, optional) is how far on each side
the key draws the motion towards it (default :data:`EASE_SECONDS` at the model's rate; 0 keys
the frames alone). :func:`key_arrays` turns keys into a per-frame,
per-channel weight and target; the generate loop (``runtime.talker``) applies them by
replacement in the x̂-prediction (``diffusion.constraints``: Song et al. 2021 imputation,
RePaint, Lugmayr et al. 2022), with the weight eased to zero over :data:`EASE_FRAMES` frames on
each side of a key (a raised-cosine falloff: the motion is drawn towards the key before it
and leaves it smoothly after). Chosen by measurement on real speech
(``scripts/measure_keys.py``, docs/results.md): with the frames alone replaced, the 8-step
student does not bend the neighbouring frames towards a key (acceleration near keys 5× the
free take's); an ease of 0.25 s brings it to the free take's level.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError

EASE_SECONDS = 0.25  # raised-cosine falloff of a key's weight on each side (8 frames at 30 fps)


@dataclass(frozen=True)
class Key:
    """Channel values held on frames ``start..end`` (both included) with a weight in (0, 1]."""

    start: int
    end: int
    channels: dict[str, float] = field(hash=False)
    weight: float = 1.0
    ease: int | None = None  # frames of falloff on each side; None: the default

    def to_dict(self) -> dict[str, Any]:
        span = ({"frame": self.start} if self.start == self.end
                else {"start": self.start, "end": self.end})
        extra = {} if self.ease is None else {"ease": self.ease}
        return {**span, "channels": dict(self.channels), "weight": self.weight, **extra}


def _frame(value: Any, what: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) \
            or value < 0:
        raise ConfigError(f"{where}: {what} must be a frame number (a whole number >= 0), "
                          f"got {value!r}")
    return int(value)


def _number(value: Any, what: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where}: {what} must be a finite number, got {value!r}")
    return float(value)


def parse_keys(items: Iterable[Any] | None) -> list[Key]:
    """Keys from the KEYS format (dicts) or :class:`Key` objects; ConfigError saying which key
    and what is wrong for anything else."""
    if items is None:
        return []
    if isinstance(items, (str, bytes, dict)):
        raise ConfigError("keys must be a list of {\"frame\"|\"start\",\"end\", \"channels\", "
                          "\"weight\"} entries")
    keys: list[Key] = []
    for number, item in enumerate(items):
        where = f"key {number}"
        if isinstance(item, Key):
            keys.append(item)
            continue
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected an object like {{\"frame\": 30, \"channels\": "
                              f"{{\"jawOpen\": 0.0}}}}, got {item!r}")
        unknown = set(item) - {"frame", "start", "end", "channels", "weight", "ease"}
        if unknown:
            raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; a key has "
                              "frame or start/end, channels, and optionally weight and ease")
        if "frame" in item:
            if "start" in item or "end" in item:
                raise ConfigError(f"{where}: give either frame or start/end, not both")
            start = end = _frame(item["frame"], "frame", where)
        elif "start" in item and "end" in item:
            start, end = _frame(item["start"], "start", where), _frame(item["end"], "end", where)
            if end < start:
                raise ConfigError(f"{where}: end ({end}) is before start ({start})")
        else:
            raise ConfigError(f"{where}: needs \"frame\", or \"start\" and \"end\" (both included)")
        channels = item.get("channels")
        if not isinstance(channels, dict) or not channels:
            raise ConfigError(f"{where}: \"channels\" must map channel names to values, e.g. "
                              "{\"jawOpen\": 0.0}")
        values = {str(k): _number(v, f"the value of {k}", where) for k, v in channels.items()}
        weight = _number(item.get("weight", 1.0), "weight", where)
        if not 0.0 < weight <= 1.0:
            raise ConfigError(f"{where}: weight must be in (0, 1] (1 = hard), got {weight}")
        ease = None if item.get("ease") is None else _frame(item["ease"], "ease", where)
        keys.append(Key(start, end, values, weight, ease))
    return keys


def load_keys(path: str | Path) -> list[Key]:
    """Keys from a KEYS.json file (ConfigError for a missing file or bad JSON)."""
    path = Path(path)
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"keys file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read the keys file {path}: {exc}") from None
    return parse_keys(items)


def ease_weights(ease: int) -> np.ndarray:
    """Falloff ``(ease,)`` for distances 1..ease outside a key: ½(1 + cos(π d / (ease + 1)))."""
    d = np.arange(1, ease + 1, dtype=np.float64)
    return (0.5 * (1.0 + np.cos(np.pi * d / (ease + 1)))).astype(np.float32)


def default_ease(fps: float) -> int:
    """The default falloff in frames at ``fps``: :data:`EASE_SECONDS`, rounded."""
    return int(round(EASE_SECONDS * float(fps)))


def key_arrays(keys: Sequence[Key], num_frames: int, channels: Sequence[str],
               ease: int) -> tuple[np.ndarray, np.ndarray]:
    """``(weight (T, C), target (T, C))`` float32 in channel space. Inside a key the weight is
    the key's; outside, eased over the key's ``ease`` frames (``ease`` where it has none)
    towards 0 with the key's value as target.
    Where keys overlap on a channel the larger weight wins (later keys on ties). ConfigError
    for a channel the model lacks or a key past the end of the audio."""
    index = {name: i for i, name in enumerate(channels)}
    weight = np.zeros((num_frames, len(channels)), np.float32)
    target = np.zeros((num_frames, len(channels)), np.float32)
    for number, key in enumerate(keys):
        reach = ease if key.ease is None else key.ease
        falloff = ease_weights(reach)
        missing = [name for name in key.channels if name not in index]
        if missing:
            raise ConfigError(f"key {number}: this model has no channel {', '.join(missing)} "
                              f"(it has {', '.join(channels)})")
        if key.start >= num_frames:
            raise ConfigError(f"key {number} is at frame {key.start}, but the audio has only "
                              f"{num_frames} frames (0..{num_frames - 1})")
        end = min(key.end, num_frames - 1)
        frames = np.arange(max(0, key.start - reach), min(num_frames, end + reach + 1))
        distance = np.maximum(key.start - frames, frames - end)
        w = np.ones(frames.size, np.float32)
        outside = distance > 0
        w[outside] = falloff[distance[outside] - 1]
        w *= key.weight
        for name, value in key.channels.items():
            c = index[name]
            wins = w >= weight[frames, c]
            weight[frames[wins], c] = w[wins]
            target[frames[wins], c] = value
    return weight, target
