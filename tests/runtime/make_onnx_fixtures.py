"""Regenerate the tiny checkpoints and their ONNX exports in tests/runtime/data/.

Run with a Python that has torch and onnx (the export-only environment), from the repo root:

    PYTHONPATH=core /work/venv-export/bin/python tests/runtime/make_onnx_fixtures.py

The files are produced by this script and `export_onnx`, never edited by hand;
test_onnx.py checks that each export's recorded SHA-256 matches its checkpoint.
"""

from __future__ import annotations

from pathlib import Path

from diffusiontalker import checkpoint
from diffusiontalker.factory import random_model
from diffusiontalker.runtime.onnx_export import export_onnx

DATA = Path(__file__).resolve().parent / "data"
MODELS = {
    "tiny_channels": dict(space="channels", seed=0),
    "tiny_vertices": dict(space="vertices", seed=1, num_vertices=50, pca_components=8),
}


def main() -> None:
    DATA.mkdir(exist_ok=True)
    for name, kwargs in MODELS.items():
        path = checkpoint.save_model(random_model(**kwargs), DATA / f"{name}.safetensors")
        print(export_onnx(path, DATA / f"{name}.onnx"))


if __name__ == "__main__":
    main()
