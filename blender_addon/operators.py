"""Operators under ``bpy.ops.diffusiontalker.*``: Generate, Cancel, Remove Generated, Add Audio
as Strip, Add Demo Head (the model and identity operators are in ``operators_model.py``)."""

from __future__ import annotations

import os
import warnings

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty

from diffusiontalker.errors import DiffusionTalkerError
from diffusiontalker.identity_choice import format_blend, parse_blend

from . import character, compat, direction, jobs, operators_model, prefs, takes, targets, writers
from .generate import GenerateOptions, make_job, prepare
from .layering import LAYERING_ITEMS
from .operators_model import _checkpoint, _job_busy, _poll_ready, _settings  # one definition each
from .props import IDENTITY_MODES, OUTPUT_MODE_ITEMS, blend_string, dialog_text


def parse_blend_text(text: str) -> tuple[dict[str, float], list[str]]:
    """Blend text (``ada=0.7,bo=0.3``, the core's syntax) -> ``({name: weight}, warnings)``.

    The older ``ada:0.7`` form is still read; the warnings then say it is deprecated and what
    to write instead (the operator reports them)."""
    if not text.strip():
        raise DiffusionTalkerError("give at least one identity a blend weight above zero")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FutureWarning)
        weights = parse_blend(text)
    notes = [f"identity blend '{text}': {w.message}; here: '{format_blend(weights)}'"
             for w in caught if issubclass(w.category, FutureWarning)]
    return weights, notes


def _identity(mode: str, name: str, blend: str) -> tuple[object, list[str]]:
    """The identity choice for the core, and warnings for the user."""
    if mode == "NONE":
        return None, []
    if mode == "MATCH":
        return "match", []
    if mode == "SINGLE":
        if not name:
            raise DiffusionTalkerError("choose an identity from the library (or load the model)")
        return name, []
    weights, notes = parse_blend_text(blend)
    if sum(weights.values()) <= 0:
        raise DiffusionTalkerError("give at least one identity a blend weight above zero")
    return weights, notes


_FROM_SCENE = {"SKIP_SAVE"}


