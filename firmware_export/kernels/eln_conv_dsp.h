/* eln_conv_dsp.h: the Cortex-M4/M7 (__ARM_FEATURE_DSP) inner loop of eln_conv_window.h.
 *
 * Per input map, its 3 patch column pairs g unrolled: the 6 patch words P[g][0..5] (rows 0..5 of the
 * pair, eln_conv_patch.h) and the 10 weight words {E[ky][g], O[ky][g]}, ky = 0..4, are loaded with LDM (one instruction for 2-4
 * words) into fixed registers, and 20 SMLADs (two 16-bit MACs each) update the four accumulators:
 *   a00 += P[ky].E[ky]   a01 += P[ky].O[ky]   a10 += P[ky+1].E[ky]   a11 += P[ky+1].O[ky]
 * 26 instructions per column pair for 40 MAC slots (33 used: E and O have one zero each), 80 per input
 * map with the loop test (the loop is unrolled per map: 3 passes per map cost C3 4,800 more tests).
 * Layout (layout.py, conv_pack) per output map: per input map its (3, 5, 2) weight words and then the
 * number of input maps left after it, which the pass's last LDM loads as a third word (the loop test is
 * CMP #0: all 14 registers are busy, so an end pointer would be reloaded from the stack each pass); then
 * the map's five epilogue words {bias', m, n - 32, round, offset} (eln_channel), read with one LDM by
 * eln_conv_channel: indexing per-channel arrays costs the register-starved map loop several spills per map.
 * offset, the map's output offset from the last map's, lets the max-pooling map loop store and end
 * without an output pointer (eln_conv_maxpool_s8.c).
 */
#ifndef ELN_CONV_DSP_H
#define ELN_CONV_DSP_H

#include "eln_conv_patch.h"
#include "eln_dsp.h"

#if defined(__ARM_FEATURE_DSP)
/* acc += the two 16-bit products of x and y, in place (a statement): with ACLE's __smlad, GCC 12 renames
 * the accumulators through the LDM registers and copies the weight pointer around the loop (2 MOVs/map) */
#define ELN_SMLAD(acc, x, y) __asm__("smlad %0, %1, %2, %0" : "+r"(acc) : "r"(x), "r"(y))
/* kernel row ky = patch rows (top, bottom) with weights (e, o) */
#define ELN_ROW(top, bottom, e, o)                                                                  \
    do {                                                                                            \
        ELN_SMLAD(a00, top, e); ELN_SMLAD(a01, top, o);                                             \
        ELN_SMLAD(a10, bottom, e); ELN_SMLAD(a11, bottom, o);                                       \
    } while (0)
/* one column pair g: patch rows 0..5, kernel rows 0..4; LAST loads the input map's last weight words */
#define ELN_PAIR(LAST)                                                                              \
    do {                                                                                            \
        ELN_LDM3(p, p0, p1, p2); /* rows 0..2 */                                                    \
        ELN_LDM4(w, e0, o0, e1, o1); /* ky = 0, 1 */                                                \
        ELN_ROW(p0, p1, e0, o0); ELN_ROW(p1, p2, e1, o1);                                           \
        ELN_LDM2(p, p0, p1); /* rows 3, 4 */                                                        \
        ELN_LDM4(w, e0, o0, e1, o1); /* ky = 2, 3 */                                                \
        ELN_ROW(p2, p0, e0, o0); ELN_ROW(p0, p1, e1, o1);                                           \
        ELN_LDR1(p, p2); /* row 5 */                                                                \
        LAST; /* ky = 4 */                                                                          \
        ELN_ROW(p1, p2, e0, o0);                                                                    \
    } while (0)

/* weights: this output map's (Cin, 3, 5 * 2 + 1) words; acc: (2, 2) out; returns its epilogue words.
 * Every input map is read (a partial table is zero weights): a per-map loop for the C3 table cost the
 * dense layers more (register pressure) than it saved classic's C3. */
ELN_INLINE const void *eln_conv_window(const eln_conv_shape *shape, const uint8_t *maps, const eln_patch *patch,
                                          const void *weights, int32_t acc[4])
{
    const int32_t *p = patch->words, *w = (const int32_t *)weights;
    register int32_t e0 __asm__("r0"), o0 __asm__("r1"), e1 __asm__("r2"), o1 __asm__("r3");
    register int32_t p0 __asm__("r4"), p1 __asm__("r5"), p2 __asm__("r6");
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    do { /* one input map per pass; its last LDM also loads the input maps left (layout.py) into e1 */
        ELN_PAIR(ELN_LDM2(w, e0, o0));
        ELN_PAIR(ELN_LDM2(w, e0, o0));
        ELN_PAIR(ELN_LDM3(w, e0, o0, e1));
    } while (e1 != 0); /* input maps left: no end pointer (it would live on the stack) */
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
    (void)shape, (void)maps;
    return w;
}

/* weights: past output map c's kernels, at its five eln_channel words; returns the next map's weights. */
ELN_INLINE const void *eln_conv_channel(const void *weights, const int32_t *bias, const eln_quant *quant,
                                           int32_t c, eln_channel *channel)
{
    const int32_t *w = (const int32_t *)weights;
    register int32_t b __asm__("r0"), m __asm__("r1"), k __asm__("r2"), round __asm__("r3"), offset __asm__("r4");
    ELN_LDM5(w, b, m, k, round, offset);
    channel->bias = b, channel->multiplier = m, channel->high_shift = k, channel->round = round;
    channel->offset = offset;
    (void)bias, (void)quant, (void)c;
    return w;
}
#endif

#endif /* ELN_CONV_DSP_H */
