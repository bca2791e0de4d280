/**
 * layerNorm and LayerNorm against torch (test/fixtures/layer_norm_reference.json): outputs and the
 * gradients of input, weight and bias for every affine choice; gradcheck on ten shapes × three
 * scales; the module's parameters and init; bad input; memory across calls.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import * as F from "../lib/nn/functional";
import { LayerNorm } from "../lib/nn/normalization";
import { LayerNormF } from "../lib/ops/layer_norm";
import { Generator } from "../lib/random";
import { assertClose } from "./support/assert_close";
import { describeEachBackend } from "./support/backends";
import { assertGradcheck, assertMemoryFlat, assertRejects, GRADCHECK_SHAPES, SCALES } from "./support/layer_checks";
import { assertPathsAgree, onBothPaths } from "./support/host_paths";
import { FLOAT32_OP_RTOL } from "./support/tolerances";

interface Case {
  shape: number[];
  normalizedShape: number[];
  eps: number;
  input: number[];
  weight: number[] | null;
  bias: number[] | null;
  output: number[];
  upstream: number[];
  gradInput: number[];
  gradWeight: number[] | null;
  gradBias: number[] | null;
}
const { cases } = JSON.parse(readFileSync(new URL("./fixtures/layer_norm_reference.json", import.meta.url), "utf8")) as { cases: Case[] };

describeEachBackend("layerNorm", () => {
  it(`matches torch's outputs and gradients of input, weight and bias (${cases.length} cases), on the host and the tfjs path`, () => onBothPaths(() => {
    for (const c of cases) {
      const what = `layerNorm ${JSON.stringify(c.shape)} over ${JSON.stringify(c.normalizedShape)} eps ${c.eps}${c.weight ? " weight" : ""}${c.bias ? " bias" : ""}`;
      const x = tf.tensor(c.input, c.shape);
      const up = tf.tensor(c.upstream, c.shape);
      const params = [c.weight, c.bias].filter((p): p is number[] => p !== null).map((p) => tf.tensor(p, c.normalizedShape));
      const run = (a: tf.Tensor, ...ps: tf.Tensor[]) => {
        const [weight, bias] = c.weight ? [ps[0], ps[1]] : [undefined, ps[0]];
        return F.layerNorm(a, c.normalizedShape, { eps: c.eps, ...(weight ? { weight } : {}), ...(bias ? { bias } : {}) });
      };
      const y = run(x, ...params);
      // Outputs are O(1) whatever the input's scale; x − mean and the variance carry float32
      // round-off on |x|'s scale (inputs up to ~30 around a mean of 3), hence 1e-5 on O(1) values.
      assertClose(y.dataSync(), c.output, { rtol: FLOAT32_OP_RTOL, atol: 1e-5 }, `${what}: output`);
      const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(run(xs[0]!, ...xs.slice(1)), up)))([x, ...params]);
      const expected = [c.gradInput, c.gradWeight, c.gradBias].filter((g): g is number[] => g !== null);
      grads.forEach((g, i) => {
        const atol = 1e-5 * Math.max(1, ...expected[i]!.map(Math.abs));
        assertClose(g.dataSync(), expected[i]!, { rtol: FLOAT32_OP_RTOL, atol }, `${what}: gradient ${["input", c.weight ? "weight" : "bias", "bias"][i]}`);
      });
      tf.dispose([x, up, y, ...params, ...grads]);
    }
  }));

  it("host and tfjs paths agree: outputs and gradients on 10 shapes and an empty batch, over the last dim and the last two, each affine choice", () => {
    const g = new Generator(17);
    for (const shape of [...GRADCHECK_SHAPES, [0, 2, 4]]) {
      for (const k of shape.length >= 2 ? [1, 2] : [1]) {
        const normalized = shape.slice(shape.length - k);
        // Each row spread over [−3, 3) with a little noise: no row of near-equal values, whose 1/σ would amplify round-off.
        const n = normalized.reduce((a, b) => a * b, 1);
        const x = tf.tensor(g.uniformArray(shape.reduce((a, b) => a * b, 1), -0.3, 0.3).map((v, i) => v + 6 * (((i * 5) % n) / n - 0.5)), shape);
        const up = tf.tensor(g.uniformArray(x.size, -1, 1), shape);
        const [w, b] = [tf.tensor(g.uniformArray(n, 0.5, 1.5), normalized), tf.tensor(g.uniformArray(n, -1, 1), normalized)];
        for (const [label, params] of [["plain", []], ["weight", [w]], ["bias", [b]], ["affine", [w, b]]] as [string, tf.Tensor[]][]) {
          const options = (ps: tf.Tensor[]) => (label === "affine" ? { weight: ps[0]!, bias: ps[1]! } : label === "weight" ? { weight: ps[0]! } : label === "bias" ? { bias: ps[0]! } : {});
          const run = () => [F.layerNorm(x, normalized, options(params)), ...tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(F.layerNorm(xs[0]!, normalized, options(xs.slice(1))), up)))([x, ...params])];
          assertPathsAgree(run, { rtol: 1e-5, atol: 1e-5 }, `layerNorm ${JSON.stringify(shape)} over ${JSON.stringify(normalized)} ${label}`);
        }
        tf.dispose([x, up, w, b]);
      }
    }
  });

  it("gradcheck on 10 shapes × 3 scales, over the last dim and the last two, with and without affine parameters", () => {
    const g = new Generator(9);
    for (const shape of GRADCHECK_SHAPES) {
      for (const k of shape.length >= 2 ? [1, 2] : [1]) {
        const normalized = shape.slice(shape.length - k);
        if (normalized.reduce((a, b) => a * b, 1) === 1) continue; // one element: the output is bias alone
        for (const scale of SCALES) {
          // Noise around a spread-out pattern: every normalised group has a standard deviation
          // of order `scale`, so the finite-difference step stays small next to it (a group of
          // near-equal values has a huge rstd and curvature, and no step suits it).
          const n = normalized.reduce((a, b) => a * b, 1);
          const noise = g.uniformArray(shape.reduce((a, b) => a * b, 1), -0.25, 0.25);
          const x = tf.tensor(noise.map((v, i) => scale * (v + (((i % n) * 5) % n) / n - 0.5)), shape);
          const w = tf.tensor(g.uniformArray(normalized.reduce((a, b) => a * b, 1), 0.5, 1.5), normalized);
          const b = tf.tensor(g.uniformArray(w.size, -1, 1), normalized);
          const label = `${JSON.stringify(shape)} over ${JSON.stringify(normalized)} ×${scale}`;
          assertGradcheck((a, ww, bb) => LayerNormF.apply(a, normalized, 1e-5, true, true, ww!, bb!), [x, w, b], `LayerNorm affine ${label}`);
          assertGradcheck((a) => LayerNormF.apply(a, normalized, 1e-5, false, false), [x], `LayerNorm ${label}`);
          tf.dispose([x, w, b]);
        }
      }
    }
  });

  it("LayerNorm: weight ones and bias zeros of normalizedShape (torch's init), or none; applies layerNorm", () => {
    const m = new LayerNorm([2, 3]);
    assert.deepEqual(m.namedParameters().map(([n, p]) => [n, p.shape]), [["weight", [2, 3]], ["bias", [2, 3]]]);
    assert.deepEqual(Array.from(m.weight!.value.dataSync()), [1, 1, 1, 1, 1, 1]);
    assert.deepEqual(Array.from(m.bias!.value.dataSync()), [0, 0, 0, 0, 0, 0]);
    assert.equal(m.toString(), "LayerNorm((2, 3), eps=0.00001, elementwise_affine=True)");
    const plain = new LayerNorm(4, { elementwiseAffine: false, eps: 1e-3 });
    assert.equal(plain.parameters().length, 0);
    const x = tf.tensor([[1, 2, 3, 10]]);
    const [a, b] = [plain.forward(x), F.layerNorm(x, [4], { eps: 1e-3 })];
    assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
    tf.dispose([x, a, b]);
    m.dispose();
  });

  it("bad input: one error naming the op, the argument, what was given and what was expected", () => {
    const x = tf.ones([2, 3]);
    const w = tf.ones([2]);
    const ints = tf.ones([2, 3], "int32");
    assertRejects(() => F.layerNorm(x, [2]), RangeError, /^layerNorm: input has shape \[2, 3\], expected its last 1 dim to be normalizedShape \[2\]$/);
    assertRejects(() => F.layerNorm(x, [4, 2, 3]), RangeError, /^layerNorm: input has shape \[2, 3\], expected its last 3 dims to be normalizedShape \[4, 2, 3\]$/);
    assertRejects(() => F.layerNorm(x, [3], { weight: w }), RangeError, /^layerNorm: weight has shape \[2\], expected normalizedShape \[3\]$/);
    assertRejects(() => F.layerNorm(x, [3], { eps: 0 }), RangeError, /^layerNorm: eps must be positive, got 0$/);
    assertRejects(() => F.layerNorm(x, [0]), RangeError, /^layerNorm: normalizedShape must be a positive integer or a non-empty array of them, got \[0\]$/);
    assertRejects(() => F.layerNorm(ints, [3]), TypeError, /^layerNorm: input must have dtype float32, got int32 \(shape \[2, 3\]\)$/);
    assertRejects(() => new LayerNorm([]), RangeError, /^LayerNorm: normalizedShape must be a positive integer or a non-empty array of them, got \[\]$/);
    assertRejects(() => new LayerNorm(3, { elementwiseAffine: 1 as unknown as boolean }), TypeError, /^LayerNorm: elementwiseAffine must be a boolean, got a number \(1\)$/);
    const [layer, x32] = [new LayerNorm(3), tf.ones([3, 2])];
    assertRejects(() => layer.forward(x32), RangeError, /^layerNorm: input has shape \[3, 2\], expected its last 1 dim to be normalizedShape \[3\]$/);
    layer.dispose();
    tf.dispose([x, w, ints, x32]);
  });

  it("memory is flat across forward + gradient calls, on the host and the tfjs path", () => onBothPaths(() => {
    const m = new LayerNorm([4]);
    const x = tf.randomNormal([3, 4]);
    assertMemoryFlat(() => {
      const grads = tf.tidy(() => tf.grads((a: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(F.layerNorm(a, [4], { weight: w, bias: b }))))([x, m.weight!.value, m.bias!.value]));
      tf.dispose(grads);
    });
    tf.dispose(x);
    m.dispose();
  }));
});
