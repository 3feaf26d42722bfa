"""Match a lowered chain (lower.py) against LeNet-5's topology and read off the layers' weights.

    modern:  Conv5x5 {ReLU, MaxPool} Conv5x5 {ReLU, MaxPool} (Conv5x5 | Flatten Dense) ReLU Dense ReLU Dense
    classic: Conv5x5 squash Subsample [squash] Conv5x5 squash Subsample [squash] (Conv5x5 | Flatten Dense)
             squash Dense squash Dense
             (the squash after each subsampling as in the paper, or after neither: the Keras/d2l tutorial
             LeNet, pool activation "none")

(ReLU and max pooling commute, so either order is accepted.) The result is edgelenet's state dict, keyed as
edgelenet.model.LeNet5 names its tensors, plus a per-layer record of where each weight came from.
"""

from __future__ import annotations

import numpy as np

from edgelenet.errors import UserError
from edgelenet.importer.ops import Act, Conv, Dense, Flatten, Pool, Subsample, describe

KERNEL = 5
FIELD = 32


class _Cursor:
    """Walks the op list; `expect` names what LeNet-5 needs at this point when the network differs."""

    def __init__(self, ops: list):
        self.ops, self.i = ops, 0

    def peek(self):
        return self.ops[self.i] if self.i < len(self.ops) else None

    def take(self, kinds: tuple, what: str):
        op = self.peek()
        if not isinstance(op, kinds):
            found = describe(op) if op is not None else "the end of the network"
            raise UserError(f"unsupported network: expected {what}, found {found}")
        self.i += 1
        return op

    def act(self, kind: str, where: str) -> None:
        op = self.take((Act,), f"{'ReLU' if kind == 'relu' else 'tanh/sigmoid'} after {where}")
        if op.kind != kind:
            raise UserError(f"unsupported network: {describe(op)} after {where}")

    def skip_flatten(self) -> None:
        while isinstance(self.peek(), Flatten):
            self.i += 1


def _conv(cursor: _Cursor, name: str, in_channels: int) -> Conv:
    conv = cursor.take((Conv,), f"a 5x5 convolution ({name})")
    out_c, in_c, kh, kw = conv.weight.shape
    if (kh, kw) != (KERNEL, KERNEL) or in_c != in_channels:
        raise UserError(f"{describe(conv)}: {name} needs a weight of shape (N, {in_channels}, 5, 5), "
                        f"got {tuple(conv.weight.shape)}")
    return conv


def _stage(cursor: _Cursor, arch: str, name: str, pool_name: str, state: dict) -> str:
    """After a convolution: activation and pooling (modern), or squash, subsampling and the pool activation
    (classic): "squash" when an activation follows the subsampling, "none" when it feeds the next layer."""
    if arch == "modern":
        first = cursor.take((Act, Pool), f"ReLU and 2x2 max pooling after {name}")
        second = cursor.take((Pool,) if isinstance(first, Act) else (Act,), f"ReLU and max pooling after {name}")
        for op in (first, second):
            if (isinstance(op, Act) and op.kind != "relu") or (isinstance(op, Pool) and op.kind != "max"):
                raise UserError(f"unsupported network: {describe(op)} after {name}")
        return "squash"
    cursor.act("squash", name)
    sub = cursor.take((Subsample,), f"2x2 average pooling after {name}")
    state[f"{pool_name}.coefficient"], state[f"{pool_name}.bias"] = sub.coefficient, sub.bias
    if not isinstance(cursor.peek(), Act):
        return "none"
    cursor.act("squash", f"the pooling {pool_name.upper()}")
    return "squash"


def _c5(cursor: _Cursor, c3: int):
    """C5: a 5x5 convolution of the 5x5 maps, or Flatten + Dense of 25*C3 inputs (the same layer)."""
    cursor.skip_flatten()
    op = cursor.take((Conv, Dense), "C5 (a 5x5 convolution or a Gemm/MatMul of 25*C3 inputs)")
    if isinstance(op, Conv):
        if op.weight.shape[1:] != (c3, KERNEL, KERNEL) or op.pad:
            raise UserError(f"{describe(op)}: C5 needs a weight of shape (N, {c3}, 5, 5), got {op.weight.shape}")
        return op.weight, op.bias, op.source
    if op.weight.shape[1] != c3 * KERNEL * KERNEL:
        raise UserError(f"{describe(op)}: C5 needs {c3 * 25} inputs (C3 x 5 x 5), got {op.weight.shape[1]}")
    return op.weight.reshape(-1, c3, KERNEL, KERNEL), op.bias, op.source


def _dense(cursor: _Cursor, name: str, inputs: int) -> Dense:
    cursor.skip_flatten()
    op = cursor.take((Dense,), f"a Gemm/MatMul ({name})")
    if op.weight.shape[1] != inputs:
        raise UserError(f"{describe(op)}: {name} needs {inputs} inputs, got {op.weight.shape[1]}")
    return op


def match(arch: str, ops: list, input_size: tuple) -> tuple[dict, list, int, str]:
    """(state dict of float64 arrays, layer records, C1 padding, pool activation) for a lowered op list."""
    cursor, state, layers = _Cursor(ops), {}, []
    act = "relu" if arch == "modern" else "squash"

    def record(name, weight, bias, source):
        state[f"{name.lower()}.weight"], state[f"{name.lower()}.bias"] = weight, bias
        layers.append({"name": name, "source": source, "weight_shape": list(weight.shape)})

    c1 = _conv(cursor, "C1", 1)
    if c1.pad > 2 or any(side + 2 * c1.pad != FIELD for side in input_size):
        raise UserError(f"input {input_size[0]}x{input_size[1]} with C1 padding {c1.pad}: LeNet-5 reads a 32x32 "
                        "field (32x32 without padding, or 28x28 with padding 2)")
    record("C1", c1.weight, c1.bias, c1.source)
    pool_activation = _stage(cursor, arch, "C1", "s2", state)
    c3 = _conv(cursor, "C3", c1.weight.shape[0])
    if c3.pad:
        raise UserError(f"{describe(c3)}: C3 must not be padded")
    record("C3", c3.weight, c3.bias, c3.source)
    if _stage(cursor, arch, "C3", "s4", state) != pool_activation:
        raise UserError("unsupported network: an activation after one average pooling but not after the other "
                        "(edgelenet's classic variant has one pool activation for S2 and S4)")
    record("C5", *_c5(cursor, c3.weight.shape[0]))
    cursor.act(act, "C5")
    f6 = _dense(cursor, "F6", state["c5.weight"].shape[0])
    record("F6", f6.weight, f6.bias, f6.source)
    cursor.act(act, "F6")
    out = _dense(cursor, "OUTPUT", f6.weight.shape[0])
    record("OUTPUT", out.weight, out.bias, out.source)
    if cursor.peek() is not None:
        raise UserError(f"unsupported network: {describe(cursor.peek())} after the output layer")
    return state, layers, c1.pad, pool_activation


def check_c3_table(state: dict, mask: np.ndarray) -> None:
    """The classic variant's C3 reads S2 through a connection table: the foreign C3 must not use more."""
    outside = np.abs(state["c3.weight"] * (1.0 - mask)).max(initial=0.0)
    if outside > 0:
        raise UserError("C3 connects every S2 map to every C3 map, but the tanh variant (classic) with widths "
                        "6/16 uses LeNet-5's partial connection table; use other widths or ReLU/max pooling")
