"""Run in a fresh Python: install the built zip into a throw-away Blender user folder and
Generate through the installed extension. Prints one JSON line of findings.

    BLENDER_USER_RESOURCES=TMP python installed_extension_script.py ZIP WORK_DIR CHECKPOINT
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

# Only the zip's bundled wheel may provide the core: drop source checkouts from sys.path.
sys.path[:] = [p for p in sys.path if not (Path(p) / "diffusiontalker" / "__init__.py").is_file()]
HERE = Path(__file__).resolve().parent

import bpy  # noqa: E402

zip_path, work, checkpoint = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
out: dict = {}
res = bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default",
                                               enable_on_install=True)
out["install"] = sorted(res)
out["torch_loaded_at_register"] = "torch" in sys.modules
pkg = sys.modules["bl_ext.user_default.diffusiontalker"]
import diffusiontalker  # noqa: E402

out["core_from"] = diffusiontalker.__file__
out["operators"] = sorted(n for n in dir(bpy.ops.diffusiontalker) if not n.startswith("_"))
sys.path.insert(0, str(HERE))
from fakes import SpeechTalker  # noqa: E402
from scene_utils import write_speech_wav  # noqa: E402

sys.modules["diffusiontalker_blender"] = pkg  # scene_utils imports compat under this name
from scene_utils import add_strip  # noqa: E402

model_cache = sys.modules["bl_ext.user_default.diffusiontalker.model_cache"]
out["prefs_registered"] = "bl_ext.user_default.diffusiontalker" in bpy.context.preferences.addons
results = {}
for fps, base in ((24, 1.0), (30, 1.0), (30, 1.001)):
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = fps, base
    model_cache.use_talker(SpeechTalker())
    demo = bpy.ops.diffusiontalker.add_demo_head()
    head = bpy.context.active_object
    user_key = head.shape_key_add(name="UserBrow", from_mix=False)
    user_key.value = 0.5
    user_key.keyframe_insert("value", frame=1)
    strip = add_strip(write_speech_wav(work / "speech.wav"), frame=10, trim=5)
    ok = bpy.ops.diffusiontalker.generate(blocking=True)
    ok = bpy.ops.diffusiontalker.generate(blocking=True, seed=1)  # regenerate: one set stays
    ours = [a for a in bpy.data.actions if a.get("diffusiontalker")]
    fc = [fc for a in ours
          for bag in a.layers[0].strips[0].channelbags for fc in bag.fcurves
          if fc.data_path == 'key_blocks["jawOpen"].value'][0]
    frames = [k.co[0] for k in fc.keyframe_points]
    values = [k.co[1] for k in fc.keyframe_points]
    rate = fps / base
    seconds = [(f - 10) / rate for f in frames]  # time into the file (content starts at 10)
    speech = [v for t, v in zip(seconds, values, strict=True) if 0.7 < t < 1.5]
    silence = [v for t, v in zip(seconds, values, strict=True) if t < 0.5 or t > 1.7]
    results[f"{fps}/{base}"] = {
        "result": sorted(ok), "demo_head": demo == {"FINISHED"}, "first": frames[0],
        "speech_mean": sum(speech) / len(speech), "silence_max": max(abs(v) for v in silence),
        "our_actions": len(ours), "head_vertices": len(head.data.vertices),
        "user_action_kept": head.data.shape_keys.animation_data.action.name,
        "count": len(frames), "audible": strip.frame_final_end - strip.frame_final_start,
        "scene_fps": [scene.render.fps, round(scene.render.fps_base, 6)],
        "cache_dir": sys.modules["bl_ext.user_default.diffusiontalker.prefs"].cache_folder(),
    }
out["runs"] = results
# The real core (from the bundled wheel) with a tiny random checkpoint: torch is imported
# only now, by the first Generate.
model_cache.use_talker(None)
out["torch_loaded_before_generate"] = "torch" in sys.modules
real = bpy.ops.diffusiontalker.generate(blocking=True, checkpoint=checkpoint, output_mode="BASIS")
# The torch Talker's module (runtime.torch_talker; diffusiontalker.api before the core's split).
talker_module = next(sys.modules[m] for m in ("diffusiontalker.runtime.torch_talker",
                                              "diffusiontalker.api") if m in sys.modules)
out["real_model"] = {"result": sorted(real), "api_from": talker_module.__file__,
                     "basis_keys": sum(b.name.startswith("DT basis") for b in
                                       bpy.context.active_object.data.shape_keys.key_blocks)}
print("RESULT " + json.dumps(out))
sys.stdout.flush()
os._exit(0)
