/**
 * gradcheck for float32: compares an op's backward with central finite differences, with
 * tolerances derived from float32 round-off and the step size (see tolerance.ts) instead of
 * torch.autograd.gradcheck's float64 constants. Small inputs get their full Jacobian compared
 * entry by entry; large ones random projections uᵀJv; a failing projection is re-run as a full
 * Jacobian where that is affordable, to say where it fails and what the mistake looks like.
 */
import * as tf from "@tensorflow/tfjs";
import { BackwardContractError, messageOf } from "../function";
import { Generator } from "../random";
import { unravel, GradcheckError, type GradcheckReport, type InputReport, type WorstEntry } from "./report";
import { diagnose, diagnoseProjections, type VjpPair } from "./diagnose";
import { makeEvaluator, opName, tensorFnOf, type CheckedOp, type Evaluator } from "./evaluate";
import { analyticJacobians, numericJacobian, transposeTimes, type NumericJacobian } from "./jacobian";
import { estimateTermScale, project, type Projection } from "./projection";
import { runAsync, runSync, type Reads } from "./reads";
import { FLOAT32_TOLERANCES, toleranceFor, type Tolerances } from "./tolerance";
import { requireSyncRead } from "../sync_read";

export interface GradcheckOptions extends Partial<Tolerances> {
  /** "auto" (default): full Jacobian when outputs × input elements ≤ maxFullEntries. */
  mode?: "auto" | "full" | "projection";
  maxFullEntries?: number;
  /** Random projections per input in projection mode (default 4). */
  projections?: number;
  /** Seeds the projections (default 0). */
  seed?: number;
  /** Names for the report (default: the op's inputNames, else "input i"). */
  inputNames?: readonly string[];
  name?: string;
  /** Throw a GradcheckError with the report when any input fails (default false). */
  raise?: boolean;
}

const DEFAULT_MAX_FULL_ENTRIES = 16384;

/**
 * Check `op`'s backward against finite differences, reading values synchronously: on cpu, wasm,
 * tfjs-node, and webgpu in a browser. gradcheckAsync gives the same report on every backend.
 */
export function gradcheck(op: CheckedOp, inputs: readonly tf.Tensor[], options: GradcheckOptions = {}): GradcheckReport {
  requireSyncRead(`gradcheck(${opName(op, options.name)})`, "await gradcheckAsync(…)", "which gives the same report on every backend");
  return runSync(gradcheckSteps(op, inputs, options));
}

/** gradcheck, reading values asynchronously: works on every backend, webgpu in Node and Deno included. */
export function gradcheckAsync(op: CheckedOp, inputs: readonly tf.Tensor[], options: GradcheckOptions = {}): Promise<GradcheckReport> {
  return runAsync(gradcheckSteps(op, inputs, options));
}

