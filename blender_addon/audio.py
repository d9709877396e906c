"""Read a sound strip's audio inside Blender (``aud``, no extra wheels) as 16 kHz mono."""

from __future__ import annotations

import os

import bpy
import numpy as np

from diffusiontalker.errors import AudioError

SAMPLE_RATE = 16000


def strip_path(strip) -> str:
    """The absolute path of the strip's sound file (``//relative`` paths resolved)."""
    sound = getattr(strip, "sound", None)
    if sound is None or not sound.filepath:
        raise AudioError(f"the strip '{strip.name}' has no sound file")
    lib = sound.library
    return os.path.normpath(bpy.path.abspath(sound.filepath, library=lib))


def decode_file(path: str) -> np.ndarray:
    """Decode any file Blender's ffmpeg reads into float32 mono samples at 16 kHz."""
    if not os.path.isfile(path):
        raise AudioError(f"the sound file was not found: {path}")
    try:
        import aud

        sound = aud.Sound(path)
        # Probe first: ``specs`` raises aud.error for an unreadable file, whereas ``data()``
        # on such a file throws a C++ exception that aborts the whole of Blender.
        _rate, channels = sound.specs
        if channels < 1:
            raise AudioError(f"the sound file {path} has no audio channels")
        data = sound.resample(SAMPLE_RATE, False).rechannel(1).data()
    except AudioError:
        raise
    except Exception as exc:  # aud raises plain errors for undecodable files
        raise AudioError(f"Blender could not decode the sound file {path}: {exc}") from exc
    wave = np.asarray(data, dtype=np.float32).reshape(-1)
    if wave.size == 0:
        raise AudioError(f"the sound file {path} contains no audio")
    return wave


def strip_audio(strip) -> np.ndarray:
    """The whole sound file of ``strip`` (timing is applied later, see ``timing.py``)."""
    return decode_file(strip_path(strip))
