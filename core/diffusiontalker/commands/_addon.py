"""Import the Blender add-on package (``blender_addon/``) from a source checkout.

The core never imports ``bpy``; the few CLI commands that drive Blender headlessly (``demo``,
``render-docs``) hand over to the add-on package, which lives beside ``core/`` in the
checkout. It is imported under the name ``diffusiontalker_blender`` so that its relative
imports work as they do inside Blender.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from ..errors import DiffusionTalkerError

ADDON_MODULE = "diffusiontalker_blender"


def addon_dir() -> Path:
    """The ``blender_addon/`` folder of the checkout this core was loaded from."""
    return Path(__file__).resolve().parents[3] / "blender_addon"


def import_addon() -> ModuleType:
    """Import ``blender_addon/`` as ``diffusiontalker_blender`` (needs the ``bpy`` module)."""
    if ADDON_MODULE in sys.modules:
        return sys.modules[ADDON_MODULE]
    init = addon_dir() / "__init__.py"
    if not init.is_file():
        raise DiffusionTalkerError(
            f"the Blender add-on sources were not found at {init.parent}; run this command "
            "from a source checkout (./dev.sh ...), or use the extension inside Blender"
        )
    try:
        import bpy  # noqa: F401
    except ImportError as exc:
        raise DiffusionTalkerError(
            "this command needs the 'bpy' module (pip install bpy==5.0.1 on Python 3.11)"
        ) from exc
    spec = importlib.util.spec_from_file_location(
        ADDON_MODULE, init, submodule_search_locations=[str(init.parent)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[ADDON_MODULE] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[ADDON_MODULE]
        raise
    return module
