"""`diffusiontalker check-speech`: judge generated lip motion on speech with no motion capture.

Generates motion for each clip, measures the lip aperture on the demo head's rig, aligns the
transcript with PocketSphinx, and reports envelope correlation, closure at bilabials and rest
in silence (see :mod:`diffusiontalker.evaluation.speech_check`). ``--transcript-guidance``
generates with the transcript's keys (``direction.transcript``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from . import add_audio_encoder_argument

HELP = "real-speech checks of a model: envelope correlation, bilabial closure, rest in silence"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("clips", nargs="+", help="WAV:TRANSCRIPT pairs, or a clips.json "
                   "([{\"file\": ..., \"text\": ...}]) beside its audio files")
    p.add_argument("--checkpoint", default=None, help="model (default: the shipped one)")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--identity", default=None, help="identity name, or 'match'")
    p.add_argument("--closed-mm", type=float, default=2.0,
                   help="lips count as closed below this aperture (mm)")
    p.add_argument("--json", default=None, help="write the per-clip results here")
    p.add_argument("--runtime", choices=("torch", "onnx"), default="torch",
                   help="check the torch model (default) or the shipped files' ONNX export")
    p.add_argument("--transcript-guidance", action="store_true",
                   help="generate with the transcript's mouth keys (closures at /p b m/, ...)")
    add_audio_encoder_argument(p)


def _clip_list(items: list[str]) -> list[tuple[Path, str]]:
    out = []
    for item in items:
        if item.endswith(".json"):
            root = Path(item).parent
            out += [(root / c["file"], c["text"]) for c in json.loads(Path(item).read_text())]
        else:
            wav, _, text = item.partition(":")
            out.append((Path(wav), text))
    return out


def run(args: argparse.Namespace) -> int:
    from . import require_extra, require_torch

    if args.runtime == "torch":
        require_torch("check-speech")
    require_extra("check-speech", "check-speech", "pocketsphinx")
    from ..audio.alignment import align_transcript
    from ..audio.loading import SAMPLE_RATE, load_audio
    from ..direction.transcript import transcript_keys, trusted_phones
    from ..errors import AudioError, DiffusionTalkerError
    from ..evaluation.speech_check import check_motion, demo_head_aperture

    if args.runtime == "onnx":
        if args.audio_encoder:
            raise DiffusionTalkerError("--audio-encoder needs --runtime torch")
        from ..runtime.loader import load_talker

        talker = load_talker(args.checkpoint, "cpu", "onnx")
    else:
        from ..api import load_model

        talker = load_model(args.checkpoint, audio_encoder=args.audio_encoder)
    if talker.space != "channels":
        raise DiffusionTalkerError("check-speech measures channel models on the demo head")
    aperture_of = demo_head_aperture(talker.channels)
    threshold = args.closed_mm / 1000.0
    rows = []
    for path, text in _clip_list(args.clips):
        wave = load_audio(path)
        try:
            alignment = align_transcript(wave, SAMPLE_RATE, text)
        except AudioError as exc:  # a partial or wrong alignment would bias the closure count
            print(f"{path.name:24s} skipped: {exc}")
            continue
        phones = alignment.phones
        keys = None
        if args.transcript_guidance:
            keys = transcript_keys(trusted_phones(alignment)[0], talker.fps, talker.channels,
                                   talker.num_frames(wave))
        motion = talker.generate(wave, SAMPLE_RATE, identity=args.identity, steps=args.steps,
                                 seed=args.seed, keys=keys)
        result = check_motion(wave, SAMPLE_RATE, motion.fps, aperture_of(motion.data), phones,
                              threshold)
        rows.append({"clip": path.name, **result.to_dict()})
        print(f"{path.name:24s} corr {result.envelope_corr:+.2f} (best {result.envelope_corr_best_lag:+.2f}"
              f" @ {result.best_lag_ms:+.0f} ms)  bilabials closed {result.bilabials_closed}/"
              f"{result.bilabials}  silence aperture {1000 * result.silence_median_aperture:.1f} mm"
              f"  speech aperture {1000 * result.speech_median_aperture:.1f} mm")
    total_b = sum(r["bilabials"] for r in rows)
    closed = sum(r["bilabials_closed"] for r in rows)
    summary = {
        "clips": len(rows),
        "envelope_corr_mean": float(np.mean([r["envelope_corr"] for r in rows])),
        "envelope_corr_best_lag_mean": float(np.mean([r["envelope_corr_best_lag"] for r in rows])),
        "bilabial_closure_rate": closed / total_b if total_b else float("nan"),
        "bilabials": total_b,
        "silence_rest_closed": sum(bool(r["rests_closed_in_silence"]) for r in rows),
        "clips_with_silence": sum(r["silence_frames"] > 0 for r in rows),
    }
    print(json.dumps(summary))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "clips": rows}, indent=1))
    return 0
