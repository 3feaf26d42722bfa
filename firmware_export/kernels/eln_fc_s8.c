/* eln_fc_s8: fully connected layer + activation (C5, F6, OUTPUT).
 *
 *   acc[o] = bias'[o] + sum_k x[k] * w[o][k]      then the shared output stage (ReLU, tanh table or none)
 *
 * Four outputs per pass share each input load. Overflow: the partial sums are at most
 * F_in * 128 * 127 <= 6,502,400 (F_in = 400) before the bias, whose exact bound is checked at export time.
 * - portable: int8 weights (F_out, F_in); the k loop is a plain dot product that compilers vectorise.
 * - Thumb (ELN_THUMB): the same weights, the bias as the sums' start. Cortex-M3: 4 rows per pass over
 *   post-incremented pointers (LDRSB, MLA). Cortex-M0 (ELN_THUMB1): 3 rows per pass, every load indexed by
 *   one counter from -F_in up to 0, since Thumb-1's LDRSB has only the register-offset form and 3 row
 *   pointers, the input pointer, the counter, the input value and a product fill the 8 low registers.
 * - DSP: the input is widened once into int16 pairs on the stack (ELN_FC_MAX_IN * 2 bytes), each 4 values
 *   {x0..x3} by two SXTB16 into the pairs {x0, x2}, {x1, x3}. Two weight layouts (export-c --optimize):
 *   - speed: int16 pairs in the same order, (ceil(F_out/4), F_in/2 rounded up to a multiple of 4, 4)
 *     words, zero-padded: per input pair, one LDM of four weight words feeds 4 SMLADs (8 MACs); 4 pairs per
 *     pass: 2 + 4 LDM, 16 SMLAD and the loop test, 25 instructions for 32 MACs; twice the int8 flash.
 *   - size (ELN_FC_INT8): int8, (ceil(F_out/4), F_in/4 rounded up to even, 4) words of 4 weights, widened
 *     at run time as CMSIS-NN does: SXTB16 of a word gives {w0, w2}, of it rotated by 8 {w1, w3}, the
 *     input's pairs; per 16 inputs: 4 + 4 LDM, 32 SXTB16, 32 SMLAD and the loop test, 74 for 64 MACs
 *     (F_in rounded up to 8 and then 8 inputs first if it is an odd multiple of 8).
 *   With ELN_FC_FOLDED (layout.py, fc_with_epilogue) each block of 4 rows is followed by their 12 epilogue
 *   words {bias', m, k = n - 32}, and each output is eln_dsp_fc_output (eln_dsp_folded with round' =
 *   (2z + 1) * 2^(k-1), z the layer's zero point as in layout.py's folded_rounding, then the table): about
 *   10 instructions per row, the sums still in registers, instead of the generic stage's 35 (round' is
 *   computed, not stored: 4 bytes less flash per row).
 *   The input is a scratch region (4-byte aligned) and every weight word is an int32: aligned loads only.
 * - Helium (ELN_MVE): the input is copied once into a zero-padded stack buffer of K = F_in rounded up to 16
 *   (ELN_FC_MAX_IN rounded up likewise), so every load is a whole vector. Weights (layout_mve.py,
 *   fc_pack_mve): per 4 rows, per 16 inputs, the 4 rows' 16 int8 weights, zero-padded (rows past F_out are
 *   zero and not written): per 16 inputs, one input load, four weight loads and four VMLADAVA, 64 MACs in
 *   9 instructions. After a convolution the input is channel-last; the exporter orders that layer's weight
 *   columns to match. The four rows' outputs are requantized together (eln_requant_mve.h).
 */
#include "eln_dsp.h"
#include "eln_kernels.h"
#include "eln_requant_mve.h"

#ifndef ELN_FC_MAX_IN
#define ELN_FC_MAX_IN 400 /* largest F_in rounded up to a multiple of 8 (the engine defines the exact one) */
#endif

#if defined(ELN_THUMB1)
/* Cortex-M0: rows 0..2 += x[k] * w_r[k] for k = -F_in..-1 (bases past the end, as LDRSB's register offset
 * needs): per input LDRSB x, 3 x (LDRSB w, MULS, ADD to an accumulator in a high register), ADDS, BNE:
 * 13 instructions for 3 MACs where GCC 12's code of the same loop takes 15 (7 low registers are taken,
 * and it moves the rest through high ones). The divided/unified syntax as in eln_conv_window.h. */
