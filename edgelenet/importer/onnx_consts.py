"""Shape arithmetic on constants, as exporters emit it to compute a Flatten's target shape.

Only tiny arrays are ever involved (shape vectors); the few operators below are evaluated with numpy on
constants and on the live tensor's shape, never on data, and anything else is refused.
"""

from __future__ import annotations

import numpy as np

from edgelenet.errors import UserError


ONNX_DTYPES = {1: np.float32, 6: np.int32, 7: np.int64, 11: np.float64}
SMALL = 64   # constant arithmetic is only ever needed on shape vectors


def fold_constant(node, attrs: dict, values: list) -> np.ndarray:
    """Shape arithmetic on constants (how exporters compute a Flatten's target): small arrays only."""
    op = node.op_type
    if any(v.size > SMALL for v in values) and op not in ("Identity", "Cast"):
        raise UserError(f"{op} {node.name!r}: arithmetic on large constants is not supported")
    try:
        if op in ("Identity", "Dropout"):
            return values[0]
        if op == "Cast" and attrs.get("to") in ONNX_DTYPES:
            return values[0].astype(ONNX_DTYPES[attrs["to"]])
        if op == "Gather":
            return np.take(values[0], values[1].astype(np.int64), axis=attrs.get("axis", 0))
        if op == "Concat":
            return np.concatenate([np.atleast_1d(v) for v in values], axis=attrs.get("axis", 0))
        if op == "Unsqueeze":
            axes = attrs.get("axes", values[1].tolist() if len(values) > 1 else [])
            return np.expand_dims(values[0], tuple(int(a) for a in axes))
        if op == "Squeeze":
            axes = attrs.get("axes", values[1].tolist() if len(values) > 1 else None)
            return np.squeeze(values[0], None if axes is None else tuple(int(a) for a in axes))
        if op == "Slice" and values[0].ndim == 1:
            starts, ends = (attrs["starts"], attrs["ends"]) if "starts" in attrs else (values[1], values[2])
            steps = values[4] if len(values) > 4 else [1]
            return values[0][int(starts[0]):int(min(ends[0], SMALL)):int(steps[0]) or 1]
    except (IndexError, ValueError, TypeError, KeyError, np.exceptions.AxisError) as exc:
        raise UserError(f"{op} {node.name!r}: bad constant operands ({exc})") from None
    raise UserError(f"unsupported ONNX op {op} on constants (node {node.name!r})")
