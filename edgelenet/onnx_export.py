"""ONNX export: the float model and the int8 artifact as ONNX graphs built with onnx.helper.

Both graphs share one interface and one layer walker (`_walk`); a `_FloatOps` or `_Int8Ops` object decides
what each step of a layer becomes:

    pixels uint8 (N, 1, H, W) -> the field (N, 1, 32, 32) uint8 of edgelenet/resample.py:
        H x W only placed (28x28 MNIST): Pad with the background level;
        resized: Cast -> MatMul(rows) -> MatMul(cols) -> Add(fill + d*d // 2) -> [Div(d*d) -> Floor] -> Cast,
        exact in float32 (every value < 2^18, see resample.py)
    -> DequantizeLinear(scale 0.005, zero point 20) = 0.005 * pixel - 0.1, the float model's normalisation
    per layer:  [DQ input] -> Conv | Gemm (DQ weights per channel, DQ int32 bias) -> activation -> [MaxPool]
    logits      float (N, classes), or int8 (N, classes) for the int8 model: the reference engine's int8 logits

The int8 graph is QDQ: every int8 tensor is dequantized in front of a float operator and quantized after it,
so requantization is `QuantizeLinear(float acc)`: round half to even on a float32 product, where the
reference engine uses an integer multiplier and shift with round half up (docs/onnx.md measures this).
The tanh layers reproduce the artifact's table exactly: `Gather(lut, int8 pre + 128)`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgelenet import __version__
from edgelenet.artifact import QLayer, QuantizedModel
from edgelenet.fileio import ensure_dir, write_bytes_atomic
from edgelenet.family import PIXEL_SCALE, SQUASH_A, SQUASH_S, DataInfo, ModelConfig
from edgelenet.layer_plan import layer_plan
from edgelenet.resample import matrices, plan

if TYPE_CHECKING:
    from edgelenet.model import LeNet5

OPSET = 21          # per-channel QuantizeLinear/DequantizeLinear with axis (13+), int8 MaxPool (12+)
IR_VERSION = 10     # the IR that goes with opset 21
INPUT_NAME, OUTPUT_NAME = "pixels", "logits"
PIXEL_ZERO_POINT = 20   # 0.005 * (pixel - 20) = 0.005 * pixel - 0.1


def input_layout(data: DataInfo) -> str:
    height, width = data.input_size
    return (f"NCHW uint8 [N,1,{height},{width}]: raw pixels 0..255; the graph resamples them into the 32x32 field "
            f"with background {data.background} (docs/data.md) and computes x = 0.005 * pixel - 0.1")


class _Graph:
    """Nodes and initializers in creation order, with deterministic names (`<layer>/<what>`)."""

    def __init__(self):
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], name: str, **attrs) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [name], name=name, **attrs))
        return name


class _FloatOps:
    """The float model: float weights, float activations."""

    logits_type = TensorProto.FLOAT

    def input(self, g: _Graph, x: str) -> str:
        return x

    def layer_input(self, g: _Graph, layer, x: str) -> str:
        return x

    def parameters(self, g: _Graph, layer) -> tuple[str, str]:
        w = g.const(f"{layer.name}/weight", layer.weight.astype(np.float32))
        return w, g.const(f"{layer.name}/bias", layer.bias.astype(np.float32))

    def activation(self, g: _Graph, layer, y: str) -> str:
        if layer.activation == "relu":
            return g.op("Relu", [y], f"{layer.name}/relu")
        if layer.activation == "tanh":
            return _squash(g, layer.name, y)
        return y


class _Int8Ops:
    """The artifact: int8 tensors between layers, QDQ around every float operator."""

    logits_type = TensorProto.INT8

    def input(self, g: _Graph, x: str) -> str:
        # 0.005 * pixel - 0.1 at scale 0.005, zero point -108 is q = pixel - 128: exact, no rounding
        return _quantize(g, "input", x, PIXEL_SCALE, -108)

    def layer_input(self, g: _Graph, layer: QLayer, x: str) -> str:
        return _dequantize(g, f"{layer.name}/input", x, layer.input.scale, layer.input.zero_point)

    def parameters(self, g: _Graph, layer: QLayer) -> tuple[str, str]:
        """Weights DQ per output channel (axis 0, zero point 0); the int32 bias at scale s_in * s_w[c].

        s_w[c] is derived from the artifact's integer multiplier and shift, not its float weight scales, so
        that Q(s_in * s_w[c] * acc) applies the factor m / 2^n the integer engines apply (to float32 precision).
        """
        target = layer.pre if layer.activation == "tanh" else layer.output
        ratio = layer.multiplier.astype(np.float64) / np.exp2(layer.shift.astype(np.float64))  # m / 2^n
        scales = ratio * target.scale / layer.input.scale                                        # (Cout,) float64
        w_scale = scales.astype(np.float32)
        w = g.const(f"{layer.name}/weight_q", layer.weights)
        w = g.op("DequantizeLinear", [w, g.const(f"{layer.name}/weight_scale", w_scale),
                                      g.const(f"{layer.name}/weight_zero", np.zeros(len(w_scale), np.int8))],
                 f"{layer.name}/weight", axis=0)
        b_scale = (layer.input.scale * scales).astype(np.float32)
        b = g.const(f"{layer.name}/bias_q", layer.bias)
        b = g.op("DequantizeLinear", [b, g.const(f"{layer.name}/bias_scale", b_scale),
                                      g.const(f"{layer.name}/bias_zero", np.zeros(len(b_scale), np.int32))],
                 f"{layer.name}/bias", axis=0)
        return w, b

    def activation(self, g: _Graph, layer: QLayer, y: str) -> str:
        name = layer.name
        if layer.activation == "tanh":
            pre = _quantize(g, f"{name}/pre", y, layer.pre.scale, layer.pre.zero_point)
            index = g.op("Cast", [pre], f"{name}/pre_int32", to=TensorProto.INT32)
            index = g.op("Add", [index, g.const(f"{name}/lut_offset", np.array(128, np.int32))], f"{name}/lut_index")
            return g.op("Gather", [g.const(f"{name}/lut", layer.lut), index], f"{name}/tanh_lut", axis=0)
        if layer.activation == "relu":
            # Relu then QuantizeLinear == the reference's clamp at the zero point (round(0) = 0, round monotonic)
            y = g.op("Relu", [y], f"{name}/relu")
        return _quantize(g, f"{name}/output", y, layer.output.scale, layer.output.zero_point)


def _quantize(g: _Graph, name: str, x: str, scale: float, zero_point: int) -> str:
    return g.op("QuantizeLinear", [x, g.const(f"{name}_scale", np.array(scale, np.float32)),
                                   g.const(f"{name}_zero", np.array(zero_point, np.int8))], f"{name}_q")


def _dequantize(g: _Graph, name: str, x: str, scale: float, zero_point: int) -> str:
    return g.op("DequantizeLinear", [x, g.const(f"{name}_scale", np.array(scale, np.float32)),
                                     g.const(f"{name}_zero", np.array(zero_point, np.int8))], f"{name}_dq")


def _squash(g: _Graph, name: str, y: str) -> str:
    """1.7159 tanh(2a/3), the paper's squashing function."""
    y = g.op("Mul", [y, g.const(f"{name}/tanh_in", np.array(SQUASH_S, np.float32))], f"{name}/tanh_arg")
    y = g.op("Tanh", [y], f"{name}/tanh")
    return g.op("Mul", [y, g.const(f"{name}/tanh_out", np.array(SQUASH_A, np.float32))], f"{name}/squash")


