"""The Talker panel's Landmarks sub-panel: find, assign, clear and show the landmarks the rig
needs (operators and overlay in ``landmarks_ui.py``)."""

from __future__ import annotations

import bpy

from diffusiontalker.head.landmarks import LANDMARK_NAMES

from .landmarks_ui import SHOW_PROP, get_landmarks

GROUPS = (  # how the panel lists them (every name of LANDMARK_NAMES once)
    ("Mouth", ("mouth_corner_L", "mouth_corner_R", "upper_lip_inner", "upper_lip_outer",
               "lower_lip_inner", "lower_lip_outer")),
    ("Jaw", ("chin", "jaw_pivot_L", "jaw_pivot_R")),
    ("Eyes", ("eye_L", "eye_R", "eye_upper_L", "eye_upper_R", "eye_lower_L", "eye_lower_R",
              "eye_inner_L", "eye_inner_R", "eye_outer_L", "eye_outer_R")),
    ("Brows and nose", ("brow_inner_L", "brow_inner_R", "brow_outer_L", "brow_outer_R",
                        "nose_tip")),
)


class DT_PT_landmarks(bpy.types.Panel):
    bl_label = "Landmarks"
    bl_idname = "DT_PT_landmarks"
    bl_parent_id = "DT_PT_talker"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Talker"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        obj = context.active_object
        if obj is None or obj.type != "MESH":
            layout.label(text="Select the head mesh", icon="INFO")
            return
        marks = get_landmarks(obj)
        layout.label(text=f"{len(marks)} of {len(LANDMARK_NAMES)} set; Generate finds the rest")
        row = layout.row(align=True)
        row.operator("diffusiontalker.find_landmarks", text="Find Missing", icon="VIEWZOOM")
        op = row.operator("diffusiontalker.find_landmarks", text="Find All")
        op.replace = True
        layout.prop(context.window_manager, SHOW_PROP)
        editing = obj.mode == "EDIT"
        if not editing:
            layout.label(text="Edit Mode: select a vertex, then Assign", icon="EDITMODE_HLT")
        for title, names in GROUPS:
            col = layout.column(align=True)
            col.label(text=title)
            for name in names:
                self._draw_row(col, name, marks.get(name), editing)
        if marks:
            layout.operator("diffusiontalker.clear_landmark", text="Clear All",
                            icon="X").name = ""

    def _draw_row(self, col, name: str, index, editing: bool) -> None:
        row = col.row(align=True)
        row.label(text=f"{name}: {index}" if index is not None else f"{name}: -",
                  icon="CHECKMARK" if index is not None else "BLANK1")
        sub = row.row(align=True)
        sub.enabled = editing
        sub.operator("diffusiontalker.set_landmark", text="Assign").name = name
        if index is not None:
            show = sub.operator("diffusiontalker.select_landmark", text="", icon="RESTRICT_SELECT_OFF")
            show.name = name
            row.operator("diffusiontalker.clear_landmark", text="", icon="X").name = name


classes = (DT_PT_landmarks,)
