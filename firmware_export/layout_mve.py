"""The Helium (MVE, Cortex-M55/M85) twins of the weight arrays (the ELN_MVE sections of the kernels).

Feature maps between the Helium kernels are channel-last, (H, W, C), so that one kernel row of one pixel
is 5 * Cin contiguous bytes (kernels/eln_conv_window.h, Helium section). Each convolution's weights
become one int8 row per output map in that tap order, zero-padded to a multiple of 16 (one vector per 16
taps); each full layer's rows are interleaved four at a time per 16 inputs, and the first full layer
after a convolution takes its inputs in channel-last order too. Every array is a twin (path "mve") of the other paths' array
of the same name, chosen by `__ARM_FEATURE_MVE` (render.c_arrays).
"""

from __future__ import annotations

import numpy as np

from firmware_export.layout import CArray, Step, fold_bias, symbol

VECTOR = 16  # int8 lanes of one Helium vector


def _pad(n: int, multiple: int = VECTOR) -> int:
    return -(-n // multiple) * multiple


def epilogue_words(bias: np.ndarray, multiplier: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """(4, Cout rounded up to 4): bias', m, 2^(n-33) and 32 - n per channel (the last two zero where n <= 32;
    all zero past Cout): kernels/eln_requant_mve.h, eln_requantize_words_mve."""
    high = shift > 32
    words = np.zeros((4, -(-len(bias) // 4) * 4), np.int64)
    words[:, :len(bias)] = [bias, multiplier, np.where(high, np.left_shift(1, np.maximum(shift - 33, 0)), 0),
                            np.where(high, 32 - shift, 0)]
    return words


def conv_pack_mve(kernels: np.ndarray, bias: np.ndarray, multiplier: np.ndarray, shift: np.ndarray,
                  subsampling: tuple[np.ndarray, ...] | None = None) -> np.ndarray:
    """int8 (Cout, Cin, 5, 5) -> int32 words: per 4 output maps (fewer at the end), their int8 rows in pairs
    of maps interleaved per 16 taps (an odd count padded with a zero map), then 16 epilogue words
    {bias'[4], m[4], 2^(n-33)[4], 32 - n[4]} (epilogue_words); with `subsampling` (its bias', m, n and
    (Cout, 1, 2, 2) coefficients: classic's S2/S4), 16 more words of its own and 16 of its coefficients
    [j = dy * 2 + dx][map].
    Row c: tap t = (ky * 5 + kx) * Cin + i, zero-padded to K = 25 * Cin rounded up to 32 (the window loop's
    pass): the order of the channel-last im2col columns (kernels/eln_conv_window.h, Helium section). Little-endian."""
    cout, cin, kh, kw = kernels.shape
    rows = np.zeros((cout + cout % 2, _pad(kh * kw * cin, 2 * VECTOR)), np.int64)
    rows[:cout, :kh * kw * cin] = kernels.transpose(0, 2, 3, 1).reshape(cout, -1)
    pairs = rows.reshape(-1, 2, rows.shape[1] // VECTOR, VECTOR).transpose(0, 2, 1, 3)  # (pair, 16 taps, map, 16)
    words = epilogue_words(bias, multiplier, shift)
    if subsampling is not None:  # the subsampling's own epilogue words, then its (2, 2) coefficients per j
        sub_bias, sub_multiplier, sub_shift, sub_weights = subsampling
        coefficients = np.zeros((4, words.shape[1]), np.int64)
        coefficients[:, :cout] = sub_weights.reshape(cout, 4).T
        words = np.concatenate([words, epilogue_words(sub_bias, sub_multiplier, sub_shift), coefficients])
    blocks = []
    for c in range(0, cout, 4):
        blocks += [pairs[c // 2:(c + 4) // 2].astype("<i1").tobytes(), words[:, c:c + 4].astype("<i4").tobytes()]
    return np.frombuffer(b"".join(blocks), "<i4").astype(np.int64)


def fc_pack_mve(weights: np.ndarray, channel_last: tuple[int, int, int] | None = None) -> np.ndarray:
    """int8 (F_out, F_in) -> (ceil(F_out/4), K/16, 4, 16), K = F_in rounded up to 16, zero-padded: per 4 rows,
    per 16 inputs, each row's 16 weights. channel_last (C, H, W): the input is a convolution's output, stored
    (H, W, C) by the Helium kernels, so column (y, x, c) takes the weight of flat input c*H*W + y*W + x."""
    fout, fin = weights.shape
    if channel_last is not None:
        c, h, w = channel_last
        weights = weights.reshape(fout, c, h, w).transpose(0, 2, 3, 1).reshape(fout, fin)
    padded = np.zeros((-(-fout // 4) * 4, _pad(fin)), np.int64)
    padded[:fout, :fin] = weights
    return padded.reshape(-1, 4, padded.shape[1] // VECTOR, VECTOR).transpose(0, 2, 1, 3).reshape(-1)


def mve_arrays(prefix: str, steps: list[Step]) -> list[CArray]:
    """The Helium twin of each convolution's and full layer's weights."""
    arrays, before = [], None
    for step in steps:
        layer = step.layers[0]
        name, shape = layer.name, "x".join(map(str, layer.weights.shape))
        if step.kind == "fc":
            channel_last = tuple(before.out_shape) if before is not None and before.kind != "fc" else None
            arrays.append(CArray(symbol(prefix, name, "weights"), "int8_t",
                                 fc_pack_mve(layer.weights.astype(np.int64), channel_last),
                                 f"{name} weights for the Helium path: ({shape}) int8, 4 rows interleaved per 16 "
                                 f"inputs{', inputs channel-last' if channel_last else ''}, zero-padded", path="mve"))
        else:
            sub = step.layers[1] if step.kind == "conv_subsample" else None
            subsampling = None if sub is None else (fold_bias(sub), sub.multiplier.astype(np.int64),
                                                    sub.shift.astype(np.int64), sub.weights.astype(np.int64))
            words = conv_pack_mve(layer.weights.astype(np.int64), fold_bias(layer), layer.multiplier.astype(np.int64),
                                  layer.shift.astype(np.int64), subsampling)
            arrays.append(CArray(symbol(prefix, name, "weights"), "int32_t", words,
                                 f"{name} weights for the Helium path: ({shape}), per 4 output maps their int8 "
                                 f"channel-last rows of {_pad(layer.weights[0].size, 2 * VECTOR)} taps (zero-padded) "
                                 f"and {48 if sub is not None else 16} epilogue words, as int32 little-endian words", path="mve"))
        before = step
    return arrays
