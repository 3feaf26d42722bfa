/* eln_conv_window.h: the convolution inner loop nest of the host and Thumb paths, shared by the two
 * convolution kernels (the DSP path's is eln_dsp_window, eln_conv_dsp.h).
 *
 * One call computes the four convolution outputs of one 2x2 pooling window (py, px) of one output map:
 *   acc[dy][dx] = sum over input maps i, taps (ky, kx) of x[i][2py+dy+ky][2px+dx+kx] * w[i][ky][kx]
 * from the window's input patch, prepared once per window and shared by every output map.
 * Patch layout (eln_conv_patch.h): word (i, g, r) = column pair g of row r of map i ({0, 2}, {1, 3},
 * {4, 5}), rows r, r+1 adjacent; the weights pair their columns the same way.
 * Weights, prepared by the exporter (layout.py), come as two 6-wide kernels over the patch's 6 columns:
 *   E[ky] = {w0, w1, w2, w3, w4, 0} (dx = 0) and O[ky] = {0, w0, w1, w2, w3, w4} (dx = 1),
 * so dy = 1 is the same dot product one row further down. Bias and zero point are added by the caller.
 * Overflow: each product is at most 128 * 127 in magnitude, so |acc| <= fan_in * 16,256 <= 6,502,400 for
 * LeNet-5's largest fan-in (400), far below 2^31 (the exact per-layer bound is in the generated engine).
 *
 * Three paths, bit-identical (integer sums in any order are exact):
 * - host: int16 weights (2, Cin*36), E then O, row 5 zero: four dot products over the flat patch.
 * - Thumb (ELN_THUMB): int8 (n, 5, 5) kernels of the connected maps only, read in place (eln_conv_thumb.h).
 * - DSP (ELN_DSP): the same E and O kernels as 16-bit pairs of adjacent columns, over the whole layer's
 *   widened input, output maps outside (eln_conv_dsp.h).
 */
#ifndef ELN_CONV_WINDOW_H
#define ELN_CONV_WINDOW_H

#include "eln_conv_dsp.h"
#include "eln_conv_patch.h"
#include "eln_conv_thumb.h"

#if !defined(ELN_DSP) && !defined(ELN_THUMB) /* the other paths: eln_conv_dsp.h, eln_conv_thumb.h */
/* weights: this output map's (2, Cin*36) int16; acc: (2, 2) out; returns the next map's weights. Four dot
 * products of one fixed length: contiguous int16 operands into int32 sums, which compilers vectorise
 * (pmaddwd-style) on hosts. Every input map is read (a partial table is zero weights). */
ELN_INLINE const void *eln_conv_window(const eln_conv_shape *shape, const uint8_t *maps, const eln_patch *patch,
                                          const void *weights, int32_t acc[4])
{
    const int32_t n = shape->in_channels * 36;
    const int16_t *const p = patch->values, *const e = (const int16_t *)weights, *const o = e + n;
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0, t;
    for (t = 0; t < n; ++t) {
        a00 += p[t] * e[t];
        a01 += p[t] * o[t];
        a10 += p[t + 2] * e[t];
        a11 += p[t + 2] * o[t];
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
    (void)maps;
    return o + n;
}
#endif

#if !defined(ELN_DSP) /* the DSP path stores these four words after the map's weights (eln_dsp_channel) */
/* output map c's bias' and requantization (eln_channel); returns weights unchanged: threading the weight
 * pointer through the call keeps GCC's Cortex-M0 code of the subsampling kernel 4% shorter (measured). */
ELN_INLINE const void *eln_conv_channel(const void *weights, const int32_t *bias, const eln_quant *quant, int32_t c,
                                        eln_channel *channel)
{
    const int32_t n = quant->shift[c];
    channel->bias = bias[c], channel->multiplier = quant->multiplier[c], channel->high_shift = n - 32;
    channel->round = n > 32 ? (int32_t)1 << (n - 33) : 0;
    return weights;
}
#endif

#endif /* ELN_CONV_WINDOW_H */
