"""The int8 artifact's layers against the LeNet-5 family: what `edgelenet.schema` checks beyond the format.

The architecture fixes every layer's name, kind, kernel, stride, groups, pooling and activation; the widths
(C1, C3, C5, F6) and the class count fix every shape. A layer must match exactly, its tensors must have
the dtype and shape its metadata states, and its values must lie where the integer arithmetic is proved
safe (edgelenet/intmath.py, firmware_export/kernels/eln_requant.h):
- int8 weights in [-127, 127] (symmetric: negation never overflows);
- requantization multipliers m in [0, 2^31) and shifts n in [1, 62] (|acc * m| < 2^62, 2^(n-1) <= 2^61);
- tanh tables of exactly 256 int8 entries; zero points in int8; scales finite and within float32's range;
- the int32 accumulator bound max_c |bias'[c]| + 128 * sum_k |w[c, k]| < 2^31, recomputed from the
  tensors (bias' = bias - z_in * sum_k w[c, k], the folded bias the C kernels add).
So the C engine's buffer bounds, which come from these shapes, always match the loops that use them.
"""

from __future__ import annotations

import numpy as np

from edgelenet.schema import Checker

LAYER_FIELDS = {"name", "kind", "in_shape", "out_shape", "input", "output", "activation", "kernel", "stride",
                "groups", "pool", "pre"}
INPUT_SCALE, INPUT_ZERO_POINT = 0.005, -108   # q = pixel - 128 <=> x = 0.005 * pixel - 0.1
SCALE_RANGE = (1e-30, 1e30)                    # nonzero and finite once narrowed to float32 (ONNX)
MULTIPLIER_RANGE, SHIFT_RANGE = (0, (1 << 31) - 1), (1, 62)
ACC_LIMIT = 1 << 31
INPUT_MAGNITUDE = 128


