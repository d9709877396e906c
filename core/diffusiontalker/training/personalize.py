"""Learn a talking identity from face capture: one new row of the identity library, few-shot.

DiffusionTalker (Chen et al., arXiv 2311.16565 § 3) personalises the talking style with a
*learnable talking identity*: a row ``E_k`` of the identity library per speaker, learnt with
the denoiser from the speaker's motion and, contrastively, from their audio. A new speaker
after training is the same optimisation restricted to one new row ``e``; the shared network
(audio adapter, denoiser, style encoder, the other rows, the normalisation) stays frozen:

    e* = argmin_e  E_{window, u, ε} [ L_diff(e) + λ · L_id(e) ]

- ``L_diff``, the diffusion loss in the x̂-prediction (§ 3; docs/model.md) on the actor's
  capture ``x`` (model space) with their audio tokens ``a``:
  ``z_u = α_u x + σ_u ε``,  ``L_diff = Σ_{t,k} m_t c_k (x̂_θ(z_u, u, a, e) − x)²_{t,k} / Σ m_t c_k``,
  where ``m_t`` marks the window's real frames and ``c_k`` the channels the capture has: a
  channel the capture lacks is never invented (``training.data.masked_mse``). ``u`` is drawn
  from the model's own sampling grid ``u = i/N``, ``N = default_steps`` (8 for the shipped
  student: the only times it is ever run at).
- ``L_id``, the contrastive identity loss (§ 3.2; InfoNCE, ``IdentityLibrary.info_nce``):
  ``−log softmax_j (cos(g(a), E_j) / τ)`` at the new row, over the library with ``e`` in it
  and the frozen style encoder ``g``. Default ``λ = 0``: measured in
  ``scripts/measure_identity_from_capture.py`` (docs/capture.md), it did not improve the
  generated motion; ``λ > 0`` makes "match" find the new identity from the actor's voice.

``e`` starts at the library row (or the neutral identity) with the lowest ``L_diff`` on a
probe batch of the capture, and is optimised with Adam, the learning rate annealed to 0
(cosine). A short take works: 10 s already gives most of what 2 minutes give (docs/capture.md:
the error against held-out capture drops by a quarter to a half). torch, no bpy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..audio.build import build_frontend
from ..diffusion.schedule import diffuse
from ..errors import CancelledError, CaptureError, ConfigError, IdentityError
from ..network import checkpoint
from ..network.identity import check_new_name
from ..network.model import Conditioning, DiffusionTalker
from ..paths import DEFAULT_CHECKPOINT
from .data import cosine_lr, masked_mse
from .teacher import sample_time

MIN_CAPTURE_SECONDS = 2.0  # less capture than this cannot say how a person talks
PROVENANCE_KEY = "identities_from_capture"

Progress = Callable[[float], None]
Status = Callable[[str], None]
Cancel = Callable[[], bool]


@dataclass(frozen=True)
class FitSettings:
    """How a new identity row is fitted (defaults measured in docs/capture.md)."""

    steps: int = 300
    batch_size: int = 8
    window_seconds: float = 4.0
    lr: float = 0.02
    contrastive_weight: float = 0.0  # λ of L_id
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1:
            raise ConfigError("fitting an identity needs at least 1 step and a batch of 1")
        if not (self.window_seconds > 0 and self.lr > 0 and self.contrastive_weight >= 0):
            raise ConfigError("the window, learning rate and contrastive weight must be positive")


@dataclass
class CaptureTrack:
    """One take ready for fitting: audio tokens ``(T, d)`` from the frozen frontend and
    adapter, the capture in model space ``(T, P)`` (0 where not captured) and which of the
    model's channels the take captured ``(P,)``."""

    source: str
    tokens: torch.Tensor
    x: torch.Tensor
    captured: torch.Tensor

    @property
    def frames(self) -> int:
        return int(self.x.shape[0])


@dataclass
class FitResult:
    """The learnt row and how the fit went."""

    embedding: torch.Tensor  # (d,)
    start: str  # the row the fit started from ("neutral" or a library name)
    first_loss: float  # L_diff of the start on the probe batch
    final_loss: float  # L_diff of the learnt row on the same probe batch
    capture_seconds: float
    seconds: float  # wall time of the fit


def check_capture_model(model: DiffusionTalker) -> list[str]:
    """The channels a capture is fitted on; ConfigError for a model that is not of channels."""
    motion = model.config.motion
    if motion.space != "channels" or not motion.channels:
        raise ConfigError(f"identities are learnt from face capture for models of channel "
                          f"weights; this model animates {motion.space}")
    if model.normalizer.components:
        raise ConfigError("this model's motion goes through a PCA basis, so channels a capture "
                          "lacks cannot be masked; use a model without --pca")
    return list(motion.channels)


