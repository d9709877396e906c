"""Where a checkpoint's ONNX export lies, and whether it was made from that very checkpoint.

A checkpoint ``NAME.safetensors`` has its export in the folder ``NAME.onnx`` beside it
(``diffusiontalker export-onnx NAME.safetensors -o NAME.onnx``); a folder holding an
``onnx_model.json`` may stand for the checkpoint itself. Torch-free, and free of the talkers,
so the loader and the audio frontends can both ask.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..paths import DEFAULT_CHECKPOINT
from .onnx_export import MANIFEST, sha256_of


def onnx_dir_for(checkpoint: str | Path | None) -> Path:
    """The exported-ONNX folder of a checkpoint (``NAME.onnx`` beside ``NAME.safetensors``)."""
    path = Path(checkpoint) if checkpoint else DEFAULT_CHECKPOINT
    if path.is_dir():
        return path
    return path.with_suffix(".onnx")


def is_onnx_dir(path: str | Path | None) -> bool:
    return path is not None and (Path(path) / MANIFEST).is_file()


def export_matches(checkpoint: str | Path | None) -> bool:
    """Whether the checkpoint's ONNX export exists and was made from this very checkpoint (the
    SHA-256 in its manifest), so both runtimes give the same take; a missing checkpoint whose
    export exists (the light build) counts as matching."""
    folder = onnx_dir_for(checkpoint)
    if not is_onnx_dir(folder):
        return False
    path = Path(checkpoint) if checkpoint else DEFAULT_CHECKPOINT
    if path.is_dir() or not path.exists():
        return True
    try:
        source = json.loads((folder / MANIFEST).read_text()).get("source") or {}
    except (OSError, ValueError):
        return False
    return source.get("sha256") == sha256_of(path)
