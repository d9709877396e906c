"""A Whisper encoder as one safetensors file: how the default model ships Whisper tiny.en
(``weights/whisper-tiny.en-encoder.safetensors``, written by ``scripts/ship_default_model.py``).

The file holds the ``transformers`` ``WhisperEncoder`` state dict (float16) and, in the
safetensors metadata, the encoder's ``WhisperConfig`` fields, the licence and the provenance.
Only the encoder is kept (the decoder is not needed for speech features), which makes
Whisper tiny.en's weights 16 MB. Sources named ``package:NAME`` in an audio encoder config
resolve to ``diffusiontalker/weights/NAME`` (see :func:`resolve_source`).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import CheckpointError
from ..paths import WEIGHTS_DIR

FORMAT = "diffusiontalker-whisper-encoder"
PACKAGE_WEIGHTS = WEIGHTS_DIR  # files named package:NAME
_CONFIG_KEYS = ("num_mel_bins", "d_model", "encoder_layers", "encoder_attention_heads",
                "encoder_ffn_dim", "max_source_positions", "activation_function")


def resolve_source(source: str) -> str:
    """``package:NAME`` -> the path of ``NAME`` among the package's shipped weights."""
    if source.startswith("package:"):
        return str(PACKAGE_WEIGHTS / source.removeprefix("package:"))
    return source


def save_whisper_encoder(encoder, path: str | Path, licence: str, provenance: str) -> Path:
    """Write ``encoder`` (a ``WhisperEncoder``) as float16 safetensors with its config."""
    from safetensors.torch import save_file

    config = {key: getattr(encoder.config, key) for key in _CONFIG_KEYS}
    tensors = {k: v.detach().to("cpu").half().contiguous() for k, v in encoder.state_dict().items()}
    metadata = {"format": FORMAT, "config": json.dumps(config), "licence": licence,
                "provenance": provenance}
    path = Path(path)
    save_file(tensors, str(path), metadata=metadata)
    return path


def is_whisper_encoder_file(path: str | Path) -> bool:
    path = Path(path)
    if path.suffix != ".safetensors" or not path.is_file():
        return False
    from safetensors import safe_open

    try:
        with safe_open(str(path), "pt") as f:
            return (f.metadata() or {}).get("format") == FORMAT
    except Exception:  # noqa: BLE001 - not a readable safetensors file
        return False


def load_whisper_encoder(path: str | Path):
    """A float32 ``WhisperEncoder`` (eval mode, frozen) from :func:`save_whisper_encoder`'s file."""
    import torch
    from safetensors import safe_open
    from transformers import WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
            if meta.get("format") != FORMAT:
                raise CheckpointError(f"{path} is not a Whisper encoder file of this project")
            state = {key: f.get_tensor(key).float() for key in f.keys()}
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(f"cannot read the Whisper encoder file {path}: {exc}") from exc
    encoder = WhisperEncoder(WhisperConfig(**json.loads(meta["config"])))
    missing, unexpected = encoder.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise CheckpointError(f"{path}: the Whisper encoder weights do not match its config "
                              f"(missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]})")
    return encoder.eval().requires_grad_(False).to(torch.float32)
