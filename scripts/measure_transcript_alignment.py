"""Calibrate the transcript-match check of ``audio.alignment`` (``MATCH_THRESHOLD``).

Aligns speech with its own transcript and with wrong ones, and prints, per kind of text, how
often the alignment was refused (partial: not every word aligned) or judged not to match
(``match`` below the threshold), with the spread of ``match`` (the mean log-likelihood ratio
per 10 ms frame of the forced alignment against a free phone-loop decode).

Speech: the real clips of ``scripts/fetch_real_speech.py`` (``OUT/eval/clips.json``) and
eSpeak NG utterances of two sentences made by the project's synth (``synth.espeak``, the
library's voices and rates, random corpus sentences). Wrong texts: ``other`` (another clip's
text), ``shuffled`` (the same words in another order), ``dropped`` (for two-sentence speech
the second sentence, else the last third of the words), ``added`` (another clip's text
appended), and, for information, ``one word`` (the middle word replaced by another text's).

Usage: OMP_NUM_THREADS=1 python scripts/measure_transcript_alignment.py [/tmp/real/eval/clips.json]
       [--synth N] [--rows]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))

from diffusiontalker.audio.alignment import (  # noqa: E402
    MATCH_THRESHOLD,
    SILENCE_THRESHOLD,
    measure_alignment,
    normalize_transcript,
)
from diffusiontalker.audio.loading import SAMPLE_RATE, load_audio  # noqa: E402
from diffusiontalker.direction.transcript import WORD_FIT_MIN  # noqa: E402
from diffusiontalker.errors import AudioError  # noqa: E402

VARIANTS = ("right", "other", "shuffled", "dropped", "added", "one word")


def real_clips(path: Path) -> list[tuple[str, np.ndarray, list[list[str]]]]:
    """(name, 16 kHz wave, sentences) of each clip in a clips.json (one sentence each)."""
    clips = json.loads(path.read_text())
    return [(c["file"], load_audio(path.parent / c["file"]), [normalize_transcript(c["text"])])
            for c in clips]


def synth_clips(count: int, seed: int = 0) -> list[tuple[str, np.ndarray, list[list[str]]]]:
    """eSpeak NG utterances of two random corpus sentences, voices of the identity library."""
    from diffusiontalker.synth.espeak import synthesize
    from diffusiontalker.synth.styles import IDENTITIES
    from diffusiontalker.synth.text import sentence

    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        who = IDENTITIES[i % len(IDENTITIES)]
        texts = [sentence(rng), sentence(rng)]
        utt = synthesize(" ".join(texts), who.voice, who.rate, who.pitch, who.pitch_range,
                         seed=i)
        wave = load_audio(utt.audio, utt.sample_rate)
        out.append((f"espeak_{i:02d}_{who.name}", wave, [normalize_transcript(t) for t in texts]))
    return out


def variants(i: int, clips: list, rng: np.random.Generator) -> dict[str, list[str]]:
    """The right text of clip ``i`` and the wrong ones (module docstring)."""
    sentences = clips[i][2]
    words = [w for s in sentences for w in s]
    other = [w for s in clips[(i + 1) % len(clips)][2] for w in s]
    added = [w for s in clips[(i + 2) % len(clips)][2] for w in s]
    shuffled = list(rng.permutation(words))
    dropped = sentences[0] if len(sentences) > 1 else words[: max(1, 2 * len(words) // 3)]
    one = list(words)
    pool = [w for w in other if w not in words] or ["banana"]
    one[len(one) // 2] = pool[len(pool) // 2]
    out = {"right": words, "other": other, "shuffled": shuffled, "dropped": dropped,
           "added": words + added, "one word": one}
    return {k: v for k, v in out.items() if k == "right" or v != words}


def measure(clips: list, group: str, rng: np.random.Generator, rows: bool) -> list[dict]:
    results = []
    for i, (name, wave, _) in enumerate(clips):
        for kind, words in variants(i, clips, rng).items():
            t0 = time.perf_counter()
            try:
                a = measure_alignment(wave, SAMPLE_RATE, " ".join(words))
                r = {"match": a.match, "pause": a.silence_match, "attempt": a.attempt,
                     "partial": False, "words": [w.match for w in a.words]}
            except AudioError as exc:
                if "forced alignment" not in str(exc):
                    raise
                r = {"match": float("nan"), "pause": float("nan"), "attempt": None,
                     "partial": True, "words": []}
            r.update(group=group, clip=name, kind=kind, seconds=time.perf_counter() - t0,
                     audio_s=len(wave) / SAMPLE_RATE)
            results.append(r)
            if rows:
                state = "partial" if r["partial"] else (
                    f"match {r['match']:+6.1f}  pause {r['pause']:+6.1f}  (try {r['attempt']})")
                print(f"  {group:6s} {name:22s} {kind:9s} {state}  {r['seconds']:.2f} s", flush=True)
    return results


def table(results: list[dict]) -> None:
    print(f"\nA text is refused when not every word aligns (partial), when its mean fit "
          f"`match` < {MATCH_THRESHOLD:+g} per frame, or when an aligned pause >= 0.5 s fits "
          f"< {SILENCE_THRESHOLD:+g} (`pause`: speech the text lacks).\n")
    print("| speech | text | n | refused: partial | refused: match | refused: pause | accepted "
          "| match min / median / max | pause min |")
    print("|---|---|---|---|---|---|---|---|---|")
    for group in dict.fromkeys(r["group"] for r in results):
        for kind in VARIANTS:
            rs = [r for r in results if r["group"] == group and r["kind"] == kind]
            if not rs:
                continue
            aligned = [r for r in rs if not r["partial"]]
            low = [r for r in aligned if r["match"] < MATCH_THRESHOLD]
            pause = [r for r in aligned if r["match"] >= MATCH_THRESHOLD
                     and r["pause"] < SILENCE_THRESHOLD]
            m = np.array([r["match"] for r in aligned])
            spread = (f"{m.min():+.1f} / {np.median(m):+.1f} / {m.max():+.1f}" if m.size else "-")
            pmin = f"{min(r['pause'] for r in aligned):+.1f}" if aligned else "-"
            print(f"| {group} | {kind} | {len(rs)} | {len(rs) - len(aligned)} | {len(low)} | "
                  f"{len(pause)} | {len(aligned) - len(low) - len(pause)} | {spread} | {pmin} |")
    retried = sum(1 for r in results if r["kind"] == "right" and r["attempt"])
    print(f"\nright texts needing a retry (wider beam, more padding): {retried}")
    for group in dict.fromkeys(r["group"] for r in results):
        right = np.concatenate([r["words"] for r in results
                                if r["group"] == group and r["kind"] == "right"] or [[]])
        swapped = np.array([r["words"][len(r["words"]) // 2] for r in results  # variants()
                            if r["group"] == group and r["kind"] == "one word" and r["words"]])
        if right.size and swapped.size:
            print(f"{group}: per-word fit of correct words: lowest {right.min():+.1f}, "
                  f"{100 * np.mean(right < WORD_FIT_MIN):.1f} % below {WORD_FIT_MIN:g} (no "
                  f"keys there); substituted words below it: {int((swapped < WORD_FIT_MIN).sum())}"
                  f" of {swapped.size}")
    rate = [r["seconds"] / r["audio_s"] for r in results if not r["partial"]]
    print(f"time: {np.median(rate):.3f} s per second of audio (median), 1 CPU thread")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("clips", nargs="?", default="/tmp/real/eval/clips.json")
    p.add_argument("--synth", type=int, default=16, help="eSpeak NG utterances (0: none)")
    p.add_argument("--rows", action="store_true", help="print every alignment")
    p.add_argument("--json", help="write every result here")
    args = p.parse_args()
    rng = np.random.default_rng(0)
    results = []
    if Path(args.clips).is_file():
        results += measure(real_clips(Path(args.clips)), "real", rng, args.rows)
    else:
        print(f"no real clips at {args.clips} (scripts/fetch_real_speech.py makes them)")
    if args.synth:
        results += measure(synth_clips(args.synth), "eSpeak", rng, args.rows)
    table(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
