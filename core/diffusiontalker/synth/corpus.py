"""The corpus writer: speech, motion, alignments and the manifest in the plain folder format
of ``docs/data-format.md`` (space ``channels``, 30 fps, 16 kHz audio). The motion is the full
face, ``FULL_FACE_CHANNELS``: the 52 ARKit blendshapes in ARKit's order, then head yaw, pitch
and roll in radians.

Every clip is a pure function of (seed, identity, utterance number): its own random streams
come from ``numpy.random.SeedSequence([seed, identity, utterance])``. Workers only compute;
the parent writes files in clip order, so the output is the same bytes for the same seed
whatever the number of workers.
"""

from __future__ import annotations

import json
import math
import multiprocessing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import signal

from .. import __version__
from ..channels import FULL_FACE_CHANNELS
from ..errors import DiffusionTalkerError
from .augment import augment
from .espeak import Phone, synthesize
from .face import face_motion
from .styles import HELD_OUT_IDENTITIES, IDENTITIES, Identity
from .text import utterance_text

SAMPLE_RATE = 16000
FPS = 30.0
GENERATOR_NAME = "diffusiontalker synth"
SPLIT_PERIOD = 20  # of every 20 utterances of a training identity: 1 val, 1 test


@dataclass
class Clip:
    """One generated clip, ready to write."""

    clip_id: str
    speaker: str
    split: str
    text: str
    audio: np.ndarray  # (N,) float32 at SAMPLE_RATE
    motion: np.ndarray  # (T, K) float32
    alignment: list[dict]
    augmentation: list[str]

    @property
    def duration(self) -> float:
        return len(self.audio) / SAMPLE_RATE


def split_of(identity: Identity, utterance: int) -> str:
    """``test`` for held-out identities; otherwise 1 in 20 sentences val, 1 in 20 test."""
    if identity.name in HELD_OUT_IDENTITIES:
        return "test"
    slot = utterance % SPLIT_PERIOD
    return "val" if slot == SPLIT_PERIOD - 2 else "test" if slot == SPLIT_PERIOD - 1 else "train"


