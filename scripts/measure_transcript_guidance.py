"""Transcript guidance measured on real speech: the shipped model's takes with and without it.

For each clip of the real-speech set (``scripts/fetch_real_speech.py``: ``OUT/eval/clips.json``)
and seed, the transcript is aligned (``audio.alignment``), the take is generated without keys
and with ``direction.transcript.transcript_guidance``'s keys, and ``check-speech``'s checks
(``evaluation.speech_check.check_motion`` on the demo head's lip aperture) are made on both:
/p b m/ closed within the phone (aperture <= 2 mm within ±1 frame), envelope correlation with
the loudness (zero lag and best lag within ±100 ms), rest in pauses. Also, as defined in
``evaluation.phone_checks`` (``check_phones``, the one implementation): /f v/ tucked
(``mouthRollLower`` >= 0.3 within the phone ±1 frame), rounding (mean ``mouthPucker`` +
``mouthFunnel`` on UW OW W OY UH over IY EH AE, the median of the clips' ratios) and jitter
(mean |second difference| of the lip opening over its range, guided / free).

Usage: OMP_NUM_THREADS=1 python scripts/measure_transcript_guidance.py [/tmp/real/eval/clips.json]
       [--runtime torch|onnx] [--seeds 0,1] [--strength 1.0]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))

from diffusiontalker.audio.alignment import align_transcript  # noqa: E402
from diffusiontalker.audio.loading import SAMPLE_RATE, load_audio  # noqa: E402
from diffusiontalker.direction.transcript import transcript_guidance  # noqa: E402
from diffusiontalker.evaluation.phone_checks import check_phones  # noqa: E402
from diffusiontalker.evaluation.speech_check import (  # noqa: E402
    _corr,
    check_motion,
    demo_head_aperture,
    loudness_envelope,
)
from diffusiontalker.runtime.loader import load_talker  # noqa: E402

CLOSED_M = 0.002


def measure(motion, wave, phones, aperture_of, names) -> dict:
    data, fps = motion.data, motion.fps
    aperture = aperture_of(data)
    check = check_motion(wave, SAMPLE_RATE, fps, aperture, phones, CLOSED_M)
    away = np.ones(len(data), bool)  # frames further than 2 from any /p b m/
    for p in phones:
        if p.name in ("P", "B", "M"):
            away[max(int(p.start * fps) - 2, 0): int(np.ceil(p.end * fps)) + 3] = False
    envelope = loudness_envelope(wave, SAMPLE_RATE, fps, len(data))
    phone = check_phones(data, names, phones, fps)
    return {"bilabials": check.bilabials, "closed": check.bilabials_closed,
            "corr": check.envelope_corr, "corr_lag": check.envelope_corr_best_lag,
            "corr_away": _corr(aperture[away], envelope[away]),
            "rest": check.rests_closed_in_silence, "has_pause": check.silence_frames > 0,
            "fv": phone.labiodentals, "tucked": int(phone.tucked or 0),
            "rounding": phone.rounding_ratio if phone.rounding_holds is not None else np.nan,
            "jitter": phone.jitter}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("clips", nargs="?", default="/tmp/real/eval/clips.json")
    p.add_argument("--runtime", default="torch", choices=("torch", "onnx"))
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--strength", type=float, default=1.0)
    args = p.parse_args()
    talker = load_talker(None, "cpu", args.runtime, threads=1)
    names = list(talker.channels)
    aperture_of = demo_head_aperture(names)
    clips = json.loads(Path(args.clips).read_text())
    rows = {"free": [], "guided": []}
    t_align = []
    for seed in (int(s) for s in args.seeds.split(",")):
        for clip in clips:
            wave = load_audio(Path(args.clips).parent / clip["file"])
            t0 = time.perf_counter()
            phones = align_transcript(wave, SAMPLE_RATE, clip["text"]).phones
            num_frames = talker.num_frames(wave)
            keys, message = transcript_guidance(wave, clip["text"], fps=talker.fps,
                                                channels=names, num_frames=num_frames,
                                                strength=args.strength)
            t_align.append(time.perf_counter() - t0)
            if message:
                print(f"{clip['file']}: {message}")
            for kind, k in (("free", None), ("guided", keys)):
                motion = talker.generate(wave, SAMPLE_RATE, seed=seed, keys=k)
                r = measure(motion, wave, phones, aperture_of, names)
                rows[kind].append(r | {"clip": clip["file"], "seed": seed})
            f, g = rows["free"][-1], rows["guided"][-1]
            print(f"seed {seed} {clip['file']:20s} closed {f['closed']}/{f['bilabials']} -> "
                  f"{g['closed']}/{g['bilabials']}  r {f['corr']:+.2f} -> {g['corr']:+.2f}  "
                  f"tucked {f['tucked']}/{f['fv']} -> {g['tucked']}/{g['fv']}  keys {len(keys)}",
                  flush=True)
    print(f"\n| take | /p b m/ closed | envelope r | best-lag r | r away from /p b m/ "
          f"| rest in pauses | /f v/ tucked | rounding ratio | jitter |  "
          f"(seeds {args.seeds}, {args.runtime}, strength {args.strength:g})")
    print("|---|---|---|---|---|---|---|---|---|")
    free_jitter = np.mean([r["jitter"] for r in rows["free"]])
    for kind, rs in rows.items():
        b, c = sum(r["bilabials"] for r in rs), sum(r["closed"] for r in rs)
        fv, t = sum(r["fv"] for r in rs), sum(r["tucked"] for r in rs)
        rests = sum(r["rest"] for r in rs), sum(r["has_pause"] for r in rs)
        print(f"| {kind} | {c}/{b} ({100 * c / b:.0f} %) | {np.mean([r['corr'] for r in rs]):.3f} "
              f"| {np.mean([r['corr_lag'] for r in rs]):.3f} "
              f"| {np.mean([r['corr_away'] for r in rs]):.3f} | {rests[0]}/{rests[1]} "
              f"| {t}/{fv} | {np.nanmedian([r['rounding'] for r in rs]):.2f} "
              f"| {np.mean([r['jitter'] for r in rs]) / free_jitter:.2f} |")
    print(f"\nalignment + keys: {np.median(t_align):.2f} s per clip (median)")


if __name__ == "__main__":
    main()
