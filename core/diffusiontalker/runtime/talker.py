"""The one generation pipeline: what a Talker is, and the windowed generate loop (torch-free).

Every runtime — torch (:mod:`.torch_talker`), ONNX Runtime (:mod:`.onnx_talker`) and the
worker process (:mod:`.client`, whose worker runs one of the other two) — is a
:class:`TalkerFacts` (the model's facts, derived from its ``ModelConfig``), and the in-process
ones are a :class:`WindowedTalker`, which owns the loop and asks its subclass only for array
callables:

- ``audio_tokens(wave) -> (1, T, d)`` audio tokens at the motion frame rate;
- ``identity_table() -> (rows (K, d), neutral (d,))`` and ``similarities(tokens) -> (K,)``;
- ``denoise(z, u, cond) -> x̂`` and ``condition(tokens, identity) -> cond`` (the sampler's);
- ``as_backend(array)`` / ``as_numpy(array)``, and ``decode(x) -> motion`` / ``encode(motion)
  -> x`` on numpy.

Frames of digital silence are held at the rest pose (``diffusion.constraints``).

The loop (DDIM with η = 0, Song et al. 2021, ``diffusion.samplers.sample_ddim``): audio of any
length is cut into overlapping windows (10 s, 1 s overlap; ``diffusion.windows``), each encoded
with 1 s of audio context on each side (a stream: bounded memory, progress from the first
window), sampled from its own starting noise and cross-faded linearly into the next. The starting noise
is numpy's, drawn per one-second block from the seed (:func:`start_noise`), so overlapping
windows start from the same noise where they overlap, and **the same seed gives the same take
in every runtime**. The denoised model-space motion is decoded in slices of
:data:`DECODE_FRAMES` frames (bounded temporaries on hour-long audio).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..audio.loading import SAMPLE_RATE, load_audio
from ..config import ModelConfig
from ..diffusion.constraints import compose_replacements, replace_in_x_hat, silence_rest_mask
from ..diffusion.samplers import sample_ddim
from ..diffusion.windows import crossfade_weights, window_spans
from ..direction.keys import default_ease, key_arrays, parse_keys
from ..errors import CancelledError, ConfigError
from ..identity_choice import MATCH, IdentityChoice, blend_rows, blend_weights, check_style_strength
from ..motion import Motion, require_finite

WINDOW_SECONDS = 10.0
OVERLAP_SECONDS = 1.0
DECODE_FRAMES = 1024
CONTEXT_SECONDS = 1.0  # audio each side of a window that its tokens are computed with
MATCH_SECONDS = 30.0  # how much of a long file the identity lookup ("match") listens to
NOISE_SEED_STRIDE = 1_000_003  # block k of seed s draws from numpy's generator seeded s*stride+k

Progress = Callable[[float], None]
Cancel = Callable[[], bool]
Status = Callable[[str], None]  # what the job is doing, in words ("sampling window 2/7")


def motion_frames(num_samples: int, fps: float) -> int:
    """Motion frames for ``num_samples`` of 16 kHz audio: ``max(1, round(N / 16000 * fps))``."""
    return max(1, int(round(num_samples / SAMPLE_RATE * fps)))


def start_noise(seed: int, start: int, stop: int, width: int, fps: float) -> np.ndarray:
    """Starting noise ``(stop - start, width)`` float32 for frames ``[start, stop)``, drawn per
    one-second block from the seed, so any window over the same frames gets the same noise."""
    block = max(1, int(round(fps)))
    first, last = start // block, (stop - 1) // block
    parts = [np.random.default_rng((int(seed) % (2**31)) * NOISE_SEED_STRIDE + k)
             .standard_normal((block, width), dtype=np.float32) for k in range(first, last + 1)]
    offset = start - first * block
    return np.concatenate(parts)[offset: offset + stop - start]


def resolve_steps(steps: int | None, default_steps: int) -> int:
    """The sampling step count: the model's default unless given; at least 1."""
    if steps is None:
        return int(default_steps)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ConfigError(f"the number of sampling steps must be at least 1, got {steps!r} (a whole "
                          f"number; leave it unset for the model's default, {default_steps})")
    return int(steps)


