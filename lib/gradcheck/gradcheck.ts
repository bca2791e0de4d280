/**
 * gradcheck for float32: compares an op's backward with finite differences whose step each entry
 * chooses for itself (a Ridders tableau, ridders.ts), with tolerances from the tableau's own error
 * estimate plus float32 round-off (tolerance.ts) instead of torch.autograd.gradcheck's float64
 * constants. Small inputs get their full Jacobian compared entry by entry, and the backward is run
 * once more with a random, non-unit dy, which it must be linear in; large ones get random
 * projections uᵀJv; a failing projection is re-run as a full Jacobian where that is affordable, to
 * say where it fails and what the mistake looks like.
 */
import * as tf from "@tensorflow/tfjs";
import { BackwardContractError, describe, messageOf, type Arg } from "../function";
import { Generator } from "../random";
import { formatShape } from "../shape";
import { unravel, GradcheckError, fmt, type GradcheckReport, type InputReport } from "./report";
import { compareFull, compareProjections, quadrature, type CheckContext } from "./compare";
import { diagnose, diagnoseProjections, type VjpPair } from "./diagnose";
import { makeEvaluator, opName, tensorFnOf, type CheckedOp } from "./evaluate";
import { hintFor } from "./hints";
import { analyticJacobians, numericJacobian, transposeTimes, type NumericJacobian } from "./jacobian";
import { checkRandomDy, makeRandomDy } from "./linearity";
import { estimateTermScale, project, type Projection } from "./projection";
import { runAsync, runSync, type Reads } from "./reads";
import { FLOAT32_TOLERANCES, type Tolerances } from "./tolerance";
import { requireSyncRead } from "../sync_read";

export interface GradcheckOptions extends Partial<Tolerances> {
  /** "auto" (default): full Jacobian when outputs × input elements ≤ maxFullEntries. */
  mode?: "auto" | "full" | "projection";
  maxFullEntries?: number;
  /** Random projections uᵀJv in projection mode, all along one direction v (default 2). */
  projections?: number;
  /** Seeds the projections and the random dy (default 0). */
  seed?: number;
  /** Names for the report (default: the op's inputNames, else "input i"). */
  inputNames?: readonly string[];
  name?: string;
  /** Throw a GradcheckError with the report when any input fails (default false). */
  raise?: boolean;
  /**
   * Entries where the function has a kink within reach of x (one-sided differences disagree at
   * every step tried): "skip" (default) reports and counts them without failing; "fail" fails them.
   */
  nondifferentiable?: "skip" | "fail";
}

const DEFAULT_MAX_FULL_ENTRIES = 16384;
/** The step of the term-scale estimate, relative to x: small enough to stay local, large against round-off. */
const TERM_SCALE_STEP = 2 ** -10;

/**
 * Check `op`'s backward against finite differences, reading values synchronously: on cpu, wasm,
 * tfjs-node, and webgpu in a browser. gradcheckAsync gives the same report on every backend.
 */
export function gradcheck(op: CheckedOp, inputs: readonly Arg[], options: GradcheckOptions = {}): GradcheckReport {
  requireSyncRead(`gradcheck(${opName(op, options.name)})`, "await gradcheckAsync(…)", "which gives the same report on every backend");
  return runSync(gradcheckSteps(op, inputs, options));
}

/** gradcheck, reading values asynchronously: works on every backend, webgpu in Node and Deno included. */
export function gradcheckAsync(op: CheckedOp, inputs: readonly Arg[], options: GradcheckOptions = {}): Promise<GradcheckReport> {
  return runAsync(gradcheckSteps(op, inputs, options));
}

