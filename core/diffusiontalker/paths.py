"""Where the package's own files are: the shipped weights and data (torch-free)."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
WEIGHTS_DIR = PACKAGE_DIR / "weights"
DATA_DIR = PACKAGE_DIR / "data"
DEFAULT_CHECKPOINT = WEIGHTS_DIR / "default.safetensors"
