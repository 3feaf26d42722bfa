/* eln_conv_window_mve.h: the Helium (MVE, Cortex-M55/M85) convolution inner loops, shared by the two
 * convolution kernels; the Helium twin of eln_conv_window.h (the portable loop it matches is that file's
 * host eln_conv_window: the four outputs of one 2x2 pooling window, here of four output maps at once).
 *
 * Helium multiplies 16 int8 pairs and adds them to a 32-bit scalar in one VMLADAVA.S8, so the window is
 * turned into four columns (im2col), one per output pixel j = (dy, dx) of the window:
 *   column j[t] = x[2py + dy + ky][2px + dx + kx][i],  t = (ky * 5 + kx) * Cin + i  (channel-last order)
 * padded to K = 25 * Cin rounded up to 32, and every output map's weights are the same K int8 values
 * (layout_mve.py, conv_pack_mve; zero in the padding, so the padding's values never count). Then each
 * output map costs, per 16 taps, one weight load, four column loads and four VMLADAVA: 64 MAC slots in 9
 * instructions, however few input channels there are; 32 taps per pass (C1's K = 32 is one pass). The
 * columns are one array of fixed stride, so the four column loads use one base register with
 * immediate offsets (VLDRW reaches +-508 bytes: LeNet-5's K <= 160).
 * Feature maps between the Helium kernels are channel-last, (H, W, C): one kernel row of one pixel is then
 * 5 * Cin contiguous bytes, copied with whole-vector loads (the last one predicated: no read past the row).
 * C1's single input channel makes its columns 25 scattered bytes: two gather loads (VLDRB with a vector of
 * byte offsets) fetch each column instead of five row copies.
 * The four maps' sums are returned as four vectors acc[j], lanes = maps, for the vector epilogues
 * (eln_requant_mve.h). Integer sums in any order are exact; |acc| is bounded per layer at export time.
 */
#ifndef ELN_CONV_WINDOW_MVE_H
#define ELN_CONV_WINDOW_MVE_H

#include "eln_kernels.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>

#ifndef ELN_CONV_MAX_MAPS
#define ELN_CONV_MAX_MAPS 16 /* input maps of the largest convolution (the engine defines the exact one) */
#endif
#define ELN_MVE_MAX_TAPS ((25 * ELN_CONV_MAX_MAPS + 31) / 32 * 32) /* K of the largest convolution */

/* The four im2col columns of one pooling window, K bytes each (+ 16: a row copy's last store may spill
 * up to 15 bytes into the next column, which is written after it), and the window's sums per map. */
typedef struct {
    int8_t column[4 * ELN_MVE_MAX_TAPS + 16] __attribute__((aligned(16)));
    int32_t sums[4][4] __attribute__((aligned(16))); /* [output pixel j][map q of the four] */
    uint8x16_t gather[2];  /* one input channel: byte offsets of taps 0..15 and 16..31 */
    mve_pred16_t tail;     /* the lanes of a kernel row's last 16-byte piece */
    int32_t gathered;      /* one input channel, and every offset fits a byte (in_side <= 62) */
    int32_t passes;        /* K / 32 */
} eln_window_mve;

/* 16 taps of column j from byte `at` of the current pass, as int8 (a word load: its immediate offsets
 * reach further than a byte load's; the columns are 16-byte aligned) */
#define ELN_COLUMN_MVE(column, j, at) \
    vreinterpretq_s8_s32(vldrwq_s32((const int32_t *)((column) + (j) * ELN_MVE_MAX_TAPS + (at))))

/* Once per kernel call: the gather offsets (tap t = ky * 5 + kx at ky * side + kx; padding lanes read
 * offset 0), the row copies' tail lanes, K / 32, and zero columns (their padding is never written). */
