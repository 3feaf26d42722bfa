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

#include "eln_target.h"

#if defined(ELN_DSP)
#include <arm_acle.h>

#if defined(__ARM_BIG_ENDIAN)
#error "the DSP path widens int8 words with SXTB16 in little-endian byte order"
#endif

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

/* Aligned by construction: with the compiler's default flags ARMv7-M GCC may merge byte or halfword loads
 * into one unaligned LDR, which faults when SCB->CCR.UNALIGN_TRP is set. The halfword load is an asm
 * statement, so it stays a halfword; the caller guarantees an even address. */
ELN_INLINE uint32_t eln_load_u16(const int8_t *p)
{
    uint32_t value;
    __asm__("ldrh %0, [%1]" : "=r"(value) : "r"(p), "m"(*(const int8_t(*)[2])p));
    return value;
}
/* A word of int8 values at a 4-byte-aligned address (may_alias: the memory was written as int8). */
typedef int32_t eln_word __attribute__((__may_alias__));
#endif

#endif /* ELN_DSP_H */