def status_kwarg(talker: Any, status: Status | None) -> dict[str, Any]:
    """``{"status": status}`` when ``talker.generate`` takes a ``status`` callback (talkers of
    older interfaces, e.g. from a custom worker loader, may not), else ``{}``."""
    import inspect

    try:
        takes = "status" in inspect.signature(talker.generate).parameters
    except (TypeError, ValueError):
        takes = False
    return {"status": status} if takes and status is not None else {}


class TalkerFacts:
    """What a loaded model is, derived once from its ``ModelConfig`` (``self.config``)."""

    config: ModelConfig
    runtime: str = ""
    window_seconds = WINDOW_SECONDS
    overlap_seconds = OVERLAP_SECONDS

    @property
    def identities(self) -> list[str]:
        return list(self.config.identity.names)

    @property
    def space(self) -> str:
        return self.config.motion.space

    @property
    def fps(self) -> float:
        return float(self.config.motion.fps)

    @property
    def channels(self) -> tuple[str, ...] | None:
        ch = self.config.motion.channels
        return tuple(ch) if ch and self.space == "channels" else None

    @property
    def num_vertices(self) -> int | None:
        return int(self.config.motion.num_vertices) if self.space == "vertices" else None

    @property
    def default_steps(self) -> int:
        return int(self.config.diffusion.default_steps)

    def num_frames(self, wave: np.ndarray) -> int:
        return motion_frames(int(np.asarray(wave).shape[0]), self.fps)

    def windows(self, num_frames: int) -> list[tuple[int, int]]:
        """Frame ranges ``[a, b)`` covering ``num_frames`` with the configured overlap."""
        return window_spans(num_frames, self.fps, self.window_seconds, self.overlap_seconds)

    def motion(self, data: np.ndarray, weights: dict[str, float]) -> Motion:
        """Decoded motion ``(T, D)`` as a :class:`Motion` of this model's space."""
        if self.space == "vertices":
            return Motion(self.fps, "vertices", data.reshape(data.shape[0], -1, 3), identity=weights)
        return Motion(self.fps, "channels", data, self.channels, identity=weights)


