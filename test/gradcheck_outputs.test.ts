/**
 * gradcheck on ops with several outputs and non-tensor arguments (defineFunction's Arg): one
 * random dy per output, the non-tensor argument passed through unchanged and not differentiated.
 * Reference: the closed form d/dx [sin(a·x), cos(a·x)] and the mistakes planted against it.
 */
import assert from "node:assert/strict";
import { before, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../lib/backend";
import { defineFunction } from "../lib/function";
import { gradcheck, gradcheckAsync } from "../lib/gradcheck/gradcheck";
import { formatGradcheckReport } from "../lib/gradcheck/report";

before(async () => {
  await setBackend("cpu");
});

type Backward = (dy1: tf.Tensor, dy2: tf.Tensor, x: tf.Tensor, a: number) => tf.Tensor;
/** [sin(a·x), cos(a·x)], a a plain number; backward a·(dy₁·cos(a·x) − dy₂·sin(a·x)) when right. */
const sinCos = (name: string, backward: Backward) =>
  defineFunction<[tf.Tensor, number], [tf.Tensor, tf.Tensor]>({
    name,
    inputNames: ["x", "a"],
    forward(ctx, x, a) {
      ctx.saveForBackward(x);
      return [tf.sin(tf.mul(x, a)), tf.cos(tf.mul(x, a))];
    },
    backward(ctx, dy1, dy2) {
      const [x] = ctx.saved;
      return [backward(dy1 ?? tf.zerosLike(x!), dy2 ?? tf.zerosLike(x!), x!, ctx.attrs[1] as number), null];
    },
  });

const RIGHT: Backward = (dy1, dy2, x, a) => tf.mul(a, tf.sub(tf.mul(dy1, tf.cos(tf.mul(x, a))), tf.mul(dy2, tf.sin(tf.mul(x, a)))));

it("passes a correct two-output op with a number argument, which it passes through and does not differentiate", async () => {
  const x = tf.tensor2d([0.3, -1.2, 2.0, 0.05, -0.7, 1.5], [2, 3]);
  let seen: unknown[] = [];
  const op = sinCos("SINCOS", (dy1, dy2, xx, a) => {
    seen.push(a);
    return RIGHT(dy1, dy2, xx, a);
  });
  const report = gradcheck(op, [x, 1.7]);
  const text = formatGradcheckReport(report);
  assert.ok(report.passed, text);
  assert.equal(report.inputs.length, 2);
  assert.equal(report.inputs[0]!.compared, 12 * 6, "12 output elements (two outputs of 6) × 6 input elements");
  assert.equal(report.inputs[0]!.linearInDy, true);
  assert.equal(report.inputs[1]!.mode, "skipped");
  assert.match(text, /input 1 \(a\) \[\]: ok \(not checked: not a tensor \(a number \(1\.7\)\): passed through unchanged\)/);
  assert.ok(seen.length > 0 && seen.every((a) => a === 1.7), `backward saw a = ${seen}`);
  seen = [];
  assert.deepEqual(await gradcheckAsync(op, [x, 1.7]), report);
  x.dispose();
});

it("fails each mistake, naming the output: a dy ignored, the dys swapped, a missing factor a", () => {
  const x = tf.tensor1d([0.3, -1.2, 2.0, 0.8]);
  const mistakes: [string, Backward, RegExp][] = [
    ["IGNORES_DY2", (dy1, _dy2, xx, a) => tf.mul(a, tf.mul(dy1, tf.cos(tf.mul(xx, a)))), /∂out1\[\d\] \/ ∂x\[\d\]/],
    ["SWAPS_DYS", (dy1, dy2, xx, a) => RIGHT(dy2, dy1, xx, a), /∂out[01]\[\d\] \/ ∂x\[\d\]/],
    ["NO_FACTOR_A", (dy1, dy2, xx, a) => tf.div(RIGHT(dy1, dy2, xx, a), a), /is 0\.588 × the numerical one/],
  ];
  for (const [name, backward, says] of mistakes) {
    const report = gradcheck(sinCos(name, backward), [x, 1.7]);
    const text = formatGradcheckReport(report);
    assert.equal(report.passed, false, text);
    assert.match(text, says, text);
  }
  x.dispose();
});

it("rejects an argument that is neither a tensor nor a plain value, naming it", () => {
  const x = tf.tensor1d([0.3]);
  assert.throws(() => gradcheck(sinCos("SINCOS", RIGHT), [x, {} as unknown as number]), /gradcheck\(SINCOS\): input 1 \(a\) is an object \(Object\); expected a tf\.Tensor, or a number, boolean, string or array of them/);
  x.dispose();
});

it("gets the two-output op right at every input scale from 1e-7 to 1e3", () => {
  const scales = [1e-7, 1e-4, 1e-2, 1, 1e3];
  const swaps = sinCos("SWAPS_DYS", (dy1, dy2, xx, a) => RIGHT(dy2, dy1, xx, a));
  const noFactor = sinCos("NO_FACTOR_A", (dy1, dy2, xx, a) => tf.div(RIGHT(dy1, dy2, xx, a), a));
  const ignoresDy2 = sinCos("IGNORES_DY2", (dy1, _dy2, xx, a) => tf.mul(a, tf.mul(dy1, tf.cos(tf.mul(xx, a)))));
  for (const scale of scales) {
    const x = tf.tensor1d([0.31, -1.2, 0.77, 1.9, -0.45].map((v) => v * scale));
    const right = gradcheck(sinCos("SINCOS", RIGHT), [x, 1.7]);
    assert.ok(right.passed, `scale ${scale}:\n${formatGradcheckReport(right)}`);
    // Swapping the dys, or dropping the factor a (−41%), changes every gradient at every scale.
    for (const op of [swaps, noFactor]) assert.equal(gradcheck(op, [x, 1.7]).passed, false, `${op.name} at ${scale}`);
    // Ignoring dy₂ drops a·dy₂·sin(a·x): ≥ 1% of the gradient from |a·x| ≈ 0.01 on (scale 1e-2 here).
    if (scale >= 1e-2) assert.equal(gradcheck(ignoresDy2, [x, 1.7]).passed, false, `IGNORES_DY2 at ${scale}`);
    x.dispose();
  }
});
