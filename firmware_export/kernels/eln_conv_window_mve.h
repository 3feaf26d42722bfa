/* eln_conv_window_mve.h: the Helium (MVE, Cortex-M55/M85) convolution inner loops, shared by the two
 * convolution kernels; the Helium twin of eln_conv_window.h (the portable loop it matches is that file's
 * host eln_conv_window: the four outputs of one 2x2 pooling window, here of four output maps at once).
 *
 * Helium multiplies 16 int8 pairs and adds them to a 32-bit scalar in one VMLADAVA.S8, so the window is
 * turned into four columns (im2col), one per output pixel j = (dy, dx) of the window:
 *   column j[t] = x[2py + dy + ky][2px + dx + kx][i],  t = (ky * 5 + kx) * Cin + i  (channel-last order)
 * padded to K = 25 * Cin rounded up to 32, and every output map's weights are the same K int8 values
 * (layout_mve.py, conv_pack_mve; zero in the padding, so the padding's values never count). Then each
 * pair of output maps costs, per 16 taps, four column loads, two weight loads and eight VMLADAVA: 128 MAC
 * slots in 14 instructions, however few input channels there are; 32 taps per pass (C1's K = 32 is one
 * pass). The columns are one array of fixed stride, so the four column loads use one base register with
 * immediate offsets (VLDRW reaches +-508 bytes: K <= 160, LeNet-5's; wider layers use the C loop).
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
 * up to 15 bytes into the next column, which is written after it), and what builds them. */
typedef struct {
    int8_t column[4 * ELN_MVE_MAX_TAPS + 16] __attribute__((aligned(16)));
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
    const int32_t cin = shape->in_channels, stride = shape->in_side * cin, row = 5 * cin;
    const int8_t *const origin = input + 2 * (py * stride + px * cin); /* pixel (2py, 2px) */
    int32_t j, ky, b;
    if (win->gathered) { /* two gathers per column: taps 0..15, then 16..24 and 7 padding lanes */
        const uint8x16_t low = win->gather[0], high = win->gather[1];
        int8_t *const column = win->column;
        vstrbq_s8(column, vldrbq_gather_offset_s8(origin, low));                  /* (dy, dx) = (0, 0) */
        vstrbq_s8(column + 16, vldrbq_gather_offset_s8(origin, high));
        vstrbq_s8(column + ELN_MVE_MAX_TAPS, vldrbq_gather_offset_s8(origin + 1, low)); /* (0, 1) */
        vstrbq_s8(column + ELN_MVE_MAX_TAPS + 16, vldrbq_gather_offset_s8(origin + 1, high));
        vstrbq_s8(column + 2 * ELN_MVE_MAX_TAPS, vldrbq_gather_offset_s8(origin + stride, low)); /* (1, 0) */
        vstrbq_s8(column + 2 * ELN_MVE_MAX_TAPS + 16, vldrbq_gather_offset_s8(origin + stride, high));
        vstrbq_s8(column + 3 * ELN_MVE_MAX_TAPS, vldrbq_gather_offset_s8(origin + stride + 1, low)); /* (1, 1) */
        vstrbq_s8(column + 3 * ELN_MVE_MAX_TAPS + 16, vldrbq_gather_offset_s8(origin + stride + 1, high));
        return;
    }
    for (j = 0; j < 4; ++j) { /* five kernel rows of 5 * Cin contiguous bytes each */
        const int8_t *at = origin + (j >> 1) * stride + (j & 1) * cin;
        int8_t *column = win->column + j * ELN_MVE_MAX_TAPS;
        for (ky = 0; ky < 5; ++ky, at += stride, column += row) {
            for (b = 0; b + 16 < row; b += 16) {
                vstrbq_s8(column + b, vldrbq_s8(at + b));
            }
            vstrbq_s8(column + b, vldrbq_z_s8(at + b, win->tail)); /* spills zeros past the row */
        }
    }
}

