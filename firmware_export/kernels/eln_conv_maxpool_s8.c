/* eln_conv_maxpool_s8: convolution + ReLU (or none) + 2x2 max pooling, fused (the modern C1 and C3).
 *
 * Only the pooled map is written: max pooling commutes with the monotonic requantization and the ReLU
 * clamp (docs/quantization.md), so the four accumulators of a window are pooled first and requantized
 * once. The result is bit-identical to requantize -> clamp -> pool, at a quarter of the requantizations.
 * Windows outside, output maps inside: each window's input patch is widened once for all output maps.
 * Stack: the patch, ELN_PATCH_WORDS * 4 bytes.
 */
#include "eln_conv_window.h"

ELN_KERNEL void eln_conv_maxpool_s8(const eln_conv_shape *shape, const eln_quant *quant, const int8_t *input,
                                    const void *weights, const int32_t *bias, int8_t *output)
{
    const int32_t side = shape->out_side;
    eln_patch patch;
    int32_t c, py, px;
    for (py = 0; py < side; ++py) {
        for (px = 0; px < side; ++px) {
            const void *w_map = weights;        /* output map c's weights (layout: eln_conv_window.h) */
            const uint8_t *maps = shape->maps;  /* output map c's input maps: n, then n indices */
            eln_conv_patch(shape, input, py, px, &patch);
            for (c = 0; c < shape->out_channels; ++c, maps += 1 + maps[0]) {
                int32_t acc[4], best;
                w_map = eln_conv_window(shape, maps, &patch, w_map, acc);
                best = acc[0] > acc[1] ? acc[0] : acc[1];
                best = acc[2] > best ? acc[2] : best;
                best = acc[3] > best ? acc[3] : best;
                output[(c * side + py) * side + px] = eln_output_s8(best + bias[c], quant, c); /* (Cout, side, side) */
            }
        }
    }
}
