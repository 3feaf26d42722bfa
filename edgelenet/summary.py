"""Per-layer table of LeNet-5: output shape, trainable parameters, connections and multiply-accumulates.

Definitions (the paper's): a connection is one input (or the bias) feeding one output unit; parameters shared
between units count once. MACs are the connections that multiply an input by a weight, i.e. connections
minus bias connections; max pooling has no MACs. With the paper's RBF output, `classic` gives the paper's
totals: 60,000 trainable parameters and 340,908 connections.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from torch import nn

from edgelenet.model import LeNet5, PartialConv2d, RBFOutput, Subsampling

LAYER_NAMES = ("C1", "S2", "C3", "S4", "C5", "F6", "OUTPUT")


@dataclass(frozen=True)
class LayerRow:
    name: str
    kind: str
    output_shape: list[int]
    params: int
    connections: int
    macs: int


def _conv_row(name: str, conv: nn.Conv2d, out_shape: list[int]) -> LayerRow:
    units = out_shape[1] * out_shape[2]  # units per map
    if isinstance(conv, PartialConv2d):
        inputs_per_map = conv.mask.flatten(1).sum(1) * conv.kernel_size[0] * conv.kernel_size[1]
        kernel_weights = int(inputs_per_map.sum())
        kind = "conv (partial, C3 table)" if int(conv.mask.sum()) < conv.mask.numel() else "conv"
    else:
        kernel_weights = conv.weight.numel()
        kind = "conv"
    params = kernel_weights + conv.out_channels
    return LayerRow(name, kind, out_shape, params, params * units, kernel_weights * units)


def _pool_row(name: str, pool: nn.Module, out_shape: list[int], squashed: bool = True) -> LayerRow:
    units = out_shape[0] * out_shape[1] * out_shape[2]
    if isinstance(pool, Subsampling):
        return LayerRow(name, "subsampling 2x2" + (", no activation" if not squashed else ""), out_shape,
                        2 * out_shape[0], 5 * units, 4 * units)
    return LayerRow(name, "max pool 2x2", out_shape, 0, 4 * units, 0)


def layer_table(model: LeNet5) -> list[LayerRow]:
    c1, c3, c5, f6 = model.config.widths
    classes = model.config.num_classes
    rows = [
        _conv_row("C1", model.c1, [c1, 28, 28]),
        _pool_row("S2", model.s2, [c1, 14, 14], model.config.pool_activation == "squash"),
        _conv_row("C3", model.c3, [c3, 10, 10]),
        _pool_row("S4", model.s4, [c3, 5, 5], model.config.pool_activation == "squash"),
        _conv_row("C5", model.c5, [c5, 1, 1]),
    ]
    weights = model.f6.weight.numel()
    rows.append(LayerRow("F6", "full", [f6], weights + f6, weights + f6, weights))
    if isinstance(model.output, RBFOutput):
        rows.append(LayerRow("OUTPUT", "Euclidean RBF (fixed)", [classes], 0, classes * f6, classes * f6))
    else:
        weights = classes * f6
        rows.append(LayerRow("OUTPUT", "full + softmax", [classes], weights + classes, weights + classes, weights))
    return rows


WEIGHT_BYTES_NOTE = ("int8 weights (1 byte each) and int32 biases (4 bytes each): the parameter tables of the "
                     "int8 engine; export-c reports the exact flash, with code and requantization words")


def int8_weight_bytes(model: LeNet5, rows: list[LayerRow]) -> int:
    c1, c3, c5, f6 = model.config.widths
    biases = c1 + c3 + c5 + f6 + model.config.num_classes
    if model.config.arch == "classic":
        biases += c1 + c3   # S2 / S4: one bias per map (their coefficient is the map's weight)
    return sum(row.params for row in rows) + 3 * biases


def summary_dict(model: LeNet5) -> dict:
    rows = layer_table(model)
    return {
        "arch": model.config.arch,
        "head": model.config.head,
        "widths": list(model.config.widths),
        "classes": model.config.num_classes,
        "layers": [asdict(row) for row in rows],
        "total_params": sum(row.params for row in rows),
        "total_connections": sum(row.connections for row in rows),
        "total_macs": sum(row.macs for row in rows),
        "int8_weight_bytes": int8_weight_bytes(model, rows),
        "int8_weight_bytes_note": WEIGHT_BYTES_NOTE,
        **({"pool_activation": model.config.pool_activation} if model.config.arch == "classic" else {}),
    }
