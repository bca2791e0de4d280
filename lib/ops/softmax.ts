/**
 * softmax(x, dim) = e^(x − max) / Σ e^(x − max) along dim; dx = y·(dy − Σ_dim dy·y) from the
 * saved output. tfjs's own softmax works on the last axis only, so another dim is written out.
 * On cpu, and on wasm for small tensors, softmax_host.ts computes both in loops over the storage.
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../function";
import { gemmAvailable } from "../host/gemm/sgemm";
import { hostBackendFor } from "../host/host_tensors";
import { warnOnce } from "../warnings";
import { softmaxBackwardHost, softmaxHost } from "./softmax_host";
import { checkDim, checkFloatTensor } from "./argument_checks";

/**
 * Host loops on wasm up to this many elements (measured crossover with the tfjs kernels: 512 to
 * 1024 for the last dim, one Softmax kernel; 2048 to 4096 for another, five kernels).
 */
const wasmHostLimit = (x: tf.Tensor, dim: number) => (dim === x.rank - 1 ? 512 : 2048);

export const SoftmaxF = defineFunction<[tf.Tensor, number]>({
  name: "Softmax",
  inputNames: ["input", "dim"],
  forward(ctx, x, dim) {
    const host = hostBackendFor(x.size, wasmHostLimit(x, dim));
    const y = host ? softmaxHost(host, x, dim) : dim === x.rank - 1 ? tf.softmax(x) : softmaxAlong(x, dim);
    ctx.saveForBackward(y);
    return y;
  },
  backward(ctx, dy) {
    const [y] = ctx.saved as [tf.Tensor];
    const dim = ctx.attrs[1] as number;
    // Along the last dim the module's loop beats the tfjs path's four kernels at any size (wasm, [256, 128]: ≈0.8×).
    const inModule = dim === y.rank - 1 && gemmAvailable();
    const host = hostBackendFor(y.size, inModule ? Infinity : wasmHostLimit(y, dim));
    if (host) return softmaxBackwardHost(host, y, dy, dim, inModule);
    return tf.mul(y, tf.sub(dy, tf.sum(tf.mul(dy, y), dim, true)));
  },
  symbolic: (g, x, dim) => g.op("Softmax", x, { axis_i: dim }),
  // Opset 13's Softmax normalises along one axis, as torch does (opset 11's flattened the tail).
  lower: (g, x, dim) => g.op("Softmax", x, { axis_i: dim }),
});

function softmaxAlong(x: tf.Tensor, dim: number): tf.Tensor {
  const e = tf.exp(tf.sub(x, tf.max(x, dim, true)));
  return tf.div(e, tf.sum(e, dim, true));
}

/**
 * The dim a softmax-like op uses: the given one, normalised, or torch's deprecated implicit
 * choice (0 for rank 0, 1 and 3, else 1) with torch's warning.
 */
export function softmaxDim(op: string, torchName: string, rank: number, dim: number | undefined): number {
  if (dim === undefined) {
    warnOnce(`Implicit dimension choice for ${torchName} has been deprecated. Change the call to include dim=X as an argument.`);
    return rank === 0 || rank === 1 || rank === 3 ? 0 : 1;
  }
  return checkDim(op, dim, rank);
}

/** Runs a softmax-like op, giving a scalar (which tfjs ops cannot reduce along an axis) one axis. */
export function applyAlong(x: tf.Tensor, dim: number, apply: (x: tf.Tensor, dim: number) => tf.Tensor): tf.Tensor {
  if (x.rank > 0) return apply(x, dim);
  return tf.tidy(() => tf.reshape(apply(tf.reshape(x, [1]), 0), []));
}

/** torch.nn.functional.softmax(input, dim). */
export function softmax(input: tf.Tensor, dim?: number): tf.Tensor {
  checkFloatTensor("softmax", "input", input);
  return applyAlong(input, softmaxDim("softmax", "softmax", input.rank, dim), (x, d) => SoftmaxF.apply(x, d));
}