@torch.no_grad()
def capture_tracks(model: DiffusionTalker, takes: Sequence, frontend=None,
                   status: Status | None = None) -> list[CaptureTrack]:
    """The takes (``capture.Take`` with audio) as :class:`CaptureTrack` at the model's rate.

    CaptureError when a take has no audio or none of the model's channels; channels a take
    lacks are masked (``CaptureTrack.captured``)."""
    channels = check_capture_model(model)
    frontend = frontend or build_frontend(model.config.audio)
    fps = float(model.config.motion.fps)
    tracks = []
    for number, take in enumerate(takes):
        source = take.report.source or f"take {number + 1}"
        if take.audio is None:
            raise CaptureError(f"{source} has no audio; an identity is learnt from the capture "
                               "and the speech together (give the take's .wav or .mov)")
        if status is not None:
            status(f"reading the audio of {Path(source).name} ({number + 1}/{len(takes)})")
        try:
            motion, lacking = take.to_motion(channels, fps)
        except CaptureError:
            raise CaptureError(f"{source} captured none of the model's channels "
                               f"({', '.join(channels[:4])}, ...); it cannot teach this model"
                               ) from None
        full = np.zeros((motion.num_frames, len(channels)), np.float32)
        full[:, [channels.index(n) for n in motion.channels]] = motion.data
        features = torch.from_numpy(np.ascontiguousarray(frontend(take.audio))).float()
        tokens = model.audio_tokens(features[None], motion.num_frames)[0]
        captured = torch.tensor([n not in lacking for n in channels])
        x = model.encode_motion(torch.from_numpy(full)) * captured
        tracks.append(CaptureTrack(source, tokens.detach(), x.detach(), captured))
    seconds = sum(t.frames for t in tracks) / fps
    if seconds < MIN_CAPTURE_SECONDS:
        raise CaptureError(f"{seconds:.1f} s of capture is too little to learn a talking "
                           f"identity from; give at least {MIN_CAPTURE_SECONDS:g} s (10 s or "
                           "more works well)")
    return tracks


