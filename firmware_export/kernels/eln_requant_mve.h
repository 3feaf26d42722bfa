/* eln_requant_mve.h: the requantization of eln_requant.h on four int32 lanes (Helium, MVE).
 * The scalar loops it matches: eln_requantize_high, then eln_saturate_s8 (eln_requant.h).
 *
 * For n > 32 (every LeNet-5 layer), eln_requant.h computes floor((floor(acc * m / 2^32) + 2^(n-33)) / 2^(n-32))
 * and proves it equal to the one rounding of docs/quantization.md, floor((acc * m + 2^(n-1)) / 2^n).
 * Per lane, Helium has each step exactly, with no doubling and no rounding of its own:
 * - VMULH.S32 is the high word of the exact signed 64-bit product: floor(acc * m / 2^32) (not VQRDMULH,
 *   which doubles, rounds and saturates, a different function);
 * - adding 2^(n-33) cannot overflow: |acc| < 2^31 and m < 2^31 give |high word| <= 2^30, and 2^(n-33) <= 2^29;
 * - VSHL.S32 by the negative amount 32 - n (in [-30, -1]) is an arithmetic right shift: floor division.
 * A layer with some n <= 32 takes the scalar eln_requantize per lane (eln_high_shifts_mve says which).
 * Then the zero point, the clamp to [act_min, 127] (VMAX, VMIN) and the tanh table (a byte gather).
 */
#ifndef ELN_REQUANT_MVE_H
#define ELN_REQUANT_MVE_H

#include "eln_requant.h"

#if defined(ELN_MVE)
#include <arm_mve.h>

/* 1 if channels 0..count-1 all have n > 32 (the vector form below is exact), else 0. */
ELN_INLINE int32_t eln_high_shifts_mve(const eln_quant *quant, int32_t count)
{
    int32_t c;
    for (c = 0; c < count; ++c) {
        if (quant->shift[c] <= 32) {
            return 0;
        }
    }
    return 1;
}

/* acc: four sums (bias' added); m, n: their channels' multipliers and shifts; high: every n > 32. */
ELN_INLINE int32x4_t eln_requantize_mve(int32x4_t acc, int32x4_t m, int32x4_t n, int32_t high)
{
    if (high) {
        const int32x4_t round = vshlq_s32(vdupq_n_s32(1), vsubq_s32(n, vdupq_n_s32(33))); /* 2^(n-33) */
        return vshlq_s32(vaddq_s32(vmulhq_s32(acc, m), round), vsubq_s32(vdupq_n_s32(32), n));
    } else { /* some n <= 32: the scalar form, lane by lane */
        int32_t a[4] __attribute__((aligned(16))), mm[4] __attribute__((aligned(16)));
        int32_t nn[4] __attribute__((aligned(16)));
        int32_t q;
        vstrwq_s32(a, acc), vstrwq_s32(mm, m), vstrwq_s32(nn, n);
        for (q = 0; q < 4; ++q) {
            a[q] = nn[q] > 0 ? eln_requantize(a[q], mm[q], nn[q]) : 0; /* n = 0: a lane past the last channel */
        }
        return vldrwq_s32(a);
    }
}

/* eln_saturate_s8 per lane: zero point, clamp to [act_min, 127], then the tanh table if any; lanes: the
 * active lanes (the table is only read for them). Results are int8 values in int32 lanes. */
ELN_INLINE int32x4_t eln_saturate_mve(int32x4_t requantized, const eln_quant *quant, mve_pred16_t lanes)
{
    int32x4_t y = vaddq_s32(requantized, vdupq_n_s32(quant->zero_point));
    y = vminq_s32(vmaxq_s32(y, vdupq_n_s32(quant->act_min)), vdupq_n_s32(127));
    if (quant->lut != 0) {
        y = vldrbq_gather_offset_z_s32(quant->lut, vreinterpretq_u32_s32(vaddq_s32(y, vdupq_n_s32(128))), lanes);
    }
    return y;
}

/* eln_output_s8 of channels c..c+3 (only those below count; the others are zero): acc + bias',
 * requantized and saturated, as int8 values in int32 lanes. */
ELN_INLINE int32x4_t eln_stage_mve(int32x4_t acc, const int32_t *bias, const eln_quant *quant, int32_t c,
                                      int32_t count, int32_t high)
{
    const mve_pred16_t lanes = vctp32q((uint32_t)(count - c));
    const int32x4_t m = vldrwq_z_s32(quant->multiplier + c, lanes), n = vldrbq_z_s32(quant->shift + c, lanes);
    acc = vaddq_s32(acc, vldrwq_z_s32(bias + c, lanes));
    return eln_saturate_mve(eln_requantize_mve(acc, m, n, high), quant, lanes);
}

/* y's four lanes stored as int8 at out[0..3], or only the first `lanes` of them when fewer remain. */
ELN_INLINE void eln_store_s8_mve(int8_t *out, int32x4_t y, int32_t lanes)
{
    if (lanes >= 4) {
        vstrbq_s32(out, y);
    } else {
        vstrbq_p_s32(out, y, vctp32q((uint32_t)lanes));
    }
}

/* eln_stage_mve, stored as int8 at out[0..3] (only the channels below count). */
ELN_INLINE void eln_output_mve(int32x4_t acc, const int32_t *bias, const eln_quant *quant, int32_t c,
                                  int32_t count, int32_t high, int8_t *out)
{
    vstrbq_p_s32(out, eln_stage_mve(acc, bias, quant, c, count, high), vctp32q((uint32_t)(count - c)));
}

/* The convolutions' form: after each 4 maps' weights the exporter stores their words (layout_mve.py)
 *   {bias'[4], m[4], 2^(n-33)[4], 32 - n[4]}   (n > 32; zeros otherwise, and past the last map)
 * so the epilogue is four unpredicated loads and no arithmetic on n: acc + bias', then as above. */
ELN_INLINE int32x4_t eln_requantize_words_mve(int32x4_t acc, const int32_t *words)
{
    acc = vaddq_s32(acc, vldrwq_s32(words));
    return vshlq_s32(vaddq_s32(vmulhq_s32(acc, vldrwq_s32(words + 4)), vldrwq_s32(words + 8)), vldrwq_s32(words + 12));
}

/* eln_saturate_s8 after eln_requantize_words_mve: lanes past the last channel have m = 0 in their words,
 * so they hold the zero point, clamped: a valid table index, and the gather needs no predicate. */
ELN_INLINE int32x4_t eln_saturate_words_mve(int32x4_t requantized, const eln_quant *quant)
{
    int32x4_t y = vaddq_s32(requantized, vdupq_n_s32(quant->zero_point));
    y = vminq_s32(vmaxq_s32(y, vdupq_n_s32(quant->act_min)), vdupq_n_s32(127));
    if (quant->lut != 0) {
        y = vldrbq_gather_offset_s32(quant->lut, vreinterpretq_u32_s32(vaddq_s32(y, vdupq_n_s32(128))));
    }
    return y;
}

/* Maps c..c+3's pooled or subsampled sums -> their int8 outputs (int32 lanes): the words above when every n
 * of the layer is > 32 (high), else eln_stage_mve on the layer's arrays. */
ELN_INLINE int32x4_t eln_conv_stage_mve(int32x4_t acc, const int32_t *words, const int32_t *bias,
                                        const eln_quant *quant, int32_t c, int32_t count, int32_t high)
{
    if (high) {
        return eln_saturate_words_mve(eln_requantize_words_mve(acc, words), quant);
    }
    return eln_stage_mve(acc, bias, quant, c, count, high);
}

#endif

#endif /* ELN_REQUANT_MVE_H */
