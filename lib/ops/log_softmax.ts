/**
 * log_softmax(x, dim) = x − logΣexp(x) along dim; dx = dy − e^y·Σ_dim dy from the saved output
 * (e^y is the softmax, recomputed rather than kept). On cpu, and on wasm for small tensors,
 * softmax_host.ts computes both in loops over the storage.
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../function";
import { hostBackendFor } from "../host/host_tensors";
import { checkFloatTensor } from "./argument_checks";
import { applyAlong, softmaxDim } from "./softmax";
import { logSoftmaxBackwardHost, logSoftmaxHost } from "./softmax_host";

/** Host loops on wasm up to this many elements (measured crossover with the tfjs kernels, six in forward: 2048 to 4096). */
const WASM_HOST_LIMIT = 2048;

export const LogSoftmaxF = defineFunction<[tf.Tensor, number]>({
  name: "LogSoftmax",
  inputNames: ["input", "dim"],
  forward(ctx, x, dim) {
    const host = hostBackendFor(x.size, WASM_HOST_LIMIT);
    const y = host ? logSoftmaxHost(host, x, dim) : dim === x.rank - 1 ? tf.logSoftmax(x) : logSoftmaxAlong(x, dim);
    ctx.saveForBackward(y);
    return y;
  },
  backward(ctx, dy) {
    const [y] = ctx.saved as [tf.Tensor];
    const dim = ctx.attrs[1] as number;
    const host = hostBackendFor(y.size, WASM_HOST_LIMIT);
    if (host) return logSoftmaxBackwardHost(host, y, dy, dim);
    return tf.sub(dy, tf.mul(tf.exp(y), tf.sum(dy, dim, true)));
  },
  symbolic: (g, x, dim) => g.op("LogSoftmax", x, { axis_i: dim }),
  lower: (g, x, dim) => g.op("LogSoftmax", x, { axis_i: dim }),
});

/**
 * (x − max) − logΣexp(x − max) along any axis, as tfjs's last-axis logSoftmax: subtracting the
 * max first keeps the largest entries exact (x − logSumExp(x) would round them on |x|'s scale).
 */
export function logSoftmaxAlong(x: tf.Tensor, dim: number): tf.Tensor {
  const shifted = tf.sub(x, tf.max(x, dim, true));
  return tf.sub(shifted, tf.log(tf.sum(tf.exp(shifted), dim, true)));
}

/** torch.nn.functional.log_softmax(input, dim). */
export function logSoftmax(input: tf.Tensor, dim?: number): tf.Tensor {
  checkFloatTensor("logSoftmax", "input", input);
  return applyAlong(input, softmaxDim("logSoftmax", "log_softmax", input.rank, dim), (x, d) => LogSoftmaxF.apply(x, d));
}