function* gradcheckSteps(op: CheckedOp, inputs: readonly Arg[], options: GradcheckOptions): Reads<GradcheckReport> {
  const fn = tensorFnOf(op);
  const name = opName(op, options.name);
  const names = options.inputNames ?? (typeof op === "function" ? undefined : op.definition.inputNames);
  const label = (i: number) => (names?.[i] === undefined ? `input ${i}` : `input ${i} (${names[i]})`);
  const t: Tolerances = { ...FLOAT32_TOLERANCES, ...definedOnly(options) };
  const generator = new Generator(options.seed ?? 0);

  inputs.forEach((x, i) => {
    if (!(x instanceof tf.Tensor) && !isAttribute(x)) {
      throw new TypeError(`gradcheck(${name}): ${label(i)} is ${describe(x)}; expected a tf.Tensor, or a number, boolean, string or array of them (passed through unchanged)`);
    }
  });
  const ev = yield* makeEvaluator(fn, inputs, name);
  ev.values.forEach((v, i) => {
    const at = v.findIndex((x) => !Number.isFinite(x));
    if (at >= 0 && (inputs[i] as tf.Tensor).dtype === "float32") {
      throw new RangeError(`gradcheck(${name}): ${label(i)} is ${v[at]} at ${formatShape(unravel(at, ev.shapes[i]!))}; finite differences need finite inputs`);
    }
  });
  const m = ev.output.length;
  const checked = inputs.map((x) => x instanceof tf.Tensor && x.dtype === "float32");
  const modeOf = (i: number): "full" | "projection" => {
    if (options.mode === "full" || options.mode === "projection") return options.mode;
    return m * ev.values[i]!.length <= (options.maxFullEntries ?? DEFAULT_MAX_FULL_ENTRIES) ? "full" : "projection";
  };
  const full = inputs.map((_, i) => i).filter((i) => checked[i] && modeOf(i) === "full");
  const projected = inputs.map((_, i) => i).filter((i) => checked[i] && modeOf(i) === "projection");

  // Numerical side first: it needs only the forward, which must work for a check to mean anything.
  const estimate = yield* estimateTermScale(ev, [...full, ...projected], TERM_SCALE_STEP, generator, projected.length > 0 ? 1 : 2);
  const noiseScale = ev.output.map((f, k) => Math.abs(f) + estimate[k]!);
  const numeric = new Map<number, NumericJacobian>();
  for (const i of full) numeric.set(i, yield* numericJacobian(ev, i, t.eps, noiseScale));
  const termScale = new Float64Array(m);
  for (let k = 0; k < m; k++) termScale[k] = Math.abs(ev.output[k]!) + (projected.length > 0 ? estimate[k]! : 0);
  for (const i of full) numeric.get(i)!.termScale.forEach((s, k) => (termScale[k] = termScale[k]! + s));
  const cx: CheckContext = { ev, t, failKinks: options.nondifferentiable === "fail", termScale, noiseScale, generator };

  const reports: InputReport[] = [];
  let analytic: Map<number, Float64Array>;
  let randomDy: Float64Array | null = null;
  let randomVjp: Float64Array[] | null = null;
  let scaledVjp: Float64Array[] | null = null;
  let projectionUs: Float64Array[];
  let projectionVjps: Float64Array[][];
  try {
    analytic = yield* analyticJacobians(ev, full);
    if (full.length > 0) {
      // Non-unit and of both signs: a backward that ignores dy, or squares it, gives itself away.
      randomDy = makeRandomDy(generator, m);
      randomVjp = yield* ev.vjp(randomDy);
      scaledVjp = yield* ev.vjp(randomDy.map((v) => -4 * v));
    }
    projectionUs = Array.from({ length: projected.length ? (options.projections ?? 2) : 0 }, () => generator.normalArray(m));
    projectionVjps = [];
    for (const u of projectionUs) projectionVjps.push(yield* ev.vjp(u));
  } catch (error) {
    return finish({ name, passed: false, inputs: backwardFailed(error, inputs, checked, label) }, options);
  }

  const roundoffScales = projectionUs.map((u) => quadrature(u, termScale));
  const projections: Projection[] = projected.length > 0 ? yield* project(ev, projected, projectionUs, projectionVjps, t.eps, roundoffScales, generator) : [];
  const jointlyPassed = compareProjections(projections, t).passed;

  for (let i = 0; i < inputs.length; i++) {
    const base = { index: i, label: label(i), shape: ev.shapes[i]!, diagnosis: null, error: null, nondifferentiable: 0, nondifferentiableAt: null, linearInDy: null, hint: null };
    if (!checked[i]) {
      const x = inputs[i]!;
      const why = x instanceof tf.Tensor ? `dtype ${x.dtype} is not differentiable` : `not a tensor (${describe(x)}): passed through unchanged`;
      reports.push({ ...base, mode: "skipped", passed: true, compared: 0, mismatched: 0, maxAbsError: 0, maxRelError: 0, worst: null, error: why });
    } else if (numeric.has(i)) {
      const comparison = compareFull(cx, i, numeric.get(i)!, analytic.get(i)!, label(i));
      const dy = checkRandomDy(cx, i, numeric.get(i)!, analytic.get(i)!, randomDy!, randomVjp![i]!, scaledVjp![i]!);
      const report: InputReport = { ...base, mode: "full", ...comparison, linearInDy: dy.linearInDy };
      // Meaningless where the Jacobian itself is not finite: that is the diagnosis then.
      if (!dy.linearInDy && report.diagnosis === null) {
        report.diagnosis = `the backward is not linear in dy: for a random dy it returns ${fmt(dy.worst!.analytic)} where linearity (−4·dy giving −4× the gradient, and Σₖ dyₖ·its gradient for the k-th unit dy) says ${fmt(dy.worst!.numerical)}; it ignores dy, or uses it non-linearly (squared?)`;
        if (report.passed) Object.assign(report, { passed: false, worst: dy.worst, mismatched: dy.mismatched });
      }
      reports.push(report);
    } else {
      // Checked jointly; a failure is re-checked input by input to say which one is wrong.
      let own = projections;
      if (!jointlyPassed && projected.length > 1) {
        own = yield* project(ev, [i], projectionUs, projectionVjps, t.eps, roundoffScales, generator);
      }
      const comparison = compareProjections(own, t);
      reports.push({ ...base, mode: "projection", ...comparison, diagnosis: comparison.passed ? null : diagnoseProjections(base.label, own) });
    }
  }
  yield* explainFailures(cx, reports, numeric, analytic, options.maxFullEntries ?? DEFAULT_MAX_FULL_ENTRIES);
  return finish({ name, passed: reports.every((r) => r.passed), inputs: reports }, options);
}