#if defined(__clang__)
#define ELN_FC_ROWS3_ASM(text) text
#else
#define ELN_FC_ROWS3_ASM(text) ".syntax unified\n\t" text "\n\t.syntax divided"
#endif
#define ELN_FC_ROWS3(x, w0, w1, w2, k, a0, a1, a2)                                                   \
    do {                                                                                             \
        int32_t v_, t_;                                                                              \
        __asm__(ELN_FC_ROWS3_ASM("1:\n\tldrsb %[v], [%[x], %[k]]\n\t"                               \
                                 "ldrsb %[t], [%[w0], %[k]]\n\tmuls %[t], %[v], %[t]\n\tadd %[a0], %[t]\n\t" \
                                 "ldrsb %[t], [%[w1], %[k]]\n\tmuls %[t], %[v], %[t]\n\tadd %[a1], %[t]\n\t" \
                                 "ldrsb %[t], [%[w2], %[k]]\n\tmuls %[t], %[v], %[t]\n\tadd %[a2], %[t]\n\t" \
                                 "adds %[k], #1\n\tbne 1b")                                          \
                : [k] "+l"(k), [v] "=&l"(v_), [t] "=&l"(t_), [a0] "+h"(a0), [a1] "+h"(a1), [a2] "+h"(a2) \
                : [x] "l"(x), [w0] "l"(w0), [w1] "l"(w1), [w2] "l"(w2)                               \
                : "cc", "memory");                                                                   \
    } while (0)
#endif

/* row word w (4 int8 weights) into the row's sum a: SXTB16 of its odd bytes into one temporary, of its even
 * bytes in place, two SMLADs into a in place (with ACLE's __smlad GCC 12 renames the sums through spare
 * registers and spills the loop's end pointer) */
#define ELN_FC_WORD(a, w)                                                                           \
    __asm__("sxtb16 %1, %2, ror #8\n\tsxtb16 %2, %2\n\tsmlad %0, %3, %2, %0\n\tsmlad %0, %4, %1, %0"        \
            : "+r"(a), "=&r"(odd), "+r"(w)                                                          \
            : "r"(x02), "r"(x13))

/* 8 inputs of the 4 rows: per 4, one LDM of the inputs' two pairs, one LDM of the 4 rows' int8 words,
 * 4 ELN_FC_WORD */
#define ELN_FC_EIGHT()                                                                              \
    do {                                                                                            \
        ELN_LDM2(xp, x02, x13);                                                                     \
        ELN_LDM4(w, w0, w1, w2, w3);                                                                \
        ELN_FC_WORD(a0, w0); ELN_FC_WORD(a1, w1); ELN_FC_WORD(a2, w2); ELN_FC_WORD(a3, w3);         \
        ELN_LDM2(xp, x02, x13);                                                                     \
        ELN_LDM4(w, w0, w1, w2, w3);                                                                \
        ELN_FC_WORD(a0, w0); ELN_FC_WORD(a1, w1); ELN_FC_WORD(a2, w2); ELN_FC_WORD(a3, w3);         \
    } while (0)

/* row o + q's output from its sum a and its epilogue words {bias', m, k} at w (advanced): LDM, ADD, SUB,
 * LSL, SMMLA, ASR, SSAT, then the table (if the layer has one) and STRB */
#define ELN_FC_OUTPUT(a, q) (output[o + (q)] = eln_dsp_fc_output((a), &w, z_odd, lut))

