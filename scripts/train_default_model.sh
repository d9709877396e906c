#!/usr/bin/env bash
# Retrain the shipped default model from nothing (see docs/results.md for the times measured
# on the 2-core development machine):
#   1. synthesise the corpus (3 h, 16 identities, 2 held out),
#   2. train the 256-step teacher (per-clip normalised log-mel frontend, "small" network),
#   3. distil it progressively to 8 steps, then on to 4 and 2 (measured variants),
#   4. copy the 8-step student into the package.
# Usage: scripts/train_default_model.sh [WORK_DIR]   (default: ./runs/default)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-runs/default}
DT="./dev.sh python -m diffusiontalker"
mkdir -p "$WORK"
[ -f "$WORK/corpus/dataset.json" ] || $DT synth "$WORK/corpus" --hours 3 --seed 0 --workers 2
$DT train "$WORK/corpus" -o "$WORK/teacher.safetensors" --config small --steps 5000 \
    --audio mel+cmvn --cache-dir "$WORK/cache" --seed 0
$DT distill "$WORK/teacher.safetensors" -o "$WORK/student8.safetensors" --data "$WORK/corpus" \
    --to 8 --steps-per-round 500 --cache-dir "$WORK/cache" --seed 0
$DT distill "$WORK/student8.safetensors" -o "$WORK/student4.safetensors" --data "$WORK/corpus" \
    --from-steps 8 --to 4 --steps-per-round 500 --cache-dir "$WORK/cache" --seed 0
$DT distill "$WORK/student4.safetensors" -o "$WORK/student2.safetensors" --data "$WORK/corpus" \
    --from-steps 4 --to 2 --steps-per-round 500 --cache-dir "$WORK/cache" --seed 0
cp "$WORK/student8.safetensors" core/diffusiontalker/weights/default.safetensors
echo "shipped: core/diffusiontalker/weights/default.safetensors"
