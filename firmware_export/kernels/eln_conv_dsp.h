/* eln_conv_dsp.h: the convolution on the Cortex-M4/M7/M33 DSP extension (ELN_DSP), output maps outside.
 *
 * The layer's input is widened once (eln_dsp_widen_input) into int16 pairs of adjacent columns, stored
 * column pair major: word (i, j, r) = {x[i][r][2j], x[i][r][2j+1]} at (i * side/2 + j) * side + r, so the
 * 6 rows 2py..2py+5 of a window's column pair are 6 consecutive words. Then, per output map, its kernels
 * are widened once (eln_dsp_map_weights) into 16-bit pairs over the window's three column pairs g:
 *   E[ky][g] = {w[2g], w[2g+1]} (dx = 0)   O[ky][g] = {w[2g-1], w[2g]} (dx = 1)   (w[-1] = w[5] = 0)
 * and eln_dsp_window runs the 2x2 pooling window of every position over them: per input map and column
 * pair, the 6 patch words and the 10 weight words are loaded with LDM (one instruction for 2-4 words) into
 * fixed registers, and 20 SMLADs (two 16-bit MACs each) update the four accumulators:
 *   a00 += P[ky].E[ky]   a01 += P[ky].O[ky]   a10 += P[ky+1].E[ky]   a11 += P[ky+1].O[ky]
 * 27 instructions per column pair for 40 MAC slots (33 used), 83 per input map with the loop test.
 * After each column pair's weights comes the number of patch words to skip to the next column pair, or
 * after the last one to the next connected input map (a partial C3 table costs no MACs), and 0 after the
 * last one: all 14 registers are busy, so the loop keeps no end pointer and no stride.
 * Memory: the widened input (ELN_CONV_INPUT_WORDS words) and one map's widened kernels (ELN_CONV_MAP_WORDS)
 * on the stack; with ELN_CONV_INT8 (export-c --optimize size) flash holds one int8 word per kernel row and
 * column pair (layout.py, conv_pack_dsp), widened here, and with 16-bit pairs (speed) the words themselves.
 * Alignment: the input is read bytewise; every word access is to an int32 array.
 */
#ifndef ELN_CONV_DSP_H
#define ELN_CONV_DSP_H

#include "eln_dsp.h"
#include "eln_kernels.h"

#if defined(ELN_DSP)
#ifndef ELN_CONV_INPUT_WORDS
#define ELN_CONV_INPUT_WORDS (16 * 14 * 7) /* largest Cin * side * side / 2 (the engine defines the exact one) */
#endif
#ifndef ELN_CONV_MAP_WORDS
#define ELN_CONV_MAP_WORDS (16 * 33 + 8) /* largest Cin * 33 + 8: one map's widened kernels, skips, epilogue */
#endif

/* acc += the two 16-bit products of x and y, in place (a statement): with ACLE's __smlad, GCC 12 renames
 * the accumulators through the LDM registers and copies the weight pointer around the loop (2 MOVs/map) */
#define ELN_SMLAD(acc, x, y) __asm__("smlad %0, %1, %2, %0" : "+r"(acc) : "r"(x), "r"(y))
/* kernel row ky = patch rows (top, bottom) with weights (e, o) */
#define ELN_ROW(top, bottom, e, o)                                                                  \
    do {                                                                                            \
        ELN_SMLAD(a00, top, e); ELN_SMLAD(a01, top, o);                                             \
        ELN_SMLAD(a10, bottom, e); ELN_SMLAD(a11, bottom, o);                                       \
    } while (0)
/* one column pair: patch rows 0..5, kernel rows 0..4, then the skip to the next column pair (into e1) */
#define ELN_PAIR()                                                                                  \
    do {                                                                                            \
        ELN_LDM3(p, p0, p1, p2); /* rows 0..2 */                                                    \
        ELN_LDM4(w, e0, o0, e1, o1); /* ky = 0, 1 */                                                \
        ELN_ROW(p0, p1, e0, o0); ELN_ROW(p1, p2, e1, o1);                                           \
        ELN_LDM2(p, p0, p1); /* rows 3, 4 */                                                        \
        ELN_LDM4(w, e0, o0, e1, o1); /* ky = 2, 3 */                                                \
        ELN_ROW(p2, p0, e0, o0); ELN_ROW(p0, p1, e1, o1);                                           \
        ELN_LDR1(p, p2); /* row 5 */                                                                \
        ELN_LDM3(w, e0, o0, e1); /* ky = 4, and the skip */                                         \
        ELN_ROW(p1, p2, e0, o0);                                                                    \
        p += e1;                                                                                    \
    } while (0)

/* patch: the window's first word (first connected input map, column pair px, row 2py) of the widened input;
 * weights: one output map's widened kernels; acc: (2, 2) out. Returns the map's epilogue words, which
 * follow its kernels (layout.py, conv_pack_dsp). */
ELN_INLINE const int32_t *eln_dsp_window(const int32_t *patch, const int32_t *weights, int32_t acc[4])
{
    const int32_t *p = patch, *w = weights;
    register int32_t e0 __asm__("r0"), o0 __asm__("r1"), e1 __asm__("r2"), o1 __asm__("r3");
    register int32_t p0 __asm__("r4"), p1 __asm__("r5"), p2 __asm__("r6");
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    do { /* one input map per pass */
        ELN_PAIR();
        ELN_PAIR();
        ELN_PAIR();
    } while (e1 != 0); /* the skip after the last input map is 0 */
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
    return w;
}
#undef ELN_PAIR
#undef ELN_ROW
#undef ELN_SMLAD

