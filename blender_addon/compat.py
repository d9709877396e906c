"""Everything that differs between Blender releases, in one place (4.2 .. 5.2).

* sound strips: ``sequence_editor.strips`` (4.4+) vs ``sequences`` (4.2/4.3); strip timing
  names of 5.0 (``frame_start``, ``frame_final_start`` ...) vs 5.1+ (``content_start``,
  ``left_handle`` ...): :func:`strip_timing` is the ONLY place that reads them;
* slotted actions: the channelbag of an action slot (5.0 helper, 4.4/4.5 layer + strip);
* the sequencer's muted channels (``sequence_editor.channels``) and active strip.
"""

from __future__ import annotations

import bpy


def strips_of(scene: bpy.types.Scene):
    """The scene's strip collection (empty tuple when it has no sequence editor)."""
    ed = scene.sequence_editor
    if ed is None:
        return ()
    return ed.strips if hasattr(ed, "strips") else ed.sequences


def sound_strips(scene: bpy.types.Scene) -> list:
    """All sound strips of the scene, sorted by start frame."""
    found = [s for s in _all_strips(scene) if s.type == "SOUND"]
    return sorted(found, key=lambda s: (strip_timing(s).left_handle, s.name))


def _all_strips(scene):
    ed = scene.sequence_editor
    if ed is None:
        return []
    if hasattr(ed, "strips_all"):
        return list(ed.strips_all)
    if hasattr(ed, "sequences_all"):
        return list(ed.sequences_all)
    return list(strips_of(scene))


def find_strip(scene: bpy.types.Scene, name: str):
    """The strip called ``name`` or None."""
    for s in _all_strips(scene):
        if s.name == name:
            return s
    return None


def strip_is_muted(scene: bpy.types.Scene, strip) -> bool:
    """Whether ``strip`` is silent in playback: muted itself, or on a muted channel (4.2+)."""
    if strip.mute:
        return True
    ed = scene.sequence_editor
    channels = getattr(ed, "channels", None) if ed is not None else None
    if channels is None or not 0 <= strip.channel < len(channels):
        return False
    return bool(channels[strip.channel].mute)


def active_strip(scene: bpy.types.Scene):
    """The sequencer's active strip, or None."""
    ed = scene.sequence_editor
    return getattr(ed, "active_strip", None) if ed is not None else None


def new_sound_strip(scene: bpy.types.Scene, name: str, filepath: str, channel: int, frame: int):
    """Add a sound strip whose content starts at ``frame``."""
    scene.sequence_editor_create()
    return strips_of(scene).new_sound(name, filepath, channel, frame)


def strip_timing(strip):
    """The strip's placement as :class:`diffusiontalker.bake.timing.StripTiming` (5.0 and 5.1+)."""
    from diffusiontalker.bake.timing import StripTiming

    if hasattr(strip, "content_start"):  # Blender 5.1+
        content, left, right = strip.content_start, strip.left_handle, strip.right_handle
    else:  # Blender 4.2 .. 5.0
        content, left, right = strip.frame_start, strip.frame_final_start, strip.frame_final_end
    return StripTiming(float(content), float(left), float(right),
                       float(getattr(strip, "sound_offset", 0.0)))


def set_left_trim(strip, frames: int) -> None:
    """Trim ``frames`` off the strip's start (tests and scripts)."""
    if hasattr(strip, "left_handle_offset"):
        strip.left_handle_offset = frames
    else:
        strip.frame_offset_start = frames


def channelbag_for(action: bpy.types.Action, slot):
    """The channelbag holding ``slot``'s F-curves in ``action`` (created when missing)."""
    try:
        from bpy_extras.anim_utils import action_ensure_channelbag_for_slot
    except ImportError:  # Blender 4.4 / 4.5
        layer = action.layers[0] if action.layers else action.layers.new("Layer")
        strip = layer.strips[0] if layer.strips else layer.strips.new(type="KEYFRAME")
        return strip.channelbag(slot, ensure=True)
    return action_ensure_channelbag_for_slot(action, slot)


def action_fcurves(action: bpy.types.Action, slot) -> list:
    """The F-curves of ``slot`` in ``action`` (4.2/4.3: the action's own list)."""
    if slot is None or not hasattr(action, "slots"):
        return list(getattr(action, "fcurves", ()))
    try:
        from bpy_extras.anim_utils import action_get_channelbag_for_slot
    except ImportError:  # Blender 4.4
        for layer in action.layers:
            for strip in layer.strips:
                bag = strip.channelbag(slot)
                if bag is not None:
                    return list(bag.fcurves)
        return []
    bag = action_get_channelbag_for_slot(action, slot)
    return list(bag.fcurves) if bag is not None else []


def scene_fps(scene: bpy.types.Scene) -> float:
    """The scene's effective frame rate (``fps / fps_base``)."""
    from diffusiontalker.bake.timing import scene_fps as fps_of

    return fps_of(scene.render.fps, scene.render.fps_base)
