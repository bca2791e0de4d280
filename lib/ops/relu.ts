/** relu(x) = max(x, 0); dx = dy where the output is positive (0 at x = 0, as torch). */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../function";
import { hostFloat, mapHost, zipHost } from "../host/elementwise_host";
import { hostBackend } from "../host/host_tensors";
import { checkFloatTensor } from "./argument_checks";

// Math.max(0, NaN) is NaN, as torch's relu; a NaN output passes no gradient (NaN > 0 is false), as torch's threshold_backward.
const relu1 = (x: number) => Math.max(0, x);
const reluGrad = (dy: number, y: number) => (y > 0 ? dy : 0);

export const ReluF = defineFunction<[tf.Tensor]>({
  name: "Relu",
  inputNames: ["input"],
  forward(ctx, x) {
    const host = hostBackend();
    const y = hostFloat(host, x) ? mapHost(host, x, relu1) : tf.relu(x);
    ctx.saveForBackward(y);
    return y;
  },
  backward(ctx, dy) {
    const [y] = ctx.saved as [tf.Tensor];
    const host = hostBackend();
    if (hostFloat(host, dy, y) && dy.size === y.size) return zipHost(host, dy, y, reluGrad);
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
