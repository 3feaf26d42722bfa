/* ${layer}: full ${cin}->${cout}, ${activation}: (${in_shape}) -> (${out_shape}); ${macs} MACs.
 * int32 accumulator: |acc| <= ${acc_bound} < 2^31 (worst output: |bias'| + 128 * sum |w|). */
static const eln_fc_shape ${p}_shape = {${cin}, ${cout}};
static const eln_quant ${p}_quant = {${p}_multiplier, ${p}_shift, ${zero_point}, ${act_min}, ${lut}};

