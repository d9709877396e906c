"""Landmarks a user can set: find them, assign the selected vertex, clear, see them drawn.

The landmarks the rig needs (``diffusiontalker.head.LANDMARK_NAMES``: mouth corners, inner
and outer lip midlines, chin, jaw pivots near the ears, eyes, lids, eye corners, brows, nose
tip) are stored on the object as ``obj["diffusiontalker_landmarks"]`` (``{name: vertex
index}``); Generate uses them and finds only the ones not set. **Find Landmarks** proposes
them from the geometry (in any orientation: the face frame of ``head.face_frame``); in Edit
Mode, select a vertex and **Assign** it to a landmark; **Clear** forgets one (Generate finds
it again). The overlay draws the set ones in the 3D View (a ``SpaceView3D`` draw handler with
``gpu`` batches; under the ``bpy`` module in background nothing is ever drawn).

From Python::

    from <the add-on's package>.landmarks_ui import set_landmarks, get_landmarks
    set_landmarks(obj, {"chin": 1234, "jaw_pivot_L": 567})
    bpy.ops.diffusiontalker.set_landmark(name="chin", index=1234)  # index -1: the selection
    bpy.ops.diffusiontalker.find_landmarks(replace=False)  # propose the ones not set
    bpy.ops.diffusiontalker.clear_landmark(name="chin")  # name "": all of them
"""

from __future__ import annotations

import bpy
import numpy as np
from bpy.props import BoolProperty, EnumProperty, IntProperty, StringProperty

from diffusiontalker.errors import DiffusionTalkerError, TopologyError
from diffusiontalker.head.landmarks import LANDMARK_NAMES, check_known

from .targets import LANDMARKS_PROP, stored_landmarks, target_info

SHOW_PROP = "diffusiontalker_show_landmarks"  # WindowManager: the overlay on/off


def get_landmarks(obj) -> dict[str, int]:
    """The landmarks stored on ``obj`` (``{name: vertex index}``)."""
    return stored_landmarks(obj)


def set_landmarks(obj, landmarks: dict[str, int], replace: bool = False) -> dict[str, int]:
    """Store ``landmarks`` on the mesh ``obj`` (merged with those already set unless
    ``replace``); returns all stored. Unknown names or vertex indices outside the mesh are a
    clear error, and then nothing is stored."""
    if obj is None or obj.type != "MESH":
        raise TopologyError("landmarks are set on a mesh object")
    new = check_known(landmarks, len(obj.data.vertices))
    merged = new if replace else {**stored_landmarks(obj), **new}
    obj[LANDMARKS_PROP] = merged
    return merged


def clear_landmarks(obj, names=None) -> None:
    """Forget the landmarks ``names`` (None: all) on ``obj``."""
    if names is None:
        obj.pop(LANDMARKS_PROP, None)
        return
    left = {k: v for k, v in stored_landmarks(obj).items() if k not in set(names)}
    if left:
        obj[LANDMARKS_PROP] = left
    else:
        obj.pop(LANDMARKS_PROP, None)


def propose_landmarks(obj, replace: bool = False) -> dict[str, int]:
    """Find the landmarks on ``obj`` as it is placed (any orientation) and store them; those
    already set are kept unless ``replace``. Returns the ones found (newly stored)."""
    from diffusiontalker.head.placement import locate, outward_faces, placed_vertices

    info = target_info(obj)
    known = {} if replace else stored_landmarks(obj)
    placed = placed_vertices(info.vertices, info.matrix).astype(np.float32).astype(np.float64)
    found, _ = locate(placed, outward_faces(placed, info.faces), known)
    set_landmarks(obj, found, replace=True)
    return {k: v for k, v in found.items() if k not in known}


