/* ${layer}: conv ${k}x${k}, ${cin}->${cout}, ${activation}, 2x2 max pool: (${in_shape}) -> (${out_shape}); ${macs} MACs.
 * int32 accumulator: |acc| <= ${acc_bound} < 2^31 (worst channel: |bias'| + 128 * sum |w|). */
static const eln_conv_shape ${p}_shape = {${cin}, ${in_side}, ${cout}, ${out_side}, ${p}_maps};
static const eln_quant ${p}_quant = {${p}_multiplier, ${p}_shift, ${zero_point}, ${act_min}, ${lut}};

