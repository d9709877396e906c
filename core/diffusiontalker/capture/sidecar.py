"""``takes.json``: what a folder of capture takes cannot say in its CSVs.

A Live Link Face CSV always has all 61 columns; a channel the capture did not deliver is written
as 0, like a face at rest, so the CSV alone cannot tell "not captured" from "did not move". Our
synthetic takes (``capture.synthetic``) therefore list beside them, in ``takes.json``, each
take's captured channels, speaker, split and text::

    {"format": "diffusiontalker-live-link-takes", "version": 1, "fps": 59.94...,
     "takes": [{"csv": "ada_00000.csv", "audio": "ada_00000.wav", "speaker": "ada",
                "split": "train", "text": "...", "captured": ["jawOpen", ...]}], ...}

A take without an entry (every take the app records) counts every column in its file as
captured.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import CaptureError

SIDECAR_NAME = "takes.json"
SIDECAR_FORMAT = "diffusiontalker-live-link-takes"
SIDECAR_VERSION = 1


def read_sidecar(folder: str | Path) -> dict | None:
    """The folder's ``takes.json``, checked; None when the folder has none."""
    path = Path(folder) / SIDECAR_NAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CaptureError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != SIDECAR_FORMAT:
        return None  # another tool's takes.json: not ours to interpret
    if data.get("version") != SIDECAR_VERSION or not isinstance(data.get("takes"), list):
        raise CaptureError(f"{path}: unsupported version {data.get('version')!r} or no 'takes' "
                           f"list (this reader knows version {SIDECAR_VERSION})")
    return data


def sidecar_entry(csv_path: str | Path) -> dict | None:
    """The ``takes.json`` entry of the take ``csv_path`` (matched by file name), or None."""
    csv_path = Path(csv_path)
    data = read_sidecar(csv_path.parent)
    if data is None:
        return None
    for entry in data["takes"]:
        if isinstance(entry, dict) and entry.get("csv") == csv_path.name:
            return entry
    return None


def sidecar_takes(folder: str | Path) -> list[Path]:
    """The CSVs a folder's ``takes.json`` lists, in its order (empty without one)."""
    data = read_sidecar(folder)
    if data is None:
        return []
    return [Path(folder) / str(entry["csv"]) for entry in data["takes"]
            if isinstance(entry, dict) and entry.get("csv")]
