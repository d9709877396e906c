"""Synthetic Live Link Face takes from a channel corpus (``diffusiontalker synth``), so the whole
capture path (CSV, audio, import, folder dataset, training) runs offline on data we may ship.

Each clip becomes ``<clip>.csv``, exactly as the app writes it (:mod:`.live_link`: PascalCase
header, 61 values a row, rows at 59.94 fps stamped with 60 fps timecodes and sub-frames from a
seeded time of day), and ``<clip>.wav`` (its 16 kHz speech) beside it. The corpus's channel
motion (each identity's own style) is resampled from the corpus rate; ARKit channels the corpus
does not have are written as 0, the app's value at rest, and ``takes.json``
(:mod:`.sidecar`) lists for each take the blendshapes really "captured", its speaker, split
and text, plus the corpus's identity styles. A full-face corpus (``FULL_FACE_CHANNELS``) carries
head rotation: ``headYaw/headPitch/headRoll`` go to the HeadYaw/HeadPitch/HeadRoll columns,
and its gaze (eyeLook* weights) gives the eye rotations (:func:`eye_rotation`). A corpus
without them gets a small seeded signal instead: slow head sway (an amplitude per identity)
and eye fixations joined by quick saccades.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .. import __version__
from ..bake.timing import resample_motion
from ..channels import ARKIT_CHANNELS, GAZE_CHANNELS, HEAD_ROTATION_CHANNELS
from ..errors import CaptureError
from ..motion import write_atomically
from .live_link import LIVE_LINK_FPS, write_live_link_csv
from .sidecar import SIDECAR_FORMAT, SIDECAR_NAME, SIDECAR_VERSION
from .timecode import DEFAULT_TIMECODE_RATE

GENERATOR_NAME = "diffusiontalker capture synth"
HEAD_AMPLITUDE = (0.03, 0.02, 0.01)  # radians of yaw, pitch, roll at an identity's gain of 1
GAZE_RANGE = (0.15, 0.08)  # radians of eye yaw and pitch
SACCADE_S = 0.04
EYE_RADIANS_PER_WEIGHT = 0.5  # an eyeLook weight of 1 ~ 30 degrees of eye rotation


def head_sway(frames: int, fps: float, rng: np.random.Generator, gain: float = 1.0
              ) -> np.ndarray:
    """``(frames, 3)`` head yaw, pitch, roll in radians: three slow sinusoids an axis
    (0.1-0.6 Hz, random phases), scaled to :data:`HEAD_AMPLITUDE` times ``gain``."""
    t = np.arange(frames) / fps
    out = np.zeros((frames, 3), np.float64)
    for axis, amplitude in enumerate(HEAD_AMPLITUDE):
        freq = rng.uniform(0.1, 0.6, 3)
        phase = rng.uniform(0.0, 2 * np.pi, 3)
        weight = rng.uniform(0.5, 1.0, 3)
        wave = (weight[:, None] * np.sin(2 * np.pi * freq[:, None] * t + phase[:, None])).sum(0)
        out[:, axis] = amplitude * gain * wave / weight.sum()
    return out.astype(np.float32)


def eye_gaze(frames: int, fps: float, rng: np.random.Generator) -> np.ndarray:
    """``(frames, 6)`` left then right eye yaw, pitch, roll: both eyes fixate a point for
    0.3-1.5 s, then move to the next in a :data:`SACCADE_S` saccade; roll stays 0."""
    t = np.arange(frames) / fps
    times, targets, now = [0.0], [np.zeros(2)], 0.0
    while now < t[-1]:
        now += rng.uniform(0.3, 1.5)
        times += [now, now + SACCADE_S]
        target = rng.uniform(-1.0, 1.0, 2) * GAZE_RANGE
        targets += [targets[-1], target]
    gaze = np.stack([np.interp(t, times, [g[k] for g in targets]) for k in range(2)], axis=1)
    out = np.zeros((frames, 6), np.float32)
    out[:, [0, 1]] = gaze
    out[:, [3, 4]] = gaze
    return out


def eye_rotation(weights: np.ndarray, channels: tuple[str, ...]) -> np.ndarray:
    """``(frames, 6)`` left then right eye yaw, pitch, roll in radians from the eyeLook*
    weights among ``channels``: yaw positive toward the subject's left (eyeLookOutLeft,
    eyeLookInRight), pitch positive up (eyeLookUp*), roll 0; :data:`EYE_RADIANS_PER_WEIGHT`
    radians per unit weight."""
    col = {name: weights[:, channels.index(name)] for name in GAZE_CHANNELS}
    out = np.zeros((weights.shape[0], 6), np.float32)
    k = EYE_RADIANS_PER_WEIGHT
    out[:, 0] = k * (col["eyeLookOutLeft"] - col["eyeLookInLeft"])
    out[:, 1] = k * (col["eyeLookUpLeft"] - col["eyeLookDownLeft"])
    out[:, 3] = k * (col["eyeLookInRight"] - col["eyeLookOutRight"])
    out[:, 4] = k * (col["eyeLookUpRight"] - col["eyeLookDownRight"])
    return out


def _identities(corpus) -> list[dict]:
    """The identity styles in the corpus's ``dataset.json`` (the synthetic corpus has them)."""
    root = getattr(corpus, "root", None)
    path = Path(root) / "dataset.json" if root else None
    if path is None or not path.is_file():
        return []
    try:
        return list(json.loads(path.read_text(encoding="utf-8")).get("identities") or [])
    except (OSError, ValueError):
        return []


