"""The torch-free generation path: numpy + onnxruntime on files from ``onnx_export``.

``load_onnx_model(directory, device="cpu") -> OrtTalker``; ``OrtTalker`` has the interface of
``api.Talker`` (``identities``, ``space``, ``fps``, ``channels``, ``num_vertices``,
``template``, ``default_steps``, ``generate(...)``, ``match_identity(...)``) so the add-on
and the worker use either. The DDIM loop is the core's own ``samplers.sample_ddim`` running on
numpy arrays; log-mel features come from the core's numpy ``features.log_mel``. Long audio is
generated in the same overlapping windows as ``api.Talker``, cross-faded the same way.

The starting noise comes from numpy's generator (per one-second block, seeded like the torch
path), so a seed gives the same motion on every ONNX Runtime run, but not the same motion as
the torch path (torch's generator cannot be reproduced without torch). With the same noise
both paths agree (tests/runtime/test_onnx.py states the tolerance).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..audio.features import (
    WHISPER_WINDOW_SAMPLES,
    cmvn,
    fit_length,
    log_mel,
    normalize_level,
    whisper_log_mel,
)
from ..audio.loading import SAMPLE_RATE, load_audio
from ..diffusion.samplers import sample_ddim
from ..diffusion.windows import MATCH, blend_weights, crossfade_weights, window_spans
from ..errors import CheckpointError, DiffusionTalkerError
from ..motion import Motion
from .device import create_ort_session
from .onnx_export import FILES, MANIFEST, ONNX_FORMAT, ONNX_FORMAT_VERSION

MEL_RATE_HZ = 100.0  # log-mel frames per second (hop 160 at 16 kHz, audio_encoders.MelFrontend)


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
    if manifest.get("format") != ONNX_FORMAT or manifest.get("format_version") != ONNX_FORMAT_VERSION:
        raise CheckpointError(f"{manifest_path} is not a {ONNX_FORMAT} v{ONNX_FORMAT_VERSION} manifest")
    missing = [f for f in FILES.values() if not (directory / f).is_file()]
    if missing:
        raise CheckpointError(f"the exported model in {directory} lacks {', '.join(missing)}")
    return OrtTalker(directory, manifest, device, threads)


class OrtTalker:
    """An exported model run by onnxruntime: generation and identity matching, no torch."""

    window_seconds = 10.0
    overlap_seconds = 1.0
    runtime = "onnx"

    def __init__(self, directory: Path, manifest: dict[str, Any], device: str = "cpu",
                 threads: int | None = None) -> None:
        self.directory = directory
        self.manifest = manifest
        self.config: dict[str, Any] = manifest["model_config"]
        self.frontend = manifest.get("frontend") or {
            "kind": "mel", "n_mels": int(self.config["audio"]["n_mels"]), "rate_hz": MEL_RATE_HZ}
        files = dict(manifest.get("files") or FILES)
        names = ["adapter", "denoiser", "style"]
        if self.frontend["kind"] in ("student", "whisper"):
            names.append("frontend")
        elif self.frontend["kind"] != "mel":
            raise CheckpointError(f"unknown audio frontend {self.frontend['kind']!r} in {directory}")
        sessions = {name: create_ort_session(str(directory / files[name]), device, threads)
                    for name in names}
        self.sessions = {name: s for name, (s, _) in sessions.items()}
        self.providers = sessions["denoiser"][1]
        with np.load(directory / FILES["arrays"], allow_pickle=False) as arrays:
            self.arrays = {k: arrays[k] for k in arrays.files}
        self.device = self.providers[0]
        self.device_report = f"ONNX Runtime on {', '.join(self.providers)}"

    # -- what the model is -------------------------------------------------------------
    @property
    def identities(self) -> list[str]:
        return list(self.config["identity"]["names"])

    @property
    def space(self) -> str:
        return self.config["motion"]["space"]

    @property
    def fps(self) -> float:
        return float(self.config["motion"]["fps"])

    @property
    def channels(self) -> tuple[str, ...] | None:
        ch = self.config["motion"].get("channels")
        return tuple(ch) if ch else None

    @property
    def num_vertices(self) -> int | None:
        return self.config["motion"].get("num_vertices") if self.space == "vertices" else None

    @property
    def template(self) -> np.ndarray | None:
        return self.arrays["template"] if self.space == "vertices" else None

    @property
    def default_steps(self) -> int:
        return int(self.config["diffusion"]["default_steps"])

    # -- audio -> tokens ---------------------------------------------------------------
    def num_frames(self, wave: np.ndarray) -> int:
        return max(1, int(round(wave.shape[0] / SAMPLE_RATE * self.fps)))

    def num_features(self, num_samples: int) -> int:
        return max(1, int(round(num_samples * float(self.frontend["rate_hz"]) / SAMPLE_RATE)))

    def features(self, wave: np.ndarray) -> np.ndarray:
        """Frontend features ``(F, C)`` with exactly ``max(1, round(N * rate / 16000))`` rows, as
        ``audio_encoders``' log-mel, student and Whisper frontends compute them."""
        wave = np.asarray(wave, np.float32).reshape(-1)
        if self.frontend["kind"] == "whisper":
            return self.whisper_features(wave)
        if float(self.frontend.get("level_rms", 0.0)) > 0:  # the student's level equalisation
            wave = normalize_level(wave, float(self.frontend["level_rms"]))
        # the student's log-mel hop is recorded by its export (older exports: 160, 100 Hz)
        mel = log_mel(wave, n_mels=int(self.frontend["n_mels"]),
                      hop=int(self.frontend.get("mel_hop", 160)))
        count = self.num_features(wave.shape[0])
        if self.frontend["kind"] == "student":
            mel = self.sessions["frontend"].run(None, {
                "mel": np.ascontiguousarray(mel[None], np.float32),
                "num_out": np.array([count], np.int64)})[0][0]
        mel = np.ascontiguousarray(fit_length(mel, count), dtype=np.float32)
        return cmvn(mel) if self.frontend.get("normalize") == "cmvn" else mel

    def whisper_features(self, wave: np.ndarray) -> np.ndarray:
        """Whisper encoder states, 50 per second, as ``audio_pretrained.WhisperFrontend``:
        30 s pieces, each one's log-mel computed on its zero-padded 30 s window, cut to
        ``2 * ceil(len / 320)`` frames in trim mode (all of them otherwise), encoded."""
        n_mels, positions = int(self.frontend["n_mels"]), int(self.frontend["positions"])
        hop = int(round(SAMPLE_RATE / float(self.frontend["rate_hz"])))  # samples per state
        pieces = []
        for start in range(0, max(1, wave.shape[0]), WHISPER_WINDOW_SAMPLES):
            piece = wave[start:start + WHISPER_WINDOW_SAMPLES]
            mel = whisper_log_mel(piece, n_mels)[: 2 * positions]
            if self.frontend["trim"]:
                mel = mel[: 2 * min(positions, -(-piece.shape[0] // hop))]
            states = self.sessions["frontend"].run(
                None, {"mel": np.ascontiguousarray(mel.T[None], np.float32)})[0][0]
            pieces.append(states[: self.num_features(piece.shape[0])])
        return np.ascontiguousarray(fit_length(np.concatenate(pieces),
                                               self.num_features(wave.shape[0])), dtype=np.float32)

    def audio_tokens(self, wave: np.ndarray) -> np.ndarray:
        """Audio tokens ``(1, T, d)`` for a 16 kHz wave at the motion frame rate."""
        frames = np.array([self.num_frames(wave)], dtype=np.int64)
        return self.sessions["adapter"].run(
            None, {"features": self.features(wave)[None], "num_frames": frames})[0]

    # -- identities --------------------------------------------------------------------
    def similarities(self, tokens: np.ndarray) -> np.ndarray:
        """Cosine of the voice's style embedding to each library row ``(K,)``."""
        return self.sessions["style"].run(None, {"tokens": tokens})[0][0]

    def match_identity(self, audio, sample_rate: int | None = None,
                       top_k: int = 3) -> list[tuple[str, float]]:
        """The library identities whose style best matches this voice, ``(name, cosine)``."""
        sims = self.similarities(self.audio_tokens(load_audio(audio, sample_rate)))
        order = np.argsort(-sims, kind="stable")[: max(1, top_k)]
        return [(self.identities[int(i)], float(sims[i])) for i in order]

    def weights_for(self, choice: Any, tokens: np.ndarray | None = None) -> dict[str, float]:
        """Normalised blend weights for an identity choice (the rules of
        ``long_audio.blend_weights``, as ``identity.IdentityLibrary``)."""
        best = None if tokens is None else (
            lambda: self.identities[int(np.argmax(self.similarities(tokens)))])
        return blend_weights(choice, self.identities, best)

    def resolve(self, choice: Any, style_strength: float = 1.0,
                tokens: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, float]]:
        """Identity vector ``e = n + s (Σ w_j E_j − n)`` (n: neutral row) and the weights."""
        weights = self.weights_for(choice, tokens)
        neutral = self.arrays["identity_neutral"]
        if not weights:
            return neutral, weights
        rows = self.arrays["identity_rows"][[self.identities.index(n) for n in weights]]
        w = np.array(list(weights.values()), dtype=np.float32)
        blended = (w[:, None] * rows).sum(0)
        return (neutral + np.float32(style_strength) * (blended - neutral)).astype(np.float32), weights

    # -- generation --------------------------------------------------------------------
    def windows(self, num_frames: int) -> list[tuple[int, int]]:
        """Frame ranges ``[a, b)`` covering ``num_frames`` (as ``api.Talker.windows``)."""
        return window_spans(num_frames, self.fps, self.window_seconds, self.overlap_seconds)

    def noise(self, seed: int, start: int, stop: int, width: int) -> np.ndarray:
        """Starting noise for frames ``[start, stop)``, drawn per one-second block from the
        seed so overlapping windows share it (numpy's generator; see the module docstring)."""
        block = max(1, int(round(self.fps)))
        parts = [np.random.default_rng((int(seed) % (2**31)) * 1_000_003 + k)
                 .standard_normal((block, width), dtype=np.float32)
                 for k in range(start // block, (stop - 1) // block + 1)]
        offset = start - (start // block) * block
        return np.concatenate(parts)[offset: offset + stop - start]

    def denoise(self, z: np.ndarray, u: np.ndarray, cond: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """``x̂(z_u, u, c)``: one run of the exported denoiser (the sampler's callable)."""
        audio, identity = cond
        return self.sessions["denoiser"].run(None, {"z": z, "u": u.astype(np.float32),
                                                    "audio": audio, "identity": identity})[0]

    def decode_motion(self, x: np.ndarray) -> np.ndarray:
        """Normalised model space ``(T, P)`` -> motion ``(T, D)`` (``MotionNormalizer.decode``)."""
        a = self.arrays
        y = x * a["norm_scale"]
        if a["norm_basis"].size:
            y = y @ a["norm_basis"].T
        return (y + a["norm_mean"]).astype(np.float32)

    def generate(self, audio, sample_rate: int | None = None, *, identity: Any = None,
                 steps: int | None = None, seed: int = 0, style_strength: float = 1.0,
                 progress: Callable[[float], None] | None = None,
                 cancel: Callable[[], bool] | None = None,
                 noise_fn: Callable[[int, int, int, int], np.ndarray] | None = None) -> Motion:
        """Speech -> facial motion, as ``api.Talker.generate``. ``noise_fn(seed, start, stop,
        width)`` replaces the starting noise (tests compare runtimes on the same noise)."""
        steps = self.default_steps if steps is None else int(steps)
        if steps < 1:
            raise DiffusionTalkerError(f"the number of sampling steps must be at least 1, got {steps}")
        wave = load_audio(audio, sample_rate)
        tokens = self.audio_tokens(wave)
        num_frames = tokens.shape[1]
        ident, weights = self.resolve(identity, style_strength,
                                      tokens=tokens if identity == MATCH else None)
        width = int(self.config["denoiser"]["in_dim"])
        spans = self.windows(num_frames)
        total = np.zeros((num_frames, width), np.float32)
        weight_sum = np.zeros((num_frames, 1), np.float32)
        make_noise = noise_fn or self.noise
        for j, (a, b) in enumerate(spans):
            cond = (np.ascontiguousarray(tokens[:, a:b]), ident[None])
            start = make_noise(seed, a, b, width)[None].astype(np.float32)
            report = None if progress is None else (lambda f, j=j: progress((j + f) / len(spans)))
            x = sample_ddim(self.denoise, start.shape, steps, noise=start, cond=cond,
                            progress=report, cancel=cancel)
            w = crossfade_weights(spans, j)
            total[a:b] += x[0] * w[:, None]
            weight_sum[a:b] += w[:, None]
        motion = self.decode_motion(total / weight_sum)
        if self.space == "vertices":
            return Motion(self.fps, "vertices", motion.reshape(num_frames, -1, 3), identity=weights)
        return Motion(self.fps, "channels", motion, self.channels, identity=weights)
