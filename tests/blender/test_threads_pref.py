"""The Threads preference (0 = automatic) reaches load_talker through model_cache, and a
change of it loads the model again."""

from __future__ import annotations

from types import SimpleNamespace


def test_threads_reach_load_talker_and_a_change_reloads(addon, monkeypatch):
    from diffusiontalker_blender import model_cache, prefs

    from diffusiontalker.runtime import loader

    assert "threads" in prefs.DT_Preferences.bl_rna.properties
    assert prefs.DT_Preferences.bl_rna.properties["threads"].hard_min == 0
    calls = []

    def load_talker(checkpoint, **kwargs):
        calls.append(kwargs.get("threads"))
        return SimpleNamespace(device_report="cpu")

    monkeypatch.setattr(loader, "load_talker", load_talker)
    model_cache.use_talker(None)
    model_cache.forget()
    try:
        model_cache.set_threads(3)
        first = model_cache.get_talker("", "CPU", "torch", "")
        assert model_cache.get_talker("", "CPU", "torch", "") is first
        model_cache.set_threads(0)
        model_cache.get_talker("", "CPU", "torch", "")
        model_cache.get_talker("", "CPU", "torch", "", threads=2)
        assert calls == [3, None, 2]
        prefs.runtime_choice()  # reads the preference (0 = automatic when not enabled)
        assert model_cache._threads == 0
    finally:
        model_cache.set_threads(0)
        model_cache.forget()
