"""Regenerate the tiny checkpoints and their ONNX exports in tests/runtime/data/.

Run with a Python that has torch and onnx (the export-only environment .venv-export, which
./dev.sh test sets up from requirements/export.txt), from the repo root:

    PYTHONPATH=core .venv-export/bin/python tests/runtime/make_onnx_fixtures.py

The files are produced by this script and `export_onnx`, never edited by hand;
test_onnx.py checks that each export's recorded SHA-256 matches its checkpoint.
``tiny_channels_v1.onnx`` is not made here: it is the format-1 export of tiny_channels (one
denoiser graph taking the audio tokens) kept from the release before the split denoiser, so
test_onnx.py can check that older exports still run and give the same take.
``--student DIR`` instead writes a tiny model whose audio frontend is a (random) compact
student encoder, and its export, into DIR (test_onnx.py does that in a temporary folder);
``--whisper DIR`` (``--whisper-untrimmed DIR``) the same with a random tiny Whisper encoder.
"""

from __future__ import annotations

import sys
from pathlib import Path

from diffusiontalker.network import checkpoint
from diffusiontalker.network.factory import random_model
from diffusiontalker.runtime.onnx_export import export_onnx

DATA = Path(__file__).resolve().parent / "data"
MODELS = {
    "tiny_channels": dict(space="channels", seed=0),
    "tiny_vertices": dict(space="vertices", seed=1, num_vertices=50, pca_components=8),
}


def make_student_model(folder: Path) -> Path:
    """A tiny channels model on a random compact student audio encoder, saved and exported."""
    import torch

    from diffusiontalker.audio.compact_encoder import CompactAudioEncoder, StudentConfig
    from diffusiontalker.audio.frontends import AudioEncoderConfig
    from diffusiontalker.channels import CHANNELS
    from diffusiontalker.network.factory import new_model
    from diffusiontalker.network.model import MotionSpec

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(3)
    encoder = CompactAudioEncoder(StudentConfig(n_mels=16, out_dim=24, out_rate_hz=50.0, hidden=32,
                                                level_rms=0.05))
    torch.nn.init.normal_(encoder.head.weight, std=0.5)
    encoder_path = encoder.save(folder / "student_encoder.safetensors")
    model = new_model(MotionSpec("channels", 25.0, channels=list(CHANNELS)), ["ada", "bo"],
                      AudioEncoderConfig(kind="student", source=str(encoder_path)), "tiny")
    torch.nn.init.normal_(model.denoiser.out.weight, std=0.3)
    model.config.diffusion.default_steps = 4
    path = checkpoint.save_model(model.eval(), folder / "student_frontend.safetensors")
    export_onnx(path, folder / "student_frontend.onnx")
    return path


def make_whisper_model(folder: Path, trim: bool = True) -> Path:
    """A tiny channels model on a random tiny Whisper encoder (stored in float16 like the
    shipped one, ``audio.whisper_file``), trim mode, last layer; saved and exported."""
    import torch
    from transformers import WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    from diffusiontalker.audio.frontends import AudioEncoderConfig
    from diffusiontalker.audio.whisper_file import save_whisper_encoder
    from diffusiontalker.channels import CHANNELS
    from diffusiontalker.network.factory import new_model
    from diffusiontalker.network.model import MotionSpec

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(4)
    encoder = WhisperEncoder(WhisperConfig(
        d_model=16, encoder_layers=2, encoder_attention_heads=2, encoder_ffn_dim=32,
        num_mel_bins=80, max_source_positions=1500)).eval()
    encoder_path = save_whisper_encoder(encoder, folder / "whisper_encoder.safetensors",
                                        "test only", "random tiny encoder")
    model = new_model(MotionSpec("channels", 25.0, channels=list(CHANNELS)), ["ada", "bo"],
                      AudioEncoderConfig(kind="whisper", source=str(encoder_path), trim=trim,
                                         layer=-1), "tiny")
    torch.nn.init.normal_(model.denoiser.out.weight, std=0.3)
    model.config.diffusion.default_steps = 4
    path = checkpoint.save_model(model.eval(), folder / "whisper_frontend.safetensors")
    export_onnx(path, folder / "whisper_frontend.onnx")
    return path


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--student":
        print(make_student_model(Path(sys.argv[2])))
        return
    if len(sys.argv) == 3 and sys.argv[1] in ("--whisper", "--whisper-untrimmed"):
        print(make_whisper_model(Path(sys.argv[2]), trim=sys.argv[1] == "--whisper"))
        return
    DATA.mkdir(exist_ok=True)
    for name, kwargs in MODELS.items():
        path = checkpoint.save_model(random_model(**kwargs), DATA / f"{name}.safetensors")
        print(export_onnx(path, DATA / f"{name}.onnx"))


if __name__ == "__main__":
    main()
