/** Whether a backward is linear in dy, as every vector–Jacobian product must be. */
import type { Generator } from "../random";
import type { CheckContext } from "./compare";
import type { NumericJacobian } from "./jacobian";
import { transposeTimes } from "./jacobian";
import { unravel, type WorstEntry } from "./report";
import { FLOAT32_SUBNORMAL_RESOLUTION, toleranceFor } from "./tolerance";

/**
 * The backward's linearity in dy. Two runs with random, non-unit dy: u and −4u, which a linear
 * backward maps to exactly −4× the first result (a power of two scales every float32 term
 * exactly), whatever its own rounding; and u against Σₖ uₖ·backward(eₖ), the rows already
 * compared, within the rows' tolerances. A backward that ignores dy (right at one output
 * element) or squares it (right for 0 and 1) passes the rows and fails here.
 */
export function checkRandomDy(cx: CheckContext, i: number, num: NumericJacobian, ana: Float64Array, u: Float64Array, got: Float64Array, scaled: Float64Array) {
  const n = cx.ev.values[i]!.length;
  const m = cx.ev.output.length;
  const fromRows = transposeTimes(ana, m, n, u);
  const rowMax = new Float64Array(m);
  for (let k = 0; k < m; k++) for (let j = 0; j < n; j++) if (Number.isFinite(ana[k * n + j]!)) rowMax[k] = Math.max(rowMax[k]!, Math.abs(ana[k * n + j]!));
  let mismatched = 0;
  let worst: WorstEntry | null = null;
  let worstRatio = -1;
  const consider = (j: number, analytic: number, expected: number, tolerance: number) => {
    const error = Math.abs(analytic - expected);
    const within = error <= tolerance;
    if (!within) mismatched++;
    const ratio = within ? error / tolerance : Number.POSITIVE_INFINITY;
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worst = { output: null, input: unravel(j, cx.ev.shapes[i]!), analytic, numerical: expected, tolerance };
    }
  };
  for (let j = 0; j < n; j++) {
    consider(j, scaled[j]! / -4, got[j]!, 2 ** -16 * (Math.abs(scaled[j]! / 4) + Math.abs(got[j]!)) + FLOAT32_SUBNORMAL_RESOLUTION);
    let tolerance = 0;
    for (let k = 0; k < m; k++) {
      const e = k * n + j;
      const entry = toleranceFor(cx.t, cx.termScale[k]!, num.steps[e]!, num.errors[e]!, num.values[e]!, rowMax[k]!);
      tolerance += Math.abs(u[k]!) * (entry + (num.kinks[e] ? Math.abs(ana[e]! - num.values[e]!) : 0));
    }
    consider(j, got[j]!, fromRows[j]!, tolerance);
  }
  return { linearInDy: mismatched === 0, worst: worst as WorstEntry | null, mismatched };
}

/** A random dy, each entry at least 1.5 in size and of either sign: never mistaken for ones. */
export function makeRandomDy(generator: Generator, m: number): Float64Array {
  return generator.normalArray(m).map((z) => Math.sign(z || 1) * (1.5 + Math.abs(z)));
}
