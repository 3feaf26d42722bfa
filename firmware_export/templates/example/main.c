${banner}
/* Example: classify images with the exported engine, on the host or on a Cortex-M (printf through
 * semihosting). Compile with -DELN_VECTORS='"vectors.h"' to run embedded test vectors: a header that
 * defines ELN_NUM_VECTORS and `static const uint8_t eln_vectors[ELN_NUM_VECTORS][${PREFIX}_INPUT_HEIGHT * ${PREFIX}_INPUT_WIDTH]`.
 * Without it one built-in image (a vertical stroke, MNIST's "1") runs. With -DELN_SYSTICK (mps2 boards under QEMU -icount) it
 * also prints the instructions each step executed: SysTick counts down by one per 40 instructions. */
#include <stdint.h>
#include <stdio.h>

#include "${prefix}.h"

#ifdef ELN_VECTORS
#include ELN_VECTORS
#else
#define ELN_NUM_VECTORS 1
#endif

#ifdef ELN_SYSTICK
#define ELN_SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define ELN_SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define ELN_SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define ELN_MAX_STEPS 8
static uint32_t eln_step_ticks[ELN_MAX_STEPS];
static uint32_t eln_last_tick;
static int32_t eln_steps;

void ${prefix}_profile_hook(int32_t step)
{
    const uint32_t now = ELN_SYST_CVR;
    if (step < ELN_MAX_STEPS) {
        eln_step_ticks[step] = (eln_last_tick - now) & 0xFFFFFFu; /* counts down, wraps at 2^24 */
        eln_steps = step + 1;
    }
    eln_last_tick = now;
}
#endif

#define ELN_PIXELS (${PREFIX}_INPUT_HEIGHT * ${PREFIX}_INPUT_WIDTH)

static void load_image(int32_t index, uint8_t pixels[ELN_PIXELS])
{
    int32_t i;
#ifdef ELN_VECTORS
    for (i = 0; i < ELN_PIXELS; ++i) {
        pixels[i] = eln_vectors[index][i];
    }
#else
    (void)index;
    for (i = 0; i < ELN_PIXELS; ++i) { /* rows 1/7..6/7, columns 13/28..16/28 of the image */
        const int32_t row = i / ${PREFIX}_INPUT_WIDTH, col = i % ${PREFIX}_INPUT_WIDTH;
        const int32_t h = ${PREFIX}_INPUT_HEIGHT, w = ${PREFIX}_INPUT_WIDTH;
        pixels[i] = (uint8_t)(row * 7 >= h && row * 7 < 6 * h && col * 28 >= 13 * w && col * 28 < 16 * w ? 255 : 0);
    }
#endif
}

int main(void)
{
    static uint32_t scratch[(${PREFIX}_SCRATCH_BYTES + 3) / 4]; /* 4-byte aligned */
    static uint8_t pixels[ELN_PIXELS];
    static int8_t input[${PREFIX}_INPUT_LEN];
    int8_t logits[${PREFIX}_NUM_CLASSES];
    int32_t n, c;
    for (n = 0; n < ELN_NUM_VECTORS; ++n) {
        int label;
        load_image(n, pixels);
        ${prefix}_prepare_input(pixels, input);
#ifdef ELN_SYSTICK
        ELN_SYST_RVR = 0xFFFFFFu;
        ELN_SYST_CVR = 0u;
        ELN_SYST_CSR = 5u; /* enable, processor clock */
        eln_last_tick = ELN_SYST_CVR;
        {
            const uint32_t start = eln_last_tick;
            label = ${prefix}_infer(input, logits, scratch);
            printf("instructions %lu steps", (unsigned long)(((start - ELN_SYST_CVR) & 0xFFFFFFu) * 40u));
        }
        for (c = 0; c < eln_steps; ++c) {
            printf(" %lu", (unsigned long)(eln_step_ticks[c] * 40u));
        }
        printf("\n");
#else
        label = ${prefix}_infer(input, logits, scratch);
#endif
        printf("image %ld class %d logits", (long)n, label);
        for (c = 0; c < ${PREFIX}_NUM_CLASSES; ++c) {
            printf(" %d", logits[c]);
        }
        printf("\n");
    }
    return 0;
}
