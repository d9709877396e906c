"""The ``diffusiontalker demo`` command: clear failures before any model exists."""

from __future__ import annotations

from pathlib import Path

from diffusiontalker.cli import main
from diffusiontalker.commands import demo


def test_demo_names_the_missing_checkpoint(tmp_path, capsys):
    missing = tmp_path / "nope.safetensors"
    assert main(["demo", "--checkpoint", str(missing), "-o", str(tmp_path / "d.blend")]) == 1
    err = capsys.readouterr().err
    assert "the checkpoint was not found at" in err and str(missing) in err
    assert not (tmp_path / "d.blend").exists()


def test_demo_audio_is_bundled_and_short():
    import soundfile as sf

    info = sf.info(str(demo.DEMO_AUDIO))
    assert info.samplerate == 16000 and info.channels == 1 and 2.0 < info.duration < 8.0
    assert Path(demo.DEMO_AUDIO).stat().st_size < 300_000
