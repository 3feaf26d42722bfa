/* eln_conv_window.h: the window of a 2x2-pooled 5x5 convolution on every path, the portable loop first.
 *
 * A window is the four convolution outputs of one 2x2 pooling window (py, px) of one output map:
 *   acc[dy][dx] = sum over input maps i, taps (ky, kx) of x[i][2py+dy+ky][2px+dx+kx] * w[i][ky][kx]
 * Both convolution kernels (eln_conv_maxpool_s8.c, eln_conv_subsample_s8.c) compute it and differ only in
 * the output stage that follows. One function per path, each bit-identical to the portable loop (integer
 * sums in any order are exact), in this order:
 * - portable (host): eln_conv_window, over the window's input widened once (eln_conv_patch);
 * - Thumb (ELN_THUMB: Cortex-M0/M0+/M3): eln_conv_window_thumb, over a row of windows' input copied once
 *   (eln_thumb_strip): on M3 two inputs per word for SMLAL, on M0 bytes for LDRB, in inline asm;
 * - DSP (ELN_DSP: Cortex-M4/M7/M33, M55 without MVE): eln_conv_window_dsp, SMLAD over the whole layer's
 *   widened input, output maps outside;
 * - Helium (ELN_MVE: Cortex-M55/M85): eln_pair_sums_mve and eln_pair_best_mve, VMLADAVA over the window's
 *   im2col columns, two output maps per call.
 * Bias and zero point are added by the caller. Overflow: each product is at most 128 * 127 in magnitude,
 * so |acc| <= fan_in * 16,256 <= 6,502,400 for LeNet-5's largest fan-in (400), far below 2^31 (the exact
 * per-layer bound is in the generated engine).
 */
#ifndef ELN_CONV_WINDOW_H
#define ELN_CONV_WINDOW_H

#include "eln_dsp.h"
#include "eln_kernels.h"

#ifndef ELN_CONV_MAX_MAPS
#define ELN_CONV_MAX_MAPS 16 /* input maps of the largest convolution (the engine defines the exact one) */
#endif
#ifndef ELN_CONV_MAX_OUT
#define ELN_CONV_MAX_OUT 16 /* output maps of the largest convolution (the engine defines the exact one) */
#endif

/* ---- portable (host) ---------------------------------------------------------------------------------
 * The window's input is widened to int16 once (eln_conv_patch) and shared by every output map.
 * Patch layout (Cin, 3, 6, 2): the 6 columns of each row of the 6x6 input window are grouped in three
 * 16-bit pairs, g = 0: {x[r][0], x[r][2]}, g = 1: {x[r][1], x[r][3]}, g = 2: {x[r][4], x[r][5]}, pair
 * (i, g, r) at word (i*3 + g)*6 + r, so the words of rows r and r+1 are adjacent; then zeros up to
 * K = Cin*36 rounded up to 16 values (and one more word), so the dot products have a length that whole
 * vectors divide (C3's 216 would leave compilers a scalar tail that costs more than the padding's zero
 * products; benchmarks/host_speed.py).
 * Weights (layout.py): int16 (2, K) per output map, two 6-wide kernels over the patch's 6 columns,
 *   E[ky] = {w0, w1, w2, w3, w4, 0} (dx = 0) and O[ky] = {0, w0, w1, w2, w3, w4} (dx = 1), row 5 zero,
 * so dy = 1 is the same dot product one row further down: four dot products over the flat patch.
 */
#if !defined(ELN_MVE) && !defined(ELN_DSP) && !defined(ELN_THUMB)
#define ELN_PATCH_TAPS(cin) (((cin) * 36 + 15) / 16 * 16) /* K: the patch's values, padded */
#define ELN_PATCH_WORDS (ELN_PATCH_TAPS(ELN_CONV_MAX_MAPS) / 2 + 1) /* + 1: the dy = 1 products read 2 past K */

typedef union { /* values, and words to clear the pad */
    int32_t words[ELN_PATCH_WORDS];
    int16_t values[2 * ELN_PATCH_WORDS];
} eln_patch;

/* input: (Cin, in_side, in_side) int8 -> patch: the 6x6 input window of every map, int16, layout above,
 * and the zero padding. */
ELN_INLINE void eln_conv_patch(const eln_conv_shape *shape, const int8_t *input, int32_t py, int32_t px,
                                  eln_patch *patch)
{
    const int32_t side = shape->in_side;
    int32_t i, r;
    for (i = 0; i < shape->in_channels; ++i) {
        const int8_t *row = input + (i * side + 2 * py) * side + 2 * px;
        int16_t *pair = patch->values + i * 36; /* pair (i, g = 0, r), as two int16 values */
        for (r = 0; r < 6; ++r, row += side, pair += 2) {
            pair[0] = row[0], pair[1] = row[2];
            pair[12] = row[1], pair[13] = row[3];
            pair[24] = row[4], pair[25] = row[5];
        }
    }
    for (i = shape->in_channels * 18; i <= ELN_PATCH_TAPS(shape->in_channels) / 2; ++i) {
        patch->words[i] = 0;
    }
}

