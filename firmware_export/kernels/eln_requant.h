/* eln_requant.h: the one requantization of the edgelenet C engine (docs/quantization.md).
 *
 *   requantize(acc, m, n) = floor((acc * m + 2^(n-1)) / 2^n)    one rounding, half up, on the exact product
 *
 * then, by activation: y = clamp(requantize + zero_point, act_min, 127), and for tanh y = lut[y + 128].
 * |acc| < 2^31 and m < 2^31 give |acc * m| < 2^62; adding 2^(n-1) <= 2^61 cannot overflow int64.
 * C99 leaves `>>` of a negative value implementation-defined, so the shift below floors portably:
 * int64_t is two's complement by definition (C99 7.18.1.1), hence ~v == -v - 1 and, for v < 0,
 * floor(v / 2^n) == ~(~v >> n) with ~v >= 0. GCC and clang compile it to a plain arithmetic shift.
 */
#ifndef ELN_REQUANT_H
#define ELN_REQUANT_H

#include <stdint.h>

#include "eln_target.h"

/* Per-layer output stage, prepared by Python at export time (const: it lives in flash). */
typedef struct {
    const int32_t *multiplier;  /* (Cout,) m in [2^30, 2^31), or smaller for tiny factors */
    const int8_t *shift;        /* (Cout,) n in [1, 62] */
    int32_t zero_point;         /* output zero point, or the tanh input's zero point */
    int32_t act_min;            /* lower clamp: the output zero point for ReLU, else -128 */
    const int8_t *lut;          /* (256,) tanh table indexed by value + 128, or NULL */
} eln_quant;

/* One output channel's folded bias and requantization, fetched together by the convolution epilogues:
 * n = high_shift + 32, and when high_shift > 0 (the fast path below) round = 2^(high_shift - 1). */
typedef struct {
    int32_t bias, multiplier, high_shift, round;
} eln_channel;

ELN_INLINE int64_t eln_floor_shift(int64_t value, int32_t n)
{
    return value >= 0 ? value >> n : ~(~value >> n);
}

/* Values beyond +-2^30 saturate to +-2^30: any of them clamps to the same int8 after adding a zero
 * point in [-128, 127], so the result stays bit-identical to the int64 reference.
 * Fast path, n > 32 (every LeNet-5 layer: m / 2^n is a small factor): floor division composes, and
 * 2^(n-1) is a multiple of 2^32, so floor((p + 2^(n-1)) / 2^n) = floor((floor(p / 2^32) + 2^(n-33)) / 2^(n-32))
 * with p = acc * m. floor(p / 2^32) is the high word of one SMULL on Cortex-M3/M4 (|.| < 2^30, so adding
 * 2^(n-33) <= 2^29 stays in int32), and no saturation is needed: |p| < 2^62 gives |result| < 2^29. */
/* floor(a * m / 2^32) for m in [0, 2^31), from four 16 x 16-bit products (a = ah * 2^16 + al and
 * m = mh * 2^16 + ml, al and ml unsigned): ARMv6-M has no 32 x 32 -> 64 multiply, and GCC's __aeabi_lmul
 * call costs about 45 instructions where these take about 17. Every partial sum fits int32:
 * |ah * ml| + (al * ml >> 16) < 2^31 and al * mh + 0xFFFF < 2^31; the floor division by 2^32 then splits
 * exactly at 2^16: floor((t1 * 2^16 + t2') / 2^32) = floor(t1 / 2^16) + floor(t2 / 2^16) with t2 as below.
 * Checked against the int64 product on the host (tests/e2e/test_requant_c.py). */
ELN_INLINE int32_t eln_mul_high_16(int32_t a, int32_t m)
{
    const int32_t ah = a >= 0 ? a >> 16 : ~(~a >> 16), mh = m >> 16; /* floor shifts, as eln_floor_shift */
    const uint32_t al = (uint32_t)a & 0xFFFFu, ml = (uint32_t)m & 0xFFFFu;
    const int32_t t1 = ah * (int32_t)ml + (int32_t)((al * ml) >> 16);
    const int32_t t2 = (int32_t)(al * (uint32_t)mh + ((uint32_t)t1 & 0xFFFFu));
    return ah * mh + (t1 >= 0 ? t1 >> 16 : ~(~t1 >> 16)) + (t2 >> 16);
}

