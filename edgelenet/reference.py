"""The integer reference engine: executes a quantized-model artifact on a batch with numpy.

It is the executable specification of the C engine: every value it produces is what the firmware computes,
to the bit. Per layer (shapes for one image; the batch is the leading axis):

    acc[c]  = bias[c] + sum_k (x[k] - z_in) * w[c, k]                   int32, exact
    pre[c]  = requantize(acc[c], m[c], n[c])                             intmath.requantize
    y       = lut[clamp(pre + z_pre) + 128]                   (tanh)
            | clamp(pre + z_out, lower=z_out)                 (relu: the clamp is the ReLU)
            | clamp(pre + z_out)                              (none)
    y       = max over 2x2 blocks                             (pool == "max")

The sums run in floating-point matrix products for speed, which is exact: every term and every partial sum is
an integer of magnitude at most fan_in * 255 * 127. While that bound is below 2^24 (fan-in < 518: the paper's
widths) float32 represents all such integers exactly, in any summation order; wider layers of the family
(fan-in up to 64 * 25 or 1024) sum in float64, exact below 2^53 (`_sum_dtype`).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from edgelenet.artifact import QLayer, QuantizedModel
from edgelenet.intmath import requantize, saturate_int8
from edgelenet.resample import to_field

FLOAT32_EXACT = 1 << 24
FLOAT64_EXACT = 1 << 53
CHUNK = 1000  # images per slice: keeps the C1 patch matrix near 100 MB


def prepare_input(pixels: np.ndarray, input_size=(28, 28), background: int = 0) -> np.ndarray:
    """uint8 (N, H, W) pixels -> int8 (N, 1, 32, 32): the field of edgelenet/resample.py, q = pixel - 128.

    With scale 0.005 and zero point -108 this is exactly the float model's 0.005 * pixel - 0.1.
    MNIST (the defaults): the 28x28 image with a 2-pixel border of background 0 (q = -128).
    """
    field = to_field(pixels, input_size, background)
    return (field.astype(np.int16) - 128).astype(np.int8)[:, None]


def _sum_dtype(fan_in: int):
    """The narrowest float type that sums fan_in products of |x - z| <= 255 and |w| <= 127 exactly."""
    bound = fan_in * 255 * 127
    if bound < FLOAT32_EXACT:
        return np.float32
    assert bound < FLOAT64_EXACT, "float64 would not be exact for this fan-in"
    return np.float64


def _accumulate(layer: QLayer, x: np.ndarray) -> np.ndarray:
    """int64 accumulators (N, Cout, H, W) or (N, Cout) for int8 input x (N, *in_shape)."""
    dtype = _sum_dtype(int(np.prod(layer.weights.shape[1:])))
    xz = x.astype(dtype) - dtype(layer.input.zero_point)
    w = layer.weights.astype(dtype)
    if layer.kind == "linear":
        acc = xz.reshape(len(x), -1) @ w.T                                    # (N, Cout)
        return np.rint(acc).astype(np.int64) + layer.bias.astype(np.int64)
    k, s, g = layer.kernel, layer.stride, layer.groups
    patches = sliding_window_view(xz, (k, k), axis=(2, 3))[:, :, ::s, ::s]    # (N, Cin, Ho, Wo, k, k)
    n, cin, ho, wo = patches.shape[:4]
    cout = w.shape[0]
    patches = patches.reshape(n, g, cin // g, ho, wo, k, k)
    w = w.reshape(g, cout // g, cin // g, k, k)
    acc = np.einsum("ngchwij,gocij->ngohw", patches, w, optimize=True).reshape(n, cout, ho, wo)
    return np.rint(acc).astype(np.int64) + layer.bias.astype(np.int64)[:, None, None]


def layer_forward(layer: QLayer, x: np.ndarray, record: dict | None = None) -> np.ndarray:
    acc = _accumulate(layer, x)
    per_channel = (slice(None),) + (None,) * (acc.ndim - 2)  # broadcast (Cout,) over spatial axes
    scaled = requantize(acc, layer.multiplier[per_channel], layer.shift[per_channel])
    if layer.activation == "tanh":
        pre = saturate_int8(scaled + layer.pre.zero_point)
        if record is not None:
            record[f"{layer.name}.pre"] = pre
        y = layer.lut[pre.astype(np.int16) + 128]
    elif layer.activation == "relu":
        y = saturate_int8(scaled + layer.output.zero_point, lower=layer.output.zero_point)
    else:
        y = saturate_int8(scaled + layer.output.zero_point)
    if layer.pool == "max":
        n, c, h, w = y.shape
        y = y.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))
    if record is not None:
        record[f"{layer.name}.out"] = y
    return y


def run(model: QuantizedModel, x: np.ndarray, record: dict | None = None) -> np.ndarray:
    """int8 input (N, 1, 32, 32) -> int8 logits (N, classes); `record` receives every layer's int8 tensors."""
    outputs = []
    for start in range(0, len(x), CHUNK):
        part_record = {} if record is not None else None
        y = x[start:start + CHUNK]
        for layer in model.layers:
            y = layer_forward(layer, y, part_record)
        outputs.append(y)
        if record is not None:
            for key, value in part_record.items():
                record.setdefault(key, []).append(value)
    if record is not None:
        for key in list(record):
            record[key] = np.concatenate(record[key])
    return np.concatenate(outputs) if outputs else np.zeros((0, model.num_classes), np.int8)


def predict(model: QuantizedModel, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels (first maximum, as in C) and int8 logits for uint8 pixels (N, H, W) of the model's input size."""
    logits = run(model, prepare_input(pixels, model.data.input_size, model.data.background))
    return logits.argmax(axis=1), logits


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return scale * (q.astype(np.float64) - zero_point)
