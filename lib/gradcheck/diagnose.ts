/**
 * Names the shape of a wrong gradient, so the report says what to fix rather than only where:
 * a constant factor, a flipped sign, a transpose, gradients returned in the wrong order, zeros.
 * Works on vector–Jacobian products Jᵀu for one random u, analytic against numerical.
 */
import { dot } from "./projection";

export interface VjpPair {
  label: string;
  shape: readonly number[];
  analytic: Float64Array;
  /** Null where the input was checked by projections only. */
  numerical: Float64Array | null;
}

/**
 * Within 5% in the 2-norm: loose enough for the finite-difference noise of long reductions
 * (which averages out over elements), tight enough that a different pattern (≈100% apart) never
 * passes for this one.
 */
function close(a: Float64Array, b: Float64Array): boolean {
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff += (a[i]! - b[i]!) ** 2;
  const scale = Math.max(Math.sqrt(dot(a, a)), Math.sqrt(dot(b, b)));
  return scale > 0 && Math.sqrt(diff) <= 0.05 * scale;
}

function scaleMessage(label: string, c: number): string {
  if (Math.abs(c + 1) <= 0.05) return `the gradient for ${label} has the wrong sign (analytic = −numerical): a sign is flipped in the backward`;
  return `the gradient for ${label} is ${c.toPrecision(3)} × the numerical one: a stray constant factor in the backward`;
}

/**
 * For inputs checked by projections only: if every projection's analytic/numerical ratio is the
 * same constant, the backward is off by that factor.
 */
export function diagnoseProjections(label: string, projections: readonly { analytic: number; numerical: number }[]): string | null {
  if (projections.length < 2 || projections.some((p) => p.numerical === 0)) return null;
  const ratios = projections.map((p) => p.analytic / p.numerical);
  const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
  if (Math.abs(mean - 1) <= 0.05 || ratios.some((r) => Math.abs(r - mean) > 0.02 * Math.abs(mean))) return null;
  return scaleMessage(label, mean);
}

function maxAbs(a: Float64Array): number {
  return a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
}
export function diagnose(target: number, pairs: readonly VjpPair[]): string | null {
  const { analytic, numerical, shape, label } = pairs[target]!;
  if (numerical === null) return null;
  if (maxAbs(analytic) === 0 && maxAbs(numerical) > 0) {
    return `the backward returns zeros for ${label}, but the output does depend on it`;
  }
  // Before the constant-factor test, which a one-element gradient always passes.
  for (let other = 0; other < pairs.length; other++) {
    const o = pairs[other]!;
    if (other === target || o.numerical === null || o.numerical.length !== analytic.length || close(numerical, o.numerical)) continue;
    if (close(analytic, o.numerical)) {
      return `the gradient returned for ${label} is the one for ${o.label}: the backward returns its gradients in the wrong order`;
    }
  }
  const nn = dot(numerical, numerical);
  if (nn > 0) {
    const c = dot(analytic, numerical) / nn;
    if (Math.abs(c - 1) > 0.05 && close(analytic, numerical.map((x) => c * x))) return scaleMessage(label, c);
  }
  if (shape.length === 2 && shape[0] === shape[1] && shape[0]! > 1 && close(analytic, transpose(numerical, shape[0]!))) {
    return `the gradient for ${label} is the transpose of the right one: a transpose is missing or extra in the backward (check transposeA/transposeB of its matMul)`;
  }
  return null;
}

function transpose(a: Float64Array, n: number): Float64Array {
  const out = new Float64Array(a.length);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) out[c * n + r] = a[r * n + c]!;
  return out;
}
