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
import { FLOAT32_UNIT_ROUNDOFF } from "./tolerance";

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
  /** The first step tried. */
  h0: number;
  /**
   * How far the first step may grow while every output's change is still near round-off (exp at
   * x ≈ 1e-7 changes by less than one float32 unit at a step of |x|/8); h0 when it may not.
   */
  maxStep: number;
  /** The smallest step worth taking (a few units in the last place of x). */
  minStep: number;
  maxLevels: number;
  /**
   * Measure the forward's noise at the step the estimates came from with one more pair of
   * evaluations (full mode: yes; projection mode, where forwards are costly: no).
   */
  probeNoise?: boolean;
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
/** The first step grows by this factor until some output changes by SIGNAL × its round-off. */
const GROW = 4;
const SIGNAL = 2 ** 16;
/** An estimate this close (relative) may stop the tableau when it deteriorates; a rougher one may not. */
const TRUSTED = 1e-2;
const CLOSE = 1e-3;
/** A probe that moves the estimate by this much (relative) rejects it: aliasing, not noise. */
const REJECTED = 0.25;

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
  // Consecutive levels whose best extrapolation was within TRUSTED of the estimate: one can be luck
  // (two central differences across several periods of sin can agree), two in a row rarely are.
  const streak = new Int32Array(m);
  // Whether some level so far moved the output at all.
  const moved = new Uint8Array(m);
  // Gap between one-sided differences at each level, and whether it stayed (a kink) so far.
  const gap = new Float64Array(m);
  const steady = new Uint8Array(m).fill(1);
  const halves: number[] = [];
  const centrals: Float64Array[] = [];
  const requested: number[] = [];
  const deltas: Float64Array[] = [];
  // Each level's best extrapolation and its error, per output: re-weighed once the noise is measured.
  const levelErrors: Float64Array[] = [];
  const levelValues: Float64Array[] = [];
  let previous: Float64Array[] = [];
  const traced: { h: number; central: Float64Array }[] | null = trace ? [] : null;
  let level = 0;
  let h = o.h0;
  let first = yield* pair(h);
  // The central difference at the step first asked for, noisy but unbiased: a grown step's estimate must agree with it.
  const small = first;
  while (h * GROW <= o.maxStep && !clearOfNoise(first, base)) first = yield* pair((h *= GROW));
  let stretched: StepPair | null = null;
  let probe = -1;
  // Per output, the first level whose estimates count (later than 1 once a probe rejected the earlier ones).
  const firstCounted = new Int32Array(m).fill(1);
  for (;;) {
    for (; level < o.maxLevels && (level < 2 || h >= o.minStep); level++, h /= SHRINK) {
      const p = level === 0 ? first : yield* pair(h);
      const half = p.halfStep;
      halves.push(half);
      requested.push(h);
      const row: Float64Array[] = [new Float64Array(m)];
      levelErrors.push(new Float64Array(m).fill(Number.POSITIVE_INFINITY));
      levelValues.push(new Float64Array(m).fill(Number.NaN));
      for (let k = 0; k < m; k++) row[0]![k] = (p.plus[k]! - p.minus[k]!) / (2 * half);
      traced?.push({ h: half, central: row[0]! });
      centrals.push(row[0]!);
      deltas.push(Float64Array.from(p.plus, (v, k) => v - p.minus[k]!));
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
        // The output stopped moving although a larger step moved it: the step is below the forward's
        // own resolution (gelu at x = −4.6 computes 1 + erf(x/√2) ≈ 2e-6 in steps of 6e-8), and the
        // zero differences below would agree perfectly. Keep what the larger steps found.
        if (p.plus[k] === p.minus[k] && moved[k]) {
          done[k] = 1;
          continue;
        }
        if (p.plus[k] !== p.minus[k]) moved[k] = 1;
        let levelBest = Number.POSITIVE_INFINITY;
        let levelValue = Number.NaN;
        for (let c = 1; c <= level; c++) {
          const t = row[c]![k]!;
          const err = Math.max(Math.abs(t - row[c - 1]![k]!), Math.abs(t - previous[c - 1]![k]!));
          if (err < levelBest) {
            levelBest = err;
            levelValue = t;
          }
          if (err < errors[k]!) {
            errors[k] = err;
            values[k] = t;
            steps[k] = half;
            lastImproved[k] = level;
          }
        }
        levelErrors[level]![k] = levelBest;
        levelValues[level]![k] = levelValue;
        streak[k] = levelBest <= TRUSTED * Math.abs(levelValue) ? streak[k]! + 1 : 0;
        // Three levels at least: two central differences can agree by coincidence (tanh across its step).
        if (level < 2) {
          allDone = false;
          continue;
        }
        const converged = errors[k]! <= o.noiseAt(k, steps[k]!) + 1e-7 * Math.abs(values[k]!);
        const diagonal = Math.abs(row[level]![k]! - previous[level - 1]![k]!);
        // Two close levels in a row, or one very close: then a worse level means round-off has taken
        // over (gelu at x = −4.6 turns to noise below h ≈ 0.004), and smaller steps only get worse.
        const trusted = streak[k]! >= 2 || errors[k]! <= CLOSE * Math.abs(values[k]!) || converged;
        const deteriorated = trusted && (diagonal >= DETERIORATED * errors[k]! || level - lastImproved[k]! >= 2);
        if (converged || deteriorated) done[k] = 1;
        else allDone = false;
      }
      previous = row;
      if (allDone) {
        level++;
        h /= SHRINK;
        break;
      }
    }
    if (!o.probeNoise) break;
    // The forward's noise, measured at the smallest step an estimate came from: the central
    // difference at a step 1/32 longer differs by truncation's small change for a forward that
    // rounds only its output, and by about noise/h for one that rounds more inside (gelu's
    // 1 + erf(x/√2) ≈ 2e-6 in steps of 6e-8, log Σexp with Σ ≈ 1 + 4e-4), which neither the
    // output's size nor agreeing levels (quantised differences can agree exactly) reveal. Each
    // level's estimate is then weighed by its error plus that noise over its step, and the best
    // kept: smaller steps win only while the noise they add is below what they remove.
    // Every output is probed, converged or not: central differences at steps of whole periods of
    // sin agree with each other as well as a linear op's do.
    probe = -1;
    for (let k = 0; k < m; k++) {
      if (!(values[k] !== 0 && Number.isFinite(values[k]!))) continue;
      const l = halves.lastIndexOf(steps[k]!);
      if (l > probe) probe = l;
    }
    if (probe < 0) break;
    stretched = yield* pair(requested[probe]! * (1 + 2 ** -5));
    // A central difference that moves by more than 25% when its step grows by 1/32 is no
    // estimate yet (sin(a·x) at a step of whole periods agrees with itself at half the step):
    // those outputs go on to smaller steps while there are any.
    let reopened = false;
    if (level < o.maxLevels && h >= o.minStep) {
      for (let k = 0; k < m; k++) {
        const d = (stretched.plus[k]! - stretched.minus[k]!) / (2 * stretched.halfStep);
        if (Number.isFinite(values[k]!) && Math.abs(d - centrals[probe]![k]!) > REJECTED * Math.abs(values[k]!)) {
          done[k] = 0;
          streak[k] = 0;
          lastImproved[k] = level - 1;
          // The estimates so far do not count: the best is chosen again from the levels to come.
          errors[k] = Number.POSITIVE_INFINITY;
          firstCounted[k] = level;
          reopened = true;
        }
      }
    }
    if (!reopened) break;
  }
  if (stretched !== null && probe >= 0) {
    for (let k = 0; k < m; k++) {
      const delta = stretched.plus[k]! - stretched.minus[k]!;
      const d = delta / (2 * stretched.halfStep);
      // The same difference at a longer step: the output moves in quanta this step cannot split.
      const quantised = delta === deltas[probe]![k]! && delta !== 0 ? Math.abs(delta) / 2 : 0;
      const noise = Math.max(quantised, Math.abs(d - centrals[probe]![k]!) * halves[probe]!);
      if (!(noise > 0)) continue;
      let best = -1;
      let bestWeighed = Number.POSITIVE_INFINITY;
      for (let l = firstCounted[k]!; l < levelErrors.length; l++) {
        const weighed = levelErrors[l]![k]! + noise / halves[l]!;
        if (weighed < bestWeighed) {
          bestWeighed = weighed;
          best = l;
        }
      }
      if (best < 0) continue;
      values[k] = levelValues[best]![k]!;
      errors[k] = bestWeighed;
      steps[k] = halves[best]!;
    }
  } else {
    // Without a probe: past the best level the central differences jump by |ΔD|·h ≈ the
    // forward's noise where noise has taken over, and by far less where estimates still agree.
    for (let k = 0; k < m; k++) {
      let jitter = 0;
      for (let l = Math.max(1, lastImproved[k]! + 1); l < centrals.length; l++) jitter = Math.max(jitter, Math.abs(centrals[l]![k]! - centrals[l - 1]![k]!) * halves[l]!);
      if (jitter / steps[k]! > errors[k]!) errors[k] = jitter / steps[k]!;
    }
  }
  // No estimate counted for an output (every level non-finite, or a probe rejected them all): the
  // last central difference, with its change from the one before as its error (NaN fails).
  for (let k = 0; k < m; k++) {
    if (Number.isFinite(errors[k]!)) continue;
    const last = centrals.length - 1;
    values[k] = centrals[last]?.[k] ?? Number.NaN;
    errors[k] = last > 0 ? Math.abs(centrals[last]![k]! - centrals[last - 1]![k]!) : Number.NaN;
    steps[k] = halves[last] ?? 0;
  }
  const kinks = new Uint8Array(m);
  for (let k = 0; k < m; k++) kinks[k] = level >= 2 && steady[k] ? 1 : 0;
  const result: RiddersResult = { values, errors, steps, kinks, levels: level, trace: traced };
  if (small === first) return result;
  // A grown step can reach another regime (tanh at x = −30 is flat to float32 until the step
  // reaches 0; logsumexp's offset makes |f| large while its slope lives at scale 1): where the
  // grown estimate contradicts the small step's central difference, that output's estimate comes
  // from a tableau that starts at the small step instead.
  const contradicts = (k: number) => {
    const d = (small.plus[k]! - small.minus[k]!) / (2 * small.halfStep);
    // Allowing for the small step's round-off, the grown estimate's error, and truncation at the small step.
    return Math.abs(values[k]! - d) > 8 * o.noiseAt(k, small.halfStep) + errors[k]! + 0.25 * Math.max(Math.abs(values[k]!), Math.abs(d));
  };
  const contradicted = Array.from({ length: m }, (_, k) => contradicts(k));
  if (!contradicted.includes(true)) return result;
  const ungrown = yield* ridders(pair, base, { ...o, maxStep: o.h0 }, trace);
  for (let k = 0; k < m; k++) {
    if (!contradicted[k]) continue;
    values[k] = ungrown.values[k]!;
    errors[k] = ungrown.errors[k]!;
    steps[k] = ungrown.steps[k]!;
    kinks[k] = ungrown.kinks[k]!;
  }
  return { ...result, levels: Math.max(level, ungrown.levels), trace: ungrown.trace };
}

/**
 * Whether some output's first or second difference is SIGNAL float32 units of its own size. Both
 * small means the step sees nothing but round-off (exp near 0 at a step of |x|/128); a first
 * difference alone small is a stationary point (sin near its maximum), where a larger step
 * would only add truncation.
 */
function clearOfNoise(p: StepPair, base: Float64Array): boolean {
  for (let k = 0; k < p.plus.length; k++) {
    const floor = SIGNAL * FLOAT32_UNIT_ROUNDOFF * Math.max(Math.abs(base[k]!), Math.abs(p.plus[k]!), Math.abs(p.minus[k]!));
    if (Math.abs(p.plus[k]! - p.minus[k]!) >= floor || Math.abs(p.plus[k]! - 2 * base[k]! + p.minus[k]!) >= floor) return true;
  }
  return false;
}
