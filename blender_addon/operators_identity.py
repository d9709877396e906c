"""Learn Identity from Capture: a talking identity learnt from a face-capture take (a Live Link
Face CSV and its audio, or the scene's sound strip) in the background, saved as a personal
checkpoint that the scene then uses (the core's ``training.personalize``; docs/capture.md)."""

from __future__ import annotations

import os

import bpy
from bpy.props import BoolProperty, IntProperty, StringProperty

from diffusiontalker.errors import DiffusionTalkerError

from . import jobs, model_cache, prefs, strips
from .operators_model import (
    SCENE_CHECKPOINT,
    _checkpoint,
    _poll_ready,
    _run_and_report,
    _settings,
    scene_checkpoint,
)
from .props import sync_library

NEEDS_TORCH = ("Learning an identity trains the model, which needs torch: this build runs "
               "the model with ONNX Runtime only. Use the full extension, or run `diffusiontalker "
               "identity add` in a Python with torch and choose its checkpoint")


def _has_torch() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


DEFAULT_STEPS = 300  # training.personalize.FitSettings.steps (not imported: that needs torch)


def personal_path(output: str, name: str) -> str:
    """Where to save: the chosen path (a folder gets ``NAME.safetensors``), else beside the
    .blend, else (an unsaved file) the extension's user folder."""
    if output:
        path = bpy.path.abspath(output)
        if path.endswith(("/", os.sep)) or os.path.isdir(path):
            path = os.path.join(path, f"{bpy.path.clean_name(name)}.safetensors")
        return path
    folder = os.path.dirname(bpy.data.filepath) if bpy.data.filepath else prefs.cache_folder()
    return os.path.join(folder, f"{bpy.path.clean_name(name)}.safetensors")


def remember_checkpoint(scene, path: str) -> None:
    """The scene keeps the personal checkpoint (relative to the .blend when it is saved), and
    the preferences' Checkpoint becomes it, so Generate and Load Model use it."""
    scene[SCENE_CHECKPOINT] = bpy.path.relpath(path) if bpy.data.filepath else path
    p = prefs.prefs()
    if p is not None and bpy.path.abspath(p.checkpoint) != path:
        p.checkpoint = path  # drops the loaded model (prefs._model_changed)


class DT_OT_learn_identity(bpy.types.Operator):
    """Learn a talking identity from face capture (a Live Link Face CSV and the take's audio)
    and save it with the model's library as a personal checkpoint"""

    bl_idname = "diffusiontalker.learn_identity"
    bl_label = "Learn Identity from Capture"

    blocking: BoolProperty(default=False, options={"HIDDEN"})
    filepath: StringProperty(name="Capture", subtype="FILE_PATH",
                             description="The take's Live Link Face CSV (*_cal.csv or *.csv)")
    filter_glob: StringProperty(default="*.csv", options={"HIDDEN"})
    identity_name: StringProperty(name="Name", default="actor",
                                  description="The new identity's name in the library")
    audio: StringProperty(name="Audio", subtype="FILE_PATH",
                          description="The take's audio (.wav, .mov, .mp4); empty: the file "
                                      "beside the CSV")
    use_strip: BoolProperty(name="Audio from Sound Strip", default=False,
                            description="Read the take's audio from the panel's sound strip "
                                        "(its sound file from the start, as the take's audio)")
    output: StringProperty(name="Save As", subtype="FILE_PATH",
                           description="The personal checkpoint (.safetensors); empty: "
                                       "NAME.safetensors beside the .blend")
    steps: IntProperty(name="Steps", default=DEFAULT_STEPS, min=10, max=5000,
                       description="Optimisation steps (300: about half a minute on the CPU)")

    @classmethod
    def poll(cls, context):
        if not _poll_ready(cls, context):
            return False
        if not _has_torch():
            cls.poll_message_set(NEEDS_TORCH)
            return False
        return True

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def draw(self, context):
        col = self.layout.column()
        for name in ("identity_name", "use_strip", "audio", "output", "steps"):
            if name != "audio" or not self.use_strip:
                col.prop(self, name)

    def execute(self, context):
        try:
            job = self._job(context)
        except DiffusionTalkerError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        return _run_and_report(self, job)

    def _job(self, context) -> jobs.Job:
        """Everything read from Blender on the main thread, and the job that learns."""
        if not _has_torch():
            raise DiffusionTalkerError(NEEDS_TORCH)
        from diffusiontalker.network.identity import check_new_name

        name = self.identity_name.strip()
        check_new_name(name, [])
        csv = bpy.path.abspath(self.filepath)
        if not csv or not os.path.isfile(csv):
            raise DiffusionTalkerError(f"choose the take's CSV (not found: {csv or 'none'})")
        if self.use_strip:
            from .audio import strip_audio

            s = _settings(context)
            audio = strip_audio(strips.choose_strip(context.scene, s.strip, use_muted=True))
        else:
            audio = bpy.path.abspath(self.audio) if self.audio else None
        out = personal_path(self.output, name)
        base = scene_checkpoint(context.scene) or _checkpoint("") or None
        device = prefs.setting("device", "AUTO")
        runtime, python = prefs.runtime_choice()
        scene_name, steps = context.scene.name, self.steps

        def work(progress, cancelled):
            from diffusiontalker.capture import load_take
            from diffusiontalker.training.personalize import FitSettings, learn_identity

            progress(0.0, "reading the take")
            take = load_take(csv, audio=audio, sample_rate=16000 if audio is not None
                             and not isinstance(audio, str) else None)
            _, result = learn_identity(
                name, [take], out, base, FitSettings(steps=steps),
                progress=lambda f: progress(f, None), status=lambda text: progress(None, text),
                cancel=cancelled)
            return result

        def apply(result):
            scene = bpy.data.scenes.get(scene_name)
            if scene is None:
                return f"saved {out}"
            remember_checkpoint(scene, out)
            model_cache.forget()  # a model loaded from this path before is out of date
            talker = model_cache.get_talker(out, device, runtime, python)
            sync_library(scene.diffusiontalker, talker)
            return (f"learnt '{name}' from {result.capture_seconds:.0f} s of capture; saved "
                    f"{out}")

        return jobs.Job("Learn identity", work, apply)


classes = (DT_OT_learn_identity,)
