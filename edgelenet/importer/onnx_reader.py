"""Read an ONNX file into a Chain (ops.py), without running anything from it.

The file is untrusted: onnx_file.py opens it (size bound, checker, side files); here only a fixed list of
standard-domain operators is read and constant tensors are decoded with onnx.numpy_helper. The graph must be
a straight chain from one input to one output: each node reads the single live tensor plus constants
(shape arithmetic on constants is evaluated by onnx_consts.py).

Layout: a 4D tensor carries `perm`, the canonical (N, C, H, W) axes in the order the tensor stores them:
(0, 1, 2, 3) for NCHW, (0, 2, 3, 1) for NHWC (Keras via tf2onnx). Transpose updates it; Conv and pooling
need NCHW; a Flatten/Reshape records it so that lower.py reorders the next Gemm's columns.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgelenet.errors import UserError
from edgelenet.importer.onnx_consts import fold_constant
from edgelenet.importer.onnx_file import load_model
from edgelenet.importer.ops import Act, Affine, Chain, Conv, Dense, Flatten, Pool, Softmax

NCHW = (0, 1, 2, 3)
ACTIVATIONS = {"Relu": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid"}
SKIPPED = ("Identity", "Dropout")
FLOAT_TYPES = (1, 11)  # FLOAT, DOUBLE


class _Reader:
    """State of the walk: constants by name, the live tensor's name, shape and layout."""

    def __init__(self, graph):
        from onnx import numpy_helper

        self.to_array = numpy_helper.to_array
        self.consts = {t.name: self._decode(t) for t in graph.initializer}
        self.ops: list = []
        self.live, self.shape, self.perm = None, None, NCHW
        self.flat_order = None  # the (C, H, W) walk of the last Flatten, until the next Gemm
        self.shapes: dict = {}  # stored shape of every tensor that has been live (for Shape nodes)

    def _decode(self, tensor) -> np.ndarray:
        try:
            return np.asarray(self.to_array(tensor))
        except (ValueError, TypeError) as exc:
            raise UserError(f"constant {tensor.name!r} cannot be decoded ({exc})") from None

    def const(self, node, index: int, dtype=np.float64) -> np.ndarray:
        name = node.input[index] if index < len(node.input) else ""
        if name not in self.consts:
            raise UserError(f"{node.op_type} {node.name!r}: input {index} must be a constant")
        value = self.consts[name]
        if value.dtype.kind not in ("f" if dtype is np.float64 else "iu"):
            raise UserError(f"{node.op_type} {node.name!r}: constant {name!r} of type {value.dtype} is not supported")
        with np.errstate(all="ignore"):
            finite = np.all(np.isfinite(value.astype(np.float64)))
        if not finite:
            raise UserError(f"{node.op_type} {node.name!r}: constant {name!r} holds NaN or infinity")
        return value.astype(dtype)


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _input_geometry(graph, initializers: set) -> tuple[str, tuple, tuple]:
    """(name, (H, W), perm) of the one non-constant float input [N,1,H,W] or [N,H,W,1]."""
    inputs = [i for i in graph.input if i.name not in initializers]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise UserError(f"the graph has {len(inputs)} inputs and {len(graph.output)} outputs; LeNet-5 has one each")
    tensor = inputs[0].type.tensor_type
    if tensor.elem_type not in FLOAT_TYPES:
        raise UserError(f"input {inputs[0].name!r} must be float, not ONNX type {tensor.elem_type}")
    dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
    if len(dims) == 4 and dims[1] == 1 and dims[2] and dims[3]:
        return inputs[0].name, (dims[2], dims[3]), NCHW
    if len(dims) == 4 and dims[3] == 1 and dims[1] and dims[2]:
        return inputs[0].name, (dims[1], dims[2]), (0, 2, 3, 1)
    shown = "x".join("?" if d is None else str(d) for d in dims)
    raise UserError(f"input shape {shown} is not supported: give one grayscale image, [N,1,H,W] or [N,H,W,1]")


def _pads(node, attrs: dict, kernel: int) -> int:
    """The one padding of all four sides (asymmetric padding is not LeNet-5)."""
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        return (kernel - 1) // 2
    if auto == "VALID":
        return 0
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    if len(set(pads)) > 1:
        raise UserError(f"{node.op_type} {node.name!r}: asymmetric padding {pads} is not supported")
    return pads[0] if pads else 0


