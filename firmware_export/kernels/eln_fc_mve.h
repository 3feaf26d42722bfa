/* eln_fc_s8, Helium (MVE) path: fully connected layer + activation (C5, F6, OUTPUT).
 * The portable loop it matches: eln_fc_s8.c (portable path, four rows per pass); bit-identical to it.
 *
 *   acc[o] = bias'[o] + sum_k x[k] * w[o][k]      then the shared output stage (ReLU, tanh table or none)
 *
 * The input is copied once into a zero-padded stack buffer of K = F_in rounded up to 16 (ELN_FC_MAX_IN
 * rounded up likewise), so every load is a whole vector. Weights (layout.py, fc_pack_mve): per 4 rows,
 * per 16 inputs, the 4 rows' 16 int8 weights, zero-padded (rows past F_out are zero and not written):
 * per 16 inputs, one input load, four weight loads and four VMLADAVA, 64 MACs in 9 instructions.
 * After a convolution the input is channel-last (eln_conv_window_mve.h); the exporter orders that
 * layer's weight columns to match. The four rows' outputs are requantized together (eln_requant_mve.h).
 */
#include "eln_kernels.h"
#include "eln_requant_mve.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>
#ifndef ELN_FC_MAX_IN
#define ELN_FC_MAX_IN 400 /* largest F_in (the engine defines the exact one) */
#endif

ELN_KERNEL void eln_fc_s8(const eln_fc_shape *shape, const eln_quant *quant, const int8_t *input,
                          const void *weights, const int32_t *bias, int8_t *output)
{
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
}
#endif
