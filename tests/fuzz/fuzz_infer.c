/* fuzz_infer.c: libFuzzer harness for an exported engine (lenet5.h, the default --prefix).
 *
 * Built by tests/e2e/test_c_fuzz.py with clang -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
 * and edgelenet's strict warning flags, against OUT/lenet5.c. The fuzzer's bytes are, after one mode byte:
 *   mode even: the 1024 int8 engine input, given straight to lenet5_infer;
 *   mode odd:  784 uint8 pixels, given to lenet5_prepare_input, whose result then goes to lenet5_infer.
 * Short inputs are zero-padded and long ones truncated, so every byte string is a valid input.
 *
 * Every buffer (pixels, input, logits, scratch) is malloc'ed at its exact documented size, so AddressSanitizer
 * turns any read or write past LENET5_INPUT_LEN, LENET5_NUM_CLASSES or LENET5_SCRATCH_BYTES into a crash.
 * Besides memory and undefined-behaviour errors, the harness aborts when the engine breaks its contract:
 *   - the class is not 0..9 or not the first maximum of the int8 logits;
 *   - the result depends on the scratch's initial contents (two runs over different garbage differ);
 *   - the const input was modified;
 *   - prepare_input is not q = pixel - 128 inside a 2-pixel border of -128.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lenet5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PIXELS 784

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_infer: contract violated: %s\n", what);
    abort();
}

static void *exact(size_t bytes)
{
    void *p = malloc(bytes);
    if (p == NULL) {
        fail("malloc");
    }
    return p;
}

/* Fill with a pattern that depends on `seed`, so the two scratch buffers hold different garbage. */
static void garbage(uint8_t *p, size_t n, uint32_t seed)
{
    size_t i;
    for (i = 0; i < n; ++i) {
        seed = seed * 1664525u + 1013904223u; /* LCG: cheap, deterministic, every byte value appears */
        p[i] = (uint8_t)(seed >> 24);
    }
}

static int first_maximum(const int8_t *logits)
{
    int best = 0, c;
    for (c = 1; c < LENET5_NUM_CLASSES; ++c) {
        if (logits[c] > logits[best]) {
            best = c;
        }
    }
    return best;
}

static void check_prepared(const uint8_t *pixels, const int8_t *input)
{
    int y, x;
    for (y = 0; y < 32; ++y) {
        for (x = 0; x < 32; ++x) {
            const int inside = y >= 2 && y < 30 && x >= 2 && x < 30;
            const int expected = inside ? (int)pixels[(y - 2) * 28 + (x - 2)] - 128 : -128;
            if (input[y * 32 + x] != expected) {
                fail("prepare_input is not pixel - 128 with a -128 border");
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int prepare = size > 0 && (data[0] & 1u);
    const uint8_t *payload = size > 0 ? data + 1 : data;
    const size_t available = size > 0 ? size - 1 : 0;
    int8_t *input = exact(LENET5_INPUT_LEN);
    int8_t *copy = exact(LENET5_INPUT_LEN);
    int8_t *logits_a = exact(LENET5_NUM_CLASSES);
    int8_t *logits_b = exact(LENET5_NUM_CLASSES);
    uint8_t *scratch_a = exact(LENET5_SCRATCH_BYTES); /* exact size: one byte more written is an ASan error */
    uint8_t *scratch_b = exact(LENET5_SCRATCH_BYTES);
    int class_a, class_b;

    if (prepare) {
        uint8_t *pixels = exact(PIXELS);
        memset(pixels, 0, PIXELS);
        memcpy(pixels, payload, available < PIXELS ? available : PIXELS);
        memset(input, 0x5a, LENET5_INPUT_LEN); /* every byte must be overwritten */
        lenet5_prepare_input(pixels, input);
        check_prepared(pixels, input);
        free(pixels);
    } else {
        memset(input, 0, LENET5_INPUT_LEN);
        memcpy(input, payload, available < LENET5_INPUT_LEN ? available : LENET5_INPUT_LEN);
    }
    memcpy(copy, input, LENET5_INPUT_LEN);

    garbage(scratch_a, LENET5_SCRATCH_BYTES, 0x12345678u ^ (uint32_t)size);
    garbage(scratch_b, LENET5_SCRATCH_BYTES, 0x9abcdef0u + (uint32_t)size);
    memset(logits_a, 0x11, LENET5_NUM_CLASSES);
    memset(logits_b, 0x77, LENET5_NUM_CLASSES); /* different, so unwritten logits would differ */
    class_a = lenet5_infer(input, logits_a, scratch_a);
    class_b = lenet5_infer(input, logits_b, scratch_b);

    if (class_a < 0 || class_a >= LENET5_NUM_CLASSES) {
        fail("class out of 0..9");
    }
    if (class_a != first_maximum(logits_a)) {
        fail("class is not the first maximum of the logits");
    }
    if (class_a != class_b || memcmp(logits_a, logits_b, LENET5_NUM_CLASSES) != 0) {
        fail("result depends on the scratch's initial contents");
    }
    if (memcmp(copy, input, LENET5_INPUT_LEN) != 0) {
        fail("the const input was modified");
    }
    free(input);
    free(copy);
    free(logits_a);
    free(logits_b);
    free(scratch_a);
    free(scratch_b);
    return 0;
}