def selected_vertex(obj) -> int:
    """The selected vertex of ``obj``: the active one in Edit Mode, else the only selected."""
    if obj.mode == "EDIT":
        import bmesh

        bm = bmesh.from_edit_mesh(obj.data)
        active = bm.select_history.active
        if isinstance(active, bmesh.types.BMVert) and active.select:
            return active.index
        chosen = [v.index for v in bm.verts if v.select]
    else:
        flags = np.zeros(len(obj.data.vertices), bool)
        obj.data.vertices.foreach_get("select", flags)
        chosen = np.flatnonzero(flags).tolist()
    if len(chosen) != 1:
        raise DiffusionTalkerError(f"select one vertex in Edit Mode ({len(chosen)} are selected)")
    return int(chosen[0])


def overlay_points(obj) -> list[tuple[str, tuple[float, float, float]]]:
    """``(name, world position)`` of each landmark set on ``obj`` (what the overlay draws)."""
    marks = stored_landmarks(obj) if obj is not None and obj.type == "MESH" else {}
    if not marks:
        return []
    if obj.mode == "EDIT":
        import bmesh

        bm = bmesh.from_edit_mesh(obj.data)
        bm.verts.ensure_lookup_table()
        co = lambda i: bm.verts[i].co  # noqa: E731
    else:
        co = lambda i: obj.data.vertices[i].co  # noqa: E731
    count = len(obj.data.vertices) if obj.mode != "EDIT" else len(bm.verts)
    world = obj.matrix_world
    return [(name, tuple(world @ co(i))) for name, i in sorted(marks.items()) if 0 <= i < count]


_handlers: list = []
_COLOUR = (1.0, 0.55, 0.1, 1.0)


def _draw_points() -> None:  # POST_VIEW: runs only where Blender draws a 3D View
    wm = bpy.context.window_manager
    points = overlay_points(bpy.context.active_object) if getattr(wm, SHOW_PROP, False) else []
    if not points:
        return
    import gpu
    from gpu_extras.batch import batch_for_shader

    try:
        shader = gpu.shader.from_builtin("POINT_UNIFORM_COLOR")
    except ValueError:  # older name
        shader = gpu.shader.from_builtin("UNIFORM_COLOR")
    batch = batch_for_shader(shader, "POINTS", {"pos": [p for _, p in points]})
    gpu.state.point_size_set(9.0)
    gpu.state.depth_test_set("NONE")
    shader.uniform_float("color", _COLOUR)
    batch.draw(shader)
    gpu.state.point_size_set(1.0)


def _draw_labels() -> None:  # POST_PIXEL: the names beside the points
    wm = bpy.context.window_manager
    points = overlay_points(bpy.context.active_object) if getattr(wm, SHOW_PROP, False) else []
    region, r3d = bpy.context.region, bpy.context.region_data
    if not points or region is None or r3d is None:
        return
    import blf
    from bpy_extras.view3d_utils import location_3d_to_region_2d

    blf.size(0, 11)
    blf.color(0, *_COLOUR)
    for name, p in points:
        xy = location_3d_to_region_2d(region, r3d, p)
        if xy is not None:
            blf.position(0, xy[0] + 6, xy[1] + 4, 0)
            blf.draw(0, name)


def _mesh_poll(cls, context) -> bool:
    obj = context.active_object
    if obj is None or obj.type != "MESH":
        cls.poll_message_set("Select the head mesh")
        return False
    return True


class DT_OT_find_landmarks(bpy.types.Operator):
    """Find the landmarks on the active mesh from its geometry, in any orientation (those you
    set are kept unless Replace)"""

    bl_idname = "diffusiontalker.find_landmarks"
    bl_label = "Find Landmarks"
    bl_options = {"REGISTER", "UNDO"}

    replace: BoolProperty(name="Replace", default=False,
                          description="Find every landmark again, also those you set")

    @classmethod
    def poll(cls, context):
        return _mesh_poll(cls, context)

    def execute(self, context):
        obj = context.active_object
        if obj.mode == "EDIT":
            obj.update_from_editmode()
        try:
            found = propose_landmarks(obj, self.replace)
        except DiffusionTalkerError as exc:
            self.report({"ERROR"}, f"{exc}. Select a vertex in Edit Mode and assign the "
                                   "landmarks that were not found")
            return {"CANCELLED"}
        self.report({"INFO"}, f"found {len(found)} landmarks on '{obj.name}'; "
                              f"{len(get_landmarks(obj))} of {len(LANDMARK_NAMES)} are set")
        return {"FINISHED"}


