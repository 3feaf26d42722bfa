/* eln_conv_subsample_s8: convolution + tanh, then LeNet-5 subsampling + tanh, fused (classic C1+S2, C3+S4).
 *
 * For each 2x2 window the four convolution outputs go through their own output stage (requantize, tanh
 * table) and are then combined by the subsampling layer exactly as the reference engine runs the two
 * layers one after the other:  s = bias'[c] + sum_(dy,dx) w_s[c][dy][dx] * y[dy][dx],  out = tanh(s).
 * A subsampling layer without activation (pool activation "none": its eln_quant has no table) ends with
 * the plain requantize + clamp instead; the folded DSP epilogue learns it from ELN_SUBSAMPLE_LINEAR.
 * Only the subsampled map is written, so the full-resolution convolution output never needs memory.
 * Overflow of s: |s| <= |bias'| + 4 * 127 * 128, tiny. Loop order and stack as eln_conv_maxpool_s8.c:
 * - Helium (ELN_MVE): per four maps, the window sums come from VMLADAVA (eln_pair_sums_mve) as four
 *   vectors (lanes = maps); each goes through its own exact output stage and the subsampling combines them
 *   four maps per vector. A partial connection table (C3) is zero weights. Channel-last maps; weights as
 *   eln_conv_maxpool_s8's, with 48 epilogue words per 4 maps: the convolution's, the subsampling's, and
 *   its coefficients per j (layout_mve.py).
 * - DSP (ELN_DSP): output maps outside; with ELN_CONV_SUBSAMPLE_FOLDED both output stages and the
 *   subsampling weights are folded into 10 epilogue words per map, read with two LDMs per window
 *   (eln_dsp_subsample: 35 instructions after the window's MACs, where the generic stage takes about 60).
 * - Thumb (ELN_THUMB): rows of windows outside, then output maps, then windows (eln_conv_maxpool_s8.c);
 *   both output stages' values are fetched once per map and row (the subsampling's as an eln_channel too).
 * - portable: windows outside, output maps inside: every map's window first and then the two output
 *   stages over all maps at once (eln_conv_stage_maps, eln_subsample_stage_maps: loops over maps, which
 *   compilers vectorise; a map at a time they cost more than the window's dot products).
 */
#include "eln_conv_window.h"
#include "eln_requant_mve.h"

