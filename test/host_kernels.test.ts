/**
 * gradlab's host loops (lib/host/: the linear layer's three products, relu, MSELoss) against the
 * tfjs-kernel path they replace on cpu and wasm (setHostKernels(false)): outputs and gradients
 * agree on ragged sizes, every MSE reduction, and non-finite values land where the kernels put
 * them; the tensor count stays flat.
 */
import assert from "node:assert/strict";
import { after, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { hostBackend, setHostKernels } from "../lib/host/host_tensors";
import { sgemm } from "../lib/host/gemm/sgemm";
import { linearBackpropInput, linearBackpropWeight, linearForward, type Gemm } from "../lib/host/linear_products";
import { sgemmJs } from "../lib/host/sgemm_js";
import { relu } from "../lib/ops/relu";
import { LinearF } from "../lib/ops/linear";
import { mseLoss, type Reduction } from "../lib/nn/mse_loss";
import { Generator } from "../lib/random";
import { assertClose } from "./support/assert_close";
import { describeEachBackend } from "./support/backends";

after(() => setHostKernels(true));

/** fn's values and gradients (w.r.t. every input) with the loops on, then off. */
function bothPaths(inputs: () => tf.Tensor[], fn: (...xs: tf.Tensor[]) => tf.Tensor): { host: number[][]; kernels: number[][] } {
  const run = (on: boolean) => {
    setHostKernels(on);
    try {
      return tf.tidy(() => {
        const xs = inputs();
        const y = fn(...xs);
        const weights = tf.randomUniform(y.shape, -1, 1, "float32", 3);
        const grads = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(fn(...args), weights)))(xs);
        return [y, ...grads].map((t) => Array.from(t.dataSync()));
      });
    } finally {
      setHostKernels(true);
    }
  };
  return { host: run(true), kernels: run(false) };
}

function seeded(shape: number[], seed: number, scale = 1): tf.Tensor {
  const rng = new Generator(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * scale), shape);
}

/** Same positions of NaN and ±Inf, finite values within float32 round-off of a few sums. */
function assertSame(host: number[], kernels: number[], what: string): void {
  assert.equal(host.length, kernels.length, what);
  host.forEach((h, i) => {
    const k = kernels[i]!;
    if (!Number.isFinite(k) || !Number.isFinite(h)) assert.ok(Object.is(h, k) || (Number.isNaN(h) && Number.isNaN(k)), `${what}[${i}]: ${h}, kernels give ${k}`);
  });
  const finite = (xs: number[]) => xs.map((v, i) => (Number.isFinite(v) && Number.isFinite(kernels[i]!) ? v : 0));
  assertClose(finite(host), finite(kernels), { atol: 1e-5, rtol: 1e-5 }, what);
}