class DT_OT_set_landmark(bpy.types.Operator):
    """Assign the selected vertex (Edit Mode) to this landmark"""

    bl_idname = "diffusiontalker.set_landmark"
    bl_label = "Assign Landmark"
    bl_options = {"REGISTER", "UNDO"}

    name: EnumProperty(name="Landmark", items=[(n, n, "") for n in LANDMARK_NAMES])
    index: IntProperty(name="Vertex", default=-1, min=-1,
                       description="Vertex index (-1: the selected vertex in Edit Mode)")

    @classmethod
    def poll(cls, context):
        return _mesh_poll(cls, context)

    def execute(self, context):
        obj = context.active_object
        if obj.mode == "EDIT":
            obj.update_from_editmode()  # the vertex count as edited
        try:
            index = self.index if self.index >= 0 else selected_vertex(obj)
            set_landmarks(obj, {self.name: index})
        except DiffusionTalkerError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"{self.name} = vertex {index}")
        return {"FINISHED"}


class DT_OT_clear_landmark(bpy.types.Operator):
    """Forget this landmark (Generate finds it again); with no name, all of them"""

    bl_idname = "diffusiontalker.clear_landmark"
    bl_label = "Clear Landmark"
    bl_options = {"REGISTER", "UNDO"}

    name: StringProperty(name="Landmark", description="The landmark to clear (empty: all)")

    @classmethod
    def poll(cls, context):
        return _mesh_poll(cls, context)

    def execute(self, context):
        if self.name and self.name not in LANDMARK_NAMES:
            self.report({"ERROR"}, f"unknown landmark '{self.name}'")
            return {"CANCELLED"}
        clear_landmarks(context.active_object, [self.name] if self.name else None)
        return {"FINISHED"}


class DT_OT_select_landmark(bpy.types.Operator):
    """Select this landmark's vertex (Edit Mode) to see where it is"""

    bl_idname = "diffusiontalker.select_landmark"
    bl_label = "Select Landmark Vertex"
    bl_options = {"REGISTER", "UNDO"}

    name: EnumProperty(name="Landmark", items=[(n, n, "") for n in LANDMARK_NAMES])

    @classmethod
    def poll(cls, context):
        obj = context.active_object
        if not _mesh_poll(cls, context):
            return False
        if obj.mode != "EDIT":
            cls.poll_message_set("Enter Edit Mode to select vertices")
            return False
        return True

    def execute(self, context):
        import bmesh

        obj = context.active_object
        index = stored_landmarks(obj).get(self.name)
        bm = bmesh.from_edit_mesh(obj.data)
        if index is None or not 0 <= index < len(bm.verts):
            self.report({"ERROR"}, f"{self.name} is not set on '{obj.name}'")
            return {"CANCELLED"}
        bm.verts.ensure_lookup_table()
        for v in bm.verts:
            v.select_set(False)
        bm.select_flush(False)
        bm.verts[index].select_set(True)
        bm.select_history.clear()
        bm.select_history.add(bm.verts[index])
        bmesh.update_edit_mesh(obj.data)
        return {"FINISHED"}


classes = (DT_OT_find_landmarks, DT_OT_set_landmark, DT_OT_clear_landmark, DT_OT_select_landmark)


def register() -> None:
    setattr(bpy.types.WindowManager, SHOW_PROP, BoolProperty(
        name="Show Landmarks", default=True,
        description="Draw the landmarks set on the active mesh in the 3D View"))
    space = bpy.types.SpaceView3D
    _handlers[:] = [space.draw_handler_add(_draw_points, (), "WINDOW", "POST_VIEW"),
                    space.draw_handler_add(_draw_labels, (), "WINDOW", "POST_PIXEL")]


def unregister() -> None:
    for handler in _handlers:
        bpy.types.SpaceView3D.draw_handler_remove(handler, "WINDOW")
    _handlers.clear()
    delattr(bpy.types.WindowManager, SHOW_PROP)
