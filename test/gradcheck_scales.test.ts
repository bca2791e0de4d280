/**
 * The cases issue 10 measured gradcheck getting wrong, each planted: false alarms on correct
 * backwards away from scale 1, misses (a small-x mistake, a backward that ignores dy), and
 * NaN/Inf passing for right. References: tfjs's autodiff (plain tensor functions) and closed forms.
 */
import assert from "node:assert/strict";
import { before, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../lib/backend";
import { defineFunction } from "../lib/function";
import { gradcheck, gradcheckAsync } from "../lib/gradcheck/gradcheck";
import { formatGradcheckReport, GradcheckError } from "../lib/gradcheck/report";
import { linearWith } from "../lib/ops/linear_mistakes";
import { Generator } from "../lib/random";

before(async () => {
  await setBackend("cpu");
});

const normal = (g: Generator, shape: number[], std: number, mean = 0) => tf.tensor(Float32Array.from(g.normalArray(shape.reduce((a, b) => a * b, 1)), (z) => mean + std * z), shape);
const layerNorm = (x: tf.Tensor) => {
  const c = tf.sub(x, tf.mean(x, -1, true));
  return tf.div(c, tf.sqrt(tf.add(tf.mean(tf.square(c), -1, true), 1e-5)));
};

it("passes tfjs's own layer-norm gradient at input std 0.02 and 0.005 (was: 11 of 20 and 20 of 20 false alarms)", () => {
  const g = new Generator(1);
  for (const std of [0.02, 0.005]) {
    for (let trial = 0; trial < 20; trial++) {
      const x = normal(g, [3, 5], std);
      const report = gradcheck(layerNorm, [x], { seed: trial });
      assert.ok(report.passed, `std ${std}, trial ${trial}:\n${formatGradcheckReport(report)}`);
      x.dispose();
    }
  }
});

it("passes sin at |x| ≈ 1e3 and softmax on logits ≈ 1000 (was: a step of ≈ 4.9, nearly sin's period)", () => {
  const g = new Generator(2);
  const x = normal(g, [8], 3, 1000);
  assert.ok(gradcheck(tf.sin, [x]).passed, formatGradcheckReport(gradcheck(tf.sin, [x])));
  const logits = normal(g, [3, 5], 1, 1000);
  const report = gradcheck((z: tf.Tensor) => tf.softmax(z), [logits]);
  assert.ok(report.passed, formatGradcheckReport(report));
  tf.dispose([x, logits]);
});

it("passes abs wherever its derivative exists, at |x| ≤ 5e-3 and ≈ 1e-7, and counts the kink at 0 without failing", () => {
  const g = new Generator(3);
  for (const scale of [5e-3, 1e-4, 1e-7]) {
    const x = normal(g, [10], scale);
    const report = gradcheck(tf.abs, [x]);
    assert.ok(report.passed, `scale ${scale}:\n${formatGradcheckReport(report)}`);
    assert.equal(report.inputs[0]!.nondifferentiable, 0);
    x.dispose();
  }
  // relu at exactly 0: one-sided slopes 0 and 1 at every step; tfjs says 0.
  const x = tf.tensor1d([0, 0.5, -0.25]);
  const relu = (z: tf.Tensor) => tf.relu(z);
  const report = gradcheck(relu, [x]);
  const text = formatGradcheckReport(report);
  assert.ok(report.passed, text);
  assert.equal(report.inputs[0]!.nondifferentiable, 1);
  assert.match(text, /1 not differentiable within reach/);
  assert.match(text, /not differentiable within reach of x: ∂out\[0\] \/ ∂input0\[0\] at x = 0/);
  const strict = gradcheck(relu, [x], { nondifferentiable: "fail" });
  assert.equal(strict.passed, false);
  assert.throws(() => gradcheck(relu, [x], { nondifferentiable: "maybe" as "fail" }), /nondifferentiable must be "skip" or "fail", got "maybe"/);
  x.dispose();
});

it("catches a cube whose backward returns 2x² instead of 3x², at x ≈ 1e-4 (was: swamped by the step's truncation floor)", () => {
  const cube = (factor: number) =>
    defineFunction<[tf.Tensor]>({
      name: `CUBE_${factor}`,
      forward(ctx, x) {
        ctx.saveForBackward(x);
        return tf.pow(x, 3);
      },
      backward(ctx, dy) {
        return tf.mul(dy, tf.mul(factor, tf.square(ctx.saved[0]!)));
      },
    });
  const x = normal(new Generator(4), [6], 1e-4);
  assert.equal(gradcheck(cube(3), [x]).passed, true, formatGradcheckReport(gradcheck(cube(3), [x])));
  const wrong = gradcheck(cube(2), [x]);
  assert.equal(wrong.passed, false);
  assert.match(formatGradcheckReport(wrong), /0\.667 × the numerical one/);
  x.dispose();
});

it("catches a backward that ignores dy, or squares it, at the seed's 1×2→1 (one output element) and says so", () => {
  const g = new Generator(5);
  const xs = [normal(g, [1, 2], 1), normal(g, [1, 2], 1), normal(g, [1], 1)] as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
  const ignoring = linearWith("IGNORES_DY", (_dy, x, w) => [tf.matMul(tf.onesLike(_dy), w), tf.matMul(tf.onesLike(_dy), x, true, false), tf.sum(tf.onesLike(_dy), 0)]);
  const squaring = linearWith("SQUARES_DY", (dy, x, w) => [tf.matMul(tf.square(dy), w), tf.matMul(tf.square(dy), x, true, false), tf.sum(tf.square(dy), 0)]);
  for (const op of [ignoring, squaring]) {
    const report = gradcheck(op, xs);
    const text = formatGradcheckReport(report);
    assert.equal(report.passed, false, text);
    assert.ok(report.inputs.every((r) => r.linearInDy === false), text);
    assert.match(text, /the backward is not linear in dy: for a random dy it returns \S+ where linearity \(−4·dy giving −4× the gradient, and Σₖ dyₖ·its gradient for the k-th unit dy\) says \S+/);
    assert.match(text, /worst: backward\(dy\)\[0, \d\] for a random dy/);
  }
  const right = gradcheck(linearWith("RIGHT", (dy, x, w) => [tf.matMul(dy, w), tf.matMul(dy, x, true, false), tf.sum(dy, 0)]), xs);
  assert.ok(right.passed && right.inputs.every((r) => r.linearInDy === true), formatGradcheckReport(right));
  tf.dispose(xs);
});

it("refuses NaN or Inf in an input before checking, naming the input and the index", () => {
  const x = tf.tensor2d([1, 2, Number.NaN, 4], [2, 2]);
  const w = tf.tensor2d([1, 2, 3, Number.POSITIVE_INFINITY], [2, 2]);
  const b = tf.tensor1d([0, 0]);
  const op = linearWith("MYLINEAR", (dy, xx, ww) => [tf.matMul(dy, ww), tf.matMul(dy, xx, true, false), tf.sum(dy, 0)]);
  assert.throws(() => gradcheck(op, [x, tf.ones([2, 2]) as tf.Tensor2D, b]), /^RangeError: gradcheck\(MYLINEAR\): input 0 \(x\) is NaN at \[1, 0\]; finite differences need finite inputs/);
  assert.throws(() => gradcheck(op, [tf.ones([2, 2]) as tf.Tensor2D, w, b], { raise: false }), /input 1 \(weight\) is Infinity at \[1, 1\]/);
  tf.dispose([x, w, b]);
});

it("fails a backward that returns NaN or Inf, naming where, and raise throws; projection mode too", async () => {
  const make = (bad: number) =>
    defineFunction<[tf.Tensor]>({
      name: `BAD_${bad}`,
      inputNames: ["x"],
      forward: (_ctx, x) => tf.mul(x, 2),
      backward: (_ctx, dy) => tf.mul(dy, tf.tensor1d([2, 2, bad, 2])),
    });
  const x = tf.tensor1d([0.5, -1, 2, 3]);
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
    const report = gradcheck(make(bad), [x]);
    const text = formatGradcheckReport(report);
    assert.equal(report.passed, false, text);
    // dy·NaN and 0·Inf are NaN: every row's entry for x[2] is not finite.
    assert.match(text, /worst: ∂out\[0\] \/ ∂x\[2\]: analytic NaN/);
    assert.match(text, /→ the analytic Jacobian is NaN at ∂out\[0\] \/ ∂x\[2\]/);
    assert.throws(() => gradcheck(make(bad), [x], { raise: true }), (e: Error) => e instanceof GradcheckError && /FAILED/.test(e.message));
    const projected = await gradcheckAsync(make(bad), [x], { mode: "projection" });
    assert.equal(projected.passed, false, formatGradcheckReport(projected));
  }
  // The forward NaN below 1, finite at and above: at x = 1 the numerical Jacobian is NaN, the analytic 1.
  const y = tf.tensor1d([1, 4]);
  const nanBelowOne = defineFunction<[tf.Tensor]>({
    name: "NAN_BELOW_ONE",
    forward: (_ctx, z) => tf.where(tf.less(z, 1), tf.fill(z.shape, Number.NaN), z),
    backward: (_ctx, dy) => dy,
  });
  const report = gradcheck(nanBelowOne, [y]);
  assert.equal(report.passed, false);
  assert.match(formatGradcheckReport(report), /the numerical Jacobian is NaN at ∂out\[0\] \/ ∂input0\[0\]/);
  // An output that is NaN before any step (a mean over no elements) fails too, and says so.
  const z = tf.tensor1d([0.5]);
  const meanOverNothing = (v: tf.Tensor) => tf.div(tf.sum(tf.mul(v, 0)), 0);
  assert.match(formatGradcheckReport(gradcheck(meanOverNothing, [z])), /FAILED[\s\S]*where the output out\[\] itself is NaN at the unperturbed inputs/);
  tf.dispose([x, y, z]);
});

it("says, for a failing entry, whether any step agrees with the backward", () => {
  const x = tf.tensor1d([0.3, -0.7, 1.1]);
  const wrong = defineFunction<[tf.Tensor]>({
    name: "SIN_WITH_SIN",
    forward: (_ctx, z) => tf.sin(z),
    backward(ctx, dy) {
      return dy;
    },
  });
  const report = gradcheck(wrong, [x]);
  assert.match(formatGradcheckReport(report), /hint: no step from \S+ down to \S+ gives the analytic \S+ \(central differences from \S+ to \S+\): the backward is wrong there, not the step/);
  x.dispose();
});
