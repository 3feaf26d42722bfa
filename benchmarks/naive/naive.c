/* naive.c: the baseline of benchmarks/mcu.py, a straightforward C implementation of the same network.
 *
 * What a developer writes first: one plain nested loop per layer over full-size static int8 buffers,
 * int8 inputs and weights, int32 accumulation of (x - z_in) * w, then the same requantization as the
 * reference (int64 product, one rounding half up) and activation; max pooling as a separate pass; classic
 * C3's partial table as zero weights. The layers' shapes and weights come from naive_weights.h
 * (benchmarks/naive/generate.py) as const structs that the compiler folds into each inlined call, so
 * every loop bound is a constant, as in hand-written per-layer code. Built with -O3 for each core and run under QEMU beside the engine; it
 * prints the example's format (instructions, then class and logits) so the same parser reads it.
 */
#include <stdint.h>
#include <stdio.h>

#include "naive_weights.h" /* naive_layer, one const naive_<layer> each, NAIVE_FORWARD: the sequence */
#include ELN_VECTORS       /* ELN_NUM_VECTORS, eln_vectors[][784] */

#define NAIVE_MAX_MAP 4704 /* largest map: C1's 6x28x28 before pooling */

static int8_t buffer_a[NAIVE_MAX_MAP], buffer_b[NAIVE_MAX_MAP];

static int8_t output_stage(int32_t acc, const naive_layer *l, int32_t c)
{
    const int32_t n = l->shift[c];
    int64_t v = ((int64_t)acc * l->multiplier[c] + ((int64_t)1 << (n - 1))) >> n;
    v += l->zero_point;
    v = v < l->act_min ? l->act_min : v > 127 ? 127 : v;
    return l->lut ? l->lut[v + 128] : (int8_t)v;
}

static inline __attribute__((always_inline)) void conv(const naive_layer *l, const int8_t *in, int8_t *out)
{
    const int32_t per_group_in = l->cin / l->groups, per_group_out = l->cout / l->groups;
    int32_t co, oy, ox, ci, ky, kx;
    for (co = 0; co < l->cout; ++co) {
        const int32_t first = (co / per_group_out) * per_group_in;
        for (oy = 0; oy < l->conv_side; ++oy) {
            for (ox = 0; ox < l->conv_side; ++ox) {
                int32_t acc = l->bias[co];
                for (ci = 0; ci < per_group_in; ++ci) {
                    for (ky = 0; ky < l->k; ++ky) {
                        for (kx = 0; kx < l->k; ++kx) {
                            const int32_t x = in[((first + ci) * l->in_side + oy * l->stride + ky) * l->in_side
                                                 + ox * l->stride + kx];
                            acc += (x - l->z_in) * l->weights[((co * per_group_in + ci) * l->k + ky) * l->k + kx];
                        }
                    }
                }
                out[(co * l->conv_side + oy) * l->conv_side + ox] = output_stage(acc, l, co);
            }
        }
    }
}

static inline void maxpool(int32_t maps, int32_t side, const int8_t *in, int8_t *out)
{
    const int32_t half = side / 2;
    int32_t c, y, x;
    for (c = 0; c < maps; ++c) {
        for (y = 0; y < half; ++y) {
            for (x = 0; x < half; ++x) {
                const int8_t *p = in + (c * side + 2 * y) * side + 2 * x;
                int8_t m = p[0];
                m = p[1] > m ? p[1] : m;
                m = p[side] > m ? p[side] : m;
                m = p[side + 1] > m ? p[side + 1] : m;
                out[(c * half + y) * half + x] = m;
            }
        }
    }
}

static inline __attribute__((always_inline)) void linear(const naive_layer *l, const int8_t *in, int8_t *out)
{
    int32_t o, k;
    for (o = 0; o < l->cout; ++o) {
        int32_t acc = l->bias[o];
        for (k = 0; k < l->cin; ++k) {
            acc += (in[k] - l->z_in) * l->weights[o * l->cin + k];
        }
        out[o] = output_stage(acc, l, o);
    }
}

/* 28x28 pixels -> logits; returns the first maximum. */
static int naive_infer(const uint8_t *pixels, int8_t logits[10])
{
    int8_t *in = buffer_a, *out = buffer_b, *t;
    int32_t i, y, x, best = 0;
    for (y = 0; y < 32; ++y) {
        for (x = 0; x < 32; ++x) {
            const int inside = y >= 2 && y < 30 && x >= 2 && x < 30;
            in[y * 32 + x] = inside ? (int8_t)(pixels[(y - 2) * 28 + (x - 2)] - 128) : (int8_t)-128;
        }
    }
/* each step reads `in` and leaves its result in `in` */
#define CONV(l) conv(l, in, out), t = in, in = out, out = t;
#define POOL(l) maxpool((l)->cout, (l)->conv_side, in, out), t = in, in = out, out = t;
#define LINEAR(l, dst) linear(l, in, dst), t = in, in = out, out = t;
#define NEXT out
#define LOGITS logits
    NAIVE_FORWARD
    for (i = 1; i < 10; ++i) {
        best = logits[i] > logits[best] ? i : best;
    }
    return (int)best;
}

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

int main(void)
{
    int8_t logits[10];
    int32_t n, c;
    for (n = 0; n < ELN_NUM_VECTORS; ++n) {
        uint32_t start;
        int label;
        SYST_RVR = 0xFFFFFFu;
        SYST_CVR = 0u;
        SYST_CSR = 5u; /* enable, processor clock: one tick per 40 instructions under QEMU -icount */
        start = SYST_CVR;
        label = naive_infer(eln_vectors[n], logits);
        printf("instructions %lu steps\n", (unsigned long)(((start - SYST_CVR) & 0xFFFFFFu) * 40u));
        printf("image %ld class %d logits", (long)n, label);
        for (c = 0; c < 10; ++c) {
            printf(" %d", logits[c]);
        }
        printf("\n");
    }
    return 0;
}
