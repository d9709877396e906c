"""Markdown tables for docs/results.md from scripts/evaluate_default_model.sh's JSON files.

Usage: python scripts/results_tables.py WORK_DIR/eval
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROWS = [("teacher256", "teacher, 256 steps"), ("teacher8", "teacher, DDIM respaced to 8"),
        ("student8", "**student, 8 steps, Whisper features (shipped)**"), ("student4", "student, 4 steps"),
        ("student2", "student, 2 steps"),
        ("student8c", "student, 8 steps, compact audio encoder (`--audio-encoder compact`)")]
REFERENCES = {"teacher8": "teacher, DDIM-8", "teacher256": "teacher, 256"}


def _load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def main(folder: str) -> None:
    root = Path(folder)
    print("| model | LVE ×1e-5 (known) | LVE ×1e-5 (held-out ids) | channel MSE (known) | "
          "\\|FDD\\| ×1e-7 (known) | diversity ×1e-4 m (known) | identity top-1 | "
          "identity control |")
    print("|---|---|---|---|---|---|---|---|")
    for key, label in ROWS:
        known, held = _load(root / f"{key}_known.json"), _load(root / f"{key}_heldout.json")
        if known is None:
            continue
        k, h = known["metrics"], (held or {"metrics": {}})["metrics"]
        print(f"| {label} | {k['head_lve'] * 1e5:.3f} | "
              f"{h.get('head_lve', float('nan')) * 1e5:.3f} | {k['channel_mse']:.4f} | "
              f"{k['head_fdd_abs'] * 1e7:.2f} | {k['head_diversity'] * 1e4:.2f} | "
              f"{k.get('identity_top1', float('nan')):.2f} | "
              f"{k.get('identity_control_accuracy', float('nan')):.2f} |")
    print()
    _paired_table(root)
    print()
    print("| model | mean envelope r (9 clips) | best-lag r | /p b m/ closed | "
          "ARCTIC r | ARCTIC /p b m/ | ARCTIC aperture in silence | clips closed in silence |")
    print("|---|---|---|---|---|---|---|---|")
    for key, label in ROWS:
        speech = _load(root / f"{key}_speech.json")
        if speech is None:
            continue
        s = speech["summary"]
        arctic = next(c for c in speech["clips"] if c["clip"].startswith("arctic"))
        print(f"| {label} | {_speech_cells(s)} | {arctic['envelope_corr']:.2f} | "
              f"{arctic['bilabials_closed']}/{arctic['bilabials']} | "
              f"{1000 * arctic['silence_median_aperture']:.1f} mm | "
              f"{s['silence_rest_closed']}/{s['clips_with_silence']} |")
    print()
    _real_voice_table(root)


def _real_voice_table(root: Path) -> None:
    """check-speech on the real recordings of scripts/fetch_real_speech.py (``*_real.json``)."""
    print("| model | mean envelope r | best-lag r | /p b m/ closed | LibriVox /p b m/ | "
          "clips closed in silence |")
    print("|---|---|---|---|---|---|")
    for key, label in ROWS:
        real = _load(root / f"{key}_real.json")
        if real is None:
            continue
        s = real["summary"]
        libri = [c for c in real["clips"] if c["clip"].startswith("librivox")]
        closed = sum(c["bilabials_closed"] for c in libri)
        print(f"| {label} | {_speech_cells(s)} | {closed}/{sum(c['bilabials'] for c in libri)} | "
              f"{s['silence_rest_closed']}/{s['clips_with_silence']} |")


def _speech_cells(s: dict) -> str:
    """A check-speech summary's mean envelope r, best-lag r and bilabials closed, as cells."""
    return (f"{s['envelope_corr_mean']:.2f} | {s['envelope_corr_best_lag_mean']:.2f} | "
            f"{s['bilabial_closure_rate'] * s['bilabials']:.0f}/{s['bilabials']} "
            f"({100 * s['bilabial_closure_rate']:.0f}%)")


def _paired_table(root: Path) -> None:
    """LVE of each model against the teacher's DDIM-8 and full-step runs, paired by clip:
    the mean per-clip difference relative to the reference's mean LVE, with a 95% interval
    (1.96 standard errors of the per-clip differences)."""
    print("| model | vs | LVE difference (known) | LVE difference (held-out ids) |")
    print("|---|---|---|---|")
    for key, label in ROWS:
        for ref, ref_label in REFERENCES.items():
            if key in ("teacher256", ref):
                continue
            cells = []
            for group in ("known", "heldout"):
                a, b = _load(root / f"{key}_{group}.json"), _load(root / f"{ref}_{group}.json")
                if not (a and b and "per_clip" in a and "per_clip" in b):
                    cells.append("n/a")
                    continue
                assert a["per_clip"]["clip"] == b["per_clip"]["clip"], "different clips"
                x, y = np.array(a["per_clip"]["head_lve"]), np.array(b["per_clip"]["head_lve"])
                diff = (x - y) / y.mean()
                half = 1.96 * diff.std(ddof=1) / np.sqrt(diff.size)
                cells.append(f"{100 * diff.mean():+.1f}% ± {100 * half:.1f}%")
            print(f"| {label} | {ref_label} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main(sys.argv[1])
