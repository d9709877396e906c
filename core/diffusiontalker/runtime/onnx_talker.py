"""The torch-free runtime: numpy + onnxruntime on files from ``onnx_export``.

``load_onnx_model(directory, device="cpu") -> OrtTalker``, a
:class:`~.talker.WindowedTalker`: the one generate loop (windows, the seed's starting noise,
identity blends, decoding slices) is shared with the torch runtime, so a seed gives the same
take in both; this module supplies only the ONNX Runtime callables (frontend features from the
core's numpy log-mel, the exported adapter, style encoder and denoiser, and decoding).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..config import ModelConfig
from ..errors import CheckpointError, ConfigError
from ..motion import NON_FINITE_EXPORT, require_finite_arrays
from .device import create_ort_session
from .onnx_export import FILES, MANIFEST, ONNX_FORMAT, ONNX_FORMAT_VERSION, READABLE_FORMAT_VERSIONS
from .onnx_frontend import KINDS, ExportedFrontend, mel_entry
from .talker import WindowedTalker


def load_onnx_model(directory: str | Path, device: str = "cpu",
                    threads: int | None = None) -> OrtTalker:
    """Load an exported model (a folder written by ``diffusiontalker export-onnx``).

    ``device`` picks ONNX Runtime providers (``runtime.device.choose_ort_providers``):
    ``cpu`` (default), ``auto``/``gpu``, ``cuda``, ``directml``, ``coreml``.
    """
    directory = Path(directory)
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise CheckpointError(f"{directory} is not an exported ONNX model (no {MANIFEST}); "
                              "make one with `diffusiontalker export-onnx CHECKPOINT -o DIR`")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{manifest_path} is not readable JSON: {exc}") from None
    if manifest.get("format") != ONNX_FORMAT:
        raise CheckpointError(f"{manifest_path} is not a {ONNX_FORMAT} manifest")
    version = manifest.get("format_version")
    if version not in READABLE_FORMAT_VERSIONS:
        newer = isinstance(version, int) and version > ONNX_FORMAT_VERSION
        raise CheckpointError(
            f"{manifest_path} is a {ONNX_FORMAT} v{version} manifest; this version reads v"
            + ", v".join(map(str, READABLE_FORMAT_VERSIONS))
            + (": upgrade the add-on or package" if newer else ""))
    files = manifest.get("files") if isinstance(manifest.get("files"), dict) else None
    if files is None or version == 1:  # format 1: one denoiser graph
        files = {k: v for k, v in FILES.items() if k != "denoiser_context"} | (files or {})
        manifest = {**manifest, "files": files}
    missing = [f for k, f in files.items() if k != "frontend" and not (directory / f).is_file()]
    if missing:
        raise CheckpointError(f"the exported model in {directory} lacks {', '.join(missing)}")
    return OrtTalker(directory, manifest, device, threads)


class OrtTalker(WindowedTalker):
    """An exported model run by onnxruntime: generation and identity matching, no torch."""

    runtime = "onnx"

    def __init__(self, directory: Path, manifest: dict[str, Any], device: str = "cpu",
                 threads: int | None = None) -> None:
        self.directory = directory
        self.manifest = manifest
        try:
            self.config = ModelConfig.from_dict(manifest["model_config"])
        except (KeyError, ConfigError) as exc:
            raise CheckpointError(f"the exported model in {directory} has no valid model "
                                  f"config: {exc}") from None
        self.frontend = manifest.get("frontend") or mel_entry(self.config.audio.n_mels)
        files = dict(manifest.get("files") or FILES)
        names = ["adapter", "denoiser", "style"]
        if "denoiser_context" in files:
            names.append("denoiser_context")
        if self.frontend["kind"] not in KINDS:
            raise CheckpointError(f"unknown audio frontend {self.frontend['kind']!r} in {directory}")
        if self.frontend["kind"] != "mel":
            names.append("frontend")
        sessions = {name: create_ort_session(str(directory / files[name]), device, threads)
                    for name in names}
        self.sessions = {name: s for name, (s, _) in sessions.items()}
        self.providers = sessions["denoiser"][1]
        self.audio_frontend = ExportedFrontend(self.frontend, self.sessions.get("frontend"))
        with np.load(directory / FILES["arrays"], allow_pickle=False) as arrays:
            self.arrays = {k: arrays[k] for k in arrays.files}
        require_finite_arrays(self.arrays, f"the exported model {directory / FILES['arrays']}",
                              NON_FINITE_EXPORT, CheckpointError)
        self.device = self.providers[0]
        self.device_report = f"ONNX Runtime on {', '.join(self.providers)}"

    @property
    def template(self) -> np.ndarray | None:
        return self.arrays["template"] if self.space == "vertices" else None

    # -- audio -> tokens ---------------------------------------------------------------
    def num_features(self, num_samples: int) -> int:
        return self.audio_frontend.num_features(num_samples)

    def features(self, wave: np.ndarray) -> np.ndarray:
        """Frontend features ``(F, C)`` (:class:`~.onnx_frontend.ExportedFrontend`)."""
        return self.audio_frontend(wave)

    def audio_tokens(self, wave: np.ndarray) -> np.ndarray:
        """Audio tokens ``(1, T, d)`` for a 16 kHz wave at the motion frame rate."""
        frames = np.array([self.num_frames(wave)], dtype=np.int64)
        return self.sessions["adapter"].run(
            None, {"features": self.features(wave)[None], "num_frames": frames})[0]

    # -- identities -----------------------------------------------------------------
    def similarities(self, tokens: np.ndarray) -> np.ndarray:
        """Cosine of the voice's style embedding to each library row ``(K,)``."""
        return self.sessions["style"].run(None, {"tokens": np.ascontiguousarray(tokens)})[0][0]

    def identity_table(self) -> tuple[np.ndarray, np.ndarray]:
        return self.arrays["identity_rows"], self.arrays["identity_neutral"]

    # -- the sampler's callables --------------------------------------------------------
    def condition(self, tokens: np.ndarray, identity: np.ndarray) -> dict[str, np.ndarray]:
        """The denoiser's inputs that stay the same at every step of a window: the identity
        rows, and the window's context (keys, values, constants) from one run of
        ``denoiser_context`` (a format-1 export takes the tokens themselves)."""
        tokens = np.ascontiguousarray(tokens)
        feed = {"identity": np.repeat(np.asarray(identity, np.float32)[None], tokens.shape[0], axis=0)}
        session = self.sessions.get("denoiser_context")
        if session is None:
            return {**feed, "audio": tokens}
        names = [o.name for o in session.get_outputs()]
        return {**feed, **dict(zip(names, session.run(None, {"audio": tokens}), strict=True))}

    def denoise(self, z: np.ndarray, u: np.ndarray, cond: dict[str, np.ndarray]) -> np.ndarray:
        """``x̂(z_u, u, c)``: one run of the exported denoiser (the sampler's callable)."""
        return self.sessions["denoiser"].run(None, {"z": z, "u": u.astype(np.float32), **cond})[0]

    def encode(self, motion: np.ndarray) -> np.ndarray:
        """Motion ``(T, D)`` -> normalised model space ``(T, P)`` (``MotionNormalizer.encode``)."""
        a = self.arrays
        centred = np.asarray(motion, np.float32) - a["norm_mean"]
        if a["norm_basis"].size:
            centred = centred @ a["norm_basis"]
        return (centred / a["norm_scale"]).astype(np.float32)

    def decode(self, x: np.ndarray) -> np.ndarray:
        """Normalised model space ``(T, P)`` -> motion ``(T, D)`` (``MotionNormalizer.decode``)."""
        a = self.arrays
        y = x * a["norm_scale"]
        if a["norm_basis"].size:
            y = y @ a["norm_basis"].T
        return (y + a["norm_mean"]).astype(np.float32)
