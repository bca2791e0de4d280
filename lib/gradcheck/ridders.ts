/**
 * Ridders' method for one direction: central differences at steps h, h/2, h/4, … extrapolated in
 * a Richardson tableau (Neville's scheme, with the float32 steps actually taken), keeping for each
 * output the estimate whose own error estimate is smallest. The step shrinks while the estimates
 * improve, so the function itself decides how small it must be: sin at x ≈ 1e3 needs a step well
 * inside its period, abs at x ≈ 1e-7 one below 1e-7. One-sided differences are kept alongside, to
 * tell a kink (they disagree by the same amount at every step) from round-off (they disagree by
 * noise that grows as the step shrinks).
 */
import type { Reads } from "./reads";

/** The outputs at x + t·v and x − t·v, and the half-distance between them actually taken. */
export interface StepPair {
  plus: Float64Array;
  minus: Float64Array;
  /** |(x + t·v) − (x − t·v)| / 2 along the direction, as rounded to float32 (per side for kinks). */
  halfStep: number;
  plusStep: number;
  minusStep: number;
}

export interface RiddersOptions {
  /** The first (largest) step. */
  h0: number;
  maxLevels: number;
  /** The noise level of output k at step h: below it an estimate counts as converged. */
  noiseAt(k: number, h: number): number;
}

export interface RiddersResult {
  /** The best estimate of each output's derivative. */
  values: Float64Array;
  /** Its error estimate (differences within the tableau). */
  errors: Float64Array;
  /** The step the best estimate came from. */
  steps: Float64Array;
  /** Outputs whose one-sided differences disagreed beyond noise, by as much, at every step tried. */
  kinks: Uint8Array;
  levels: number;
  /** Every level's step and central differences, when asked for (hints need them). */
  trace: { h: number; central: Float64Array }[] | null;
}

/** Steps shrink by 2: Richardson's factor for central differences is then 4 per column. */
const SHRINK = 2;
/** Ridders' SAFE: stop once the extrapolation's error is this much worse than the best seen. */
const DETERIORATED = 2;
/** One-sided gaps that shrink by less than this per halving of the step do not come from smoothness (≈ 0.5). */
const KINK_RATIO = 0.75;

/**
 * `pair(h)` evaluates the function on both sides at step h; `base` is f(x). Vector-valued: every
 * output's tableau shares the same evaluations, and the loop ends when every output is done.
 */
export function* ridders(pair: (h: number) => Reads<StepPair>, base: Float64Array, o: RiddersOptions, trace = false): Reads<RiddersResult> {
  const m = base.length;
  const values = new Float64Array(m).fill(Number.NaN);
  const errors = new Float64Array(m).fill(Number.POSITIVE_INFINITY);
  const steps = new Float64Array(m);
  const done = new Uint8Array(m);
  const lastImproved = new Int32Array(m);
  // Gap between one-sided differences at each level, and whether it stayed (a kink) so far.
  const gap = new Float64Array(m);
  const steady = new Uint8Array(m).fill(1);
  const halves: number[] = [];
  let previous: Float64Array[] = [];
  const traced: { h: number; central: Float64Array }[] | null = trace ? [] : null;
  let level = 0;
  for (let h = o.h0; level < o.maxLevels; level++, h /= SHRINK) {
    const p = yield* pair(h);
    const half = p.halfStep;
    halves.push(half);
    const row: Float64Array[] = [new Float64Array(m)];
    for (let k = 0; k < m; k++) row[0]![k] = (p.plus[k]! - p.minus[k]!) / (2 * half);
    traced?.push({ h: half, central: row[0]! });
    for (let c = 1; c <= level; c++) {
      const ratio = (halves[level - c]! / half) ** 2 - 1;
      const col = new Float64Array(m);
      const left = row[c - 1]!;
      const up = previous[c - 1]!;
      for (let k = 0; k < m; k++) col[k] = left[k]! + (left[k]! - up[k]!) / ratio;
      row.push(col);
    }
    let allDone = true;
    for (let k = 0; k < m; k++) {
      const forward = (p.plus[k]! - base[k]!) / p.plusStep;
      const backward = (base[k]! - p.minus[k]!) / p.minusStep;
      const g = Math.abs(forward - backward);
      const noisy = g <= 4 * o.noiseAt(k, half);
      if (noisy || (level > 0 && !(g >= KINK_RATIO * gap[k]!))) steady[k] = 0;
      gap[k] = g;
      if (done[k]) continue;
      for (let c = 1; c <= level; c++) {
        const t = row[c]![k]!;
        const err = Math.max(Math.abs(t - row[c - 1]![k]!), Math.abs(t - previous[c - 1]![k]!));
        if (err < errors[k]!) {
          errors[k] = err;
          values[k] = t;
          steps[k] = half;
          lastImproved[k] = level;
        }
      }
      if (level === 0) {
        allDone = false;
        continue;
      }
      const converged = errors[k]! <= o.noiseAt(k, steps[k]!) + 1e-7 * Math.abs(values[k]!);
      const diagonal = Math.abs(row[level]![k]! - previous[level - 1]![k]!);
      const trusted = errors[k]! <= 0.25 * Math.abs(values[k]!) || converged;
      const deteriorated = trusted && (diagonal >= DETERIORATED * errors[k]! || level - lastImproved[k]! >= 2);
      if (converged || deteriorated) done[k] = 1;
      else allDone = false;
    }
    previous = row;
    if (allDone) {
      level++;
      break;
    }
  }
  // Nothing converged for an output (every level non-finite, say): fall back on the last central difference.
  for (let k = 0; k < m; k++) if (!Number.isFinite(errors[k]!)) values[k] = previous[0]?.[k] ?? Number.NaN;
  const kinks = new Uint8Array(m);
  for (let k = 0; k < m; k++) kinks[k] = level >= 2 && steady[k] ? 1 : 0;
  return { values, errors, steps, kinks, levels: level, trace: traced };
}
