"""`diffusiontalker check-speech`: judge generated lip motion on speech with no motion capture.

Generates motion for each clip, aligns the transcript with PocketSphinx and reports, per clip
and over all clips:

- envelope correlation, closure at bilabials on the demo head's lip aperture (mm) and rest in
  silence (:mod:`diffusiontalker.evaluation.speech_check`);
- the phone-aware checks of issue 13 from the channel weights
  (:mod:`diffusiontalker.evaluation.phone_checks`): closure within each /p b m/ and at its
  midpoint, closure lead (ms), open / close vowel ratio, rounding, /f v/ tuck, rest in pauses
  of 0.3 s or more, jitter; with ``--silence``, the drift on 10 s of digital silence.

``--transcript-guidance`` generates with the transcript's keys (``direction.transcript``).
``scripts/phone_check_table.py`` turns several ``--json`` outputs into one table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from . import add_audio_encoder_argument

HELP = "real-speech checks of a model: closures and their timing, vowels, rounding, rest, jitter"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("clips", nargs="+", help="WAV:TRANSCRIPT pairs, or a clips.json "
                   "([{\"file\": ..., \"text\": ...}]) beside its audio files")
    p.add_argument("--checkpoint", default=None, help="model (default: the shipped one)")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--identity", default=None, help="identity name, or 'match'")
    p.add_argument("--closed-mm", type=float, default=2.0,
                   help="lips count as closed below this aperture (mm)")
    p.add_argument("--json", default=None, help="write the per-clip results and summary here")
    p.add_argument("--runtime", choices=("torch", "onnx"), default="torch",
                   help="check the torch model (default) or the shipped files' ONNX export")
    p.add_argument("--transcript-guidance", action="store_true",
                   help="generate with the transcript's mouth keys (closures at /p b m/, ...)")
    p.add_argument("--silence", action="store_true",
                   help="also measure the drift on 10 s of digital silence (jawOpen max, mean; "
                   "as generated and with the rest constraint off)")
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


def _frac(num: Any, den: Any) -> str:
    return "-" if num is None or not den else f"{num}/{den}"


def clip_line(name: str, row: dict[str, Any]) -> str:
    """One clip's results on one line."""
    holds = {None: "-", True: "holds", False: "fails"}[row["rounding_holds"]]
    rr = row["rounding_ratio"]
    return (f"{name:24s} r {row['envelope_corr']:+.2f} (best {row['envelope_corr_best_lag']:+.2f}"
            f" @ {row['best_lag_ms']:+.0f} ms)  /p b m/ closed: mm {row['bilabials_closed']}/"
            f"{row['bilabials']}, within {row['closed_within']}/{row['bilabials']}, mid "
            f"{row['closed_at_midpoint']}/{row['bilabials']}, lead {row['closure_lead_ms']:+.0f} ms"
            f"  open/close {row['open_close_ratio']:.2f}  rounding "
            f"{'-' if rr is None or row['rounding_holds'] is None else f'{rr:.2f} {holds}'}  tuck "
            f"{_frac(row['tucked'], row['labiodentals'])}  rest {_frac(row['rested'], row['pauses'])}"
            f"  jitter {row['jitter']:.3f}")


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The summary, readable."""
    s = summary
    lines = [
        f"clips {s['clips']}  envelope r {s['envelope_corr_mean']:.3f} (best lag "
        f"{s['envelope_corr_best_lag_mean']:.3f})  closed (aperture <= mm) "
        f"{s['bilabial_closure_rate']:.0%}  rest (mm) {s['silence_rest_closed']}/"
        f"{s['clips_with_silence']}",
        f"/p b m/ closed within {s['closed_within']}/{s['bilabials']} "
        f"({s['closed_within_rate']:.0%}), at midpoint {s['closed_at_midpoint']}/{s['bilabials']} "
        f"({s['closed_at_midpoint_rate']:.0%}), median lead {s['closure_lead_ms_median']:+.1f} ms "
        f"(closed ones: {s['closure_lead_closed_ms_median']:+.1f} ms)",
        f"open/close vowels {s['open_close_ratio_median']:.2f}  rounding holds "
        f"{s['rounding_held']}/{s['rounding_clips']} (median ratio {s['rounding_ratio_median']:.2f})"
        f"  /f v/ tucked {s['tucked']}/{s['labiodentals']}  rested {s['rested']}/{s['pauses']} pauses"
        f"  jitter {s['jitter_mean']:.4f}",
    ]
    if "silence" in s:
        d, alone = s["silence"], s.get("silence_model_alone")
        lines.append(f"digital silence {d['seconds']:.0f} s: jawOpen max {d['jaw_open_max']:.3f} "
                     f"mean {d['jaw_open_mean']:.3f}" + (
                         "" if alone is None else f"; the model alone (rest constraint off) max "
                         f"{alone['jaw_open_max']:.3f} mean {alone['jaw_open_mean']:.3f}"))
    return lines


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Aggregates over clips: ``speech_check``'s columns and ``phone_checks.summarize``."""
    from ..evaluation.phone_checks import summarize as phone_summary

    total_b = sum(r["bilabials"] for r in rows)
    closed = sum(r["bilabials_closed"] for r in rows)
    nan = float("nan")
    return {
        "clips": len(rows),
        "envelope_corr_mean": float(np.mean([r["envelope_corr"] for r in rows])) if rows else nan,
        "envelope_corr_best_lag_mean":
            float(np.mean([r["envelope_corr_best_lag"] for r in rows])) if rows else nan,
        "bilabial_closure_rate": closed / total_b if total_b else nan,
        "silence_rest_closed": sum(bool(r["rests_closed_in_silence"]) for r in rows),
        "clips_with_silence": sum(r["silence_frames"] > 0 for r in rows),
        **phone_summary(rows),
    }


