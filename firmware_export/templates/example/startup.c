${banner}
/* Cortex-M start-up, as on hardware: the reset handler copies .data from its load address in flash to
 * RAM, zeroes .bss, turns the FPU on only where this build uses it, sets the fault traps, then runs main
 * and exits. The vector table points every fault at one handler that reports the fault registers through
 * semihosting and stops the program with an error (under QEMU: a non-zero exit status, not a hang).
 *
 * -DELN_FPU_OFF leaves the FPU off even where the compiler may use it: the engine's integer builds must
 * not contain one FP or MVE instruction, and with the FPU off one faults (NOCP) at once.
 * Unaligned-access traps: see main.c (newlib-nano's printf makes unaligned stores, so only the engine's
 * calls run with SCB->CCR.UNALIGN_TRP set). */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t __StackTop, __data_load__, __data_start__, __data_end__, __bss_start__, __bss_end__;
extern int main(void);
extern void initialise_monitor_handles(void); /* newlib rdimon: semihosting stdin/stdout */
extern void __libc_init_array(void);
void eln_reset(void);
void eln_fault(void);
void eln_fault_report(const uint32_t *frame);

#define ELN_SCB_CCR   (*(volatile uint32_t *)0xE000ED14u)
#define ELN_SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define ELN_SCB_CFSR  (*(volatile uint32_t *)0xE000ED28u)
#define ELN_SCB_HFSR  (*(volatile uint32_t *)0xE000ED2Cu)
#define ELN_CCR_DIV_0_TRP   (1u << 4)
#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__)
#define ELN_HAS_CFSR 1 /* ARMv7-M, ARMv8-M mainline (and v8.1-M): configurable fault status registers */
#endif

void eln_reset(void)
{
    const volatile uint32_t *from = &__data_load__; /* volatile: no memcpy call, no vector code here */
    volatile uint32_t *to;
#if (defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)) && !defined(ELN_FPU_OFF)
    ELN_SCB_CPACR |= 0xFu << 20; /* CP10, CP11 full access: FPU (and MVE) on */
    __asm volatile("dsb\n\tisb" ::: "memory");
#endif
    for (to = &__data_start__; to < &__data_end__; ++to) {
        *to = *from++;
    }
    for (to = &__bss_start__; to < &__bss_end__; ++to) {
        *to = 0u;
    }
#ifdef ELN_HAS_CFSR
    ELN_SCB_CCR |= ELN_CCR_DIV_0_TRP; /* UNALIGN_TRP: main.c sets it around the engine's calls */
#endif
    initialise_monitor_handles();
    __libc_init_array();
    exit(main());
}

/* Semihosting (ARM DUI 0471): BKPT 0xAB with the operation in r0 and its argument in r1. */
static void eln_semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
}

static void eln_put_hex(char *text, uint32_t value)
{
    int i;
    for (i = 7; i >= 0; --i) {
        text[i] = "0123456789abcdef"[value & 0xFu];
        value >>= 4;
    }
}

/* Called with the exception frame (r0-r3, r12, lr, pc, xpsr) the core pushed on the main stack. */
void eln_fault_report(const uint32_t *frame)
{
    static char text[] = "FAULT pc 0x........ cfsr 0x........ hfsr 0x........\n";
    eln_put_hex(text + 11, frame[6]);
#ifdef ELN_HAS_CFSR
    eln_put_hex(text + 27, ELN_SCB_CFSR);
    eln_put_hex(text + 43, ELN_SCB_HFSR);
#endif
    eln_semihost(0x04u, text);            /* SYS_WRITE0 */
    eln_semihost(0x18u, (const void *)0x20023u); /* SYS_EXIT, ADP_Stopped_RunTimeErrorUnknown: exit 1 */
    for (;;) {
    }
}

__attribute__((naked)) void eln_fault(void)
{
    __asm volatile("mrs r0, msp\n\tb eln_fault_report"); /* the frame is on the main stack: no RTOS here */
}

__attribute__((section(".vectors"), used)) static const uintptr_t eln_vector_table[16] = {
    (uintptr_t)&__StackTop, (uintptr_t)eln_reset, (uintptr_t)eln_fault, (uintptr_t)eln_fault,
    (uintptr_t)eln_fault, (uintptr_t)eln_fault, (uintptr_t)eln_fault, (uintptr_t)eln_fault, 0, 0, 0,
    (uintptr_t)eln_fault, (uintptr_t)eln_fault, 0, (uintptr_t)eln_fault, (uintptr_t)eln_fault,
};
