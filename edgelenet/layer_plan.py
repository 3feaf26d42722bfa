"""The weighted layers of a float LeNet-5, read from its configuration and state dict; no torch here.

Both the quantizer (edgelenet/quantize.py, with a torch model's state) and the float ONNX export (with an
artifact's `float_state`, so that `export-onnx` of an artifact never imports torch) walk this list. The state
holds float arrays under the names `LeNet5.state_dict()` uses (`c1.weight`, `s2.coefficient`, ...); every
plan array is float64, and the layers that are not plain convolutions are written as one:

- S2/S4 subsampling: coefficient * (sum of a 2x2 block) + bias == a depthwise 2x2 stride-2 convolution whose
  four weights are the map's coefficient;
- classic C3: the kernel times the connection mask (family.c3_connections), zero where a map is not read;
- the RBF head: the linear layer with the same argmax (-y_i + |x|^2 = 2 w_i.x - |w_i|^2, docs/onnx.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgelenet.family import ModelConfig, c3_connections, prototype_rows


@dataclass
class LayerPlan:
    """One weighted layer of the float model and the recorded tensors that calibrate it."""
    name: str
    kind: str
    weight: np.ndarray
    bias: np.ndarray
    in_shape: list[int]
    out_shape: list[int]
    activation: str
    input_point: str
    output_point: str
    pre_point: str | None = None
    kernel: int = 1
    stride: int = 1
    groups: int = 1
    pool: str = "none"
    connections: np.ndarray | None = None


def c3_mask(c1: int, c3: int, table: bool) -> np.ndarray:
    """(C3, C1, 1, 1) float64: 1 where C3 map i reads S2 map j, else 0."""
    mask = np.zeros((c3, c1, 1, 1))
    for out_map, inputs in enumerate(c3_connections(c1, c3, table)):
        mask[out_map, list(inputs)] = 1.0
    return mask


def rbf_as_linear() -> tuple[np.ndarray, np.ndarray]:
    """The RBF head as a linear layer: weights (10, 84) 2 w_i and bias (10,) -|w_i|^2 (same argmax)."""
    prototypes = np.array(prototype_rows())
    return 2.0 * prototypes, -np.square(prototypes).sum(axis=1)


def layer_plan(config: ModelConfig, state: dict[str, np.ndarray]) -> list[LayerPlan]:
    """The weighted layers in execution order, with the names `LeNet5.forward` records them under."""
    f64 = {name: np.asarray(value, dtype=np.float64) for name, value in state.items()}
    c1, c3, c5, f6 = config.widths
    if config.arch == "modern":
        plan = [
            LayerPlan("C1", "conv", f64["c1.weight"], f64["c1.bias"], [1, 32, 32], [c1, 14, 14],
                      "relu", "input", "s2.out", kernel=5, pool="max"),
            LayerPlan("C3", "conv", f64["c3.weight"], f64["c3.bias"], [c1, 14, 14], [c3, 5, 5],
                      "relu", "s2.out", "s4.out", kernel=5, pool="max"),
        ]
        act = "relu"
    else:
        mask = c3_mask(c1, c3, config.c3_table)
        plan = [
            LayerPlan("C1", "conv", f64["c1.weight"], f64["c1.bias"], [1, 32, 32], [c1, 28, 28],
                      "tanh", "input", "c1.out", "c1.pre", kernel=5),
            _subsampling("S2", f64, [c1, 28, 28], "c1.out", "s2", config.pool_activation),
            LayerPlan("C3", "conv", f64["c3.weight"] * mask, f64["c3.bias"], [c1, 14, 14], [c3, 10, 10],
                      "tanh", "s2.out", "c3.out", "c3.pre", kernel=5, connections=mask[:, :, 0, 0].astype(np.uint8)),
            _subsampling("S4", f64, [c3, 10, 10], "c3.out", "s4", config.pool_activation),
        ]
        act = "tanh"
    pre = (lambda name: f"{name}.pre") if act == "tanh" else (lambda name: None)
    if config.head == "rbf":
        out_weight, out_bias = rbf_as_linear()
    else:
        out_weight, out_bias = f64["output.weight"], f64["output.bias"]
    return plan + [
        LayerPlan("C5", "linear", f64["c5.weight"].reshape(c5, -1), f64["c5.bias"], [c3 * 25], [c5],
                  act, "s4.out", "c5.out", pre("c5")),
        LayerPlan("F6", "linear", f64["f6.weight"], f64["f6.bias"], [c5], [f6], act, "c5.out", "f6.out", pre("f6")),
        LayerPlan("OUTPUT", "linear", out_weight, out_bias, [f6], [config.num_classes], "none", "f6.out",
                  "output.out"),
    ]


def _subsampling(name: str, f64: dict[str, np.ndarray], in_shape: list[int], input_point: str, point: str,
                 pool_activation: str) -> LayerPlan:
    """S2/S4 as a depthwise 2x2 stride-2 convolution of equal weights; then tanh (the paper's squash) or, for
    pool_activation "none", a plain requantization."""
    maps = in_shape[0]
    weight = f64[f"{point}.coefficient"].reshape(maps, 1, 1, 1).repeat(2, axis=2).repeat(2, axis=3)
    squash = pool_activation == "squash"
    return LayerPlan(name, "conv", weight, f64[f"{point}.bias"], in_shape, [maps, in_shape[1] // 2, in_shape[2] // 2],
                     "tanh" if squash else "none", input_point, f"{point}.out", f"{point}.pre" if squash else None,
                     kernel=2, stride=2, groups=maps)
