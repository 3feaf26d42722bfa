${banner}
/* Integer-only C99 engine: no float, no malloc, no writable globals (all state in the caller's scratch),
 * every table const. The kernels are hand-written (firmware_export/kernels), pasted below as static
 * functions so that several exported models can live in one firmware; only the layer tables at the end
 * are specific to this model. */
#include <stddef.h>
#include <stdint.h>

#include "${prefix}.h"
#include "${prefix}_weights.h"

#define ELN_KERNEL static

${kernels}
/* ===================================================================================================
 * ${model_title}: the layers
 * =================================================================================================== */

${steps}
#ifdef ${PREFIX}_PROFILE
void ${prefix}_profile_hook(int32_t step); /* supplied by the application; called after each step */
#define ${PREFIX}_AFTER_STEP(step) ${prefix}_profile_hook(step)
#else
#define ${PREFIX}_AFTER_STEP(step) ((void)0)
#endif

/* ---- input geometry and classes (firmware_export/prepare.py) ---- */
${class_names}
${prepare_input}
/* ---- end of input geometry and classes ---- */

int ${prefix}_infer(const int8_t input[${PREFIX}_INPUT_LEN], int8_t logits[${PREFIX}_NUM_CLASSES], void *scratch)
{
    /* scratch: ${scratch_layout} */
    int8_t *const buffer = (int8_t *)scratch;
    int best = 0, c;
    if (input == NULL || logits == NULL || scratch == NULL) {
        return -1;
    }
${calls}
    for (c = 1; c < ${PREFIX}_NUM_CLASSES; ++c) {
        best = logits[c] > logits[best] ? c : best; /* ties go to the lowest index */
    }
    return best;
}

/* ===================================================================================================
 * Application API: confidence (${prefix}.h)
 * =================================================================================================== */

/* round(32768 * exp(-scale * d)) for a logit d steps below the top one; 0 beyond the table. */
static const uint16_t ${prefix}_softmax_exp[${confidence_table_len}] = {
    ${confidence_table}
};

int32_t ${prefix}_confidence(const int8_t logits[${PREFIX}_NUM_CLASSES])
{
    uint32_t sum = 0u;
    int top = 0, c;
    if (logits == NULL) {
        return -1;
    }
    for (c = 1; c < ${PREFIX}_NUM_CLASSES; ++c) {
        top = logits[c] > logits[top] ? c : top;
    }
    for (c = 0; c < ${PREFIX}_NUM_CLASSES; ++c) {
        const int32_t d = (int32_t)logits[top] - (int32_t)logits[c]; /* 0..255 */
        sum += d < ${confidence_table_len} ? ${prefix}_softmax_exp[d] : 0u;
    }
    /* sum >= 32768 (the top class's own term); p = 32768^2 / sum, rounded: 0 < p <= 32768 */
    return (int32_t)(((1u << 30) + sum / 2u) / sum);
}

ELN_INTEGER_END
