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
  /** The first step, relative to the element's size (default 2⁻⁷); the tableau shrinks it (or grows it out of round-off). */
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
  eps: 2 ** -7,
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

/**
 * The largest first step: where the output barely moves at eps·|x| (exp near x = 0 moves by less
 * than a float32 unit), the step may grow to this, the scale of a function whose own scale is 1.
 */
export function maxFirstStep(x: number, inputScale: number, eps: number): number {
  return 2 ** 10 * eps * Math.max(1, Math.abs(x), inputScale);
}

/** The smallest step: 8 units in the last place of x in float32, so x ± h stays distinct from x. */
export function minStep(x: number): number {
  return 8 * Math.max(2 ** -149, 2 ** (Math.floor(Math.log2(Math.abs(x) || 2 ** -126)) - 23));
}

/**
 * The absolute resolution of float32 near zero: subnormals are spaced 2⁻¹⁴⁹ apart, so a value of
 * 1e-43 (softmax's gradient at logits 100 apart) carries an error of a few of those whatever its
 * relative round-off says. Allowed for on both sides, as a few hundred such spacings.
 */
export const FLOAT32_SUBNORMAL_RESOLUTION = 2 ** -140;

/** Round-off of a derivative taken with step h from outputs of size `scale`. */
export function noiseLevel(scale: number, h: number): number {
  return (FLOAT32_UNIT_ROUNDOFF * scale + FLOAT32_SUBNORMAL_RESOLUTION) / h;
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
    ANALYTIC_ROW_ROUNDOFF * analyticScale +
    FLOAT32_SUBNORMAL_RESOLUTION
  );
}
