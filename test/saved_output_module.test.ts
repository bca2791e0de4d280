/**
 * The activations' backward from their saved output compiled (lib/host/gemm/activations.c through
 * saved_output_module.ts: sigmoid's and tanh's) against the JavaScript loops they replace, bit for
 * bit, on NaN, ±∞, ±0 and subnormals at lengths around the SIMD width and past a chunk; and the
 * ops' gradients on each backend, at sizes past wasm's JavaScript-loop limits, against the
 * tfjs-kernel path (setHostKernels(false)).
 */
import assert from "node:assert/strict";
import { after, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { savedOutputBackward } from "../lib/host/gemm/saved_output_module";
import { gemmAvailable } from "../lib/host/gemm/sgemm";
import { setHostKernels } from "../lib/host/host_tensors";
import { sigmoid } from "../lib/ops/sigmoid";
import { tanh } from "../lib/ops/tanh";
import { Generator } from "../lib/random";
import { describeEachBackend } from "./support/backends";
import { closeTo } from "./support/conv_pool_reference";

after(() => setHostKernels(true));

const SPECIAL = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0, 1e-40, -1e-40, 1, -1, 3.4e38];

function values(n: number, seed: number): Float32Array {
  const rng = new Generator(seed);
  return Float32Array.from({ length: n }, (_, i) => (i % 3 === 1 ? SPECIAL[(i * 7 + seed) % SPECIAL.length]! : rng.normal()));
}

/** The JavaScript loops of lib/ops/sigmoid.ts and tanh.ts, as they stand there. */
const LOOPS = {
  sigmoidBackward: (y: number, dy: number) => dy * y * (1 - y),
  tanhBackward: (y: number, dy: number) => dy * (1 - y * y),
} as const;

it("sigmoid's and tanh's compiled backward agree bit for bit with the JavaScript loops", { skip: gemmAvailable() ? false : "no WebAssembly SIMD here" }, () => {
  for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 65, 1000, 8192, 16389]) {
    const [ys, dys] = [values(n, n), values(n, n + 1)];
    for (const [kernel, loop] of Object.entries(LOOPS) as [keyof typeof LOOPS, (y: number, dy: number) => number][]) {
      const expected = Float32Array.from(ys, (y, i) => loop(y, dys[i]!));
      const got = new Float32Array(n).fill(5);
      savedOutputBackward(kernel, ys, dys, got);
      // deepEqual compares with Object.is: −0 and 0 differ, NaN equals NaN.
      assert.deepEqual(Array.from(got), Array.from(expected), `${kernel}, ${n} elements`);
    }
  }
});

describeEachBackend("sigmoid and tanh backward past wasm's JavaScript-loop limit", () => {
  it("gives the tfjs-kernel path's gradients", () => {
    for (const [name, op] of [["sigmoid", sigmoid], ["tanh", tanh]] as const) {
      for (const shape of [[40], [64, 300], [3, 8193]]) {
        const run = () => tf.tidy(() => {
          const rng = new Generator(shape.length);
          const size = shape.reduce((a, b) => a * b, 1);
          const x = tf.tensor(Float32Array.from({ length: size }, () => rng.normal() * 3), shape);
          const u = tf.tensor(Float32Array.from({ length: size }, () => rng.normal()), shape);
          return Array.from(tf.grad((a: tf.Tensor) => tf.sum(tf.mul(op(a), u)))(x).dataSync());
        });
        const host = run();
        setHostKernels(false);
        const kernels = run();
        setHostKernels(true);
        closeTo(host, kernels, `gradient of ${name}, ${JSON.stringify(shape)}`);
      }
    }
  });
});
