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


def test_demo_end_to_end_with_a_tiny_model(fresh, tmp_path, tiny_checkpoints, capsys):
    import bpy
    from diffusiontalker_blender import demo_scene, model_cache

    model_cache.use_talker(None)
    out = tmp_path / "demo.blend"
    assert main(["demo", "--checkpoint", tiny_checkpoints["channels"], "-o", str(out)]) == 0
    assert out.is_file() and "saved" in capsys.readouterr().out
    bpy.ops.wm.open_mainfile(filepath=str(out))
    scene = bpy.context.scene
    (strip,) = scene.sequence_editor.strips
    assert strip.sound.filepath.endswith("demo_speech.wav")
    ours = [a for a in bpy.data.actions if a.get("diffusiontalker")]
    assert len(ours) == 1
    head = bpy.data.objects["TalkerHead"]
    assert head.data.shape_keys.animation_data.action == ours[0]
    assert scene.frame_end == strip.frame_final_end - 1 and scene.camera is not None
    still = demo_scene.render_still(str(tmp_path / "still.png"), scene.frame_end // 2, size=96)
    assert Path(still).stat().st_size > 1000
