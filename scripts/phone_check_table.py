"""One markdown table row per model from ``diffusiontalker check-speech --json`` outputs.

The aggregates are recomputed from each file's per-clip rows with
``evaluation.phone_checks.summarize`` (one implementation; definitions in that module), the
envelope correlation and the demo-head closure (aperture <= 2 mm) from the same rows, the
digital-silence drift from the summary (``--silence``: as generated, then with the rest
constraint off). Give ``LABEL=FILE`` to name a row
(default: the file's stem), so v1 and v2 go side by side in docs/results.md.

Usage: python scripts/phone_check_table.py v1=/tmp/v1_seed0.json v2=/tmp/v2_seed0.json
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))

from diffusiontalker.evaluation.phone_checks import summarize  # noqa: E402

HEADER = ("| model | clips | /p b m/ closed within | at midpoint | closed (≤ 2 mm) "
          "| median lead (closed) ms | open/close | rounding holds | /f v/ tucked "
          "| rested pauses | jitter | envelope r "
          "| silence jawOpen max / mean (as generated · model alone) |")


def _num(value: float, fmt: str) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else format(value, fmt)


def _pct(n: int, d: int) -> str:
    return f"{n}/{d} ({100 * n / d:.0f} %)" if d else "–"


def row(label: str, result: dict) -> str:
    """The table row of one ``check-speech --json`` result."""
    clips = result["clips"]
    s = summarize(clips)
    b = s["bilabials"]
    mm = sum(c["bilabials_closed"] for c in clips)
    r = sum(c["envelope_corr"] for c in clips) / len(clips) if clips else float("nan")
    drift = " · ".join(f"{d['jaw_open_max']:.3f} / {d['jaw_open_mean']:.3f}"
                       for d in (result["summary"].get(k) for k in
                                 ("silence", "silence_model_alone")) if d) or "–"
    return (f"| {label} | {len(clips)} | {_pct(s['closed_within'], b)} "
            f"| {_pct(s['closed_at_midpoint'], b)} | {_pct(mm, b)} "
            f"| {_num(s['closure_lead_ms_median'], '+.0f')} "
            f"({_num(s['closure_lead_closed_ms_median'], '+.0f')}) "
            f"| {_num(s['open_close_ratio_median'], '.2f')} "
            f"| {s['rounding_held']}/{s['rounding_clips']} | {_pct(s['tucked'], s['labiodentals'])} "
            f"| {s['rested']}/{s['pauses']} | {_num(s['jitter_mean'], '.3f')} | {_num(r, '.2f')} "
            f"| {drift} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="+", help="[LABEL=]check-speech JSON file")
    args = parser.parse_args()
    print(HEADER)
    print("|" + "---|" * HEADER.count(" | ") + "---|")
    for item in args.results:
        label, _, path = item.rpartition("=")
        print(row(label or Path(path).stem, json.loads(Path(path).read_text())))


if __name__ == "__main__":
    main()
