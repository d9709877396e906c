"""Run in a fresh Python with the bpy module: install a *light* extension zip into a
throw-away Blender user folder and Generate with a model's ONNX export, torch unavailable.

    BLENDER_USER_RESOURCES=TMP python light_install_script.py ZIP WORK_DIR CHECKPOINT

CHECKPOINT "" means the model the zip ships (``weights/default.onnx``).

`torch` cannot be imported (an import hook refuses it), and onnxruntime and its requirements
may only come from the wheels the zip bundles. Prints one line: ``RESULT {json}``.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import os
import sys
import wave
from pathlib import Path

import numpy as np

zip_path, work, checkpoint = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
USER = Path(os.environ["BLENDER_USER_RESOURCES"])
BUNDLED = USER / "extensions" / ".local" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
ONLY_BUNDLED = {"onnxruntime", "flatbuffers", "google", "packaging"}


class LightInstall(importlib.abc.MetaPathFinder):
    """torch is absent; onnxruntime and its requirements resolve only in the bundled wheels."""

    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top == "torch":
            raise ModuleNotFoundError(f"No module named {name!r} (blocked: light install)", name=name)
        if top in ONLY_BUNDLED and path is None:
            spec = importlib.machinery.PathFinder.find_spec(name, [str(BUNDLED)])
            if spec is None:
                raise ModuleNotFoundError(f"No module named {name!r} in the bundled wheels", name=name)
            return spec
        return None


sys.meta_path.insert(0, LightInstall())
# Only the zip's bundled wheel may provide the core: drop source checkouts from sys.path.
sys.path[:] = [p for p in sys.path if not (Path(p) / "diffusiontalker" / "__init__.py").is_file()]

import bpy  # noqa: E402

out: dict = {"python": sys.version.split()[0], "bpy": bpy.app.version_string,
             "numpy": np.__version__}
res = bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default",
                                               enable_on_install=True)
out["install"] = sorted(res)
pkg = "bl_ext.user_default.diffusiontalker"
compat = sys.modules[f"{pkg}.compat"]
model_cache = sys.modules[f"{pkg}.model_cache"]

work.mkdir(parents=True, exist_ok=True)
t = np.arange(int(1.5 * 16000)) / 16000
speech = 0.4 * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2) * np.sin(2 * np.pi * 180 * t)
with wave.open(str(work / "speech.wav"), "wb") as f:
    f.setnchannels(1)
    f.setsampwidth(2)
    f.setframerate(16000)
    f.writeframes((speech * 32767).astype("<i2").tobytes())

bpy.ops.wm.read_homefile(use_empty=True)
scene = bpy.context.scene
scene.render.fps, scene.render.fps_base = 30, 1.0
out["demo_head"] = sorted(bpy.ops.diffusiontalker.add_demo_head())
head = bpy.context.active_object
strip = compat.new_sound_strip(scene, "speech", str(work / "speech.wav"), 1, 1)
scene.diffusiontalker.strip = strip.name
out["generate"] = sorted(bpy.ops.diffusiontalker.generate(blocking=True, checkpoint=checkpoint,
                                                          output_mode="BASIS"))
talker = model_cache.loaded_talker()
import onnxruntime  # noqa: E402

import diffusiontalker  # noqa: E402

out.update({
    "runtime": getattr(talker, "runtime", None),
    "device": getattr(talker, "device_report", None),
    "core_from": diffusiontalker.__file__,
    "onnxruntime_from": onnxruntime.__file__,
    "onnxruntime": onnxruntime.__version__,
    "bundled_dir": str(BUNDLED),
    "torch_loaded": sys.modules.get("torch") is not None,
    "frontend": (getattr(talker, "frontend", None) or {}).get("kind"),
    "model_dir": str(getattr(talker, "directory", "")),
    "basis_keys": sum(b.name.startswith("DT basis") for b in head.data.shape_keys.key_blocks),
    "animated": bool(head.data.shape_keys.animation_data and head.data.shape_keys.animation_data.action),
})
print("RESULT " + json.dumps(out))
sys.stdout.flush()
os._exit(0)