/**
 * For failing inputs: a projection failure is re-run as a full Jacobian where affordable (to
 * point at an element), then every failure gets a diagnosis from one random vjp, and the worst
 * entry a hint from the steps its tableau tried.
 */
function* explainFailures(cx: CheckContext, reports: InputReport[], numeric: Map<number, NumericJacobian>, analytic: Map<number, Float64Array>, maxFullEntries: number): Reads<void> {
  if (reports.every((r) => r.passed)) return;
  const { ev } = cx;
  const m = ev.output.length;
  for (const r of reports) {
    if (r.passed || r.mode !== "projection" || m * ev.values[r.index]!.length > maxFullEntries * 4) continue;
    const num = yield* numericJacobian(ev, r.index, cx.t.eps, cx.noiseScale);
    const ana = (yield* analyticJacobians(ev, [r.index])).get(r.index)!;
    numeric.set(r.index, num);
    analytic.set(r.index, ana);
    // termScale already holds this input's estimated share; the full Jacobian's is at least as large.
    num.termScale.forEach((s, k) => (cx.termScale[k] = Math.max(cx.termScale[k]!, Math.abs(ev.output[k]!) + s)));
    Object.assign(r, compareFull(cx, r.index, num, ana, r.label), { mode: "full" });
  }
  const u = cx.generator.normalArray(m);
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
  for (const r of reports) {
    if (r.passed || r.error !== null) continue;
    r.diagnosis ??= diagnose(r.index, pairs);
    if (r.mode === "full" && r.worst?.output && r.worst.input && Number.isFinite(r.worst.analytic) && Number.isFinite(r.worst.numerical)) r.hint = yield* hintFor(cx, r);
  }
}

/** The backward threw: the input it names (a contract error) or every input fails with its message. */
function backwardFailed(error: unknown, inputs: readonly Arg[], checked: boolean[], label: (i: number) => string): InputReport[] {
  const blamed = error instanceof BackwardContractError ? error.inputIndex : null;
  return inputs.map((x, i) => ({
    index: i,
    label: label(i),
    shape: x instanceof tf.Tensor ? x.shape : [],
    mode: checked[i] ? "full" : "skipped",
    passed: false,
    compared: 0,
    mismatched: 0,
    maxAbsError: Number.NaN,
    maxRelError: Number.NaN,
    worst: null,
    diagnosis: null,
    error: blamed === null || blamed === i ? messageOf(error) : `not checked: the backward failed on ${label(blamed)}`,
    nondifferentiable: 0,
    nondifferentiableAt: null,
    linearInDy: null,
    hint: null,
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
  if (options.nondifferentiable !== undefined && options.nondifferentiable !== "skip" && options.nondifferentiable !== "fail") {
    throw new RangeError(`gradcheck: nondifferentiable must be "skip" or "fail", got ${JSON.stringify(options.nondifferentiable)}`);
  }
  return out;
}

/** The non-tensor arguments defineFunction passes through: numbers, booleans, strings and arrays of them. */
function isAttribute(x: unknown): boolean {
  const scalar = (v: unknown) => typeof v === "number" || typeof v === "boolean" || typeof v === "string";
  return scalar(x) || (Array.isArray(x) && x.every(scalar));
}
