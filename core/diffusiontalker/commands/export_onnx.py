"""`diffusiontalker export-onnx CKPT -o DIR`: export a checkpoint for the ONNX Runtime path.

Needs torch and the ``onnx`` package (keep them in an export-only environment: ``onnx`` pulls
numpy 2). The folder it writes is what ``runtime.onnx_talker.load_onnx_model`` reads.
``--quantize int8`` stores the audio encoder graph with int8 weights
(``runtime.onnx_export.quantize_int8``; recorded in the manifest's ``quantize`` entry).
"""

from __future__ import annotations

import argparse
import json

from ..runtime.onnx_export import QUANTIZE

HELP = "export a checkpoint to ONNX (denoiser, audio adapter, style encoder + arrays)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a .safetensors checkpoint")
    parser.add_argument("-o", "--output", required=True,
                        help="output folder (by convention CKPT_STEM.onnx beside the checkpoint)")
    parser.add_argument("--tolerance", type=float, default=1e-4,
                        help="largest torch-vs-ONNX Runtime difference accepted (default 1e-4)")
    parser.add_argument("--quantize", choices=QUANTIZE, default="none",
                        help="int8: store the audio encoder graph (Whisper or compact student) "
                             "with dynamic int8 quantisation (its MatMul weights; measured in "
                             "docs/results.md, 'int8 audio encoder'); default none")


def run(args: argparse.Namespace) -> int:
    from . import require_torch

    require_torch("export-onnx")  # a missing onnx package: runtime.onnx_export says what to do
    from ..runtime.onnx_export import export_onnx

    manifest = export_onnx(args.checkpoint, args.output, tolerance=args.tolerance,
                           quantize=args.quantize)
    written = json.loads(manifest.read_text())
    diffs = written["max_abs_difference"]
    print(f"wrote {manifest.parent} (max |torch - onnxruntime|: "
          + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()) + ")")
    for name, record in written.get("quantize", {}).items():
        print(f"{name} quantised to int8 (max |torch - int8 graph| "
              f"{record['max_abs_difference']:.1e})")
    return 0
