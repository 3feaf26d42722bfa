/* eln_conv_maxpool_s8: convolution + ReLU (or none) + 2x2 max pooling, fused (the modern C1 and C3).
 *
 * Only the pooled map is written: max pooling commutes with the monotonic requantization and the ReLU
 * clamp (docs/quantization.md), so the four accumulators of a window are pooled first and requantized
 * once. The result is bit-identical to requantize -> clamp -> pool, at a quarter of the requantizations.
 */
#include "eln_conv_window.h"

ELN_KERNEL void eln_conv_maxpool_s8(const eln_conv_shape *shape, const eln_quant *quant, const int8_t *input,
                                    const void *weights, const int32_t *bias, int8_t *output)
{
    const int32_t kernel_bytes = ELN_KERNEL_BYTES(shape->kernel), side = shape->out_side;
    const int8_t *w_map = (const int8_t *)weights; /* this output map's kernels */
    const uint8_t *conn = shape->conn_index;
    int32_t c, py, px;
    for (c = 0; c < shape->out_channels; ++c) {
        const int32_t count = shape->conn_count[c];
        for (py = 0; py < side; ++py) {
            for (px = 0; px < side; ++px) {
                int32_t acc[4], best;
                eln_conv_window(shape, input, w_map, conn, count, py, px, acc);
                best = acc[0] > acc[1] ? acc[0] : acc[1];
                best = acc[2] > best ? acc[2] : best;
                best = acc[3] > best ? acc[3] : best;
                output[(c * side + py) * side + px] = eln_output_s8(best + bias[c], quant, c); /* (Cout, side, side) */
            }
        }
        w_map += count * kernel_bytes;
        conn += count;
    }
}
