#!/usr/bin/env bash
# The measurements of docs/results.md: held-out synthetic sentences of known identities and
# held-out identities (evaluate), unseen real and human-like voices (check-speech), speed (bench).
# Usage: scripts/evaluate_default_model.sh WORK_DIR REAL_CLIPS...
#   WORK_DIR holds corpus/, teacher.safetensors, student{8,4,2}.safetensors and
#   student8_compact.safetensors (the shipped model: the 8-step student reading the compact
#   audio encoder), all from scripts/train_default_model.sh; REAL_CLIPS are check-speech
#   arguments (WAV:TRANSCRIPT pairs or clips.json files).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=$1; shift
OUT=$WORK/eval
mkdir -p "$OUT"
DT="./dev.sh python -m diffusiontalker"
run() {  # name checkpoint steps
  for spk in known heldout; do
    $DT evaluate "$2" --data "$WORK/corpus" --split test --speakers $spk --head demo \
        --steps "$3" --max-clips 42 --seeds 0,1 --json "$OUT/$1_$spk.json" $([ $spk = known ] && echo --identity-control) > "$OUT/$1_$spk.log"
  done
  $DT check-speech --checkpoint "$2" --steps "$3" --json "$OUT/$1_speech.json" "${REAL[@]}" \
      > "$OUT/$1_speech.log" || true
}
REAL=("$@")
run teacher256 "$WORK/teacher.safetensors" 256
run teacher8 "$WORK/teacher.safetensors" 8
run student8 "$WORK/student8.safetensors" 8
run student4 "$WORK/student4.safetensors" 4
run student2 "$WORK/student2.safetensors" 2
run student8c "$WORK/student8_compact.safetensors" 8
$DT bench --checkpoint "$WORK/student8_compact.safetensors" --teacher "$WORK/teacher.safetensors" \
    --seconds 10 --steps 4,2 --repeats 7 --json > "$OUT/bench.json"
$DT bench --checkpoint "$WORK/student8.safetensors" --seconds 10 --repeats 7 --json \
    > "$OUT/bench_whisper_student.json"
