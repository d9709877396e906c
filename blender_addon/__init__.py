"""DiffusionTalker Blender extension (glue only: the maths lives in the `diffusiontalker` core)."""

_classes: list = []


def register() -> None:
    import bpy

    for cls in _classes:
        bpy.utils.register_class(cls)


def unregister() -> None:
    import bpy

    for cls in reversed(_classes):
        bpy.utils.unregister_class(cls)
