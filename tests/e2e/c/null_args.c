/* null_args.c: lenet5_infer must return a negative value, and touch nothing, when any argument is NULL
 * (PRODUCT.md). Built with AddressSanitizer, so a dereference of NULL is a crash report, not a pass.
 * lenet5_prepare_input returns void and its contract (lenet5.h) says nothing about NULL: not called here.
 * Prints one line per case, "<case> <return value>"; exits 1 if a case misbehaves. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lenet5.h"

static int check(const char *name, const int8_t *input, int8_t *logits, void *scratch, const int8_t *logits_before)
{
    const int result = lenet5_infer(input, logits, scratch);
    printf("%s %d\n", name, result);
    if (result >= 0) {
        return 1;
    }
    /* rejected before any work: the logits the caller passed are untouched */
    return logits != NULL && memcmp(logits, logits_before, LENET5_NUM_CLASSES) != 0;
}

int main(void)
{
    int8_t *input = calloc(LENET5_INPUT_LEN, 1);
    int8_t *logits = malloc(LENET5_NUM_CLASSES);
    int8_t before[LENET5_NUM_CLASSES];
    void *scratch = malloc(LENET5_SCRATCH_BYTES);
    int failures = 0, result;
    if (input == NULL || logits == NULL || scratch == NULL) {
        return 2;
    }
    memset(logits, 0x5a, LENET5_NUM_CLASSES);
    memcpy(before, logits, sizeof before);
    failures += check("null_input", NULL, logits, scratch, before);
    failures += check("null_logits", input, NULL, scratch, before);
    failures += check("null_scratch", input, logits, NULL, before);
    failures += check("all_null", NULL, NULL, NULL, before);
    /* the control: with every argument valid the same call succeeds */
    result = lenet5_infer(input, logits, scratch);
    printf("valid %d\n", result);
    failures += result < 0 || result >= LENET5_NUM_CLASSES;
    free(input);
    free(logits);
    free(scratch);
    return failures != 0;
}
