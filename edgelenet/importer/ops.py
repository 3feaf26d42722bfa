"""The importer's intermediate form: a foreign network as a straight chain of a few kinds of operation.

Both readers (ONNX graphs, PyTorch state dicts) produce a `Chain`; `lower.py` rewrites it into edgelenet's
own layers. Arrays are float64 so that the folds in lower.py add no rounding of their own; the checkpoint
stores float32.

Tensor layout: 4D tensors are (N, C, H, W); `shape` fields give (C, H, W) or (F,) without the batch axis.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Conv:
    """Square 5x5 convolution, stride 1, `pad` zeros on every side: weight (O, I, 5, 5), bias (O,)."""
    weight: np.ndarray
    bias: np.ndarray
    pad: int
    source: str


@dataclass
class Dense:
    """y = W x + b: weight (out, in), bias (out,)."""
    weight: np.ndarray
    bias: np.ndarray
    source: str


@dataclass
class Subsample:
    """LeNet-5's S2/S4: per map, coefficient * (sum of a 2x2 block) + bias; average pooling is (1/4, 0)."""
    coefficient: np.ndarray
    bias: np.ndarray
    source: str


@dataclass
class Act:
    """Elementwise nonlinearity: relu, tanh, sigmoid, or squash (LeNet-5's 1.7159 tanh(2a/3))."""
    kind: str
    source: str


@dataclass
class Pool:
    """2x2 stride-2 pooling, kind max or avg."""
    kind: str
    source: str


@dataclass
class Affine:
    """y = scale * x + offset, per channel (arrays of length C or F) or for every element (shape ())."""
    scale: np.ndarray
    offset: np.ndarray
    source: str


@dataclass
class Flatten:
    """(C, H, W) -> (C*H*W,). `order` lists the axes of (C, H, W) in the order the flattened vector walks
    them: (0, 1, 2) for NCHW (PyTorch), (1, 2, 0) for NHWC (Keras)."""
    order: tuple
    shape: tuple
    source: str


@dataclass
class Softmax:
    """Softmax or LogSoftmax over the classes: monotonic, so the logits before it decide the label."""
    kind: str
    source: str


LINEAR = (Conv, Dense, Subsample)


@dataclass
class Chain:
    """A foreign network: input geometry, the normalization ahead of C1, and its operations in order.

    `input_affine` maps the graph's input tensor u to what C1 reads (in-graph normalization); the declared
    normalization (command line) maps a uint8 pixel to u.
    """
    input_size: tuple                     # (H, W) of the network input
    ops: list
    input_affine: tuple = (1.0, 0.0)      # (scale, offset) applied to the graph input before C1
    origin: str = ""                      # "onnx" or "state_dict"
    notes: list = field(default_factory=list)


def describe(op) -> str:
    """Short name of an operation for error messages."""
    label = {Conv: "Conv", Dense: "Gemm/Linear", Subsample: "AveragePool", Pool: "Pool", Act: "activation",
             Affine: "Mul/Add", Flatten: "Flatten", Softmax: "Softmax"}[type(op)]
    if isinstance(op, Act):
        label = op.kind.capitalize()
    elif isinstance(op, Pool):
        label = "MaxPool" if op.kind == "max" else "AveragePool"
    return f"{label} {op.source!r}" if op.source else label
