"""Edits of exported ONNX graphs (torch-free; needs the ``onnx`` package): float32
trigonometry for old onnxruntime releases, lossless float16 storage of weights that are exactly
float16, and int8 dynamic quantisation of the audio encoder's matrix products (ONNX Runtime's
quantiser). Used by :mod:`.onnx_export`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ExportError

INT8_OPS = ("MatMul",)  # the dynamic quantiser has no integer Gemm (its IntegerOpsRegistry)


def _float32_trigonometry(path: Path) -> None:
    """Compute float64 ``Cos``/``Sin`` (the schedule's log-SNR) in float32 in the graph.

    onnxruntime releases before 1.31 (including the one the light build bundles) have no
    float64 kernels for these two ops. Each such node becomes Cast -> op -> Cast; the
    export's torch comparison measures the (tiny) effect.
    """
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(path))
    inferred = onnx.shape_inference.infer_shapes(model).graph
    doubles = {v.name for v in (*inferred.value_info, *inferred.input, *inferred.output)
               if v.type.tensor_type.elem_type == TensorProto.DOUBLE}
    nodes, changed = [], False
    for node in model.graph.node:
        if node.op_type not in ("Cos", "Sin") or node.input[0] not in doubles:
            nodes.append(node)
            continue
        changed = True
        x32, y32 = f"{node.output[0]}__input_float32", f"{node.output[0]}__float32"
        nodes += [helper.make_node("Cast", [node.input[0]], [x32], name=f"{node.name}/to_float32",
                                   to=TensorProto.FLOAT),
                  helper.make_node(node.op_type, [x32], [y32], name=f"{node.name}/float32"),
                  helper.make_node("Cast", [y32], [node.output[0]], name=f"{node.name}/to_float64",
                                   to=TensorProto.DOUBLE)]
    if changed:
        del model.graph.node[:]
        model.graph.node.extend(nodes)
        onnx.checker.check_model(model)
        onnx.save(model, str(path))


def _float16_initializers(path: Path, min_size: int = 1024) -> None:
    """Store each float32 weight (of ``min_size`` values or more) whose values are all exactly
    float16 numbers as float16 followed by a ``Cast`` back to float32: lossless, half the
    bytes. Weights trained in float32 are not exact and stay as they are."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    casts, kept = [], []
    for init in model.graph.initializer:
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < min_size:
            kept.append(init)
            continue
        values = numpy_helper.to_array(init)
        half = values.astype(np.float16)
        if not np.array_equal(half.astype(np.float32), values, equal_nan=True):
            kept.append(init)
            continue
        kept.append(numpy_helper.from_array(half, f"{init.name}__float16"))
        casts.append(helper.make_node("Cast", [f"{init.name}__float16"], [init.name],
                                      name=f"{init.name}/to_float32", to=TensorProto.FLOAT))
    if not casts:
        return
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    nodes = [*casts, *model.graph.node]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def quantize_int8(source: str | Path, target: str | Path, per_channel: bool = True,
                  weight_type: str = "QInt8", reduce_range: bool = True) -> dict[str, Any]:
    """Write ``source``'s graph to ``target`` (may be the same file) with ONNX Runtime's
    dynamic quantisation (``onnxruntime.quantization.quantize_dynamic``): the weights of its
    ``MatMul`` nodes (``nn.Linear`` on 3-D inputs; ``Gemm`` has no dynamic integer kernel)
    stored as 8-bit integers (``weight_type`` ``QInt8`` or
    ``QUInt8``; one scale per output channel if ``per_channel``, 7-bit if ``reduce_range``),
    activations quantised to uint8 at run time (``MatMulInteger``); only products with a
    constant weight (``MatMulConstBOnly``), so attention scores stay float. Float16-stored
    weights (:func:`_float16_initializers`) are restored to float32 first, as the quantiser
    reads only float32 initializers, and the remaining float weights are stored in float16
    again afterwards. Returns the manifest's record of the method.

    The defaults are what ``--quantize int8`` ships: per-channel 7-bit QInt8 weights. 7 bits
    because x86 CPUs without VNNI multiply uint8 by int8 with ``vpmaddubsw``, which sums
    adjacent products into int16 and saturates: on 10 s of real speech 1.7e-5 of those sums
    overflow with 8-bit per-channel weights, none can with 7-bit ones (255 * 64 * 2 < 32767),
    so every x86 CPU computes what was measured (docs/results.md, "int8 audio encoder")."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if weight_type not in ("QInt8", "QUInt8"):
        raise ExportError(f"int8 weight type must be QInt8 or QUInt8, not {weight_type!r}")
    model = _float32_initializers(onnx.load(str(source)))
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its advice to pre-process first: measured without it
    try:
        quantize_dynamic(model, str(target), op_types_to_quantize=list(INT8_OPS),
                         per_channel=per_channel, reduce_range=reduce_range,
                         weight_type=getattr(QuantType, weight_type),
                         extra_options={"MatMulConstBOnly": True})
    finally:
        root.setLevel(level)
    _float16_initializers(Path(target))
    counts = {}
    for node in onnx.load(str(target)).graph.node:
        if node.op_type in ("MatMulInteger", "DynamicQuantizeLinear", *INT8_OPS):
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
    if not counts.get("MatMulInteger"):
        raise ExportError(f"{source} has no MatMul with a constant weight to quantise")
    return {"method": "onnxruntime.quantization.quantize_dynamic", "ops": list(INT8_OPS),
            "weight_type": weight_type, "per_channel": per_channel,
            "reduce_range": reduce_range, "nodes": counts}


def _float32_initializers(model: Any) -> Any:
    """Undo :func:`_float16_initializers` on a loaded graph: each float16 initializer feeding a
    ``Cast`` to float32 becomes the float32 initializer the ``Cast`` produced."""
    from onnx import TensorProto, numpy_helper

    halves = {i.name: i for i in model.graph.initializer if i.data_type == TensorProto.FLOAT16}
    restored, nodes = {}, []
    for node in model.graph.node:
        if (node.op_type == "Cast" and node.input[0] in halves
                and [a.i for a in node.attribute if a.name == "to"] == [TensorProto.FLOAT]):
            values = numpy_helper.to_array(halves[node.input[0]]).astype(np.float32)
            restored[node.input[0]] = numpy_helper.from_array(values, node.output[0])
        else:
            nodes.append(node)
    if not restored:
        return model
    kept = [i for i in model.graph.initializer if i.name not in restored]
    del model.graph.initializer[:]
    model.graph.initializer.extend([*kept, *restored.values()])
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model