def _need_nchw(reader: _Reader, node) -> None:
    if reader.perm != NCHW or len(reader.shape) != 3:
        raise UserError(f"{node.op_type} {node.name!r}: expects an NCHW image tensor here (layout {reader.perm})")


def _conv(reader: _Reader, node, attrs: dict) -> None:
    _need_nchw(reader, node)
    weight = reader.const(node, 1)
    if weight.ndim != 4 or weight.shape[1] != reader.shape[0] or weight.shape[2] != weight.shape[3]:
        raise UserError(f"Conv {node.name!r}: weight {weight.shape} does not fit its input {reader.shape}")
    if attrs.get("group", 1) != 1 or set(attrs.get("strides", [1])) != {1} or set(attrs.get("dilations", [1])) != {1}:
        raise UserError(f"Conv {node.name!r}: groups, strides and dilations other than 1 are not supported")
    kernel = weight.shape[2]
    pad = _pads(node, attrs, kernel)
    bias = reader.const(node, 2) if len(node.input) > 2 and node.input[2] else np.zeros(weight.shape[0])
    if bias.size != weight.shape[0]:
        raise UserError(f"Conv {node.name!r}: bias of {bias.size} values for {weight.shape[0]} maps")
    reader.ops.append(Conv(weight, bias.reshape(-1), pad, node.name))
    _, h, w = reader.shape
    reader.shape = (weight.shape[0], h + 2 * pad - kernel + 1, w + 2 * pad - kernel + 1)
    if min(reader.shape[1:]) < 1:
        raise UserError(f"Conv {node.name!r}: a {kernel}x{kernel} kernel does not fit a {h}x{w} input")


