"""The sidebar panel: 3D View > Sidebar > Talker."""

from __future__ import annotations

import bpy

from diffusiontalker.channels import ARKIT_CHANNELS
from diffusiontalker.errors import DiffusionTalkerError

from . import compat, jobs, layering, model_cache, strips, takes
from .props import model_steps_text
from .targets import character, resolve_main, target_info, target_problem


class DT_PT_talker(bpy.types.Panel):
    bl_label = "DiffusionTalker"
    bl_idname = "DT_PT_talker"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Talker"

    def draw(self, context):
        layout = self.layout
        s = context.scene.diffusiontalker
        self._draw_head(layout, context)
        self._draw_audio(layout, context, s)
        self._draw_identity(layout, s)
        col = layout.column(align=True)
        self._draw_steps(col, s)
        col.prop(s, "seed")
        col.prop(s, "output_mode")
        self._draw_head_motion(layout, s)
        self._draw_layering(layout, context, s)
        self._draw_direction(layout, context, s)
        self._draw_run(layout, s)

    def _draw_head_motion(self, layout, s):
        """Head Motion (off by default) and, when on, the optional Head Bone."""
        row = layout.row(align=True)
        row.prop(s, "head_motion")
        if s.head_motion:
            row.prop(s, "head_bone", text="", icon="BONE_DATA")

    def _draw_direction(self, layout, context, s):
        """Keep my keys, the dialog, takes (and the list to swap them), re-take range."""
        box = layout.box()
        box.label(text="Direct the Take", icon="ACTION")
        box.prop(s, "keep_keys")
        row = box.row(align=True)
        row.prop(s, "transcript", text="Dialog")
        box.prop(s, "transcript_text", text="Dialog Text")
        if (s.transcript.strip() or s.transcript_text is not None) and not _can_align():
            for line in _wrap("The dialog needs PocketSphinx in Blender's Python (pip install "
                              "pocketsphinx==5.1.1), or the Worker runtime with a Python that "
                              "has it; without it Generate says so and ignores the dialog"):
                box.label(text=line, icon="INFO")
        box.prop(s, "takes")
        obj = context.active_object
        key = obj.data.shape_keys if obj is not None and obj.type == "MESH" else None
        listed = takes.takes(key)
        if len(listed) > 1:
            playing = takes.active_take(key)
            col = box.column(align=True)
            for i, (action, seed) in enumerate(listed):
                row = col.row(align=True)
                mark = "PLAY" if i == playing else "BLANK1"
                row.label(text=f"Take {i + 1} (variation {seed})", icon=mark)
                op = row.operator("diffusiontalker.use_take", text="Use")
                op.index = i
                row.enabled = action is not None and i != playing
        box.operator("diffusiontalker.retake_range", icon="FILE_REFRESH")

    def _draw_head(self, layout, context):
        box = layout.box()
        obj = context.active_object
        try:  # an armature stands for its mesh with the most channel keys
            obj = resolve_main(obj, context.view_layer.objects) if obj is not None else None
        except DiffusionTalkerError:
            obj = None
        row = box.row()
        row.label(text=f"Head: {obj.name}" if obj else "Head: none", icon="MESH_DATA")
        row.operator("diffusiontalker.add_demo_head", text="", icon="ADD")
        talker = model_cache.loaded_talker()
        if obj is None or obj.type != "MESH":
            box.label(text="Select a mesh to animate", icon="INFO")
            return
        others = character(obj, context.view_layer, getattr(talker, "channels", None) or ARKIT_CHANNELS)
        if others:
            names = ", ".join(o.name for o in others[:3]) + (", ..." if len(others) > 3 else "")
            for line in _wrap(f"Also drives {len(others)} more meshes: {names}"):
                box.label(text=line, icon="LINKED")
        if talker is None:
            box.label(text="Model not loaded yet (loads on Generate)", icon="INFO")
            box.operator("diffusiontalker.load_model")
        else:
            problem = target_problem(target_info(obj, geometry=False), talker)
            if problem is None:
                box.label(text="The model can drive this head", icon="CHECKMARK")
            else:
                for line in _wrap(problem):
                    box.label(text=line, icon="ERROR" if talker.space == "vertices" else "INFO")

    def _draw_audio(self, layout, context, s):
        box = layout.box()
        scene = context.scene
        if compat.sound_strips(scene):
            box.prop(s, "strip_picker", icon="SOUND")
        else:
            box.label(text="No sound strips yet", icon="SOUND")
        box.operator("diffusiontalker.add_audio_strip", icon="FILE_SOUND")
        name = s.strip
        strip = compat.find_strip(scene, name) if name else strips.automatic_strip(scene)
        if name and strip is None:
            box.label(text=f"No sound strip called '{name}'", icon="ERROR")
        elif strip is None and compat.sound_strips(scene):
            box.label(text="Several strips: select one or pick it here", icon="INFO")
        if strip is not None:
            if not name:
                box.label(text=f"Uses '{strip.name}'")
            if compat.strip_is_muted(scene, strip):
                box.label(text=f"'{strip.name}' is muted: unmute it to use it", icon="ERROR")
            t = compat.strip_timing(strip)
            box.label(text=f"Frames {int(t.left_handle)}-{int(t.right_handle) - 1} at "
                           f"{compat.scene_fps(scene):.3g} fps")

    def _draw_layering(self, layout, context, s):
        """The layering choice, and a warning when an action of the user's keys channels
        Generate writes (so the choice matters)."""
        layout.prop(s, "layering")
        obj = context.active_object
        key = obj.data.shape_keys if obj is not None and obj.type == "MESH" else None
        talker = model_cache.loaded_talker()
        channels = list(getattr(talker, "channels", None) or ARKIT_CHANNELS)
        action, shared = layering.conflicts(key, channels) if key is not None else (None, [])
        if shared:
            what = ("Generate puts ours on top" if s.layering == "ON_TOP"
                    else "Generate bakes both into a new action")
            listed = ", ".join(shared[:4]) + (", ..." if len(shared) > 4 else "")
            text = f"Your action '{action.name}' keys {listed}: {what}"
            for line in _wrap(text):
                layout.label(text=line, icon="ERROR")

    def _draw_identity(self, layout, s):
        box = layout.box()
        box.prop(s, "identity_mode")
        if s.identity_mode == "SINGLE":
            box.prop(s, "identity")
        elif s.identity_mode == "BLEND":
            if not s.blend:
                box.label(text="Load the model to see the library")
            for item in s.blend:
                box.prop(item, "weight", text=item.name, slider=True)
        box.operator("diffusiontalker.match_identity", icon="VIEWZOOM")
        for m in s.matches:
            row = box.row()
            row.label(text=f"{m.name}: {m.score:.2f}")
            row.operator("diffusiontalker.use_identity", text="Use").name = m.name
        box.operator("diffusiontalker.learn_identity", icon="IMPORT")
        box.prop(s, "style_strength", slider=True)

    def _draw_steps(self, col, s):
        """Model default steps (``Steps: model default (N)``, N from the loaded model's
        checkpoint) or the explicit count."""
        col.prop(s, "use_model_steps")
        if s.use_model_steps:
            col.label(text=model_steps_text(model_cache.loaded_talker()))
        else:
            col.prop(s, "steps")

    def _draw_run(self, layout, s):
        job = jobs.current()
        if job is not None and not job.finished:
            stage = f" - {job.stage}" if getattr(job, "stage", "") else ""
            layout.progress(factor=job.progress, text=f"{job.label}{stage} {job.progress:.0%}")
            layout.operator("diffusiontalker.cancel", icon="CANCEL")
        else:
            layout.operator("diffusiontalker.generate", icon="PLAY")
        layout.operator("diffusiontalker.remove_generated", icon="TRASH")
        if s.error:
            for line in _wrap(s.error):
                layout.label(text=line, icon="ERROR")
        elif s.status:
            layout.label(text=s.status)
        if s.warning and not s.error:
            for line in _wrap(s.warning):
                layout.label(text=line, icon="ERROR")


def _can_align() -> bool:
    """Whether the dialog can be aligned where Generate runs: PocketSphinx importable here,
    or generation in a worker process (whose Python may have it: it says so when not)."""
    import importlib.util

    from . import prefs

    return (prefs.setting("runtime", "AUTO").lower() == "worker"
            or importlib.util.find_spec("pocketsphinx") is not None)


def _wrap(text: str, width: int = 44) -> list[str]:
    words, lines, line = text.split(), [], ""
    for w in words:
        if len(line) + len(w) + 1 > width and line:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    return lines + ([line] if line else [])


classes = (DT_PT_talker,)