describeEachBackend("host loops against the kernel path", () => {
  const SIZES: [number, number, number][] = [[32, 2, 16], [32, 16, 1], [1, 1, 1], [7, 13, 5], [3, 64, 33], [65, 9, 17]];
  for (const [batch, inF, outF] of SIZES) {
    it(`linear ${batch}×${inF} → ${outF}: output and the three gradients`, () => {
      const r = bothPaths(() => [seeded([batch, inF], 1), seeded([outF, inF], 2), seeded([outF], 3)], (x, w, b) => LinearF.apply(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D));
      ["y", "dx", "dW", "db"].forEach((what, i) => assertSame(r.host[i]!, r.kernels[i]!, what));
    });
  }

  it("linear with an infinite weight and a NaN input: non-finite values where tfjs's products put them", () => {
    const r = bothPaths(() => {
      const x = seeded([4, 3], 4).bufferSync();
      x.set(Number.NaN, 1, 2);
      const w = seeded([2, 3], 5).bufferSync();
      w.set(Number.POSITIVE_INFINITY, 0, 0);
      return [x.toTensor(), w.toTensor(), seeded([2], 6)];
    }, (x, w, b) => LinearF.apply(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D));
    ["y", "dx", "dW", "db"].forEach((what, i) => assertSame(r.host[i]!, r.kernels[i]!, what));
  });

  it("relu: values and gradient, with zeros, NaN and infinities", () => {
    const r = bothPaths(() => [tf.tensor([-2, -0, 0, 1e-30, 3, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])], (x) => relu(x!));
    assert.ok(Number.isNaN(r.host[0]![5]!), "relu(NaN) is NaN, as torch");
    assertSame(r.host[0]!, r.kernels[0]!, "relu");
    // torch's threshold_backward zeroes dy where the output is ≤ 0, so dy passes where it is NaN
    // (the kernel path's step(NaN) gives NaN there instead).
    assert.ok(r.host[1]![5] !== 0 && Number.isFinite(r.host[1]![5]!), "dy passes through a NaN output");
    assertSame(r.host[1]!.filter((_, i) => i !== 5), r.kernels[1]!.filter((_, i) => i !== 5), "relu grad");
  });

  for (const reduction of ["mean", "sum", "none"] as Reduction[]) {
    it(`mseLoss "${reduction}": value and both gradients`, () => {
      for (const shape of [[32, 1], [5, 3, 2], [1]]) {
        const r = bothPaths(() => [seeded(shape, 7, 3), seeded(shape, 8)], (x, y) => mseLoss(x!, y!, reduction));
        ["loss", "d input", "d target"].forEach((what, i) => assertSame(r.host[i]!, r.kernels[i]!, `${what} ${JSON.stringify(shape)}`));
      }
    });
  }

  it("mseLoss on an empty input keeps torch's answers (nan for mean) through the kernel path", () => {
    const v = tf.tidy(() => mseLoss(tf.zeros([0, 3]), tf.zeros([0, 3])).dataSync()[0]);
    assert.ok(Number.isNaN(v));
  });

  it("a clone shares its source's storage (wasm's Identity copied it) and outlives the source", () => {
    const x = tf.tensor([1, 2, 3]);
    const y = tf.clone(x);
    assert.equal(hostBackend()!.refCount(y), 2, "one storage, two tensors");
    x.dispose();
    assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3]);
    y.dispose();
    const s = tf.clone(tf.tensor(["a", "b"]));
    assert.deepEqual(s.dataSync(), ["a", "b"]);
    s.dispose();
  });

  it("no tensor is left behind by repeated host calls", () => {
    const x = seeded([8, 4], 9);
    const w = seeded([3, 4], 10);
    const b = seeded([3], 11);
    const once = () => tf.tidy(() => tf.grads((a: tf.Tensor, c: tf.Tensor) => mseLoss(relu(LinearF.apply(a as tf.Tensor2D, c as tf.Tensor2D, b as tf.Tensor1D)), tf.onesLike(tf.zeros([8, 3]))))([x, w]));
    tf.dispose(once());
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) tf.dispose(once());
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, w, b]);
  });
});

it("the linear products on the JavaScript sgemm (engines without WebAssembly SIMD) agree with the WebAssembly path", () => {
  const rng = new Generator(12);
  const arr = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  for (const [batch, inFeatures, outFeatures] of [[32, 2, 16], [5, 7, 3], [1, 1, 1], [40, 33, 9]] as const) {
    const d = { batch, inFeatures, outFeatures };
    const [x, w, b, dy] = [arr(batch * inFeatures), arr(outFeatures * inFeatures), arr(outFeatures), arr(batch * outFeatures)];
    const products = (gemm: Gemm) => {
      const y = new Float32Array(batch * outFeatures);
      const dx = new Float32Array(batch * inFeatures);
      const dw = new Float32Array(outFeatures * inFeatures);
      const db = new Float32Array(outFeatures);
      linearForward(x, w, b, y, d, gemm);
      linearBackpropInput(dy, w, dx, d, gemm);
      linearBackpropWeight(dy, x, dw, db, d, gemm);
      return [y, dx, dw, db];
    };
    const viaJs = products(sgemmJs);
    products(sgemm).forEach((v, i) => assertClose(v, viaJs[i]!, { atol: 1e-5, rtol: 1e-5 }, `${batch}×${inFeatures}→${outFeatures} output ${i}`));
  }
});
