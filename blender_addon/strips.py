"""Which sound strip Generate animates to.

* A chosen strip is remembered by a stable reference, not only its name: choosing it puts
  :data:`STRIP_ID` (a uuid) on the strip, and :func:`strip_by_reference` finds it again after
  the user renames it in the sequencer (falling back to the name).
* With no choice, :func:`choose_strip` takes the active selected sound strip, else the only
  selected one, else the only sound strip of the scene, else stops with a message that lists
  the candidates.
* A muted strip (or one on a muted channel) is refused with a message saying how to go on,
  unless the caller asks for it (``use_muted``).
"""

from __future__ import annotations

import uuid

from diffusiontalker.errors import AudioError

from . import compat

STRIP_ID = "diffusiontalker_strip_id"
_LISTED = 8  # candidates named in a message


def strip_reference(strip) -> str:
    """The strip's stable id (made and stored on the strip the first time)."""
    ref = strip.get(STRIP_ID)
    if not ref:
        ref = strip[STRIP_ID] = uuid.uuid4().hex
    return str(ref)


def strip_by_reference(scene, ref: str, name: str = ""):
    """The sound strip carrying ``ref`` (the one called ``name`` if copies share it), else
    the sound strip called ``name``, else None."""
    found = [s for s in compat.sound_strips(scene) if ref and s.get(STRIP_ID) == ref]
    for strip in found:
        if strip.name == name:
            return strip
    if found:
        return found[0]
    strip = compat.find_strip(scene, name) if name else None
    return strip if strip is not None and strip.type == "SOUND" else None


def _names(strips) -> str:
    names = [f"'{s.name}'" for s in strips[:_LISTED]]
    return ", ".join(names) + (f" and {len(strips) - _LISTED} more" if len(strips) > _LISTED
                               else "")


def automatic_strip(scene):
    """The strip an empty choice means (selected, else the only one), or None."""
    sounds = compat.sound_strips(scene)
    selected = [s for s in sounds if s.select]
    active = compat.active_strip(scene)
    if active is not None and any(s == active for s in selected):
        return active
    if len(selected) == 1:
        return selected[0]
    return sounds[0] if len(sounds) == 1 else None


def choose_strip(scene, name: str = "", use_muted: bool = False):
    """The sound strip to animate to (see the module's rules); raises ``AudioError`` with a
    clear message when there is none, the choice is ambiguous or the strip is muted."""
    sounds = compat.sound_strips(scene)
    if name:
        strip = compat.find_strip(scene, name)
        if strip is None or strip.type != "SOUND":
            have = f" (the scene has {_names(sounds)})" if sounds else ""
            raise AudioError(f"there is no sound strip called '{name}'{have}")
    else:
        if not sounds:
            raise AudioError("choose a sound strip (or add an audio file as a strip)")
        strip = automatic_strip(scene)
        if strip is None:
            raise AudioError(
                f"there are several sound strips ({_names(sounds)}): select one in the "
                f"sequencer, or pick it in the panel's Sound Strip field (from a script: "
                f"strip='NAME')")
    if not use_muted and compat.strip_is_muted(scene, strip):
        raise AudioError(
            f"the sound strip '{strip.name}' is muted: unmute it (or its channel) in the "
            f"sequencer, choose another strip, or generate from it anyway with use_muted=True "
            f"(Generate's 'Use Muted Strip' option)")
    return strip