function* gradcheckSteps(op: CheckedOp, inputs: readonly tf.Tensor[], options: GradcheckOptions): Reads<GradcheckReport> {
  const fn = tensorFnOf(op);
  const name = opName(op, options.name);
  const names = options.inputNames ?? (typeof op === "function" ? undefined : op.definition.inputNames);
  const label = (i: number) => (names?.[i] === undefined ? `input ${i}` : `input ${i} (${names[i]})`);
  const t: Tolerances = { ...FLOAT32_TOLERANCES, ...definedOnly(options) };
  const generator = new Generator(options.seed ?? 0);

  inputs.forEach((x, i) => {
    if (!(x instanceof tf.Tensor)) throw new TypeError(`gradcheck(${name}): ${label(i)} is not a tf.Tensor`);
  });
  const ev = yield* makeEvaluator(fn, inputs, name);
  const m = ev.output.length;
  const checked = inputs.map((x) => x.dtype === "float32");
  const modeOf = (i: number): "full" | "projection" => {
    if (options.mode === "full" || options.mode === "projection") return options.mode;
    return m * ev.values[i]!.length <= (options.maxFullEntries ?? DEFAULT_MAX_FULL_ENTRIES) ? "full" : "projection";
  };
  const full = inputs.map((_, i) => i).filter((i) => checked[i] && modeOf(i) === "full");
  const projected = inputs.map((_, i) => i).filter((i) => checked[i] && modeOf(i) === "projection");

  // Numerical side first: it needs only the forward, which must work for a check to mean anything.
  const numeric = new Map<number, NumericJacobian>();
  for (const i of full) numeric.set(i, yield* numericJacobian(ev, i, t.eps));
  const termScale = new Float64Array(m);
  for (let k = 0; k < m; k++) termScale[k] = Math.abs(ev.output[k]!);
  for (const i of full) numeric.get(i)!.termScale.forEach((s, k) => (termScale[k] = termScale[k]! + s));
  for (const i of projected) (yield* estimateTermScale(ev, i, t.eps, generator)).forEach((s, k) => (termScale[k] = termScale[k]! + s));

  const reports: InputReport[] = [];
  let analytic: Map<number, Float64Array>;
  let projectionUs: Float64Array[];
  let projectionVjps: Float64Array[][];
  try {
    analytic = yield* analyticJacobians(ev, full);
    projectionUs = Array.from({ length: projected.length ? (options.projections ?? 4) : 0 }, () => generator.normalArray(m));
    projectionVjps = [];
    for (const u of projectionUs) projectionVjps.push(yield* ev.vjp(u));
  } catch (error) {
    return finish({ name, passed: false, inputs: backwardFailed(error, inputs, checked, label) }, options);
  }

  for (let i = 0; i < inputs.length; i++) {
    const base = { index: i, label: label(i), shape: inputs[i]!.shape, diagnosis: null, error: null };
    if (!checked[i]) {
      reports.push({ ...base, mode: "skipped", passed: true, compared: 0, mismatched: 0, maxAbsError: 0, maxRelError: 0, worst: null, error: `dtype ${inputs[i]!.dtype} is not differentiable` });
    } else if (numeric.has(i)) {
      reports.push({ ...base, mode: "full", ...compareFull(ev, i, numeric.get(i)!, analytic.get(i)!, termScale, t) });
    } else {
      const projections: Projection[] = [];
      for (const [p, u] of projectionUs.entries()) projections.push(yield* project(ev, i, u, projectionVjps[p]![i]!, t.eps, generator));
      const comparison = compareProjections(projections, projectionUs, termScale, t);
      reports.push({ ...base, mode: "projection", ...comparison, diagnosis: comparison.passed ? null : diagnoseProjections(base.label, projections) });
    }
  }
  yield* explainFailures(ev, reports, numeric, analytic, termScale, t, generator, options.maxFullEntries ?? DEFAULT_MAX_FULL_ENTRIES);
  return finish({ name, passed: reports.every((r) => r.passed), inputs: reports }, options);
}

type Comparison = Pick<InputReport, "passed" | "compared" | "mismatched" | "maxAbsError" | "maxRelError" | "worst">;

function compareFull(ev: Evaluator, i: number, num: NumericJacobian, ana: Float64Array, termScale: Float64Array, t: Tolerances): Comparison {
  const n = ev.values[i]!.length;
  const m = ev.output.length;
  let maxAbsError = 0;
  let maxRelError = 0;
  let worstRatio = -1;
  let worst: WorstEntry | null = null;
  let mismatched = 0;
  for (let k = 0; k < m; k++) {
    for (let j = 0; j < n; j++) {
      const e = k * n + j;
      const numerical = num.values[e]!;
      const error = Math.abs(ana[e]! - numerical);
      const tolerance = toleranceFor(t, termScale[k]!, num.halfSteps[j]!, num.truncation[e]!, numerical);
      maxAbsError = Math.max(maxAbsError, error);
      maxRelError = Math.max(maxRelError, error / Math.max(Math.abs(numerical), 1e-12));
      const ratio = error / tolerance;
      if (ratio > 1) mismatched++;
      if (ratio > worstRatio) {
        worstRatio = ratio;
        worst = { output: unravel(k, ev.outputShape), input: unravel(j, ev.inputs[i]!.shape), analytic: ana[e]!, numerical, tolerance };
      }
    }
  }
  return { passed: worstRatio <= 1, compared: m * n, mismatched, maxAbsError, maxRelError, worst };
}

