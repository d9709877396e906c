"""Checkpoints: one safetensors file, the JSON ``ModelConfig`` in its metadata. Never pickle.

A checkpoint alone rebuilds its model: the config (motion space, fps, channel names or vertex
count, audio frontend spec, adapter, denoiser, identity names, diffusion settings,
provenance) is JSON in the safetensors header; the weights, the template and the
normalisation statistics are tensors. The header is validated before any data is touched, so
a missing, truncated or foreign file (e.g. a ``torch.save`` pickle renamed ``.safetensors``)
gives one clear ``CheckpointError``; so does a tensor holding NaN or infinity (a diverged
training run), named, when the model is loaded.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import torch
from safetensors.torch import load_file, save

from ..errors import CheckpointError
from ..motion import require_finite, write_atomically

FORMAT = "diffusiontalker"
FORMAT_VERSION = "1"
_MAX_HEADER = 100 * 1024 * 1024
_PICKLE_PROTOCOL_OPCODE = 0x80


def read_header(path: str | Path, expect_format: str = FORMAT) -> tuple[dict, dict]:
    """Validate a safetensors file's structure; return ``(tensor_index, metadata)``.

    Checks: the file exists; it starts with an 8-byte little-endian header length that fits
    the file; the header is JSON; every tensor's byte range lies inside the file (a
    truncated download fails here); the metadata says it is a ``expect_format`` file.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    if not path.is_file():
        raise CheckpointError(f"checkpoint is not a file: {path}")
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(9)
        if len(head) < 9:
            raise CheckpointError(f"checkpoint {path} is empty or truncated ({size} bytes)")
        # safetensors: an 8-byte header length, then the JSON header's "{". The length's first
        # byte may well be 0x80, so a pickle is only what does not look like that.
        looks_safetensors = head[8:9] == b"{"
        head = head[:8]
        if not looks_safetensors and (head[0] == _PICKLE_PROTOCOL_OPCODE or head[:2] == b"PK"):
            raise CheckpointError(
                f"{path} is a pickle/torch.save file, not safetensors; pickles are never "
                "loaded (they can run code). Convert it to safetensors with the tool that made it.")
        (header_len,) = struct.unpack("<Q", head)
        if header_len > min(_MAX_HEADER, size - 8):
            raise CheckpointError(
                f"checkpoint {path} is not a safetensors file or is truncated "
                f"(header of {header_len} bytes in a {size}-byte file)")
        try:
            f.seek(8)
            header = json.loads(f.read(header_len).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise CheckpointError(f"checkpoint {path} is not a safetensors file (unreadable header)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"checkpoint {path} is not a safetensors file (bad header)")
    metadata = header.pop("__metadata__", None) or {}
    data_size = size - 8 - header_len
    for name, info in header.items():
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if not offsets or len(offsets) != 2 or offsets[1] > data_size:
            raise CheckpointError(
                f"checkpoint {path} is truncated: tensor {name!r} ends past the end of the file "
                f"({data_size} data bytes present); download or copy it again")
    if metadata.get("format") == FORMAT and _newer(metadata.get("format_version")):
        raise CheckpointError(
            f"{path} was written by a newer diffusiontalker (checkpoint format "
            f"{metadata.get('format_version')}; this version reads format {FORMAT_VERSION}): "
            "upgrade the package to load it")
    if metadata.get("format") != expect_format:
        raise CheckpointError(
            f"{path} is a safetensors file but not a {expect_format} checkpoint "
            f"(its metadata has format={metadata.get('format')!r})")
    return header, metadata


def _newer(version: object) -> bool:
    try:
        return int(str(version)) > int(FORMAT_VERSION)
    except ValueError:
        return False


def save_model(model, path: str | Path, extra_metadata: dict | None = None) -> Path:
    """Write ``model`` (a ``DiffusionTalker``) and its config to ``path`` (safetensors)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "config": json.dumps(model.config.to_dict())}
    metadata.update({k: str(v) for k, v in (extra_metadata or {}).items()})
    _write_safetensors(path, tensors, metadata)
    return path


def _write_safetensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    """safetensors bytes written atomically (``motion.write_atomically``: a temporary file beside
    ``path``, fsynced, then moved; removed on failure, which is an OutputError)."""
    data = save(tensors, metadata=metadata)
    write_atomically(path, lambda f: f.write(data))


def load_model(path: str | Path, device: str | torch.device = "cpu"):
    """Rebuild a ``DiffusionTalker`` from a checkpoint written by :func:`save_model`."""
    from .model import DiffusionTalker, ModelConfig

    header, metadata = read_header(path)
    try:
        config = ModelConfig.from_dict(json.loads(metadata["config"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path} has a missing or invalid model config: {exc}") from None
    model = DiffusionTalker(config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(header))
    unexpected = sorted(set(header) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"checkpoint {path} does not match its own config: "
            f"missing tensors {_short(missing)}; unexpected tensors {_short(unexpected)}")
    for name, info in header.items():
        if list(info.get("shape", [])) != list(expected[name].shape):
            raise CheckpointError(
                f"checkpoint {path}: tensor {name!r} has shape {info.get('shape')}, "
                f"the config needs {list(expected[name].shape)}")
    tensors = load_file(str(path))
    require_finite_tensors(tensors, f"checkpoint {path}")
    model.load_state_dict(tensors)
    return model.to(device).eval()


NON_FINITE_HINT = ("the model is broken (e.g. its training diverged); use an earlier checkpoint "
                   "or train again")


def require_finite_tensors(tensors: dict[str, torch.Tensor], where: str) -> None:
    """CheckpointError naming the first floating-point tensor that holds NaN or infinity."""
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            require_finite(tensor.detach().float().cpu().numpy(), f"{where}: tensor {name!r}",
                           NON_FINITE_HINT, CheckpointError)


def _short(names: list[str], limit: int = 5) -> str:
    if not names:
        return "none"
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def save_state(path: str | Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str],
               kind: str) -> Path:
    """Save plain tensors + string metadata (training state) as safetensors of ``kind``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_safetensors(path, {k: v.detach().cpu().clone().contiguous() for k, v in tensors.items()},
                       {"format": kind, **metadata})
    return path


def load_state(path: str | Path, kind: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Load what :func:`save_state` wrote, after validating the header."""
    _, metadata = read_header(path, expect_format=kind)
    return load_file(str(path)), metadata


def optimizer_to_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], str]:
    """An optimizer's state as named tensors plus its param groups as JSON (no pickle)."""
    state = optimizer.state_dict()
    tensors = {}
    for idx, entry in state["state"].items():
        for key, value in entry.items():
            tensors[f"optim/{idx}/{key}"] = torch.as_tensor(value)
    return tensors, json.dumps(state["param_groups"])


def optimizer_from_tensors(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                           groups_json: str) -> None:
    """Inverse of :func:`optimizer_to_tensors`."""
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith("optim/"):
            _, idx, key = name.split("/", 2)
            state.setdefault(int(idx), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": json.loads(groups_json)})
