/**
 * leaky_relu(x) = x for x > 0, slope·x otherwise; dx = dy, or slope·dy where x ≤ 0 (torch's choice
 * at 0). On cpu and wasm forward and backward are one loop each over the tensors' storage.
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../function";
import { hostBackendFor, tensorFromInfo } from "../host/host_tensors";
import { checkFloatTensor, checkNumber } from "./argument_checks";

/** Host loops on wasm at every size: 0.6× of its kernels (LeakyRelu, then Greater, Mul and Select) from [8, 32] to [256, 128]. */
const WASM_HOST_LIMIT = Infinity;

export const LeakyReluF = defineFunction<[tf.Tensor, number]>({
  name: "LeakyRelu",
  inputNames: ["input", "negativeSlope"],
  forward(ctx, x, slope) {
    ctx.saveForBackward(x);
    const host = hostBackendFor(x.size, WASM_HOST_LIMIT);
    // tfjs's kernel computes x < 0 ? slope·x : x, the same numbers (both give 0 at 0), in one pass.
    if (!host) return tf.leakyRelu(x, slope);
    const info = host.alloc(x.shape);
    const [xs, ys] = [host.f32(x), host.f32(info)];
    // a·v + b·|v| is v for v ≥ 0 and slope·v below (float64, then rounded once) without a branch
    // to mispredict; only ±∞ (∞ − ∞) and NaN take the second.
    const [a, b] = [(1 + slope) / 2, (1 - slope) / 2];
    for (let i = 0; i < xs.length; i++) {
      const v = xs[i]!;
      const r = a * v + b * Math.abs(v);
      ys[i] = r === r ? r : v > 0 ? v : slope * v;
    }
    return tensorFromInfo(info);
  },
  backward(ctx, dy) {
    const [x] = ctx.saved as [tf.Tensor];
    const slope = ctx.attrs[1] as number;
    const host = hostBackendFor(x.size, WASM_HOST_LIMIT);
    if (!host) return tf.where(tf.greater(x, 0), dy, tf.mul(dy, slope));
    const info = host.alloc(x.shape);
    const [xs, dys, dx] = [host.f32(x), host.f32(dy), host.f32(info)];
    for (let i = 0; i < xs.length; i++) dx[i] = dys[i]! * (slope + (1 - slope) * +(xs[i]! > 0));
    return tensorFromInfo(info);
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