function compareProjections(projections: Projection[], us: Float64Array[], termScale: Float64Array, t: Tolerances): Comparison {
  let maxAbsError = 0;
  let maxRelError = 0;
  let worstRatio = -1;
  let worst: WorstEntry | null = null;
  let mismatched = 0;
  // One noise level per input: the largest seen, so one quiet draw cannot tighten the others.
  const noise = projections.reduce((a, p) => Math.max(a, p.noise), 0);
  projections.forEach((p, index) => {
    const u = us[index]!;
    // Round-off of different outputs is independent: it adds up in quadrature in uᵀf.
    let squares = 0;
    for (let k = 0; k < u.length; k++) squares += (u[k]! * termScale[k]!) ** 2;
    const error = Math.abs(p.analytic - p.numerical);
    const tolerance = toleranceFor(t, Math.sqrt(squares), t.eps, noise, p.numerical, p.uNorm1 * p.vNorm1);
    maxAbsError = Math.max(maxAbsError, error);
    maxRelError = Math.max(maxRelError, error / Math.max(Math.abs(p.numerical), 1e-12));
    if (error > tolerance) mismatched++;
    if (error / tolerance > worstRatio) {
      worstRatio = error / tolerance;
      worst = { output: null, input: null, analytic: p.analytic, numerical: p.numerical, tolerance };
    }
  });
  return { passed: worstRatio <= 1, compared: projections.length, mismatched, maxAbsError, maxRelError, worst };
}

/**
 * For failing inputs: a projection failure is re-run as a full Jacobian where affordable (to
 * point at an element), then every failure gets a diagnosis from one random vjp.
 */
function* explainFailures(
  ev: Evaluator,
  reports: InputReport[],
  numeric: Map<number, NumericJacobian>,
  analytic: Map<number, Float64Array>,
  termScale: Float64Array,
  t: Tolerances,
  generator: Generator,
  maxFullEntries: number,
): Reads<void> {
  if (reports.every((r) => r.passed)) return;
  const m = ev.output.length;
  for (const r of reports) {
    if (r.passed || r.mode !== "projection" || m * ev.values[r.index]!.length > maxFullEntries * 4) continue;
    const num = yield* numericJacobian(ev, r.index, t.eps);
    const ana = (yield* analyticJacobians(ev, [r.index])).get(r.index)!;
    numeric.set(r.index, num);
    analytic.set(r.index, ana);
    Object.assign(r, compareFull(ev, r.index, num, ana, termScale, t), { mode: "full" });
  }
  const u = generator.normalArray(m);
  // One backward serves every input that has no analytic Jacobian.
  const vjp = reports.every((r) => analytic.has(r.index)) ? null : yield* ev.vjp(u);
  const pairs: VjpPair[] = reports.map((r) => {
    const num = numeric.get(r.index);
    const ana = analytic.get(r.index);
    const n = ev.values[r.index]!.length;
    return {
      label: r.label,
      shape: r.shape,
      analytic: ana ? transposeTimes(ana, m, n, u) : vjp![r.index]!,
      numerical: num ? transposeTimes(num.values, m, n, u) : null,
    };
  });
  for (const r of reports) if (!r.passed && r.error === null) r.diagnosis = diagnose(r.index, pairs) ?? r.diagnosis;
}

/** The backward threw: the input it names (a contract error) or every input fails with its message. */
function backwardFailed(error: unknown, inputs: readonly tf.Tensor[], checked: boolean[], label: (i: number) => string): InputReport[] {
  const blamed = error instanceof BackwardContractError ? error.inputIndex : null;
  return inputs.map((x, i) => ({
    index: i,
    label: label(i),
    shape: x.shape,
    mode: checked[i] ? "full" : "skipped",
    passed: false,
    compared: 0,
    mismatched: 0,
    maxAbsError: Number.NaN,
    maxRelError: Number.NaN,
    worst: null,
    diagnosis: null,
    error: blamed === null || blamed === i ? messageOf(error) : `not checked: the backward failed on ${label(blamed)}`,
  }));
}

function finish(report: GradcheckReport, options: GradcheckOptions): GradcheckReport {
  if (options.raise && !report.passed) throw new GradcheckError(report);
  return report;
}

function definedOnly(options: GradcheckOptions): Partial<Tolerances> {
  const out: Partial<Tolerances> = {};
  for (const key of ["eps", "roundoffFactor", "truncationFactor", "atol", "rtol"] as const) {
    const value = options[key];
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value < 0 || (key === "eps" && value === 0)) {
      throw new RangeError(`gradcheck: ${key} must be a finite number ${key === "eps" ? "> 0" : "≥ 0"}, got ${value}`);
    }
    out[key] = value;
  }
  return out;
}
