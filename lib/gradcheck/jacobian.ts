/**
 * Full Jacobians, for inputs small enough: the numerical one column by column from central
 * differences (with a truncation estimate per entry), the analytic one row by row from the
 * backward (one vector–Jacobian product per output element).
 */
import type { Evaluator } from "./evaluate";
import { shifted } from "./evaluate";
import type { Reads } from "./reads";
import { stepFor } from "./tolerance";

export interface NumericJacobian {
  /** Row-major [outputs × inputElements]. */
  values: Float64Array;
  /** Estimated truncation error of each entry. */
  truncation: Float64Array;
  /** The half-step actually taken for each input element (float32-rounded, measured in float64). */
  halfSteps: Float64Array;
  /** Σⱼ |∂fₖ/∂xⱼ · xⱼ|: the size of the terms output k is built from (for the round-off bound). */
  termScale: Float64Array;
}

export function* numericJacobian(ev: Evaluator, index: number, eps: number): Reads<NumericJacobian> {
  const x = ev.values[index]!;
  const n = x.length;
  const m = ev.output.length;
  const values = new Float64Array(m * n);
  const truncation = new Float64Array(m * n);
  const halfSteps = new Float64Array(n);
  const termScale = new Float64Array(m);
  for (let j = 0; j < n; j++) {
    const h = stepFor(x[j]!, eps);
    const [p1, m1, p2, m2] = [h, -h, 2 * h, -2 * h].map((t) => shifted(x, null, j, t));
    const f1p = yield* ev.forwardWith(index, p1!);
    const f1m = yield* ev.forwardWith(index, m1!);
    const f2p = yield* ev.forwardWith(index, p2!);
    const f2m = yield* ev.forwardWith(index, m2!);
    const half1 = (p1![j]! - m1![j]!) / 2;
    const half2 = (p2![j]! - m2![j]!) / 2;
    halfSteps[j] = half1;
    for (let k = 0; k < m; k++) {
      const d1 = (f1p[k]! - f1m[k]!) / (2 * half1);
      const d2 = (f2p[k]! - f2m[k]!) / (2 * half2);
      values[k * n + j] = d1;
      truncation[k * n + j] = Math.abs(d2 - d1) / 3;
      termScale[k] = termScale[k]! + Math.abs(d1 * x[j]!);
    }
  }
  return { values, truncation, halfSteps, termScale };
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
