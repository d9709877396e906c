#!/usr/bin/env bash
# Retrain the shipped default model (v2) from nothing (docs/results.md states the times
# measured on the 2-core development machine):
#   1. synthesise the corpus (3 h, 16 identities, 2 held out; the full face: 52 ARKit
#      channels + head rotation; voice-converted, codec- and room-augmented speech),
#   2. train the 256-step teacher on frozen Whisper tiny.en features (trimmed windows; the
#      encoder file shipped in the package) with the network size given as SIZE,
#   3. distil it progressively to 8 steps (the shipped student),
#   4. adapt the compact audio encoder (DiffusionTalker 2025; the fast option) to the new
#      student: task-aware distillation from the v1 encoder (shipped in the package) on the
#      corpus's speech, with noisier and speed-changed copies,
#   5. ship the 8-step student and the compact encoder into the package, export ONNX.
# Usage: scripts/train_default_model.sh [WORK_DIR] [SIZE]   (defaults: ./runs/default, medium)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-runs/default}
SIZE=${2:-medium}
DT="./dev.sh python -m diffusiontalker"
WHISPER="whisper+trim:package:whisper-tiny.en-encoder.safetensors"
WEIGHTS=core/diffusiontalker/weights
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mkdir -p "$WORK"
[ -f "$WORK/corpus/dataset.json" ] || $DT synth "$WORK/corpus" --hours 3 --seed 0 --workers 2
$DT train "$WORK/corpus" -o "$WORK/teacher.safetensors" --config "$SIZE" --steps 5000 \
    --audio "$WHISPER" --cache-dir "$WORK/cache" --seed 0
$DT distill "$WORK/teacher.safetensors" -o "$WORK/student8.safetensors" --data "$WORK/corpus" \
    --to 8 --steps-per-round 500 --cache-dir "$WORK/cache" --seed 0
cp "$WEIGHTS/compact-audio-encoder.safetensors" "$WORK/enc_v1.safetensors"
$DT distill-audio "$WORK/corpus" --teacher "$WHISPER" -o "$WORK/enc.safetensors" \
    --for-model "$WORK/student8.safetensors" --init "$WORK/enc_v1.safetensors" --augment 1 \
    --augment-speed 0.8,1.45 --augment-snr 5,40 --level-rms 0.1 --steps 3000 --lr 3e-4
./dev.sh python scripts/ship_default_model.py "$WORK/student8.safetensors" --data "$WORK/corpus" \
    --compact-encoder "$WORK/enc.safetensors"
./dev.sh python -m diffusiontalker export-onnx "$WEIGHTS/default.safetensors" \
    -o "$WEIGHTS/default.onnx"
