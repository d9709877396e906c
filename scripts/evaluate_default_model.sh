#!/usr/bin/env bash
# The measurements of docs/results.md: held-out synthetic sentences of known identities and
# held-out identities (evaluate), unseen real and human-like voices (check-speech), speed (bench).
# Usage: scripts/evaluate_default_model.sh WORK_DIR REAL_CLIPS...
#   WORK_DIR holds corpus/, teacher.safetensors, student{8,4,2}.safetensors (student8 is the
#   shipped model) and enc5.safetensors (the compact audio encoder shipped as the fast option),
#   all from scripts/train_default_model.sh; REAL_CLIPS are check-speech arguments
#   (WAV:TRANSCRIPT pairs or clips.json files: the Piper eval set and ARCTIC a0007). The 13
#   recordings of four or five real speakers are fetched by scripts/fetch_real_speech.py.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=$1; shift
OUT=$WORK/eval
mkdir -p "$OUT"
DT="./dev.sh python -m diffusiontalker"
run() {  # name checkpoint steps [extra arguments, e.g. --audio-encoder FILE]
  local name=$1 ckpt=$2 steps=$3; shift 3
  for spk in known heldout; do
    $DT evaluate "$ckpt" --data "$WORK/corpus" --split test --speakers $spk --head demo \
        --steps "$steps" --max-clips 42 --seeds 0,1 --json "$OUT/${name}_$spk.json" "$@" \
        $([ $spk = known ] && echo --identity-control) > "$OUT/${name}_$spk.log"
  done
  $DT check-speech --checkpoint "$ckpt" --steps "$steps" --json "$OUT/${name}_speech.json" "$@" \
      "${REAL[@]}" > "$OUT/${name}_speech.log" || true
  $DT check-speech --checkpoint "$ckpt" --steps "$steps" --json "$OUT/${name}_real.json" "$@" \
      "$WORK/real/eval/clips.json" > "$OUT/${name}_real.log" || true
}
REAL=("$@")
[ -f "$WORK/real/eval/clips.json" ] || ./dev.sh python scripts/fetch_real_speech.py "$WORK/real"
run teacher256 "$WORK/teacher.safetensors" 256
run teacher8 "$WORK/teacher.safetensors" 8
run student8 "$WORK/student8.safetensors" 8
run student4 "$WORK/student4.safetensors" 4
run student2 "$WORK/student2.safetensors" 2
run student8c "$WORK/student8.safetensors" 8 --audio-encoder "$WORK/enc5.safetensors"
$DT bench --checkpoint "$WORK/student8.safetensors" --teacher "$WORK/teacher.safetensors" \
    --audio-encoder "$WORK/enc5.safetensors" --seconds 10 --steps 4,2 --repeats 7 --json \
    > "$OUT/bench.json"
