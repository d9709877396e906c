"""The ``diffusiontalker demo`` / ``render-docs`` commands: clear failures before any model
exists, the end-to-end demo, and the core launching the add-on's command line
(``python -m blender_addon.cli``) in a subprocess instead of importing the add-on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from diffusiontalker import cli
from diffusiontalker.cli import main
from diffusiontalker.commands import demo

ROOT = Path(__file__).resolve().parents[2]
USER_ERROR = getattr(cli, "USER_ERROR", 1)


def test_demo_names_the_missing_checkpoint(tmp_path, capsys):
    missing = tmp_path / "nope.safetensors"
    assert main(["demo", "--checkpoint", str(missing), "-o", str(tmp_path / "d.blend")]) == USER_ERROR
    err = capsys.readouterr().err
    assert "the checkpoint was not found at" in err and str(missing) in err
    assert not (tmp_path / "d.blend").exists()


def test_demo_names_the_missing_audio(tmp_path, tiny_checkpoints, capsys):
    missing = tmp_path / "nope.wav"
    assert main(["demo", "--checkpoint", tiny_checkpoints["channels"], "--audio", str(missing),
                 "-o", str(tmp_path / "d.blend")]) == USER_ERROR
    assert f"the audio file was not found: {missing}" in capsys.readouterr().err


def test_demo_audio_is_bundled_and_short():
    import soundfile as sf

    info = sf.info(str(demo.DEMO_AUDIO))
    assert info.samplerate == 16000 and info.channels == 1 and 2.0 < info.duration < 8.0
    assert Path(demo.DEMO_AUDIO).stat().st_size < 300_000


def test_demo_end_to_end_with_a_tiny_model(fresh, tmp_path, tiny_checkpoints, capfd):
    import bpy
    from diffusiontalker_blender import demo_scene, model_cache

    model_cache.use_talker(None)
    out = tmp_path / "demo.blend"
    assert main(["demo", "--checkpoint", tiny_checkpoints["channels"], "-o", str(out)]) == 0
    printed = capfd.readouterr().out  # the add-on's command line prints in a subprocess
    assert out.is_file() and f"saved {out}" in printed
    assert not [p.name for p in tmp_path.iterdir() if ".partial" in p.name]  # renamed, no backup
    assert "4 steps" in printed  # no --steps: the tiny checkpoint's own default_steps (4)
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


def test_a_failed_generate_leaves_no_blend(tmp_path, capfd):
    """The demo saves its .blend only after Generate succeeded (it works on a temporary name
    beside the output, removed on failure)."""
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint at all")
    out = tmp_path / "demo.blend"
    assert main(["demo", "--checkpoint", str(bad), "-o", str(out)]) == USER_ERROR
    captured = capfd.readouterr()
    assert "error:" in captured.err and "saved" not in captured.out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.safetensors"]


def test_launchers_run_the_addon_cli_with_the_same_python(tmp_path, tiny_checkpoints,
                                                          monkeypatch):
    """demo and render-docs forward their (checked, absolute) arguments to
    ``python -m blender_addon.cli`` and return its exit status."""
    calls = []

    def fake_run(cmd, env):
        calls.append((cmd, env))
        return subprocess.CompletedProcess(cmd, 7)

    monkeypatch.setattr(demo.subprocess, "run", fake_run)
    out = tmp_path / "x.blend"
    assert main(["demo", "--checkpoint", tiny_checkpoints["channels"], "-o", str(out),
                 "--steps", "3", "--render", "--identity", "bo"]) == 7
    assert main(["render-docs", "-o", str(tmp_path / "img"), "--size", "64"]) == 7
    (cmd, env), (cmd2, _env2) = calls
    assert cmd[:4] == [sys.executable, "-m", "blender_addon.cli", "demo"]
    args = cmd[4:]
    assert args[args.index("--checkpoint") + 1] == str(Path(tiny_checkpoints["channels"]).resolve())
    assert args[args.index("--audio") + 1] == str(demo.DEMO_AUDIO.resolve())
    assert args[args.index("-o") + 1] == str(out)
    assert args[args.index("--steps") + 1] == "3" and "--render" in args
    assert args[args.index("--identity") + 1] == "bo"
    paths = env["PYTHONPATH"].split(os.pathsep)
    assert paths[:2] == [str(ROOT / "core"), str(ROOT)]
    assert cmd2[3:] == ["render-docs", "-o", str(tmp_path / "img"), "--size", "64"]


def test_addon_cli_help_lists_both_commands():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "core"), str(ROOT)])}
    proc = subprocess.run([sys.executable, "-m", "blender_addon.cli", "--help"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "demo" in proc.stdout and "render-docs" in proc.stdout


def test_render_docs_through_the_addon_cli(tmp_path, capfd, monkeypatch):
    """Every docs picture, through the command line; Cycles at 48 px keeps it quick (the docs
    use EEVEE, the same materials and lights)."""
    monkeypatch.setenv("DIFFUSIONTALKER_RENDER_ENGINE", "CYCLES")
    out = tmp_path / "img"
    assert main(["render-docs", "-o", str(out), "--size", "48"]) == 0
    names = ["head_front.png", "head_three_quarter.png", "jaw_open_side.png", "channels.png",
             "demo_head_mid_speech.png", "motion_strip.png", "direct_the_take.png"]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)  # no FLAME picture
    assert str(out / "channels.png") in capfd.readouterr().out


def test_docs_pictures_are_small_and_flame_stays_out(repo_root):
    """render_docs' checked-in pictures stay small for the README, and none shows the FLAME
    fixture (its terms allow no derived data in the project)."""
    images = repo_root / "docs" / "images"
    for name in ("head_front.png", "head_three_quarter.png", "jaw_open_side.png",
                 "demo_head_mid_speech.png", "motion_strip.png"):
        assert (images / name).stat().st_size < 320_000, name
    assert (images / "channels.png").stat().st_size < 340_000  # 52 heads (v1's sheet had 27)
    assert not [p.name for p in images.iterdir() if "flame" in p.name.lower()]


def test_flame_sheet_only_when_a_flame_head_is_given(fresh, tmp_path, flame_fixture):
    """The FLAME channel sheet and jaw levels render from a FLAME file passed in (a local
    check; render_docs never looks for the fixture itself)."""
    from diffusiontalker_blender import render_sheets

    path = render_sheets.flame_sheet(tmp_path / "channels_flame.png", "WORKBENCH",
                                     flame_fixture, 48)
    assert path.is_file() and (tmp_path / "channels_flame_jaw.png").is_file()


def test_render_engine_is_checked(addon, monkeypatch):
    from diffusiontalker_blender.render_scene import ENGINE_VARIABLE, docs_engine

    monkeypatch.setenv(ENGINE_VARIABLE, "cycles")
    assert docs_engine() == "CYCLES"
    monkeypatch.delenv(ENGINE_VARIABLE)
    assert docs_engine() == "EEVEE"
    monkeypatch.setenv(ENGINE_VARIABLE, "povray")
    with pytest.raises(ValueError, match="EEVEE, CYCLES, WORKBENCH"):
        docs_engine()
