/* eln_conv_subsample_s8: convolution + tanh, then LeNet-5 subsampling + tanh, fused (classic C1+S2, C3+S4).
 *
 * For each 2x2 window the four convolution outputs go through their own output stage (requantize, tanh
 * table) and are then combined by the subsampling layer exactly as the reference engine runs the two
 * layers one after the other:  s = bias'[c] + sum_(dy,dx) w_s[c][dy][dx] * y[dy][dx],  out = tanh(s).
 * A subsampling layer without activation (pool activation "none": its eln_quant has no table) ends with
 * the plain requantize + clamp instead; the folded DSP epilogue learns it from ELN_SUBSAMPLE_LINEAR.
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
    int32_t c, py;
#if defined(ELN_DSP)
    int32_t xw[ELN_CONV_INPUT_WORDS]; /* the widened input */
#if defined(ELN_CONV_INT8)
    int32_t ww[ELN_CONV_MAP_WORDS]; /* one map's widened kernels */
#else
    int32_t *const ww = 0; /* the kernels are read from flash as they are */
#endif
    const int32_t *w = (const int32_t *)weights, *map, in_side = shape->in_side, plane = in_side / 2 * in_side;
    const uint8_t *maps = shape->maps; /* output map c's connected input maps: n, then n indices */
    eln_dsp_widen_input(shape, input, xw);
    for (c = 0; c < shape->out_channels; ++c, maps += 1 + maps[0]) {
        const int8_t *const w_sub = sub->weights + 4 * c; /* (2, 2) */
        const int32_t *const first = xw + maps[1] * plane; /* the first connected input map's words */
#if defined(ELN_CONV_SUBSAMPLE_FOLDED) /* both output stages folded (eln_dsp_folded): 8 epilogue words */
        const int8_t *const lut = quant->lut + 128;
#if !defined(ELN_SUBSAMPLE_LINEAR)
        const int8_t *const sub_lut = sub->quant.lut + 128;
#endif
        w = eln_dsp_map_weights(shape, maps, w, 8, ww, &map);
#else
        w = eln_dsp_map_weights(shape, maps, w, 4, ww, &map);
#endif
        for (py = 0; py < side; ++py) {
            const int32_t *patch = first + 2 * py;      /* window (py, 0): column pair 0, row 2py */
            const int8_t *const end = output + side;
            do { /* windows (py, px), px = 0..side-1 */
                int32_t acc[4];
                eln_channel channel;
                const int32_t *const epilogue = eln_dsp_window(patch, map, acc);
#if defined(ELN_CONV_SUBSAMPLE_FOLDED)
                int32_t s;
                eln_dsp_channel(epilogue, &channel);
                s = (int32_t)w_sub[0] * lut[eln_dsp_folded(acc[0] + channel.bias, &channel)];
                s += (int32_t)w_sub[1] * lut[eln_dsp_folded(acc[1] + channel.bias, &channel)];
                s += (int32_t)w_sub[2] * lut[eln_dsp_folded(acc[2] + channel.bias, &channel)];
                s += (int32_t)w_sub[3] * lut[eln_dsp_folded(acc[3] + channel.bias, &channel)];
                eln_dsp_channel(epilogue + 4, &channel); /* the subsampling layer's words */
#if defined(ELN_SUBSAMPLE_LINEAR) /* the saturated requantization is the output */
                *output++ = (int8_t)eln_dsp_folded(s + channel.bias, &channel); /* (Cout, side, side), in order */
#else
                *output++ = sub_lut[eln_dsp_folded(s + channel.bias, &channel)]; /* (Cout, side, side), in order */
#endif
#else
                int32_t s = sub->bias[c], j;
                eln_dsp_channel(epilogue, &channel);
                for (j = 0; j < 4; ++j) {
                    s += (int32_t)w_sub[j] * eln_saturate_s8(eln_requantize_channel(acc[j] + channel.bias, &channel),
                                                             quant);
                }
                *output++ = eln_output_s8(s, &sub->quant, c); /* (Cout, side, side), in order */
#endif
                patch += in_side; /* the next column pair */
            } while (output != end);
        }
    }
    (void)bias;
#else
    int32_t px, j;
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
                w_map = eln_conv_channel(w_map, bias, quant, c, &channel);
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
