/* eln_conv_thumb.h: the inner loop of eln_conv_window.h for ARM cores without the DSP extension
 * (ELN_THUMB: Cortex-M0/M0+ run Thumb-1 with 8 low registers, Cortex-M3 Thumb-2 with MLA).
 *
 * No widening and no zero padding: the int8 input is read in place (LDRSB) and each output map stores the
 * 5x5 int8 kernels of only the input maps it is connected to (classic C3 skips its table's zeros).
 * Per kernel row ky, the two input rows ky (top) and ky + 1 (bottom) slide left to right: tap kx loads
 * one weight and one new column {top[kx+1], bottom[kx+1]}, and the previous column is still in registers:
 *   a00 += w*top[kx]   a01 += w*top[kx+1]   a10 += w*bottom[kx]   a11 += w*bottom[kx+1]
 * 3 loads for 4 MACs (MLA on M3; MULS + ADD on M0), 9 live values, pointers advanced, not indexed.
 * Overflow: |acc| <= n * 25 * 128 * 127 <= 6,502,400 for 16 maps (the engine states the exact bound).
 */
#ifndef ELN_CONV_THUMB_H
#define ELN_CONV_THUMB_H

#include "eln_conv_patch.h"

#if defined(ELN_THUMB)
/* tap kx: weight v; (lt, lb) = column kx, already loaded; (rt, rb) = column kx + 1, loaded here */
#define ELN_TAP(kx, lt, lb, rt, rb) \
    (v = w[kx], rt = top[(kx) + 1], rb = bottom[(kx) + 1], \
     a00 += v * lt, a01 += v * rt, a10 += v * lb, a11 += v * rb)

/* maps: n, then this output map's n input maps; weights: their (n, 5, 5) int8 kernels; acc: (2, 2) out.
 * Returns the next output map's weights. */
ELN_INLINE const void *eln_conv_window(const eln_conv_shape *shape, const uint8_t *maps, const eln_patch *patch,
                                          const void *weights, int32_t acc[4])
{
    const int32_t side = shape->in_side, plane = side * side;
    const int8_t *w = (const int8_t *)weights;
    const uint8_t *map = maps + 1, *const last = map + maps[0];
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    for (; map < last; ++map) { /* one connected input map per pass */
        const int8_t *top = patch->origin + *map * plane, *bottom = top + side;
        const int8_t *const end = w + 25;
        for (; w < end; w += 5, top += side, bottom += side) { /* kernel row ky */
            int32_t t0 = top[0], b0 = bottom[0], t1, b1, v;
            ELN_TAP(0, t0, b0, t1, b1);
            ELN_TAP(1, t1, b1, t0, b0);
            ELN_TAP(2, t0, b0, t1, b1);
            ELN_TAP(3, t1, b1, t0, b0);
            ELN_TAP(4, t0, b0, t1, b1);
        }
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
    return w;
}
#endif

#endif /* ELN_CONV_THUMB_H */