class DT_OT_generate(bpy.types.Operator):
    """Animate the head from the sound strip with the diffusion model"""

    bl_idname = "diffusiontalker.generate"
    bl_label = "Generate"
    bl_options = {"REGISTER", "UNDO"}

    target: StringProperty(name="Head", description="Mesh object to animate (default: active)")
    # The sidebar's settings (invoke copies those the caller did not set from the scene):
    # never remembered from an earlier run, or invoke would take them as set by the caller.
    strip: StringProperty(name="Sound Strip", options=_FROM_SCENE,
                          description="Sound strip to animate to (empty: the panel's choice, "
                                      "else the selected sound strip, else the only one)")
    use_muted: BoolProperty(name="Use Muted Strip", default=False, options=_FROM_SCENE,
                            description="Generate from the strip even when it (or its "
                                        "channel) is muted")
    layering: EnumProperty(name="Layering", items=LAYERING_ITEMS, default="ON_TOP",
                           options=_FROM_SCENE,
                           description="When an action of yours on the shape keys keys a "
                                       "channel Generate writes")
    identity_mode: EnumProperty(name="Identity Mode", items=IDENTITY_MODES, default="NONE",
                                options=_FROM_SCENE)
    identity: StringProperty(name="Identity", description="Library identity (mode Library)",
                             options=_FROM_SCENE)
    identity_blend: StringProperty(name="Blend",
                                   description="'name=weight,...', e.g. 'ada=0.7,bo=0.3' "
                                               "(mode Blend)", options=_FROM_SCENE)
    style_strength: FloatProperty(name="Style Strength", min=0.0, max=2.0, default=1.0,
                                  options=_FROM_SCENE)
    use_model_steps: BoolProperty(
        name="Model Default Steps", default=True, options=_FROM_SCENE,
        description="Use the denoising steps stored in the model's checkpoint (off: Steps). "
                    "Passing steps=N from a script turns this off unless it is also passed")
    steps: IntProperty(name="Steps", min=1, max=1000, default=8, options=_FROM_SCENE,
                       description="Denoising steps when Model Default Steps is off")
    seed: IntProperty(name="Variation", min=0, default=0, options=_FROM_SCENE)
    output_mode: EnumProperty(name="Output", items=OUTPUT_MODE_ITEMS, default="AUTO",
                              options=_FROM_SCENE)
    max_shapes: IntProperty(name="Max Basis Shapes", min=1, max=512, default=64)
    checkpoint: StringProperty(name="Checkpoint", subtype="FILE_PATH",
                               description="Model file (empty: the preferences' choice)")
    device: EnumProperty(name="Device", default="PREFS", items=[
        ("PREFS", "Preferences", "The device chosen in the preferences"),
        ("AUTO", "Automatic", ""), ("CPU", "CPU", ""), ("CUDA", "CUDA", ""), ("MPS", "MPS", "")])
    keep_keys: BoolProperty(name="Keep My Keys", default=False, options=_FROM_SCENE,
                            description="Your keys on the channel shape keys inside the strip "
                                        "(in your action, or typed Keyframe in the take) are "
                                        "kept: the new take passes through them")
    transcript: StringProperty(name="Dialog", options=_FROM_SCENE,
                               description="What is said: aligned to the audio, /p b m/ close, "
                                           "/f v/ tuck and rounded vowels pucker")
    takes: IntProperty(name="Takes", min=1, max=16, default=1, options=_FROM_SCENE,
                       description="Takes to sample together (variations Variation, "
                                   "Variation+1, ...); the first plays, the others are listed")
    head_motion: BoolProperty(name="Head Motion", default=False, options=_FROM_SCENE,
                              description="Write the model's head yaw, pitch and roll as "
                                          "rotation keys (the head object's delta rotation, "
                                          "or the Head Bone)")
    head_bone: StringProperty(name="Head Bone", options=_FROM_SCENE,
                              description="Pose bone to turn for Head Motion (empty: the head "
                                          "object's delta rotation)")
    retake: BoolProperty(name="Re-take Range", default=False, options={"SKIP_SAVE"},
                         description="Redo only the preview range (or between two selected "
                                     "markers) of the playing take; keys outside stay exactly")
    blocking: BoolProperty(name="Blocking", default=False,
                           description="Wait for the result (scripts, background mode)")

    _job = None
    _prep = None
    _timer = None

    @classmethod
    def poll(cls, context):
        return _poll_ready(cls, context, needs_strip=True)

    def _explicit_steps(self) -> bool:
        """steps=N was given without use_model_steps: the caller's count wins."""
        props = self.properties
        return props.is_property_set("steps") and not props.is_property_set("use_model_steps")

    def invoke(self, context, event):
        s = _settings(context)
        if self._explicit_steps():
            self.use_model_steps = False
        for prop, value in (("strip", s.strip), ("identity_mode", s.identity_mode),
                            ("identity", s.identity), ("identity_blend", blend_string(s)),
                            ("style_strength", s.style_strength),
                            ("use_model_steps", s.use_model_steps), ("steps", s.steps),
                            ("seed", s.seed), ("output_mode", s.output_mode),
                            ("layering", s.layering), ("keep_keys", s.keep_keys),
                            ("transcript", dialog_text(s)), ("takes", s.takes),
                            ("head_motion", s.head_motion), ("head_bone", s.head_bone)):
            if not self.properties.is_property_set(prop):
                setattr(self, prop, value)
        return self.execute(context)

    def steps_choice(self) -> int | None:
        """The step count to ask for; None: the model's own default (its checkpoint's)."""
        use_model = self.use_model_steps and not self._explicit_steps()
        return None if use_model else self.steps

    def gather(self, context) -> tuple[GenerateOptions, list[str]]:
        """The Generate options, and warnings to report (e.g. a deprecated blend form)."""
        target = self.target or (context.active_object.name if context.active_object else "")
        identity, notes = _identity(self.identity_mode, self.identity, self.identity_blend)
        runtime, python = prefs.runtime_choice()
        options = GenerateOptions(
            target=target, strip=self.strip or _settings(context).strip,
            identity=identity,
            steps=self.steps_choice(), seed=self.seed, style_strength=self.style_strength,
            output_mode=self.output_mode,
            checkpoint=_checkpoint(self.checkpoint),
            device=prefs.setting("device", "AUTO") if self.device == "PREFS" else self.device,
            runtime=runtime, python=python,
            max_shapes=self.max_shapes,
            cache_dir=prefs.cache_folder(),
            use_muted=self.use_muted,
            layering=self.layering if self.properties.is_property_set("layering")
            else _settings(context).layering,
            keep_keys=self.keep_keys, transcript=self.transcript,
            takes=1 if self.retake else self.takes,
            retake=self.retake, **self._head_choice(context))
        return options, notes

    def _head_choice(self, context) -> dict:
        """Head Motion and Head Bone: the caller's when set, else the panel's (scripts too)."""
        props, s = self.properties, _settings(context)
        return {name: getattr(self, name) if props.is_property_set(name) else getattr(s, name)
                for name in ("head_motion", "head_bone")}

    def _fail(self, context, message: str):
        _settings(context).error = message
        self.report({"ERROR"}, message)
        return {"CANCELLED"}

    def execute(self, context):
        s = _settings(context)
        s.error = s.warning = ""
        try:
            options, notes = self.gather(context)
            for note in notes:
                self.report({"WARNING"}, note)
            self._prep = prep = prepare(context.scene, options)
            job = make_job(prep)
        except DiffusionTalkerError as exc:
            return self._fail(context, str(exc))
        if self.blocking or bpy.app.background or context.window is None:
            return self._finished(context, jobs.run_blocking(job))
        jobs.start(job)
        self._job = job
        s.status = "Generating..."
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC" and event.value == "PRESS":
            self._job.cancel()
        if event.type == "TIMER":
            for area in context.screen.areas if context.screen else ():
                area.tag_redraw()
            if jobs.drain() is self._job:
                context.window_manager.event_timer_remove(self._timer)
                return self._finished(context, self._job)
        return {"PASS_THROUGH"}

    def _finished(self, context, job):
        s = _settings(context)
        if job.state == "applied":
            s.status = job.message
            self.report({"INFO"}, job.message)
            warnings = self._prep.extra.get("warnings", []) if self._prep is not None else []
            for warning in warnings:  # e.g. a user action keying our channels (layering)
                self.report({"WARNING"}, warning)
            s.warning = " ".join(warnings)
            return {"FINISHED"}
        if job.state == "cancelled":
            s.status = job.message
            self.report({"WARNING"}, job.message)
            return {"CANCELLED"}
        s.status = ""
        return self._fail(context, job.error or f"Generate ended in state {job.state}")


