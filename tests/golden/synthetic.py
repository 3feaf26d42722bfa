"""Small, fixed int8 models for the golden files and the C engine's shape tests: seeded random weights.

They have LeNet-5's structure (32x32 input, two 5x5 convolutions each fused with its pooling or
subsampling, three full layers, 10 logits) but few maps, so the golden files stay small:
    modern-like:  C1 1->2 ReLU+maxpool, C3 2->3 ReLU+maxpool, C5 75->8, F6 8->6, OUTPUT 6->10
    classic-like: C1 1->2 tanh, S2, C3 2->3 tanh with a partial table, S4, C5 75->8 tanh, F6 8->6 tanh, OUTPUT
Everything derives from numpy's seeded generator and float64 arithmetic, so the same seed gives the same
artifact bytes (and checksum) on every machine.
"""

from __future__ import annotations

import numpy as np

from edgelenet.artifact import QLayer, QParams, QuantizedModel, artifact_bytes
from edgelenet.family import DataInfo
from edgelenet.intmath import quantize_multiplier
from edgelenet.quantize import INPUT_QPARAMS, tanh_table

SEED = 2024
C3_TABLE = np.array([[1, 1], [0, 1], [1, 0]], np.uint8)  # map 0 reads both, map 1 only map 1, map 2 only map 0


def _qparams(rng: np.random.Generator, relu: bool) -> QParams:
    return QParams(float(rng.uniform(0.02, 0.08)), -128 if relu else int(rng.integers(-20, 20)))


def _layer(rng, name, kind, shape, in_shape, out_shape, in_q, activation, **extra) -> QLayer:
    weights = rng.integers(-127, 128, size=shape).astype(np.int8)
    if extra.get("connections") is not None:
        weights = weights * extra["connections"][:, :, None, None].astype(np.int8)
    cout = shape[0]
    w_scale = rng.uniform(0.002, 0.02, size=cout)
    relu = activation == "relu"
    output = _qparams(rng, relu)
    pre = QParams(float(rng.uniform(0.01, 0.03)), int(rng.integers(-10, 10))) if activation == "tanh" else None
    target = pre or output
    pairs = [quantize_multiplier(float(in_q.scale * s / target.scale)) for s in w_scale]
    return QLayer(name=name, kind=kind, in_shape=in_shape, out_shape=out_shape, input=in_q, output=output,
                  activation=activation, weights=weights, weight_scales=w_scale,
                  bias=rng.integers(-3000, 3000, size=cout).astype(np.int32),
                  multiplier=np.array([m for m, _ in pairs], np.int32), shift=np.array([n for _, n in pairs], np.int8),
                  pre=pre, lut=tanh_table(pre, output) if pre else None, **extra)


def _subsampling(rng, name, maps, side, in_q, activation="tanh") -> QLayer:
    layer = _layer(rng, name, "conv", (maps, 1, 2, 2), [maps, side, side], [maps, side // 2, side // 2], in_q,
                   activation, kernel=2, stride=2, groups=maps)
    layer.weights[:] = layer.weights[:, :, :1, :1]  # LeNet-5: the four weights of a map are one coefficient
    return layer


def synthetic_model(arch: str, seed: int = SEED, widths: tuple[int, int, int, int] = (2, 3, 8, 6),
                    classes: int = 10, shift_32: bool = False, pool_activation: str = "squash") -> QuantizedModel:
    """widths: (C1, C3, C5, F6) maps/units (LeNet-5's are 6, 16, 120, 84); the classic C3 table is
    C3_TABLE at the default widths, else every third map pair unconnected (with C1 = 1, every third C3
    map reads nothing); classes: logits (2..100); shift_32: the first channel of the second layer and of the
    first full layer requantizes with n = 32 (m scaled down to match), which the DSP path's folded
    epilogues do not cover (layout.py, folded_rounding), so their generic epilogues run; pool_activation:
    "none" leaves S2/S4 without tanh (classic only)."""
    rng = np.random.default_rng([seed, ("modern", "classic").index(arch)])
    act = "relu" if arch == "modern" else "tanh"
    c1, c3, c5, f6 = widths
    layers = []
    if arch == "modern":
        layers.append(_layer(rng, "C1", "conv", (c1, 1, 5, 5), [1, 32, 32], [c1, 14, 14], INPUT_QPARAMS, act,
                             kernel=5, pool="max"))
        layers.append(_layer(rng, "C3", "conv", (c3, c1, 5, 5), [c1, 14, 14], [c3, 5, 5], layers[-1].output, act,
                             kernel=5, pool="max"))
    else:
        table = C3_TABLE if (c1, c3) == (2, 3) else (np.arange(c3 * c1).reshape(c3, c1) % 3 != 2).astype(np.uint8)
        layers.append(_layer(rng, "C1", "conv", (c1, 1, 5, 5), [1, 32, 32], [c1, 28, 28], INPUT_QPARAMS, act,
                             kernel=5))
        pool = "tanh" if pool_activation == "squash" else "none"
        layers.append(_subsampling(rng, "S2", c1, 28, layers[-1].output, pool))
        layers.append(_layer(rng, "C3", "conv", (c3, c1, 5, 5), [c1, 14, 14], [c3, 10, 10], layers[-1].output, act,
                             kernel=5, connections=table))
        layers.append(_subsampling(rng, "S4", c3, 10, layers[-1].output, pool))
    for name, fin, fout, activation in (("C5", 25 * c3, c5, act), ("F6", c5, f6, act), ("OUTPUT", f6, classes, "none")):
        layers.append(_layer(rng, name, "linear", (fout, fin), [fin], [fout], layers[-1].output, activation))
    if shift_32:
        for layer in (layers[1], next(layer for layer in layers if layer.kind == "linear")):
            layer.multiplier[0] = int(layer.multiplier[0]) >> (int(layer.shift[0]) - 32)
            layer.shift[0] = 32
    model = QuantizedModel(arch, "softmax", INPUT_QPARAMS, layers, {}, {"source": "synthetic", "seed": seed},
                           pool_activation=pool_activation)
    if classes != 10:
        model.data = DataInfo(classes=tuple(f"class {i}" for i in range(classes)))
    artifact_bytes(model)  # sets the checksum
    return model
