/* eln_conv_patch.h: a convolution window's input, widened to int16 once and shared by every output map.
 *
 * Patch layout (Cin, 3, 6, 2): the 6 columns of each row of the 6x6 input window are grouped in three
 * 16-bit pairs, g = 0: {x[r][0], x[r][2]}, g = 1: {x[r][1], x[r][3]}, g = 2: {x[r][4], x[r][5]}, pair (i, g, r) at word (i*3 + g)*6 + r, so the words of
 * rows r and r+1 are adjacent (eln_conv_window.h explains why; the weights use the same pairs).
 * Host path only: the Thumb path reads the input in place, the DSP path widens the whole layer input.
 */
#ifndef ELN_CONV_PATCH_H
#define ELN_CONV_PATCH_H

#include "eln_target.h"
#include "eln_kernels.h"

#if defined(ELN_THUMB)
/* The Thumb path reads the int8 input in place: the patch is the window's top-left value in map 0. */
typedef struct {
    const int8_t *origin;
} eln_patch;

ELN_INLINE void eln_conv_patch(const eln_conv_shape *shape, const int8_t *input, int32_t py, int32_t px,
                                  eln_patch *patch)
{
    patch->origin = input + (2 * py * shape->in_side + 2 * px);
}
#elif !defined(ELN_DSP) /* the DSP path widens the whole input instead (eln_conv_dsp.h) */
#ifndef ELN_CONV_MAX_MAPS
#define ELN_CONV_MAX_MAPS 16 /* input maps of the largest convolution (the engine defines the exact one) */
#endif
#define ELN_PATCH_WORDS (ELN_CONV_MAX_MAPS * 18 + 1) /* + 1: the portable dy = 1 products read 2 values past */

typedef union { /* values, and words to clear the pad */
    int32_t words[ELN_PATCH_WORDS];
    int16_t values[2 * ELN_PATCH_WORDS];
} eln_patch;

/* input: (Cin, in_side, in_side) int8 -> patch: the 6x6 input window of every map, int16, layout above. */
ELN_INLINE void eln_conv_patch(const eln_conv_shape *shape, const int8_t *input, int32_t py, int32_t px,
                                  eln_patch *patch)
{
    const int32_t side = shape->in_side;
    int32_t i, r;
    for (i = 0; i < shape->in_channels; ++i) {
        const int8_t *row = input + (i * side + 2 * py) * side + 2 * px;
        int16_t *pair = patch->values + i * 36; /* pair (i, g = 0, r), as two int16 values */
        for (r = 0; r < 6; ++r, row += side, pair += 2) {
            pair[0] = row[0], pair[1] = row[2];
            pair[12] = row[1], pair[13] = row[3];
            pair[24] = row[4], pair[25] = row[5];
        }
    }
    patch->words[shape->in_channels * 18] = 0;
}
#endif

#endif /* ELN_CONV_PATCH_H */
