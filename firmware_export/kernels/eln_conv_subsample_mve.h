/* eln_conv_subsample_s8, Helium (MVE) path: convolution + tanh, then LeNet-5 subsampling + tanh, fused
 * (classic C1+S2, C3+S4). The portable loop it matches: eln_conv_subsample_s8.c; bit-identical to it.
 *
 * Per pooling window (py, px): the four im2col columns are built once and shared by every output map;
 * per four maps, the window sums come from VMLADAVA (eln_pair_sums_mve) as four vectors acc[j]
 * (lanes = maps). Each goes through its own output stage (exact requantization, tanh table), and the
 * subsampling combines them exactly as the reference runs the two layers, four maps per vector:
 *   s = bias'[c] + sum_j w_s[c][j] * y_j[c],  out = tanh(s)      (j = (dy, dx))
 * (A subsampling layer without activation, pool activation "none", has no table: eln_saturate_*_mve then
 * end with the clamp, as the portable loop's eln_output_s8 does.)
 * A partial connection table (C3) is zero weights. Layout: input (in_side, in_side, Cin) and output
 * (out_side, out_side, Cout), channel-last; weights as eln_conv_maxpool_mve.h's, with 48 epilogue words per
 * 4 maps: the convolution's, the subsampling's, and its coefficients per j (layout_mve.py).
 * Stack: eln_window_mve.
 */
#include "eln_conv_window_mve.h"
#include "eln_requant_mve.h"

#if defined(__ARM_FEATURE_MVE)
ELN_KERNEL void eln_conv_subsample_s8(const eln_conv_shape *shape, const eln_quant *quant,
                                      const eln_subsample *sub, const int8_t *input, const void *weights,
                                      const int32_t *bias, int8_t *output)
{
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
