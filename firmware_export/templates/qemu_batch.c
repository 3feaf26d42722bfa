/* qemu_batch.c: target-side driver of an exported engine for edgelenet's QEMU runtimes (validate --runtimes
 * qemu-m4 ...); not part of the export. Linked with example/startup.c and a board's linker script, it
 * reads raw uint8 images (INPUT_HEIGHT x INPUT_WIDTH bytes each) from the host file `images.bin` through semihosting in chunks of
 * ELN_CHUNK images, runs the engine on each with SCB->CCR.UNALIGN_TRP set, and writes the int8 logits
 * (${PREFIX}_NUM_CLASSES bytes each) to `logits.bin`. Any failure ends QEMU with a non-zero status. */
#include <stdint.h>

#include "${prefix}.h"

#ifndef ELN_CHUNK
#define ELN_CHUNK 64
#endif
#define ELN_IMAGE_BYTES (${PREFIX}_INPUT_HEIGHT * ${PREFIX}_INPUT_WIDTH)

int main(void);

static int32_t eln_semihost(uint32_t op, const void *args)
{
    register uint32_t r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = args;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return (int32_t)r0;
}

static void eln_fail(void)
{
    (void)eln_semihost(0x18u, (const void *)0x20023u); /* SYS_EXIT, RunTimeErrorUnknown: QEMU exits 1 */
    for (;;) {
    }
}

static int32_t eln_open(const char *name, uint32_t length, uint32_t mode)
{
    const uint32_t args[3] = {(uint32_t)(uintptr_t)name, mode, length};
    const int32_t handle = eln_semihost(0x01u, args); /* SYS_OPEN */
    if (handle < 0) {
        eln_fail();
    }
    return handle;
}

/* SYS_READ / SYS_WRITE return the number of bytes NOT transferred. */
static uint32_t eln_transfer(uint32_t op, int32_t handle, void *buffer, uint32_t bytes)
{
    const uint32_t args[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)buffer, bytes};
    return bytes - (uint32_t)eln_semihost(op, args);
}

static void eln_trap_unaligned(void)
{
#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__)
    *(volatile uint32_t *)0xE000ED14u |= 1u << 3; /* SCB->CCR.UNALIGN_TRP (v6-M, v8-M baseline: always) */
    __asm volatile("dsb\n\tisb" ::: "memory");
#endif
}

int main(void)
{
    static uint8_t pixels[ELN_CHUNK][ELN_IMAGE_BYTES];
    static int8_t logits[ELN_CHUNK][${PREFIX}_NUM_CLASSES];
    static uint32_t scratch[(${PREFIX}_SCRATCH_BYTES + 3) / 4];
    static int8_t input[${PREFIX}_INPUT_LEN];
    const int32_t images = eln_open("images.bin", 10u, 1u);  /* "rb" */
    const int32_t results = eln_open("logits.bin", 10u, 5u); /* "wb" */
    uint32_t got, i;
    eln_trap_unaligned(); /* only semihosting and the engine run from here on */
    while ((got = eln_transfer(0x06u, images, pixels, sizeof pixels)) > 0u) { /* SYS_READ */
        if (got % (uint32_t)ELN_IMAGE_BYTES != 0u) {
            eln_fail();
        }
        for (i = 0; i < got / (uint32_t)ELN_IMAGE_BYTES; ++i) {
            ${prefix}_prepare_input(pixels[i], input);
            if (${prefix}_infer(input, logits[i], scratch) < 0) {
                eln_fail();
            }
        }
        i = got / (uint32_t)ELN_IMAGE_BYTES * (uint32_t)${PREFIX}_NUM_CLASSES;
        if (eln_transfer(0x05u, results, logits, i) != i) { /* SYS_WRITE */
            eln_fail();
        }
    }
    (void)eln_semihost(0x02u, &images); /* SYS_CLOSE */
    (void)eln_semihost(0x02u, &results);
    return 0;
}
