"""Add-on preferences: device, runtime, threads, checkpoint, cache folder, log level, diagnostics."""

from __future__ import annotations

import logging
import os
import platform
import sys

import bpy
from bpy.props import EnumProperty, IntProperty, StringProperty

from . import model_cache

ADDON_ID = __package__
log = logging.getLogger("diffusiontalker")


def _log_level_changed(self, _context):
    log.setLevel(self.log_level)


def _model_changed(_self, _context):
    model_cache.forget()


class DT_Preferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    device: EnumProperty(name="Device", default="AUTO", update=_model_changed, items=[
        ("AUTO", "Automatic", "CUDA, then Apple MPS, then CPU"),
        ("CPU", "CPU", "Always the CPU"),
        ("CUDA", "CUDA", "An NVIDIA GPU"),
        ("MPS", "Apple MPS", "Apple silicon GPU"),
    ])
    runtime: EnumProperty(name="Runtime", default="AUTO", update=_model_changed, items=[
        ("AUTO", "Automatic", "torch where it imports in Blender, else ONNX Runtime"),
        ("TORCH", "torch", "PyTorch inside Blender's Python"),
        ("ONNX", "ONNX Runtime", "The bundled ONNX Runtime (no torch needed)"),
        ("WORKER", "Worker Process", "Generate in another Python (e.g. one with CUDA torch)"),
    ])
    worker_python: StringProperty(name="Worker Python", subtype="FILE_PATH",
                                  update=_model_changed,
                                  description="The Python executable that runs generation in "
                                              "a worker process; it needs the diffusiontalker "
                                              "package and torch")
    threads: IntProperty(name="Threads", default=0, min=0, soft_max=16, update=_model_changed,
                         description="CPU threads for generation; 0 = automatic (the physical "
                                     "cores, at most 4)")
    checkpoint: StringProperty(name="Checkpoint", subtype="FILE_PATH", update=_model_changed,
                               description="A .safetensors model; empty = the shipped default")
    cache_dir: StringProperty(name="Cache Folder", subtype="DIR_PATH",
                              description="Point caches of unsaved files; empty = the extension's user folder")
    log_level: EnumProperty(name="Log Level", default="WARNING", update=_log_level_changed,
                            items=[(n, n.title(), "") for n in ("DEBUG", "INFO", "WARNING", "ERROR")])

    def draw(self, _context):
        col = self.layout.column()
        row = col.row()
        row.prop(self, "device")
        row.label(text=f"Found: {model_cache.found_device or 'detected when the model loads'}")
        col.prop(self, "runtime")
        if self.runtime == "WORKER":
            col.prop(self, "worker_python")
            if not self.worker_python:
                col.label(text="Choose the Python that should run the model", icon="ERROR")
        col.prop(self, "threads")
        col.prop(self, "checkpoint")
        col.prop(self, "cache_dir")
        col.label(text=f"Using: {cache_folder()}")
        col.prop(self, "log_level")
        col.operator("diffusiontalker.copy_diagnostics", icon="COPYDOWN")


def prefs():
    """Our preferences, or None when the add-on is not enabled through the add-on system."""
    addon = bpy.context.preferences.addons.get(ADDON_ID)
    return addon.preferences if addon else None


def cache_folder() -> str:
    """Where point caches of unsaved files go (created on demand)."""
    p = prefs()
    if p is not None and p.cache_dir:
        return bpy.path.abspath(p.cache_dir)
    try:
        return bpy.utils.extension_path_user(ADDON_ID, path="cache", create=True)
    except (ValueError, AttributeError):  # not installed as an extension (source checkout)
        return os.path.join(bpy.app.tempdir or "/tmp", "diffusiontalker")


def runtime_choice() -> tuple[str, str]:
    """``(runtime, python)`` for ``runtime.loader.load_talker`` from the preferences.

    Also hands the Threads preference to ``model_cache`` (read here, on the main thread, by
    every caller just before it loads the model)."""
    model_cache.set_threads(int(setting("threads", 0)))
    runtime = setting("runtime", "AUTO").lower()
    python = bpy.path.abspath(setting("worker_python", "")) if runtime == "worker" else ""
    return runtime, python


def setting(name: str, default):
    p = prefs()
    return getattr(p, name) if p is not None else default


def diagnostics() -> str:
    """Versions worth pasting into a bug report (torch only if already loaded)."""
    lines = [f"Blender {bpy.app.version_string}", f"Python {sys.version.split()[0]}",
             f"Platform {platform.platform()}"]
    try:
        import numpy
        lines.append(f"numpy {numpy.__version__}")
    except ImportError:
        lines.append("numpy missing")
    torch = sys.modules.get("torch")
    if torch is not None:
        lines.append(f"torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}")
    else:
        lines.append("torch not loaded yet")
    lines.append(f"device used: {model_cache.found_device or 'none yet'}")
    talker = model_cache.loaded_talker()
    if talker is not None:
        lines.append(f"model: space={talker.space} fps={talker.fps} identities={len(talker.identities)}")
    return "\n".join(lines)


classes = (DT_Preferences,)
