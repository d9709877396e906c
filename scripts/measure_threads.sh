#!/usr/bin/env bash
# Whole generate of the shipped model on 10 s of speech, torch and ONNX Runtime at 1, 2 and
# automatic (0: runtime/threads.py's choice) threads, each in a fresh process (bench
# --runtimes), first on an idle machine, then beside one busy process. JSON in OUT_DIR.
# Usage: scripts/measure_threads.sh OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/measure_threads.sh OUT_DIR}
mkdir -p "$out"
py=${PYTHON:-.venv/bin/python}
bench=("$py" -m diffusiontalker bench --runtimes torch,onnx --lengths 10 --threads 1,2,0
       --repeats 3 --json)
"${bench[@]}" > "$out/threads_idle.json"
"$py" -c "while True: pass" &
busy=$!
trap 'kill $busy' EXIT
"${bench[@]}" > "$out/threads_busy.json"
