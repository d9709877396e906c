"""Operators for the model and its identity library: Load Model, Match from This Audio, Use
Identity, Copy Diagnostics (split from ``operators.py``, which registers them)."""

from __future__ import annotations

import bpy
from bpy.props import BoolProperty, IntProperty, StringProperty

from diffusiontalker.errors import DiffusionTalkerError

from . import compat, jobs, model_cache, prefs, strips
from .props import sync_library


def _settings(context):
    return context.scene.diffusiontalker


def _job_busy() -> bool:
    job = jobs.current()
    return job is not None and not job.finished


SCENE_CHECKPOINT = "diffusiontalker_checkpoint"  # the scene's personal checkpoint (ID property)


def scene_checkpoint(scene) -> str:
    """The personal checkpoint this scene learnt an identity into (absolute; "" = none)."""
    path = scene.get(SCENE_CHECKPOINT, "") if scene is not None else ""
    return bpy.path.abspath(path) if path else ""


def _checkpoint(given: str) -> str:
    """The operator's checkpoint, else the scene's personal one (Learn Identity from Capture),
    else the preferences' ("" = the shipped default)."""
    chosen = given or scene_checkpoint(bpy.context.scene) or prefs.setting("checkpoint", "")
    return bpy.path.abspath(chosen) if chosen else ""


def _poll_ready(cls, context, needs_strip: bool = False) -> bool:
    """An operator's ``poll``: False, with the reason on the disabled button, while a job runs
    or, for operators that read audio, while the scene has no sound strip."""
    if _job_busy():
        cls.poll_message_set("A job is running: wait for it or press Cancel")
        return False
    if needs_strip and not compat.sound_strips(context.scene):
        cls.poll_message_set("Add a sound strip first (Add Audio as Strip)")
        return False
    return True


def _run_and_report(operator, job) -> set[str]:
    """Run ``job`` (blocking when the operator asks or in background mode, else in the
    background) and report its failure or message; the operator's return value."""
    _background_or_blocking(job, operator.blocking)
    if job.state == "failed":
        operator.report({"ERROR"}, job.error)
        return {"CANCELLED"}
    if job.message:
        operator.report({"INFO"}, job.message)
    return {"FINISHED"}


def _background_or_blocking(job, blocking: bool) -> str:
    if blocking or bpy.app.background:
        jobs.run_blocking(job)
        return "done"
    jobs.start(job)
    if not bpy.app.timers.is_registered(jobs.timer_tick):
        bpy.app.timers.register(jobs.timer_tick, first_interval=0.1)
    return "started"


class DT_OT_load_model(bpy.types.Operator):
    """Load the model (in the background) so its identity library shows"""

    bl_idname = "diffusiontalker.load_model"
    bl_label = "Load Model"

    blocking: BoolProperty(default=False, options={"HIDDEN"})
    checkpoint: StringProperty(name="Checkpoint", subtype="FILE_PATH",
                               description="Model file (empty: the preferences' choice)")

    @classmethod
    def poll(cls, context):
        return _poll_ready(cls, context)

    def execute(self, context):
        ckpt, device = _checkpoint(self.checkpoint), prefs.setting("device", "AUTO")
        runtime, python = prefs.runtime_choice()
        scene_name = context.scene.name

        def apply(talker):
            scene = bpy.data.scenes.get(scene_name)
            if scene is not None:
                sync_library(scene.diffusiontalker, talker)
            return f"model loaded on {model_cache.found_device or 'the chosen device'}"

        job = jobs.Job("Load model",
                       lambda p, c: model_cache.get_talker(ckpt, device, runtime, python), apply)
        _background_or_blocking(job, self.blocking)
        if job.state == "failed":
            self.report({"ERROR"}, job.error)
            return {"CANCELLED"}
        return {"FINISHED"}


class DT_OT_match_identity(bpy.types.Operator):
    """List the library identities whose speaking style best matches this strip's voice"""

    bl_idname = "diffusiontalker.match_identity"
    bl_label = "Match from This Audio"

    blocking: BoolProperty(default=False, options={"HIDDEN"})
    top_k: IntProperty(default=3, min=1, max=20)
    checkpoint: StringProperty(name="Checkpoint", subtype="FILE_PATH",
                               description="Model file (empty: the preferences' choice)")

    @classmethod
    def poll(cls, context):
        return _poll_ready(cls, context, needs_strip=True)

    def execute(self, context):
        from .audio import SAMPLE_RATE, strip_audio

        s = _settings(context)
        try:  # muted or not, the voice is there to match
            wave = strip_audio(strips.choose_strip(context.scene, s.strip, use_muted=True))
        except DiffusionTalkerError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        ckpt, device, top_k = _checkpoint(self.checkpoint), prefs.setting("device", "AUTO"), self.top_k
        runtime, python = prefs.runtime_choice()
        scene_name = context.scene.name

        def work(progress, cancelled):
            talker = model_cache.get_talker(ckpt, device, runtime, python)
            return talker, talker.match_identity(wave, SAMPLE_RATE, top_k=top_k)

        def apply(result):
            talker, matches = result
            settings = bpy.data.scenes[scene_name].diffusiontalker
            sync_library(settings, talker)
            settings.matches.clear()
            for name, score in matches:
                item = settings.matches.add()
                item.name, item.score = name, float(score)
            return "best match: " + ", ".join(f"{n} ({sc:.2f})" for n, sc in matches)

        job = jobs.Job("Match identity", work, apply)
        return _run_and_report(self, job)


class DT_OT_use_identity(bpy.types.Operator):
    """Use this identity from the library"""

    bl_idname = "diffusiontalker.use_identity"
    bl_label = "Use Identity"

    name: StringProperty()

    def execute(self, context):
        s = _settings(context)
        s.identity_mode = "SINGLE"
        s.identity = self.name
        return {"FINISHED"}


class DT_OT_copy_diagnostics(bpy.types.Operator):
    """Copy Blender, Python, torch and device versions to the clipboard"""

    bl_idname = "diffusiontalker.copy_diagnostics"
    bl_label = "Copy Diagnostics"

    def execute(self, context):
        text = prefs.diagnostics()
        context.window_manager.clipboard = text
        self.report({"INFO"}, "diagnostics copied to the clipboard")
        return {"FINISHED"}


classes = (DT_OT_load_model, DT_OT_match_identity, DT_OT_use_identity, DT_OT_copy_diagnostics)