/* weights: this output map's (2, K) int16; acc: (2, 2) out; returns the next map's weights. Four dot
 * products of one fixed length K: contiguous int16 operands into int32 sums, which compilers vectorise
 * (pmaddwd-style) on hosts. Every input map is read (a partial table is zero weights). */
ELN_INLINE const void *eln_conv_window(const eln_conv_shape *shape, const uint8_t *maps, const eln_patch *patch,
                                          const void *weights, int32_t acc[4])
{
    const int32_t n = ELN_PATCH_TAPS(shape->in_channels);
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


/* The subsampling kernel's output stages over every map of one window (eln_conv_subsample_s8.c): loops
 * over maps with per-map constants, which compilers vectorise (lanes = maps), then the tables, element by
 * element. With ELN_CONV_SUBSAMPLE_FOLDED (every shift n > 32 and act_min = -128: layout.py,
 * folded_rounding) the zero point is folded into the rounding as on the DSP path (eln_dsp_folded):
 *   clamp(requantize(x) + z, -128, 127) = clamp(floor((floor(x * m / 2^32) + round') / 2^k), -128, 127),
 *   k = n - 32, round' = 2^(k-1) + z * 2^k,
 * a fixed sequence without branches; otherwise the generic eln_requantize, map by map.
 * sums: the four convolution sums [j][map], read only; y: out, the subsampling's inputs [j][map]. */
ELN_INLINE void eln_conv_stage_maps(int32_t sums[4][ELN_CONV_MAX_OUT], const int32_t *bias,
                                    const eln_quant *quant, int32_t cout, int32_t y[4][ELN_CONV_MAX_OUT])
{
    const int8_t *const lut = quant->lut;
    int32_t c, j;
    for (j = 0; j < 4; ++j) {
        for (c = 0; c < cout; ++c) {
#if defined(ELN_CONV_SUBSAMPLE_FOLDED)
            const int32_t k = quant->shift[c] - 32, z = quant->zero_point;
            const int32_t round = (int32_t)(((int64_t)1 << (k - 1)) + (int64_t)z * ((int64_t)1 << k));
            const int32_t v = eln_requantize_high(sums[j][c] + bias[c], quant->multiplier[c], k, round);
            y[j][c] = v < -128 ? -128 : v > 127 ? 127 : v;
#else
            y[j][c] = eln_clamp_s8(eln_requantize(sums[j][c] + bias[c], quant->multiplier[c], quant->shift[c]), quant);
#endif
        }
    }
    if (lut != 0) {
        for (j = 0; j < 4; ++j) {
            for (c = 0; c < cout; ++c) {
                y[j][c] = lut[y[j][c] + 128];
            }
        }
    }
}

/* y: the four subsampling inputs [j][map] (read only) -> s = bias' + sum_j w_s[c][j] * y[j][c], then its
 * output stage (folded as above with ELN_CONV_SUBSAMPLE_FOLDED), written to out[c * plane] for every map c. */
ELN_INLINE void eln_subsample_stage_maps(int32_t y[4][ELN_CONV_MAX_OUT], const eln_subsample *sub,
                                         int32_t cout, int8_t *out, int32_t plane)
{
    const eln_quant stage = sub->quant; /* a local copy: the int8 stores could alias it */
    const int8_t *const w = sub->weights;
    int32_t s[ELN_CONV_MAX_OUT], c;
    for (c = 0; c < cout; ++c) {
        s[c] = sub->bias[c] + w[4 * c] * y[0][c] + w[4 * c + 1] * y[1][c] + w[4 * c + 2] * y[2][c]
               + w[4 * c + 3] * y[3][c];
    }
#if defined(ELN_CONV_SUBSAMPLE_FOLDED)
    for (c = 0; c < cout; ++c) {
        const int32_t k = stage.shift[c] - 32;
        const int32_t round = (int32_t)(((int64_t)1 << (k - 1)) + (int64_t)stage.zero_point * ((int64_t)1 << k));
        const int32_t v = eln_requantize_high(s[c], stage.multiplier[c], k, round);
        s[c] = v < -128 ? -128 : v > 127 ? 127 : v;
    }
    for (c = 0; c < cout; ++c) {
        out[c * plane] = stage.lut != 0 ? stage.lut[s[c] + 128] : (int8_t)s[c];
    }
#else
    for (c = 0; c < cout; ++c) {
        out[c * plane] = eln_output_s8(s[c], &stage, c);
    }
#endif
}
#endif

#if !defined(ELN_MVE) && !defined(ELN_DSP) /* the DSP path's epilogue words: eln_dsp_channel */
/* output map c's bias' and requantization (eln_channel). */
ELN_INLINE void eln_conv_channel(const int32_t *bias, const eln_quant *quant, int32_t c, eln_channel *channel)
{
    const int32_t n = quant->shift[c];
    channel->bias = bias[c], channel->multiplier = quant->multiplier[c], channel->high_shift = n - 32;
    channel->round = n > 32 ? (int32_t)1 << (n - 33) : 0;
}
#endif

/* ---- Thumb (ELN_THUMB) --------------------------------------------------------------------------------
 * ARM cores without the DSP extension: Cortex-M3 (Thumb-2: SMLAL, 13 usable registers) and Cortex-M0/M0+
 * (ELN_THUMB1: Thumb-1, 8 low registers, MULS only, LDRSB with a register offset only). Weights: per output
 * map, the (n, 5, 5) int8 kernels of only the n input maps it is connected to (classic C3 skips its table's
 * zeros). The kernels run rows of windows py outside, then output maps c, then windows px: per row, the 6
 * input rows 2py..2py+5 of every input map are copied once into a strip (eln_thumb_strip), column-major
 * (the 6 rows of a column adjacent), so that every tap reads its inputs at fixed offsets from one pointer;
 * a map's weights and epilogue values are then fetched once per row of windows.
 * - Cortex-M3: strip word (i, c, r) = x[i][2py+r][c] + x[i][2py+r][c+1] * 2^23, two neighbouring inputs
 *   in one word, so one SMLAL (32 x 32 -> 64 bits) of that word by weight w[ky][kx] adds the products of
 *   both dx = 0 (low lane) and dx = 1 (high lane) to a 64-bit sum:
 *     top += P[ky][kx] * w    (a00, a01)        bottom += P[ky+1][kx] * w    (a10, a11)
 *   Per input map 25 LDRSB (weights, immediate offsets), 30 LDR (strip words: column kx's 6 words serve
 *   the top of ky and the bottom of ky - 1) and 50 SMLAL: 105 instructions for 100 MACs.
 *   Lanes: top = 2^22 + S00 + S01 * 2^23 exactly, and with |S00| <= 10 maps * 25 * 16,384 < 2^22 the low
 *   23 bits are 2^22 + S00 and the rest is S01 (no carry); more maps are summed 10 at a time
 *   (ELN_THUMB_LANE_MAPS; the loop folds away when ELN_CONV_MAX_MAPS <= 10).
 * - Cortex-M0/M0+: strip byte (i, c, r) = x[i][2py+r][c] + 128, unsigned, so LDRB with an immediate
 *   offset reads it; each map's bias is lowered by 128 * the sum of its weights (eln_thumb_weight_sums).
 *   Per tap, in inline asm: LDRB + SXTB the weight, then four times LDRB input, MULS, ADD to an accumulator
 *   in a high register: 14 instructions for 4 MACs (GCC 12's own code of the same loop: 18, with MOVs
 *   between low and high registers around the destructive MULS).
 * Overflow: |acc| <= n * 25 * 255 * 128 for the biased M0 inputs, < 2^31 for every n <= 64 maps.
 * Stack: the strip, ELN_THUMB_STRIP entries (Cin * in_side * 6): words on M3, bytes on M0.
 */
#if defined(ELN_THUMB)
#ifndef ELN_THUMB_STRIP
#define ELN_THUMB_STRIP (6 * 14 * 6) /* largest Cin * in_side * 6 (the engine defines the exact one) */
#endif
#if !defined(ELN_THUMB1)
typedef int32_t eln_strip; /* two inputs: x[c] + x[c + 1] * 2^23 */
#else
typedef uint8_t eln_strip; /* one input + 128 */
#endif

/* input: (Cin, in_side, in_side) int8 -> strip (Cin, in_side, 6): column c, row r of each input map's rows
 * 2py..2py+5, as eln_strip (on M3 the last column's word holds its input alone: no window reads it). */
ELN_INLINE void eln_thumb_strip(const eln_conv_shape *shape, const int8_t *input, int32_t py, eln_strip *strip)
{
    const int32_t side = shape->in_side;
    int32_t i, r;
    for (i = 0; i < shape->in_channels; ++i) {
        for (r = 0; r < 6; ++r) {
            const int8_t *x = input + (i * side + 2 * py + r) * side, *const end = x + side;
            eln_strip *q = strip + i * 6 * side + r;
#if !defined(ELN_THUMB1)
            int32_t left = *x++;
            for (; x != end; ++x, q += 6) {
                *q = left + (int32_t)((uint32_t)*x << 23), left = *x; /* |x * 2^23| <= 2^30 */
            }
            *q = left;
#else
            for (; x != end; ++x, q += 6) {
                *q = (uint8_t)(*x + 128);
            }
#endif
        }
    }
}

#if !defined(ELN_THUMB1)
#define ELN_THUMB_LANE_MAPS 10 /* input maps per 64-bit sum: the low lane stays below 2^22 */
/* tap (ky, kx): weight w[ky][kx] times strip words ky (top) and ky + 1 (bottom) of column kx */
#define ELN_TAP(ky, kx) \
    (v = w[5 * (ky) + (kx)], top += (int64_t)p[6 * (kx) + (ky)] * v, bottom += (int64_t)p[6 * (kx) + (ky) + 1] * v)
#define ELN_COLUMN(kx) (ELN_TAP(0, kx), ELN_TAP(1, kx), ELN_TAP(2, kx), ELN_TAP(3, kx), ELN_TAP(4, kx))

/* maps: n, then this output map's n input maps; strip: eln_thumb_strip's, at the window's first column
 * (2px); map_entries: strip entries per input map (6 * in_side); weights: the map's (n, 5, 5) int8;
 * acc: (2, 2) out. */
ELN_INLINE void eln_conv_window_thumb(const uint8_t *maps, const eln_strip *strip, int32_t map_entries,
                                      const int8_t *w, int32_t acc[4])
{
    const uint8_t *map = maps + 1;
    int32_t left = maps[0], a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    do { /* up to ELN_THUMB_LANE_MAPS input maps per pass */
        int32_t k = ELN_CONV_MAX_MAPS > ELN_THUMB_LANE_MAPS && left > ELN_THUMB_LANE_MAPS ? ELN_THUMB_LANE_MAPS : left;
        int64_t top = 1 << 22, bottom = 1 << 22; /* the low lanes' offset */
        left -= k;
        do {
            const int32_t *const p = strip + *map++ * map_entries;
            int32_t v;
            ELN_COLUMN(0), ELN_COLUMN(1), ELN_COLUMN(2), ELN_COLUMN(3), ELN_COLUMN(4);
            w += 25;
        } while (--k);
        /* the lanes (>> of a negative int64: arithmetic, i.e. floor, in GCC and clang, the only ARM compilers
         * of this path) */
        a00 += (int32_t)((uint32_t)top & 0x7FFFFFu) - (1 << 22), a01 += (int32_t)(top >> 23);
        a10 += (int32_t)((uint32_t)bottom & 0x7FFFFFu) - (1 << 22), a11 += (int32_t)(bottom >> 23);
    } while (left > 0);
    acc[0] = a00, acc[1] = a01, acc[2] = a10, acc[3] = a11;
}
#undef ELN_TAP
#undef ELN_COLUMN
#undef ELN_THUMB_LANE_MAPS
#else
/* GCC assembles Thumb-1 inline asm in the divided syntax, clang in the unified one (MULS with 3 operands).
 * The 4 accumulators sit in high registers ("h"; "r" fails with a frame pointer in r7); GCC cannot give
 * an asm operand a high register at -Os, so there a column runs as two asm statements of 2 accumulators
 * in low registers (6 in all, so a frame pointer still fits), each loading the weight again: 16 for 4 MACs
 * (tests/e2e/test_c_targets.py compiles every level, with and without a frame pointer). */
#if defined(__clang__)
#define ELN_UNIFIED
#define ELN_DIVIDED
#else
#define ELN_UNIFIED ".syntax unified\n\t"
#define ELN_DIVIDED "\n\t.syntax divided"
#endif
/* weight byte 5ky + kx, then its products with strip bytes ky + r of columns kx (q) and kx + 1 (q + 6),
 * added to accumulators A and B */
#define ELN_HALF(ky, kx, r, A, B)                                                                     \
    "ldrb %[v], [%[w], #" #ky "*5+" #kx "]\n\tsxtb %[v], %[v]\n\t"                                     \
    "ldrb %[t], [%[q], #" #ky "+" #r "]\n\tmuls %[t], %[v], %[t]\n\tadd %[" #A "], %[t]\n\t"           \
    "ldrb %[t], [%[q], #" #ky "+" #r "+6]\n\tmuls %[t], %[v], %[t]\n\tadd %[" #B "], %[t]\n\t"
#if defined(__clang__) || !defined(__OPTIMIZE_SIZE__)
/* tap (ky, kx): one weight load for all four products */
#define ELN_TAP(ky, kx)                                                                               \
    ELN_HALF(ky, kx, 0, a00, a01)                                                                     \
    "ldrb %[t], [%[q], #" #ky "+1]\n\tmuls %[t], %[v], %[t]\n\tadd %[a10], %[t]\n\t"                   \
    "ldrb %[t], [%[q], #" #ky "+7]\n\tmuls %[t], %[v], %[t]\n\tadd %[a11], %[t]\n\t"
/* column kx: its 5 taps, then q to the next column */
#define ELN_COLUMN(kx)                                                                                \
    __asm__(ELN_UNIFIED ELN_TAP(0, kx) ELN_TAP(1, kx) ELN_TAP(2, kx) ELN_TAP(3, kx) ELN_TAP(4, kx)      \
            "adds %[q], #6" ELN_DIVIDED                                                               \
            : [q] "+l"(q), [v] "=&l"(v), [t] "=&l"(t), [a00] "+h"(a00), [a01] "+h"(a01),                \
              [a10] "+h"(a10), [a11] "+h"(a11)                                                        \
            : [w] "l"(w)                                                                              \
            : "cc", "memory")
#else
/* column kx's 5 taps for the window row dy = r (accumulators A, B); ADVANCE: then q to the next column */
#define ELN_ROW(kx, r, A, B, ADVANCE)                                                                 \
    __asm__(ELN_UNIFIED ELN_HALF(0, kx, r, A, B) ELN_HALF(1, kx, r, A, B) ELN_HALF(2, kx, r, A, B)       \
            ELN_HALF(3, kx, r, A, B) ELN_HALF(4, kx, r, A, B) ADVANCE ELN_DIVIDED                       \
            : [q] "+l"(q), [v] "=&l"(v), [t] "=&l"(t), [A] "+l"(A), [B] "+l"(B)                         \
            : [w] "l"(w)                                                                              \
            : "cc", "memory")
#define ELN_COLUMN(kx) ELN_ROW(kx, 0, a00, a01, ""); ELN_ROW(kx, 1, a10, a11, "adds %[q], #6")
#endif

/* As the M3 function above, over the biased input bytes: acc is 128 * (the map's weight sum) too high. */
ELN_INLINE void eln_conv_window_thumb(const uint8_t *maps, const eln_strip *strip, int32_t map_entries,
                                      const int8_t *w, int32_t acc[4])
{
    const uint8_t *map = maps + 1, *const last = map + maps[0];
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    for (; map < last; ++map, w += 25) {
        const eln_strip *q = strip + *map * map_entries;
        int32_t v, t;
        ELN_COLUMN(0);
        ELN_COLUMN(1);
        ELN_COLUMN(2);
        ELN_COLUMN(3);
        ELN_COLUMN(4);
    }
    acc[0] = a00, acc[1] = a01, acc[2] = a10, acc[3] = a11;
}
#undef ELN_HALF
#undef ELN_TAP
#undef ELN_ROW
#undef ELN_COLUMN
#undef ELN_UNIFIED
#undef ELN_DIVIDED
#endif

/* sums[c]: what output map c's window sums are too high: on Cortex-M0 128 * the sum of its weights (the
 * strip's bias), on M3 0. */
ELN_INLINE void eln_thumb_weight_sums(const eln_conv_shape *shape, const int8_t *w, int32_t sums[ELN_CONV_MAX_OUT])
{
    const uint8_t *maps = shape->maps;
    int32_t c;
    for (c = 0; c < shape->out_channels; ++c, maps += 1 + maps[0]) {
        const int8_t *const end = w + 25 * maps[0];
        int32_t sum = 0;
#if defined(ELN_THUMB1)
        for (; w < end; ++w) {
            sum += *w;
        }
#endif
        sums[c] = sum * 128;
        w = end;
    }
}
#endif

/* ---- DSP (ELN_DSP) ------------------------------------------------------------------------------------
 * The layer's input is widened once (eln_dsp_widen_input) into int16 pairs of adjacent columns, stored
 * column pair major: word (i, j, r) = {x[i][r][2j], x[i][r][2j+1]} at (i * side/2 + j) * side + r, so the
 * 6 rows 2py..2py+5 of a window's column pair are 6 consecutive words. Then, per output map, its kernels
 * are widened once (eln_dsp_map_weights) into 16-bit pairs over the window's three column pairs g:
 *   E[ky][g] = {w[2g], w[2g+1]} (dx = 0)   O[ky][g] = {w[2g-1], w[2g]} (dx = 1)   (w[-1] = w[5] = 0)
 * and eln_conv_window_dsp runs the 2x2 pooling window of every position over them: per input map and column
 * pair, the 6 patch words and the 10 weight words (and the skip below) are loaded with five LDMs into
 * eight fixed registers, each reloaded as soon as its kernel rows are done, and 20 SMLADs (two 16-bit
 * MACs each) update the four accumulators:
 *   a00 += P[ky].E[ky]   a01 += P[ky].O[ky]   a10 += P[ky+1].E[ky]   a11 += P[ky+1].O[ky]
 * 26 instructions per column pair for 40 MAC slots (33 used), 80 per input map with the loop test.
 * After each column pair's weights comes the number of patch words to skip to the next column pair, or
 * after the last one to the next connected input map (a partial C3 table costs no MACs), and after the
 * last input map's the (negative) skip to the next window's first word, column pair px + 1: all 14
 * registers are busy, so the loop keeps no end pointer and no stride, and the window leaves the patch
 * pointer on the next window (the row loops end on it: eln_dsp_subsample_map, eln_dsp_maxpool_map).
 * Memory: the widened input (ELN_CONV_INPUT_WORDS words) and one map's widened kernels (ELN_CONV_MAP_WORDS)
 * on the stack; with ELN_CONV_INT8 (export-c --optimize size) flash holds one int8 word per kernel row and
 * column pair (layout.py, conv_pack_dsp), widened here, and with 16-bit pairs (speed) the words themselves.
 * Alignment: the input is read bytewise; every word access is to an int32 array.
 */
#if defined(ELN_DSP)
#ifndef ELN_CONV_INPUT_WORDS
#define ELN_CONV_INPUT_WORDS (16 * 14 * 7) /* largest Cin * side * side / 2 (the engine defines the exact one) */
#endif
#ifndef ELN_CONV_MAP_WORDS
#define ELN_CONV_MAP_WORDS (16 * 33 + 10) /* largest Cin * 33 + 10: one map's widened kernels, skips, epilogue */
#endif

/* acc += the two 16-bit products of x and y, in place (a statement): with ACLE's __smlad, GCC 12 renames
 * the accumulators through the LDM registers and copies the weight pointer around the loop (2 MOVs/map) */
#define ELN_SMLAD(acc, x, y) __asm__("smlad %0, %1, %2, %0" : "+r"(acc) : "r"(x), "r"(y))
/* the first products of a window: acc = the two 16-bit products of x and y (no zeroing needed) */
#define ELN_SMUAD(acc, x, y) __asm__("smuad %0, %1, %2" : "=r"(acc) : "r"(x), "r"(y))
/* kernel row ky = patch rows (top, bottom) with weights (e, o); OP: ELN_SMLAD, or ELN_SMUAD to start */
#define ELN_ROW_OP(OP, top, bottom, e, o)                                                           \
    do {                                                                                            \
        OP(a00, top, e); OP(a01, top, o);                                                           \
        OP(a10, bottom, e); OP(a11, bottom, o);                                                     \
    } while (0)
#define ELN_ROW(top, bottom, e, o) ELN_ROW_OP(ELN_SMLAD, top, bottom, e, o)
/* one column pair: patch rows P0..P5, kernel rows ky = 0..4 (E, O), then the skip to the next column pair
 * (into r5), in the registers r0..r6 and r8 (r7 is the frame pointer of Thumb code at -O0 and in clang):
 *   r0..r2 = P0..P2, r3..r6 + r8 = E0 O0 E1 O1 E2   ky = 0, 1
 *   r0 r1 r3 = P3..P5, r4..r6 = O2 E3 O3            ky = 2, 3 (r3..r6 held ky 0, 1's)
 *   r2 r4 r5 = E4 O4 skip                           ky = 4 (r2, r4, r5 held P2, O2, E3)
 * FIRST: ELN_SMUAD for the window's first products, else ELN_SMLAD */
#define ELN_PAIR_OP(FIRST)                                                                          \
    do {                                                                                            \
        ELN_LDM3(p, r0, r1, r2);                                                                    \
        ELN_LDM5(w, r3, r4, r5, r6, r8);                                                            \
        ELN_ROW_OP(FIRST, r0, r1, r3, r4); ELN_ROW(r1, r2, r5, r6);                                 \
        ELN_LDM3(p, r0, r1, r3);                                                                    \
        ELN_LDM3(w, r4, r5, r6);                                                                    \
        ELN_ROW(r2, r0, r8, r4); ELN_ROW(r0, r1, r5, r6);                                           \
        ELN_LDM3(w, r2, r4, r5);                                                                    \
        ELN_ROW(r1, r3, r2, r4);                                                                    \
        p += r5;                                                                                    \
    } while (0)
#define ELN_PAIR() ELN_PAIR_OP(ELN_SMLAD)

/* *patch: the window's first word (first connected input map, column pair px, row 2py) of the widened
 * input, moved to the next window's (px + 1); weights: one output map's widened kernels; acc: (2, 2) out;
 * one_map: a constant, 1 if the map reads one input map (C1), which leaves out the loop test (2
 * instructions a window). Returns the map's epilogue words, which follow its kernels (layout.py,
 * conv_pack_dsp). Always inlined: its fixed registers only pay off inside the caller's loop, and with
 * three call sites GCC would otherwise make it a function. */
ELN_INLINE __attribute__((__always_inline__)) const int32_t *eln_conv_window_dsp(const int32_t **patch,
                                                                               const int32_t *weights,
                                                                               int32_t acc[4], int32_t one_map)
{
    const int32_t *p = *patch, *w = weights;
    register int32_t r0 __asm__("r0"), r1 __asm__("r1"), r2 __asm__("r2"), r3 __asm__("r3");
    register int32_t r4 __asm__("r4"), r5 __asm__("r5"), r6 __asm__("r6"), r8 __asm__("r8");
    int32_t a00, a01, a10, a11;
    ELN_PAIR_OP(ELN_SMUAD); /* the first input map: its first products start the sums */
    ELN_PAIR();
    ELN_PAIR();
    while (!one_map && r5 > 0) { /* the other input maps; the skip after the last one, to the next window,
                                   * is negative */
        ELN_PAIR();
        ELN_PAIR();
        ELN_PAIR();
    }
    *patch = p;
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
    return w;
}
#undef ELN_PAIR
#undef ELN_PAIR_OP
#undef ELN_ROW
#undef ELN_ROW_OP
#undef ELN_SMUAD
#undef ELN_SMLAD

/* input: (Cin, side, side) int8 -> xw: (Cin, side/2, side) words of adjacent column pairs (above). Per
 * word: 2 LDRSB (the input may sit at any address), PKHBT, STR, the pointer step and the loop test: 7. */
ELN_INLINE void eln_dsp_widen_input(const eln_conv_shape *shape, const int8_t *input, int32_t *xw)
{
    const int32_t side = shape->in_side, plane = side / 2 * side;
    const int8_t *x = input; /* read in order: row r of map i at (i * side + r) * side */
    int32_t i, r;
    for (i = 0; i < shape->in_channels; ++i, xw += plane) {
        for (r = 0; r < side; ++r) {
            const int8_t *const end = x + side;
            int32_t *pair = xw + r; /* word (i, 0, r) */
            do {
                int32_t left, right;
                ELN_LDRSB2(x, left, right);
                *pair = eln_pack16(left, right); /* {x[0], x[1]} */
                pair += side;
            } while (x != end);
        }
    }
}

/* one column pair's five int8 words {E.lo, O.lo, E.hi, O.hi} (kernel rows 0..4) -> its ten words E, O and
 * then the patch skip: one LDM, 10 SXTB16, 5 STRD, 1 STR */
#define ELN_WIDEN_PAIR(skip)                                                                        \
    do {                                                                                            \
        register int32_t z0 __asm__("r0"), z1 __asm__("r1"), z2 __asm__("r2"), z3 __asm__("r3");   \
        register int32_t z4 __asm__("r4");                                                          \
        ELN_LDM5(z, z0, z1, z2, z3, z4);                                                            \
        ELN_STRD(ww, __sxtb16(z0), eln_sxtb16_ror8(z0));                                            \
        ELN_STRD(ww, __sxtb16(z1), eln_sxtb16_ror8(z1));                                            \
        ELN_STRD(ww, __sxtb16(z2), eln_sxtb16_ror8(z2));                                            \
        ELN_STRD(ww, __sxtb16(z3), eln_sxtb16_ror8(z3));                                            \
        ELN_STRD(ww, __sxtb16(z4), eln_sxtb16_ror8(z4));                                            \
        *ww++ = (skip);                                                                             \
    } while (0)

/* maps: output map c's connected input maps (n, then n indices); weights: its words in flash (layout.py,
 * conv_pack_dsp), ending with epilogue_words; map: its widened kernels and epilogue words for
 * eln_conv_window_dsp, either ww (filled here) or the flash words themselves. Returns the next map's flash
 * words. The skips as conv_pack_dsp computes them: to the next column pair, to the next connected input
 * map, and after the last one back to the next window's first word. */
ELN_INLINE const int32_t *eln_dsp_map_weights(const eln_conv_shape *shape, const uint8_t *maps,
                                               const int32_t *weights, int32_t epilogue_words, int32_t *ww,
                                               const int32_t **map)
{
#if defined(ELN_CONV_INT8)
    const int32_t side = shape->in_side, next_pair = side - 6, plane = side / 2 * side;
    const int32_t *z = weights, last = -(maps[maps[0]] - maps[1]) * plane - side - 6;
    int32_t k;
    *map = ww;
    for (k = 1; k <= maps[0]; ++k) { /* the connected input maps maps[1..n] */
        const int32_t skip = k < maps[0] ? (maps[k + 1] - maps[k]) * plane - 2 * side - 6 : last;
        ELN_WIDEN_PAIR(next_pair); /* column pairs g = 0, 1, 2 */
        ELN_WIDEN_PAIR(next_pair);
        ELN_WIDEN_PAIR(skip);
    }
    for (k = 0; k < epilogue_words; k += 2) { /* the epilogue words (an even number), two per LDM and STRD */
        register int32_t first __asm__("r0"), second __asm__("r1"); /* ascending, as LDM loads them */
        ELN_LDM2(z, first, second);
        ELN_STRD(ww, first, second);
    }
    return z;
#else
    (void)shape, (void)ww;
    *map = weights;
    return weights + maps[0] * 33 + epilogue_words;
#endif
}
#undef ELN_WIDEN_PAIR

/* The folded subsampling epilogue of one window (ELN_CONV_SUBSAMPLE_FOLDED): acc (2, 2) -> the output.
 * words: the map's 10 epilogue words (layout.py): the convolution's {bias', m, k, round'}, the subsampling
 * weights as 16-bit pairs {w00, w01}, {w10, w11}, then the subsampling layer's {bias', m, k, round'};
 * lut, sub_lut: the tanh tables at index 0 (+128), sub_lut unused with ELN_SUBSAMPLE_LINEAR.
 *   y[j] = lut[SSAT8(SMMLA(acc[j] + bias', m, round') >> k)]          (eln_dsp_folded, j = 0..3)
 *   s = bias'_s + w00 y0 + w01 y1 + w10 y2 + w11 y3                   (SMLABB/SMLABT from the pairs)
 *   out = sub_lut[SSAT8(SMMLA(s, m_s, round'_s) >> k_s)]
 * 35 instructions: 2 LDM, 4 x (ADD, SMMLA, ASR, SSAT, LDRSB), 4 multiply-adds starting from bias'_s,
 * SMMLA, ASR, SSAT, LDRSB. */
ELN_INLINE int32_t eln_dsp_subsample(const int32_t acc[4], const int32_t *words, const int8_t *lut,
                                     const int8_t *sub_lut)
{
    register int32_t b __asm__("r0"), m __asm__("r1"), k __asm__("r2"), round __asm__("r3");
    register int32_t w01 __asm__("r4"), w23 __asm__("r5");
    eln_channel channel;
    int32_t y0, y1, y2, y3, s, pair01, pair23;
    ELN_LDM6(words, b, m, k, round, w01, w23);
    channel.multiplier = m, channel.high_shift = k, channel.round = round;
    y0 = lut[eln_dsp_folded(acc[0] + b, &channel)];
    y1 = lut[eln_dsp_folded(acc[1] + b, &channel)];
    y2 = lut[eln_dsp_folded(acc[2] + b, &channel)];
    y3 = lut[eln_dsp_folded(acc[3] + b, &channel)];
    pair01 = w01, pair23 = w23;
    ELN_LDM4(words, b, m, k, round); /* the subsampling layer's words */
    channel.multiplier = m, channel.high_shift = k, channel.round = round;
    s = __smlabb(y0, pair01, b);
    s = __smlabt(y1, pair01, s);
    s = __smlabb(y2, pair23, s);
    s = __smlabt(y3, pair23, s);
#if defined(ELN_SUBSAMPLE_LINEAR) /* the saturated requantization is the output */
    (void)sub_lut;
    return eln_dsp_folded(s, &channel);
#else
    return sub_lut[eln_dsp_folded(s, &channel)];
#endif
}

/* The windows of one output map, row by row, through eln_dsp_subsample into output (side * side values,
 * in order); first: its first connected input map's words; one_map: as eln_conv_window_dsp's (inlined
 * twice, with 1 and 0, so each copy keeps its registers). Returns the next map's output. */
ELN_INLINE __attribute__((__always_inline__)) int8_t *eln_dsp_subsample_map(const int32_t *first,
                                                                           const int32_t *map, int32_t side,
                                                                           const int8_t *lut,
                                                                           const int8_t *sub_lut, int8_t *output,
                                                                           int32_t one_map)
{
    int32_t py;
    for (py = 0; py < side; ++py) {
        const int32_t *patch = first + 2 * py; /* window (py, 0); eln_conv_window_dsp moves it along */
        const int32_t *const stop = patch + side * (2 * side + 4); /* by in_side words a window */
        do { /* windows (py, px), px = 0..side-1 */
            int32_t acc[4];
            const int32_t *const epilogue = eln_conv_window_dsp(&patch, map, acc, one_map);
            *output++ = (int8_t)eln_dsp_subsample(acc, epilogue, lut, sub_lut);
        } while (patch != stop); /* not output: its count would make GCC use LR as a loop counter (Armv8.1-M) */
    }
    return output;
}

/* epilogue: output map c's four words {bias', m, n - 32, rounding} -> channel, with one LDM. */
ELN_INLINE void eln_dsp_channel(const int32_t *epilogue, eln_channel *channel)
{
    register int32_t b __asm__("r0"), m __asm__("r1"), k __asm__("r2"), round __asm__("r3");
    ELN_LDM4(epilogue, b, m, k, round);
    channel->bias = b, channel->multiplier = m, channel->high_shift = k, channel->round = round;
}

/* The windows of one output map of the max-pooling kernel, row by row, into output (side * side values,
 * in order): the maximum of the four sums, then the map's output stage, folded (ELN_CONV_MAXPOOL_FOLDED:
 * the ReLU's z_out = -128 is the SSAT's lower bound) or generic (stage: the layer's, no table); first,
 * one_map and the inlining as eln_dsp_subsample_map's. Returns the next map's output. */
ELN_INLINE __attribute__((__always_inline__)) int8_t *eln_dsp_maxpool_map(const int32_t *first, const int32_t *map,
                                                                         int32_t side, const eln_quant *stage,
                                                                         int8_t *output, int32_t one_map)
{
    int32_t py;
    for (py = 0; py < side; ++py) {
        const int32_t *patch = first + 2 * py; /* window (py, 0); eln_conv_window_dsp moves it along */
        const int32_t *const stop = patch + side * (2 * side + 4); /* by in_side words a window */
        do { /* windows (py, px), px = 0..side-1 */
            int32_t acc[4], best;
            eln_channel channel;
            eln_dsp_channel(eln_conv_window_dsp(&patch, map, acc, one_map), &channel);
            best = acc[0] > acc[1] ? acc[0] : acc[1];
            best = acc[2] > best ? acc[2] : best;
            best = acc[3] > best ? acc[3] : best;
#if defined(ELN_CONV_MAXPOOL_FOLDED)
            *output++ = (int8_t)eln_dsp_folded(best + channel.bias, &channel);
            (void)stage;
#else
            *output++ = eln_clamp_s8(eln_requantize_channel(best + channel.bias, &channel), stage);
#endif
        } while (patch != stop); /* not output: its count would make GCC use LR as a loop counter (Armv8.1-M) */
    }
    return output;
}
#endif

/* ---- Helium (ELN_MVE) --------------------------------------------------------------------------------
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
#if defined(ELN_MVE)
#include <arm_mve.h>

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
#undef ELN_PAIR_INPUTS_MVE
#undef ELN_PAIR_OUTPUTS_MVE
#undef ELN_PAIR_PASSES_MVE
#undef ELN_PAIR_TAPS_MVE
#undef ELN_PAIR_DECLARE_MVE
#endif

#endif /* ELN_CONV_WINDOW_H */
