${banner}
/* Minimal Cortex-M start-up for QEMU: a 16-entry vector table (initial stack pointer, reset handler that
 * calls newlib's _start, which clears .bss, sets up semihosting and calls main). QEMU loads .data into
 * RAM itself, so nothing is copied from flash. */
#include <stdint.h>

extern uint32_t __StackTop;
extern void _start(void);
void eln_reset(void);

void eln_reset(void)
{
    _start();
    for (;;) {
    }
}

static void eln_fault(void)
{
    for (;;) { /* a fault stops here; the test harness times out */
    }
}

__attribute__((section(".vectors"), used)) static const uintptr_t eln_vector_table[16] = {
    (uintptr_t)&__StackTop, (uintptr_t)eln_reset, (uintptr_t)eln_fault, (uintptr_t)eln_fault,
    (uintptr_t)eln_fault, (uintptr_t)eln_fault, (uintptr_t)eln_fault, 0, 0, 0, 0,
    (uintptr_t)eln_fault, (uintptr_t)eln_fault, 0, (uintptr_t)eln_fault, (uintptr_t)eln_fault,
};