class WindowBatches:
    """Random training windows over the tracks (a track drawn in proportion to its frames)."""

    def __init__(self, tracks: Sequence[CaptureTrack], window: int, generator: torch.Generator):
        self.tracks, self.window, self.gen = list(tracks), int(window), generator
        frames = torch.tensor([float(t.frames) for t in self.tracks])
        self.weights = frames / frames.sum()

    def __call__(self, size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``tokens (B, W, d)``, ``x (B, W, P)``, ``mask (B, W)``, ``captured (B, P)``."""
        picks = torch.multinomial(self.weights, size, replacement=True, generator=self.gen)
        first = self.tracks[0]
        tokens = first.tokens.new_zeros(size, self.window, first.tokens.shape[1])
        x = first.x.new_zeros(size, self.window, first.x.shape[1])
        mask = torch.zeros(size, self.window, dtype=torch.bool)
        captured = torch.zeros(size, first.x.shape[1], dtype=torch.bool)
        for row, pick in enumerate(picks.tolist()):
            track = self.tracks[pick]
            room = max(1, track.frames - self.window + 1)
            start = int(torch.randint(room, (1,), generator=self.gen))
            length = min(self.window, track.frames - start)
            tokens[row, :length] = track.tokens[start:start + length]
            x[row, :length] = track.x[start:start + length]
            mask[row, :length] = True
            captured[row] = track.captured
        return tokens, x, mask, captured


def fit_loss(model: DiffusionTalker, index: int, batch, u: torch.Tensor, noise: torch.Tensor,
             contrastive_weight: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(L_diff + λ L_id, L_diff)`` of library row ``index`` on a batch at times ``u`` (see
    the module docstring for both terms)."""
    tokens, x, mask, captured = batch
    speaker = torch.full((x.shape[0],), index, dtype=torch.long)
    cond = Conditioning(tokens, model.identity.rows(speaker), mask)
    x_hat = model.denoise(diffuse(x, u, noise), u.float(), cond)
    diffusion = masked_mse(x_hat, x, mask, channel_mask=captured)
    if contrastive_weight <= 0:
        return diffusion, diffusion
    return diffusion + contrastive_weight * model.identity.info_nce(tokens, speaker, mask), diffusion


def _candidates(model: DiffusionTalker) -> list[tuple[str, torch.Tensor]]:
    library = model.identity
    rows = library.embeddings.detach()
    return [("neutral", library.neutral().detach())] + list(zip(library.names, rows, strict=True))


def fit_identity(model: DiffusionTalker, tracks: Sequence[CaptureTrack], name: str,
                 settings: FitSettings | None = None, progress: Progress | None = None,
                 status: Status | None = None, cancel: Cancel | None = None) -> FitResult:
    """Fit a new row ``name`` into ``model``'s library on the tracks (the module docstring's
    objective); every other weight is left bit for bit as it was. Returns the learnt row."""
    settings = settings or FitSettings()
    began = time.perf_counter()
    gen = torch.Generator().manual_seed(settings.seed)
    fps = float(model.config.motion.fps)
    batches = WindowBatches(tracks, max(2, round(settings.window_seconds * fps)), gen)
    grid = int(model.config.diffusion.default_steps)
    model.eval().requires_grad_(False)
    probe = batches(max(16, settings.batch_size))
    probe_u = sample_time(probe[1].shape[0], grid, gen)
    probe_noise = torch.randn(probe[1].shape, generator=gen)

    if status is not None:
        status("choosing the starting identity")
    candidates = _candidates(model)
    model.identity.add(name, candidates[0][1])
    index = len(model.identity.names) - 1

    def probe_loss() -> float:
        with torch.no_grad():
            return float(fit_loss(model, index, probe, probe_u, probe_noise, 0.0)[1])

    scores = []
    for label, row in candidates:
        model.identity.embeddings.data[index] = row
        scores.append((probe_loss(), label))
    first_loss, start = min(scores)
    model.identity.embeddings.data[index] = dict(candidates)[start]

    table = model.identity.embeddings
    table.requires_grad_(True)
    only_new = torch.zeros_like(table)
    only_new[index] = 1.0
    hook = table.register_hook(lambda grad: grad * only_new)  # the other rows stay frozen
    try:
        _optimise(model, index, batches, grid, gen, settings, progress, status, cancel)
    finally:
        hook.remove()
        table.requires_grad_(False)
    row = table.detach()[index].clone()
    if not bool(torch.isfinite(row).all()):
        raise IdentityError("fitting the identity diverged (NaN); try a lower learning rate")
    return FitResult(row, start, first_loss, probe_loss(),
                     sum(t.frames for t in tracks) / fps, time.perf_counter() - began)


def _optimise(model: DiffusionTalker, index: int, batches: WindowBatches, grid: int,
              gen: torch.Generator, settings: FitSettings, progress: Progress | None,
              status: Status | None, cancel: Cancel | None) -> None:
    """Adam on the library table (only row ``index`` has a gradient), cosine-annealed."""
    optimizer = torch.optim.Adam([model.identity.embeddings], lr=settings.lr)
    name = model.identity.names[index]
    for step in range(settings.steps):
        if cancel is not None and cancel():
            raise CancelledError("learning the identity was cancelled; nothing was written")
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(step, settings.steps, settings.lr)
        batch = batches(settings.batch_size)
        u = sample_time(settings.batch_size, grid, gen)
        noise = torch.randn(batch[1].shape, generator=gen)
        loss, _ = fit_loss(model, index, batch, u, noise, settings.contrastive_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if status is not None and (step + 1) % 25 == 0:
            status(f"fitting {name!r}: step {step + 1}/{settings.steps}")
        if progress is not None:
            progress((step + 1) / settings.steps)


def load_base(checkpoint_path: str | Path | None = None) -> DiffusionTalker:
    """The model to personalise: a checkpoint, or the shipped default model (None)."""
    return checkpoint.load_model(checkpoint_path or DEFAULT_CHECKPOINT)


def learn_identity(name: str, takes: Sequence, out: str | Path,
                   base: str | Path | None = None, settings: FitSettings | None = None,
                   progress: Progress | None = None, status: Status | None = None,
                   cancel: Cancel | None = None) -> tuple[Path, FitResult]:
    """Learn identity ``name`` from capture takes (``capture.Take`` with audio) on the
    checkpoint ``base`` (None: the shipped model) and write the complete personal checkpoint
    to ``out`` (safetensors, written atomically): the base's library plus ``name``."""
    settings = settings or FitSettings()
    model = load_base(base)
    check_new_name(name, model.identity.names)
    tracks = capture_tracks(model, takes, status=status)
    result = fit_identity(model, tracks, name, settings, progress, status, cancel)
    if cancel is not None and cancel():
        raise CancelledError("learning the identity was cancelled; nothing was written")
    record = {"takes": [Path(t.source).name for t in tracks],
              "capture_seconds": round(result.capture_seconds, 3),
              "captured_channels": _captured_names(model, tracks), "start": result.start,
              "probe_loss": [round(result.first_loss, 5), round(result.final_loss, 5)],
              "base": str(base or "default"), "settings": asdict(settings)}
    model.config.provenance.setdefault(PROVENANCE_KEY, {})[name] = record
    if status is not None:
        status(f"writing {Path(out).name}")
    return checkpoint.save_model(model, out), result


def _captured_names(model: DiffusionTalker, tracks: Sequence[CaptureTrack]) -> list[str]:
    channels = model.config.motion.channels or []
    anywhere = torch.stack([t.captured for t in tracks]).any(0)
    return [n for n, c in zip(channels, anywhere.tolist(), strict=True) if c]


def remove_identity(name: str, out: str | Path, base: str | Path | None = None) -> Path:
    """Write ``base`` (None: the shipped model) without the identity ``name`` to ``out``."""
    model = load_base(base)
    model.identity.remove(name)
    model.config.provenance.get(PROVENANCE_KEY, {}).pop(name, None)
    return checkpoint.save_model(model, out)


def learned_identities(config) -> dict[str, dict]:
    """The identities of a model (its ``ModelConfig``) that were learnt from capture, with
    their records (takes, seconds of capture, start, settings)."""
    found = dict((config.provenance or {}).get(PROVENANCE_KEY) or {})
    return {n: r for n, r in found.items() if n in config.identity.names}


def capture_seconds_text(seconds: float) -> str:
    """``"64 s"`` / ``"2.1 min"``: how much capture, for messages."""
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"

