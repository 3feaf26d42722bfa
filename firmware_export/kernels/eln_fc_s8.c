/* eln_fc_s8: fully connected layer + activation (C5, F6, OUTPUT).
 *
 *   acc[o] = bias'[o] + sum_k x[k] * w[o][k]      then the shared output stage (ReLU, tanh table or none)
 *
 * Four outputs per pass share each input load. Overflow: the partial sums are at most
 * F_in * 128 * 127 <= 6,502,400 (F_in = 400) before the bias, whose exact bound is checked at export time.
 */
#include "eln_kernels.h"

ELN_KERNEL void eln_fc_s8(const eln_fc_shape *shape, const eln_quant *quant, const int8_t *input,
                          const int8_t *weights, const int32_t *bias, int8_t *output)
{
    const int32_t n_in = shape->in_features, n_out = shape->out_features;
    const int8_t *w = weights; /* row o of (F_out, F_in); advanced, not indexed, so no o * F_in product */
    int32_t o, k;
    for (o = 0; o + 4 <= n_out; o += 4, w += 4 * n_in) { /* rows o..o+3 */
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (k = 0; k < n_in; ++k) {
            const int32_t x = input[k];
            a0 += x * w[k];
            a1 += x * w[n_in + k];
            a2 += x * w[2 * n_in + k];
            a3 += x * w[3 * n_in + k];
        }
        output[o] = eln_output_s8(a0 + bias[o], quant, o);
        output[o + 1] = eln_output_s8(a1 + bias[o + 1], quant, o + 1);
        output[o + 2] = eln_output_s8(a2 + bias[o + 2], quant, o + 2);
        output[o + 3] = eln_output_s8(a3 + bias[o + 3], quant, o + 3);
    }
    for (; o < n_out; ++o, w += n_in) { /* F_out not a multiple of 4 (F6: 84 is, OUTPUT: 10 is not) */
        int32_t acc = 0;
        for (k = 0; k < n_in; ++k) {
            acc += (int32_t)input[k] * w[k];
        }
        output[o] = eln_output_s8(acc + bias[o], quant, o);
    }
}