def resample(audio: np.ndarray, rate: int, new_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling (deterministic, zero-phase, keeps timing)."""
    if rate == new_rate:
        return audio.astype(np.float32)
    g = np.gcd(rate, new_rate)
    return signal.resample_poly(audio, new_rate // g, rate // g).astype(np.float32)


def _pad_with_silence(audio: np.ndarray, phones: list, rng: np.random.Generator
                      ) -> tuple[np.ndarray, list]:
    """Silence of 0.1-0.9 s before and 0.2-1.0 s after the sentence, as pause phones: models
    must see the mouth at rest in silence (eSpeak starts speaking at the first sample)."""
    lead, tail = rng.uniform(0.1, 0.9), rng.uniform(0.2, 1.0)
    n_lead, n_tail = int(round(lead * SAMPLE_RATE)), int(round(tail * SAMPLE_RATE))
    lead = n_lead / SAMPLE_RATE
    end = lead + len(audio) / SAMPLE_RATE
    padded = np.concatenate([np.zeros(n_lead, audio.dtype), audio, np.zeros(n_tail, audio.dtype)])
    shifted = [Phone(p.phoneme, p.start + lead, p.end + lead) for p in phones]
    return padded, [Phone("_", 0.0, lead), *shifted, Phone("_", end, end + n_tail / SAMPLE_RATE)]


def make_clip(seed: int, identity_index: int, utterance: int, augment_audio: bool = True) -> Clip:
    """Generate clip ``utterance`` of identity ``identity_index`` (see the module docstring)."""
    identity = IDENTITIES[identity_index]
    text_seq, motion_seq, audio_seq = np.random.SeedSequence(
        [seed, identity_index, utterance]).spawn(3)
    text = utterance_text(np.random.default_rng(text_seq))
    # A speaker's tempo and pitch vary a little from sentence to sentence.
    prosody = np.random.default_rng(text_seq.spawn(1)[0])
    speech = synthesize(text, identity.voice,
                        int(round(identity.rate * prosody.uniform(0.92, 1.08))),
                        int(np.clip(identity.pitch + prosody.integers(-4, 5), 0, 100)),
                        int(np.clip(identity.pitch_range + prosody.integers(-8, 9), 0, 100)))
    if len(speech.audio) == 0 or not speech.phones:
        raise DiffusionTalkerError(f"eSpeak produced no speech for {text!r} ({identity.voice})")
    audio, phones = _pad_with_silence(resample(speech.audio, speech.sample_rate), speech.phones,
                                      np.random.default_rng(text_seq.spawn(1)[0]))
    duration = len(audio) / SAMPLE_RATE
    motion = face_motion(phones, audio, SAMPLE_RATE, identity.style,
                         np.random.default_rng(motion_seq), FPS, question=text.endswith("?"))
    applied: list[str] = []
    if augment_audio:
        audio, applied = augment(audio, SAMPLE_RATE, np.random.default_rng(audio_seq))
    last = math.floor(duration * 1e4) / 1e4  # alignments stay inside the 16 kHz audio
    alignment = [{"phoneme": p.phoneme, "start": round(p.start, 4),
                  "end": min(round(p.end, 4), last)} for p in phones
                 if round(p.start, 4) < min(round(p.end, 4), last)]
    return Clip(f"{identity.name}_{utterance:05d}", identity.name, split_of(identity, utterance),
                text, audio, motion, alignment, applied)


def _make_clip_args(args: tuple[int, int, int, bool]) -> Clip:
    return make_clip(*args)


def clip_jobs(seed: int, identities: int, utterances: int | None,
              augment_audio: bool) -> Iterator[tuple[int, int, int, bool]]:
    """Jobs in writing order: round-robin over identities, utterance by utterance."""
    u = 0
    while utterances is None or u < utterances:
        for i in range(identities):
            yield (seed, i, u, augment_audio)
        u += 1


def write_corpus(out_dir: str | Path, identities: int = len(IDENTITIES),
                 utterances: int | None = 20, seed: int = 0, hours: float | None = None,
                 workers: int = 1, augment_audio: bool = True, progress: bool = True,
                 vertices: bool = False) -> dict:
    """Write a corpus to ``out_dir`` and return its manifest (``dataset.json``).

    ``hours`` (if given) stops at the first clip that brings the total speech to that many
    hours (utterances are then unlimited); otherwise ``utterances`` clips per identity.
    ``vertices`` also writes each clip's per-frame offsets on the demo head (through its
    landmark rig) to ``vertices/`` and the head's neutral mesh to ``demo_head_template.npy``
    (about 58 kB per frame: for small corpora)."""
    if not 1 <= identities <= len(IDENTITIES):
        raise DiffusionTalkerError(
            f"--identities must be between 1 and {len(IDENTITIES)}, got {identities}")
    if hours is None and (utterances is None or utterances < 1):
        raise DiffusionTalkerError("give --utterances of at least 1 or --hours")
    if hours is not None and hours <= 0:
        raise DiffusionTalkerError(f"--hours must be positive, got {hours}")
    if workers < 1:
        raise DiffusionTalkerError(f"--workers must be at least 1, got {workers}")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise DiffusionTalkerError(f"output folder {out} is not empty; choose a new folder")
    for sub in ("audio", "motion", "alignments") + (("vertices",) if vertices else ()):
        (out / sub).mkdir(parents=True, exist_ok=True)
    rig, rig_columns = _demo_rig(out) if vertices else (None, [])

    jobs = clip_jobs(seed, identities, None if hours is not None else utterances, augment_audio)
    total = None if hours is not None else identities * int(utterances or 0)
    bar = _progress(total, hours, progress)
    clips, speech_seconds = [], 0.0
    pool = multiprocessing.get_context("spawn").Pool(workers) if workers > 1 else None
    try:
        results = (pool.imap(_make_clip_args, jobs, chunksize=4) if pool
                   else map(_make_clip_args, jobs))
        for clip in results:
            _write_clip(out, clip)
            if rig is not None:
                np.save(out / "vertices" / f"{clip.clip_id}.npy",
                        rig.apply(clip.motion[:, rig_columns]).astype(np.float32))
            clips.append({"id": clip.clip_id, "speaker": clip.speaker, "split": clip.split,
                          "text": clip.text, "duration": round(clip.duration, 4),
                          "augmentation": clip.augmentation})
            speech_seconds += clip.duration
            step = clip.duration / 3600.0 if hours is not None else 1
            bar.update(min(step, bar.total - bar.n) if bar.total else step)
            if hours is not None and speech_seconds >= hours * 3600.0:
                break
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
            pool.join()
    chosen = IDENTITIES[:identities]
    manifest = {
        "format": "diffusiontalker-folder",
        "version": 1,
        "space": "channels",
        "fps": FPS,
        "channels": list(FULL_FACE_CHANNELS),
        "num_vertices": None,
        "speakers": [i.name for i in chosen],
        "clips": clips,
        "generator": {"name": GENERATOR_NAME, "version": __version__, "seed": int(seed)},
        "sample_rate": SAMPLE_RATE,
        "total_seconds": round(speech_seconds, 3),
        "held_out_speakers": [i.name for i in chosen if i.name in HELD_OUT_IDENTITIES],
        "identities": [i.to_dict() for i in chosen],
    }
    if rig is not None:
        manifest["vertex_offsets"] = {"head": "demo", "folder": "vertices",
                                      "template": "demo_head_template.npy",
                                      "num_vertices": int(rig.bases.shape[1]),
                                      "channels": list(rig.channels)}
    (out / "dataset.json").write_text(json.dumps(manifest, indent=1, sort_keys=False) + "\n")
    return manifest


def _demo_rig(out: Path):
    """The demo head's landmark rig over the corpus channels it can build (any it has no
    basis for are left out and listed in the manifest's ``vertex_offsets``), with those
    channels' columns; saves the head's neutral mesh."""
    try:
        from ..head import build_demo_head, build_rig
        from ..head.rig_fields import BUILDERS
    except ImportError as exc:  # pragma: no cover - the head package ships with the core
        raise DiffusionTalkerError("--vertices needs diffusiontalker.head (the demo head)") from exc
    head = build_demo_head()
    np.save(out / "demo_head_template.npy", np.asarray(head.vertices, np.float32))
    names = [n for n in FULL_FACE_CHANNELS if n in BUILDERS]
    columns = [FULL_FACE_CHANNELS.index(n) for n in names]
    return build_rig(head.vertices, head.faces, head.landmarks, names), columns


def _write_clip(out: Path, clip: Clip) -> None:
    import soundfile

    soundfile.write(out / "audio" / f"{clip.clip_id}.wav", clip.audio, SAMPLE_RATE,
                    subtype="PCM_16")
    np.save(out / "motion" / f"{clip.clip_id}.npy", clip.motion.astype(np.float32))
    (out / "alignments" / f"{clip.clip_id}.json").write_text(json.dumps(clip.alignment) + "\n")


def _progress(total: int | None, hours: float | None, enabled: bool):
    from tqdm import tqdm

    if hours is not None:
        return tqdm(total=hours, unit="h", desc="synth", disable=not enabled,
                    bar_format="{l_bar}{bar}| {n:.3f}/{total:.2f} h [{elapsed}<{remaining}]")
    return tqdm(total=total, unit="clip", desc="synth", disable=not enabled)
