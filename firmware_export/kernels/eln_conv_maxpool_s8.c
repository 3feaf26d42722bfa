/* eln_conv_maxpool_s8: convolution + ReLU (or none) + 2x2 max pooling, fused (the modern C1 and C3).
 * No tanh table: export-c refuses max pooling after tanh (layout.plan_steps), so quant->lut is NULL.
 *
 * Only the pooled map is written: max pooling commutes with the monotonic requantization and the ReLU
 * clamp (docs/quantization.md), so the four accumulators of a window are pooled first and requantized
 * once. The result is bit-identical to requantize -> clamp -> pool, at a quarter of the requantizations.
 * Windows outside, output maps inside: each window's input patch is widened once for all output maps.
 * The per-map epilogue is most of the cost beyond the MACs (C1 has 100 MACs per window and map), so it
 * reads the map's bias' and requantization together (eln_conv_channel) and the layer's output stage from
 * a local copy (the int8 stores could alias *quant). The Thumb and host paths write through a pointer
 * advanced by one map; the DSP path stores at the map's offset word from the last map's pixel, and ends at
 * offset 0 (eln_conv_dsp.h), so its map loop, short of registers, keeps neither a pointer nor an end.
 * Stack: the patch, ELN_PATCH_WORDS * 4 bytes.
 */
#include "eln_conv_window.h"

#if defined(__ARM_FEATURE_DSP) && defined(ELN_CONV_MAXPOOL_FOLDED)
/* The DSP epilogue when the exporter has folded the output stage into the epilogue words (layout.py,
 * _folded_rounding: act_min = -128, every shift n > 32, no int32 overflow below): each map's words are
 * {bias', m, k = n - 32, round' = 2^(k-1) + z_out * 2^k}, and
 *   y = SSAT8((SMMLA(max(acc) + bias', m, round')) >> k)
 * is bit-identical to clamp(requantize(max(acc) + bias') + z_out, -128, 127) (docs/quantization.md):
 * - SMMLA gives round' + floor(x * m / 2^32) exactly (round' * 2^32 added to the 64-bit product is a
 *   multiple of 2^32), the high word that eln_requantize_high shifts;
 * - adding z_out * 2^k before the floor shift by k is adding z_out after it (a multiple of 2^k);
 * - with act_min = -128 the clamp is a signed 8-bit saturation. ReLU layers have z_out = act_min = -128:
 *   the lower clamp is the ReLU, and requantize(x <= 0) <= 0 lands at or below -128;
 * - no overflow: the exporter checks |floor(x * m / 2^32)| + |round'| < 2^31 for |x| <= the accumulator
 *   bound. Per pooled output: LDM, max (9), add, SMMLA, ASR, SSAT, STRB. */
ELN_INLINE int8_t eln_pool_folded(int32_t best, const eln_channel *channel)
{
    int32_t value;
    __asm__("smmla %0, %1, %2, %3" : "=r"(value) : "r"(best + channel->bias), "r"(channel->multiplier),
            "r"(channel->round));
    value = value >= 0 ? value >> channel->high_shift : ~(~value >> channel->high_shift); /* floor shift: ASR */
    __asm__("ssat %0, #8, %1" : "=r"(value) : "r"(value)); /* not ACLE's __ssat: fails -Wsign-conversion */
    return (int8_t)value;
}
#endif

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
            eln_channel channel;
#if defined(__ARM_FEATURE_DSP)
            /* The last map's pixel (py, px): map c's is at channel.offset <= 0 from it, an epilogue word
             * (layout.py) that reaches 0 at the last map, so the loop keeps no output pointer or end
             * (c == 0: no offset is loaded before the first map; GCC folds the test). */
            int8_t *last = output + (geometry->out_channels - 1) * plane + py * side + px;
            __asm__("" : "+r"(last)); /* one opaque base: GCC would re-add its terms at every store */
#define ELN_MORE_MAPS (c == 0 || channel.offset != 0)
#define ELN_OUTPUT last[channel.offset]
#define ELN_NEXT_OUTPUT ((void)0)
#else
            int8_t *out = output + py * side + px;           /* (Cout, side, side): map c's pixel (py, px) */
#define ELN_MORE_MAPS (c < geometry->out_channels)
#define ELN_OUTPUT (*out)
#define ELN_NEXT_OUTPUT (out += plane)
#endif
            eln_conv_patch(geometry, input, py, px, &patch);
            for (c = 0; ELN_MORE_MAPS; ++c, maps += 1 + maps[0], ELN_NEXT_OUTPUT) {
                int32_t acc[4], best;
                w_map = eln_conv_window(geometry, maps, &patch, w_map, acc);
                w_map = eln_conv_channel(w_map, bias, stage, c, &channel);
                best = acc[0] > acc[1] ? acc[0] : acc[1];
                best = acc[2] > best ? acc[2] : best;
                best = acc[3] > best ? acc[3] : best;
#if defined(__ARM_FEATURE_DSP) && defined(ELN_CONV_MAXPOOL_FOLDED)
                ELN_OUTPUT = eln_pool_folded(best, &channel);
#else
                ELN_OUTPUT = eln_clamp_s8(eln_requantize_channel(best + channel.bias, &channel), stage); /* no tanh */
#endif
            }
        }
    }
}
#undef ELN_MORE_MAPS
#undef ELN_OUTPUT
#undef ELN_NEXT_OUTPUT
