"""Weights to C arrays: the export-time "Prepare" of every value the C engine reads.

The artifact's layers become a short list of fused `Step`s (what one kernel call does) and the `CArray`s
they read, named `<prefix>_<layer>_<tensor>`. All arithmetic set-up happens here, in Python integers:
- the input zero point is folded into each bias: bias'[c] = bias[c] - z_in * sum_k w[c, k];
- C3's connection table: a list of input maps per output map (`maps`); the Thumb path stores and runs only
  the connected kernels, the host and DSP paths store it as zero weights (MACs count connected ones);
- the int32 accumulator bound is proved per layer from the actual weights (and refused if it fails).
- the weights are laid out for each compile-time path's inner loops (kernels/eln_target.h): the host's
  convolutions as int16 6-wide kernels (kernels/eln_conv_window.h), the DSP path's in SMLAD order, as int8
  words widened at run time (export-c --optimize size) or as 16-bit pairs (speed), the Thumb path's as
  the plain int8 kernels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgelenet.artifact import QLayer, QuantizedModel
from edgelenet.errors import UserError

INT32_LIMIT = 1 << 31
INPUT_MAGNITUDE = 128  # |q| <= 128 for every int8 value the kernels multiply


@dataclass
class CArray:
    """One const array of the weights file."""
    name: str                 # symbol, e.g. lenet5_c1_weights
    ctype: str                # int8_t, int16_t, int32_t, uint8_t
    values: np.ndarray        # flattened in storage order
    comment: str              # layer, tensor and shape, e.g. "C1 weights (6, 1, 5, 5) int8"
    path: str = ""            # compiled for every path (""), or one twin: "dsp", "thumb", "host", or
                              # "portable" (thumb and host); twins share the name (render.c_arrays)

    @property
    def nbytes(self) -> int:
        return int(self.values.size * np.dtype(self.ctype.replace("_t", "")).itemsize)


@dataclass
class OutputStage:
    """The eln_quant of one layer: requantize, zero point, clamp, optional tanh table."""
    layer: str
    zero_point: int
    act_min: int
    has_lut: bool


@dataclass
class Step:
    """One kernel call of the engine: a layer, with its activation and its pooling/subsampling fused."""
    kind: str                          # "conv_maxpool", "conv_subsample" or "fc"
    layers: list[QLayer]               # [conv] / [conv, subsampling] / [linear]
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    macs: list[int]                    # per layer of `layers`, as `edgelenet summary` counts them
    acc_bound: int                     # max |acc| over channels, inputs in [-128, 127]
    conn_count: list[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        return "+".join(layer.name for layer in self.layers)

    @property
    def out_bytes(self) -> int:
        return int(np.prod(self.out_shape))


def host_taps(cin: int) -> int:
    """K of the host path: a window's Cin * 36 patch values rounded up to 16 (ELN_PATCH_TAPS in
    kernels/eln_conv_window.h)."""
    return -(-cin * 36 // 16) * 16


def conv_pack(kernels: np.ndarray) -> np.ndarray:
    """int8 (Cout, Cin, 5, 5) -> the host path's int16 (Cout, 2, K) of kernels/eln_conv_window.h, K = Cin*36
    rounded up to 16 (zeros after Cin*36, as in the patch: whole vectors on hosts): the
    6-wide kernels E[ky] = {w0..w4, 0} (dx = 0) and O[ky] = {0, w0..w4} (dx = 1) over the patch's 6
    columns, indexed [E/O][i][g][ky][l] (row ky = 5 zero; column pairs {0, 2}, {1, 3}, {4, 5} of
    kernels/eln_conv_window.h, eln_conv_patch)."""
    cout, cin = kernels.shape[:2]
    six = np.zeros((cout, cin, 2, 6, 6), np.int64)                     # (Cout, Cin, E/O, ky, column)
    six[:, :, 0, :5, :5] = kernels
    six[:, :, 1, :5, 1:] = kernels
    six = six[..., [0, 2, 1, 3, 4, 5]]
    flat = six.reshape(cout, cin, 2, 6, 3, 2).transpose(0, 2, 1, 4, 3, 5).reshape(cout, 2, cin * 36)
    padded = np.zeros((cout, 2, host_taps(cin)), np.int64)
    padded[..., :cin * 36] = flat
    return padded.reshape(cout, -1)


def conv_pack_dsp(kernels: np.ndarray, epilogue: np.ndarray, in_side: int, optimize: str,
                  maps: list[list[int]]) -> np.ndarray:
    """int8 (Cout, Cin, 5, 5) -> the DSP path's words (kernels/eln_conv_window.h, DSP section), per output
    map its kernels and then its `epilogue` row (Cout, 4, or 10 with a folded subsampling): bias', m,
    n - 32, rounding, then the subsampling weights as pairs {w00, w01}, {w10, w11} and its own four. The
    kernels of its connected input maps `maps[c]` only (a partial C3 table costs no MACs), per input map i and
    patch column pair g = 0..2 (columns {2g, 2g + 1}), kernel rows ky = 0..4, as the 16-bit pairs
    E[ky][g] = {w[2g], w[2g+1]} (dx = 0) and O[ky][g] = {w[2g-1], w[2g]} (dx = 1), w[-1] = w[5] = 0:
    - speed: the words E, O per ky, then the patch words to skip to the next column pair (in_side - 6),
      or after g = 2 to the next connected input map i' ((i' - i) * plane - 2 * in_side - 6, plane =
      in_side/2 * in_side words; after the last one back to the next window's first word, column pair
      px + 1: -(last - first) * plane - in_side - 6 < 0, which ends the window loop): 33 words;
    - size: one word per ky with bytes {E.lo, O.lo, E.hi, O.hi}, of which SXTB16 makes E and, rotated
      by 8, O (the kernel widens a map's 15 words per input map at run time and adds the skips)."""
    cout, cin = kernels.shape[:2]
    padded = np.zeros((cout, cin, 5, 7), np.int64)                           # columns -1..5
    padded[..., 1:6] = kernels
    e = np.stack([padded[..., 1 + 2 * g:3 + 2 * g] for g in range(3)], 2)    # (Cout, Cin, g, ky, lo/hi)
    o = np.stack([padded[..., 2 * g:2 + 2 * g] for g in range(3)], 2)
    if optimize == "size":
        b = [v & 0xFF for v in (e[..., 0], o[..., 0], e[..., 1], o[..., 1])]
        words = b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24                    # (Cout, Cin, g, ky)
    else:
        pair = lambda v: (v[..., 0] & 0xFFFF) | (v[..., 1] & 0xFFFF) << 16  # noqa: E731
        words = np.stack([pair(e), pair(o)], -1).reshape(cout, cin, 3, 10)    # (Cout, Cin, g, ky * E/O)
    plane = in_side // 2 * in_side
    out = []
    for c in range(cout):
        for k, i in enumerate(maps[c]):
            if optimize == "size":
                out.append(words[c, i].reshape(-1))
                continue
            last = (-(i - maps[c][0]) * plane - in_side - 6 if k + 1 == len(maps[c])   # to the next window
                    else (maps[c][k + 1] - i) * plane - 2 * in_side - 6)
            skips = np.array([[in_side - 6], [in_side - 6], [last]], np.int64)
            out.append(np.concatenate([words[c, i], skips], axis=1).reshape(-1))
        out.append(epilogue[c].astype(np.int64))
    return _int32(np.concatenate(out))


def fc_with_epilogue(words: np.ndarray, epilogue: np.ndarray | None) -> np.ndarray:
    """A full layer's DSP words (ceil(F_out/4) row blocks), each block followed by its rows' epilogue words
    {bias', m, n - 32} (4, 3), padding rows zero; the kernel makes round' = (2z + 1) * 2^(n - 33) of the
    layer's zero point z (kernels/eln_fc_s8.c, ELN_FC_FOLDED). Without a folded epilogue (None), the words
    as they are."""
    if epilogue is None:
        return words
    blocks = -(-len(epilogue) // 4)
    rows = np.zeros((blocks * 4, 3), np.int64)
    rows[:len(epilogue)] = epilogue
    blocked = np.concatenate([words.astype(np.int64).reshape(blocks, -1), rows.reshape(blocks, 12)], 1)
    return _int32(blocked.reshape(-1))


def fc_pack(weights: np.ndarray) -> np.ndarray:
    """int8 (F_out, F_in) -> DSP int32 words (ceil(F_out/4), F_in/2 rounded up to a multiple of 4, 4) of
    16-bit pairs, zero-padded: per 4 inputs k..k+3 the pairs {w[o][k], w[o][k+2]}, {w[o][k+1], w[o][k+3]},
    low first, the order in which SXTB16 widens the input (kernels/eln_fc_s8.c)."""
    fout, fin = weights.shape
    padded = np.zeros((-(-fout // 4) * 4, -(-fin // 8) * 8), np.int64)
    padded[:fout, :fin] = weights
    w = padded.reshape(len(padded), -1, 2, 2) & 0xFFFF                    # (F_out', k // 4, k % 4 // 2, k % 2)
    words = (w[:, :, 0, :] | (w[:, :, 1, :] << 16)).reshape(len(padded), -1)  # pairs {k+p, k+2+p}
    return _int32(words.reshape(-1, 4, words.shape[1]).transpose(0, 2, 1).reshape(-1))


def fc_pack_int8(weights: np.ndarray) -> np.ndarray:
    """int8 (F_out, F_in) -> the DSP path's int8 layout (--optimize size): int32 words (ceil(F_out/4),
    F_in/4 rounded up to even, 4), word (b, j, r) holding w[4b + r][4j .. 4j + 3] (little-endian bytes,
    zero-padded), so one LDM loads the same 4 inputs' weights of 4 rows, every word aligned
    (kernels/eln_fc_s8.c)."""
    fout, fin = weights.shape
    padded = np.zeros((-(-fout // 4) * 4, -(-fin // 8) * 8), np.int64)
    padded[:fout, :fin] = weights
    b = padded.reshape(len(padded) // 4, 4, -1, 4) & 0xFF                  # (row block, r, j, byte)
    words = b[..., 0] | b[..., 1] << 8 | b[..., 2] << 16 | b[..., 3] << 24  # (row block, r, j)
    return _int32(words.transpose(0, 2, 1).reshape(-1))


def _int32(words: np.ndarray) -> np.ndarray:
    return np.where(words >= 1 << 31, words - (1 << 32), words)


def symbol(prefix: str, layer: str, tensor: str) -> str:
    return f"{prefix}_{layer.lower()}_{tensor}"


def fold_bias(layer: QLayer) -> np.ndarray:
    """bias'[c] = bias[c] - z_in * sum_k w[c, k], so kernels multiply raw int8 inputs (int64, checked)."""
    w = layer.weights.astype(np.int64).reshape(len(layer.weights), -1)
    return layer.bias.astype(np.int64) - layer.input.zero_point * w.sum(axis=1)


def accumulator_bound(layer: QLayer, weights_used: np.ndarray) -> int:
    """max_c |bias'[c]| + 128 * sum_k |w[c, k]|: no partial sum of any kernel can exceed it."""
    w = np.abs(weights_used.astype(np.int64)).reshape(len(weights_used), -1).sum(axis=1)
    bound = int((np.abs(fold_bias(layer)) + INPUT_MAGNITUDE * w).max())
    if bound >= INT32_LIMIT:
        raise UserError(f"{layer.name}: accumulator bound {bound:,} does not fit int32; cannot export")
    return bound


def connections(layer: QLayer) -> list[list[int]]:
    """Per output map, the input maps it reads: the C3 table, plus any map with a nonzero weight."""
    cout, cin = layer.weights.shape[:2]
    table = layer.connections if layer.connections is not None else np.ones((cout, cin), np.uint8)
    nonzero = np.abs(layer.weights.astype(np.int32)).reshape(cout, cin, -1).sum(axis=2) > 0
    return [[i for i in range(cin) if table[c, i] or nonzero[c, i]] for c in range(cout)]


def _is_subsampling(layer: QLayer) -> bool:
    return (layer.kind == "conv" and layer.kernel == 2 and layer.stride == 2 and layer.groups == layer.in_shape[0]
            and layer.pool == "none")


def plan_steps(model: QuantizedModel) -> list[Step]:
    """Group the artifact's layers into fused kernel calls; refuse layer sequences the kernels cannot run."""
    steps, layers, i = [], model.layers, 0
    while i < len(layers):
        layer = layers[i]
        if layer.kind == "linear":
            steps.append(_fc_step(layer))
            i += 1
        elif layer.kind == "conv" and layer.groups == 1 and layer.stride == 1 and layer.pool == "max":
            if layer.activation == "tanh":
                raise UserError(f"{layer.name}: max pooling after tanh is not supported by export-c")
            steps.append(_conv_step("conv_maxpool", [layer], layer.out_shape))
            i += 1
        elif (layer.kind == "conv" and layer.groups == 1 and layer.stride == 1 and i + 1 < len(layers)
              and _is_subsampling(layers[i + 1])):
            steps.append(_conv_step("conv_subsample", [layer, layers[i + 1]], layers[i + 1].out_shape))
            i += 2
        else:
            raise UserError(f"{layer.name}: a {layer.kind} layer with groups={layer.groups}, stride={layer.stride}, "
                            f"pool={layer.pool} is not supported by export-c")
    if len({output_stage(step.layers[1]).has_lut for step in steps if step.kind == "conv_subsample"}) > 1:
        # one kernel body serves every subsampling step (ELN_SUBSAMPLE_LINEAR in render.py)
        raise UserError("export-c needs the same activation (tanh or none) after every subsampling layer")
    if steps[0].in_shape != (1, 32, 32) or steps[-1].out_shape != (model.num_classes,):
        raise UserError(f"export-c needs a (1, 32, 32) input and {model.num_classes} logits (one per class)")
    return steps


def _conv_step(kind: str, layers: list[QLayer], out_shape: list[int]) -> Step:
    conv = layers[0]
    cout, _, k, _ = conv.weights.shape
    if k != 5:
        raise UserError(f"{conv.name}: {k}x{k} convolution; export-c's kernels run LeNet-5's 5x5 convolutions")
    side = conv.in_shape[1] - k + 1  # convolution output side, before pooling
    if side < 4:  # the DSP path's patch skips (conv_pack_dsp) are positive from an 8x8 input on
        raise UserError(f"{conv.name}: a {conv.in_shape[1]}x{conv.in_shape[1]} input is too small for export-c")
    if side % 2 or (2 * out_shape[1], cout) != (side, out_shape[0]):
        raise UserError(f"{conv.name}: output {out_shape} is not the 2x2 pooling of a {side}x{side} convolution")
    conn = connections(conv)
    used = np.stack([np.pad(conv.weights[c, conn[c]], ((0, len(conv.weights[0]) - len(conn[c])), (0, 0), (0, 0)))
                     for c in range(cout)])
    macs = [sum(len(c) for c in conn) * k * k * side * side]
    if kind == "conv_subsample":
        macs.append(4 * int(np.prod(out_shape)))
        accumulator_bound(layers[1], layers[1].weights)
    return Step(kind, layers, tuple(conv.in_shape), tuple(out_shape), macs, accumulator_bound(conv, used),
                [len(c) for c in conn])


def _fc_step(layer: QLayer) -> Step:
    cout, cin = layer.weights.shape
    return Step("fc", [layer], (int(np.prod(layer.in_shape)),), (cout,), [cout * cin],
                accumulator_bound(layer, layer.weights))


def output_stage(layer: QLayer) -> OutputStage:
    if layer.activation == "tanh":
        return OutputStage(layer.name, layer.pre.zero_point, -128, True)
    act_min = layer.output.zero_point if layer.activation == "relu" else -128
    return OutputStage(layer.name, layer.output.zero_point, act_min, False)


def folded_rounding(layer: QLayer, acc_bound: int) -> np.ndarray | None:
    """round'[c] = 2^(k-1) + z * 2^k (k = n - 32) of the DSP epilogue that folds the zero point z of the
    layer's output stage (or of its tanh input) into the rounding constant (kernels/eln_conv_window.h,
    eln_dsp_folded), or None where that form is not exact: it needs act_min = -128 (the clamp is then
    SSAT #8; ReLU has z_out = -128), every n > 32, and SMMLA's round' + floor(x * m / 2^32) to fit int32 for
    every |x| <= acc_bound."""
    stage = output_stage(layer)
    shift = layer.shift.astype(np.int64)
    if stage.act_min != -128 or not (shift > 32).all():
        return None
    k = shift - 32
    rounding = np.left_shift(1, k - 1) + stage.zero_point * np.left_shift(1, k)
    high = -(-acc_bound * layer.multiplier.astype(np.int64) // (1 << 32))  # >= |floor(x * m / 2^32)|
    return rounding if bool((high + np.abs(rounding) < INT32_LIMIT).all()) else None


def _step_folded(step: Step) -> bool:
    if step.kind == "fc":
        return folded_rounding(step.layers[0], step.acc_bound) is not None
    if step.kind == "conv_maxpool":
        return not output_stage(step.layers[0]).has_lut and folded_rounding(step.layers[0], step.acc_bound) is not None
    sub = step.layers[1]
    return (folded_rounding(step.layers[0], step.acc_bound) is not None
            and folded_rounding(sub, accumulator_bound(sub, sub.weights)) is not None)


def folded_steps(steps: list[Step]) -> dict[str, bool]:
    """Per kernel, True if every step of it has the folded DSP epilogue (the engine defines
    ELN_CONV_MAXPOOL_FOLDED / ELN_CONV_SUBSAMPLE_FOLDED / ELN_FC_FOLDED; one kernel body serves every step
    of a kind)."""
    result = {}
    for kind in ("conv_maxpool", "conv_subsample", "fc"):
        group = [step for step in steps if step.kind == kind]
        result[kind] = bool(group) and all(_step_folded(step) for step in group)
    return result


def maxpool_folded(steps: list[Step]) -> bool:
    """True if every max-pooling step has the folded DSP epilogue (folded_steps)."""
    return folded_steps(steps)["conv_maxpool"]


def layer_arrays(prefix: str, layer: QLayer, step: Step, folded: bool = False, optimize: str = "size") -> list[CArray]:
    """bias', multiplier, shift, tanh table and (compacted) weights of one layer, with their comments.
    folded: this step uses the folded DSP epilogue (folded_steps); optimize: the DSP path's
    full layers keep int8 weights ("size") or 16-bit pairs ("speed")."""
    name, cout = layer.name, len(layer.weights)
    arrays = []
    if step.kind != "fc" and layer is step.layers[0]:
        cin, k = layer.weights.shape[1], layer.kernel
        shift = layer.shift.astype(np.int64)  # eln_channel: bias', m, n - 32, 2^(n-33) for n > 32 else 0
        rounding = np.where(shift > 32, np.left_shift(1, np.maximum(shift - 33, 0)), 0)
        if folded:  # the DSP words only: the other paths add z themselves
            rounding = folded_rounding(layer, step.acc_bound)
        epilogue = np.stack([fold_bias(layer), layer.multiplier.astype(np.int64), shift - 32, rounding], 1)
        if folded and step.kind == "conv_subsample":  # the subsampling weights' pairs, its layer's four words
            sub = step.layers[1]
            w_sub = sub.weights.astype(np.int64).reshape(cout, 4) & 0xFFFF  # 16-bit pairs {w00, w01}, {w10, w11}
            epilogue = np.concatenate([epilogue, w_sub[:, [0, 2]] | w_sub[:, [1, 3]] << 16, np.stack([
                fold_bias(sub), sub.multiplier.astype(np.int64), sub.shift.astype(np.int64) - 32,
                folded_rounding(sub, accumulator_bound(sub, sub.weights))], 1)], axis=1)
        portable = conv_pack(layer.weights.astype(np.int64))
        dsp = conv_pack_dsp(layer.weights.astype(np.int64), epilogue, layer.in_shape[1], optimize,
                            [c or [0] for c in connections(layer)])
        conn = [c or [0] for c in connections(layer)]  # a map with no input (all weights zero) reads map 0
        maps = [v for c in range(cout) for v in [len(conn[c]), *conn[c]]]
        thumb = np.concatenate([layer.weights[c, conn[c]].reshape(-1) for c in range(cout)])
        arrays += [
            CArray(symbol(prefix, name, "weights"), "int32_t", dsp,
                   f"{name} weights for the DSP path, per output map ({cout}): per input map ({cin}), (3, 5) "
                   + ("words of int8 {E.lo, O.lo, E.hi, O.hi}" if optimize == "size" else
                      "{E, O} 16-bit pair words and a patch skip after each column pair")
                   + " (per column pair and kernel row, dx = 0 and dx = 1); then bias', m, n - 32, rounding"
                   + (" + z * 2^(n - 32)" if folded else "")
                   + (", the subsampling weights as 16-bit pairs and the subsampling layer's four"
                      if folded and step.kind == "conv_subsample" else ""),
                   path="dsp"),
            CArray(symbol(prefix, name, "weights"), "int8_t", thumb.astype(np.int64),
                   f"{name} weights for the Thumb path: per output map, its connected maps' {k}x{k} kernels, "
                   f"int8 ({sum(map(len, conn))} kernels)", path="thumb"),
            CArray(symbol(prefix, name, "weights"), "int16_t", portable,
                   f"{name} weights ({cout}, 2, {host_taps(cin)}) int16: {k}x{k} kernels as 6-wide "
                   "dx = 0 / dx = 1 rows, zero-padded",
                   path="host"),
            CArray(symbol(prefix, name, "maps"), "uint8_t", np.array(maps, np.int64),
                   f"{name} input maps per output map: n, then the n maps it reads ({sum(map(len, conn))} pairs)"),
        ]
    elif step.kind != "fc":  # subsampling: four copies of one coefficient, read as int8
        arrays.append(CArray(symbol(prefix, name, "weights"), "int8_t", layer.weights.reshape(-1),
                             f"{name} weights ({'x'.join(map(str, layer.weights.shape))}) int8"))
    else:
        shape = "x".join(map(str, layer.weights.shape))
        shift = layer.shift.astype(np.int64)  # the kernel computes folded_rounding's round' from n and z
        epilogue = np.stack([fold_bias(layer), layer.multiplier.astype(np.int64), shift - 32], 1) if folded else None
        pack = fc_pack if optimize == "speed" else fc_pack_int8
        dsp = CArray(symbol(prefix, name, "weights"), "int32_t",
                     fc_with_epilogue(pack(layer.weights.astype(np.int64)), epilogue),
                     f"{name} weights for the DSP path: ({shape}) "
                     + ("as 16-bit pairs" if optimize == "speed" else "int8, 4 per word") + ", 4 rows interleaved"
                     + (", each 4 rows followed by their bias', m, n - 32" if folded else ""),
                     path="dsp")
        arrays += [
            dsp,
            CArray(symbol(prefix, name, "weights"), "int8_t", layer.weights.reshape(-1), f"{name} weights ({shape}) int8",
                   path="portable"),
        ]
    arrays += [
        CArray(symbol(prefix, name, "bias"), "int32_t", fold_bias(layer),
               f"{name} bias ({cout},) int32, input zero point {layer.input.zero_point} folded in"),
        CArray(symbol(prefix, name, "multiplier"), "int32_t", layer.multiplier.astype(np.int64),
               f"{name} requantization multipliers m ({cout},)"),
        CArray(symbol(prefix, name, "shift"), "int8_t", layer.shift.astype(np.int64),
               f"{name} requantization shifts n ({cout},)"),
    ]
    if layer.activation == "tanh":
        arrays.append(CArray(symbol(prefix, name, "lut"), "int8_t", layer.lut.astype(np.int64),
                             f"{name} tanh table (256,): output for tanh input q at index q + 128"))
    return arrays
