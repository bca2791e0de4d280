/**
 * sigmoid(x) = 1 / (1 + e^−x); dx = dy·y·(1 − y) from the saved output. On cpu, and on wasm for
 * small tensors, forward and backward are one loop each over the tensors' storage; backward is
 * compiled (lib/host/gemm/activations.c, the same float64 arithmetic) from 64 elements on both, at
 * every size on wasm.
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../function";
import { savedOutputBackward, savedOutputInModule } from "../host/gemm/saved_output_module";
import { hostBackendFor, tensorFromInfo } from "../host/host_tensors";
import { checkFloatTensor } from "./argument_checks";

/** Host loops on wasm up to this many elements (measured crossover with its kernels: 1024 to 2048; Math.exp is slow). */
const WASM_HOST_LIMIT = 1024;

export const SigmoidF = defineFunction<[tf.Tensor]>({
  name: "Sigmoid",
  inputNames: ["input"],
  forward(ctx, x) {
    const host = hostBackendFor(x.size, WASM_HOST_LIMIT);
    let y: tf.Tensor;
    if (host) {
      const info = host.alloc(x.shape);
      const [xs, ys] = [host.f32(x), host.f32(info)];
      for (let i = 0; i < xs.length; i++) ys[i] = 1 / (1 + Math.exp(-xs[i]!));
      y = tensorFromInfo(info);
    } else {
      y = tf.sigmoid(x);
    }
    ctx.saveForBackward(y);
    return y;
  },
  backward(ctx, dy) {
    const [y] = ctx.saved as [tf.Tensor];
    // The compiled loop (activations.c) beats the tfjs path's kernels at every size on wasm, so past the JavaScript loops' limit too.
    const compiled = savedOutputInModule(y.size);
    const host = hostBackendFor(y.size, compiled ? Infinity : WASM_HOST_LIMIT);
    if (!host) return tf.mul(dy, tf.mul(y, tf.sub(1, y)));
    const info = host.alloc(y.shape);
    const [ys, dys, dx] = [host.f32(y), host.f32(dy), host.f32(info)];
    if (compiled) savedOutputBackward("sigmoidBackward", ys, dys, dx);
    else for (let i = 0; i < ys.length; i++) dx[i] = dys[i]! * ys[i]! * (1 - ys[i]!);
    return tensorFromInfo(info);
  },
  symbolic: (g, x) => g.op("Sigmoid", x),
  lower: (g, x) => g.op("Sigmoid", x),
});

/** torch.sigmoid / torch.nn.functional.sigmoid. */
export function sigmoid(input: tf.Tensor): tf.Tensor {
  checkFloatTensor("sigmoid", "input", input);
  return SigmoidF.apply(input);
}
