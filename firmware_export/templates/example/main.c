${banner}
/* Example: classify images with the exported engine, on the host or on a Cortex-M (printf through
 * semihosting). Compile with -DELN_VECTORS='"vectors.h"' to run embedded test vectors: a header that
 * defines ELN_NUM_VECTORS and `static const uint8_t eln_vectors[ELN_NUM_VECTORS][${PREFIX}_INPUT_HEIGHT *
 * ${PREFIX}_INPUT_WIDTH]`. Without it one built-in image (a vertical stroke, MNIST's "1") runs.
 *
 * -DELN_SYSTICK (Cortex-M under QEMU -icount shift=0, where time counts instructions): also prints the
 * instructions each inference and, with -D${PREFIX}_PROFILE, each step executed. SysTick runs at a
 * board-specific fraction of the instruction rate, so it is calibrated first with a loop of known
 * length. QEMU counts instructions, not cycles.
 *
 * -DELN_STACK_PAINT (Cortex-M): also prints the stack the first inference used, measured by painting the
 * ELN_PAINT_WORDS words below main's stack pointer and finding the deepest one overwritten. */
#include <stdint.h>
#include <stdio.h>

#include "${prefix}.h"

#ifdef ELN_VECTORS
#include ELN_VECTORS
#else
#define ELN_NUM_VECTORS 1
#endif

#define ELN_PIXELS (${PREFIX}_INPUT_HEIGHT * ${PREFIX}_INPUT_WIDTH)

#ifdef ELN_SYSTICK
#define ELN_SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define ELN_SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define ELN_SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define ELN_MAX_STEPS 8
#define ELN_CAL_LOOPS 200000u /* calibration: 2 instructions per loop, 400,000 instructions */
static uint32_t eln_step_ticks[ELN_MAX_STEPS];
static uint32_t eln_last_tick;
static int32_t eln_steps;
static uint32_t eln_cal_ticks; /* SysTick ticks for 2 * ELN_CAL_LOOPS instructions */

#ifdef ${PREFIX}_PROFILE
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

static void eln_systick_start(void)
{
    ELN_SYST_RVR = 0xFFFFFFu;
    ELN_SYST_CVR = 0u;
    ELN_SYST_CSR = 5u; /* enable, processor clock */
}

/* Ticks of `loops` iterations of a two-instruction loop (SUBS, BNE), plus a constant overhead. */
static uint32_t eln_loop_ticks(uint32_t loops)
{
    uint32_t start;
    eln_systick_start();
    start = ELN_SYST_CVR;
    __asm volatile(".syntax unified\n1:\n\tsubs %0, %0, #1\n\tbne 1b" : "+l"(loops) : : "cc");
    return (start - ELN_SYST_CVR) & 0xFFFFFFu;
}

/* The difference of two loops of different lengths cancels the overhead: ELN_CAL_LOOPS loops more are
 * exactly 2 * ELN_CAL_LOOPS instructions more. */
static void eln_calibrate(void)
{
    eln_cal_ticks = eln_loop_ticks(2u * ELN_CAL_LOOPS) - eln_loop_ticks(ELN_CAL_LOOPS);
    printf("calibration %lu instructions %lu ticks\n", (unsigned long)(2u * ELN_CAL_LOOPS),
           (unsigned long)eln_cal_ticks);
}

static unsigned long eln_instructions(uint32_t ticks)
{
    const uint64_t scaled = (uint64_t)ticks * (2u * ELN_CAL_LOOPS) + eln_cal_ticks / 2u;
    return (unsigned long)(scaled / eln_cal_ticks);
}
#endif

#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__)
#define ELN_SCB_CCR (*(volatile uint32_t *)0xE000ED14u)
/* SCB->CCR.UNALIGN_TRP on ARMv7-M/ARMv8-M mainline (ARMv6-M and v8-M baseline always trap): the engine
 * runs with it set, as in safety-minded firmware. It is cleared again around printf, because newlib-nano's
 * printf itself makes unaligned halfword stores. -DELN_ALLOW_UNALIGNED leaves it clear. */
