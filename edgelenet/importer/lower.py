"""Rewrite a foreign chain (ops.py) into edgelenet's LeNet-5 layers, exactly.

Every rewrite is an identity of real arithmetic, so the imported float model computes the foreign
network's logits up to float rounding:
- tanh(a) = squash(a / S) / A and sigmoid(a) = 0.5 + 0.5 tanh(a / 2) with squash(a) = A tanh(S a),
  A = 1.7159, S = 2/3: a tanh or sigmoid network becomes a squash network plus scalar affines;
- an affine y = s x + o (BatchNormalization, Mul/Add/Sub/Div by constants, the scale around a tanh) right
  after a linear layer (Conv, Gemm, average pooling) folds into that layer's weights and bias; one after an
  activation moves forward (through max pooling when s > 0, through Flatten) into the next linear layer;
- average pooling is LeNet-5's subsampling with coefficient 1/4 and bias 0.
What cannot be rewritten this way (an affine in front of an activation, a layer out of place, a shape
outside the family) is refused with the op that stops it.
"""

from __future__ import annotations

import numpy as np

from edgelenet.errors import UserError
from edgelenet.importer.ops import LINEAR, Act, Affine, Chain, Conv, Dense, Flatten, Pool, Softmax, Subsample, describe

SQUASH_A = 1.7159
SQUASH_S = 2.0 / 3.0
TANH_LIKE = ("tanh", "sigmoid", "squash")


def _vec(value, length: int) -> np.ndarray:
    value = np.asarray(value, dtype=np.float64)
    if value.size not in (1, length):
        raise UserError(f"a per-channel constant of {value.size} values meets a layer of {length} channels")
    return np.broadcast_to(value.reshape(-1), (length,)).copy()


def _out_width(op) -> int:
    return len(op.bias)


def _in_width(op) -> int:
    return op.weight.shape[1] if isinstance(op, (Conv, Dense)) else len(op.bias)


def fold_after(layer, affine: Affine) -> None:
    """affine(layer(x)) as one layer: scale the output rows, then shift."""
    s, o = _vec(affine.scale, _out_width(layer)), _vec(affine.offset, _out_width(layer))
    if isinstance(layer, Subsample):
        layer.coefficient, layer.bias = layer.coefficient * s, layer.bias * s + o
        return
    layer.weight = layer.weight * s.reshape((-1,) + (1,) * (layer.weight.ndim - 1))
    layer.bias = layer.bias * s + o


def fold_before(layer, affine: Affine) -> None:
    """layer(affine(x)) as one layer: the input scale goes into the weights, the shift into the bias."""
    s, o = _vec(affine.scale, _in_width(layer)), _vec(affine.offset, _in_width(layer))
    if isinstance(layer, Subsample):  # coefficient * sum of four (s x + o) + bias
        layer.bias = layer.bias + 4.0 * layer.coefficient * o
        layer.coefficient = layer.coefficient * s
        return
    if isinstance(layer, Conv):
        if layer.pad:
            raise UserError(f"{describe(layer)}: a padded convolution after the first one is not supported")
        layer.bias = layer.bias + (layer.weight * o.reshape(1, -1, 1, 1)).sum(axis=(1, 2, 3))
        layer.weight = layer.weight * s.reshape(1, -1, 1, 1)
    else:
        layer.bias = layer.bias + layer.weight @ o
        layer.weight = layer.weight * s.reshape(1, -1)


def _combine(first: Affine, second: Affine) -> Affine:
    """second(first(x))."""
    return Affine(np.multiply(first.scale, second.scale), np.multiply(first.offset, second.scale) + second.offset,
                  first.source or second.source)


def lower_activations(ops: list, arch: str) -> list:
    """classic: tanh and sigmoid as squash between two affines; average pooling as Subsample."""
    out, channels = [], 1
    for op in ops:
        if isinstance(op, Conv):
            channels = op.weight.shape[0]
        if arch == "classic" and isinstance(op, Act) and op.kind == "tanh":
            out += [Affine(np.float64(1 / SQUASH_S), np.float64(0), op.source), Act("squash", op.source),
                    Affine(np.float64(1 / SQUASH_A), np.float64(0), op.source)]
        elif arch == "classic" and isinstance(op, Act) and op.kind == "sigmoid":
            out += [Affine(np.float64(0.5 / SQUASH_S), np.float64(0), op.source), Act("squash", op.source),
                    Affine(np.float64(0.5 / SQUASH_A), np.float64(0.5), op.source)]
        elif isinstance(op, Pool) and op.kind == "avg":
            out.append(Subsample(np.full(channels, 0.25), np.zeros(channels), op.source))
        else:
            out.append(op)
    return out


