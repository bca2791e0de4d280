/**
 * The verdict on each compared quantity: a full Jacobian entry against its own tolerance, a
 * projection uᵀJv against its own. Written so that a NaN anywhere fails (NaN ≤ x is false).
 */
import type { Generator } from "../random";
import { formatShape } from "../shape";
import type { Evaluator } from "./evaluate";
import type { NumericJacobian } from "./jacobian";
import type { Projection } from "./projection";
import { fmt, shortName, unravel, type InputReport, type WorstEntry } from "./report";
import { toleranceFor, type Tolerances } from "./tolerance";

/** What the comparisons of one gradcheck share. */
export interface CheckContext {
  ev: Evaluator;
  t: Tolerances;
  failKinks: boolean;
  /** Per output: |fₖ| + Σ|∂fₖ/∂xⱼ·xⱼ| over every input, the round-off size S of tolerance.ts. */
  termScale: Float64Array;
  /** Per output: |fₖ| plus the term scale estimated before the tableaux ran (their round-off floor). */
  noiseScale: Float64Array;
  generator: Generator;
}

export type Comparison = Pick<InputReport, "passed" | "compared" | "mismatched" | "maxAbsError" | "maxRelError" | "worst" | "nondifferentiable" | "nondifferentiableAt" | "diagnosis">;

/** √Σ(uₖ·Sₖ)²: round-off of different outputs is independent, so it adds up in quadrature in uᵀf. */
export function quadrature(u: Float64Array, termScale: Float64Array): number {
  let squares = 0;
  for (let k = 0; k < u.length; k++) squares += (u[k]! * termScale[k]!) ** 2;
  return Math.sqrt(squares);
}

/** Every entry against its own tolerance; written so that a NaN anywhere fails (NaN ≤ x is false). */
export function compareFull(cx: CheckContext, i: number, num: NumericJacobian, ana: Float64Array, label: string): Comparison {
  const { ev, t } = cx;
  const n = ev.values[i]!.length;
  const m = ev.output.length;
  let maxAbsError = 0;
  let maxRelError = 0;
  let worstRatio = -1;
  let worst: WorstEntry | null = null;
  let mismatched = 0;
  let nondifferentiable = 0;
  let nondifferentiableAt: string | null = null;
  let nonFinite: string | null = null;
  const where = (k: number, j: number) => `∂${ev.outputLabel(k)} / ∂${shortName(label)}${formatShape(unravel(j, ev.shapes[i]!))}`;
  for (let k = 0; k < m; k++) {
    let rowMax = 0;
    for (let j = 0; j < n; j++) if (Number.isFinite(ana[k * n + j]!)) rowMax = Math.max(rowMax, Math.abs(ana[k * n + j]!));
    for (let j = 0; j < n; j++) {
      const e = k * n + j;
      const numerical = num.values[e]!;
      const error = Math.abs(ana[e]! - numerical);
      const tolerance = toleranceFor(t, cx.termScale[k]!, num.steps[e]!, num.errors[e]!, numerical, rowMax);
      if (nonFinite === null && !(Number.isFinite(ana[e]!) && Number.isFinite(numerical))) {
        nonFinite = `${Number.isFinite(ana[e]!) ? "the numerical" : "the analytic"} Jacobian is ${Number.isFinite(ana[e]!) ? numerical : ana[e]} at ${where(k, j)}`;
        // The output itself already is: nothing there to differentiate (a mean over no elements, say).
        if (!Number.isFinite(ev.output[k]!)) nonFinite += `, where the output ${ev.outputLabel(k)} itself is ${ev.output[k]} at the unperturbed inputs`;
      }
      if (Number.isFinite(error)) {
        maxAbsError = Math.max(maxAbsError, error);
        maxRelError = Math.max(maxRelError, error / Math.max(Math.abs(numerical), 1e-30));
      }
      const kink = num.kinks[e] === 1;
      if (kink) {
        nondifferentiable++;
        nondifferentiableAt ??= `${where(k, j)} at x = ${fmt(ev.values[i]![j]!)}`;
      }
      const within = error <= tolerance;
      if (!within && !kink) mismatched++;
      if (kink && cx.failKinks) mismatched++;
      // A NaN entry is the worst there is.
      const ratio = within ? error / tolerance : Number.isFinite(error / tolerance) ? error / tolerance : Number.POSITIVE_INFINITY;
      if (!kink && ratio > worstRatio) {
        worstRatio = ratio;
        const label = ev.outputLabel(k);
        worst = { output: unravel(k, ev.outputShapes.length === 1 ? ev.outputShapes[0]! : [m]), outputLabel: label, outputElement: k, input: unravel(j, ev.shapes[i]!), inputElement: j, analytic: ana[e]!, numerical, tolerance };
      }
    }
  }
  return { passed: mismatched === 0, compared: m * n, mismatched, maxAbsError, maxRelError, worst, nondifferentiable, nondifferentiableAt, diagnosis: nonFinite };
}

export function compareProjections(projections: Projection[], t: Tolerances): Pick<InputReport, "passed" | "compared" | "mismatched" | "maxAbsError" | "maxRelError" | "worst"> {
  let maxAbsError = 0;
  let maxRelError = 0;
  let worstRatio = -1;
  let worst: WorstEntry | null = null;
  let mismatched = 0;
  for (const p of projections) {
    const error = Math.abs(p.analytic - p.numerical);
    const tolerance = toleranceFor(t, 0, p.step, p.error, p.numerical, 0, p.uNorm1 * p.vNorm1) + t.roundoffFactor * p.roundoff;
    if (Number.isFinite(error)) {
      maxAbsError = Math.max(maxAbsError, error);
      maxRelError = Math.max(maxRelError, error / Math.max(Math.abs(p.numerical), 1e-30));
    }
    const within = error <= tolerance;
    if (!within) mismatched++;
    const ratio = within ? error / tolerance : Number.POSITIVE_INFINITY;
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worst = { output: null, input: null, analytic: p.analytic, numerical: p.numerical, tolerance };
    }
  }
  return { passed: mismatched === 0, compared: projections.length, mismatched, maxAbsError, maxRelError, worst };
}

