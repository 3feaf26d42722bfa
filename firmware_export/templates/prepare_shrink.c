/* ${height}x${width} source pixels -> the 32x32 field (edgelenet/resample.py, docs/data.md): each ${down}x${down}
 * block becomes its rounded mean (sum + ${half}) / ${block} (pixels past the image's edge count as background),
 * placed at rows ${top}..${bottom_last}, columns ${left}..${right_last}; every other pixel is the background
 * ${background}. Then q = pixel - 128 (x = 0.005 * pixel - 0.1 exactly). */
void ${prefix}_prepare_input(const uint8_t pixels[${PREFIX}_INPUT_HEIGHT * ${PREFIX}_INPUT_WIDTH],
                             int8_t input[${PREFIX}_INPUT_LEN])
{
    int32_t y, x, i, j;
    for (y = 0; y < 32; ++y) {
        for (x = 0; x < 32; ++x) {
            int32_t value = ${background};
            if (y >= ${top} && y < ${bottom} && x >= ${left} && x < ${right}) {
                int32_t sum = 0;
                for (i = 0; i < ${down}; ++i) {
                    for (j = 0; j < ${down}; ++j) {
                        const int32_t sy = (y - ${top}) * ${down} + i, sx = (x - ${left}) * ${down} + j;
                        sum += (sy < ${height} && sx < ${width}) ? (int32_t)pixels[sy * ${width} + sx] : ${background};
                    }
                }
                value = (sum + ${half}) / ${block};
            }
            input[y * 32 + x] = (int8_t)(value - 128);
        }
    }
}