/* One pair of maps over the window's columns: weights, the pair's (K / 16, 2, 16) int8 (the two maps
 * interleaved per 16 taps: layout_mve.py), passes = K / 32. Sums a[j] (map q) and b[j] (map q + 1) for the
 * four output pixels j. Per 32 taps: eight column loads shared by both maps, four weight loads and sixteen
 * VMLADAVA, 30 instructions for 128 MAC slots; the first 16 taps set the sums (VMLADAV), so none is zeroed. */
#if 3 * ELN_MVE_MAX_TAPS + 16 <= 508 /* every column offset is a VLDRW immediate: one base register */
/* GCC 12 spills the intrinsics' addresses of this loop to the stack, so the loop is written out.
 * VMLADAVA accumulates into even registers only: the eight sums take all eight of them. */
#define ELN_PAIR_DECLARE_MVE(win, weights, passes)                                                           \
    register int32_t a00 __asm__("r0"), a01 __asm__("r2"), a10 __asm__("r4"), a11 __asm__("r6");            \
    register int32_t b00 __asm__("r8"), b01 __asm__("r10"), b10 __asm__("r12"), b11 __asm__("r14");         \
    register const int8_t *column __asm__("r3") = (win)->column;                                            \
    register const int8_t *w __asm__("r1") = (weights);                                                     \
    register int32_t n __asm__("r5") = (passes)
/* 16 taps at byte `at` of the pass: OP is vmladav (set) or vmladava (add) */
#define ELN_PAIR_TAPS_MVE(OP, at, k1, k2, k3)                                                                \
    "vldrw.32 q2, [%[col], #" at "]\n\t"                                                                     \
    "vldrw.32 q3, [%[col], %[" k1 "]]\n\t"                                                                   \
    "vldrw.32 q4, [%[col], %[" k2 "]]\n\t"                                                                   \
    "vldrw.32 q5, [%[col], %[" k3 "]]\n\t"                                                                   \
    "vldrb.8 q0, [%[w]], #16\n\t"                                                                            \
    "vldrb.8 q1, [%[w]], #16\n\t"                                                                            \
    OP ".s8 %[a00], q2, q0\n\t" OP ".s8 %[a01], q3, q0\n\t" OP ".s8 %[a10], q4, q0\n\t"                     \
    OP ".s8 %[a11], q5, q0\n\t" OP ".s8 %[b00], q2, q1\n\t" OP ".s8 %[b01], q3, q1\n\t"                     \
    OP ".s8 %[b10], q4, q1\n\t" OP ".s8 %[b11], q5, q1\n\t"
#define ELN_PAIR_PASSES_MVE                                                                                  \
    ELN_PAIR_TAPS_MVE("vmladav", "0", "k1", "k2", "k3")                                                      \
    ELN_PAIR_TAPS_MVE("vmladava", "16", "k1b", "k2b", "k3b")                                                 \
    "subs %[n], %[n], #1\n\t"                                                                                \
    "beq 2f\n"                                                                                               \
    "1:\n\t"                                                                                                 \
    "adds %[col], %[col], #32\n\t"                                                                           \
    ELN_PAIR_TAPS_MVE("vmladava", "0", "k1", "k2", "k3")                                                     \
    ELN_PAIR_TAPS_MVE("vmladava", "16", "k1b", "k2b", "k3b")                                                 \
    "subs %[n], %[n], #1\n\t"                                                                                \
    "bne 1b\n"                                                                                               \
    "2:\n\t"
#define ELN_PAIR_OUTPUTS_MVE                                                                                 \
    [a00] "=&r"(a00), [a01] "=&r"(a01), [a10] "=&r"(a10), [a11] "=&r"(a11), [b00] "=&r"(b00),               \
    [b01] "=&r"(b01), [b10] "=&r"(b10), [b11] "=&r"(b11), [w] "+r"(w), [col] "+r"(column), [n] "+r"(n)
#define ELN_PAIR_INPUTS_MVE                                                                             \
    [k1] "i"(ELN_MVE_MAX_TAPS), [k2] "i"(2 * ELN_MVE_MAX_TAPS), [k3] "i"(3 * ELN_MVE_MAX_TAPS),             \
    [k1b] "i"(ELN_MVE_MAX_TAPS + 16), [k2b] "i"(2 * ELN_MVE_MAX_TAPS + 16),                                  \
    [k3b] "i"(3 * ELN_MVE_MAX_TAPS + 16) /* the columns are read: the asm's "memory" clobber */

