/* ${layer}+${sub}: conv ${k}x${k}, ${cin}->${cout} (${connections}), tanh, then ${sub} subsampling 2x2${sub_activation}:
 * (${in_shape}) -> (${out_shape}); ${macs} + ${sub_macs} MACs.
 * int32 accumulator: |acc| <= ${acc_bound} < 2^31 (worst channel: |bias'| + 128 * sum |w|). */
static const eln_conv_shape ${p}_shape = {${cin}, ${in_side}, ${cout}, ${out_side}, ${p}_maps};
static const eln_quant ${p}_quant = {${p}_multiplier, ${p}_shift, ${zero_point}, ${act_min}, ${lut}};
static const eln_subsample ${s}_sub = {${s}_weights, ${s}_bias,
                                        {${s}_multiplier, ${s}_shift, ${sub_zero_point}, -128, ${sub_lut}}};

