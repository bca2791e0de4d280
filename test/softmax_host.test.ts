/**
 * softmax's backward along the last dim in the sgemm module (lib/host/gemm/activations.c,
 * softmax_host.ts's softmaxBackInModule) against the JavaScript loop, on rows of every length
 * around the SIMD width and past the module's chunk, with NaN and ±∞ among the values; and the
 * op's gradient on each backend, at sizes where wasm used to take tfjs's kernels, against the
 * tfjs-kernel path (setHostKernels(false)).
 */
import assert from "node:assert/strict";
import { after, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { gemmAvailable } from "../lib/host/gemm/sgemm";
import { hostBackend, setHostKernels } from "../lib/host/host_tensors";
import { softmaxBackwardHost } from "../lib/ops/softmax_host";
import { softmax } from "../lib/ops/softmax";
import { Generator } from "../lib/random";
import { describeEachBackend } from "./support/backends";
import { closeTo } from "./support/conv_pool_reference";

after(() => setHostKernels(true));

/** A softmax output-like y (positive, rows summing to about 1) and a dy, with NaN and ±∞ planted in the last rows. */
function operands(rows: number, size: number, seed: number): [tf.Tensor, tf.Tensor] {
  const rng = new Generator(seed);
  const y = Float32Array.from({ length: rows * size }, () => (2 / size) * rng.uniform());
  const dy = Float32Array.from({ length: rows * size }, () => rng.normal());
  if (rows > 1) {
    dy[(rows - 1) * size] = Number.NaN;
    y[rows * size - 1] = Number.POSITIVE_INFINITY;
  }
  return [tf.tensor2d(y, [rows, size]), tf.tensor2d(dy, [rows, size])];
}

describeEachBackend("softmax backward in the module", () => {
  it("agrees with the JavaScript loop to float32 rounding, rows of every length mod 4 and past a chunk", { skip: gemmAvailable() ? false : "no WebAssembly SIMD here" }, () => {
    const host = hostBackend();
    assert.ok(host !== null);
    for (const [rows, size] of [[3, 1], [3, 2], [2, 3], [2, 4], [2, 5], [4, 7], [3, 8], [3, 9], [5, 127], [70, 128], [2, 8193], [3, 4099]] as const) {
      tf.tidy(() => {
        const [y, dy] = operands(rows, size, rows * size);
        const loop = Array.from(softmaxBackwardHost(host, y, dy, 1, false).dataSync());
        const module = Array.from(softmaxBackwardHost(host, y, dy, 1, true).dataSync());
        const kind = (v: number) => (Number.isNaN(v) ? "NaN" : Number.isFinite(v) ? "finite" : String(v));
        assert.deepEqual(module.map(kind), loop.map(kind), `NaN and ∞ positions, [${rows}, ${size}]`);
        // The two sum the dot product in float64 in different orders: at most one float32 rounding apart.
        module.forEach((v, i) => {
          const w = loop[i]!;
          if (Number.isFinite(w)) assert.ok(Math.abs(v - w) <= 2 ** -23 * Math.abs(w) + 1e-45, `[${rows}, ${size}] element ${i}: ${v} vs ${w}`);
        });
      });
    }
  });

  it("the op's gradient along the last dim matches the tfjs-kernel path at sizes past wasm's host limit", () => {
    for (const shape of [[64, 300], [3, 8193], [2, 3, 700]]) {
      const run = () => tf.tidy(() => {
        const rng = new Generator(shape.length);
        const x = tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * 3), shape);
        const u = tf.tensor(Float32Array.from({ length: x.size }, () => rng.normal()), shape);
        return Array.from(tf.grad((a: tf.Tensor) => tf.sum(tf.mul(softmax(a, -1), u)))(x).dataSync());
      });
      const host = run();
      setHostKernels(false);
      const kernels = run();
      setHostKernels(true);
      closeTo(host, kernels, `gradient of softmax(x, -1), ${JSON.stringify(shape)}`);
    }
  });
});
