/**
 * Random projections uᵀJv for inputs too large for a full Jacobian (the fast mode of PyTorch's
 * gradcheck): the analytic side is (Jᵀu)·Δ from one backward, the numerical side the change of
 * uᵀf along the float32 steps Δ actually taken. Both use the same Δ, so rounding of the step
 * cancels out of the comparison.
 */
import type { Generator } from "../random";
import type { Evaluator } from "./evaluate";
import { shifted } from "./evaluate";
import type { Reads } from "./reads";

export interface Projection {
  analytic: number;
  numerical: number;
  /**
   * The error's change between steps t and 2t, over 3: truncation plus measured round-off noise.
   * It does not depend on whether the analytic side is right (both steps see the same mistake).
   */
  noise: number;
  /** Σ|u| and Σ|v|, for scaling absolute tolerances. */
  uNorm1: number;
  vNorm1: number;
}

/** One projection of input `index`, for output weights `u` and that input's Jᵀu. */
export function* project(ev: Evaluator, index: number, u: Float64Array, jtu: Float64Array, t: number, generator: Generator): Reads<Projection> {
  const x = ev.values[index]!;
  const r = generator.normalArray(x.length);
  const rMax = r.reduce((a, b) => Math.max(a, Math.abs(b)), 0) || 1;
  // Each element moves by at most t·max(1, |x|), the step a full Jacobian would take.
  const v = r.map((rj, j) => (rj * Math.max(1, Math.abs(x[j]!))) / rMax);
  function* g(xs: Float64Array): Reads<number> {
    return dot(u, yield* ev.forwardWith(index, xs));
  }
  function* at(scale: number): Reads<{ numerical: number; analytic: number }> {
    const plus = shifted(x, v, 0, scale * t);
    const minus = shifted(x, v, 0, -scale * t);
    let analytic = 0;
    for (let j = 0; j < x.length; j++) analytic += jtu[j]! * (plus[j]! - minus[j]!);
    const numerical = ((yield* g(plus)) - (yield* g(minus))) / (2 * scale * t);
    return { numerical, analytic: analytic / (2 * scale * t) };
  }
  const one = yield* at(1);
  const two = yield* at(2);
  return {
    analytic: one.analytic,
    numerical: one.numerical,
    noise: Math.abs(two.numerical - two.analytic - (one.numerical - one.analytic)) / 3,
    uNorm1: u.reduce((a, b) => a + Math.abs(b), 0),
    vNorm1: v.reduce((a, b) => a + Math.abs(b), 0),
  };
}

/**
 * An estimate of the size of the terms output k sums, without the full Jacobian: the derivative
 * along x∘s for random signs s has the size of the terms' 2-norm (‖∂fₖ/∂xⱼ · xⱼ‖₂); the larger
 * of two sign draws guards against an unlucky one. (The 1-norm a full Jacobian gives would need
 * the number of terms per output, which a projection cannot see; the measured noise covers it.)
 */
export function* estimateTermScale(ev: Evaluator, index: number, t: number, generator: Generator): Reads<Float64Array> {
  const x = ev.values[index]!;
  const m = ev.output.length;
  const out = new Float64Array(m);
  for (let draw = 0; draw < 2; draw++) {
    const w = x.map((xj) => (generator.uniform() < 0.5 ? -xj : xj));
    const plus = yield* ev.forwardWith(index, shifted(x, w, 0, t));
    const minus = yield* ev.forwardWith(index, shifted(x, w, 0, -t));
    for (let k = 0; k < m; k++) out[k] = Math.max(out[k]!, Math.abs(plus[k]! - minus[k]!) / (2 * t));
  }
  return out;
}

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
