"""Heads: the procedural demo head, landmarks, the landmark rig and mesh reading (numpy only).

Axes everywhere: Blender's (metres, z up, face toward -Y, +X = subject's left); FLAME files
convert with :func:`flame_to_blender`.
"""

from .demo_head import HeadMesh, build_demo_head
from .face_frame import FaceFrame, find_face_frame
from .geometry import flame_to_blender
from .landmarks import LANDMARK_NAMES, find_landmarks
from .placement import PlacedRig, build_placed_rig
from .ply import read_mesh, read_obj, read_ply, write_ply
from .rig import Rig, build_rig

__all__ = [
    "HeadMesh", "build_demo_head", "flame_to_blender", "LANDMARK_NAMES", "find_landmarks",
    "read_mesh", "read_obj", "read_ply", "write_ply", "Rig", "build_rig",
    "FaceFrame", "find_face_frame", "PlacedRig", "build_placed_rig",
]
