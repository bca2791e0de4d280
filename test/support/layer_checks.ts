/**
 * What every layer-op suite does the same way: the shapes and scales gradcheck runs over, inputs
 * kept away from kinks, the torch fixture comparison, and the "one clear error, nothing allocated"
 * check for bad input.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { gradcheck, type GradcheckOptions } from "../../lib/gradcheck/gradcheck";
import { formatGradcheckReport } from "../../lib/gradcheck/report";
import { Generator } from "../../lib/random";

/** Ten shapes (ranks 1 to 4, singleton axes included) for gradcheck. */
export const GRADCHECK_SHAPES: readonly number[][] = [[1], [6], [2, 3], [4, 5], [1, 7], [3, 1], [2, 3, 4], [3, 1, 2], [2, 2, 2, 3], [1, 3, 2, 2]];
/** Input scales: small, unit and large, where saturating ops behave differently. */
export const SCALES: readonly number[] = [0.3, 1, 4];

/** Normal values of the given scale, at least `gap`·scale away from 0 (finite differences straddle no kink there). */
export function awayFromZero(g: Generator, shape: readonly number[], scale: number, gap = 0.05): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Float32Array.from(g.normalArray(n), (v) => scale * (Math.sign(v || 1) * (gap + Math.abs(v))));
  return tf.tensor(values, [...shape]);
}

/**
 * Gradcheck that fails with the full report. An absolute floor of 1e-7 per Jacobian entry: where
 * a forward underflows in float32 (gelu at −7 is −1e-11) the finite difference reads exactly 0
 * while the analytic entry is a correct −5.6e-9, and gradcheck's own tolerance there is 0.
 */
export function assertGradcheck(op: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], name: string, options: GradcheckOptions = {}): void {
  const report = gradcheck(op, inputs, { name, atol: 1e-7, ...options });
  assert.ok(report.passed, formatGradcheckReport(report));
}

/** The call throws exactly one error of the given type and message, and leaves no tensor behind. */
export function assertRejects(call: () => unknown, type: new (...args: never[]) => Error, message: RegExp): void {
  const before = tf.memory().numTensors;
  assert.throws(call, (e: Error) => {
    assert.ok(e instanceof type, `${e.name}: ${e.message}; expected a ${type.name}`);
    assert.match(e.message, message);
    return true;
  });
  assert.equal(tf.memory().numTensors, before, "a rejected call allocated tensors");
}

/** The number of live tensors is the same after a few more training-like calls (forward + gradient). */
export function assertMemoryFlat(step: () => void): void {
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) step();
  assert.equal(tf.memory().numTensors, before, "tensors leaked across calls");
}
