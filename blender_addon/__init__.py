"""DiffusionTalker Blender extension (glue only: the maths lives in the `diffusiontalker` core).

Registering imports no torch: the model is loaded lazily, off the main thread, on the first
Generate (or Load Model).
"""

from __future__ import annotations

_registered = False


def _modules():
    from . import landmarks_ui, operators, operators_identity, panel, panel_landmarks, prefs, props

    return props, prefs, operators, operators_identity, panel, landmarks_ui, panel_landmarks


def register() -> None:
    global _registered
    import bpy

    if _registered:
        return
    for module in _modules():
        for cls in module.classes:
            bpy.utils.register_class(cls)
        if hasattr(module, "register"):
            module.register()
    _registered = True


def unregister() -> None:
    global _registered
    import bpy

    if not _registered:
        return
    for module in reversed(_modules()):
        if hasattr(module, "unregister"):
            module.unregister()
        for cls in reversed(module.classes):
            bpy.utils.unregister_class(cls)
    _registered = False