ELN_KERNEL void eln_conv_subsample_s8(const eln_conv_shape *shape, const eln_quant *quant,
                                      const eln_subsample *sub, const int8_t *input, const void *weights,
                                      const int32_t *bias, int8_t *output)
{
#if defined(ELN_MVE)
    const int32_t side = shape->out_side, cout = shape->out_channels;
    const int32_t high = eln_high_shifts_mve(quant, cout) && eln_high_shifts_mve(&sub->quant, cout);
    const uint32x4_t every_fourth = vmulq_n_u32(vidupq_n_u32(0, 1), 4); /* byte offsets of w_s[c..c+3][j] */
    const eln_quant stage = *quant, sub_stage = sub->quant; /* local copies: no reloads after the stores */
    int32_t sums[4][4] __attribute__((aligned(16))); /* [output pixel j][map q of the four] */
    eln_window_mve win;
    int32_t py, px, c, j, q;
    eln_window_init_mve(shape, &win);
    for (py = 0; py < side; ++py) {
        for (px = 0; px < side; ++px, output += cout) { /* output: pixel (py, px)'s Cout values */
            const int8_t *w = (const int8_t *)weights;
            eln_window_columns_mve(shape, input, py, px, &win);
            for (c = 0; c < cout; c += 4, w += 192) { /* maps c..c+3, then their 48 epilogue words */
                const int32_t *words;
                int32x4_t s = vdupq_n_s32(0), y;
                for (q = 0; q < 4 && c + q < cout; q += 2) {
                    w = eln_pair_sums_mve(&win, w, win.passes, q, sums);
                }
                words = (const int32_t *)(const void *)w; /* the convolution's, the subsampling's, [j][map] */
                if (high) {
                    for (j = 0; j < 4; ++j) {
                        y = eln_saturate_words_mve(eln_requantize_words_mve(vldrwq_s32(sums[j]), words), &stage);
                        s = vaddq_s32(s, vmulq_s32(y, vldrwq_s32(words + 32 + 4 * j)));
                    }
                    y = eln_saturate_words_mve(eln_requantize_words_mve(s, words + 16), &sub_stage);
                } else { /* some n <= 32: the layers' arrays, lane by lane */
                    const mve_pred16_t lanes = vctp32q((uint32_t)(cout - c));
                    for (j = 0; j < 4; ++j) { /* w_s (Cout, 2, 2): map c's coefficient j at 4c + j */
                        y = eln_stage_mve(vldrwq_s32(sums[j]), bias, &stage, c, cout, 0);
                        s = vaddq_s32(s, vmulq_s32(y, vldrbq_gather_offset_z_s32(sub->weights + 4 * c + j,
                                                                                    every_fourth, lanes)));
                    }
                    y = eln_stage_mve(s, sub->bias, &sub_stage, c, cout, 0);
                }
                eln_store_s8_mve(output + c, y, cout - c);
            }
        }
    }
#elif defined(ELN_DSP)
    const int32_t side = shape->out_side;
    int32_t c;
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
        const int32_t *const first = xw + maps[1] * plane; /* the first connected input map's words */
#if defined(ELN_CONV_SUBSAMPLE_FOLDED) /* both output stages folded (eln_dsp_subsample): 10 epilogue words */
        const int8_t *lut = quant->lut + 128, *sub_lut = 0; /* the tables at index 0 */
#if defined(ELN_SUBSAMPLE_LINEAR)
        (void)sub; /* the subsampling words are all that is read of it */
#else
        sub_lut = sub->quant.lut + 128;
#endif
        __asm__("" : "+r"(lut), "+r"(sub_lut)); /* spilled as they are, not as table + 128 (one ADD a window) */
        w = eln_dsp_map_weights(shape, maps, w, 10, ww, &map);
        if (maps[0] == 1) { /* (Cout, side, side), in order */
            output = eln_dsp_subsample_map(first, map, side, lut, sub_lut, output, 1);
        } else {
            output = eln_dsp_subsample_map(first, map, side, lut, sub_lut, output, 0);
        }
#else
        const int8_t *const w_sub = sub->weights + 4 * c; /* (2, 2) */
        int32_t py;
        w = eln_dsp_map_weights(shape, maps, w, 4, ww, &map);
        for (py = 0; py < side; ++py) {
            const int32_t *patch = first + 2 * py;      /* window (py, 0): column pair 0, row 2py */
            const int8_t *const end = output + side;
            do { /* windows (py, px), px = 0..side-1 */
                int32_t acc[4], s = sub->bias[c], j;
                eln_channel channel;
                eln_dsp_channel(eln_conv_window_dsp(&patch, map, acc, 0), &channel);
                for (j = 0; j < 4; ++j) {
                    s += (int32_t)w_sub[j] * eln_saturate_s8(eln_requantize_channel(acc[j] + channel.bias, &channel),
                                                             quant);
                }
                *output++ = eln_output_s8(s, &sub->quant, c); /* (Cout, side, side), in order */
            } while (output != end);
        }
#endif
    }
    (void)bias;
