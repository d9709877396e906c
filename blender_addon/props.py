"""The panel's settings, stored per scene (``scene.diffusiontalker``)."""

from __future__ import annotations

import bpy
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

from diffusiontalker.identity_choice import format_blend

from . import compat, model_cache, strips
from .layering import LAYERING_ITEMS

IDENTITY_MODES = [
    ("NONE", "Neutral", "No identity: the model's average speaking style"),
    ("SINGLE", "Library", "One identity from the model's library"),
    ("BLEND", "Blend", "A weighted blend of library identities (sliders)"),
    ("MATCH", "Match Audio", "Pick the identity whose style best matches the voice"),
]

OUTPUT_MODE_ITEMS = [
    ("AUTO", "Automatic", "Channel keys for channel models, basis shapes for vertex models"),
    ("CHANNEL_KEYS", "Channel Keys", "Keyframes on shape keys named after the channels"),
    ("BASIS", "Basis Shapes", "A few basis shape keys with one weight curve each (compact)"),
    ("PER_FRAME", "Shape Key per Frame", "One shape key per frame (large, simple)"),
    ("POINT_CACHE", "Point Cache", "A .pc2 file beside the .blend and a Mesh Cache modifier"),
]

_identity_items: list = []  # Blender needs Python to keep dynamic enum strings alive
_strip_items: list = []
AUTO_STRIP = "__AUTO__"  # the picker's "Automatic" entry: the selected or only sound strip


def identity_items(_self, _context):
    talker = model_cache.loaded_talker()
    names = list(getattr(talker, "identities", []) or [])
    _identity_items[:] = [(n, n, f"Identity '{n}' from the library") for n in names]
    return _identity_items or [("", "(load the model)", "The library appears once the model is loaded")]


class DT_IdentityWeight(bpy.types.PropertyGroup):
    weight: FloatProperty(name="Weight", min=0.0, max=1.0, default=0.0,
                          description="How much of this identity goes into the blend")


class DT_IdentityMatch(bpy.types.PropertyGroup):
    score: FloatProperty(name="Score", description="Similarity between voice and identity")


def _get_strip(settings) -> str:
    """The chosen strip's current name: found by its stable id, so renaming it in the
    sequencer keeps the choice; the stored name when the id finds nothing."""
    found = strips.strip_by_reference(settings.id_data, settings.strip_id, settings.strip_name)
    return found.name if found is not None else settings.strip_name


def _set_strip(settings, name: str) -> None:
    settings.strip_name = name
    found = compat.find_strip(settings.id_data, name) if name else None
    usable = found is not None and found.type == "SOUND"
    settings.strip_id = strips.strip_reference(found) if usable else ""


def strip_picker_items(settings, _context):
    """"Automatic" and each sound strip of the settings' scene (the panel's picker)."""
    auto = (AUTO_STRIP, "Automatic", "The selected sound strip, else the only one", "AUTO", 0)
    sounds = compat.sound_strips(settings.id_data)
    _strip_items[:] = [auto] + [(s.name, s.name, f"Sound strip '{s.name}' (channel {s.channel})"
                                 + (", muted" if s.mute else ""), "SOUND", i + 1)
                                for i, s in enumerate(sounds)]
    return _strip_items


def _get_picker(settings) -> int:
    name = settings.strip
    for item in strip_picker_items(settings, None):
        if name and item[0] == name:
            return item[4]
    return 0


def _set_picker(settings, value: int) -> None:
    for item in strip_picker_items(settings, None):
        if item[4] == value:
            settings.strip = "" if item[0] == AUTO_STRIP else item[0]
            return


