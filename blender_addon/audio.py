"""Read a sound strip's audio inside Blender as 16 kHz mono float32.

The strip's sound file (``//relative`` paths resolved; a packed sound is written to a
temporary file first) is read by the first of these that can decode it:

1. the core's :func:`~diffusiontalker.audio.loading.load_audio` (soundfile, then librosa,
   where they are installed);
2. PCM WAV through Python's own ``wave`` module, which every Blender has, even a build
   without audio such as the PyPI ``bpy`` 4.2 wheel;
3. Blender's audio module ``aud`` (anything its ffmpeg reads), resampled by ``aud`` as before.

Whichever decodes the file, the core checks the samples (empty, NaN) and resamples them, so
every reader gives the same clear :class:`AudioError`. Only the whole file is returned: the
strip's offsets and trims are applied later (``compat.strip_timing``, ``bake/timing.py``).
"""

from __future__ import annotations

import os
import tempfile

import bpy
import numpy as np

from diffusiontalker.audio.loading import load_audio
from diffusiontalker.errors import AudioError

SAMPLE_RATE = 16000


class _Unreadable(Exception):
    """A reader cannot decode the file (the next reader is tried)."""


def strip_path(strip) -> str:
    """The absolute path of the strip's sound file (``//relative`` paths resolved)."""
    sound = getattr(strip, "sound", None)
    if sound is None or not sound.filepath:
        raise AudioError(f"the strip '{strip.name}' has no sound file")
    lib = sound.library
    return os.path.normpath(bpy.path.abspath(sound.filepath, library=lib))


def strip_audio(strip) -> np.ndarray:
    """The whole sound of ``strip`` (timing is applied later, see ``timing.py``); a packed
    sound is read from its packed data, as Blender plays it."""
    sound = getattr(strip, "sound", None)
    packed = getattr(sound, "packed_file", None) if sound is not None else None
    if packed is None:
        return decode_file(strip_path(strip))
    suffix = os.path.splitext(sound.filepath)[1] if sound.filepath else ""
    with tempfile.TemporaryDirectory(prefix="diffusiontalker-") as folder:
        path = os.path.join(folder, f"packed{suffix}")
        with open(path, "wb") as f:
            f.write(bytes(packed.data))
        return decode_file(path)


def decode_file(path: str) -> np.ndarray:
    """Decode ``path`` into float32 mono samples at 16 kHz (see the module docstring)."""
    if not os.path.isfile(path):
        raise AudioError(f"the sound file was not found: {path}")
    try:
        return load_audio(path)
    except AudioError as exc:
        core_error = exc
    failures = [str(core_error)]
    for reader in (_read_pcm_wav, _read_with_aud):
        try:
            samples, rate = reader(path)
        except _Unreadable as exc:
            failures.append(str(exc))
            continue
        return load_audio(samples, rate)  # decoded: the core's checks are final
    raise AudioError(f"could not decode the sound file {path}: " + "; ".join(failures))


def _read_pcm_wav(path: str) -> tuple[np.ndarray, int]:
    """Integer PCM WAV (8/16/24/32 bit) with the standard library, channels averaged."""
    import wave

    try:
        with wave.open(path, "rb") as f:
            width, channels, rate = f.getsampwidth(), f.getnchannels(), f.getframerate()
            raw = f.readframes(f.getnframes())
    except (wave.Error, EOFError, OSError) as exc:
        raise _Unreadable(f"wave: {exc}") from exc
    if width == 1:  # unsigned 8 bit
        samples = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 3:  # little-endian 24 bit: sign-extend through the top byte of an int32
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        ints = (b[:, 0] << 8 | b[:, 1] << 16 | b[:, 2] << 24) >> 8
        samples = ints.astype(np.float32) / float(1 << 23)
    elif width in (2, 4):
        kind = "<i2" if width == 2 else "<i4"
        samples = np.frombuffer(raw, kind).astype(np.float32) / float(1 << (8 * width - 1))
    else:
        raise _Unreadable(f"wave: {8 * width}-bit samples are not supported")
    usable = samples.size - samples.size % channels
    return samples[:usable].reshape(-1, channels).mean(axis=1), rate


def _read_with_aud(path: str) -> tuple[np.ndarray, int]:
    """Anything Blender's ffmpeg reads, resampled to 16 kHz mono by ``aud``."""
    try:
        import aud
    except ImportError as exc:
        raise _Unreadable("Blender's audio module (aud) is not available") from exc
    try:
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
        raise _Unreadable(f"Blender (aud): {exc}") from exc
    return np.asarray(data, dtype=np.float32).reshape(-1), SAMPLE_RATE
