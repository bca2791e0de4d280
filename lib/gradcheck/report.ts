/** gradcheck's verdict: one row per input, and the text a person reads when it fails. */
import { formatShape } from "../shape";

export type CheckMode = "full" | "projection" | "skipped";

export interface WorstEntry {
  /** Output element (multi-index), or null for a projection uᵀJv or a random-dy check. */
  output: number[] | null;
  /** Input element (multi-index), or null for a projection. */
  input: number[] | null;
  analytic: number;
  numerical: number;
  tolerance: number;
  /** "out[2, 0]", or "out1[2, 0]" for output 1 of an op with several; null with `output`. */
  outputLabel?: string | null;
  /** The flat indices of the output element (across all outputs) and the input element. */
  outputElement?: number | null;
  inputElement?: number | null;
}

export interface InputReport {
  index: number;
  /** "input 1 (weight)". */
  label: string;
  shape: number[];
  mode: CheckMode;
  passed: boolean;
  /** Jacobian entries (full) or projections (projection) compared. */
  compared: number;
  /** How many of them were outside their tolerance. */
  mismatched: number;
  maxAbsError: number;
  /** max |analytic − numerical| / max(|numerical|, tiny) over the compared entries. */
  maxRelError: number;
  /** The entry furthest beyond its tolerance (or closest to it, when all pass). */
  worst: WorstEntry | null;
  /** What the mismatch looks like (a constant factor, a flipped sign, a transpose, …). */
  diagnosis: string | null;
  /** Why the input could not be checked (the backward threw or broke its contract). */
  error: string | null;
  /**
   * Entries whose one-sided differences disagreed beyond their bounds at every step tried: the
   * function has a kink within reach of x there. They do not fail the check unless
   * `nondifferentiable: "fail"`.
   */
  nondifferentiable: number;
  /** The first of them: "∂out[0] / ∂x[3] at x = 0". */
  nondifferentiableAt: string | null;
  /**
   * Whether backward(dy) for a random, non-unit dy equals Σₖ dyₖ·(row k of the numerical
   * Jacobian): false for a backward that ignores dy or is not linear in it. Null where not checked.
   */
  linearInDy: boolean | null;
  /** For a failing entry: whether it agrees with the finite difference at another step. */
  hint: string | null;
}

export interface GradcheckReport {
  name: string;
  passed: boolean;
  inputs: InputReport[];
}

export class GradcheckError extends Error {
  override name = "GradcheckError";
  constructor(readonly report: GradcheckReport) {
    super(formatGradcheckReport(report));
  }
}

export function formatGradcheckReport(report: GradcheckReport): string {
  const lines = [`gradcheck ${report.name}: ${report.passed ? "passed" : "FAILED"}`];
  for (const r of report.inputs) {
    const head = `  ${r.label} ${formatShape(r.shape)}: ${r.passed ? "ok" : "FAILED"}`;
    if (r.mode === "skipped") {
      lines.push(`${head} (not checked: ${r.error ?? "not a float32 tensor"})`);
      continue;
    }
    if (r.error !== null) {
      lines.push(`${head}: ${r.error}`);
      continue;
    }
    const what = r.mode === "full" ? `${r.compared} Jacobian entries` : `${r.compared} random projections uᵀJv`;
    const outside = r.mismatched > 0 ? `, ${r.mismatched} outside tolerance` : "";
    const kinks = r.nondifferentiable > 0 ? `, ${r.nondifferentiable} not differentiable within reach` : "";
    lines.push(`${head} (${what}${outside}${kinks}; max abs error ${fmt(r.maxAbsError)}, max rel error ${fmt(r.maxRelError)})`);
    if (!r.passed && r.worst !== null) lines.push(`    worst: ${describeWorst(r)}`);
    if (r.nondifferentiableAt !== null) lines.push(`    not differentiable within reach of x: ${r.nondifferentiableAt}`);
    if (r.diagnosis !== null) lines.push(`    → ${r.diagnosis}`);
    if (r.hint !== null) lines.push(`    hint: ${r.hint}`);
  }
  return lines.join("\n");
}

function describeWorst(r: InputReport): string {
  const w = r.worst!;
  const where =
    w.output !== null && w.input !== null
      ? `∂${w.outputLabel ?? `out${formatShape(w.output)}`} / ∂${shortName(r.label)}${formatShape(w.input)}`
      : w.input !== null
        ? `backward(dy)${formatShape(w.input)} for a random dy`
        : "uᵀJv";
  return `${where}: analytic ${fmt(w.analytic)}, numerical ${fmt(w.numerical)} (tolerance ${fmt(w.tolerance)})`;
}

export function shortName(label: string): string {
  return /\((.*)\)$/.exec(label)?.[1] ?? label.replace(" ", "");
}

export function fmt(x: number): string {
  if (x === 0) return "0";
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e4 ? x.toPrecision(4) : x.toExponential(2);
}

/** Row-major flat index → multi-index. */
export function unravel(flat: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = flat % shape[d]!;
    flat = Math.floor(flat / shape[d]!);
  }
  return out;
}
