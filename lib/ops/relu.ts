/** relu(x) = max(x, 0); dx = dy where the output is positive (0 at x = 0, as torch). */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../function";
import { checkFloatTensor } from "./argument_checks";

export const ReluF = defineFunction<[tf.Tensor]>({
  name: "Relu",
  inputNames: ["input"],
  forward(ctx, x) {
    const y = tf.relu(x);
    ctx.saveForBackward(y);
    return y;
  },
  backward(ctx, dy) {
    const [y] = ctx.saved as [tf.Tensor];
    return tf.mul(dy, tf.step(y));
  },
  symbolic: (g, x) => g.op("Relu", x),
  lower: (g, x) => g.op("Relu", x),
});

/** torch.nn.functional.relu. */
export function relu(input: tf.Tensor): tf.Tensor {
  checkFloatTensor("relu", "input", input);
  return ReluF.apply(input);
}
