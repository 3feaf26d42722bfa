/* eln_dsp.h: Cortex-M4/M7 (ELN_DSP) helpers of the DSP kernel paths.
 *
 * LDM loads 2-5 consecutive words in one instruction. GCC 12 merges at most two loads (LDRD) and, in
 * long SMLAD sequences, hoists loads until it spills, so the DSP loops load through these small asm
 * helpers: each writes named registers (the caller binds them to ascending r0..r6, as LDM requires) and
 * advances the pointer; "memory" orders them after the stores that filled the buffers they read.
 */
#ifndef ELN_DSP_H
#define ELN_DSP_H

#include <stdint.h>

#include "eln_requant.h"
#include "eln_target.h"

#if defined(ELN_DSP)
#include <arm_acle.h>

#if defined(__ARM_BIG_ENDIAN)
#error "the DSP path widens int8 words with SXTB16 in little-endian byte order"
#endif

#define ELN_LDM6(p, a, b, c, d, e, f)                                                                \
    __asm__ volatile("ldmia %0!, {%1, %2, %3, %4, %5, %6}"                                          \
                     : "+r"(p), "=r"(a), "=r"(b), "=r"(c), "=r"(d), "=r"(e), "=r"(f)                 \
                     :                                                                              \
                     : "memory")
#define ELN_LDM5(p, a, b, c, d, e)                                                                   \
    __asm__ volatile("ldmia %0!, {%1, %2, %3, %4, %5}"                                              \
                     : "+r"(p), "=r"(a), "=r"(b), "=r"(c), "=r"(d), "=r"(e)                          \
                     :                                                                              \
                     : "memory")
#define ELN_LDM4(p, a, b, c, d) \
    __asm__ volatile("ldmia %0!, {%1, %2, %3, %4}" : "+r"(p), "=r"(a), "=r"(b), "=r"(c), "=r"(d) : : "memory")
#define ELN_LDM3(p, a, b, c) __asm__ volatile("ldmia %0!, {%1, %2, %3}" : "+r"(p), "=r"(a), "=r"(b), "=r"(c) : : "memory")
#define ELN_LDM2(p, a, b) __asm__ volatile("ldmia %0!, {%1, %2}" : "+r"(p), "=r"(a), "=r"(b) : : "memory")
/* SXTB16 of the value rotated right by 8: bytes 1 and 3 sign-extended into the two halves, one instruction
 * (GCC 12 emits a separate ROR for the C expression) */
ELN_INLINE int32_t eln_sxtb16_ror8(int32_t value)
{
    int32_t result;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(result) : "r"(value));
    return result;
}
#define ELN_LDR1(p, a) __asm__ volatile("ldr %1, [%0], #4" : "+r"(p), "=r"(a) : : "memory")
/* *p++ = a, *p++ = b in one STRD (any two registers; GCC 12 stores word by word) */
#define ELN_STRD(p, a, b) __asm__ volatile("strd %1, %2, [%0], #8" : "+r"(p) : "r"(a), "r"(b) : "memory")

/* Aligned by construction: with the compiler's default flags ARMv7-M GCC may merge byte or halfword loads
 * into one unaligned LDR, which faults when SCB->CCR.UNALIGN_TRP is set. The halfword load is an asm
 * statement, so it stays a halfword; the caller guarantees an even address. */
ELN_INLINE uint32_t eln_load_u16(const int8_t *p)
{
    uint32_t value;
    __asm__("ldrh %0, [%1]" : "=r"(value) : "r"(p), "m"(*(const int8_t(*)[2])p));
    return value;
}
/* a = p[0], b = p[1] (int8, sign-extended), p += 2: two LDRSB, the first with post-increment (any address) */
#define ELN_LDRSB2(p, a, b)                                                                         \
    __asm__("ldrsb %2, [%0, #1]\n\tldrsb %1, [%0], #2"                                              \
            : "+r"(p), "=&r"(a), "=&r"(b)                                                           \
            : "m"(*(const int8_t(*)[2])(p)))
/* the 16-bit pair {low, high} of two int16 values in one PKHBT (the C expression takes two or three) */
ELN_INLINE int32_t eln_pack16(int32_t low, int32_t high)
{
    int32_t result;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(result) : "r"(low), "r"(high));
    return result;
}
/* A word of int8 values at a 4-byte-aligned address (may_alias: the memory was written as int8). */
typedef int32_t eln_word __attribute__((__may_alias__));

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

/* A full layer's folded output (kernels/eln_fc_s8.c, ELN_FC_FOLDED): acc, the row's words {bias', m, k} at
 * *words (advanced by 3), z_odd = 2z + 1 of the layer's zero point z (round' = z_odd * 2^(k-1), layout.py's
 * folded_rounding), lut: the table at index 0, or NULL. */
ELN_INLINE int8_t eln_dsp_fc_output(int32_t acc, const int32_t **words, int32_t z_odd, const int8_t *lut)
{
    register int32_t b __asm__("r0"), m __asm__("r1"), k __asm__("r2");
    const int32_t *p = *words;
    eln_channel channel;
    int32_t y;
    ELN_LDM3(p, b, m, k);
    *words = p;
    channel.multiplier = m, channel.high_shift = k, channel.round = z_odd * ((int32_t)1 << (k - 1));
    y = eln_dsp_folded(acc + b, &channel);
    return lut != 0 ? lut[y] : (int8_t)y;
}
#endif

#endif /* ELN_DSP_H */