def write_synthetic_takes(corpus, out_dir: str | os.PathLike, seed: int = 0) -> dict:
    """Write every clip of a ``channels`` corpus (a ``datasets.MotionCorpus``, e.g.
    ``datasets.load_dataset(synth_output)``) as a Live Link Face take into the new or empty
    folder ``out_dir``; returns the ``takes.json`` written. Same corpus and seed, same bytes."""
    import soundfile

    from ..audio.loading import SAMPLE_RATE

    if corpus.space != "channels":
        raise CaptureError(f"Live Link Face takes hold ARKit channels; this corpus holds "
                           f"{corpus.space}")
    channels = tuple(corpus.channels)
    foreign = [n for n in channels if n not in ARKIT_CHANNELS + HEAD_ROTATION_CHANNELS]
    if foreign:
        raise CaptureError(f"the corpus has channels that are not ARKit blendshapes: {foreign}")
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise CaptureError(f"output folder {out} is not empty; choose a new folder")
    out.mkdir(parents=True, exist_ok=True)
    shapes = tuple(n for n in channels if n in ARKIT_CHANNELS)
    shape_cols = [channels.index(n) for n in shapes]
    head_cols = ([channels.index(n) for n in HEAD_ROTATION_CHANNELS]
                 if all(n in channels for n in HEAD_ROTATION_CHANNELS) else None)
    has_gaze = all(n in channels for n in GAZE_CHANNELS)
    takes = []
    for number, clip in enumerate(corpus.clips):
        speaker_rng = np.random.default_rng([seed, corpus.speakers.index(clip.speaker)])
        rng = np.random.default_rng([seed, number, 1])
        motion = clip.motion
        duration = motion.shape[0] / clip.fps
        rows = max(1, int(round(duration * LIVE_LINK_FPS)))
        weights = resample_motion(motion, clip.fps, np.arange(rows) / LIVE_LINK_FPS)
        start = float(rng.uniform(9 * 3600, 17 * 3600))  # a time of day, with a sub-frame
        sway = head_sway(rows, LIVE_LINK_FPS, rng, float(speaker_rng.uniform(0.6, 1.6)))
        gaze = eye_gaze(rows, LIVE_LINK_FPS, rng)
        write_live_link_csv(out / f"{clip.id}.csv", weights[:, shape_cols], shapes,
                            head=weights[:, head_cols] if head_cols is not None else sway,
                            eyes=eye_rotation(weights, channels) if has_gaze else gaze,
                            start_seconds=start)
        wave = clip.load_audio()
        write_atomically(out / f"{clip.id}.wav", lambda f, w=wave: soundfile.write(
            f, w, SAMPLE_RATE, subtype="PCM_16", format="WAV"))
        takes.append({"csv": f"{clip.id}.csv", "audio": f"{clip.id}.wav",
                      "speaker": clip.speaker, "split": clip.split, "text": clip.text,
                      "captured": list(shapes)})
    manifest = {"format": SIDECAR_FORMAT, "version": SIDECAR_VERSION, "fps": LIVE_LINK_FPS,
                "timecode_rate": DEFAULT_TIMECODE_RATE,
                "generator": {"name": GENERATOR_NAME, "version": __version__, "seed": int(seed),
                              "source": str(corpus.root) if getattr(corpus, "root", None)
                              else None},
                "speakers": list(corpus.speakers), "identities": _identities(corpus),
                "takes": takes}
    text = json.dumps(manifest, indent=1) + "\n"
    write_atomically(out / SIDECAR_NAME, lambda f: f.write(text.encode("utf-8")))
    return manifest