def _head(context, quiet: bool = False):
    """The main head for the active object (itself, or an armature's head mesh:
    ``targets.resolve_main``); with ``quiet``, None instead of an error."""
    try:
        return targets.resolve_main(context.active_object, context.scene.objects)
    except DiffusionTalkerError:
        if quiet:
            return None
        raise


class DT_OT_retake_range(bpy.types.Operator):
    """Redo only the preview range (or between two selected markers) of the playing take, with
    the Variation seed; the keys outside the range stay exactly as they are"""

    bl_idname = "diffusiontalker.retake_range"
    bl_label = "Re-take Range"

    @classmethod
    def poll(cls, context):
        if not _poll_ready(cls, context, needs_strip=True):
            return False
        obj = _head(context, quiet=True)
        if obj is None or direction.playing_action(obj)[0] is None:
            cls.poll_message_set("Generate a take on the active head first")
            return False
        try:
            direction.retake_range(context.scene)
        except DiffusionTalkerError:
            cls.poll_message_set("Set the preview range (Ctrl+Alt+P) or select two markers")
            return False
        return True

    def execute(self, context):
        how = "INVOKE_DEFAULT" if context.window is not None else "EXEC_DEFAULT"
        return bpy.ops.diffusiontalker.generate(how, retake=True)


class DT_OT_use_take(bpy.types.Operator):
    """Play this take instead of the current one (the others stay stored)"""

    bl_idname = "diffusiontalker.use_take"
    bl_label = "Use Take"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(name="Take", min=0, description="The take to play (0 = the first)")

    @classmethod
    def poll(cls, context):
        obj = _head(context, quiet=True)
        key = obj.data.shape_keys if obj is not None and obj.type == "MESH" else None
        if len(takes.takes(key)) < 2:
            cls.poll_message_set("Generate with Takes above 1 to choose among takes")
            return False
        return True

    def execute(self, context):
        try:
            head = _head(context)
            message = takes.use_take(head, self.index)
            character.follow_playing_take(head)  # the character's other meshes follow
        except (ValueError, DiffusionTalkerError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        _settings(context).status = message
        self.report({"INFO"}, message)
        return {"FINISHED"}


class DT_OT_cancel(bpy.types.Operator):
    """Stop the running job; nothing is written"""

    bl_idname = "diffusiontalker.cancel"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context):
        if not _job_busy():
            cls.poll_message_set("Nothing is running")
            return False
        return True

    def execute(self, context):
        jobs.current().cancel()
        return {"FINISHED"}


