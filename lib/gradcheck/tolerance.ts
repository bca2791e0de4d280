/**
 * The numbers gradcheck's verdict rests on, stated once.
 *
 * A central difference D(h) = (f(x+h) − f(x−h)) / 2h in float32 has two errors:
 *  - round-off: each f carries an error of about ε·S, where ε is float32's unit round-off and S
 *    the magnitude of the terms f sums (|f| + Σ|∂f/∂xⱼ·xⱼ|, which cancellation can make far
 *    larger than |f|); divided by 2h that is ≈ ε·S/h;
 *  - truncation: ≈ h²·f‴/6, estimated from the same difference at 2h: D(2h) − D(h) ≈ 3·h²·f‴/6.
 * h = ε^(1/3)·max(1, |x|) balances the two. The steps actually taken are the float32-rounded
 * x ± h, measured exactly in float64, so the step's own rounding adds no error.
 */

/** float32 unit round-off, 2⁻²⁴. */
export const FLOAT32_UNIT_ROUNDOFF = 2 ** -24;

export interface Tolerances {
  /** Relative finite-difference step (default ∛(2⁻²³) ≈ 4.9e-3, float32 machine epsilon to the 1/3). */
  eps: number;
  /** Safety factor on the round-off bound: covers summation order and ops that round more than once. */
  roundoffFactor: number;
  /** Safety factor on the truncation estimate. */
  truncationFactor: number;
  /** Extra absolute tolerance per Jacobian entry. */
  atol: number;
  /** Relative tolerance on |numerical|: the analytic side's own float32 rounding. */
  rtol: number;
}

export const FLOAT32_TOLERANCES: Readonly<Tolerances> = Object.freeze({
  eps: Math.cbrt(2 ** -23),
  roundoffFactor: 16,
  truncationFactor: 2,
  atol: 0,
  rtol: 1e-4,
});

/** The step for one element: relative to its size, never below eps. */
export function stepFor(x: number, eps: number): number {
  return eps * Math.max(1, Math.abs(x));
}

/**
 * Tolerance for one compared quantity, given the round-off scale of the outputs it is built from
 * (Σ|weightₖ|·Sₖ), the half-step actually taken, the truncation estimate and |numerical|.
 */
export function toleranceFor(t: Tolerances, roundoffScale: number, halfStep: number, truncation: number, numerical: number, atolScale = 1): number {
  return (
    (t.roundoffFactor * FLOAT32_UNIT_ROUNDOFF * roundoffScale) / halfStep +
    t.truncationFactor * truncation +
    t.atol * atolScale +
    t.rtol * Math.abs(numerical)
  );
}
