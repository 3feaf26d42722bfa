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

/* ---- Application API: what the logits mean, how sure the model is, which model this is ------------- */

/* An int8 logit q stands for the real value  OUTPUT_SCALE_MULT / 2^OUTPUT_SCALE_SHIFT * (q - OUTPUT_ZERO_POINT)
 * (scale ${output_scale}): a fixed-point pair, MULT in [2^30, 2^31), so integer code can compare margins. */
#define ${PREFIX}_OUTPUT_SCALE_MULT   ${output_scale_mult}
#define ${PREFIX}_OUTPUT_SCALE_SHIFT  ${output_scale_shift}
#define ${PREFIX}_OUTPUT_ZERO_POINT   (${output_zero_point})

/* Confidence of the predicted class (the first maximum, as ${prefix}_infer returns): its softmax probability
 * over the real logits, in Q15 (${PREFIX}_CONFIDENCE_ONE = 1.0), computed with integers only from a
 * ${confidence_table_len}-entry table of exp(-scale * d) and one division; within ${PREFIX}_NUM_CLASSES / 2 Q15
 * steps of the exact probability. Reject an input ("not a digit") below a threshold chosen on your data.
 * Returns -1 on a NULL argument. */
#define ${PREFIX}_CONFIDENCE_ONE      32768
int32_t ${prefix}_confidence(const int8_t logits[${PREFIX}_NUM_CLASSES]);

/* Which model and generator made this engine (log them, check them at run time). */
#define ${PREFIX}_MODEL_ID            "${model_id}"  /* first 16 hex digits of the artifact's sha256 */
#define ${PREFIX}_MODEL_ID_U32        0x${model_id_u32}u   /* its first 8, as a number */
#define ${PREFIX}_GENERATOR_VERSION   "${generator_version}"  /* edgelenet version */

/* Profiling: compile ${prefix}.c with -D${PREFIX}_PROFILE and define ${prefix}_profile_hook; the engine calls it
 * after each of its ${PREFIX}_NUM_STEPS steps with the step's index (${step_names}).
 * Read a cycle counter there (DWT->CYCCNT on M3/M4/M7/M33/M55, SysTick elsewhere) and subtract the previous
 * reading; example/main.c does it with SysTick. Without ${PREFIX}_PROFILE the engine makes no such call. */
#define ${PREFIX}_NUM_STEPS           ${num_steps}
void ${prefix}_profile_hook(int32_t step);

#ifdef __cplusplus
}
#endif

#endif /* ${PREFIX}_H */
