"""Contrastive talking identities: the identity library, the style encoder and InfoNCE.

DiffusionTalker (Chen et al., arXiv 2311.16565 § 3.2) learns one embedding per training
speaker contrastively against audio and, at inference, looks up the best-matching identity in
this *identity library*. Our reading (InfoNCE, van den Oord et al. 2018, arXiv 1807.03748): a style
encoder ``g`` pools the audio tokens over time (masked mean + MLP); the InfoNCE logits are
``cos(g(a), E_j)/τ`` over all library rows with cross-entropy towards the clip's speaker.
The neutral identity is the mean of the rows (UniTalker's "pivot" idea for unseen voices).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import IdentityConfig
from ..errors import ConfigError, IdentityError
from ..identity_choice import MATCH, IdentityChoice, blend_rows, blend_weights  # noqa: F401


def check_new_name(name: str, names: list[str]) -> None:
    """IdentityError unless ``name`` can name a new row beside ``names``: not empty, not taken,
    not "match", and free of the blend syntax's ``=``, ``,`` and ``:``."""
    if not name or name != name.strip() or any(c in name for c in "=,:") or name == MATCH:
        raise IdentityError(f"{name!r} cannot name an identity: use a name without '=', ',', "
                            f"':' or surrounding spaces that is not {MATCH!r}")
    if name in names:
        raise IdentityError(f"the library already has an identity called {name!r}; choose "
                            "another name or remove that one first (diffusiontalker identity "
                            "remove)")


class StyleEncoder(nn.Module):
    """``g``: masked temporal mean of audio tokens ``(B, T, d)`` then an MLP ``-> (B, d_id)``."""

    def __init__(self, audio_dim: int, hidden: int, out_dim: int):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(2 * audio_dim, hidden), nn.GELU(), nn.Linear(hidden, out_dim))

    def forward(self, tokens: Tensor, mask: Tensor | None = None) -> Tensor:
        if mask is None:
            mask = torch.ones(tokens.shape[:2], dtype=torch.bool, device=tokens.device)
        w = mask.to(tokens.dtype)[..., None]
        count = w.sum(1).clamp_min(1.0)
        mean = (tokens * w).sum(1) / count
        std = (((tokens - mean[:, None]) ** 2 * w).sum(1) / count).clamp_min(1e-8).sqrt()
        return self.mlp(torch.cat([mean, std], dim=-1))


class IdentityLibrary(nn.Module):
    """``E ∈ R^{K×d}``: one learnable row per training speaker, with names and the neutral row."""

    def __init__(self, cfg: IdentityConfig):
        super().__init__()
        if not cfg.names:
            raise ConfigError("an identity library needs at least one speaker name; does the "
                              "dataset have speakers with training clips?")
        if len(set(cfg.names)) != len(cfg.names):
            raise ConfigError(f"identity names must be unique; got {cfg.names}")
        self.config = cfg
        self.names = list(cfg.names)
        self.embeddings = nn.Parameter(torch.randn(len(cfg.names), cfg.dim))
        self.style = StyleEncoder(cfg.audio_dim, cfg.hidden, cfg.dim)

    def keep(self, names: list[str]) -> None:
        """Keep only these rows (in this order): drop identities that were never trained."""
        unknown = sorted(set(names) - set(self.names))
        if unknown or not names:
            raise IdentityError(f"cannot keep {unknown or 'no'} identities; the library has "
                                f"{', '.join(self.names)}")
        index = torch.tensor([self.names.index(n) for n in names])
        self.embeddings = nn.Parameter(self.embeddings.detach()[index].clone())
        self.names = list(names)
        self.config.names = list(names)
        self.config.learned = [n for n in self.config.learned if n in names]

    def add(self, name: str, row: Tensor) -> None:
        """Append the row ``row (d,)`` named ``name`` (a talking identity learnt later, e.g.
        from face capture); the other rows keep their names and values."""
        check_new_name(name, self.names)
        rows = self.embeddings.detach()
        row = row.detach().to(rows).reshape(1, -1)
        if row.shape[1] != rows.shape[1]:
            raise IdentityError(f"an identity row of this library has {rows.shape[1]} values, "
                                f"got {row.shape[1]}")
        self.embeddings = nn.Parameter(torch.cat([rows, row]))
        self.names = [*self.names, name]
        self.config.names = list(self.names)
        self.config.learned = [*self.config.learned, name]

    def remove(self, name: str) -> None:
        """Drop the row ``name``; the library keeps at least one identity."""
        if name not in self.names:
            raise IdentityError(f"no identity called {name!r}; the library has "
                                f"{', '.join(self.names)}")
        if len(self.names) == 1:
            raise IdentityError(f"{name!r} is the library's only identity; a model needs one")
        self.keep([n for n in self.names if n != name])

    def neutral(self) -> Tensor:
        """The neutral identity: the mean of the library rows the network was trained with
        (rows added later, ``config.learned``, leave it unchanged)."""
        trained = [i for i, n in enumerate(self.names) if n not in set(self.config.learned)]
        if not trained or len(trained) == len(self.names):
            return self.embeddings.mean(0)
        return self.embeddings[trained].mean(0)

    def rows(self, speaker: Tensor) -> Tensor:
        """Library rows for speaker indices ``(B,) -> (B, d)`` (the training condition)."""
        return self.embeddings[speaker]

    def logits(self, tokens: Tensor, mask: Tensor | None = None) -> Tensor:
        """InfoNCE logits ``cos(g(a), E_j)/τ`` ``(B, K)``."""
        style = F.normalize(self.style(tokens, mask), dim=-1)
        rows = F.normalize(self.embeddings, dim=-1)
        return style @ rows.T / self.config.temperature

    def info_nce(self, tokens: Tensor, speaker: Tensor, mask: Tensor | None = None) -> Tensor:
        """InfoNCE loss: cross-entropy of the cosine logits towards each clip's speaker."""
        return F.cross_entropy(self.logits(tokens, mask), speaker)

    def similarities(self, tokens: Tensor, mask: Tensor | None = None) -> Tensor:
        """Cosine similarity of ``g(audio)`` to every row ``(B, K)``."""
        return self.logits(tokens, mask) * self.config.temperature

    def match(self, tokens: Tensor, mask: Tensor | None = None, top_k: int = 3) -> list[tuple[str, float]]:
        """The ``top_k`` library identities closest to this audio, as ``(name, cosine)``."""
        with torch.no_grad():
            sims = self.similarities(tokens[None] if tokens.ndim == 2 else tokens, mask)[0]
        order = torch.argsort(sims, descending=True)[: max(1, top_k)]
        return [(self.names[int(i)], float(sims[i])) for i in order]

    def weights_for(self, choice: IdentityChoice, tokens: Tensor | None = None) -> dict[str, float]:
        """Blend weights (summing to 1) for a choice: None (neutral), a name, a blend or "match"."""
        best = None if tokens is None else (lambda: self.match(tokens, top_k=1)[0][0])
        return blend_weights(choice, self.names, best)

    def resolve(self, choice: IdentityChoice, style_strength: float = 1.0,
                tokens: Tensor | None = None) -> tuple[Tensor, dict[str, float]]:
        """The identity vector ``(d,)`` for a choice, and its normalised blend weights.

        ``style_strength`` interpolates from the neutral identity (0) to the chosen one (1)
        and extrapolates beyond 1: ``e = n + s (Σ w_j E_j − n)``.
        """
        weights = self.weights_for(choice, tokens)
        return blend_rows(weights, self.names, self.embeddings, self.neutral(),
                          style_strength), weights
