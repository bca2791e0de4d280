/**
 * The tolerances the tests hold gradlab to, stated once. gradlab computes in float32; references
 * (PyTorch, host-side float64 loops) in float64.
 */

/** One float32 op against float64: a few units of float32 round-off (2⁻²⁴ ≈ 6e-8) on the terms' scale. */
export const FLOAT32_OP_RTOL = 1e-5;

/** The seed's 300 steps, gradlab (float32) against PyTorch (float64): weights, as the issue sets. */
export const SEED_WEIGHT_ATOL = 5e-5;

/** Per-step losses against PyTorch: relative, with an absolute floor for losses near zero. */
export const SEED_LOSS_RTOL = 1e-3;
export const SEED_LOSS_ATOL = 1e-6;

/**
 * float32's unit round-off, 2⁻²⁴. A float32 sum of k products is within about k of these times the
 * sum of the terms' magnitudes of the exact sum (Higham's γₖ bound), whatever the order of summation.
 */
export const FLOAT32_UNIT_ROUNDOFF = 2 ** -24;
