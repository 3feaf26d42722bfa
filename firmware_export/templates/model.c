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
