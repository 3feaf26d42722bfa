/* eln_conv_maxpool_s8: convolution + ReLU (or none) + 2x2 max pooling, fused (the modern C1 and C3).
 * No tanh table: export-c refuses max pooling after tanh (layout.plan_steps), so quant->lut is NULL.
 *
 * Only the pooled map is written: max pooling commutes with the monotonic requantization and the ReLU
 * clamp (docs/quantization.md), so the four accumulators of a window are pooled first and requantized
 * once. The result is bit-identical to requantize -> clamp -> pool, at a quarter of the requantizations.
 * Windows outside, output maps inside: each window's input patch is widened once for all output maps.
 * The per-map epilogue is most of the cost beyond the MACs (C1 has 100 MACs per window and map), so it
 * reads the map's bias' and requantization together (eln_conv_channel) and the layer's output stage from
 * a local copy (the int8 stores could alias *quant), and writes through a pointer advanced by one map.
 * Stack: the patch, ELN_PATCH_WORDS * 4 bytes.
 */
#include "eln_conv_window.h"

ELN_KERNEL void eln_conv_maxpool_s8(const eln_conv_shape *shape, const eln_quant *quant, const int8_t *input,
                                    const void *weights, const int32_t *bias, int8_t *output)
{
#if defined(__ARM_FEATURE_DSP) /* local copies: no reloads after the int8 stores (they could alias them) */
    const eln_conv_shape shape_copy = *shape, *const geometry = &shape_copy;
    const eln_quant quant_copy = *quant, *const stage = &quant_copy;
#else /* the Thumb path's 8 low registers run faster reading through the pointers */
    const eln_conv_shape *const geometry = shape;
    const eln_quant *const stage = quant;
#endif
    const int32_t side = geometry->out_side, plane = side * side;
    eln_patch patch;
    int32_t c, py, px;
    for (py = 0; py < side; ++py) {
        for (px = 0; px < side; ++px) {
            const void *w_map = weights;                     /* output map c's weights (eln_conv_window.h) */
            const uint8_t *maps = geometry->maps;             /* output map c's input maps: n, then n indices */
            int8_t *out = output + py * side + px;           /* (Cout, side, side): map c's pixel (py, px) */
            eln_conv_patch(geometry, input, py, px, &patch);
            for (c = 0; c < geometry->out_channels; ++c, maps += 1 + maps[0], out += plane) {
                int32_t acc[4], best;
                eln_channel channel;
                w_map = eln_conv_window(geometry, maps, &patch, w_map, acc);
                w_map = eln_conv_channel(w_map, bias, stage, c, &channel);
                best = acc[0] > acc[1] ? acc[0] : acc[1];
                best = acc[2] > best ? acc[2] : best;
                best = acc[3] > best ? acc[3] : best;
                *out = eln_clamp_s8(eln_requantize_channel(best + channel.bias, &channel), stage); /* no tanh */
            }
        }
    }
}
