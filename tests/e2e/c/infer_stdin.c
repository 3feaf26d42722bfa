/* infer_stdin.c: runs an exported engine (lenet5.h) on raw int8 engine inputs, for the sanitizer tests.
 * stdin: N x 1024 int8 (LENET5_INPUT_LEN); stdout per input: the returned class (1 byte) then 10 int8 logits.
 * The scratch is malloc'ed at exactly LENET5_SCRATCH_BYTES so AddressSanitizer sees any overrun. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "lenet5.h"

int main(void)
{
    static int8_t input[LENET5_INPUT_LEN];
    int8_t logits[LENET5_NUM_CLASSES];
    void *scratch = malloc(LENET5_SCRATCH_BYTES);
    if (scratch == NULL) {
        return 2;
    }
    while (fread(input, 1, sizeof input, stdin) == sizeof input) {
        const int best = lenet5_infer(input, logits, scratch);
        const int8_t out = (int8_t)best;
        if (fwrite(&out, 1, 1, stdout) != 1 || fwrite(logits, 1, sizeof logits, stdout) != sizeof logits) {
            return 1;
        }
    }
    free(scratch);
    return 0;
}
