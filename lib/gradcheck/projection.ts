/**
 * Random projections uᵀJv for inputs too large for a full Jacobian (the fast mode of PyTorch's
 * gradcheck), through the same Ridders tableau as full Jacobians. v moves every projected input at
 * once, and each projection weights the same forwards by its own u; the tableau is run on the difference between the numerical uᵀJv and the analytic
 * (Jᵀu)·Δ along the float32 steps Δ actually taken, so rounding of the steps cancels out and a
 * correct backward leaves only the function's curvature and round-off to extrapolate away.
 */
import type { Generator } from "../random";
import type { Evaluator } from "./evaluate";
import { inputScale } from "./jacobian";
import type { Reads } from "./reads";
import { ridders } from "./ridders";
import { noiseLevel } from "./tolerance";

export interface Projection {
  analytic: number;
  numerical: number;
  /** The tableau's error estimate of numerical − analytic. */
  error: number;
  /** The step (along v) the estimate came from. */
  step: number;
  /** Round-off of uᵀf at that step: ε·√Σ(uₖ·Sₖ)² / step. */
  roundoff: number;
  /** Σ|u| and Σ|v|, for scaling absolute tolerances. */
  uNorm1: number;
  vNorm1: number;
}

/**
 * Projections of the inputs `indices` along one random direction v, one per output weighting
 * `us[p]` with its Jᵀu (`jtus[p][i]` for input i): every uₚᵀf comes from the same forwards, so
 * more projections cost backwards only. `roundoffScales[p]` is the round-off size of uₚᵀf
 * (√Σ(uₖ·Sₖ)²); `eps` the first step relative to each element's size, as in full mode.
 */
export function* project(ev: Evaluator, indices: readonly number[], us: readonly Float64Array[], jtus: readonly (readonly Float64Array[])[], eps: number, roundoffScales: readonly number[], generator: Generator): Reads<Projection[]> {
  // Each element moves by at most eps·max(|x|, 2⁻⁷·scale), the first step a full Jacobian would take.
  const v = new Map<number, Float64Array>();
  for (const i of indices) {
    const x = ev.values[i]!;
    const scale = inputScale(x) * 2 ** -7;
    const r = generator.normalArray(x.length);
    const rMax = r.reduce((a, b) => Math.max(a, Math.abs(b)), 0) || 1;
    v.set(i, r.map((rj, j) => (rj * Math.max(scale, Math.abs(x[j]!))) / rMax));
  }
  const count = us.length;
  const analytic = new Float64Array(count);
  let vNorm1 = 0;
  for (const [i, vi] of v) {
    for (let j = 0; j < vi.length; j++) {
      for (let p = 0; p < count; p++) analytic[p] = analytic[p]! + jtus[p]![i]![j]! * vi[j]!;
      vNorm1 += Math.abs(vi[j]!);
    }
  }
  const base = Float64Array.from(us, (u) => dot(u, ev.output));
  // uₚᵀf(x + t·v) − (Jᵀuₚ)·Δ(t): a correct backward makes its derivative along t zero.
  function* side(t: number): Reads<Float64Array> {
    const moved = new Map<number, Float64Array>();
    const linear = new Float64Array(count);
    for (const [i, vi] of v) {
      const x = ev.values[i]!;
      const xs = new Float64Array(x.length);
      for (let j = 0; j < x.length; j++) {
        xs[j] = Math.fround(x[j]! + t * vi[j]!);
        const d = xs[j]! - x[j]!;
        for (let p = 0; p < count; p++) linear[p] = linear[p]! + jtus[p]![i]![j]! * d;
      }
      moved.set(i, xs);
    }
    const f = yield* ev.forwardAt(moved);
    return Float64Array.from(us, (u, p) => dot(u, f) - linear[p]!);
  }
  function* pair(h: number) {
    const plus = yield* side(h);
    const minus = yield* side(-h);
    return { plus, minus, halfStep: h, plusStep: h, minusStep: h };
  }
  const r = yield* ridders(pair, base, { h0: eps, maxStep: eps, minStep: 0, maxLevels: 8, noiseAt: (p, h) => noiseLevel(roundoffScales[p]!, h) });
  return us.map((u, p) => ({
    analytic: analytic[p]!,
    numerical: analytic[p]! + r.values[p]!,
    error: r.errors[p]!,
    step: r.steps[p]!,
    roundoff: noiseLevel(roundoffScales[p]!, r.steps[p]!),
    uNorm1: u.reduce((a, b) => a + Math.abs(b), 0),
    vNorm1,
  }));
}

/**
 * An estimate of the size of the terms output k sums, without the full Jacobian: the derivative
 * along x∘s for random signs s has the size of the terms' 2-norm (‖∂fₖ/∂xⱼ · xⱼ‖₂); the larger
 * of two sign draws guards against an unlucky one (one draw where projections, whose tableau
 * measures the noise it sees, are the costly part). All the given inputs move at once.
 */
export function* estimateTermScale(ev: Evaluator, indices: readonly number[], t: number, generator: Generator, draws = 2): Reads<Float64Array> {
  const m = ev.output.length;
  const out = new Float64Array(m);
  if (indices.length === 0) return out;
  for (let draw = 0; draw < draws; draw++) {
    const plus = new Map<number, Float64Array>();
    const minus = new Map<number, Float64Array>();
    for (const i of indices) {
      const x = ev.values[i]!;
      const w = x.map((xj) => (generator.uniform() < 0.5 ? -xj : xj));
      plus.set(i, x.map((xj, j) => Math.fround(xj + t * w[j]!)));
      minus.set(i, x.map((xj, j) => Math.fround(xj - t * w[j]!)));
    }
    const fp = yield* ev.forwardAt(plus);
    const fm = yield* ev.forwardAt(minus);
    for (let k = 0; k < m; k++) {
      const d = Math.abs(fp[k]! - fm[k]!) / (2 * t);
      if (Number.isFinite(d)) out[k] = Math.max(out[k]!, d);
    }
  }
  return out;
}

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
