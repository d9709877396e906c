"""A worker test loader whose talker raises the error class named in the request.

``load_raising(checkpoint, device)``: a checkpoint ``"raise:NAME"`` raises class ``NAME`` at
load; otherwise ``generate(..., identity=NAME)`` and ``match_identity`` (with ``top_k`` the
index of a name in :func:`names`) raise it. ``NAME`` is a class of ``diffusiontalker.errors``,
``OutsideError`` (an IdentityError subclass defined here, outside errors.py) or
``RuntimeError`` (a bug). Everything else (the facts the worker reports at ``load``) comes
from the tiny channels model in tests/runtime/data, loaded by the worker's default loader.
"""

from __future__ import annotations

from pathlib import Path

from diffusiontalker.errors import IdentityError, error_classes

TINY = Path(__file__).resolve().parent / "data" / "tiny_channels.safetensors"


class OutsideError(IdentityError):
    """A DiffusionTalkerError subclass that errors.py does not define."""


def names() -> list[str]:
    return [*error_classes(), "OutsideError", "RuntimeError"]


def message(name: str) -> str:
    """What the error raised for ``name`` says (two lines, non-ASCII, quotes)."""
    return f"{name}: something 'x' is wrong — fix it like this\nsecond line: ü"


def make(name: str) -> Exception:
    classes = {**error_classes(), "OutsideError": OutsideError, "RuntimeError": RuntimeError}
    return classes[name](message(name))


class RaisingTalker:
    """A real (tiny) talker whose ``generate`` and ``match_identity`` only raise."""

    def __init__(self, talker) -> None:
        self._talker = talker

    def __getattr__(self, name: str):
        return getattr(self._talker, name)

    def generate(self, audio, sample_rate=None, *, identity=None, steps=None, seed=0,
                 style_strength=1.0, progress=None, cancel=None):
        raise make(str(identity))

    def match_identity(self, audio, sample_rate=None, top_k=3):
        raise make(names()[top_k])


def load_raising(checkpoint, device):
    if checkpoint and str(checkpoint).startswith("raise:"):
        raise make(str(checkpoint)[len("raise:"):])
    from diffusiontalker.runtime.loader import load_talker

    return RaisingTalker(load_talker(TINY, device))
