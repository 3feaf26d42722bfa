/* eln_conv_subsample_s8: convolution + tanh, then LeNet-5 subsampling + tanh, fused (classic C1+S2, C3+S4).
 *
 * For each 2x2 window the four convolution outputs go through their own output stage (requantize, tanh
 * table) and are then combined by the subsampling layer exactly as the reference engine runs the two
 * layers one after the other:  s = bias'[c] + sum_(dy,dx) w_s[c][dy][dx] * y[dy][dx],  out = tanh(s).
 * Only the subsampled map is written, so the full-resolution convolution output never needs memory.
 * Loop order as eln_conv_maxpool_s8.c: portable paths windows outside, the DSP path output maps outside.
 * Overflow of s: |s| <= |bias'| + 4 * 127 * 128, tiny. Stack: as eln_conv_maxpool_s8.c.
 */
#include "eln_conv_window.h"

ELN_KERNEL void eln_conv_subsample_s8(const eln_conv_shape *shape, const eln_quant *quant,
                                      const eln_subsample *sub, const int8_t *input, const void *weights,
                                      const int32_t *bias, int8_t *output)
{
    const int32_t side = shape->out_side;
    int32_t c, py, j;
#if defined(ELN_DSP)
    int32_t xw[ELN_CONV_INPUT_WORDS], ww[ELN_CONV_MAP_WORDS]; /* widened input; one map's widened kernels */
    const int32_t *w = (const int32_t *)weights, *map, in_side = shape->in_side;
    eln_dsp_widen_input(shape, input, xw);
    for (c = 0; c < shape->out_channels; ++c) {
        const int8_t *const w_sub = sub->weights + 4 * c; /* (2, 2) */
        w = eln_dsp_map_weights(shape, w, ww, &map);
        for (py = 0; py < side; ++py) {
            const int32_t *patch = xw + 2 * py;         /* window (py, 0): map 0, column pair 0, row 2py */
            const int8_t *const end = output + side;
            do { /* windows (py, px), px = 0..side-1 */
                int32_t acc[4], s = sub->bias[c];
                eln_channel channel;
                eln_dsp_channel(eln_dsp_window(patch, map, acc), &channel);
                for (j = 0; j < 4; ++j) {
                    s += (int32_t)w_sub[j] * eln_saturate_s8(eln_requantize_channel(acc[j] + channel.bias, &channel),
                                                             quant);
                }
                *output++ = eln_output_s8(s, &sub->quant, c); /* (Cout, side, side), in order */
                patch += in_side; /* the next column pair */
            } while (output != end);
        }
    }
    (void)bias;
#else
    int32_t px;
    eln_patch patch;
    for (py = 0; py < side; ++py) {
        for (px = 0; px < side; ++px) {
            const void *w_map = weights;        /* output map c's weights (layout: eln_conv_window.h) */
            const uint8_t *maps = shape->maps;  /* output map c's input maps: n, then n indices */
            eln_conv_patch(shape, input, py, px, &patch);
            for (c = 0; c < shape->out_channels; ++c, maps += 1 + maps[0]) {
                const int8_t *w_sub = sub->weights + 4 * c; /* (2, 2) */
                int32_t acc[4], s = sub->bias[c];
                eln_channel channel;
                w_map = eln_conv_window(shape, maps, &patch, w_map, acc);
                eln_conv_channel(bias, quant, c, &channel);
                for (j = 0; j < 4; ++j) {
                    s += (int32_t)w_sub[j] * eln_saturate_s8(eln_requantize_channel(acc[j] + channel.bias, &channel),
                                                             quant);
                }
                output[(c * side + py) * side + px] = eln_output_s8(s, &sub->quant, c); /* (Cout, side, side) */
            }
        }
    }
#endif
}
