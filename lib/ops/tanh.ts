/**
 * tanh(x); dx = dy·(1 − y²) from the saved output. On cpu, and on wasm for small tensors, forward
 * and backward are one loop each over the tensors' storage; backward is compiled
 * (lib/host/gemm/activations.c, the same float64 arithmetic) from 64 elements on both, at every
 * size on wasm.
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../function";
import { savedOutputBackward, savedOutputInModule } from "../host/gemm/saved_output_module";
import { hostBackendFor, tensorFromInfo } from "../host/host_tensors";
import { checkFloatTensor } from "./argument_checks";

/** Host loops on wasm up to this many elements (measured crossover with its kernels: 1024 to 2048; Math.tanh is slow). */
const WASM_HOST_LIMIT = 1024;

export const TanhF = defineFunction<[tf.Tensor]>({
  name: "Tanh",
  inputNames: ["input"],
  forward(ctx, x) {
    const host = hostBackendFor(x.size, WASM_HOST_LIMIT);
    let y: tf.Tensor;
    if (host) {
      const info = host.alloc(x.shape);
      const [xs, ys] = [host.f32(x), host.f32(info)];
      for (let i = 0; i < xs.length; i++) ys[i] = Math.tanh(xs[i]!);
      y = tensorFromInfo(info);
    } else {
      y = tf.tanh(x);
    }
    ctx.saveForBackward(y);
    return y;
  },
  backward(ctx, dy) {
    const [y] = ctx.saved as [tf.Tensor];
    // The compiled loop (activations.c) beats the tfjs path's kernels at every size on wasm, so past the JavaScript loops' limit too.
    const compiled = savedOutputInModule(y.size);
    const host = hostBackendFor(y.size, compiled ? Infinity : WASM_HOST_LIMIT);
    if (!host) return tf.mul(dy, tf.sub(1, tf.square(y)));
    const info = host.alloc(y.shape);
    const [ys, dys, dx] = [host.f32(y), host.f32(dy), host.f32(info)];
    if (compiled) savedOutputBackward("tanhBackward", ys, dys, dx);
    else for (let i = 0; i < ys.length; i++) dx[i] = dys[i]! * (1 - ys[i]! * ys[i]!);
    return tensorFromInfo(info);
  },
  symbolic: (g, x) => g.op("Tanh", x),
  lower: (g, x) => g.op("Tanh", x),
});

/** torch.tanh / torch.nn.functional.tanh. */
export function tanh(input: tf.Tensor): tf.Tensor {
  checkFloatTensor("tanh", "input", input);
  return TanhF.apply(input);
}