def measure_clip(wave: np.ndarray, sample_rate: int, motion: Any, channels: list[str],
                 phones: list[Any], aperture_of: Any, closed_m: float) -> dict[str, Any]:
    """Every check on one clip's motion: ``speech_check.check_motion`` (demo-head aperture)
    and ``phone_checks.check_phones`` (channel weights); both sets of details are kept."""
    from ..evaluation.phone_checks import check_phones
    from ..evaluation.speech_check import check_motion

    aperture = check_motion(wave, sample_rate, motion.fps, aperture_of(motion.data), phones,
                            closed_m).to_dict()
    aperture["aperture_details"] = aperture.pop("details")
    aperture["aperture_closed_threshold_m"] = aperture.pop("closed_threshold")
    return {**aperture, **check_phones(motion.data, channels, phones, motion.fps).to_dict()}


def run(args: argparse.Namespace) -> int:
    from . import require_extra, require_torch

    if args.runtime == "torch":
        require_torch("check-speech")
    require_extra("check-speech", "check-speech", "pocketsphinx")
    from ..audio.alignment import align_transcript
    from ..audio.loading import SAMPLE_RATE, load_audio
    from ..direction.transcript import transcript_keys, trusted_phones
    from ..errors import AudioError, DiffusionTalkerError
    from ..evaluation.phone_checks import silence_drift
    from ..evaluation.speech_check import demo_head_aperture

    if args.runtime == "onnx":
        if args.audio_encoder:
            raise DiffusionTalkerError("--audio-encoder needs --runtime torch")
        from ..runtime.loader import load_talker

        talker = load_talker(args.checkpoint, "cpu", "onnx")
    else:
        from ..api import load_model

        talker = load_model(args.checkpoint, audio_encoder=args.audio_encoder)
    if talker.space != "channels":
        raise DiffusionTalkerError("check-speech measures channel models")
    channels = list(talker.channels)
    aperture_of = demo_head_aperture(channels)
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
        row = {"clip": path.name,
               **measure_clip(wave, SAMPLE_RATE, motion, channels, phones, aperture_of,
                              args.closed_mm / 1000.0)}
        rows.append(row)
        print(clip_line(path.name, row), flush=True)
    summary = summarize(rows)
    if args.silence:
        summary["silence"] = silence_drift(talker, seed=args.seed, identity=args.identity)
        summary["silence_model_alone"] = silence_drift(talker, seed=args.seed,
                                                       identity=args.identity,
                                                       rest_constraint=False)
    summary["model"] = {"checkpoint": args.checkpoint or "shipped", "runtime": args.runtime,
                        "seed": args.seed, "identity": args.identity, "channels": len(channels),
                        "transcript_guidance": bool(args.transcript_guidance)}
    for line in summary_lines(summary):
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "clips": rows}, indent=1))
    return 0
