"""The demo scene: demo head + a speech strip + camera and light, and its Workbench render.

Used by the ``diffusiontalker demo`` command (headless, through the ``bpy`` module) and by
the "Add Demo Head" operator.
"""

from __future__ import annotations

import os

import bpy
import numpy as np
from mathutils import Vector

from . import compat


def add_demo_head(context) -> bpy.types.Object:
    """The procedural demo head with one shape key per ARKit channel (all 52), made active."""
    from diffusiontalker.channels import ARKIT_CHANNELS
    from diffusiontalker.head import build_demo_head, build_rig

    from .head_object import create_head_object

    head = build_demo_head()
    rig = build_rig(head.vertices, head.faces, head.landmarks, ARKIT_CHANNELS)
    obj = create_head_object(context, head, rig)
    for other in context.view_layer.objects:
        other.select_set(False)
    obj.select_set(True)
    context.view_layer.objects.active = obj
    return obj


def build_demo_scene(audio_path: str, fps: int = 30):
    """Empty scene at ``fps`` with the demo head and ``audio_path`` as a strip at frame 1."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = fps, 1.0
    head = add_demo_head(bpy.context)
    strip = compat.new_sound_strip(scene, "speech", audio_path, 1, 1)
    scene.diffusiontalker.strip = strip.name
    scene.diffusiontalker.head_motion = True  # the demo nods and turns (the panel: off)
    timing = compat.strip_timing(strip)
    scene.frame_start, scene.frame_end = int(timing.left_handle), int(timing.right_handle) - 1
    add_camera_and_light(scene, head)
    return head, strip


def add_camera_and_light(scene, head) -> None:
    """An orthographic camera framing the head from the front (-Y), and the light rig."""
    corners = np.array([head.matrix_world @ Vector(c) for c in head.bound_box])
    lo, hi = corners.min(0), corners.max(0)
    centre = (lo + hi) / 2
    cam_data = bpy.data.cameras.new("DT Camera")
    cam_data.type = "ORTHO"
    cam_data.ortho_scale = 1.1 * float(max(hi[0] - lo[0], hi[2] - lo[2]))
    cam = bpy.data.objects.new("DT Camera", cam_data)
    scene.collection.objects.link(cam)
    cam.location = (centre[0], lo[1] - 1.0, centre[2])
    cam.rotation_euler = (np.pi / 2, 0.0, 0.0)  # looking along +Y at the face
    scene.camera = cam
    add_light_rig(scene)


# Sun lights (strength in W/m², direction as Euler XYZ radians) and the world's ambient light:
# a soft key from the upper left, a weaker fill from the right, a rim from behind. Suns light
# every head of a grid alike; the view transform is AgX (Blender's default).
LIGHT_RIG = (
    ("DT Key", 3.2, (0.85, 0.0, -0.55), 12.0),
    ("DT Fill", 0.9, (1.2, 0.0, 0.9), 30.0),
    ("DT Rim", 2.0, (-1.05, 0.0, -0.48), 8.0),
)
WORLD_AMBIENT = ((0.60, 0.64, 0.70), 0.35)


def add_light_rig(scene) -> None:
    """Key, fill and rim suns plus a dim world (EEVEE and Cycles; Workbench uses its own
    studio light)."""
    for name, strength, rotation, angle in LIGHT_RIG:
        light = bpy.data.lights.new(name, "SUN")
        light.energy = strength
        light.angle = np.radians(angle)
        obj = bpy.data.objects.new(name, light)
        obj.rotation_euler = rotation
        scene.collection.objects.link(obj)
    if scene.world is None:
        scene.world = bpy.data.worlds.new("DT World")
    colour, strength = WORLD_AMBIENT
    scene.world.color = colour
    if not scene.world.use_nodes:  # Blender < 5.0
        scene.world.use_nodes = True
    background = next((n for n in scene.world.node_tree.nodes
                       if n.bl_idname == "ShaderNodeBackground"), None)
    if background is not None:
        background.inputs["Color"].default_value = (*colour, 1.0)
        background.inputs["Strength"].default_value = strength


def setup_workbench(scene, size: int = 480) -> None:
    """Workbench with studio light, material colours and cavity (the docs' look)."""
    scene.render.engine = "BLENDER_WORKBENCH"
    shading = scene.display.shading
    shading.light = "STUDIO"
    shading.color_type = "MATERIAL"
    shading.show_cavity = True
    shading.cavity_type = "WORLD"
    if scene.world is None:
        scene.world = bpy.data.worlds.new("DT World")
    scene.world.color = (0.78, 0.80, 0.83)
    scene.view_settings.view_transform = "Standard"
    scene.render.resolution_x = scene.render.resolution_y = size
    scene.render.resolution_percentage = 100


def render_still(path: str, frame: int, size: int = 480) -> str:
    """Render one Workbench frame to a PNG."""
    scene = bpy.context.scene
    setup_workbench(scene, size)
    scene.frame_set(frame)
    scene.render.image_settings.file_format = "PNG"
    scene.render.filepath = os.path.abspath(path)
    bpy.ops.render.render(write_still=True)
    return scene.render.filepath


def render_video(path: str, size: int = 360, max_frames: int | None = None) -> str:
    """Render the scene's frame range as an MPEG-4 video with the strip's sound."""
    scene = bpy.context.scene
    setup_workbench(scene, size)
    if max_frames is not None:
        scene.frame_end = min(scene.frame_end, scene.frame_start + max_frames - 1)
    settings = scene.render.image_settings
    if hasattr(settings, "media_type"):  # Blender 5.0 splits image / video output
        settings.media_type = "VIDEO"
    settings.file_format = "FFMPEG"
    scene.render.ffmpeg.format = "MPEG4"
    scene.render.ffmpeg.codec = "H264"
    scene.render.ffmpeg.audio_codec = "AAC"
    scene.render.filepath = os.path.abspath(path)
    bpy.ops.render.render(animation=True)
    return scene.render.frame_path()