ELN_INLINE void eln_window_init_mve(const eln_conv_shape *shape, eln_window_mve *win)
{
    uint8_t offsets[32] __attribute__((aligned(16)));
    const int32_t row = 5 * shape->in_channels;
    int32_t t;
    for (t = 0; t < 32; ++t) {
        offsets[t] = (uint8_t)(t < 25 ? t / 5 * shape->in_side + t % 5 : 0);
    }
    win->gather[0] = vldrbq_u8(offsets), win->gather[1] = vldrbq_u8(offsets + 16);
    win->gathered = shape->in_channels == 1 && 4 * shape->in_side + 4 <= 255;
    win->tail = vctp8q((uint32_t)(row - (row - 1) / 16 * 16));
    win->passes = (25 * shape->in_channels + 31) / 32;
    for (t = 0; t < 4 * ELN_MVE_MAX_TAPS + 16; t += 16) {
        vstrbq_s8(win->column + t, vdupq_n_s8(0));
    }
}

/* input: (in_side, in_side, Cin) int8 -> the four columns of pooling window (py, px), layout above. */
ELN_INLINE void eln_window_columns_mve(const eln_conv_shape *shape, const int8_t *input, int32_t py,
                                          int32_t px, eln_window_mve *win)
{
    const int32_t cin = shape->in_channels, side = shape->in_side, row = 5 * cin;
    int32_t j, ky, b;
    for (j = 0; j < 4; ++j) { /* output pixel (dy, dx) = (j / 2, j % 2) */
        const int8_t *origin = input + ((2 * py + j / 2) * side + 2 * px + j % 2) * cin;
        int8_t *column = win->column + j * ELN_MVE_MAX_TAPS;
        if (win->gathered) { /* two gathers: taps 0..15, then 16..24 and 7 padding lanes */
            vstrbq_s8(column, vldrbq_gather_offset_s8(origin, win->gather[0]));
            vstrbq_s8(column + 16, vldrbq_gather_offset_s8(origin, win->gather[1]));
            continue;
        }
        for (ky = 0; ky < 5; ++ky, origin += side * cin, column += row) { /* kernel row ky: 5 * Cin bytes */
            for (b = 0; b + 16 < row; b += 16) {
                vstrbq_s8(column + b, vldrbq_s8(origin + b));
            }
            vstrbq_s8(column + b, vldrbq_z_s8(origin + b, win->tail)); /* spills zeros past the row */
        }
    }
}

/* weights: maps c..c+count-1's (count, K) int8 (count <= 4); fills win->sums[j][q] for the window's four
 * output pixels j and these maps q (the other lanes are left as they are); returns the next maps' weights. */
ELN_INLINE const int8_t *eln_window_sums_mve(eln_window_mve *win, const int8_t *weights, int32_t count)
{
    int32_t q, p;
    for (q = 0; q < count; ++q) {
        const int8_t *column = win->column;
        int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
        for (p = win->passes; p > 0; --p, weights += 32, column += 32) { /* 32 taps per pass */
            int8x16_t w = vldrbq_s8(weights);
            a00 = vmladavaq_s8(a00, ELN_COLUMN_MVE(column, 0, 0), w);
            a01 = vmladavaq_s8(a01, ELN_COLUMN_MVE(column, 1, 0), w);
            a10 = vmladavaq_s8(a10, ELN_COLUMN_MVE(column, 2, 0), w);
            a11 = vmladavaq_s8(a11, ELN_COLUMN_MVE(column, 3, 0), w);
            w = vldrbq_s8(weights + 16);
            a00 = vmladavaq_s8(a00, ELN_COLUMN_MVE(column, 0, 16), w);
            a01 = vmladavaq_s8(a01, ELN_COLUMN_MVE(column, 1, 16), w);
            a10 = vmladavaq_s8(a10, ELN_COLUMN_MVE(column, 2, 16), w);
            a11 = vmladavaq_s8(a11, ELN_COLUMN_MVE(column, 3, 16), w);
        }
        win->sums[0][q] = a00, win->sums[1][q] = a01, win->sums[2][q] = a10, win->sums[3][q] = a11;
    }
    return weights;
}
#endif

#endif /* ELN_CONV_WINDOW_MVE_H */
