/* eln_conv_maxpool_s8, Helium (MVE) path: convolution + ReLU (or none) + 2x2 max pooling, fused.
 * The portable loop it matches: eln_conv_maxpool_s8.c (host path), with the window loop of
 * eln_conv_window_mve.h; bit-identical to it and to the reference (edgelenet/reference.py).
 *
 * Per pooling window (py, px): its four im2col columns are built once and shared by every output map;
 * per pair of maps, the window sums come from VMLADAVA and are pooled by VMAXV (eln_pair_best_mve); four
 * maps' maxima are requantized together, exactly (eln_requant_mve.h), once per pooled output:
 * max pooling commutes with the monotonic requantization and clamp (docs/quantization.md).
 * Layout: input (in_side, in_side, Cin) and output (out_side, out_side, Cout), channel-last, int8;
 * weights (layout_mve.py): per 4 maps (fewer at the end), their (4, K) int8 and their 16 epilogue words.
 * Stack: eln_window_mve, 4 * K + 64 bytes.
 */
#include "eln_conv_window_mve.h"
#include "eln_requant_mve.h"

#if defined(__ARM_FEATURE_MVE)
ELN_KERNEL void eln_conv_maxpool_s8(const eln_conv_shape *shape, const eln_quant *quant, const int8_t *input,
                                    const void *weights, const int32_t *bias, int8_t *output)
{
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
                if (cout - c >= 4) {
                    vstrbq_s32(output + c, y);
                } else {
                    vstrbq_p_s32(output + c, y, vctp32q((uint32_t)(cout - c)));
                }
            }
        }
    }
}
#endif
