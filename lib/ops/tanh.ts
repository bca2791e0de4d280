/** tanh(x); dx = dy·(1 − y²) from the saved output. */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../function";
import { checkFloatTensor } from "./argument_checks";

export const TanhF = defineFunction<[tf.Tensor]>({
  name: "Tanh",
  inputNames: ["input"],
  forward(ctx, x) {
    const y = tf.tanh(x);
    ctx.saveForBackward(y);
    return y;
  },
  backward(ctx, dy) {
    const [y] = ctx.saved as [tf.Tensor];
    return tf.mul(dy, tf.sub(1, tf.square(y)));
  },
  symbolic: (g, x) => g.op("Tanh", x),
  lower: (g, x) => g.op("Tanh", x),
});

/** torch.tanh / torch.nn.functional.tanh. */
export function tanh(input: tf.Tensor): tf.Tensor {
  checkFloatTensor("tanh", "input", input);
  return TanhF.apply(input);
}
