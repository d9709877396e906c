"""Blender tests run against the ``bpy`` module: the add-on is registered once per session
(from the checkout, as ``diffusiontalker_blender``) and each test starts from an empty scene."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")
sys.path.insert(0, str(Path(__file__).parent))

from fakes import SpeechTalker  # noqa: E402

ADDON_DIR = Path(__file__).resolve().parents[2] / "blender_addon"
ADDON_MODULE = "diffusiontalker_blender"


def import_addon():
    """Import the checkout's ``blender_addon/`` as ``diffusiontalker_blender`` (a name of its
    own, as Blender gives an extension one, so that its relative imports work)."""
    if ADDON_MODULE in sys.modules:
        return sys.modules[ADDON_MODULE]
    spec = importlib.util.spec_from_file_location(
        ADDON_MODULE, ADDON_DIR / "__init__.py", submodule_search_locations=[str(ADDON_DIR)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[ADDON_MODULE] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[ADDON_MODULE]
        raise
    return module


@pytest.fixture(scope="session")
def addon():
    module = import_addon()
    module.register()
    return module


@pytest.fixture
def fresh(addon, tmp_path):
    """An empty scene, no job, and a controlled channel model; yields the add-on package."""
    from diffusiontalker_blender import jobs, model_cache

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.scene.render.fps, bpy.context.scene.render.fps_base = 30, 1.0
    jobs._current = None
    model_cache.use_talker(SpeechTalker())
    yield addon
    job = jobs.current()
    if job is not None:
        job.cancel()
        job.wait(5)
        jobs._current = None
    model_cache.use_talker(None)


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory) -> dict:
    """Tiny random-weight checkpoints made with the core's own API (channels; 49-vertex)."""
    from diffusiontalker.network.checkpoint import save_model
    from diffusiontalker.network.factory import random_model

    folder = tmp_path_factory.mktemp("tiny_ckpt")
    out = {"channels": folder / "channels.safetensors", "vertices": folder / "vertices.safetensors"}
    save_model(random_model("channels"), out["channels"])
    save_model(random_model("vertices", num_vertices=49, pca_components=6), out["vertices"])
    return {k: str(v) for k, v in out.items()}
