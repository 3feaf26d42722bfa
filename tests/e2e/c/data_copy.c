/* data_copy.c: checks example/startup.c on its own: an initialised variable (in .data, stored in flash
 * and copied to RAM) and a zero-initialised one (in .bss, zeroed) hold their values in main. */
#include <stdint.h>
#include <stdio.h>

static volatile uint32_t initialised = 0x12345678u;
static volatile uint32_t zeroed;

int main(void)
{
    printf("data %08lx bss %08lx\n", (unsigned long)initialised, (unsigned long)zeroed);
    return 0;
}
