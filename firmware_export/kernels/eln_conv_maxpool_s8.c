/* eln_conv_maxpool_s8: convolution + ReLU (or none) + 2x2 max pooling, fused (the modern C1 and C3).
 * No tanh table: export-c refuses max pooling after tanh (layout.plan_steps), so quant->lut is NULL.
 *
 * Only the pooled map is written: max pooling commutes with the monotonic requantization and the ReLU
 * clamp (docs/quantization.md), so the four accumulators of a window are pooled first and requantized
 * once. The result is bit-identical to requantize -> clamp -> pool, at a quarter of the requantizations.
 * The window sums come from eln_conv_window.h, one function per path; the paths, in this file's order:
 * - Helium (ELN_MVE): per window, its four im2col columns are built once and shared by every output map;
 *   per pair of maps the window sums come from VMLADAVA and are pooled by VMAXV (eln_pair_best_mve), and
 *   four maps' maxima are requantized together, exactly (eln_requant_mve.h). Input (in_side, in_side, Cin)
 *   and output (out_side, out_side, Cout) are channel-last; weights (layout_mve.py): per 4 maps (fewer at
 *   the end), their (4, K) int8 and their 16 epilogue words.
 * - DSP (ELN_DSP): the input is widened once, then output maps outside, windows inside, so each map's
 *   kernels are widened once; the map's epilogue words are read once per map.
 * - Thumb (ELN_THUMB): rows of windows outside, then output maps, then windows: each row's input is
 *   copied once into a strip shared by every output map, and a map's epilogue values are fetched once per
 *   row (eln_conv_window.h).
 * - portable: windows outside, output maps inside: each window's input patch is prepared once for all
 *   output maps.
 * Stack: the patch (ELN_PATCH_WORDS * 4 bytes); on the Thumb path the strip (ELN_THUMB_STRIP words on M3,
 * bytes on M0) and Cout weight sums; on the DSP path the widened input and one map's kernels; on the
 * Helium path eln_window_mve (4 * K + 64 bytes).
 */
#include "eln_conv_window.h"
#include "eln_requant_mve.h"

ELN_KERNEL void eln_conv_maxpool_s8(const eln_conv_shape *shape, const eln_quant *quant, const int8_t *input,
                                    const void *weights, const int32_t *bias, int8_t *output)
{
#if defined(ELN_MVE)
    const int32_t side = shape->out_side, cout = shape->out_channels, high = eln_high_shifts_mve(quant, cout);
    const eln_quant stage = *quant; /* local copies: no reloads after the int8 stores (they could alias them) */
    eln_window_mve win;
    int32_t py, px, c, q;
    eln_window_init_mve(shape, &win);
    for (py = 0; py < side; ++py) {
        for (px = 0; px < side; ++px, output += cout) { /* output: pixel (py, px)'s Cout values */
            const int8_t *w = (const int8_t *)weights;
            eln_window_columns_mve(shape, input, py, px, &win);
            for (c = 0; c < cout; c += 4, w += 64) { /* maps c..c+3, then their epilogue words */
                int32_t best[4] __attribute__((aligned(16))); /* per map: max of its four window sums */
                int32x4_t y;
                for (q = 0; q < 4 && c + q < cout; q += 2) {
                    w = eln_pair_best_mve(&win, w, win.passes, best + q);
                }
                y = eln_conv_stage_mve(vldrwq_s32(best), (const int32_t *)(const void *)w, bias, &stage, c, cout, high);
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
    const eln_quant stage = *quant; /* a local copy: no reloads after the int8 stores (they could alias it) */
    eln_dsp_widen_input(shape, input, xw);
    for (c = 0; c < shape->out_channels; ++c, maps += 1 + maps[0]) {
        const int32_t *const first = xw + maps[1] * plane; /* the first connected input map's words */
        w = eln_dsp_map_weights(shape, maps, w, 4, ww, &map);
        if (maps[0] == 1) { /* (Cout, side, side), in order */
            output = eln_dsp_maxpool_map(first, map, side, &stage, output, 1);
        } else {
            output = eln_dsp_maxpool_map(first, map, side, &stage, output, 0);
        }
    }
    (void)bias, (void)stage;
#elif defined(ELN_THUMB)
    const int32_t side = shape->out_side, map_entries = 6 * shape->in_side;
    const eln_quant stage = *quant; /* a local copy: no reloads after the int8 stores (they could alias it) */
    int32_t c, py, px, sums[ELN_CONV_MAX_OUT];
    eln_strip strip[ELN_THUMB_STRIP]; /* rows 2py..2py+5 of every input map (eln_thumb_strip) */
    eln_thumb_weight_sums(shape, (const int8_t *)weights, sums);
    for (py = 0; py < side; ++py) {
        const int8_t *w = (const int8_t *)weights; /* output map c's (n, 5, 5) kernels */
        const uint8_t *maps = shape->maps;         /* output map c's input maps: n, then n indices */
        eln_thumb_strip(shape, input, py, strip);
        for (c = 0; c < shape->out_channels; ++c, w += 25 * maps[0], maps += 1 + maps[0]) {
            int8_t *const out = output + (c * side + py) * side; /* (Cout, side, side): row py of map c */
            eln_channel channel;
            eln_conv_channel(bias, quant, c, &channel);
            channel.bias -= sums[c];
            for (px = 0; px < side; ++px) {
                int32_t acc[4], best;
                eln_conv_window_thumb(maps, strip + 12 * px, map_entries, w, acc); /* columns 2px.. */
                best = acc[0] > acc[1] ? acc[0] : acc[1];
                best = acc[2] > best ? acc[2] : best;
                best = acc[3] > best ? acc[3] : best;
                out[px] = eln_clamp_s8(eln_requantize_channel(best + channel.bias, &channel), &stage); /* no tanh */
            }
        }
    }
#else /* portable */
    const int32_t side = shape->out_side, plane = side * side;
    int32_t c, py, px;
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
                eln_conv_channel(bias, quant, c, &channel);
                best = acc[0] > acc[1] ? acc[0] : acc[1];
                best = acc[2] > best ? acc[2] : best;
                best = acc[3] > best ? acc[3] : best;
                *out = eln_clamp_s8(eln_requantize_channel(best + channel.bias, &channel), quant); /* no tanh */
            }
        }
    }
#endif
}
