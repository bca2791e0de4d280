/**
 * The numbers gradcheck's verdict rests on, stated once.
 *
 * Each numerical derivative comes from a Ridders tableau (ridders.ts): central differences at
 * steps h₀, h₀/2, h₀/4, … extrapolated, with an error estimate from the tableau itself. h₀ is
 * relative to the element (eps·|x|, never below eps·2⁻⁷ of the input's root mean square, so an
 * element near zero among larger ones is not probed with a step far below the input's scale), and
 * the step shrinks while the estimates improve. Its tolerance adds:
 *  - the tableau's error estimate, times a safety factor (it is an estimate from a few differences);
 *  - round-off: each f carries an error of about ε·S, where ε is float32's unit round-off and S
 *    the magnitude of the terms f sums (|f| + Σ|∂f/∂xⱼ·xⱼ|, which cancellation can make far
 *    larger than |f|); divided by the step h it came from;
 *  - the analytic side's own float32 rounding (rtol·|numerical|, and ε·the row's largest entry).
 * The steps actually taken are the float32-rounded x ± h, measured exactly in float64.
 */

/** float32 unit round-off, 2⁻²⁴. */
export const FLOAT32_UNIT_ROUNDOFF = 2 ** -24;

export interface Tolerances {
  /** The first (largest) step, relative to the element's size (default 2⁻³); the tableau shrinks it. */
  eps: number;
  /** Safety factor on the round-off bound ε·S/h. */
  roundoffFactor: number;
  /** Safety factor on the tableau's own error estimate. */
  truncationFactor: number;
  /** Extra absolute tolerance per Jacobian entry. */
  atol: number;
  /** Relative tolerance on |numerical|: the analytic side's own float32 rounding. */
  rtol: number;
}

export const FLOAT32_TOLERANCES: Readonly<Tolerances> = Object.freeze({
  eps: 2 ** -3,
  roundoffFactor: 4,
  truncationFactor: 4,
  atol: 0,
  rtol: 1e-4,
});

/** Halvings the tableau may take at most: enough to go from h₀ = |x|/8 at x = 1e3 to well inside sin's period. */
export const MAX_LEVELS = 14;

/** The analytic side's rounding relative to the largest entry of its row (a few units of float32 round-off). */
export const ANALYTIC_ROW_ROUNDOFF = 64 * FLOAT32_UNIT_ROUNDOFF;

/** The first step for one element: eps·|x|, never below eps·2⁻⁷ of the input's scale. */
export function firstStep(x: number, inputScale: number, eps: number): number {
  return eps * Math.max(Math.abs(x), inputScale * 2 ** -7);
}

/** How many halvings keep x ± h distinct from x in float32 by at least 8 units in the last place. */
export function levelsFor(x: number, h0: number): number {
  const ulp = Math.max(2 ** -149, 2 ** (Math.floor(Math.log2(Math.abs(x) || 2 ** -126)) - 23));
  return Math.max(2, Math.min(MAX_LEVELS, Math.floor(Math.log2(h0 / (8 * ulp))) + 1));
}

/** Round-off of a derivative taken with step h from outputs of size `scale`. */
export function noiseLevel(scale: number, h: number): number {
  return (FLOAT32_UNIT_ROUNDOFF * scale) / h;
}

/**
 * Tolerance for one compared quantity: the tableau's error estimate, the round-off of the outputs
 * it is built from (Σ|weightₖ|·Sₖ) at the step it came from, and the analytic side's rounding.
 */
export function toleranceFor(t: Tolerances, roundoffScale: number, step: number, tableauError: number, numerical: number, analyticScale: number, atolScale = 1): number {
  return (
    t.truncationFactor * tableauError +
    t.roundoffFactor * noiseLevel(roundoffScale, step) +
    t.atol * atolScale +
    t.rtol * Math.abs(numerical) +
    ANALYTIC_ROW_ROUNDOFF * analyticScale
  );
}
