${banner}
#ifndef ${PREFIX}_H
#define ${PREFIX}_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ${PREFIX}_INPUT_LEN      1024   /* int8, 32x32, row-major */
#define ${PREFIX}_NUM_CLASSES    10
#define ${PREFIX}_SCRATCH_BYTES  ${scratch_bytes}   /* bytes of scratch the caller passes to ${prefix}_infer, 4-byte aligned */

/* 28x28 MNIST pixels (uint8, row-major) -> the engine's int8 input: q = pixel - 128, 2-pixel border of -128. */
void ${prefix}_prepare_input(const uint8_t pixels[784], int8_t input[${PREFIX}_INPUT_LEN]);

/* Runs ${model_title}; returns the predicted class 0..9 (first maximum of the int8 logits), or a negative
 * value on a NULL argument. Reentrant: all state lives in `scratch` (${PREFIX}_SCRATCH_BYTES, 4-byte aligned). */
int ${prefix}_infer(const int8_t input[${PREFIX}_INPUT_LEN], int8_t logits[${PREFIX}_NUM_CLASSES], void *scratch);

#ifdef __cplusplus
}
#endif

#endif /* ${PREFIX}_H */
