#!/usr/bin/env bash
# The measurements of docs/results.md for the default model v2 (and v1 beside it):
#   held-out synthetic sentences of known and held-out identities (evaluate: LVE, channel
#   error, FDD, diversity, identity top-1), and real human voices never heard (check-speech
#   with the phone-aware checks, seeds 0 and 1, plus the drift on 10 s of digital silence).
# Usage: scripts/evaluate_default_model.sh WORK_DIR REAL_DIR
#   WORK_DIR holds corpus/, teacher.safetensors and student8.safetensors from
#   scripts/train_default_model.sh; REAL_DIR is written by
#   `python scripts/fetch_real_speech.py REAL_DIR --more --coded` (13 + 4 real recordings and
#   their MP3-16k and telephone copies; never committed).
# v1 is the model of the previous release, read from git (its checkpoint at tag V1_COMMIT).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=$1; REAL=$2
OUT=$WORK/eval
mkdir -p "$OUT"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
DT="./dev.sh python -m diffusiontalker"
V1_COMMIT=${V1_COMMIT:-cc31629}
[ -f "$WORK/v1.safetensors" ] || git show "$V1_COMMIT:core/diffusiontalker/weights/default.safetensors" \
    > "$WORK/v1.safetensors"
synthetic() {  # name checkpoint steps
  for spk in known heldout; do
    $DT evaluate "$2" --data "$WORK/corpus" --split test --speakers $spk --head demo \
        --steps "$3" --max-clips 42 --seeds 0,1 --json "$OUT/${1}_$spk.json" \
        $([ $spk = known ] && echo --identity-control) > "$OUT/${1}_$spk.log"
  done
}
real() {  # name checkpoint steps
  for seed in 0 1; do
    for set in clips clips_more clips_coded; do
      $DT check-speech --checkpoint "$2" --steps "$3" --seed $seed $([ $set = clips ] && echo --silence) \
          --json "$OUT/${1}_${set}_s$seed.json" "$REAL/eval/$set.json" > "$OUT/${1}_${set}_s$seed.log"
    done
  done
}
synthetic teacher256 "$WORK/teacher.safetensors" 256
synthetic student8 "$WORK/student8.safetensors" 8
real v1 "$WORK/v1.safetensors" 8
real teacher8 "$WORK/teacher.safetensors" 8
real student8 "$WORK/student8.safetensors" 8
for set in clips clips_more clips_coded; do
  ./dev.sh python scripts/phone_check_table.py \
      "v1=$OUT/v1_${set}_s0.json" "v1 seed 1=$OUT/v1_${set}_s1.json" \
      "v2=$OUT/student8_${set}_s0.json" "v2 seed 1=$OUT/student8_${set}_s1.json" \
      > "$OUT/table_$set.md"
done
