"""Pretrained speech encoders as frozen frontends: wav2vec2, HuBERT and the Whisper encoder.

DiffusionTalker (arXiv 2311.16565) conditions on a large pretrained speech encoder (the 2025
version on HuBERT-style features before distilling them). Weights come from a hub id or a
local directory through ``transformers``' ``from_pretrained``; Whisper can also be read from
a CTranslate2 ``model.bin`` (:mod:`diffusiontalker.audio.whisper_ct2`). All run frozen in eval mode,
giving one vector per 20 ms (50 Hz), trimmed or padded to exactly
``round(N * 50 / 16000)`` vectors.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from .features import WHISPER_WINDOW_SAMPLES, fit_length, whisper_log_mel
from .frontends import PRETRAINED_RATE_HZ, AudioEncoderConfig, AudioEncoderError, Frontend
from .loading import SAMPLE_RATE

_SAMPLES_PER_FEATURE = int(SAMPLE_RATE / PRETRAINED_RATE_HZ)  # 320


def _fingerprint(source: str) -> str:
    """Hub ids identify themselves; local paths by resolved path, size and mtime."""
    path = Path(source).expanduser()
    if not path.exists():
        return source
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
    return ";".join(f"{p.resolve()}:{p.stat().st_size}:{int(p.stat().st_mtime)}" for p in files)


def _pick_layer(hidden_states: tuple[torch.Tensor, ...], layer: int, kind: str) -> torch.Tensor:
    if not -len(hidden_states) <= layer < len(hidden_states):
        raise AudioEncoderError(f"{kind} encoder has {len(hidden_states)} hidden states "
                                f"(embeddings + layers); layer {layer} does not exist")
    return hidden_states[layer]


def _load_error(kind: str, source: str, error: Exception) -> AudioEncoderError:
    where = "local path" if os.path.exists(os.path.expanduser(source)) else "hub id or path"
    return AudioEncoderError(f"could not load the {kind} encoder from {where} {source!r}: {error}")


class _TorchFrontend(Frontend):
    model: torch.nn.Module
    device: torch.device

    def source_fingerprint(self) -> str:
        from .whisper_file import resolve_source

        return _fingerprint(resolve_source(str(self.config.source)))

    def _freeze(self) -> None:
        self.model.eval().requires_grad_(False).to(self.device)


class TransformersFrontend(_TorchFrontend):
    """wav2vec2 / HuBERT hidden states (``config.layer``), 50 per second.

    Long audio is processed in ``chunk_seconds`` pieces with ``context_seconds`` of extra
    audio on each side that is run through the model and then discarded, bounding memory
    (self-attention is quadratic in length) while keeping context at the seams.
    """

    def __init__(self, config: AudioEncoderConfig, device: str | torch.device = "cpu") -> None:
        from transformers import AutoFeatureExtractor, HubertModel, Wav2Vec2Model

        self.config, self.device, self.rate_hz = config, torch.device(device), PRETRAINED_RATE_HZ
        model_class = HubertModel if config.kind == "hubert" else Wav2Vec2Model
        try:
            self.model = model_class.from_pretrained(config.source)
        except Exception as error:  # noqa: BLE001 - any loading failure is reported the same way
            raise _load_error(config.kind, str(config.source), error) from error
        try:  # the checkpoint's own preprocessing, when it ships one
            self.normalize = bool(AutoFeatureExtractor.from_pretrained(config.source).do_normalize)
        except Exception:  # noqa: BLE001 - no preprocessor_config.json: wav2vec2's default
            self.normalize = True
        self._freeze()
        self.dim = int(self.model.config.hidden_size)

    def _encode(self, wave: np.ndarray) -> np.ndarray:
        if self.normalize:  # zero mean, unit variance per input, as Wav2Vec2FeatureExtractor
            wave = (wave - wave.mean()) / np.sqrt(wave.var() + 1e-7)
        inputs = torch.from_numpy(np.ascontiguousarray(wave, np.float32))[None].to(self.device)
        with torch.inference_mode():
            out = self.model(inputs, output_hidden_states=True)
        return _pick_layer(out.hidden_states, self.config.layer, self.config.kind)[0].float().cpu().numpy()

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        wave = np.asarray(wave, dtype=np.float32).reshape(-1)
        total = self.num_features(wave.shape[0])
        # the convolutional front needs at least one 400-sample receptive field
        if wave.shape[0] < 400:
            wave = np.pad(wave, (0, 400 - wave.shape[0]))
        chunk = max(1, int(self.config.chunk_seconds * PRETRAINED_RATE_HZ)) * _SAMPLES_PER_FEATURE
        context = int(self.config.context_seconds * PRETRAINED_RATE_HZ) * _SAMPLES_PER_FEATURE
        if wave.shape[0] <= chunk + 2 * context:
            return fit_length(self._encode(wave), total)
        pieces = []
        for start in range(0, wave.shape[0], chunk):
            lo = max(0, start - context)
            piece = self._encode(wave[lo:min(wave.shape[0], start + chunk + context)])
            skip = (start - lo) // _SAMPLES_PER_FEATURE
            pieces.append(piece[skip:skip + chunk // _SAMPLES_PER_FEATURE])
        return fit_length(np.concatenate(pieces), total)


class WhisperFrontend(_TorchFrontend):
    """Whisper encoder hidden states, 50 per second, from 30 s windows trimmed to the audio.

    ``source``: a hub id or local HF directory (``WhisperModel``/``...ForConditionalGeneration``
    checkpoints), or a CTranslate2 ``model.bin`` (the file, or a directory holding it and no
    ``config.json``).
    """

    def __init__(self, config: AudioEncoderConfig, device: str | torch.device = "cpu") -> None:
        from transformers import WhisperModel

        from .whisper_file import is_whisper_encoder_file, load_whisper_encoder, resolve_source

        self.config, self.device, self.rate_hz = config, torch.device(device), PRETRAINED_RATE_HZ
        source = resolve_source(str(config.source))
        local = Path(source).expanduser()
        own_file = is_whisper_encoder_file(local)
        is_ct2 = not own_file and (local.is_file() or (local.is_dir() and _is_ct2_dir(local)))
        try:
            if own_file:
                self.model = load_whisper_encoder(local)
            elif is_ct2:
                from .whisper_ct2 import load_whisper_encoder_ct2

                self.model = load_whisper_encoder_ct2(local)
            else:
                self.model = WhisperModel.from_pretrained(source).get_encoder()
        except AudioEncoderError:
            raise
        except Exception as error:  # noqa: BLE001
            raise _load_error("whisper", source, error) from error
        self.num_mels = int(self.model.config.num_mel_bins)
        self._freeze()
        self.dim = int(self.model.config.d_model)
        self._positions = int(self.model.config.max_source_positions)

    def _encode_window(self, piece: np.ndarray) -> np.ndarray:
        """Encoder states of one 30 s piece; its log-mel is :func:`features.whisper_log_mel`
        (the ONNX runtime's too), computed only as far as the encoder reads it."""
        frames = 2 * self._positions
        if self.config.trim:
            frames = 2 * min(self._positions, -(-piece.shape[0] // _SAMPLES_PER_FEATURE))
        mel = whisper_log_mel(piece, self.num_mels, frames=frames)
        mel = torch.from_numpy(np.ascontiguousarray(mel.T[None])).to(self.device)
        with torch.inference_mode():
            if self.config.trim:
                states = trimmed_hidden_states(self.model, mel)
            else:
                states = self.model(mel, output_hidden_states=True).hidden_states
        return _pick_layer(states, self.config.layer, "whisper")[0].float().cpu().numpy()

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        wave = np.asarray(wave, dtype=np.float32).reshape(-1)
        pieces = []
        for start in range(0, max(1, wave.shape[0]), WHISPER_WINDOW_SAMPLES):
            piece = wave[start:start + WHISPER_WINDOW_SAMPLES]
            features = self._encode_window(piece)
            pieces.append(features[: self.num_features(piece.shape[0])])
        return fit_length(np.concatenate(pieces), self.num_features(wave.shape[0]))


def trimmed_hidden_states(encoder: torch.nn.Module, mel: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Whisper's encoder (a ``transformers`` ``WhisperEncoder``) on ``mel (B, n_mels, 2n)`` as
    it is (no padding to 30 s): convolutions, the first ``n`` positions' embeddings, the
    layers; the last state gets the final layer norm. The ONNX export traces this function."""
    x = torch.nn.functional.gelu(encoder.conv1(mel))
    x = torch.nn.functional.gelu(encoder.conv2(x)).permute(0, 2, 1)
    x = x + encoder.embed_positions.weight[: x.shape[1]]
    states = [x]
    for layer in encoder.layers:
        out = layer(x, None)
        x = out[0] if isinstance(out, tuple) else out
        states.append(x)
    states[-1] = encoder.layer_norm(x)
    return tuple(states)


def _is_ct2_dir(path: Path) -> bool:
    """A directory from CTranslate2's converter: model.bin whose first bytes are its version."""
    candidate = path / "model.bin"
    if not candidate.is_file():
        return False
    with open(candidate, "rb") as handle:
        head = handle.read(4)
    return len(head) == 4 and int.from_bytes(head, "little") in (5, 6)
