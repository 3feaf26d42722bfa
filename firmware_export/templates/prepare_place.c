/* ${height}x${width} source pixels -> the 32x32 field (edgelenet/resample.py, docs/data.md): ${how},
 * rows ${top}..${bottom_last}, columns ${left}..${right_last}; every other pixel is the background ${background}.
 * Then q = pixel - 128: with scale 0.005 and zero point -108 this is x = 0.005 * pixel - 0.1 exactly. */
void ${prefix}_prepare_input(const uint8_t pixels[${PREFIX}_INPUT_HEIGHT * ${PREFIX}_INPUT_WIDTH],
                             int8_t input[${PREFIX}_INPUT_LEN])
{
    int32_t y, x;
    for (y = 0; y < 32; ++y) {
        for (x = 0; x < 32; ++x) {
            const int inside = y >= ${top} && y < ${bottom} && x >= ${left} && x < ${right};
            input[y * 32 + x] = inside ? (int8_t)(pixels[${row} * ${width} + ${col}] - 128) : (int8_t)${background_q};
        }
    }
}