def _conv(name, cin, cout, side_in, side_out, activation, pool="none", kernel=5, stride=1, groups=1) -> dict:
    return {"name": name, "kind": "conv", "in_shape": [cin, side_in, side_in], "out_shape": [cout, side_out, side_out],
            "activation": activation, "kernel": kernel, "stride": stride, "groups": groups, "pool": pool,
            "weights": (cout, cin // groups, kernel, kernel)}


def _linear(name, fin, fout, activation) -> dict:
    return {"name": name, "kind": "linear", "in_shape": [fin], "out_shape": [fout], "activation": activation,
            "kernel": 1, "stride": 1, "groups": 1, "pool": "none", "weights": (fout, fin)}


def expected_layers(family: dict) -> list[dict]:
    """Every layer's structure for an architecture, widths and class count (edgelenet.layer_plan's output)."""
    c1, c3, c5, f6 = family["widths"]
    n = len(family["classes"])
    if family["arch"] == "modern":
        layers = [_conv("C1", 1, c1, 32, 14, "relu", "max"), _conv("C3", c1, c3, 14, 5, "relu", "max")]
        act = "relu"
    else:
        pool = "tanh" if family.get("pool_activation", "squash") == "squash" else "none"
        layers = [_conv("C1", 1, c1, 32, 28, "tanh"), _conv("S2", c1, c1, 28, 14, pool, kernel=2, stride=2, groups=c1),
                  _conv("C3", c1, c3, 14, 10, "tanh"), _conv("S4", c3, c3, 10, 5, pool, kernel=2, stride=2, groups=c3)]
        act = "tanh"
    return layers + [_linear("C5", c3 * 25, c5, act), _linear("F6", c5, f6, act), _linear("OUTPUT", f6, n, "none")]


def qparams(check: Checker, value, what: str) -> tuple[float, int]:
    check.fields(value, what, {"scale", "zero_point"})
    return (check.number(value["scale"], f"{what} scale", *SCALE_RANGE),
            check.integer(value["zero_point"], -128, 127, f"{what} zero point"))


def check_layers(check: Checker, family: dict, body: dict, tensors: dict[str, np.ndarray]) -> list[dict]:
    """The layer specs, each with its checked tensors under the QLayer field names."""
    model_input = qparams(check, body.get("input"), "input")
    if model_input != (INPUT_SCALE, INPUT_ZERO_POINT):
        check.fail(f"input quantization must be scale {INPUT_SCALE}, zero point {INPUT_ZERO_POINT} (q = pixel - 128)")
    specs, expected = body.get("layers"), expected_layers(family)
    if not isinstance(specs, list) or len(specs) != len(expected):
        check.fail(f"layers must list the {len(expected)} layers of LeNet-5 {family['arch']} "
                   f"({', '.join(e['name'] for e in expected)})")
    known = {f"{e['name']}.{t}" for e in expected for t in ("weights", "weight_scales", "bias", "multiplier", "shift",
                                                            "lut", "connections")}
    stray = sorted(name for name in tensors if name not in known and not name.startswith("float."))
    if stray:
        check.fail(f"unexpected tensor {stray[0][:64]!r}")
    layers, previous = [], model_input
    for index, (spec, want) in enumerate(zip(specs, expected)):
        layer = _check_layer(check, spec, want, f"layer {index} ({want['name']})", tensors, family)
        if (layer["input"]["scale"], layer["input"]["zero_point"]) != previous:
            check.fail(f"layer {want['name']}: its input quantization differs from the previous layer's output")
        previous = (layer["output"]["scale"], layer["output"]["zero_point"])
        layers.append(layer)
    return layers


def _check_layer(check: Checker, spec, want: dict, where: str, tensors: dict, family: dict) -> dict:
    check.fields(spec, where, LAYER_FIELDS)
    for field in ("name", "kind", "activation", "kernel", "stride", "groups", "pool"):
        if spec[field] != want[field] or type(spec[field]) is not type(want[field]):
            check.fail(f"{where}: {field} must be {want[field]!r} for LeNet-5 {family['arch']}, got {spec[field]!r}")
    for field in ("in_shape", "out_shape"):
        check.shape(spec[field], want[field], f"{where}: {field}")
    name, cout = want["name"], want["weights"][0]
    qp = {key: qparams(check, spec[key], f"{where}: {key}") for key in ("input", "output")}
    tanh = want["activation"] == "tanh"
    if tanh != (spec["pre"] is not None):
        check.fail(f"{where}: `pre` (the tanh input) must be present exactly when the activation is tanh")
    if tanh:
        qp["pre"] = qparams(check, spec["pre"], f"{where}: pre")
    arrays = {
        "weights": check.tensor(tensors, f"{name}.weights", np.int8, want["weights"]),
        "weight_scales": check.tensor(tensors, f"{name}.weight_scales", np.float64, (cout,)),
        "bias": check.tensor(tensors, f"{name}.bias", np.int32, (cout,)),
        "multiplier": check.tensor(tensors, f"{name}.multiplier", np.int32, (cout,)),
        "shift": check.tensor(tensors, f"{name}.shift", np.int8, (cout,)),
        "lut": check.tensor(tensors, f"{name}.lut", np.int8, (256,), required=tanh),
        "connections": None,
    }
    if not tanh and f"{name}.lut" in tensors:
        check.fail(f"{where}: a tanh table on a layer without tanh")
    if name == "C3" and family["arch"] == "classic":
        arrays["connections"] = check.tensor(tensors, "C3.connections", np.uint8, want["weights"][:2], required=False)
        if arrays["connections"] is not None and arrays["connections"].max(initial=0) > 1:
            check.fail(f"{where}: the connection table holds values other than 0 and 1")
    elif f"{name}.connections" in tensors:
        check.fail(f"{where}: only C3 of the classic variant has a connection table")
    _check_values(check, where, arrays, qp["input"][1], want)
    return {**{k: spec[k] for k in LAYER_FIELDS}, **arrays}


def _in_range(check: Checker, array: np.ndarray, bounds: tuple, what: str) -> None:
    lo, hi = bounds
    if array.size and (int(array.min()) < lo or int(array.max()) > hi):
        check.fail(f"{what} must lie in [{lo}, {hi}], found {int(array.min())} .. {int(array.max())}")


def _check_values(check: Checker, where: str, arrays: dict, input_zero_point: int, want: dict) -> None:
    weights = arrays["weights"]
    _in_range(check, weights, (-127, 127), f"{where}: weights")
    scales = arrays["weight_scales"]
    if scales.size and not ((scales >= SCALE_RANGE[0]) & (scales <= SCALE_RANGE[1])).all():
        check.fail(f"{where}: weight scales must be finite and in [{SCALE_RANGE[0]}, {SCALE_RANGE[1]}]")
    _in_range(check, arrays["multiplier"], MULTIPLIER_RANGE, f"{where}: requantization multipliers")
    _in_range(check, arrays["shift"], SHIFT_RANGE, f"{where}: requantization shifts")
    if want["groups"] > 1:   # subsampling: four copies of the map's one coefficient (the C kernel reads one)
        flat = weights.reshape(len(weights), -1)
        if (flat != flat[:, :1]).any():
            check.fail(f"{where}: a subsampling map's four weights must be equal")
    w = weights.astype(np.int64).reshape(len(weights), -1)
    folded = arrays["bias"].astype(np.int64) - input_zero_point * w.sum(axis=1)
    bound = int((np.abs(folded) + INPUT_MAGNITUDE * np.abs(w).sum(axis=1)).max(initial=0))
    if bound >= ACC_LIMIT:
        check.fail(f"{where}: the int32 accumulator bound {bound:,} (from the weights and biases) reaches 2^31")