def _push_forward(ops: list, i: int) -> None:
    """Move the affine at ops[i] one step towards the next linear layer, or fold it into that layer."""
    affine, nxt = ops[i], ops[i + 1] if i + 1 < len(ops) else None
    if isinstance(nxt, LINEAR):
        fold_before(nxt, affine)
        del ops[i]
    elif isinstance(nxt, Pool) and nxt.kind == "max" and np.all(np.asarray(affine.scale) > 0):
        ops[i], ops[i + 1] = nxt, affine
    elif isinstance(nxt, Flatten):
        spatial = int(np.prod(nxt.shape[1:]))
        expand = (lambda v: np.repeat(_vec(v, nxt.shape[0]), spatial)) if np.ndim(affine.scale) else (lambda v: v)
        ops[i], ops[i + 1] = nxt, Affine(expand(affine.scale), expand(affine.offset), affine.source)
    else:
        where = f"before {describe(nxt)}" if nxt is not None else "at the output"
        raise UserError(f"cannot fold the scale/offset {affine.source!r} {where} into a LeNet-5 layer")


def fold_affines(ops: list) -> list:
    """Remove every Affine from ops (after the first Conv) by folding it into a linear layer."""
    ops = list(ops)
    while True:
        index = next((i for i, op in enumerate(ops) if isinstance(op, Affine)), None)
        if index is None:
            return ops
        if index + 1 < len(ops) and isinstance(ops[index + 1], Affine):
            ops[index:index + 2] = [_combine(ops[index], ops[index + 1])]
        elif index > 0 and isinstance(ops[index - 1], LINEAR):
            fold_after(ops[index - 1], ops[index])
            del ops[index]
        else:
            _push_forward(ops, index)


def canonical_flatten(ops: list) -> list:
    """Reorder the columns of the Dense after each Flatten so that the flattened vector walks (C, H, W)."""
    ops = list(ops)
    for i, op in enumerate(ops):
        if isinstance(op, Flatten) and tuple(op.order) != (0, 1, 2):
            dense = next((o for o in ops[i + 1:] if isinstance(o, (Dense, Conv))), None)
            if not isinstance(dense, Dense):
                raise UserError(f"{describe(op)}: a Flatten must be followed by a Gemm/MatMul")
            # canonical index of each position of the foreign flattened vector
            canonical = np.arange(int(np.prod(op.shape))).reshape(op.shape).transpose(op.order).reshape(-1)
            if dense.weight.shape[1] != canonical.size:
                raise UserError(f"{describe(dense)}: {dense.weight.shape[1]} inputs after a Flatten of "
                                f"{canonical.size} values")
            weight = np.empty_like(dense.weight)
            weight[:, canonical] = dense.weight
            dense.weight = weight
            ops[i] = Flatten((0, 1, 2), op.shape, op.source)
    return ops


def choose_arch(ops: list) -> str:
    """modern for ReLU with max pooling, classic for tanh/sigmoid with average pooling."""
    acts = {op.kind for op in ops if isinstance(op, Act)}
    pools = {op.kind for op in ops if isinstance(op, Pool)}
    if acts == {"relu"} and pools <= {"max"}:
        return "modern"
    if acts and acts <= set(TANH_LIKE) and pools <= {"avg"}:
        return "classic"
    if not acts:
        raise UserError("the network has no activation (ReLU, tanh or sigmoid): not a LeNet-5")
    if "relu" in acts and acts & set(TANH_LIKE):
        raise UserError("the network mixes ReLU with tanh/sigmoid: edgelenet's LeNet-5 uses one activation")
    if "relu" in acts:
        found = next(op for op in ops if isinstance(op, Pool) and op.kind != "max")
        raise UserError(f"{describe(found)} after ReLU is not supported: the ReLU variant (modern) uses max pooling")
    found = next(op for op in ops if isinstance(op, Pool) and op.kind != "avg")
    raise UserError(f"{describe(found)} after tanh/sigmoid is not supported: the tanh variant (classic) uses "
                    "average pooling (subsampling)")


def strip_softmax(ops: list, notes: list) -> list:
    for i, op in enumerate(ops):
        if isinstance(op, Softmax):
            if i != len(ops) - 1:
                raise UserError(f"{describe(op)} is only supported as the last operation")
            notes.append(f"{op.kind} at the output dropped: the logits before it decide the class")
            return ops[:-1]
    return ops


def lower(chain: Chain) -> tuple[str, list]:
    """(arch, ops) with ops free of Affine, Softmax and non-canonical Flatten; input affines merged."""
    ops = strip_softmax(list(chain.ops), chain.notes)
    first_conv = next((i for i, op in enumerate(ops) if isinstance(op, Conv)), None)
    if first_conv is None:
        raise UserError("the network has no convolution: not a LeNet-5")
    scale, offset = chain.input_affine
    for op in ops[:first_conv]:  # normalization in the graph ahead of C1
        if not isinstance(op, Affine) or np.size(op.scale) != 1 or np.size(op.offset) != 1:
            raise UserError(f"{describe(op)} before the first convolution is not supported")
        scale, offset = scale * float(op.scale), offset * float(op.scale) + float(op.offset)
    chain.input_affine = (scale, offset)
    ops = canonical_flatten(ops[first_conv:])
    arch = choose_arch(ops)
    return arch, fold_affines(lower_activations(ops, arch))