/* The pair's sums into sums[j][q] and sums[j][q + 1]; returns the next pair's weights. */
ELN_INLINE const int8_t *eln_pair_sums_mve(const eln_window_mve *win, const int8_t *weights, int32_t passes,
                                           int32_t q, int32_t sums[4][4])
{
    ELN_PAIR_DECLARE_MVE(win, weights, passes);
    __asm__(ELN_PAIR_PASSES_MVE : ELN_PAIR_OUTPUTS_MVE : ELN_PAIR_INPUTS_MVE
            : "q0", "q1", "q2", "q3", "q4", "q5", "cc", "memory");
    sums[0][q] = a00, sums[0][q + 1] = b00, sums[1][q] = a01, sums[1][q + 1] = b01;
    sums[2][q] = a10, sums[2][q + 1] = b10, sums[3][q] = a11, sums[3][q + 1] = b11;
    return w;
}

/* The pair's pooled sums, max over the four output pixels (two VMOV and one VMAXV per map), into best[0]
 * and best[1]; returns the next pair's weights. */
ELN_INLINE const int8_t *eln_pair_best_mve(const eln_window_mve *win, const int8_t *weights, int32_t passes,
                                           int32_t best[2])
{
    ELN_PAIR_DECLARE_MVE(win, weights, passes);
    __asm__(ELN_PAIR_PASSES_MVE
            "vmov q2[2], q2[0], %[a00], %[a10]\n\t"
            "vmov q2[3], q2[1], %[a01], %[a11]\n\t"
            "vmaxv.s32 %[a00], q2\n\t"
            "vmov q3[2], q3[0], %[b00], %[b10]\n\t"
            "vmov q3[3], q3[1], %[b01], %[b11]\n\t"
            "vmaxv.s32 %[b00], q3"
            : ELN_PAIR_OUTPUTS_MVE : ELN_PAIR_INPUTS_MVE
            : "q0", "q1", "q2", "q3", "q4", "q5", "cc", "memory");
    (void)a01, (void)a10, (void)a11, (void)b01, (void)b10, (void)b11;
    best[0] = a00, best[1] = b00;
    return w;
}
#else /* wider convolutions: the same loop with intrinsics, one address per column */
ELN_INLINE const int8_t *eln_pair_sums_mve(const eln_window_mve *win, const int8_t *weights, int32_t passes,
                                           int32_t q, int32_t sums[4][4])
{
    const int8_t *column = win->column;
    int32_t a[2][4] = {{0, 0, 0, 0}, {0, 0, 0, 0}}, p, h, j;
    for (p = 0; p < 2 * passes; ++p, column += 16) { /* 16 taps per step */
        for (h = 0; h < 2; ++h, weights += 16) {
            const int8x16_t w = vldrbq_s8(weights);
            for (j = 0; j < 4; ++j) {
                a[h][j] = vmladavaq_s8(a[h][j], ELN_COLUMN_MVE(column, j, 0), w);
            }
        }
    }
    for (j = 0; j < 4; ++j) {
        sums[j][q] = a[0][j], sums[j][q + 1] = a[1][j];
    }
    return weights;
}

ELN_INLINE const int8_t *eln_pair_best_mve(const eln_window_mve *win, const int8_t *weights, int32_t passes,
                                           int32_t best[2])
{
    int32_t sums[4][4], h;
    weights = eln_pair_sums_mve(win, weights, passes, 0, sums);
    for (h = 0; h < 2; ++h) {
        best[h] = sums[0][h] > sums[1][h] ? sums[0][h] : sums[1][h];
        best[h] = sums[2][h] > best[h] ? sums[2][h] : best[h];
        best[h] = sums[3][h] > best[h] ? sums[3][h] : best[h];
    }
    return weights;
}
#endif
#endif

#endif /* ELN_CONV_WINDOW_MVE_H */
