"""Choosing a talking identity: one syntax, one normalisation, one blend for every runtime.

DiffusionTalker (Chen et al., arXiv 2311.16565 § 3.2) conditions the denoiser on an identity
embedding from a learnt *identity library*. A user chooses it as

- ``None``: the neutral identity (the mean of the library rows, UniTalker's "pivot");
- a name: that library row;
- a blend ``{name: weight}`` (convex weights after normalisation), written as text
  ``"ada=0.7,bo=0.3"`` everywhere (CLI ``--blend``, Blender's Blend field, scripts);
- :data:`MATCH`: the row whose style embedding best matches the voice (the library lookup).

:func:`blend_rows` turns the weights into the vector ``e = n + s (Σ_j w_j E_j − n)`` (``n`` the
neutral row, ``s`` the style strength: 0 neutral, 1 the choice, > 1 exaggerated); it is
array-agnostic, so the torch model, the ONNX Runtime path and tests share it. Torch-free.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .errors import IdentityError

MATCH = "match"  # the choice "the library identity that best matches this voice"
IdentityChoice = str | dict[str, float] | None
BLEND_SYNTAX = "NAME=WEIGHT,NAME=WEIGHT (e.g. ada=0.7,bo=0.3)"


def parse_blend(text: str) -> dict[str, float]:
    """``"ada=0.7, bo=0.3"`` -> ``{"ada": 0.7, "bo": 0.3}``; a bare name weighs 1.

    The older Blender form ``ada:0.7`` is still read, with a ``FutureWarning`` that names the
    new one."""
    blend: dict[str, float] = {}
    old_style = False
    for part in filter(None, (p.strip() for p in str(text).split(","))):
        name, sep, weight = part.partition("=")
        if not sep and ":" in part:
            name, sep, weight = part.rpartition(":")
            old_style = True
        name = name.strip()
        if not name:
            raise IdentityError(f"identity blend entry {part!r} has no name; write {BLEND_SYNTAX}")
        try:
            value = float(weight) if sep else 1.0
        except ValueError:
            raise IdentityError(f"bad blend weight in {part!r}; write {BLEND_SYNTAX}") from None
        blend[name] = value
    if not blend:
        raise IdentityError(f"the identity blend is empty; write {BLEND_SYNTAX}")
    if old_style:
        warnings.warn(f"the blend form 'name:weight' is deprecated; write {BLEND_SYNTAX}",
                      FutureWarning, stacklevel=2)
    return blend


def format_blend(weights: Mapping[str, float]) -> str:
    """``{"ada": 0.7, "bo": 0.3}`` -> ``"ada=0.7,bo=0.3"`` (the inverse of :func:`parse_blend`)."""
    return ",".join(f"{name}={float(w):g}" for name, w in weights.items())


def normalize_blend(choice: Mapping[str, float], names: Sequence[str]) -> dict[str, float]:
    """A ``{name: weight}`` blend of library identities as convex weights (summing to 1)."""
    if not isinstance(choice, Mapping) or not choice:
        raise IdentityError("an identity blend must be a non-empty {name: weight} mapping")
    unknown = [n for n in choice if n not in names]
    if unknown:
        raise IdentityError(f"unknown identity {', '.join(map(repr, unknown))}; known "
                            f"identities: {', '.join(names)}")
    try:
        weights = {n: float(w) for n, w in choice.items()}
    except (TypeError, ValueError):
        raise IdentityError("identity blend weights must be numbers") from None
    if any(not math.isfinite(w) or w < 0 for w in weights.values()):
        raise IdentityError("identity blend weights must be finite, non-negative numbers")
    total = sum(weights.values())
    if total <= 0:
        raise IdentityError("identity blend weights must not all be zero")
    return {n: w / total for n, w in weights.items()}


def blend_weights(choice: Any, names: Sequence[str],
                  best_match: Callable[[], str] | None = None) -> dict[str, float]:
    """Convex blend weights for an identity choice: None (neutral: ``{}``), a name, a
    ``{name: weight}`` blend, blend text (``"ada=0.7,bo=0.3"``), or :data:`MATCH`
    (``best_match()`` names the identity)."""
    if choice is None:
        return {}
    if isinstance(choice, str):
        if choice == MATCH:
            if best_match is None:
                raise IdentityError("identity 'match' needs the audio to match against")
            return {best_match(): 1.0}
        if choice not in names and any(c in choice for c in "=,:"):
            choice = parse_blend(choice)
        else:
            choice = {choice: 1.0}
    return normalize_blend(choice, names)


def check_style_strength(style_strength: float) -> float:
    """The style strength as a finite float (0 neutral, 1 the identity, > 1 exaggerated)."""
    try:
        s = float(style_strength)
    except (TypeError, ValueError):
        raise IdentityError(f"style strength must be a number, got {style_strength!r}") from None
    if not math.isfinite(s):
        raise IdentityError(f"style strength must be a finite number, got {style_strength!r}")
    return s


def blend_rows(weights: Mapping[str, float], names: Sequence[str], rows: Any, neutral: Any,
               style_strength: float = 1.0) -> Any:
    """The identity vector ``e = n + s (Σ_j w_j E_j − n)`` for normalised ``weights``.

    ``rows`` ``(K, d)`` and ``neutral`` ``(d,)`` may be numpy arrays or torch tensors; the
    result is of the same kind. Empty weights give the neutral row."""
    if not weights:
        return neutral
    blended = None
    for name, w in weights.items():
        term = rows[list(names).index(name)] * float(w)
        blended = term if blended is None else blended + term
    return neutral + check_style_strength(style_strength) * (blended - neutral)
