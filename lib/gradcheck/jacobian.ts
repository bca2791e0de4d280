/**
 * Full Jacobians: the numerical one column by column (one Ridders tableau per input element, every
 * output at once), the analytic one row by row (one backward per output element).
 */
import type { Evaluator } from "./evaluate";
import { shifted } from "./evaluate";
import type { Reads } from "./reads";
import { ridders, type RiddersResult } from "./ridders";
import { firstStep, MAX_LEVELS, maxFirstStep, minStep, noiseLevel } from "./tolerance";

export interface NumericJacobian {
  /** Row-major [outputs × inputElements]. */
  values: Float64Array;
  /** The tableau's error estimate of each entry. */
  errors: Float32Array;
  /** The half-step each entry's estimate came from (float32-rounded, measured in float64). */
  steps: Float32Array;
  /** 1 where the one-sided differences disagreed by as much at every step tried: a kink within reach. */
  kinks: Uint8Array;
  /** Σⱼ |∂fₖ/∂xⱼ · xⱼ|: the size of the terms output k is built from (for the round-off bound). */
  termScale: Float64Array;
}

/**
 * `noiseScale[k]` is the size of what output k is computed from (|fₖ| plus its terms, estimated
 * beforehand): ε·noiseScale/h is the round-off below which the tableau stops refining.
 */
export function* numericJacobian(ev: Evaluator, index: number, eps: number, noiseScale: Float64Array): Reads<NumericJacobian> {
  const x = ev.values[index]!;
  const n = x.length;
  const m = ev.output.length;
  const values = new Float64Array(m * n);
  const errors = new Float32Array(m * n);
  const steps = new Float32Array(m * n);
  const kinks = new Uint8Array(m * n);
  const termScale = new Float64Array(m);
  const scale = inputScale(x);
  for (let j = 0; j < n; j++) {
    const r = yield* column(ev, index, j, eps, scale, noiseScale);
    for (let k = 0; k < m; k++) {
      const e = k * n + j;
      values[e] = r.values[k]!;
      errors[e] = r.errors[k]!;
      steps[e] = r.steps[k]!;
      kinks[e] = r.kinks[k]!;
      termScale[k] = termScale[k]! + Math.abs(r.values[k]! * x[j]!);
    }
  }
  return { values, errors, steps, kinks, termScale };
}

/** One column of the numerical Jacobian: ∂f/∂xⱼ for every output. */
export function* column(ev: Evaluator, index: number, j: number, eps: number, scale: number, noiseScale: Float64Array, trace = false): Reads<RiddersResult> {
  const x = ev.values[index]!;
  const h0 = Math.max(firstStep(x[j]!, scale, eps), 2 * minStep(x[j]!));
  function* pair(h: number) {
    const p = shifted(x, null, j, h);
    const q = shifted(x, null, j, -h);
    const plus = yield* ev.forwardWith(index, p);
    const minus = yield* ev.forwardWith(index, q);
    return { plus, minus, halfStep: (p[j]! - q[j]!) / 2, plusStep: p[j]! - x[j]!, minusStep: x[j]! - q[j]! };
  }
  return yield* ridders(pair, ev.output, { h0, maxStep: maxFirstStep(x[j]!, scale, eps), minStep: minStep(x[j]!), maxLevels: MAX_LEVELS, probeNoise: true, noiseAt: (k, h) => noiseLevel(noiseScale[k]!, h) }, trace);
}

/** The input's own scale: its root mean square (1 for an all-zero input). */
export function inputScale(x: Float64Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return s > 0 ? Math.sqrt(s / x.length) : 1;
}

/** Analytic Jacobians of the given inputs: row k is the backward of the k-th unit vector. */
export function* analyticJacobians(ev: Evaluator, indices: readonly number[]): Reads<Map<number, Float64Array>> {
  const m = ev.output.length;
  const out = new Map(indices.map((i) => [i, new Float64Array(m * ev.values[i]!.length)] as const));
  if (indices.length === 0) return out;
  const u = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    u.fill(0);
    u[k] = 1;
    const grads = yield* ev.vjp(u);
    for (const i of indices) {
      const n = ev.values[i]!.length;
      out.get(i)!.set(grads[i]!, k * n);
    }
  }
  return out;
}

/** Jᵀu from a row-major [m × n] Jacobian. */
export function transposeTimes(jacobian: Float64Array, m: number, n: number, u: Float64Array): Float64Array {
  const out = new Float64Array(n);
  for (let k = 0; k < m; k++) {
    const uk = u[k]!;
    if (uk === 0) continue;
    for (let j = 0; j < n; j++) out[j] = out[j]! + uk * jacobian[k * n + j]!;
  }
  return out;
}
