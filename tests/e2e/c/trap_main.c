/* trap_main.c: the engine on a Cortex-M configured as safety-minded firmware configures it, under QEMU:
 * SCB->CCR.UNALIGN_TRP and DIV_0_TRP set, the FPU left off (CPACR = 0), no C library start-up. Any
 * unaligned word or halfword access, division by zero or FP/MVE instruction faults, and the fault handler
 * reports CFSR and exits with an error. Each test image runs with its input and logits at the four
 * offsets 0..3 of a word (the caller's buffers may be anywhere; the scratch is 4-byte aligned).
 * Build: the engine's .c, this file, -DTRAP_VECTORS='"vectors.h"' (ELN_TRAP_IMAGES, eln_trap_pixels[N][784]
 * uint8, eln_trap_logits[N][NUM_CLASSES] int8: the reference's logits), the example's link.ld and
 * -nostartfiles. Prints "trap images <N> runs <R> mismatches <M>" and exits 0, or "fault cfsr <hex>". */
#include <stdint.h>

#include "lenet5.h"
#include TRAP_VECTORS

#define SCB_CCR (*(volatile uint32_t *)0xE000ED14u)
#define SCB_SHCSR (*(volatile uint32_t *)0xE000ED24u)
#define SCB_CFSR (*(volatile uint32_t *)0xE000ED28u)
#define CCR_UNALIGN_TRP (1u << 3)
#define CCR_DIV_0_TRP (1u << 4)

extern uint32_t __StackTop, __bss_start__, __bss_end__;
void trap_reset(void);
void trap_fault(void);
int main(void);

/* ARM semihosting: SYS_WRITE0 (0x04) prints a string, SYS_EXIT (0x18) ends QEMU */
static void semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
}

static void put(const char *text)
{
    semihost(0x04, text);
}

static void put_number(uint32_t value, uint32_t base)
{
    char digits[12];
    int32_t at = 11;
    digits[at] = '\0';
    do {
        const uint32_t digit = value % base;
        digits[--at] = (char)(digit < 10 ? '0' + digit : 'a' + digit - 10);
        value /= base;
    } while (value != 0);
    put(digits + at);
}

static void stop(int ok)
{
    semihost(0x18, (const void *)(uintptr_t)(ok ? 0x20026u : 0x20023u)); /* ApplicationExit / RunTimeError */
    for (;;) {
    }
}

void trap_fault(void)
{
    put("fault cfsr ");
    put_number(SCB_CFSR, 16);
    put("\n");
    stop(0);
}

void trap_reset(void)
{
    uint32_t *word;
    for (word = &__bss_start__; word < &__bss_end__; ++word) {
        *word = 0;
    }
    SCB_SHCSR |= 7u << 16; /* MemManage, BusFault and UsageFault handlers enabled: CFSR names the fault */
    SCB_CCR |= CCR_UNALIGN_TRP | CCR_DIV_0_TRP;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    stop(main() == 0);
}

__attribute__((section(".vectors"), used)) static const uintptr_t trap_vector_table[16] = {
    (uintptr_t)&__StackTop, (uintptr_t)trap_reset, (uintptr_t)trap_fault, (uintptr_t)trap_fault,
    (uintptr_t)trap_fault, (uintptr_t)trap_fault, (uintptr_t)trap_fault, 0, 0, 0, 0,
    (uintptr_t)trap_fault, (uintptr_t)trap_fault, 0, (uintptr_t)trap_fault, (uintptr_t)trap_fault,
};

int main(void)
{
    static uint32_t scratch[(LENET5_SCRATCH_BYTES + 3) / 4];
    static uint32_t input_words[LENET5_INPUT_LEN / 4 + 1], logits_words[LENET5_NUM_CLASSES / 4 + 2];
    int8_t *const input_base = (int8_t *)input_words, *const logits_base = (int8_t *)logits_words;
    uint32_t runs = 0, mismatches = 0;
    int32_t n, offset, c;
    for (n = 0; n < ELN_TRAP_IMAGES; ++n) {
        for (offset = 0; offset < 4; ++offset) {
            int8_t *const input = input_base + offset, *const logits = logits_base + (3 - offset);
            lenet5_prepare_input(eln_trap_pixels[n], input);
            if (lenet5_infer(input, logits, scratch) < 0) {
                ++mismatches;
            }
            for (c = 0; c < LENET5_NUM_CLASSES; ++c) {
                mismatches += logits[c] != eln_trap_logits[n][c];
            }
            ++runs;
        }
    }
    put("trap images ");
    put_number((uint32_t)ELN_TRAP_IMAGES, 10);
    put(" runs ");
    put_number(runs, 10);
    put(" mismatches ");
    put_number(mismatches, 10);
    put("\n");
    return mismatches != 0;
}
