/** leaky_relu(x) = x for x > 0, slope·x otherwise; dx = dy, or slope·dy where x ≤ 0 (torch's choice at 0). */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../function";
import { checkFloatTensor, checkNumber } from "./argument_checks";

export const LeakyReluF = defineFunction<[tf.Tensor, number]>({
  name: "LeakyRelu",
  inputNames: ["input", "negativeSlope"],
  forward(ctx, x, slope) {
    ctx.saveForBackward(x);
    // tfjs's kernel computes x < 0 ? slope·x : x, the same numbers (both give 0 at 0), in one pass.
    return tf.leakyRelu(x, slope);
  },
  backward(ctx, dy) {
    const [x] = ctx.saved as [tf.Tensor];
    return tf.where(tf.greater(x, 0), dy, tf.mul(dy, ctx.attrs[1] as number));
  },
  symbolic: (g, x, slope) => g.op("LeakyRelu", x, { alpha_f: slope }),
  lower: (g, x, slope) => g.op("LeakyRelu", x, { alpha_f: slope }),
});

/** torch.nn.functional.leaky_relu(input, negative_slope=0.01). */
export function leakyRelu(input: tf.Tensor, negativeSlope = 0.01): tf.Tensor {
  checkFloatTensor("leakyRelu", "input", input);
  checkNumber("leakyRelu", "negativeSlope", negativeSlope);
  return LeakyReluF.apply(input, negativeSlope);
}
