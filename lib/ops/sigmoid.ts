/** sigmoid(x) = 1 / (1 + e^−x); dx = dy·y·(1 − y) from the saved output. */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../function";
import { checkFloatTensor } from "./argument_checks";

export const SigmoidF = defineFunction<[tf.Tensor]>({
  name: "Sigmoid",
  inputNames: ["input"],
  forward(ctx, x) {
    const y = tf.sigmoid(x);
    ctx.saveForBackward(y);
    return y;
  },
  backward(ctx, dy) {
    const [y] = ctx.saved as [tf.Tensor];
    return tf.mul(dy, tf.mul(y, tf.sub(1, y)));
  },
  symbolic: (g, x) => g.op("Sigmoid", x),
  lower: (g, x) => g.op("Sigmoid", x),
});

/** torch.sigmoid / torch.nn.functional.sigmoid. */
export function sigmoid(input: tf.Tensor): tf.Tensor {
  checkFloatTensor("sigmoid", "input", input);
  return SigmoidF.apply(input);
}
