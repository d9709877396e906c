"""A sound strip's audio is read by the core (soundfile), by Python's ``wave`` module, or by
Blender's ``aud``, in that order: the samples match what ``aud`` alone read, and Generate works
in a Blender without audio (``aud`` unavailable, as in the PyPI bpy 4.2 wheel)."""

from __future__ import annotations

import sys

import bpy
import numpy as np
import pytest
import soundfile as sf
from scene_utils import add_strip, make_channel_head, ours_fcurve, write_speech_wav

from diffusiontalker.errors import AudioError


def _aud_samples(path: str) -> np.ndarray:
    """What the add-on read before it preferred the core: ``aud`` only."""
    import aud

    data = aud.Sound(path).resample(16000, False).rechannel(1).data()
    return np.asarray(data, np.float32).reshape(-1)


def _hide(monkeypatch, *modules: str) -> None:
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)  # `import name` now raises ImportError


def _stereo_wav(path, subtype: str) -> str:
    t = np.arange(16000) / 16000
    left = 0.5 * np.sin(2 * np.pi * 220 * t)
    right = 0.25 * np.sin(2 * np.pi * 330 * t + 0.3)
    sf.write(str(path), np.stack([left, right], 1), 16000, subtype=subtype)
    return str(path)


def test_wav_strip_reads_the_cores_samples_and_aud_differs_only_in_scale(fresh, tmp_path):
    """The add-on now reads exactly what the core (the command line, training) reads. ``aud``
    (ffmpeg) scaled 16-bit PCM by 1/32767 where soundfile scales by 1/32768: apart from that
    gain of 1.00003 the samples are the same as before."""
    from diffusiontalker_blender.audio import strip_audio

    from diffusiontalker.audio.loading import load_audio

    path = write_speech_wav(tmp_path / "s.wav")
    before = _aud_samples(path)
    now = strip_audio(add_strip(path))
    assert now.dtype == np.float32 and now.shape == before.shape == (38400,)
    np.testing.assert_array_equal(now, load_audio(path))
    np.testing.assert_allclose(now * (32768 / 32767), before, rtol=0, atol=1e-6)
    assert np.abs(before - now).max() > 1e-6  # the gain is real: the check above is needed
    assert np.abs(before).max() > 0.3  # a real signal, not two empty arrays


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "PCM_32", "PCM_U8"])
def test_the_standard_library_reads_pcm_wav_like_soundfile(fresh, tmp_path, monkeypatch, subtype):
    from diffusiontalker_blender.audio import decode_file

    path = _stereo_wav(tmp_path / f"{subtype}.wav", subtype)
    core = decode_file(path)  # soundfile, channels averaged
    _hide(monkeypatch, "soundfile", "librosa", "aud")
    stdlib = decode_file(path)
    assert stdlib.shape == core.shape == (16000,)
    np.testing.assert_allclose(stdlib, core, rtol=0, atol=1e-6)
    assert np.abs(core).max() > 0.3


def test_aud_reads_what_neither_the_core_nor_wave_can(fresh, tmp_path, monkeypatch):
    from diffusiontalker_blender.audio import decode_file

    path = tmp_path / "float.wav"  # IEEE float WAV: the `wave` module refuses it
    sf.write(str(path), 0.5 * np.sin(np.arange(8000) / 8.0), 16000, subtype="FLOAT")
    _hide(monkeypatch, "soundfile", "librosa")
    np.testing.assert_allclose(decode_file(str(path)), _aud_samples(str(path)), atol=1e-6)
    _hide(monkeypatch, "aud")
    with pytest.raises(AudioError, match="could not decode .*aud. is not available"):
        decode_file(str(path))


def test_packed_sound_is_read_from_its_packed_data(fresh, tmp_path, monkeypatch):
    from diffusiontalker_blender.audio import decode_file, strip_audio

    path = tmp_path / "packed.wav"
    strip = add_strip(write_speech_wav(path))
    before = decode_file(str(path))
    strip.sound.pack()
    path.unlink()
    _hide(monkeypatch, "aud")
    np.testing.assert_allclose(strip_audio(strip), before, rtol=0, atol=1e-6)


def test_generate_works_without_blenders_audio_module(fresh, tmp_path, monkeypatch):
    _hide(monkeypatch, "aud")
    with pytest.raises(ImportError):
        import aud  # noqa: F401
    head = make_channel_head()
    add_strip(write_speech_wav(tmp_path / "s.wav"), frame=10, trim=5)
    assert bpy.ops.diffusiontalker.generate(blocking=True) == {"FINISHED"}
    keys = ours_fcurve(head, "jawOpen").keyframe_points
    assert len(keys) > 30 and keys[0].co[0] == 15
    assert max(k.co[1] for k in keys) > 0.3  # the speech was heard