/* floor(a * m / 2^32): the high word of one SMULL, or on ARMv6-M (ELN_THUMB1) the 16-bit products. */
ELN_INLINE int32_t eln_mul_high(int32_t a, int32_t m)
{
#if defined(ELN_THUMB1)
    return eln_mul_high_16(a, m);
#else
    return (int32_t)eln_floor_shift((int64_t)a * m, 32);
#endif
}

/* a * m exactly, for m in [0, 2^31), without a 64-bit multiply: the high word as above and the low word
 * from one MULS (the product modulo 2^32). */
ELN_INLINE int64_t eln_mul_wide_16(int32_t a, int32_t m)
{
    return (int64_t)eln_mul_high_16(a, m) * ((int64_t)1 << 32) + (int64_t)((uint32_t)a * (uint32_t)m);
}

/* a * m: on ARMv6-M through the 16-bit products, so no engine function calls __aeabi_lmul. */
ELN_INLINE int64_t eln_mul_wide(int32_t a, int32_t m)
{
#if defined(ELN_THUMB1)
    return eln_mul_wide_16(a, m);
#else
    return (int64_t)a * m;
#endif
}

ELN_INLINE int32_t eln_requantize_high(int32_t acc, int32_t multiplier, int32_t high_shift, int32_t round)
{
    const int32_t high = eln_mul_high(acc, multiplier) + round;
    return high >= 0 ? high >> high_shift : ~(~high >> high_shift); /* floor shift of int32 */
}

ELN_INLINE int32_t eln_requantize(int32_t acc, int32_t multiplier, int32_t shift)
{
    if (shift > 32) {
        const int32_t high = eln_mul_high(acc, multiplier) + ((int32_t)1 << (shift - 33));
        const int32_t n = shift - 32;
        return high >= 0 ? high >> n : ~(~high >> n); /* floor shift of int32, as eln_floor_shift */
    } else {
        const int64_t scaled = eln_floor_shift(eln_mul_wide(acc, multiplier) + ((int64_t)1 << (shift - 1)), shift);
        if (scaled > ((int64_t)1 << 30)) {
            return (int32_t)1 << 30;
        }
        if (scaled < -((int64_t)1 << 30)) {
            return -((int32_t)1 << 30);
        }
        return (int32_t)scaled;
    }
}

/* eln_requantize with the channel's prepared values: the fast path without recomputing its constants. */
#if defined(ELN_THUMB) && defined(__GNUC__) /* the Thumb kernels' epilogues: keep the fast path inline */
#define ELN_HIGH_SHIFT(channel) __builtin_expect((channel)->high_shift > 0, 1)
#else
#define ELN_HIGH_SHIFT(channel) ((channel)->high_shift > 0)
#endif
ELN_INLINE int32_t eln_requantize_channel(int32_t acc, const eln_channel *channel)
{
    if (ELN_HIGH_SHIFT(channel)) {
        return eln_requantize_high(acc, channel->multiplier, channel->high_shift, channel->round);
    }
    return eln_requantize(acc, channel->multiplier, channel->high_shift + 32);
}
#undef ELN_HIGH_SHIFT

/* After requantization: add the zero point, clamp to [act_min, 127] (ReLU or none). */
ELN_INLINE int8_t eln_clamp_s8(int32_t requantized, const eln_quant *quant)
{
    int32_t value = requantized + quant->zero_point;
    value = value < quant->act_min ? quant->act_min : value;
    return (int8_t)(value > 127 ? 127 : value);
}

/* eln_clamp_s8, then the tanh table if the layer has one. */
ELN_INLINE int8_t eln_saturate_s8(int32_t requantized, const eln_quant *quant)
{
    const int8_t value = eln_clamp_s8(requantized, quant);
    return quant->lut != 0 ? quant->lut[value + 128] : value;
}

/* The epilogue every kernel shares: requantize channel c, then eln_saturate_s8. */
ELN_INLINE int8_t eln_output_s8(int32_t acc, const eln_quant *quant, int32_t c)
{
    return eln_saturate_s8(eln_requantize(acc, quant->multiplier[c], quant->shift[c]), quant);
}

#endif /* ELN_REQUANT_H */
