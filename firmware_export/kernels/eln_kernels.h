/* eln_kernels.h: shapes and prototypes of the edgelenet int8 kernels (names eln_<op>_s8).
 *
 * Argument order, as in CMSIS-NN: shape params, quant params, input, weights, bias, output last.
 * Maps are stored channel-major (C, H, W), int8. Every bias has the input zero point folded in at export
 * time (bias'[c] = bias[c] - z_in * sum_k w[c, k]), so the kernels multiply raw int8 values.
 * The generated engine defines ELN_KERNEL as `static` before pasting the kernels into <prefix>.c, so two
 * exported models can share one firmware; compiled on their own (tests) the kernels are extern.
 */
#ifndef ELN_KERNELS_H
#define ELN_KERNELS_H

#include <stdint.h>

#include "eln_requant.h"

/* A 2x2-pooled 5x5 convolution, stride 1, no padding; a partial connection table is zero weights. */
typedef struct {
    int32_t in_channels;          /* Cin */
    int32_t in_side;              /* input maps (Cin, in_side, in_side) */
    int32_t out_channels;         /* Cout */
    int32_t out_side;             /* pooled output maps (Cout, out_side, out_side) */
    const uint8_t *maps;          /* per output map: n, then the n input maps it reads (the C3 table) */
} eln_conv_shape;

/* LeNet-5's S2/S4 subsampling: a depthwise 2x2 stride-2 convolution, then its own output stage. */
typedef struct {
    const int8_t *weights;        /* (Cout, 2, 2) */
    const int32_t *bias;          /* (Cout,) with the zero point of its input folded in */
    eln_quant quant;
} eln_subsample;

/* A fully connected layer. */
typedef struct {
    int32_t in_features;          /* F_in */
    int32_t out_features;         /* F_out: weights are (F_out, F_in) int8, or for DSP see eln_fc_s8.c */
} eln_fc_shape;

/* Compiled on their own, the kernels are extern and declared here; the engine defines ELN_KERNEL as
 * `static` and pastes only the kernels it calls, so it needs (and must not have) these declarations. */
#ifndef ELN_KERNEL
#define ELN_KERNEL
ELN_KERNEL void eln_conv_maxpool_s8(const eln_conv_shape *shape, const eln_quant *quant, const int8_t *input,
                                    const void *weights, const int32_t *bias, int8_t *output);
ELN_KERNEL void eln_conv_subsample_s8(const eln_conv_shape *shape, const eln_quant *quant,
                                      const eln_subsample *sub, const int8_t *input, const void *weights,
                                      const int32_t *bias, int8_t *output);
ELN_KERNEL void eln_fc_s8(const eln_fc_shape *shape, const eln_quant *quant, const int8_t *input,
                          const void *weights, const int32_t *bias, int8_t *output);
#endif

#endif /* ELN_KERNELS_H */
