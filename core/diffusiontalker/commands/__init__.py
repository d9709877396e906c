"""Sub-commands of the `diffusiontalker` CLI: one module each (see ``cli.COMMANDS``)."""

from __future__ import annotations

import argparse


def add_audio_encoder_argument(parser: argparse.ArgumentParser) -> None:
    """``--audio-encoder``: the fast compact stand-in for a model's Whisper encoder
    (``api.load_model(audio_encoder=...)``)."""
    parser.add_argument("--audio-encoder", metavar="compact|FILE",
                        help="read audio with this instead of the model's own encoder: 'compact' "
                             "(the fast compact encoder shipped with the default model) or a "
                             "distill-audio .safetensors file")
