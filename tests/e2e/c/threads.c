/* threads.c: lenet5_infer is reentrant (PRODUCT.md: no writable globals, all state in the caller's scratch).
 *
 * The main thread first computes every input's logits alone; then ELN_THREADS threads run ELN_ITERATIONS
 * inferences each, concurrently, each with its own malloc'ed scratch and each starting at a different input,
 * so at any moment the threads run different images. Every result must equal the single-threaded one.
 * Built with -fsanitize=thread (or address). stdin: N x 1024 int8 inputs. stdout: "ok <total inferences>". */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lenet5.h"

#ifndef ELN_THREADS
#define ELN_THREADS 2
#endif
#ifndef ELN_ITERATIONS
#define ELN_ITERATIONS 200
#endif
#define MAX_INPUTS 64

static int8_t inputs[MAX_INPUTS][LENET5_INPUT_LEN];   /* written before the threads start, then read only */
static int8_t expected[MAX_INPUTS][LENET5_NUM_CLASSES];
static int expected_class[MAX_INPUTS];
static int n_inputs;

typedef struct {
    int start;          /* first input index: threads are out of phase */
    int mismatches;
} worker;

static void *run(void *arg)
{
    worker *self = (worker *)arg;
    void *scratch = malloc(LENET5_SCRATCH_BYTES);
    int8_t logits[LENET5_NUM_CLASSES];
    int i;
    if (scratch == NULL) {
        self->mismatches = -1;
        return NULL;
    }
    for (i = 0; i < ELN_ITERATIONS; ++i) {
        const int k = (self->start + i) % n_inputs;
        const int best = lenet5_infer(inputs[k], logits, scratch);
        if (best != expected_class[k] || memcmp(logits, expected[k], sizeof logits) != 0) {
            ++self->mismatches;
        }
    }
    free(scratch);
    return NULL;
}

int main(void)
{
    pthread_t threads[ELN_THREADS];
    worker workers[ELN_THREADS];
    void *scratch = malloc(LENET5_SCRATCH_BYTES);
    int t, mismatches = 0;
    if (scratch == NULL) {
        return 2;
    }
    while (n_inputs < MAX_INPUTS && fread(inputs[n_inputs], 1, LENET5_INPUT_LEN, stdin) == LENET5_INPUT_LEN) {
        ++n_inputs;
    }
    if (n_inputs < 2) {
        return 2;
    }
    for (t = 0; t < n_inputs; ++t) {
        expected_class[t] = lenet5_infer(inputs[t], expected[t], scratch);
    }
    free(scratch);
    for (t = 0; t < ELN_THREADS; ++t) {
        workers[t].start = t * n_inputs / ELN_THREADS + 1;
        workers[t].mismatches = 0;
        if (pthread_create(&threads[t], NULL, run, &workers[t]) != 0) {
            return 2;
        }
    }
    for (t = 0; t < ELN_THREADS; ++t) {
        pthread_join(threads[t], NULL);
        mismatches += workers[t].mismatches;
    }
    if (mismatches != 0) {
        printf("mismatches %d\n", mismatches);
        return 1;
    }
    printf("ok %d\n", ELN_THREADS * ELN_ITERATIONS);
    return 0;
}