#elif defined(ELN_THUMB)
    const int32_t side = shape->out_side, map_entries = 6 * shape->in_side;
    int32_t c, py, px, sums[ELN_CONV_MAX_OUT];
    eln_strip strip[ELN_THUMB_STRIP]; /* rows 2py..2py+5 of every input map (eln_thumb_strip) */
    eln_thumb_weight_sums(shape, (const int8_t *)weights, sums);
    for (py = 0; py < side; ++py) {
        const int8_t *w = (const int8_t *)weights; /* output map c's (n, 5, 5) kernels */
        const uint8_t *maps = shape->maps;         /* output map c's input maps: n, then n indices */
        eln_thumb_strip(shape, input, py, strip);
        for (c = 0; c < shape->out_channels; ++c, w += 25 * maps[0], maps += 1 + maps[0]) {
            const int8_t *const w_sub = sub->weights + 4 * c; /* (2, 2) */
            int8_t *const out = output + (c * side + py) * side; /* (Cout, side, side): row py of map c */
            eln_channel channel, sub_channel; /* the convolution's and the subsampling's output stages */
            eln_conv_channel(bias, quant, c, &channel);
            eln_conv_channel(sub->bias, &sub->quant, c, &sub_channel);
            channel.bias -= sums[c];
            if (channel.high_shift > 0 && sub_channel.high_shift > 0) { /* n > 32 in both stages (every LeNet-5
                                                                         * layer): eln_requantize_channel's test
                                                                         * once per row, not per value */
                const int32_t m = channel.multiplier, n = channel.high_shift, r = channel.round;
                for (px = 0; px < side; ++px) {
                    int32_t acc[4], s = sub_channel.bias;
                    eln_conv_window_thumb(maps, strip + 12 * px, map_entries, w, acc); /* columns 2px.. */
                    s += w_sub[0] * eln_saturate_s8(eln_requantize_high(acc[0] + channel.bias, m, n, r), quant);
                    s += w_sub[1] * eln_saturate_s8(eln_requantize_high(acc[1] + channel.bias, m, n, r), quant);
                    s += w_sub[2] * eln_saturate_s8(eln_requantize_high(acc[2] + channel.bias, m, n, r), quant);
                    s += w_sub[3] * eln_saturate_s8(eln_requantize_high(acc[3] + channel.bias, m, n, r), quant);
                    out[px] = eln_saturate_s8(eln_requantize_high(s, sub_channel.multiplier, sub_channel.high_shift,
                                                                  sub_channel.round), &sub->quant);
                }
                continue;
            }
            for (px = 0; px < side; ++px) { /* the same with eln_requantize_channel's test per value */
                int32_t acc[4], s = sub_channel.bias;
                eln_conv_window_thumb(maps, strip + 12 * px, map_entries, w, acc); /* columns 2px.. */
                s += w_sub[0] * eln_saturate_s8(eln_requantize_channel(acc[0] + channel.bias, &channel), quant);
                s += w_sub[1] * eln_saturate_s8(eln_requantize_channel(acc[1] + channel.bias, &channel), quant);
                s += w_sub[2] * eln_saturate_s8(eln_requantize_channel(acc[2] + channel.bias, &channel), quant);
                s += w_sub[3] * eln_saturate_s8(eln_requantize_channel(acc[3] + channel.bias, &channel), quant);
                out[px] = eln_saturate_s8(eln_requantize_channel(s, &sub_channel), &sub->quant);
            }
        }
    }
#else /* portable */
    const int32_t side = shape->out_side, cout = shape->out_channels, plane = side * side;
    int32_t sums[4][ELN_CONV_MAX_OUT]; /* the window's four convolution sums, [j][map]: lanes = maps */
    int32_t y[4][ELN_CONV_MAX_OUT];    /* then the subsampling's inputs (requantized, the table applied) */
    int32_t c, py, px;
    eln_patch patch;
    for (py = 0; py < side; ++py) {
        for (px = 0; px < side; ++px) {
            const void *w_map = weights;           /* output map c's weights (layout: eln_conv_window.h) */
            const uint8_t *maps = shape->maps;     /* output map c's input maps: n, then n indices */
            int8_t *const out = output + py * side + px; /* (Cout, side, side): map c's pixel (py, px) */
            eln_conv_patch(shape, input, py, px, &patch);
            for (c = 0; c < cout; ++c, maps += 1 + maps[0]) {
                int32_t acc[4];
                w_map = eln_conv_window(shape, maps, &patch, w_map, acc);
                sums[0][c] = acc[0], sums[1][c] = acc[1], sums[2][c] = acc[2], sums[3][c] = acc[3];
            }
            eln_conv_stage_maps(sums, bias, quant, cout, y);
            eln_subsample_stage_maps(y, sub, cout, out, plane);
        }
    }
#endif
}