class DT_Settings(bpy.types.PropertyGroup):
    strip: StringProperty(name="Sound Strip", get=_get_strip, set=_set_strip,
                          description="The sound strip to animate to (empty: the selected "
                                      "sound strip, else the only one)")
    strip_name: StringProperty(name="Strip Name", options={"HIDDEN"},
                               description="The chosen strip's name when it was chosen")
    strip_id: StringProperty(name="Strip Id", options={"HIDDEN"},
                             description="The chosen strip's stable id (survives renaming)")
    strip_picker: EnumProperty(name="Sound Strip", items=strip_picker_items,
                               get=_get_picker, set=_set_picker,
                               description="The sound strip to animate to")
    layering: EnumProperty(name="Layering", items=LAYERING_ITEMS, default="ON_TOP",
                           description="When an action of yours on the shape keys keys a "
                                       "channel Generate writes")
    warning: StringProperty(name="Warning", description="What the last Generate warned about")
    identity_mode: EnumProperty(name="Identity", items=IDENTITY_MODES, default="NONE")
    identity: EnumProperty(name="Library", items=identity_items,
                           description="Speaking style from the model's identity library")
    blend: CollectionProperty(type=DT_IdentityWeight)
    matches: CollectionProperty(type=DT_IdentityMatch)
    style_strength: FloatProperty(name="Style Strength", min=0.0, max=2.0, default=1.0,
                                  description="How strongly the identity's style shows")
    use_model_steps: BoolProperty(
        name="Model Default Steps", default=True,
        description="Use the number of denoising steps stored in the model's checkpoint "
                    "(what the model was made for); off: the Steps below")
    steps: IntProperty(name="Steps", min=1, max=1000, default=8,
                       description="Denoising steps when 'Model Default Steps' is off "
                                   "(fewer: faster and rougher)")
    seed: IntProperty(name="Variation", min=0, default=0,
                      description="Seed: other values give other takes of the same speech")
    output_mode: EnumProperty(name="Output", items=OUTPUT_MODE_ITEMS, default="AUTO")
    keep_keys: BoolProperty(name="Keep My Keys", default=False,
                            description="Your keys on the channel shape keys inside the strip "
                                        "(in your action, or typed Keyframe in the take) are "
                                        "kept: the new take passes through them")
    transcript: StringProperty(name="Dialog",
                               description="What is said (English). Aligned to the audio, it "
                                           "makes /p b m/ close, /f v/ tuck and rounded vowels "
                                           "pucker; if it does not match, you are told")
    transcript_text: PointerProperty(name="Dialog Text", type=bpy.types.Text,
                                     description="A text datablock holding the dialog (wins "
                                                 "over the field)")
    takes: IntProperty(name="Takes", min=1, max=16, default=1,
                       description="Takes to sample together (Variation, Variation+1, ...): "
                                   "the first plays, the others are listed to swap in")
    head_motion: BoolProperty(
        name="Head Motion", default=False,
        description="Also turn the head (the model's yaw, pitch and roll) with rotation keys: "
                    "on the head object's delta rotation about the neck (your own transform "
                    "and keys stay), or on the Head Bone of its armature. Off: the head stays")
    head_bone: StringProperty(
        name="Head Bone",
        description="A pose bone of the head mesh's armature to turn for Head Motion (empty: "
                    "the head object's delta rotation)")
    status: StringProperty(name="Status")
    error: StringProperty(name="Error")


def blend_string(settings) -> str:
    """The blend sliders as ``name=weight,...`` (non-zero weights only; the core's syntax)."""
    return format_blend({w.name: w.weight for w in settings.blend if w.weight > 0})


def dialog_text(settings) -> str:
    """The dialog for Generate: the chosen text datablock's text, else the field."""
    text = settings.transcript_text
    return text.as_string() if text is not None else settings.transcript


def model_steps_text(talker=None) -> str:
    """The panel's line for "model default" steps, e.g. ``Steps: model default (8)``: the
    count in the loaded model's checkpoint, or a note that it is read when the model loads."""
    talker = model_cache.loaded_talker() if talker is None else talker
    try:
        steps = int(talker.default_steps) if talker is not None else None
    except (AttributeError, TypeError, ValueError):
        steps = None
    return (f"Steps: model default ({steps})" if steps is not None
            else "Steps: model default (read when the model loads)")


def sync_library(settings, talker) -> None:
    """Give the blend sliders one entry per library identity (keeping existing weights)."""
    names = list(getattr(talker, "identities", []) or [])
    old = {w.name: w.weight for w in settings.blend}
    settings.blend.clear()
    for name in names:
        item = settings.blend.add()
        item.name, item.weight = name, old.get(name, 0.0)


classes = (DT_IdentityWeight, DT_IdentityMatch, DT_Settings)


def register() -> None:
    bpy.types.Scene.diffusiontalker = bpy.props.PointerProperty(type=DT_Settings)


def unregister() -> None:
    del bpy.types.Scene.diffusiontalker
