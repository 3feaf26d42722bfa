${banner}
#ifndef ${PREFIX}_H
#define ${PREFIX}_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- input geometry and classes (edgelenet/resample.py, docs/data.md) ---- */
#define ${PREFIX}_INPUT_HEIGHT   ${input_height}     /* source image geometry the model was trained on */
#define ${PREFIX}_INPUT_WIDTH    ${input_width}
#define ${PREFIX}_INPUT_LEN      1024   /* int8, 32x32, row-major: the LeNet-5 input field */
#define ${PREFIX}_NUM_CLASSES    ${num_classes}
extern const char *const ${prefix}_class_names[${PREFIX}_NUM_CLASSES];

/* ${PREFIX}_INPUT_HEIGHT x ${PREFIX}_INPUT_WIDTH pixels (uint8, row-major) -> the engine's int8 input: the image
 * resampled into the 32x32 field with the model's background level, q = pixel - 128. */
void ${prefix}_prepare_input(const uint8_t pixels[${PREFIX}_INPUT_HEIGHT * ${PREFIX}_INPUT_WIDTH],
                             int8_t input[${PREFIX}_INPUT_LEN]);
/* ---- end of input geometry and classes ---- */

#define ${PREFIX}_SCRATCH_BYTES  ${scratch_bytes}   /* bytes of scratch the caller passes to ${prefix}_infer, 4-byte aligned */

/* Runs ${model_title}; returns the predicted class 0..${PREFIX}_NUM_CLASSES-1 (first maximum of the int8 logits), or a negative
 * value on a NULL argument. Reentrant: all state lives in `scratch` (${PREFIX}_SCRATCH_BYTES, 4-byte aligned). */
int ${prefix}_infer(const int8_t input[${PREFIX}_INPUT_LEN], int8_t logits[${PREFIX}_NUM_CLASSES], void *scratch);

#ifdef __cplusplus
}
#endif

#endif /* ${PREFIX}_H */
