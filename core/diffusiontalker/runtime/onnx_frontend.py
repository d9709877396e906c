"""An export's audio frontend without torch: the numpy log-mel, then the exported encoder graph.

``ExportedFrontend(entry, session)`` computes a wave's frontend features as the manifest's
``frontend`` entry describes them (``onnx_export``): the plain log-mel (no graph), the compact
*student* encoder, or the *Whisper* encoder on 30 s pieces. ONNX Runtime's talker reads audio
with it, and so does the torch talker where the checkpoint's export quantises its encoder
(:func:`quantized_frontend`; the shipped default model): both then run the same int8 graph on
the same log-mel, so a seed still gives the same take in either runtime.
"""

from __future__ import annotations

import json
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
from ..audio.loading import SAMPLE_RATE
from .exports import export_matches, onnx_dir_for
from .onnx_export import MANIFEST

MEL_RATE_HZ = 100.0  # log-mel frames per second (hop 160 at 16 kHz, audio_encoders.MelFrontend)
KINDS = ("mel", "student", "whisper")


def mel_entry(n_mels: int) -> dict[str, Any]:
    """The ``frontend`` entry of an export whose manifest has none (a plain log-mel model)."""
    return {"kind": "mel", "n_mels": int(n_mels), "rate_hz": MEL_RATE_HZ}


class ExportedFrontend:
    """``wave (N,) @ 16 kHz -> features (F, C)`` float32, with exactly
    ``max(1, round(N * rate / 16000))`` rows, as ``audio.frontends``' log-mel, ``audio.
    compact_encoder``'s student and ``audio.pretrained.WhisperFrontend`` compute them.
    ``session``: the ``frontend.onnx`` session (None for the log-mel kind)."""

    def __init__(self, entry: dict[str, Any], session: Any = None) -> None:
        self.entry, self.session = entry, session
        self.rate_hz = float(entry["rate_hz"])

    def num_features(self, num_samples: int) -> int:
        return max(1, int(round(num_samples * self.rate_hz / SAMPLE_RATE)))

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        wave = np.asarray(wave, np.float32).reshape(-1)
        entry = self.entry
        if entry["kind"] == "whisper":
            return self.whisper_features(wave)
        if float(entry.get("level_rms", 0.0)) > 0:  # the student's level equalisation
            wave = normalize_level(wave, float(entry["level_rms"]))
        # the student's log-mel hop is recorded by its export (older exports: 160, 100 Hz)
        mel = log_mel(wave, n_mels=int(entry["n_mels"]), hop=int(entry.get("mel_hop", 160)))
        count = self.num_features(wave.shape[0])
        if entry["kind"] == "student":
            mel = self.session.run(None, {"mel": np.ascontiguousarray(mel[None], np.float32),
                                          "num_out": np.array([count], np.int64)})[0][0]
        mel = np.ascontiguousarray(fit_length(mel, count), dtype=np.float32)
        return cmvn(mel) if entry.get("normalize") == "cmvn" else mel

    def whisper_features(self, wave: np.ndarray) -> np.ndarray:
        """Whisper encoder states, 50 per second, as ``audio.pretrained.WhisperFrontend``:
        30 s pieces, each one's log-mel that of its zero-padded 30 s window, cut to
        ``2 * ceil(len / 320)`` frames in trim mode (all of them otherwise), encoded."""
        n_mels, positions = int(self.entry["n_mels"]), int(self.entry["positions"])
        hop = int(round(SAMPLE_RATE / self.rate_hz))  # samples per state
        pieces = []
        for start in range(0, max(1, wave.shape[0]), WHISPER_WINDOW_SAMPLES):
            piece = wave[start:start + WHISPER_WINDOW_SAMPLES]
            frames = 2 * positions
            if self.entry["trim"]:
                frames = 2 * min(positions, -(-piece.shape[0] // hop))
            mel = whisper_log_mel(piece, n_mels, frames=frames)
            states = self.session.run(
                None, {"mel": np.ascontiguousarray(mel.T[None], np.float32)})[0][0]
            pieces.append(states[: self.num_features(piece.shape[0])])
        return np.ascontiguousarray(fit_length(np.concatenate(pieces),
                                               self.num_features(wave.shape[0])), dtype=np.float32)


def quantized_frontend(checkpoint: str | Path | None, threads: int | None = None) -> ExportedFrontend | None:
    """The quantised audio encoder of the checkpoint's own export (run on the CPU), or None.

    Where ``NAME.onnx/`` beside ``NAME.safetensors`` was exported from this very checkpoint
    (``exports.export_matches``) with ``--quantize int8``, that int8 graph is the model's audio
    encoder for the torch runtime too: the same features in both runtimes, half the encoder's
    time (docs/results.md, "int8 audio encoder"). None otherwise, and where onnxruntime does
    not import (read the float encoder)."""
    if not export_matches(checkpoint):
        return None
    folder = onnx_dir_for(checkpoint)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    entry = manifest.get("frontend") or {}
    if "frontend" not in (manifest.get("quantize") or {}) or entry.get("kind") not in KINDS[1:]:
        return None
    try:
        import onnxruntime  # noqa: F401  (a dependency of the package; a bare env may lack it)
    except ImportError:
        return None
    from .device import create_ort_session

    name = (manifest.get("files") or {}).get("frontend", "frontend.onnx")
    session, _ = create_ort_session(str(folder / name), "cpu", threads)
    return ExportedFrontend(entry, session)