def _pool(reader: _Reader, node, attrs: dict) -> None:
    _need_nchw(reader, node)
    _, h, w = reader.shape
    if (list(attrs.get("kernel_shape", [])) != [2, 2] or list(attrs.get("strides", [1, 1])) != [2, 2]
            or _pads(node, attrs, 2) or set(attrs.get("dilations", [1])) != {1} or h % 2 or w % 2):
        raise UserError(f"{node.op_type} {node.name!r}: only 2x2 pooling with stride 2 on even sizes is supported "
                        f"(kernel {list(attrs.get('kernel_shape', []))}, strides {list(attrs.get('strides', []))}, "
                        f"input {h}x{w})")
    reader.ops.append(Pool("max" if node.op_type == "MaxPool" else "avg", node.name))
    reader.shape = (reader.shape[0], h // 2, w // 2)


def _dense(reader: _Reader, node, attrs: dict) -> None:
    if len(reader.shape) != 1 or node.input[0] != reader.live:
        raise UserError(f"{node.op_type} {node.name!r}: expects a flattened input first, got shape {reader.shape}")
    b = reader.const(node, 1)
    if node.op_type == "Gemm":
        if attrs.get("transA", 0):
            raise UserError(f"Gemm {node.name!r}: transA is not supported")
        b = attrs.get("alpha", 1.0) * (b.T if attrs.get("transB", 0) else b)
    weight = b.T  # (out, in)
    if weight.ndim != 2 or weight.shape[1] != reader.shape[0]:
        raise UserError(f"{node.op_type} {node.name!r}: weight {b.shape} does not fit {reader.shape[0]} inputs")
    bias = np.zeros(weight.shape[0])
    if node.op_type == "Gemm" and len(node.input) > 2 and node.input[2]:
        c = reader.const(node, 2)
        if c.size not in (1, weight.shape[0]):
            raise UserError(f"Gemm {node.name!r}: bias of shape {c.shape} for {weight.shape[0]} outputs")
        bias = np.broadcast_to(attrs.get("beta", 1.0) * c.reshape(-1), (weight.shape[0],)).copy()
    reader.ops.append(Dense(np.ascontiguousarray(weight), bias.copy(), node.name))
    reader.flat_order = None
    reader.shape = (weight.shape[0],)


def _channel_vector(reader: _Reader, node, value: np.ndarray) -> np.ndarray:
    """A constant operand as a scalar, or one value per channel (C) / feature (F) of the live tensor."""
    if value.size == 1:
        return value.reshape(())
    if len(reader.shape) == 1:
        if value.shape[-1] == reader.shape[0] and value.size == reader.shape[0]:
            if reader.flat_order not in (None, (0, 1, 2)):
                raise UserError(f"{node.op_type} {node.name!r}: per-feature constants after an NHWC Flatten")
            return value.reshape(-1)
    else:
        channel_axis = reader.perm.index(1)
        dims = (1,) * (4 - value.ndim) + value.shape
        if value.ndim <= 4 and dims[channel_axis] == reader.shape[0] and value.size == reader.shape[0]:
            return value.reshape(-1)
    raise UserError(f"{node.op_type} {node.name!r}: constant of shape {value.shape} does not broadcast per channel")


def _arith(reader: _Reader, node, attrs: dict) -> None:
    live_first = node.input[0] == reader.live
    if (node.input[1] == reader.live) == live_first:
        raise UserError(f"{node.op_type} {node.name!r}: needs the data and one constant")
    value = _channel_vector(reader, node, reader.const(node, 1 if live_first else 0))
    kind, one, zero = node.op_type, np.ones_like(value), np.zeros_like(value)
    if kind == "Div" and not live_first:
        raise UserError(f"Div {node.name!r}: dividing by the data is not supported")
    if kind == "Div" and np.any(value == 0):
        raise UserError(f"Div {node.name!r}: division by zero")
    scale, offset = {"Mul": (value, zero), "Div": (1.0 / np.where(value == 0, 1, value), zero), "Add": (one, value),
                     "Sub": (one, -value) if live_first else (-one, value)}[kind]
    reader.ops.append(Affine(scale, offset, node.name))


def _batchnorm(reader: _Reader, node, attrs: dict) -> None:
    if attrs.get("training_mode", 0):
        raise UserError(f"BatchNormalization {node.name!r}: training mode is not supported")
    gamma, beta, mean, var = (reader.const(node, i).reshape(-1) for i in range(1, 5))
    if len(reader.shape) == 3:
        _need_nchw(reader, node)
    eps = attrs.get("epsilon", 1e-5)
    if not all(v.size == reader.shape[0] for v in (gamma, beta, mean, var)) or np.any(var + eps <= 0):
        raise UserError(f"BatchNormalization {node.name!r}: statistics do not fit {reader.shape[0]} channels")
    scale = gamma / np.sqrt(var + eps)
    reader.ops.append(Affine(scale, beta - mean * scale, node.name))


def _flatten_to(reader: _Reader, node) -> None:
    if len(reader.shape) == 3:
        order = tuple(p - 1 for p in reader.perm[1:])
        reader.ops.append(Flatten(order, reader.shape, node.name))
        reader.flat_order = order
        reader.shape = (int(np.prod(reader.shape)),)


def _flatten(reader: _Reader, node, attrs: dict) -> None:
    if attrs.get("axis", 1) != 1:
        raise UserError(f"Flatten {node.name!r}: only axis 1 (keep the batch axis) is supported")
    _flatten_to(reader, node)


def _live_shape(reader: _Reader) -> np.ndarray:
    """Shape of the live tensor as stored, with the batch size written as 1 (the shape of one image)."""
    if len(reader.shape) == 1:
        return np.array([1, reader.shape[0]], dtype=np.int64)
    canonical = (1,) + tuple(reader.shape)
    return np.array([canonical[axis] for axis in reader.perm], dtype=np.int64)


def _relayout(reader: _Reader, node, target: list) -> None:
    """A 4D Reshape that only moves axes of size 1 (NHWC <-> NCHW of one channel) is a Transpose."""
    stored = _live_shape(reader)
    if len(target) != 4 or target[0] not in (-1, 0, 1) or sorted(target[1:]) != sorted(stored[1:].tolist()):
        raise UserError(f"Reshape {node.name!r}: target shape {target} of {stored.tolist()} is not supported")
    big = [axis for axis in reader.perm[1:] if (1,) + tuple(reader.shape) and stored[reader.perm.index(axis)] > 1]
    ones = [axis for axis in reader.perm[1:] if axis not in big]
    if [d for d in target[1:] if d > 1] != [int(stored[reader.perm.index(a)]) for a in big]:
        raise UserError(f"Reshape {node.name!r}: target shape {target} reorders the data; not supported")
    big_iter, ones_iter = iter(big), iter(ones)
    reader.perm = (0,) + tuple(next(big_iter) if d > 1 else next(ones_iter) for d in target[1:])


def _reshape(reader: _Reader, node, attrs: dict) -> None:
    target = [int(v) for v in reader.const(node, 1, np.int64).reshape(-1)]
    if len(target) == 4 and len(reader.shape) == 3:
        _relayout(reader, node, target)
        return
    features = int(np.prod(reader.shape))
    # [N, F], [N, -1], [-1, F], [0, -1]: the batch axis stays (N may be fixed at export time)
    if len(target) != 2 or target[1] not in (-1, features) or target[0] < -1 or target == [-1, -1]:
        raise UserError(f"Reshape {node.name!r}: target shape {target} is not a flatten to [N, {features}]")
    _flatten_to(reader, node)


def _transpose(reader: _Reader, node, attrs: dict) -> None:
    perm = tuple(attrs.get("perm", []))
    if len(reader.shape) != 3 or sorted(perm) != [0, 1, 2, 3] or perm[0] != 0:
        raise UserError(f"Transpose {node.name!r}: permutation {list(perm)} of shape {reader.shape} is not supported")
    reader.perm = tuple(reader.perm[p] for p in perm)


def _softmax(reader: _Reader, node, attrs: dict) -> None:
    if len(reader.shape) != 1 or attrs.get("axis", -1) not in (1, -1):
        raise UserError(f"{node.op_type} {node.name!r}: only a softmax over the classes of [N, classes] is supported")
    reader.ops.append(Softmax(node.op_type, node.name))


HANDLERS = {"Conv": _conv, "MaxPool": _pool, "AveragePool": _pool, "Gemm": _dense, "MatMul": _dense,
            "Add": _arith, "Sub": _arith, "Mul": _arith, "Div": _arith, "BatchNormalization": _batchnorm,
            "Flatten": _flatten, "Reshape": _reshape, "Transpose": _transpose, "Softmax": _softmax,
            "LogSoftmax": _softmax}


def _step(reader: _Reader, node) -> None:
    attrs = _attrs(node)
    if node.domain not in ("", "ai.onnx"):
        raise UserError(f"unsupported ONNX op {node.domain}.{node.op_type} (node {node.name!r})")
    if node.op_type == "Constant":
        if "value" not in attrs:
            raise UserError(f"Constant {node.name!r}: only tensor constants are supported")
        reader.consts[node.output[0]] = reader._decode(attrs["value"])
        return
    reader.shapes[reader.live] = _live_shape(reader)
    if node.op_type == "Shape" and len(node.input) == 1 and node.input[0] in reader.shapes and not attrs:
        reader.consts[node.output[0]] = reader.shapes[node.input[0]]
        return
    if all(name in reader.consts for name in node.input if name):
        reader.consts[node.output[0]] = fold_constant(node, attrs, [reader.consts[n] for n in node.input if n])
        return
    if reader.live not in node.input:
        raise UserError(f"{node.op_type} {node.name!r} does not read the network's data path: not a plain chain")
    if node.op_type in SKIPPED or (node.op_type == "Cast" and attrs.get("to") in FLOAT_TYPES):
        pass
    elif node.op_type in ACTIVATIONS:
        reader.ops.append(Act(ACTIVATIONS[node.op_type], node.name))
    elif node.op_type in HANDLERS:
        HANDLERS[node.op_type](reader, node, attrs)
    else:
        raise UserError(f"unsupported ONNX op {node.op_type} (node {node.name!r})")
    reader.live = node.output[0]


def read_onnx(path: Path) -> Chain:
    """Chain of the network in an ONNX file (opset-independent attributes only)."""
    graph = load_model(path).graph
    reader = _Reader(graph)
    name, size, perm = _input_geometry(graph, set(reader.consts))
    reader.live, reader.shape, reader.perm = name, (1,) + size, perm
    for node in graph.node:
        _step(reader, node)
    if reader.live != graph.output[0].name:
        raise UserError(f"the graph output {graph.output[0].name!r} is not the end of the network's chain")
    return Chain(size, reader.ops, origin="onnx")

