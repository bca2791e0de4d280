/**
 * relu's compiled loops (lib/host/gemm/activations.c: reluInModule, reluBackInModule) against its
 * JavaScript loops, bit for bit, on NaN, ±∞, ±0 and subnormals at lengths around the SIMD width;
 * and the op on each backend at sizes around where it switches loops (64 elements) and, on wasm,
 * to tfjs's kernels (2048), against the tfjs-kernel path (setHostKernels(false)).
 */
import assert from "node:assert/strict";
import { after, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { setHostKernels } from "../lib/host/host_tensors";
import { reluBackInModule, reluBackLoop, reluInModule, reluLoop, ReluF } from "../lib/ops/relu";
import { Generator } from "../lib/random";
import { describeEachBackend } from "./support/backends";

after(() => setHostKernels(true));

const SPECIAL = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0, 1e-40, -1e-40, 1.4e-45, -3.4e38, 3.4e38];

/** n values: normal draws with the special ones spread among them, each at a few positions mod 4. */
function values(n: number, seed: number): Float32Array {
  const rng = new Generator(seed);
  return Float32Array.from({ length: n }, (_, i) => (i % 3 === 1 ? SPECIAL[(i * 7 + seed) % SPECIAL.length]! : rng.normal()));
}

it("relu's compiled forward and backward agree bit for bit with the JavaScript loops: NaN, ±∞, ±0, subnormals, every length mod 4", () => {
  // 8192 · 2 + 5: three chunks through the module's memory, the last ragged.
  const lengths = [1, 2, 3, 4, 5, 6, 7, 8, 9, 31, 63, 64, 65, 127, 1000, 2049, 4099, 8192, 16389];
  for (const n of lengths) {
    const xs = values(n, n);
    const [y1, y2] = [new Float32Array(n).fill(5), new Float32Array(n).fill(5)];
    reluLoop(xs, y1);
    reluInModule(xs, y2);
    // deepEqual compares with Object.is: −0 and 0 differ, NaN equals NaN.
    assert.deepEqual(Array.from(y2), Array.from(y1), `relu, ${n} elements`);
    // Backward on outputs with every special value (NaN, ±∞, ±0 included, as a saved y may be), and dy with them too.
    const ys = values(n, n + 1);
    const dys = values(n, n + 2);
    const [dx1, dx2] = [new Float32Array(n).fill(5), new Float32Array(n).fill(5)];
    reluBackLoop(ys, dys, dx1);
    reluBackInModule(ys, dys, dx2);
    assert.deepEqual(Array.from(dx2), Array.from(dx1), `relu backward, ${n} elements`);
  }
});

/** relu's output and input gradient for x and dy, with the host loops on or off. */
function run(on: boolean, x: Float32Array, dy: Float32Array): [number[], number[]] {
  setHostKernels(on);
  try {
    return tf.tidy(() => {
      const [xt, dyt] = [tf.tensor(x), tf.tensor(dy)];
      const y = ReluF.apply(xt);
      const dx = tf.grad((a: tf.Tensor) => ReluF.apply(a))(xt, dyt);
      // +0 for −0: tfjs's Relu keeps −0 where torch, and the host loops, give 0.
      return [Array.from(y.dataSync(), (v) => v + 0), Array.from(dx.dataSync(), (v) => v + 0)];
    });
  } finally {
    setHostKernels(true);
  }
}

describeEachBackend("relu's host loops against the kernel path, around each switch of loops", () => {
  it("outputs and gradients agree at 63 to 65, 2048, 2049 and 5000 elements, with ±∞ and ±0", () => {
    for (const n of [63, 64, 65, 2048, 2049, 5000]) {
      const rng = new Generator(n);
      // No NaN: its gradient is where the paths differ by design (test/host_kernels.test.ts).
      const x = Float32Array.from({ length: n }, (_, i) => (i % 5 === 2 ? SPECIAL[1 + (i % 4)]! : rng.normal()));
      const dy = Float32Array.from({ length: n }, () => rng.normal());
      const [host, kernels] = [run(true, x, dy), run(false, x, dy)];
      assert.deepEqual(host[0], kernels[0], `relu, ${n} elements`);
      assert.deepEqual(host[1], kernels[1], `relu's gradient, ${n} elements`);
    }
  });
});
