"""Export a checkpoint to ONNX for the torch-free ONNX Runtime path (``onnx_talker``).

``export_onnx(checkpoint, out_dir)`` writes, with the time axis T (and the feature axis F)
dynamic:

- ``adapter.onnx``: ``features (B, F, C) float32, num_frames (1,) int64 -> tokens (B, T, d)``,
  the trainable audio adapter including its interpolation to the motion frame rate;
- ``denoiser_context.onnx``: ``audio (B, T, d) ->`` what a denoiser step reads from its
  window alone (``Denoiser.prepare_audio``): the window constants ``positions (T, d_model)``,
  ``self_bias (1, H, T, T)`` (ALiBi) and ``cross_bias (1, T, 2k + 1, 1)`` (band mask), computed
  in the graph from ``T``, and per layer ``i`` the keys and values ``key{i}``, ``value{i}``
  ``(B, T, 2k + 1, H, d_head)`` of each frame's ``2k + 1`` audio neighbours (the banded
  cross-attention, ``network.denoiser.BandedAttention``). Run once per window;
- ``denoiser.onnx``: ``z (B, T, P), u (B,), identity (B, d_id)`` and those context tensors
  ``-> x (B, T, P)``, ``DiffusionTalker.denoise`` (x̂ whatever the parameterisation), run at
  every step. (Format 1 exports had one ``denoiser.onnx`` taking ``audio`` and rebuilding the
  context at every step; ``onnx_talker`` still runs them.)
- ``style.onnx``: ``tokens (B, T, d) -> similarities (B, K)``, cosine of the style encoder's
  embedding to each library row (identity ``"match"``);
- ``frontend.onnx``, for two frontend kinds: the compact *student* audio encoder of
  DiffusionTalker 2025 (``mel (B, F, n_mels), num_out (1,) int64 -> features``), and the
  *Whisper* encoder (``mel (B, n_mels, 2n) -> features (B, n, d)``: convolutions, the first
  ``n`` position embeddings, the layers up to the configured one, the final layer norm when
  that is the last; ``audio_pretrained.trimmed_hidden_states``), fed by the numpy
  ``features.whisper_log_mel``. The log-mel frontend needs no graph (numpy
  ``features.log_mel``); wav2vec2 and HuBERT are not exported (distill a student for them);
- ``arrays.npz``: the identity rows and neutral row, the motion normaliser's mean / scale /
  basis and the template (read with ``allow_pickle=False``);
- ``onnx_model.json``: the model config, the file list, the source checkpoint's SHA-256 and
  the largest torch-vs-ONNX Runtime difference of each graph, checked at export time.

Weights whose float32 values are exactly float16 numbers (a Whisper encoder file is float16) are stored as float16 initializers followed by a ``Cast`` to float32: the same values
in half the bytes (ONNX Runtime folds the casts when it loads the graph).

``quantize="int8"`` also stores the audio encoder graph (``frontend.onnx``) quantised with ONNX
Runtime's dynamic quantiser (:func:`quantize_int8`: ``MatMul`` weights as 7-bit
int8 with one scale per output channel, activations quantised to uint8 per call;
convolutions, embeddings, attention products and norms stay float). The float
graph is checked against torch as every graph is; the int8 graph's difference is recorded
in the manifest's ``quantize`` entry, not held to ``tolerance`` (docs/results.md, "int8 audio
encoder", measures what it changes on real voices).

Exporting needs torch and the ``onnx`` package. ``onnx`` pulls numpy 2, which breaks Blender's
audio next to bpy 5.0, so keep it in a separate environment used only for exporting
(docs/runtime.md); running the exported files needs only onnxruntime and numpy.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CheckpointError, ExportError
from .onnx_graphs import _float16_initializers, _float32_trigonometry, quantize_int8  # noqa: F401

ONNX_FORMAT = "diffusiontalker-onnx"
ONNX_FORMAT_VERSION = 2
READABLE_FORMAT_VERSIONS = (1, 2)  # 1: one denoiser graph taking the audio tokens
MANIFEST = "onnx_model.json"
OPSET = 17
FILES = {"adapter": "adapter.onnx", "denoiser_context": "denoiser_context.onnx",
         "denoiser": "denoiser.onnx", "style": "style.onnx", "arrays": "arrays.npz"}
FRONTEND_FILE = "frontend.onnx"
QUANTIZE = ("none", "int8")


def _require_export_tools() -> None:
    try:
        import onnx  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        raise ExportError(
            f"exporting to ONNX needs torch and the 'onnx' package ({exc}). They live in a "
            "separate environment (onnx pulls numpy 2, which bpy 5.0 cannot sit beside): in a "
            "checkout, ./dev.sh test creates .venv-export from requirements/export.txt; run this "
            "command with .venv-export/bin/python -m diffusiontalker") from None


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def denoiser_context_names(num_layers: int) -> list[str]:
    """The ``denoiser_context`` graph's outputs, in order: the ``denoiser`` graph's inputs
    after ``z``, ``u`` and ``identity``."""
    names = ["positions", "self_bias", "cross_bias"]
    for i in range(num_layers):
        names += [f"key{i}", f"value{i}"]
    return names


def _wrappers(model: Any) -> dict[str, Any]:
    """The exported graphs as small modules with tensor-only inputs."""
    from torch import nn

    from ..network.denoiser import AudioContext, WindowConstants
    from ..network.model import Conditioning

    class Adapter(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, features, num_frames):
            return self.model.audio_tokens(features, num_frames[0])

    class DenoiserContext(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.denoiser = model.denoiser

        def forward(self, audio):
            context = self.denoiser.prepare_audio(audio)
            return (*context.constants, *(t for pair in context.neighbours for t in pair))

    class Denoise(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, z, u, identity, *context):
            constants, kv = WindowConstants(*context[:3]), context[3:]
            neighbours = tuple((kv[i], kv[i + 1]) for i in range(0, len(kv), 2))
            return self.model.denoise(z, u, Conditioning(AudioContext(neighbours, constants), identity))

    class Style(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.identity = model.identity

        def forward(self, tokens):
            return self.identity.similarities(tokens)

    return {"adapter": Adapter().eval(), "denoiser_context": DenoiserContext().eval(),
            "denoiser": Denoise().eval(), "style": Style().eval()}


def _whisper_frontend(frontend: Any) -> tuple[dict[str, Any], Any]:
    """The Whisper encoder up to the configured layer, as ``mel (B, n_mels, 2n) -> (B, n, d)``."""
    from torch import nn

    from ..audio.pretrained import _pick_layer, trimmed_hidden_states

    layer = int(frontend.config.layer)

    class Whisper(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = frontend.model

        def forward(self, mel):
            return _pick_layer(trimmed_hidden_states(self.encoder, mel), layer, "whisper")

    cfg = frontend.model.config
    entry = {"kind": "whisper", "file": FRONTEND_FILE, "n_mels": int(cfg.num_mel_bins),
             "rate_hz": float(frontend.rate_hz), "dim": int(frontend.dim),
             "positions": int(cfg.max_source_positions), "trim": bool(frontend.config.trim),
             "layer": layer}
    return entry, Whisper().eval()


def _frontend(model: Any) -> tuple[dict[str, Any], Any]:
    """The manifest's ``frontend`` entry, and the encoder module to export (or None)."""
    audio = model.config.audio
    if audio.kind == "mel":
        return {"kind": "mel", "n_mels": int(audio.n_mels), "rate_hz": 100.0,
                "normalize": audio.normalize}, None
    if audio.kind not in ("student", "whisper"):
        raise ExportError(
            f"the ONNX Runtime path cannot run the pretrained {audio.kind!r} frontend; distill "
            "a compact student audio encoder (frontend kind 'student'), or use the log-mel or "
            "Whisper one")
    from torch import nn

    from ..audio.build import build_frontend

    if audio.kind == "whisper":
        try:
            import transformers  # noqa: F401
        except ImportError:
            raise ExportError("exporting a Whisper frontend needs the 'transformers' package in "
                              "the export environment (pip install transformers)") from None
        return _whisper_frontend(build_frontend(audio))
    frontend = build_frontend(audio)

    class Student(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = frontend.model

        def forward(self, mel, num_out):
            return self.encoder(mel, num_out[0])

    entry = {"kind": "student", "file": FRONTEND_FILE, "n_mels": int(frontend.model.config.n_mels),
             "mel_hop": int(frontend.model.config.mel_hop), "rate_hz": float(frontend.rate_hz),
             "dim": int(frontend.dim), "level_rms": float(frontend.model.config.level_rms)}
    return entry, Student().eval()


def _example_inputs(model: Any, frames: int, seed: int) -> dict[str, tuple]:
    import torch

    cfg = model.config
    gen = torch.Generator().manual_seed(seed)
    num_features = max(1, round(frames * cfg.adapter.rate_hz / cfg.motion.fps))
    features = torch.randn(1, num_features, cfg.adapter.in_dim, generator=gen)
    tokens = torch.randn(1, frames, cfg.denoiser.audio_dim, generator=gen)
    with torch.no_grad():
        context = _wrappers(model)["denoiser_context"](tokens)
    return {
        "adapter": (features, torch.tensor([frames], dtype=torch.int64)),
        "denoiser_context": (tokens,),
        "denoiser": (torch.randn(1, frames, cfg.denoiser.in_dim, generator=gen),
                     torch.tensor([0.6]), torch.randn(1, cfg.denoiser.id_dim, generator=gen),
                     *context),
        "style": (tokens,),
    }


def _denoiser_signatures(num_layers: int) -> dict[str, tuple]:
    """The split denoiser's input and output names and dynamic axes."""
    names = denoiser_context_names(num_layers)
    axes = {"positions": {0: "frames"}, "self_bias": {2: "frames", 3: "frames"},
            "cross_bias": {1: "frames"},
            **{n: {0: "batch", 1: "frames"} for n in names[3:]}}
    return {
        "denoiser_context": (["audio"], names, {"audio": {0: "batch", 1: "frames"}, **axes}),
        "denoiser": (["z", "u", "identity", *names], ["x"],
                     {"z": {0: "batch", 1: "frames"}, "u": {0: "batch"}, "identity": {0: "batch"},
                      **axes, "x": {0: "batch", 1: "frames"}}),
    }


SIGNATURES = {
    "adapter": (["features", "num_frames"], ["tokens"],
                {"features": {0: "batch", 1: "features"}, "tokens": {0: "batch", 1: "frames"}}),
    "style": (["tokens"], ["similarities"],
              {"tokens": {0: "batch", 1: "frames"}, "similarities": {0: "batch"}}),
    "frontend": (["mel", "num_out"], ["features"],
                 {"mel": {0: "batch", 1: "mel_frames"}, "features": {0: "batch", 1: "features"}}),
    "whisper": (["mel"], ["features"],
                {"mel": {0: "batch", 2: "mel_frames"}, "features": {0: "batch", 1: "features"}}),
}


def export_onnx(checkpoint: str | Path, out_dir: str | Path, tolerance: float = 1e-4,
                quantize: str = "none") -> Path:
    """Export ``checkpoint`` into ``out_dir`` (created); returns the manifest's path.

    Each graph is run by onnxruntime on inputs of a *different* length than it was traced
    with and compared to torch; a difference above ``tolerance`` is an ``ExportError``.
    ``quantize="int8"``: the audio encoder graph is then replaced by its dynamic int8
    quantisation (:func:`quantize_int8`); a model without an encoder graph (log-mel) is an
    ``ExportError``.
    """
    if quantize not in QUANTIZE:
        raise ExportError(f"unknown quantisation {quantize!r}: choose one of {', '.join(QUANTIZE)}")
    _require_export_tools()
    import torch

    from ..network import checkpoint as checkpoint_io

    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise CheckpointError(f"checkpoint {checkpoint} does not exist")
    model = checkpoint_io.load_model(checkpoint, "cpu").eval()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    graphs = _wrappers(model)
    traced_with, checked_with = _example_inputs(model, 40, 0), _example_inputs(model, 67, 1)
    frontend, encoder = _frontend(model)
    files = dict(FILES)
    signatures = {**SIGNATURES, **_denoiser_signatures(model.config.denoiser.num_layers)}
    if quantize != "none" and encoder is None:
        raise ExportError(f"--quantize {quantize} quantises the audio encoder graph, and this "
                          f"model's {frontend['kind']!r} frontend has none")
    if encoder is not None:
        graphs["frontend"], files["frontend"] = encoder, FRONTEND_FILE
        for inputs, frames in ((traced_with, 40), (checked_with, 67)):
            gen = torch.Generator().manual_seed(frames)
            if frontend["kind"] == "whisper":  # 2n mel frames -> n vectors, n <= positions
                n = min(frames, frontend["positions"])
                inputs["frontend"] = (torch.randn(1, frontend["n_mels"], 2 * n, generator=gen),)
                continue
            mel = torch.randn(1, round(frames * 100.0 / model.config.motion.fps), frontend["n_mels"],
                              generator=gen)
            count = max(1, round(frames * frontend["rate_hz"] / model.config.motion.fps))
            inputs["frontend"] = (mel, torch.tensor([count], dtype=torch.int64))
        if frontend["kind"] == "whisper":
            signatures["frontend"] = SIGNATURES["whisper"]
    differences = {}
    with torch.no_grad():
        for name, module in graphs.items():
            inputs, outputs, axes = signatures[name]
            torch.onnx.export(module, traced_with[name], str(out / files[name]), dynamo=False,
                              input_names=inputs, output_names=outputs, dynamic_axes=axes,
                              opset_version=OPSET)
            _float32_trigonometry(out / files[name])
            _float16_initializers(out / files[name])
            differences[name] = _check(out / files[name], module, inputs, checked_with[name])
    bad = {k: v for k, v in differences.items() if not v <= tolerance}
    if bad:
        raise ExportError(f"the exported graphs disagree with torch beyond {tolerance}: {bad}")
    quantized = {}
    if quantize == "int8":
        path = out / files["frontend"]
        quantized["frontend"] = quantize_int8(path, path)
        with torch.no_grad():
            quantized["frontend"]["max_abs_difference"] = _check(
                path, graphs["frontend"], signatures["frontend"][0], checked_with["frontend"])
    _save_arrays(model, out / files["arrays"])
    manifest = {
        "format": ONNX_FORMAT, "format_version": ONNX_FORMAT_VERSION,
        "model_config": model.config.to_dict(), "files": files, "frontend": frontend,
        **({"quantize": quantized} if quantized else {}),
        "opset": OPSET,
        "source": {"checkpoint": checkpoint.name, "sha256": sha256_of(checkpoint)},
        "exporter": f"torch {torch.__version__} (TorchScript-based torch.onnx.export)",
        "max_abs_difference": differences,
    }
    path = out / MANIFEST
    path.write_text(json.dumps(manifest, indent=1) + "\n")
    return path


def _check(path: Path, module: Any, names: list[str], inputs: tuple) -> float:
    """Largest |torch - onnxruntime| of one graph on ``inputs``, over all its outputs."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ours = session.run(None, {n: t.numpy() for n, t in zip(names, inputs, strict=True)})
    reference = module(*inputs)
    reference = reference if isinstance(reference, tuple) else (reference,)
    worst = 0.0
    for a, b in zip(ours, reference, strict=True):
        b = b.numpy()
        if a.shape != b.shape:
            return float("inf")
        if a.size:  # the band mask's finfo.min / 2 is exact in both, so plain differences
            worst = max(worst, float(np.max(np.abs(a - b))))
    return worst


def _save_arrays(model: Any, path: Path) -> None:
    def f32(t: Any) -> np.ndarray:
        return t.detach().cpu().numpy().astype(np.float32)

    norm = model.normalizer
    np.savez(path,
             identity_rows=f32(model.identity.embeddings),
             identity_neutral=f32(model.identity.neutral()),
             norm_mean=f32(norm.mean), norm_scale=f32(norm.scale), norm_basis=f32(norm.basis),
             template=f32(model.template))
