/* Test driver for firmware_export/kernels/eln_requant.h: reads "acc m n zero_point act_min" lines on stdin,
 * prints "requantize output_s8 requantize_channel mul_high_16 mul_wide_16" for each
 * (tests/e2e/test_requant_c.py compares them with Python integers; the third is the convolutions' form,
 * with the constants prepared as layout.py does; the last two are Cortex-M0's 16-bit products of acc * m). */
#include <inttypes.h>
#include <stdio.h>

#include "eln_requant.h"

int main(void)
{
    long long acc, m, n, zero_point, act_min;
    while (scanf("%lld %lld %lld %lld %lld", &acc, &m, &n, &zero_point, &act_min) == 5) {
        const int32_t multiplier[1] = {(int32_t)m};
        const int8_t shift[1] = {(int8_t)n};
        const eln_quant quant = {multiplier, shift, (int32_t)zero_point, (int32_t)act_min, NULL};
        const eln_channel channel = {0, (int32_t)m, (int32_t)n - 32, n > 32 ? (int32_t)1 << (n - 33) : 0};
        printf("%" PRId32 " %d %" PRId32 " %" PRId32 " %" PRId64 "\n", eln_requantize((int32_t)acc, (int32_t)m, (int32_t)n),
               eln_output_s8((int32_t)acc, &quant, 0), eln_requantize_channel((int32_t)acc, &channel),
               eln_mul_high_16((int32_t)acc, (int32_t)m), eln_mul_wide_16((int32_t)acc, (int32_t)m));
    }
    return 0;
}
