"""The worker wire format: framed JSON headers with raw little-endian arrays (no pickle).

One message on the wire::

    b"DTK1"                      4 bytes, magic (catches stray output on the channel)
    uint32 little-endian         length H of the header in bytes
    H bytes                      UTF-8 JSON object: {"type": ..., "id": ..., ...,
                                   "arrays": [[name, dtype, [d0, d1, ...]], ...]}
    for each entry of "arrays":  prod(shape) * itemsize bytes, C order, little-endian

``dtype`` is one of :data:`DTYPES`. Arrays travel as bytes only: decoding never executes
anything, so a worker in another environment can be trusted no more than its data.
docs/runtime.md lists the messages (hello, load, generate, progress, result, error, cancel,
cancelled, shutdown).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np

from ..errors import ProtocolError, WorkerError  # noqa: F401  (WorkerError re-exported)

PROTOCOL_VERSION = 1
MAGIC = b"DTK1"
MAX_HEADER_BYTES = 1 << 20
MAX_ARRAY_BYTES = 1 << 32
DTYPES = ("float32", "float64", "float16", "int32", "int64", "uint8", "bool")


@dataclass
class Message:
    """A decoded message: its JSON header (without ``arrays``) and its named arrays."""

    header: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return str(self.header.get("type", ""))

    @property
    def id(self) -> int | None:
        value = self.header.get("id")
        return None if value is None else int(value)


def encode(header: dict[str, Any], arrays: dict[str, np.ndarray] | None = None) -> bytes:
    """The bytes of one message (see the module docstring)."""
    if "type" not in header:
        raise ProtocolError("a message header needs a 'type'")
    specs, blobs = [], []
    for name, value in (arrays or {}).items():
        a = np.asarray(value)
        if a.dtype.name not in DTYPES:
            raise ProtocolError(f"array {name!r} has dtype {a.dtype}; allowed: {', '.join(DTYPES)}")
        le = a.astype(a.dtype.newbyteorder("<"), order="C", copy=False)
        specs.append([name, a.dtype.name, list(le.shape)])
        blobs.append(le.tobytes())
    body = json.dumps({**header, "arrays": specs}, separators=(",", ":")).encode("utf-8")
    if len(body) > MAX_HEADER_BYTES:
        raise ProtocolError(f"message header is {len(body)} bytes; the limit is {MAX_HEADER_BYTES}")
    return b"".join([MAGIC, struct.pack("<I", len(body)), body, *blobs])


def write_message(stream: BinaryIO, header: dict[str, Any],
                  arrays: dict[str, np.ndarray] | None = None) -> None:
    """Encode and write one message, then flush (callers serialise writers with a lock)."""
    stream.write(encode(header, arrays))
    stream.flush()


def _read_exact(stream: BinaryIO, n: int, what: str, allow_eof: bool = False) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            if allow_eof and got == 0:
                return None
            raise ProtocolError(f"the stream ended inside {what} ({got} of {n} bytes)")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_message(stream: BinaryIO) -> Message | None:
    """Read one message; ``None`` at a clean end of stream (between messages)."""
    magic = _read_exact(stream, 4, "a message start", allow_eof=True)
    if magic is None:
        return None
    if magic != MAGIC:
        rest = stream.read(60) or b""
        raise ProtocolError(f"not a worker message (unexpected output {magic + rest!r}); "
                            "something wrote to the worker's protocol channel")
    (length,) = struct.unpack("<I", _read_exact(stream, 4, "a header length"))
    if length > MAX_HEADER_BYTES:
        raise ProtocolError(f"message header of {length} bytes exceeds {MAX_HEADER_BYTES}")
    try:
        header = json.loads(_read_exact(stream, length, "a header").decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"message header is not valid JSON: {exc}") from None
    if not isinstance(header, dict) or not isinstance(header.get("type"), str):
        raise ProtocolError("message header must be a JSON object with a string 'type'")
    arrays = {}
    for spec in header.pop("arrays", []) or []:
        name, dtype, shape = _check_spec(spec)
        nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        if nbytes > MAX_ARRAY_BYTES:
            raise ProtocolError(f"array {name!r} of {nbytes} bytes exceeds {MAX_ARRAY_BYTES}")
        raw = _read_exact(stream, nbytes, f"array {name!r}")
        # astype copies into a native-order, writable array
        arrays[name] = np.frombuffer(raw, np.dtype(dtype).newbyteorder("<")).astype(dtype).reshape(shape)
    return Message(header, arrays)


def _check_spec(spec: Any) -> tuple[str, str, tuple[int, ...]]:
    ok = (isinstance(spec, list) and len(spec) == 3 and isinstance(spec[0], str)
          and spec[1] in DTYPES and isinstance(spec[2], list)
          and all(isinstance(d, int) and d >= 0 for d in spec[2]))
    if not ok:
        raise ProtocolError(f"bad array description {spec!r}: expected [name, dtype, [dims]] "
                            f"with dtype one of {', '.join(DTYPES)}")
    return spec[0], spec[1], tuple(spec[2])
