/**
 * relu(x) = max(x, 0); dx = dy where the output is positive (0 at x = 0, as torch). On cpu, and on
 * wasm for small tensors, forward and backward are one loop each over the tensors' storage.
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../function";
import { hostBackendFor, tensorFromInfo } from "../host/host_tensors";
import { checkFloatTensor } from "./argument_checks";

/** Host loops on wasm up to this many elements (measured crossover with its kernels, Relu then Step and Mul: 256 to 512). */
const WASM_HOST_LIMIT = 256;

export const ReluF = defineFunction<[tf.Tensor]>({
  name: "Relu",
  inputNames: ["input"],
  forward(ctx, x) {
    const host = hostBackendFor(x.size, WASM_HOST_LIMIT);
    let y: tf.Tensor;
    if (host) {
      const info = host.alloc(x.shape);
      const [xs, ys] = [host.f32(x), host.f32(info)];
      for (let i = 0; i < xs.length; i++) {
        const v = xs[i]!;
        // (v + |v|)/2 is v or 0 exactly without a branch to mispredict; only −∞ (∞ − ∞) and NaN take the second.
        const r = (v + Math.abs(v)) * 0.5;
        ys[i] = r === r ? r : v === v ? 0 : v;
      }
      y = tensorFromInfo(info);
    } else {
      y = tf.relu(x);
    }
    ctx.saveForBackward(y);
    return y;
  },
  backward(ctx, dy) {
    const [y] = ctx.saved as [tf.Tensor];
    const host = hostBackendFor(y.size, WASM_HOST_LIMIT);
    if (!host) return tf.mul(dy, tf.step(y));
    const info = host.alloc(y.shape);
    const [ys, dys, dx] = [host.f32(y), host.f32(dy), host.f32(info)];
    // !(y ≤ 0) as 1 or 0, without a branch: dy passes where y > 0, and where y is NaN, as torch's
    // threshold_backward (tf.step on the tfjs path gives NaN there).
    for (let i = 0; i < ys.length; i++) dx[i] = dys[i]! * +!(ys[i]! <= 0);
    return tensorFromInfo(info);
  },
  symbolic: (g, x) => g.op("Relu", x),
  lower: (g, x) => g.op("Relu", x),
});

/** torch.nn.functional.relu. */
export function relu(input: tf.Tensor): tf.Tensor {
  checkFloatTensor("relu", "input", input);
  return ReluF.apply(input);
}