class DT_OT_remove_generated(bpy.types.Operator):
    """Remove the keys, shapes, caches and modifier Generate made on the active head"""

    bl_idname = "diffusiontalker.remove_generated"
    bl_label = "Remove Generated"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        if not writers.has_generated(_head(context, quiet=True)):
            cls.poll_message_set("The active object has nothing generated to remove")
            return False
        return True

    def execute(self, context):
        writers.remove_generated(_head(context))
        _settings(context).warning = ""
        return {"FINISHED"}


class DT_OT_add_audio_strip(bpy.types.Operator):
    """Add an audio file as a sound strip at the current frame and use it"""

    bl_idname = "diffusiontalker.add_audio_strip"
    bl_label = "Add Audio as Strip"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.wav;*.flac;*.mp3;*.ogg;*.m4a;*.aac", options={"HIDDEN"})
    frame: IntProperty(name="Frame", default=-1, description="Start frame (-1: current frame)")

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        from .audio import decode_file

        path = bpy.path.abspath(self.filepath)
        try:
            decode_file(path)
        except DiffusionTalkerError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        scene = context.scene
        frame = scene.frame_current if self.frame < 0 else self.frame
        used = {s.channel for s in compat.strips_of(scene)}
        channel = next(c for c in range(1, 129) if c not in used)
        strip = compat.new_sound_strip(scene, os.path.basename(path), path, channel, frame)
        _settings(context).strip = strip.name
        return {"FINISHED"}


class DT_OT_add_demo_head(bpy.types.Operator):
    """Add the demo head with one shape key per articulation channel"""

    bl_idname = "diffusiontalker.add_demo_head"
    bl_label = "Add Demo Head"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        from .demo_scene import add_demo_head

        try:
            add_demo_head(context)
        except ImportError:
            self.report({"ERROR"}, "the demo head is not available in this build")
            return {"CANCELLED"}
        except DiffusionTalkerError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        return {"FINISHED"}


classes = (DT_OT_generate, DT_OT_retake_range, DT_OT_use_take, DT_OT_cancel,
           DT_OT_remove_generated, DT_OT_add_audio_strip, DT_OT_add_demo_head) \
    + operators_model.classes
