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


def require_extra(command: str, extra: str, *modules: str) -> None:
    """Raise one clear DiffusionTalkerError when ``diffusiontalker COMMAND`` needs ``modules``
    that are not installed: which ones, and the pip extra that brings them.

    Checked with ``importlib.util.find_spec`` (nothing is imported; a module blocked with
    ``sys.modules[name] = None`` counts as missing). Call it first in a command's ``run``.
    """
    import importlib.util

    from ..errors import DiffusionTalkerError

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise DiffusionTalkerError(
            f"`diffusiontalker {command}` needs {' and '.join(missing)}, not installed here: "
            f"pip install 'diffusiontalker[{extra}]' (a plain install only generates, with "
            "ONNX Runtime)")


def require_torch(command: str) -> None:
    """:func:`require_extra` for the commands that train, evaluate or sample with torch."""
    require_extra(command, "torch", "torch", "safetensors")
