"""The layout is the architecture: no import cycles, layers import only downwards, the core
never imports Blender, and generation never imports training or dataset code."""

from __future__ import annotations

import subprocess
import sys

from .import_graph import CORE, cycles, graph, modules, raw_imports

# lower layers never import higher ones (subsystems of one layer may not import each other
# unless listed in SAME_LAYER_ALLOWED)
LAYERS = {
    0: {"errors", "paths"},
    1: {"config", "channels", "motion", "identity_choice"},  # torch-free facts every runtime shares
    2: {"audio", "diffusion", "bake", "head"},
    3: {"network", "datasets", "synth", "direction", "capture"},
    4: {"runtime", "training"},
    5: {"evaluation", "api"},
    6: {"commands", "cli"},
    7: {"__main__"},
}
SAME_LAYER_ALLOWED = {("synth", "head"), ("training", "datasets"), ("datasets", "capture")}
GENERATION = ("diffusiontalker.api", "diffusiontalker.runtime.loader",
              "diffusiontalker.runtime.torch_talker", "diffusiontalker.runtime.onnx_talker",
              "diffusiontalker.runtime.client", "diffusiontalker.runtime.worker")


def _subsystem(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "diffusiontalker" and len(parts) > 1 else None


def _layer(subsystem: str) -> int:
    for level, names in LAYERS.items():
        if subsystem in names:
            return level
    raise AssertionError(f"subsystem {subsystem!r} is in no layer: add it to LAYERS")


def test_there_is_no_import_cycle():
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_layers_import_only_downwards():
    wrong = []
    for module, targets in graph().items():
        here = _subsystem(module)
        if here is None:
            continue
        for target in targets:
            there = _subsystem(target)
            if there is None or there == here:
                continue
            if _layer(there) > _layer(here) or (
                    _layer(there) == _layer(here) and (here, there) not in SAME_LAYER_ALLOWED):
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_the_core_never_imports_blender():
    found = []
    for name, path in modules(CORE / "diffusiontalker", "diffusiontalker").items():
        bad = sorted(t for t in raw_imports(name, path)
                     if t.split(".")[0] in ("bpy", "blender_addon", "diffusiontalker_blender", "mathutils"))
        found += [f"{name} imports {t}" for t in bad]
    assert found == []


def test_generation_reaches_no_training_or_dataset_code_in_the_graph():
    edges = graph()
    seen, todo = set(), list(GENERATION)
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo += edges.get(m, ())
    assert not sorted(m for m in seen if _subsystem(m) in ("training", "datasets", "synth", "evaluation"))


def test_loading_and_generating_imports_no_training_or_dataset_module():
    code = (
        "import sys\n"
        "from diffusiontalker.network.factory import random_model\n"
        "before = set(sys.modules)\n"
        "from diffusiontalker.runtime.torch_talker import Talker\n"
        "from diffusiontalker.runtime.loader import load_talker\n"
        "import numpy as np\n"
        "Talker(random_model()).generate(np.zeros(8000, np.float32), 16000, steps=1)\n"
        "new = sorted(m for m in set(sys.modules) - before if m.startswith('diffusiontalker.'))\n"
        "print('\\n'.join(new))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=CORE).stdout.split()
    assert "diffusiontalker.runtime.talker" in out  # the probe really loaded generation
    assert [m for m in out if m.split(".")[1] in ("training", "datasets", "synth", "evaluation")] == []