/* input: (Cin, side, side) int8 -> xw: (Cin, side/2, side) words of adjacent column pairs (above). */
ELN_INLINE void eln_dsp_widen_input(const eln_conv_shape *shape, const int8_t *input, int32_t *xw)
{
    const int32_t side = shape->in_side, half = side / 2, rows = shape->in_channels * side;
    int32_t row, j;
    for (row = 0; row < rows; ++row) { /* row r of map i: row = i * side + r */
        const int8_t *x = input + row * side;
        int32_t *pair = xw + (row / side) * half * side + row % side; /* word (i, 0, r) */
        for (j = 0; j < half; ++j, x += 2, pair += side) {
            *pair = (int32_t)(((uint32_t)(int32_t)x[0] & 0xFFFFu) | (uint32_t)(int32_t)x[1] << 16);
        }
    }
}

/* The DSP epilogue when the exporter has folded the output stage into the epilogue words (layout.py,
 * folded_rounding: act_min = -128, every shift n > 32, no int32 overflow below): the words are
 * {bias', m, k = n - 32, round' = 2^(k-1) + z * 2^k}, and for x = acc + bias'
 *   y = SSAT8((SMMLA(x, m, round')) >> k)
 * is bit-identical to clamp(requantize(x) + z, -128, 127) (docs/quantization.md):
 * - SMMLA gives round' + floor(x * m / 2^32) exactly (round' * 2^32 added to the 64-bit product is a
 *   multiple of 2^32), the high word that eln_requantize_high shifts;
 * - adding z * 2^k before the floor shift by k is adding z after it (a multiple of 2^k);
 * - with act_min = -128 the clamp is a signed 8-bit saturation. ReLU layers have z_out = act_min = -128:
 *   the lower clamp is the ReLU, and requantize(x <= 0) <= 0 lands at or below -128; a tanh layer's z is
 *   its table's input zero point, and the table follows;
 * - no overflow: the exporter checks |floor(x * m / 2^32)| + |round'| < 2^31 for |x| <= the accumulator
 *   bound. Per output: SMMLA, ASR, SSAT. */
ELN_INLINE int32_t eln_dsp_folded(int32_t x, const eln_channel *channel)
{
    int32_t value;
    __asm__("smmla %0, %1, %2, %3" : "=r"(value) : "r"(x), "r"(channel->multiplier), "r"(channel->round));
    value = value >= 0 ? value >> channel->high_shift : ~(~value >> channel->high_shift); /* floor shift: ASR */
    __asm__("ssat %0, #8, %1" : "=r"(value) : "r"(value)); /* not ACLE's __ssat: fails -Wsign-conversion */
    return value;
}

/* maps: output map c's connected input maps (n, then n indices); weights: its words in flash (layout.py,
 * conv_pack_dsp), ending with epilogue_words; map: its widened kernels and epilogue words for eln_dsp_window, either ww (filled here)
 * or the flash words themselves. Returns the next map's flash words. */
ELN_INLINE const int32_t *eln_dsp_map_weights(const eln_conv_shape *shape, const uint8_t *maps,
                                               const int32_t *weights, int32_t epilogue_words, int32_t *ww,
                                               const int32_t **map)
{
#if defined(ELN_CONV_INT8)
    const int32_t side = shape->in_side, next_pair = side - 6, plane = side / 2 * side;
    const int32_t *z = weights;
    int32_t k, g;
    *map = ww;
    for (k = 1; k <= maps[0]; ++k) { /* the connected input maps maps[1..n] */
        for (g = 0; g < 3; ++g, ww += 11) { /* kernel rows 0..4: {E.lo, O.lo, E.hi, O.hi} -> E, O */
            register int32_t z0 __asm__("r0"), z1 __asm__("r1"), z2 __asm__("r2"), z3 __asm__("r3"), z4 __asm__("r4");
            ELN_LDM5(z, z0, z1, z2, z3, z4);
            ww[0] = __sxtb16(z0), ww[1] = eln_sxtb16_ror8(z0), ww[2] = __sxtb16(z1), ww[3] = eln_sxtb16_ror8(z1);
            ww[4] = __sxtb16(z2), ww[5] = eln_sxtb16_ror8(z2), ww[6] = __sxtb16(z3), ww[7] = eln_sxtb16_ror8(z3);
            ww[8] = __sxtb16(z4), ww[9] = eln_sxtb16_ror8(z4);
            ww[10] = g < 2 ? next_pair : k < maps[0] ? (maps[k + 1] - maps[k]) * plane - 2 * side - 6 : 0;
        }
    }
    for (k = 0; k < epilogue_words; ++k) { /* the epilogue words */
        ww[k] = z[k];
    }
    return z + epilogue_words;
#else
    (void)shape, (void)ww;
    *map = weights;
    return weights + maps[0] * 33 + epilogue_words;
#endif
}

/* epilogue: output map c's four words {bias', m, n - 32, rounding} -> channel, with one LDM. */
ELN_INLINE void eln_dsp_channel(const int32_t *epilogue, eln_channel *channel)
{
    register int32_t b __asm__("r0"), m __asm__("r1"), k __asm__("r2"), round __asm__("r3");
    ELN_LDM4(epilogue, b, m, k, round);
    channel->bias = b, channel->multiplier = m, channel->high_shift = k, channel->round = round;
}
#endif

#endif /* ELN_CONV_DSP_H */
