"""Synthetic face capture of an "actor" the shipped model never saw, for the held-out check.

The actor is a speaker of the synthetic corpus kept out of training (``synth.styles``:
``HELD_OUT_IDENTITIES``; the shipped model's library has no row for them): their own voice and
motion style (kiri: a quick US voice with a right-leaning smirk). Their sentences are drawn
with a seed of their own (not the corpus's), written as a folder dataset and then as Live Link
Face takes exactly as the app writes them (``capture.synthetic.write_synthetic_takes``: CSV at
59.94 fps with sub-frame timecodes, head and eye columns, a ``.wav`` beside each), so a test or
a measurement runs the whole path: CSV -> ``load_take`` -> fit -> evaluate.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..capture import load_take
from ..capture.synthetic import write_synthetic_takes
from ..channels import FULL_FACE_CHANNELS
from ..datasets import load_dataset, write_folder_dataset
from ..errors import SynthError
from ..synth.corpus import FPS, SAMPLE_RATE, make_clip
from ..synth.styles import HELD_OUT_IDENTITIES, IDENTITIES

ACTOR = "kiri"
ACTOR_SEED = 14  # the corpus of the shipped model used seed 0: these are new sentences


def write_actor_takes(out_dir: str | os.PathLike, count: int, speaker: str = ACTOR,
                      seed: int = ACTOR_SEED, first: int = 0) -> list[Path]:
    """Write ``count`` takes of ``speaker`` (utterances ``first`` .. ``first + count - 1``) as
    Live Link Face takes in ``out_dir/takes``; returns their CSVs in order."""
    if speaker not in HELD_OUT_IDENTITIES:
        raise SynthError(f"{speaker!r} is not a held-out speaker of the synthetic corpus "
                         f"({', '.join(HELD_OUT_IDENTITIES)}): the model may have trained on it")
    index = [i.name for i in IDENTITIES].index(speaker)
    clips = []
    for utterance in range(first, first + count):
        clip = make_clip(seed, index, utterance)
        clips.append({"id": clip.clip_id, "speaker": speaker, "split": "test", "text": clip.text,
                      "wave": clip.audio, "sample_rate": SAMPLE_RATE, "motion": clip.motion})
    out = Path(out_dir)
    corpus = load_dataset(write_folder_dataset(out / "corpus", "channels", FPS, clips,
                                               channels=FULL_FACE_CHANNELS))
    manifest = write_synthetic_takes(corpus, out / "takes", seed=seed)
    return [out / "takes" / entry["csv"] for entry in manifest["takes"]]


def load_actor_takes(csvs: list[Path]) -> list:
    """The takes (``capture.Take`` with their audio) of :func:`write_actor_takes`'s CSVs."""
    return [load_take(path) for path in csvs]
