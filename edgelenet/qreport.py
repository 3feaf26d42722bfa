"""The quantization report: per layer, the chosen scales and zero points, the fraction of calibration
values clipped by each range, and the signal-to-quantization-noise ratio of the int8 tensors (as computed
by the integer reference engine) against the float model's tensors at the same points."""

from __future__ import annotations

import numpy as np
import torch

from edgelenet import reference
from edgelenet.artifact import QParams, QuantizedModel
from edgelenet.model import float_model_of
from edgelenet.quantize import model_layer_plan


def sqnr_db(signal: np.ndarray, approx: np.ndarray) -> float:
    noise = np.sum((signal - approx) ** 2)
    power = np.sum(signal ** 2)
    return float("inf") if noise == 0 else float(10 * np.log10(max(power, 1e-30) / noise))


def clipped_fraction(values: np.ndarray, q: QParams) -> float:
    lo, hi = q.scale * (-128 - q.zero_point), q.scale * (127 - q.zero_point)
    return float(np.mean((values < lo - q.scale / 2) | (values > hi + q.scale / 2)))


def layer_report(qmodel: QuantizedModel, images: np.ndarray) -> list[dict]:
    model = float_model_of(qmodel)
    float_record: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        model.forward_pixels(torch.from_numpy(images), record=float_record)
    int_record: dict[str, np.ndarray] = {}
    reference.run(qmodel, reference.prepare_input(images, qmodel.data.input_size, qmodel.data.background), int_record)
    rows = []
    for plan, layer in zip(model_layer_plan(model), qmodel.layers):
        row = {"layer": layer.name, "activation": layer.activation,
               "weight_scale_min": float(layer.weight_scales.min()), "weight_scale_max": float(layer.weight_scales.max()),
               "output_scale": layer.output.scale, "output_zero_point": layer.output.zero_point}
        points = [("output", plan.output_point, layer.output, f"{layer.name}.out")]
        if layer.pre is not None:
            row.update(pre_scale=layer.pre.scale, pre_zero_point=layer.pre.zero_point)
            points.append(("pre", plan.pre_point, layer.pre, f"{layer.name}.pre"))
        for label, point, q, key in points:
            f = float_record[point].numpy().astype(np.float64).reshape(len(images), -1)
            approx = reference.dequantize(int_record[key], q.scale, q.zero_point).reshape(len(images), -1)
            row[f"{label}_clipped"] = clipped_fraction(f, q)
            row[f"{label}_sqnr_db"] = sqnr_db(f, approx)
        rows.append(row)
    return rows
