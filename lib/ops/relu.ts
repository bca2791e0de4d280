/**
 * relu(x) = max(x, 0); dx = dy where the output is positive (0 at x = 0, as torch). On cpu, and on
 * wasm for small tensors, forward and backward are one loop each over the tensors' storage: in
 * JavaScript for small tensors, and from MODULE_FROM elements (saved_output_module.ts; at 150528,
 * LeNet's first: 505 → 63 µs forward, 507 → 90 µs backward) compiled (lib/host/gemm/activations.c,
 * SIMD), the storage copied in and the result out, with the same results bit for bit.
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../function";
import { runInChunks } from "../host/gemm/chunked";
import { savedOutputBackward, savedOutputInModule as inModule } from "../host/gemm/saved_output_module";
import { sgemmModule } from "../host/gemm/sgemm_module";
import { hostBackendFor, tensorFromInfo } from "../host/host_tensors";
import { checkFloatTensor } from "./argument_checks";

/**
 * Host loops on wasm up to this many elements. The measured crossover with its kernels (Relu, then
 * Step and Mul) was 256 to 512 for the JavaScript loops; with the compiled ones forward is level
 * with tfjs-wasm's Relu up to ~4096 and slower past it (copying in and out against one pass), and
 * backward faster than Step and Mul up to ~16384 and about level past it (512 to 1024 elements:
 * 22 against 33 µs forward and backward).
 */
const WASM_HOST_LIMIT = 2048;

export const ReluF = defineFunction<[tf.Tensor]>({
  name: "Relu",
  inputNames: ["input"],
  forward(ctx, x) {
    const host = hostBackendFor(x.size, WASM_HOST_LIMIT);
    let y: tf.Tensor;
    if (host) {
      const info = host.alloc(x.shape);
      const [xs, ys] = [host.f32(x), host.f32(info)];
      (inModule(xs.length) ? reluInModule : reluLoop)(xs, ys);
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
    (inModule(ys.length) ? reluBackInModule : reluBackLoop)(ys, dys, dx);
    return tensorFromInfo(info);
  },
  symbolic: (g, x) => g.op("Relu", x),
  lower: (g, x) => g.op("Relu", x),
});


/** Forward in JavaScript: where WebAssembly SIMD is missing, for small tensors, and the tests' second opinion. */
export function reluLoop(xs: Float32Array, ys: Float32Array): void {
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    // (v + |v|)/2 is v or 0 exactly without a branch to mispredict; only −∞ (∞ − ∞) and NaN take the second.
    const r = (v + Math.abs(v)) * 0.5;
    ys[i] = r === r ? r : v === v ? 0 : v;
  }
}

/** Backward in JavaScript. */
export function reluBackLoop(ys: Float32Array, dys: Float32Array, dx: Float32Array): void {
  // !(y ≤ 0) as 1 or 0, without a branch: dy passes where y > 0, and where y is NaN, as torch's
  // threshold_backward (tf.step on the tfjs path gives NaN there).
  for (let i = 0; i < ys.length; i++) dx[i] = dys[i]! * +!(ys[i]! <= 0);
}

/** Forward compiled (activations.c's relu_forward), in place in the module's memory, a chunk at a time. */
export function reluInModule(xs: Float32Array, ys: Float32Array): void {
  const module = sgemmModule();
  runInChunks([xs], ys, (n, [x]) => module.reluForward(n, x!, x!));
}

/** Backward compiled (relu_backward), a chunk at a time. */
export function reluBackInModule(ys: Float32Array, dys: Float32Array, dx: Float32Array): void {
  savedOutputBackward("reluBackward", ys, dys, dx);
}

/** torch.nn.functional.relu. */
export function relu(input: tf.Tensor): tf.Tensor {
  checkFloatTensor("relu", "input", input);
  return ReluF.apply(input);
}
