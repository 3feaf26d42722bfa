/* eln_conv_subsample_s8: convolution + tanh, then LeNet-5 subsampling + tanh, fused (classic C1+S2, C3+S4).
 *
 * For each 2x2 window the four convolution outputs go through their own output stage (requantize, tanh
 * table) and are then combined by the subsampling layer exactly as the reference engine runs the two
 * layers one after the other:  s = bias'[c] + sum_(dy,dx) w_s[c][dy][dx] * y[dy][dx],  out = tanh(s).
 * Only the subsampled map is written, so the full-resolution convolution output never needs memory.
 * Overflow of s: |s| <= |bias'| + 4 * 127 * 128, tiny.
 */
#include "eln_conv_window.h"

ELN_KERNEL void eln_conv_subsample_s8(const eln_conv_shape *shape, const eln_quant *quant,
                                      const eln_subsample *sub, const int8_t *input, const void *weights,
                                      const int32_t *bias, int8_t *output)
{
    const int32_t kernel_bytes = ELN_KERNEL_BYTES(shape->kernel), side = shape->out_side;
    const int8_t *w_map = (const int8_t *)weights; /* this output map's kernels */
    const uint8_t *conn = shape->conn_index;
    int32_t c, py, px, j;
    for (c = 0; c < shape->out_channels; ++c) {
        const int32_t count = shape->conn_count[c];
        const int8_t *w_sub = sub->weights + 4 * c; /* (2, 2) */
        for (py = 0; py < side; ++py) {
            for (px = 0; px < side; ++px) {
                int32_t acc[4], s = sub->bias[c];
                eln_conv_window(shape, input, w_map, conn, count, py, px, acc);
                for (j = 0; j < 4; ++j) {
                    s += (int32_t)w_sub[j] * eln_output_s8(acc[j] + bias[c], quant, c);
                }
                output[(c * side + py) * side + px] = eln_output_s8(s, &sub->quant, c); /* (Cout, side, side) */
            }
        }
        w_map += count * kernel_bytes;
        conn += count;
    }
}
