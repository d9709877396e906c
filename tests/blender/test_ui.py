"""The panel and preferences draw without errors in each state (a recording layout stands in
for Blender's UI, which the bpy module cannot show), and disabled buttons say why."""

from __future__ import annotations

import bpy
from scene_utils import add_strip, make_channel_head, write_speech_wav


class RecordingLayout:
    """Accepts every layout call; records labels, operators and props that were drawn."""

    def __init__(self, log=None):
        self.log = log if log is not None else []
        self.enabled = True

    def __getattr__(self, name):
        def call(*args, **kw):
            self.log.append((name, args[1] if name in ("prop", "prop_search") and len(args) > 1
                             else (args[0] if args else kw.get("text"))))
            if name in ("box", "row", "column", "split", "column_flow", "grid_flow"):
                return RecordingLayout(self.log)
            return _Props()
        return call


class _Props:
    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)


def _draw(panel_cls, context, **attrs) -> list:
    """Call ``panel_cls.draw`` on a stand-in ``self`` that has the class's helper methods (and
    ``attrs`` as its property values)."""
    layout = RecordingLayout()
    methods = {k: v for k, v in vars(panel_cls).items() if callable(v) and k != "draw"}
    fake_self = type("P", (), {**methods, **attrs, "layout": layout})()
    panel_cls.draw(fake_self, context)
    return layout.log


def test_panel_draws_in_every_state(fresh, tmp_path):
    from diffusiontalker_blender import model_cache
    from diffusiontalker_blender.panel import DT_PT_talker

    model_cache.use_talker(None)
    model_cache.forget()
    log = _draw(DT_PT_talker, bpy.context)  # empty scene, no model
    assert ("label", "Select a mesh to animate") in log
    head = make_channel_head()
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    log = _draw(DT_PT_talker, bpy.context)
    assert ("operator", "diffusiontalker.load_model") in log
    assert ("operator", "diffusiontalker.generate") in log
    from fakes import SpeechTalker, VertexTalker

    model_cache.use_talker(SpeechTalker())
    s = bpy.context.scene.diffusiontalker
    s.identity_mode = "BLEND"
    from diffusiontalker_blender.props import sync_library

    sync_library(s, model_cache.loaded_talker())
    log = _draw(DT_PT_talker, bpy.context)
    assert ("label", "The model can drive this head") in log
    assert sum(1 for name, what in log if name == "prop" and what == "weight") == 3
    model_cache.use_talker(VertexTalker(5023))
    log = _draw(DT_PT_talker, bpy.context)
    assert any(name == "label" and "5023 vertices" in str(what) for name, what in log)
    s.error = "the sound file was not found: /x.wav"
    log = _draw(DT_PT_talker, bpy.context)
    assert any(name == "label" and "not found" in str(what) for name, what in log)
    assert head.name == "Head"


def test_preferences_draw_and_diagnostics(fresh):
    from diffusiontalker_blender import prefs

    log = _draw(prefs.DT_Preferences, bpy.context, runtime="AUTO", worker_python="")
    drawn = {what for name, what in log if name == "prop"}
    assert {"device", "runtime", "checkpoint", "cache_dir", "log_level"} <= drawn
    assert "worker_python" not in drawn
    assert ("operator", "diffusiontalker.copy_diagnostics") in log
    text = prefs.diagnostics()
    assert "Blender 5.0" in text and "Python 3.11" in text and "numpy 1.26" in text
    assert prefs.cache_folder()


def test_worker_runtime_preference_reaches_the_loader(fresh, monkeypatch):
    """Runtime "Worker Process" shows the Python to use (with a warning while it is empty) and
    Load Model loads through ``load_talker(runtime="worker", python=...)`` (the preferences
    are read on the main thread and handed to the model cache)."""
    from types import SimpleNamespace

    from diffusiontalker_blender import model_cache, prefs

    import diffusiontalker.runtime.loader as loader

    log = _draw(prefs.DT_Preferences, bpy.context, runtime="WORKER", worker_python="")
    assert ("prop", "worker_python") in log
    assert any(name == "label" and "Choose the Python" in str(what) for name, what in log)
    chosen = {"runtime": "WORKER", "worker_python": "/opt/cuda-env/bin/python"}
    monkeypatch.setattr(prefs, "setting", lambda name, default: chosen.get(name, default))
    calls = []
    monkeypatch.setattr(loader, "load_talker", lambda *a, **k: calls.append(k)
                        or SimpleNamespace(device_report="worker: cuda"))
    model_cache.use_talker(None)
    model_cache.forget()
    try:
        assert bpy.ops.diffusiontalker.load_model(blocking=True) == {"FINISHED"}
    finally:
        model_cache.forget()
    assert calls == [{"device": "auto", "runtime": "worker", "python": "/opt/cuda-env/bin/python"}]
    assert model_cache.found_device == "worker: cuda"