class WindowedTalker(TalkerFacts):
    """A model in this process: identity choice, matching and the windowed generate loop."""

    # --- what a runtime supplies ----------------------------------------------------------
    def audio_tokens(self, wave: np.ndarray) -> Any:
        raise NotImplementedError

    def identity_table(self) -> tuple[Any, Any]:
        raise NotImplementedError

    def similarities(self, tokens: Any) -> np.ndarray:
        raise NotImplementedError

    def condition(self, tokens: Any, identity: Any) -> Any:
        raise NotImplementedError

    def denoise(self, z: Any, u: Any, cond: Any) -> Any:
        raise NotImplementedError

    def decode(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def encode(self, motion: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def as_backend(self, array: np.ndarray) -> Any:
        return array

    def as_numpy(self, array: Any) -> np.ndarray:
        return np.asarray(array, dtype=np.float32)

    # --- identities -----------------------------------------------------------------------
    def match_identity(self, audio: Any, sample_rate: int | None = None,
                       top_k: int = 3) -> list[tuple[str, float]]:
        """The library identities whose style best matches this voice, ``(name, cosine)``."""
        sims = self.similarities(self.audio_tokens(load_audio(audio, sample_rate)))
        order = np.argsort(-sims, kind="stable")[: max(1, int(top_k))]
        return [(self.identities[int(i)], float(sims[i])) for i in order]

    def resolve_identity(self, choice: IdentityChoice, style_strength: float = 1.0,
                         tokens: Any = None) -> tuple[Any, dict[str, float]]:
        """The identity vector for a choice (``identity_choice.blend_rows``) and its weights."""
        strength = check_style_strength(style_strength)
        best = None if tokens is None else (
            lambda: self.identities[int(np.argmax(self.similarities(tokens)))])
        weights = blend_weights(choice, self.identities, best)
        rows, neutral = self.identity_table()
        return blend_rows(weights, self.identities, rows, neutral, strength), weights

    # --- generation -----------------------------------------------------------------------
    def rest_target(self) -> np.ndarray:
        """The rest pose (zero channel weights / zero offsets) in model space ``(P,)``."""
        return np.asarray(self.encode(np.zeros((1, self.config.motion.dim), np.float32))[0],
                          np.float32)

    def repeat_batch(self, tokens: Any, count: int) -> Any:
        """``tokens`` ``(1, n, d)`` repeated to ``(count, n, d)`` (one row per take)."""
        return np.repeat(tokens, count, axis=0)

    def sample_window(self, tokens: Any, identity: Any, noise: np.ndarray, steps: int,
                      progress: Progress | None, cancel: Cancel | None,
                      hold: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """DDIM from ``noise`` ``(B, n, P)`` (one row per take) for one window; model-space
        ``(B, n, P)`` numpy. ``hold = (mask (n, 1 or P), target (n, P))``: where and to what the
        window is held (replacement in x̂, ``diffusion.constraints``)."""
        z = self.as_backend(np.ascontiguousarray(noise, np.float32))
        if noise.shape[0] > 1:
            tokens = self.repeat_batch(tokens, noise.shape[0])
        denoise = self.denoise
        if hold is not None and hold[0].any():
            mask, target = (self.as_backend(np.ascontiguousarray(a[None], np.float32)) for a in hold)
            denoise = replace_in_x_hat(denoise, mask, target)
        x = sample_ddim(denoise, tuple(z.shape), steps, noise=z,
                        cond=self.condition(tokens, identity), progress=progress, cancel=cancel)
        return self.as_numpy(x)

    def window_tokens(self, wave: np.ndarray, a: int, b: int) -> Any:
        """Audio tokens ``(1, b - a, d)`` of frames ``[a, b)``, computed from the audio of those
        frames plus :data:`CONTEXT_SECONDS` on each side (a stream: memory and time to first
        progress do not grow with the length of the file)."""
        fps, c = self.fps, int(round(CONTEXT_SECONDS * self.fps))
        first = max(0, a - c)
        s0 = int(round(first / fps * SAMPLE_RATE))
        s1 = min(int(wave.shape[0]), int(round((b + c) / fps * SAMPLE_RATE)))
        tokens = self.audio_tokens(wave[s0:s1])
        last = int(tokens.shape[1]) - 1  # rounding may leave the final frame one short
        return tokens[:, [min(i - first, last) for i in range(a, b)]]

    def key_constraint(self, keys: Any, num_frames: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Keys (``direction.keys`` format) as a model-space ``(weight (T, P), target (T, P))``,
        or None without keys. ConfigError for a model whose motion is not channel weights."""
        parsed = parse_keys(keys)
        if not parsed:
            return None
        if self.channels is None or self.config.motion.pca_components:
            raise ConfigError("keys name channels, but this model's motion is "
                              f"{self.space} (keys need a model of channel weights)")
        weight, values = key_arrays(parsed, num_frames, self.channels, default_ease(self.fps))
        return weight, np.asarray(self.encode(values), np.float32)

    def generate(self, audio: Any, sample_rate: int | None = None, *, seed: int = 0,
                 status: Status | None = None, **options: Any) -> Motion:
        """Speech -> facial motion. ``identity``: None (neutral), a name, ``{name: weight}`` or
        ``"ada=0.7,bo=0.3"`` (a convex blend), or ``"match"`` (the best library match over
        the first :data:`MATCH_SECONDS` of the audio). ``keys``: channel values to pass
        through (``direction.keys``: ``[{"frame": 30, "channels": {"jawOpen": 0.0}}, ...]``).
        ``status(text)`` hears each stage in words: "reading audio", "sampling window k/n",
        "decoding". The other options are :meth:`generate_takes`'."""
        return self.generate_takes(audio, sample_rate, seeds=[seed], status=status, **options)[0]

    def generate_takes(self, audio: Any, sample_rate: int | None = None, *,
                       seeds: Sequence[int] = (0,), identity: IdentityChoice = None,
                       steps: int | None = None, style_strength: float = 1.0, keys: Any = None,
                       transcript: str | None = None,
                       progress: Progress | None = None, cancel: Cancel | None = None,
                       status: Status | None = None,
                       hold: tuple[np.ndarray, np.ndarray] | None = None) -> list[Motion]:
        """One take per seed, sampled together (the audio encoded once, the denoiser batched
        over the takes); take ``i`` is the :meth:`generate` of ``seeds[i]`` up to float rounding.

        Audio of one window is encoded whole; longer audio is a stream of windows, each
        encoded with its own context (:meth:`window_tokens`), so progress moves from the
        first window and ``cancel()`` is honoured before every window and every step.
        ``hold = (mask (T,), target (T, P))`` holds frames to a model-space target (weight
        ``mask``; :mod:`.retake` uses it); ``keys`` too, per channel; frames of digital silence
        are held at the rest pose (``diffusion.constraints``). ``transcript``: what is said;
        its forced alignment adds soft keys (``direction.transcript``: /p b m/ close, /f v/
        tuck, rounded vowels pucker; the caller's keys win where both key a channel); when it
        cannot be used, the takes are made without it and their ``notes`` say why."""
        seeds = [int(s) for s in seeds]
        if not seeds:
            raise ConfigError("at least one seed is needed (one take per seed)")
        steps = resolve_steps(steps, self.default_steps)
        say = status or (lambda text: None)
        say("reading audio")
        wave = load_audio(audio, sample_rate)
        num_frames = self.num_frames(wave)
        notes: list[str] = []
        if transcript is not None and str(transcript).strip():
            say("aligning the transcript")
            guided, note = self.transcript_keys(wave, str(transcript), num_frames)
            notes += [note] if note else []
            keys = [*guided, *parse_keys(keys)]  # later keys win ties: the caller's
        keyed = self.key_constraint(keys, num_frames)
        spans = self.windows(num_frames)
        if progress is not None:
            progress(0.0)
        whole = self.audio_tokens(wave) if len(spans) == 1 else None
        match_tokens = None
        if identity == MATCH:
            match_tokens = whole if whole is not None else self.audio_tokens(
                wave[: int(MATCH_SECONDS * SAMPLE_RATE)])
        ident, weights = self.resolve_identity(identity, style_strength, match_tokens)
        width = int(self.config.denoiser.in_dim)
        mask = silence_rest_mask(wave, num_frames, self.fps)[:, None]
        target = np.broadcast_to(self.rest_target(), (num_frames, width))
        if hold is not None:  # the caller's targets win over the rest pose
            mask, target = compose_replacements(
                mask, target, np.asarray(hold[0], np.float32).reshape(num_frames, 1),
                np.asarray(hold[1], np.float32))
        if keyed is not None:
            mask, target = compose_replacements(mask, target, *keyed)
        total = np.zeros((len(seeds), num_frames, width), np.float32)
        weight_sum = np.zeros((num_frames, 1), np.float32)
        for j, (a, b) in enumerate(spans):
            if cancel is not None and cancel():
                raise CancelledError("generation was cancelled")
            say(f"sampling window {j + 1}/{len(spans)}")
            tokens = whole[:, a:b] if whole is not None else self.window_tokens(wave, a, b)
            report = None if progress is None else (
                lambda f, j=j: progress((j + f) / len(spans)))
            noise = np.stack([start_noise(s, a, b, width, self.fps) for s in seeds])
            x = self.sample_window(tokens, ident, noise, steps, report, cancel,
                                   (mask[a:b], target[a:b]))
            w = crossfade_weights(spans, j)[:, None]
            total[:, a:b] += x * w
            weight_sum[a:b] += w
        say("decoding")
        takes = []
        for blended in total:
            blended /= weight_sum
            data = np.empty((num_frames, self.config.motion.dim), np.float32)
            for a in range(0, num_frames, DECODE_FRAMES):
                data[a:a + DECODE_FRAMES] = self.decode(blended[a:a + DECODE_FRAMES])
            require_finite(data, "the generated motion", "the model produced NaN or infinity; "
                           "try another step count or a lower style strength, and check the "
                           "checkpoint")
            take = self.motion(data, weights)
            take.notes = list(notes)
            takes.append(take)
        return takes

    def transcript_keys(self, wave: np.ndarray, transcript: str,
                        num_frames: int) -> tuple[list[dict], str | None]:
        """Keys from the transcript's forced alignment and a note for the user, or no keys and
        the reason (``direction.transcript.transcript_guidance``; it never raises)."""
        from ..direction.transcript import transcript_guidance

        per_channel = self.channels if not self.config.motion.pca_components else None
        return transcript_guidance(wave, transcript, fps=self.fps, channels=per_channel,
                                   num_frames=num_frames)
