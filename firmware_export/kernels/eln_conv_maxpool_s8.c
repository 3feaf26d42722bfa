/* eln_conv_maxpool_s8: convolution + ReLU (or none) + 2x2 max pooling, fused (the modern C1 and C3).
 * No tanh table: export-c refuses max pooling after tanh (layout.plan_steps), so quant->lut is NULL.
 *
 * Only the pooled map is written: max pooling commutes with the monotonic requantization and the ReLU
 * clamp (docs/quantization.md), so the four accumulators of a window are pooled first and requantized
 * once. The result is bit-identical to requantize -> clamp -> pool, at a quarter of the requantizations.
 * - portable (host and Thumb paths): windows outside, output maps inside: each window's input patch is
 *   prepared once for all output maps (eln_conv_window.h); the layer's output stage is read through the
 *   pointer (the Thumb path's 8 low registers run faster that way).
 * - DSP: the input is widened once, then output maps outside, windows inside, so each map's kernels are
 *   widened once (eln_conv_dsp.h); the map's epilogue words are read once per map.
 * Stack: the patch (ELN_PATCH_WORDS * 4 bytes), or on the DSP path the widened input and one map's kernels.
 */
#include "eln_conv_window.h"

ELN_KERNEL void eln_conv_maxpool_s8(const eln_conv_shape *shape, const eln_quant *quant, const int8_t *input,
                                    const void *weights, const int32_t *bias, int8_t *output)
{
    const int32_t side = shape->out_side;
    int32_t c, py;
#if defined(ELN_DSP)
    int32_t xw[ELN_CONV_INPUT_WORDS], ww[ELN_CONV_MAP_WORDS]; /* widened input; one map's widened kernels */
    const int32_t *w = (const int32_t *)weights, *map, in_side = shape->in_side, plane = in_side / 2 * in_side;
    const uint8_t *maps = shape->maps; /* output map c's connected input maps: n, then n indices */
    const eln_quant stage = *quant; /* a local copy: no reloads after the int8 stores (they could alias it) */
    eln_dsp_widen_input(shape, input, xw);
    for (c = 0; c < shape->out_channels; ++c, maps += 1 + maps[0]) {
        const int32_t *const first = xw + maps[1] * plane; /* the first connected input map's words */
        w = eln_dsp_map_weights(shape, maps, w, 4, ww, &map);
        for (py = 0; py < side; ++py) {
            const int32_t *patch = first + 2 * py;      /* window (py, 0): column pair 0, row 2py */
            const int8_t *const end = output + side;
            do { /* windows (py, px), px = 0..side-1 */
                int32_t acc[4], best;
                eln_channel channel;
                eln_dsp_channel(eln_dsp_window(patch, map, acc), &channel);
                best = acc[0] > acc[1] ? acc[0] : acc[1];
                best = acc[2] > best ? acc[2] : best;
                best = acc[3] > best ? acc[3] : best;
#if defined(ELN_CONV_MAXPOOL_FOLDED)
                *output++ = (int8_t)eln_dsp_folded(best + channel.bias, &channel); /* ReLU: z_out = -128 */
#else
                *output++ = eln_clamp_s8(eln_requantize_channel(best + channel.bias, &channel), &stage); /* no tanh */
#endif
                patch += in_side; /* the next column pair */
            } while (output != end);
        }
    }
    (void)bias, (void)stage;
#else
    const int32_t plane = side * side;
    int32_t px;
    eln_patch patch;
    for (py = 0; py < side; ++py) {
        for (px = 0; px < side; ++px) {
            const void *w_map = weights;           /* output map c's weights (eln_conv_window.h) */
            const uint8_t *maps = shape->maps;     /* output map c's input maps: n, then n indices */
            int8_t *out = output + py * side + px; /* (Cout, side, side): map c's pixel (py, px) */
            eln_conv_patch(shape, input, py, px, &patch);
            for (c = 0; c < shape->out_channels; ++c, maps += 1 + maps[0], out += plane) {
                int32_t acc[4], best;
                eln_channel channel;
                w_map = eln_conv_window(shape, maps, &patch, w_map, acc);
                w_map = eln_conv_channel(w_map, bias, quant, c, &channel);
                best = acc[0] > acc[1] ? acc[0] : acc[1];
                best = acc[2] > best ? acc[2] : best;
                best = acc[3] > best ? acc[3] : best;
                *out = eln_clamp_s8(eln_requantize_channel(best + channel.bias, &channel), quant); /* no tanh */
            }
        }
    }
#endif
}