def _field(g: _Graph, data: DataInfo) -> str:
    """pixels uint8 (N, 1, H, W) -> the 32x32 field, uint8 (N, 1, 32, 32), exactly as resample.to_field."""
    p = plan(data.input_size)
    if p.is_padding:
        pads = [0, 0, p.top, p.left, 0, 0, 32 - p.top - p.out_h, 32 - p.left - p.out_w]
        return g.op("Pad", [INPUT_NAME, g.const("input/pads", np.array(pads, np.int64)),
                            g.const("input/pad_value", np.array(data.background, np.uint8))], "input/padded")
    rows, cols, fill = matrices(data.input_size, data.background)
    x = g.op("Cast", [INPUT_NAME], "input/float", to=TensorProto.FLOAT)
    x = g.op("MatMul", [g.const("input/rows", rows), x], "input/row_sums")               # (N, 1, 32, W)
    x = g.op("MatMul", [x, g.const("input/cols", cols)], "input/block_sums")             # (N, 1, 32, 32)
    x = g.op("Add", [x, g.const("input/fill", fill + np.float32(p.block // 2))], "input/rounded_sums")
    if p.block > 1:
        x = g.op("Div", [x, g.const("input/block", np.array(p.block, np.float32))], "input/mean")
        x = g.op("Floor", [x], "input/floor")
    return g.op("Cast", [x], "input/field", to=TensorProto.UINT8)


def _walk(g: _Graph, layers: list, ops, data: DataInfo) -> str:
    """The graph body shared by both variants; `layers` are layer_plan.LayerPlan (float) or QLayer (int8)."""
    x = _field(g, data)                                                                   # (N, 1, 32, 32) uint8
    x = g.op("DequantizeLinear", [x, g.const("input/pixel_scale", np.array(PIXEL_SCALE, np.float32)),
                                  g.const("input/pixel_zero", np.array(PIXEL_ZERO_POINT, np.uint8))],
             "input/normalized")                                                         # 0.005 * pixel - 0.1
    x = ops.input(g, x)
    flat = False
    for layer in layers:
        if layer.kind == "linear" and not flat:  # (N, C3, 5, 5) -> (N, C3*25), flattened (C, H, W) like the weights
            x, flat = g.op("Flatten", [x], f"{layer.name}/flatten", axis=1), True
        x = ops.layer_input(g, layer, x)
        w, b = ops.parameters(g, layer)
        if layer.kind == "conv":
            y = g.op("Conv", [x, w, b], f"{layer.name}/conv", kernel_shape=[layer.kernel] * 2,
                     strides=[layer.stride] * 2, group=layer.groups)
        else:
            y = g.op("Gemm", [x, w, b], f"{layer.name}/gemm", transB=1)
        x = ops.activation(g, layer, y)
        if layer.pool == "max":
            x = g.op("MaxPool", [x], f"{layer.name}/maxpool", kernel_shape=[2, 2], strides=[2, 2])
    return x


def _model(g: _Graph, output: str, ops, name: str, metadata: dict[str, str], data: DataInfo) -> onnx.ModelProto:
    g.nodes.append(helper.make_node("Identity", [output], [OUTPUT_NAME], name="output"))
    graph = helper.make_graph(
        g.nodes, name,
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.UINT8, ["N", 1, *data.input_size])],
        [helper.make_tensor_value_info(OUTPUT_NAME, ops.logits_type, ["N", data.num_classes])],
        initializer=g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION,
                              producer_name="edgelenet", producer_version=__version__,
                              doc_string="LeNet-5 exported by edgelenet; see metadata_props")
    helper.set_model_props(model, metadata)
    onnx.checker.check_model(model, full_check=True)
    return model


def _metadata(arch: str, variant: str, source: str, checksum: str, data: DataInfo) -> dict[str, str]:
    return {
        "edgelenet.version": __version__,
        "edgelenet.variant": variant,
        "edgelenet.arch": arch,
        "edgelenet.source": source,           # a file name, never an absolute path: exports stay reproducible
        "edgelenet.source_sha256": checksum,
        "class_labels": json.dumps(list(data.classes)),
        "input_layout": input_layout(data),
        "edgelenet.dataset": json.dumps(data.dataset, sort_keys=True),
    }


def float_model_proto(config: ModelConfig, data: DataInfo, state: dict[str, np.ndarray], source: str,
                      checksum: str) -> onnx.ModelProto:
    """The float LeNet-5 from its state dict (an RBF head exported as its equivalent linear layer: same argmax,
    see docs/onnx.md). No torch: `state` holds numpy arrays under LeNet5.state_dict()'s names."""
    g, ops = _Graph(), _FloatOps()
    output = _walk(g, layer_plan(config, state), ops, data)
    metadata = _metadata(config.arch, "float", source, checksum, data)
    metadata["logits"] = f"float32 [N,{config.num_classes}]"
    return _model(g, output, ops, f"lenet5_{config.arch}_float", metadata, data)


def artifact_float_proto(qmodel: QuantizedModel, source: str) -> onnx.ModelProto:
    """The float model an artifact was quantized from, from the artifact's own float tensors."""
    config = ModelConfig(qmodel.arch, qmodel.head, tuple(qmodel.widths), qmodel.num_classes, qmodel.pool_activation)
    return float_model_proto(config, qmodel.data, qmodel.float_state, source, qmodel.checksum)


def checkpoint_float_proto(model: LeNet5, source: str, checksum: str) -> onnx.ModelProto:
    """The float model of a torch LeNet5 (a loaded checkpoint)."""
    from edgelenet.model import numpy_state

    return float_model_proto(model.config, model.data, numpy_state(model), source, checksum)


def int8_model_proto(qmodel: QuantizedModel, source: str) -> onnx.ModelProto:
    """The artifact's integer model in QDQ form; logits are int8, as the reference engine and the C engine give."""
    g, ops = _Graph(), _Int8Ops()
    output = _walk(g, qmodel.layers, ops, qmodel.data)
    metadata = _metadata(qmodel.arch, "int8", source, qmodel.checksum, qmodel.data)
    metadata["logits"] = f"int8 [N,{qmodel.num_classes}]: real = logits_scale * (logits - logits_zero_point)"
    metadata["logits_scale"] = repr(float(qmodel.logits.scale))
    metadata["logits_zero_point"] = str(int(qmodel.logits.zero_point))
    return _model(g, output, ops, f"lenet5_{qmodel.arch}_int8", metadata, qmodel.data)


def export_models(float_proto: onnx.ModelProto, qmodel: QuantizedModel | None, source: Path,
                  out: Path) -> list[Path]:
    """Write `<name>-float.onnx` (and `<name>-int8.onnx` for an artifact) into `out`, each file atomically."""
    name = source.stem.removesuffix("-int8")
    protos = [(f"{name}-float.onnx", float_proto)]
    if qmodel is not None:
        protos.append((f"{name}-int8.onnx", int8_model_proto(qmodel, source.name)))
    ensure_dir(out)
    return [write_bytes_atomic(out / filename, proto.SerializeToString()) for filename, proto in protos]
