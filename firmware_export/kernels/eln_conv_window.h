/* eln_conv_window.h: the convolution inner loop nest, shared by the two convolution kernels.
 *
 * One call computes the four convolution outputs of one 2x2 pooling window of output map c:
 *   acc[dy][dx] = sum over connected input maps i, taps (ky, kx) of x[i][2py+dy+ky][2px+dx+kx] * w[c][i][ky][kx]
 * Bias and zero point are added by the caller. Overflow: each product is at most 128 * 127 in magnitude,
 * so |acc| <= fan_in * 16,256 <= 6,502,400 for LeNet-5's largest fan-in (400), far below 2^31 (the exact
 * per-layer bound is in the generated engine).
 *
 * Two paths, bit-identical (integer sums in any order are exact):
 * - portable: int8 weights (conn, k, k); each weight is loaded once and used for the four outputs.
 * - DSP (__ARM_FEATURE_DSP, 5x5 kernels only): per kernel row, three words of 16-bit weight pairs
 *   {w0, w2}, {w1, w3}, {0, w4}, stored so by the exporter. One input row of the window, bytes r0..r5,
 *   is two word loads; SXTB16 splits them into the pairs {r0,r2} {r1,r3} {r2,r4} {r3,r5}, and SMLAD does
 *   two MACs at once: dx = 0 is {r0,r2}.{w0,w2} + {r1,r3}.{w1,w3} + {r2,r4}.{0,w4}, dx = 1 the same one pair on.
 */
#ifndef ELN_CONV_WINDOW_H
#define ELN_CONV_WINDOW_H

#include <string.h>

#include "eln_kernels.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>

#define ELN_KERNEL_BYTES(k) ((k) * 3 * 4) /* bytes of one k x k kernel: k rows of three words */

/* Four int8 at p as two 16-bit pairs: *lo = {p[0], p[2]}, *hi = {p[1], p[3]} (SXTB16, SXTB16 ROR 8).
 * memcpy is the unaligned-safe load (one LDR on Cortex-M4/M7); the rotation is written as shifts, which
 * GCC and clang fold into SXTB16's ROR operand. uint32 -> int32 casts wrap, as GCC and clang define them. */
static inline void eln_pairs_s8(const int8_t *p, int32_t *lo, int32_t *hi)
{
    uint32_t word;
    memcpy(&word, p, sizeof word);
    *lo = __sxtb16((int32_t)word);
    *hi = __sxtb16((int32_t)((word >> 8) | (word << 24)));
}
#else
#define ELN_KERNEL_BYTES(k) ((k) * (k))
#endif

/* input: (Cin, in_side, in_side); weights: this map's kernels; conn: its count input maps; acc: (2, 2) out. */
static inline void eln_conv_window(const eln_conv_shape *shape, const int8_t *input, const void *weights,
                                   const uint8_t *conn, int32_t count, int32_t py, int32_t px, int32_t acc[4])
{
    const int32_t side = shape->in_side, k = shape->kernel;
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    int32_t i, ky;
#if defined(__ARM_FEATURE_DSP)
    const int32_t *w = (const int32_t *)weights; /* (count, 5, 3) packed 16-bit pairs */
    for (i = 0; i < count; ++i) {
        const int8_t *row = input + (int32_t)conn[i] * side * side + 2 * py * side + 2 * px; /* (6, 6) window */
        for (ky = 0; ky < k; ++ky, w += 3, row += side) {
            int32_t t02, t13, t24, t35, b02, b13, b24, b35;
            eln_pairs_s8(row, &t02, &t13);
            eln_pairs_s8(row + 2, &t24, &t35);
            eln_pairs_s8(row + side, &b02, &b13);
            eln_pairs_s8(row + side + 2, &b24, &b35);
            a00 = __smlad(t24, w[2], __smlad(t13, w[1], __smlad(t02, w[0], a00)));
            a01 = __smlad(t35, w[2], __smlad(t24, w[1], __smlad(t13, w[0], a01)));
            a10 = __smlad(b24, w[2], __smlad(b13, w[1], __smlad(b02, w[0], a10)));
            a11 = __smlad(b35, w[2], __smlad(b24, w[1], __smlad(b13, w[0], a11)));
        }
    }
#else
    const int8_t *w = (const int8_t *)weights; /* (count, k, k) */
    int32_t kx;
    for (i = 0; i < count; ++i) {
        const int8_t *row = input + (int32_t)conn[i] * side * side + 2 * py * side + 2 * px; /* (k+1, k+1) window */
        for (ky = 0; ky < k; ++ky, w += k, row += side) {
            for (kx = 0; kx < k; ++kx) {
                const int32_t weight = w[kx];
                a00 += weight * row[kx];
                a01 += weight * row[kx + 1];
                a10 += weight * row[side + kx];
                a11 += weight * row[side + kx + 1];
            }
        }
    }
#endif
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

#endif /* ELN_CONV_WINDOW_H */