ELN_KERNEL void eln_fc_s8(const eln_fc_shape *shape, const eln_quant *quant, const int8_t *input,
                          const void *weights, const int32_t *bias, int8_t *output)
{
#if defined(ELN_MVE)
    const int32_t n_in = shape->in_features, n_out = shape->out_features, taps = (n_in + 15) / 16 * 16;
    int8_t x[(ELN_FC_MAX_IN + 15) / 16 * 16] __attribute__((aligned(16))); /* (K,) input, zero-padded */
    const int8_t *w = (const int8_t *)weights;
    const int32_t high = eln_high_shifts_mve(quant, n_out);
    int32_t o, k;
    for (k = 0; k < taps; k += 16) { /* the tail load is predicated: no read past the input */
        const mve_pred16_t lanes = vctp8q((uint32_t)(n_in - k > 0 ? n_in - k : 0));
        vstrbq_s8(x + k, vldrbq_z_s8(input + k, lanes));
    }
    for (o = 0; o < n_out; o += 4) { /* rows o..o+3 */
        int32_t acc[4] __attribute__((aligned(16))), a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (k = 0; k < taps; k += 16, w += 64) {
            const int8x16_t v = vldrbq_s8(x + k);
            a0 = vmladavaq_s8(a0, v, vldrbq_s8(w));
            a1 = vmladavaq_s8(a1, v, vldrbq_s8(w + 16));
            a2 = vmladavaq_s8(a2, v, vldrbq_s8(w + 32));
            a3 = vmladavaq_s8(a3, v, vldrbq_s8(w + 48));
        }
        acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
        eln_output_mve(vldrwq_s32(acc), bias, quant, o, n_out, high, output + o);
    }
#elif defined(ELN_DSP)
    const int32_t n_in = shape->in_features, n_out = shape->out_features;
    int32_t o, k;
    union { int32_t words[ELN_FC_MAX_IN / 2]; int16_t values[ELN_FC_MAX_IN]; } x; /* (F_in padded,) int16 */
    const int32_t n_pairs = (n_in + 7) / 8 * 4; /* words of input pairs: F_in rounded up to 8, halved */
    const int32_t *w = (const int32_t *)weights;
#if defined(ELN_FC_FOLDED)
    const int8_t *const lut = quant->lut != 0 ? quant->lut + 128 : 0; /* at index 0, or none */
    const int32_t z_odd = 2 * quant->zero_point + 1; /* round' = z_odd * 2^(k-1) */
#endif
    const eln_word *in = (const eln_word *)(const void *)input; /* a scratch region: 4-byte aligned */
    for (k = 0; k + 4 <= n_in; k += 4) { /* 4 values {x0..x3} -> pairs {x0, x2}, {x1, x3} (fc_pack's order) */
        const int32_t four = in[k / 4]; /* x0 in the low byte (little-endian: eln_dsp.h) */
        x.words[k / 2] = __sxtb16(four), x.words[k / 2 + 1] = eln_sxtb16_ror8(four);
    }
    for (; k < 2 * n_pairs; ++k) { /* the tail, and zeros up to the padded length: value k is half k%4/2 of
                                      * word k/4*2 + k%2 */
        x.values[k / 4 * 4 + (k % 2) * 2 + k % 4 / 2] = (int16_t)(k < n_in ? input[k] : 0);
    }
    for (o = 0; o < n_out; o += 4) { /* rows o..o+3 (rows past F_out are zero weights, not stored) */
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        const int32_t *xp = x.words, *const end = x.words + n_pairs;
#if defined(ELN_FC_INT8)
        register int32_t w0 __asm__("r0"), w1 __asm__("r1"), w2 __asm__("r2"), w3 __asm__("r3");
        register int32_t x02 __asm__("r4"), x13 __asm__("r5"); /* {x0, x2}, {x1, x3}: SXTB16's pairs */
        int32_t odd;
        if (n_pairs % 8 != 0) { /* F_in / 8 odd: 8 inputs first, then 16 per pass */
            ELN_FC_EIGHT();
        }
        while (xp != end) { /* 16 inputs: 4 + 4 LDM, 32 SXTB16, 32 SMLAD and the loop test, 74 for 64 MACs */
            ELN_FC_EIGHT();
            ELN_FC_EIGHT();
        }
#else
        do { /* 4 input pairs, 8 LDM-loaded weight words per two: 32 MACs */
            register int32_t w0 __asm__("r0"), w1 __asm__("r1"), w2 __asm__("r2"), w3 __asm__("r3");
            register int32_t x0 __asm__("r4"), x1 __asm__("r5");
            ELN_LDM2(xp, x0, x1);
            ELN_LDM4(w, w0, w1, w2, w3);
            a0 = __smlad(x0, w0, a0), a1 = __smlad(x0, w1, a1), a2 = __smlad(x0, w2, a2), a3 = __smlad(x0, w3, a3);
            ELN_LDM4(w, w0, w1, w2, w3);
            a0 = __smlad(x1, w0, a0), a1 = __smlad(x1, w1, a1), a2 = __smlad(x1, w2, a2), a3 = __smlad(x1, w3, a3);
            ELN_LDM2(xp, x0, x1);
            ELN_LDM4(w, w0, w1, w2, w3);
            a0 = __smlad(x0, w0, a0), a1 = __smlad(x0, w1, a1), a2 = __smlad(x0, w2, a2), a3 = __smlad(x0, w3, a3);
            ELN_LDM4(w, w0, w1, w2, w3);
            a0 = __smlad(x1, w0, a0), a1 = __smlad(x1, w1, a1), a2 = __smlad(x1, w2, a2), a3 = __smlad(x1, w3, a3);
        } while (xp != end);
#endif
#if defined(ELN_FC_FOLDED) /* the block's words {bias', m, k} per row follow its weights */
        ELN_FC_OUTPUT(a0, 0); /* row o < F_out */
        if (o + 4 <= n_out) { /* a full block */
            ELN_FC_OUTPUT(a1, 1), ELN_FC_OUTPUT(a2, 2), ELN_FC_OUTPUT(a3, 3);
        } else { /* the last block: rows past F_out are not written (and w is not read again) */
            if (o + 1 < n_out) {
                ELN_FC_OUTPUT(a1, 1);
            }
            if (o + 2 < n_out) {
                ELN_FC_OUTPUT(a2, 2);
            }
        }
#else
        int32_t acc[4], q;
        acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
        for (q = 0; q < 4 && o + q < n_out; ++q) {
            output[o + q] = eln_output_s8(acc[q] + bias[o + q], quant, o + q);
        }
#endif
    }
    (void)bias;
#elif defined(ELN_THUMB) && !defined(ELN_THUMB1) /* Cortex-M3: 4 rows per pass, pointers advanced */
    const int32_t n_in = shape->in_features, n_out = shape->out_features;
    const int8_t *w = (const int8_t *)weights, *const end = input + n_in; /* row o of (F_out, F_in) */
    int32_t o, rows;
    for (o = 0; o < n_out; o += rows) { /* rows o..o+3, or one row at the end */
        const int8_t *x = input;
        if (n_out - o >= 4) {
            const int8_t *w1 = w + n_in, *w2 = w1 + n_in, *w3 = w2 + n_in;
            int32_t a0 = bias[o], a1 = bias[o + 1], a2 = bias[o + 2], a3 = bias[o + 3];
            do { /* LDRSB x, 4 x (LDRSB w, MLA), the loop test: 11 instructions for 4 MACs */
                const int32_t v = *x++;
                a0 += v * *w++, a1 += v * *w1++, a2 += v * *w2++, a3 += v * *w3++;
            } while (x != end);
            output[o] = eln_output_s8(a0, quant, o), output[o + 1] = eln_output_s8(a1, quant, o + 1);
            output[o + 2] = eln_output_s8(a2, quant, o + 2), output[o + 3] = eln_output_s8(a3, quant, o + 3);
            w = w3, rows = 4;
        } else {
            int32_t a = bias[o];
            do {
                a += *x++ * *w++;
            } while (x != end);
            output[o] = eln_output_s8(a, quant, o), rows = 1;
        }
    }
#elif defined(ELN_THUMB) /* Cortex-M0: 3 rows per pass, indexed from -F_in up to 0 (LDRSB's one form) */
    const int32_t n_in = shape->in_features, n_out = shape->out_features;
    const int8_t *w = (const int8_t *)weights, *const x = input + n_in; /* row o of (F_out, F_in) */
    int32_t o, rows;
    for (o = 0; o < n_out; o += rows) { /* rows o..o+2, or one row at the end */
        int32_t k = -n_in, t;
        if (n_out - o >= 3) {
            const int8_t *const w0 = w + n_in, *const w1 = w0 + n_in, *const w2 = w1 + n_in;
            int32_t a0 = bias[o], a1 = bias[o + 1], a2 = bias[o + 2];
#if defined(__clang__) || !defined(__OPTIMIZE_SIZE__)
            ELN_FC_ROWS3(x, w0, w1, w2, k, a0, a1, a2);
#else /* GCC 12 at -Os cannot give an asm operand a high register ("h"): its own loop, 15 for 3 MACs */
            do {
                const int32_t v = x[k];
                t = w0[k], t *= v, a0 += t;
                t = w1[k], t *= v, a1 += t;
                t = w2[k], t *= v, a2 += t;
            } while (++k);
#endif
            output[o] = eln_output_s8(a0, quant, o), output[o + 1] = eln_output_s8(a1, quant, o + 1);
            output[o + 2] = eln_output_s8(a2, quant, o + 2);
            w = w2, rows = 3;
        } else {
            const int8_t *const w0 = w + n_in;
            int32_t a = bias[o];
            do {
                t = w0[k], t *= x[k], a += t;
            } while (++k);
            output[o] = eln_output_s8(a, quant, o), rows = 1;
            w = w0;
        }
    }
#else
    const int32_t n_in = shape->in_features, n_out = shape->out_features;
    int32_t o, k, q;
    const int8_t *w = (const int8_t *)weights; /* row o of (F_out, F_in); advanced, not indexed */
    for (o = 0; o < n_out; o += 4, w += 4 * n_in) { /* rows o..o+3, or fewer at the end */
        const int32_t rows = n_out - o < 4 ? n_out - o : 4;
        int32_t acc[4] = {0, 0, 0, 0};
        if (rows == 4) {
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            for (k = 0; k < n_in; ++k) {
                const int32_t v = input[k];
                a0 += v * w[k], a1 += v * w[n_in + k], a2 += v * w[2 * n_in + k], a3 += v * w[3 * n_in + k];
            }
            acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
        } else {
            for (q = 0; q < rows; ++q) {
                for (k = 0; k < n_in; ++k) {
                    acc[q] += (int32_t)input[k] * w[q * n_in + k];
                }
            }
        }
        for (q = 0; q < rows; ++q) {
            output[o + q] = eln_output_s8(acc[q] + bias[o + q], quant, o + q);
        }
    }
#endif
}
#if defined(ELN_THUMB1)
#undef ELN_FC_ROWS3
#undef ELN_FC_ROWS3_ASM
#endif
#undef ELN_FC_OUTPUT
#undef ELN_FC_EIGHT
#undef ELN_FC_WORD
