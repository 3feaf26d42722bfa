/* batch.c: host-side driver of an exported engine for edgelenet's CRuntime and tests; not part of the
 * export. eln_batch() runs N images; built with -DELN_BATCH_MAIN it is a program that reads N images of
 * INPUT_HEIGHT x INPUT_WIDTH raw pixels on stdin and writes N x NUM_CLASSES int8 logits on stdout (used under the sanitizers). */
#include <stdint.h>
#include <stdio.h>

#include "${prefix}.h"

int eln_batch(const uint8_t *pixels, int32_t n, int8_t *logits);

int eln_batch(const uint8_t *pixels, int32_t n, int8_t *logits)
{
    uint32_t scratch[(${PREFIX}_SCRATCH_BYTES + 3) / 4];
    int8_t input[${PREFIX}_INPUT_LEN];
    int32_t i;
    for (i = 0; i < n; ++i) {
        ${prefix}_prepare_input(pixels + ${PREFIX}_INPUT_HEIGHT * ${PREFIX}_INPUT_WIDTH * i, input);
        if (${prefix}_infer(input, logits + ${PREFIX}_NUM_CLASSES * i, scratch) < 0) {
            return -1;
        }
    }
    return 0;
}

#ifdef ELN_BATCH_MAIN
int main(void)
{
    static uint8_t pixels[${PREFIX}_INPUT_HEIGHT * ${PREFIX}_INPUT_WIDTH];
    int8_t logits[${PREFIX}_NUM_CLASSES];
    while (fread(pixels, 1, sizeof pixels, stdin) == sizeof pixels) {
        if (eln_batch(pixels, 1, logits) != 0 || fwrite(logits, 1, sizeof logits, stdout) != sizeof logits) {
            return 1;
        }
    }
    return 0;
}
#endif
