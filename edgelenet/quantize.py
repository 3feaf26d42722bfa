"""Post-training int8 quantization: the float model plus calibration ranges -> a QuantizedModel.

This is the "Prepare" step: every float scale becomes an integer multiplier and shift here, every tanh a
lookup table, so that inference (reference.py, the C engine) needs no floating point. The scheme, with
formulas, is in docs/quantization.md:
- weights: int8 symmetric per output channel (per tensor with per_tensor=True), range [-127, 127];
- activations: int8 asymmetric per tensor, ranges from the calibration observer;
- biases: int32 at scale s_in * s_w[c];
- tanh: a 256-entry int8 table per layer, indexed by the int8 pre-activation;
- S2/S4 subsampling: a depthwise 2x2 stride-2 convolution whose four weights are the map's coefficient;
- input: q = pixel - 128 at scale 0.005, zero point -108 (exactly the float normalisation).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from calibration.collect import collect_ranges
from calibration.observers import Range, affine_int8
from edgelenet.artifact import QLayer, QParams, QuantizedModel
from edgelenet.errors import UserError
from edgelenet.intmath import quantize_multiplier, quantize_symmetric
from edgelenet.family import PIXEL_SCALE, SQUASH_A, SQUASH_S
from edgelenet.layer_plan import LayerPlan, layer_plan
from edgelenet.model import LeNet5, numpy_state

INPUT_QPARAMS = QParams(PIXEL_SCALE, -108)  # q = pixel - 128  <=>  x = 0.005 * (q + 108) = 0.005 * pixel - 0.1
ACC_LIMIT = 1 << 31


def model_layer_plan(model: LeNet5) -> list[LayerPlan]:
    """edgelenet.layer_plan.layer_plan for a torch model."""
    return layer_plan(model.config, numpy_state(model))


def weight_scales(weight: np.ndarray, per_tensor: bool) -> np.ndarray:
    """Symmetric scales so that max |w| maps to 127; an all-zero channel gets scale 1 (its weights stay 0)."""
    peak = np.abs(weight).reshape(len(weight), -1).max(axis=1)
    if per_tensor:
        peak = np.full_like(peak, peak.max())
    return np.where(peak > 0, peak / 127.0, 1.0)


def tanh_saturation(output_scale: float) -> float:
    """|a| beyond which A tanh(S a) lies within half an output step of +-A: wider pre-ranges waste levels."""
    return math.atanh(1.0 - output_scale / (2 * SQUASH_A)) / SQUASH_S


def tanh_table(pre: QParams, out: QParams) -> np.ndarray:
    """int8[256]: the squashed, requantized value for each int8 pre-activation q at index q + 128."""
    q = np.arange(-128, 128)
    a = pre.scale * (q - pre.zero_point)
    y = SQUASH_A * np.tanh(SQUASH_S * a)
    return np.clip(np.rint(y / out.scale) + out.zero_point, -128, 127).astype(np.int8)


def _qparams(rng: Range, name: str, notes: list[str]) -> QParams:
    lo, hi = min(rng.lo, 0.0), max(rng.hi, 0.0)
    if hi - lo <= 1e-12:
        notes.append(f"{name}: activations never vary on the calibration set (always 0); using range [0, 1]")
        lo, hi = 0.0, 1.0
    scale, zero_point = affine_int8(lo, hi)
    return QParams(scale, zero_point)


def _multipliers(real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pairs = [quantize_multiplier(float(r)) for r in real]
    return np.array([m for m, _ in pairs], np.int32), np.array([n for _, n in pairs], np.int8)


def quantize_layer(plan: LayerPlan, in_q: QParams, ranges: dict[str, Range], per_tensor: bool,
                   notes: list[str]) -> QLayer:
    w_scale = weight_scales(plan.weight, per_tensor)
    per_channel = w_scale.reshape(-1, *([1] * (plan.weight.ndim - 1)))
    weights = quantize_symmetric(plan.weight, per_channel)
    bias_real = np.rint(plan.bias / (in_q.scale * w_scale))
    fan_in = int(np.prod(weights.shape[1:]))
    if np.any(np.abs(bias_real) + fan_in * 255 * 127 >= ACC_LIMIT):
        raise UserError(f"{plan.name}: a bias is too large for an int32 accumulator at this weight scale")
    bias = bias_real.astype(np.int32)
    out_range = ranges[plan.output_point]
    pre = lut = None
    if plan.activation == "tanh":
        out_range = Range(max(out_range.lo, -SQUASH_A), min(out_range.hi, SQUASH_A))
        output = _qparams(out_range, f"{plan.name} output", notes)
        limit = tanh_saturation(output.scale)
        pre_range = ranges[plan.pre_point]
        pre = _qparams(Range(max(pre_range.lo, -limit), min(pre_range.hi, limit)), f"{plan.name} input of tanh", notes)
        lut = tanh_table(pre, output)
        target = pre
    else:
        if plan.activation == "relu":
            out_range = Range(0.0, out_range.hi)
        output = _qparams(out_range, f"{plan.name} output", notes)
        target = output
    multiplier, shift = _multipliers(in_q.scale * w_scale / target.scale)
    return QLayer(name=plan.name, kind=plan.kind, in_shape=plan.in_shape, out_shape=plan.out_shape, input=in_q,
                  output=output, activation=plan.activation, weights=weights, weight_scales=w_scale, bias=bias,
                  multiplier=multiplier, shift=shift, kernel=plan.kernel, stride=plan.stride, groups=plan.groups,
                  pool=plan.pool, pre=pre, lut=lut, connections=plan.connections)


def quantize_model(model: LeNet5, calibration_images: np.ndarray, method: str = "minmax", per_tensor: bool = False,
                   calibration_info: dict | None = None) -> tuple[QuantizedModel, list[str]]:
    """The int8 model, plus notes (warnings) about degenerate ranges."""
    model.eval()
    plans = model_layer_plan(model)
    ranges = collect_ranges(model, calibration_images, method)
    notes: list[str] = []
    layers, in_q = [], INPUT_QPARAMS
    for plan in plans:
        layer = quantize_layer(plan, in_q, ranges, per_tensor, notes)
        layers.append(layer)
        in_q = layer.output
    state = {k: v.detach().float().numpy().copy() for k, v in model.state_dict().items()}
    info = dict(calibration_info or {}, method=method, per_tensor=per_tensor, size=int(len(calibration_images)))
    for note in notes:
        warnings.warn(note, stacklevel=2)
    qmodel = QuantizedModel(model.config.arch, model.config.head, INPUT_QPARAMS, layers, state, info,
                            widths=model.config.widths, data=model.data,
                            pool_activation=model.config.pool_activation)
    return qmodel, notes