static void eln_trap_unaligned(int on)
{
#ifndef ELN_ALLOW_UNALIGNED
    ELN_SCB_CCR = on ? (ELN_SCB_CCR | (1u << 3)) : (ELN_SCB_CCR & ~(1u << 3));
    __asm volatile("dsb\n\tisb" ::: "memory");
#else
    (void)on;
#endif
}
#else
#define eln_trap_unaligned(on) ((void)(on))
#endif

#ifdef ELN_STACK_PAINT
#ifndef ELN_PAINT_WORDS
#define ELN_PAINT_WORDS 768 /* 3 KB: fits below the stack of the smallest board (16 KB of RAM) */
#endif
#define ELN_PAINT 0xA5A5A5A5u
static volatile uint32_t *eln_sp; /* main's stack pointer; volatile: the painting stays a plain loop */
static uint32_t eln_stack_bytes;

static uint32_t eln_stack_used(void)
{
    int32_t i = ELN_PAINT_WORDS;
    while (i > 0 && eln_sp[-i] == ELN_PAINT) {
        --i;
    }
    return (uint32_t)i * 4u;
}
#define ELN_MEASURE_STACK(n) ((n) == 0 ? (void)(eln_stack_bytes = eln_stack_used()) : (void)0)
#else
#define ELN_MEASURE_STACK(n) ((void)0)
#endif

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
    static int8_t input[${PREFIX}_INPUT_LEN];
    static uint8_t pixels[ELN_PIXELS];
    int8_t logits[${PREFIX}_NUM_CLASSES];
    int32_t n, c;
#ifdef ELN_SYSTICK
    eln_calibrate();
#endif
    for (n = 0; n < ELN_NUM_VECTORS; ++n) {
        int label;
        load_image(n, pixels);
        eln_trap_unaligned(1);
        ${prefix}_prepare_input(pixels, input);
#ifdef ELN_STACK_PAINT
        if (n == 0) { /* paint inline: a called function's own frame would lie in the painted words */
            uint32_t *sp;
            int32_t i;
            __asm volatile("mov %0, sp" : "=l"(sp));
            eln_sp = sp;
            for (i = 1; i <= ELN_PAINT_WORDS; ++i) {
                eln_sp[-i] = ELN_PAINT;
            }
        }
#endif
#ifdef ELN_SYSTICK
        eln_systick_start();
        eln_steps = 0;
        eln_last_tick = ELN_SYST_CVR;
        {
            const uint32_t start = eln_last_tick;
            uint32_t ticks;
            label = ${prefix}_infer(input, logits, scratch);
            ticks = (start - ELN_SYST_CVR) & 0xFFFFFFu; /* counts down, wraps at 2^24 */
            ELN_MEASURE_STACK(n); /* before printf, whose frames would overwrite the painted words */
            eln_trap_unaligned(0);
            printf("instructions %lu steps", eln_instructions(ticks));
        }
        for (c = 0; c < eln_steps; ++c) {
            printf(" %lu", eln_instructions(eln_step_ticks[c]));
        }
        printf("\n");
#else
        label = ${prefix}_infer(input, logits, scratch);
        ELN_MEASURE_STACK(n);
        eln_trap_unaligned(0);
#endif
        /* confidence: Q15 softmax probability of `label`; a product would reject low values ("no digit") */
#ifdef ELN_STACK_PAINT
        if (n == 0) {
            printf("stack %lu bytes\n", (unsigned long)eln_stack_bytes);
        }
#endif
        printf("image %ld class %d confidence %ld logits", (long)n, label, (long)${prefix}_confidence(logits));
        for (c = 0; c < ${PREFIX}_NUM_CLASSES; ++c) {
            printf(" %d", logits[c]);
        }
        printf("\n");
    }
    return 0;
}
