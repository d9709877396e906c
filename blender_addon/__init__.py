"""DiffusionTalker Blender extension (glue only: the maths lives in the `diffusiontalker` core).

Registering imports no torch: the model is loaded lazily, off the main thread, on the first
Generate (or Load Model).
"""

from __future__ import annotations

_registered = False


def _modules():
    from . import operators, panel, prefs, props

    return props, prefs, operators, panel


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
