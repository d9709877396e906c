"""Run in a fresh Python with one Blender release's bpy module (tests/runtime/test_version_matrix.py).

    python version_matrix_script.py scene BLEND WAV
        save a scene (30 fps) whose sound strip plays WAV from frame 10, 5 frames trimmed:
        for Blender builds without audio (the PyPI bpy 4.2), which cannot add sound strips;
    BLENDER_USER_RESOURCES=TMP python version_matrix_script.py generate ZIP WORK CHECKPOINT [BLEND]
        install the extension ZIP as Blender does, open BLEND (or make the same scene), add the
        demo head and Generate (blocking) with CHECKPOINT's ONNX export ("" = the zip's model).

Prints one line: ``RESULT {json}``.
"""

from __future__ import annotations

import json
import os
import sys
import wave
from pathlib import Path

import numpy as np

# Only the zip's bundled wheel may provide the core: drop source checkouts from sys.path.
sys.path[:] = [p for p in sys.path if not (Path(p) / "diffusiontalker" / "__init__.py").is_file()]

import bpy  # noqa: E402

PKG = "bl_ext.user_default.diffusiontalker"
CONTENT_START, TRIM = 10, 5


def write_wav(path: Path) -> None:
    """1.5 s of a syllable-modulated 180 Hz tone, 16-bit PCM at 16 kHz."""
    t = np.arange(int(1.5 * 16000)) / 16000
    speech = 0.4 * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2) * np.sin(2 * np.pi * 180 * t)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(16000)
        f.writeframes((speech * 32767).astype("<i2").tobytes())


def new_scene(wav: Path):
    """An empty 30 fps scene with one trimmed sound strip; returns the strip."""
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 30, 1.0
    scene.sequence_editor_create()
    ed = scene.sequence_editor
    strips = ed.strips if hasattr(ed, "strips") else ed.sequences
    strip = strips.new_sound("speech", str(wav), 1, CONTENT_START)
    if hasattr(strip, "left_handle_offset"):  # Blender 5.1+
        strip.left_handle_offset = TRIM
    else:
        strip.frame_offset_start = TRIM
    return strip


def save_scene(blend: Path, wav: Path) -> dict:
    write_wav(wav)
    new_scene(wav)
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), relative_remap=False)
    return {"saved": str(blend)}


def generate(zip_path: str, work: Path, checkpoint: str, blend: str) -> dict:
    out: dict = {"python": sys.version.split()[0], "bpy": bpy.app.version_string,
                 "numpy": np.__version__}
    try:
        import aud  # noqa: F401
        out["aud"] = True
    except ImportError:
        out["aud"] = False
    res = bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default",
                                                   enable_on_install=True)
    out["install"] = sorted(res)
    compat = sys.modules[f"{PKG}.compat"]
    if blend:
        bpy.ops.wm.open_mainfile(filepath=blend)
        strip = compat.find_strip(bpy.context.scene, "speech")
    else:
        work.mkdir(parents=True, exist_ok=True)
        write_wav(work / "speech.wav")
        strip = new_scene(work / "speech.wav")
    scene = bpy.context.scene
    out["demo_head"] = sorted(bpy.ops.diffusiontalker.add_demo_head())
    head = bpy.context.active_object
    scene.diffusiontalker.strip = strip.name
    out["left_handle"] = compat.strip_timing(strip).left_handle
    out["generate"] = sorted(bpy.ops.diffusiontalker.generate(
        blocking=True, checkpoint=checkpoint, output_mode="BASIS"))
    key = head.data.shape_keys
    anim = key.animation_data
    curves = compat.action_fcurves(anim.action, getattr(anim, "action_slot", None)) \
        if anim is not None and anim.action is not None else []
    frames = [k.co[0] for fc in curves for k in fc.keyframe_points]
    import diffusiontalker

    out.update({
        "core_from": diffusiontalker.__file__,
        "torch_loaded": sys.modules.get("torch") is not None,
        "basis_keys": sum(b.name.startswith("DT basis") for b in key.key_blocks),
        "curves": len(curves),
        "first_frame": min(frames, default=None),
        "last_frame": max(frames, default=None),
    })
    return out


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "scene":
        result = save_scene(Path(args[0]), Path(args[1]))
    else:
        result = generate(args[0], Path(args[1]), args[2], args[3] if len(args) > 3 else "")
    print("RESULT " + json.dumps(result))
    sys.stdout.flush()
    os._exit(0)
