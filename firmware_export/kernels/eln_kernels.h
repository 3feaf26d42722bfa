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

/* Four compile-time paths, chosen by the compiler's feature macros, all bit-identical:
 * - Helium (__ARM_FEATURE_MVE: Cortex-M55/M85 with MVE): VMLADAVA on int8 vectors, im2col columns, exact
 *   vector requantization (eln_*_mve.h: the engine pastes each kernel's _mve.h twin in place of its .c
 *   under this macro). Feature maps between Helium kernels are channel-last (H, W, C), and the weights have
 *   their own layout (layout_mve.py). MVE instructions need coprocessors CP10/CP11 enabled (CPACR bits
 *   20-23, as for the FPU; example/startup.c sets them): no floating-point instruction is used;
 * - DSP (__ARM_FEATURE_DSP: Cortex-M4/M7/M33, M55 without MVE): SMLAD on 16-bit pairs (eln_conv_dsp.h, eln_fc_s8.c);
 * - Thumb (ELN_THUMB: an ARM core without the DSP extension, Cortex-M0/M0+/M3): int8 weights, no zero
 *   padding, unconnected input maps skipped (eln_conv_thumb.h);
 * - host (everything else): the portable C loops, shaped for compilers that vectorise. */
#if !defined(__ARM_FEATURE_DSP) && (defined(__arm__) || defined(__thumb__))
#define ELN_THUMB 1
#endif

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
