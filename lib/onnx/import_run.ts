/**
 * One forward of an imported graph: before each node runs, its outputs are inferred again from the
 * concrete shapes (and known contents) of its inputs and checked against the budgets, so nothing
 * over budget is ever allocated; values whose contents are known on the host (shape arithmetic)
 * are not computed by tfjs at all, but made from those contents when something reads them.
 * Everything runs in tfjs ops inside the caller's tidy, so gradients flow to the parameters.
 */
import * as tf from "@tensorflow/tfjs";
import { syncReadProblem } from "../sync_read";
import { OnnxImportError } from "./errors";
import { checkBudgets, inferStep, type ImportPlan } from "./import_graph";
import { materialize } from "./import_ops/contents";
import { formatDims, MAX_TRACKED_ELEMENTS, Refusal, OpError, tfDtype, tracked, type ValueInfo } from "./import_ops/values";
import { formatShape } from "../shape";

interface Slot {
  info: ValueInfo;
  tensor: tf.Tensor | null;
}

/** Runs `plan` on `sources` (inputs, parameters and constants by name); returns the `wanted` values. */
export function runPlan(plan: ImportPlan, sources: ReadonlyMap<string, Slot>, wanted: readonly string[], owner: string): tf.Tensor[] {
  preflight(plan, sources, owner);
  const slots = new Map<string, Slot>([...sources].map(([name, slot]) => [name, { ...slot }]));
  const tensorOf = (name: string): tf.Tensor => {
    const slot = slots.get(name)!;
    if (slot.tensor === null) slot.tensor = materialize(slot.info);
    return slot.tensor;
  };
  let total = 0;
  for (const step of plan.steps) {
    const where = `${owner}: node "${step.label}" (${step.opType})`;
    const host = new Set(step.op.hostInputs ?? []);
    const ins = step.inputs.map((name, i) => {
      if (name === "") return null;
      const slot = slots.get(name)!;
      if (host.has(i) && slot.info.data === undefined && slot.tensor !== null) slot.info = readContents(slot, where, i);
      return slot.info;
    });
    const outs = inferStep(step, ins, plan.opset);
    total = checkBudgets(step, outs, plan.budgets, total);
    if (outs.every((o) => o.data !== undefined && o.data.every((d) => typeof d === "number"))) {
      step.outputs.forEach((name, k) => name !== "" && slots.set(name, { info: outs[k]!, tensor: null }));
      continue;
    }
    let results: tf.Tensor[];
    try {
      const xs = step.inputs.map((name, i) => (name === "" || host.has(i) ? null : tensorOf(name)));
      const y = step.op.run(xs, step.attrs, { opset: plan.opset, outputs: step.outputs.length, ins, outs });
      results = Array.isArray(y) ? y : [y];
    } catch (error) {
      if (error instanceof OnnxImportError) throw error;
      const shapes = ins.map((v) => (v ? `${formatDims(v.shape)}` : "(absent)")).join(", ");
      if (error instanceof Refusal) throw new OnnxImportError(`${where}: gradlab does not run this: ${error.message} (inputs ${shapes})`);
      if (error instanceof OpError) throw new OnnxImportError(`${where}: ${error.message} (inputs ${shapes})`);
      throw new OnnxImportError(`${where} failed on inputs ${shapes}: ${(error as Error).message}`, { cause: error });
    }
    if (results.length < step.outputs.length) throw new Error(`${where} gave ${results.length} outputs for ${step.outputs.length} (a gradlab bug)`);
    step.outputs.forEach((name, k) => {
      if (name === "") return;
      let t = results[k]!;
      const info = outs[k]!;
      if (info.shape !== null && (info.shape.length !== t.rank || info.shape.some((d, i) => typeof d === "number" && d !== t.shape[i]))) {
        throw new Error(`${where}: output ${k} has shape ${formatShape(t.shape)}, but gradlab inferred ${formatDims(info.shape)} (a gradlab bug)`);
      }
      const dtype = tfDtype(info.dtype);
      if (dtype !== null && t.dtype !== dtype) t = tf.cast(t, dtype);
      slots.set(name, { info: info.shape === null ? { dtype: info.dtype, shape: t.shape } : info, tensor: t });
    });
  }
  const given = new Set([...sources.values()].map((s) => s.tensor));
  return wanted.map((name) => {
    const t = tensorOf(name);
    // An input or a parameter passed through (Identity, Dropout) is handed out as a copy, never the original.
    return given.has(t) ? tf.clone(t) : t;
  });
}

/**
 * The whole graph inferred with this call's concrete input shapes before any node runs, so a
 * forward whose tensors would pass a budget is refused before the first of them is allocated
 * (the per-node checks in runPlan cover what only running reveals: a user's op's output shapes).
 */
function preflight(plan: ImportPlan, sources: ReadonlyMap<string, Slot>, owner: string): void {
  const infos = new Map<string, ValueInfo>();
  for (const [name, slot] of sources) infos.set(name, slot.info);
  let total = 0;
  for (const step of plan.steps) {
    const host = new Set(step.op.hostInputs ?? []);
    const ins = step.inputs.map((name, i) => {
      if (name === "") return null;
      const info = infos.get(name)!;
      const source = sources.get(name);
      if (host.has(i) && info.data === undefined && source?.tensor) {
        const read = readContents(source, `${owner}: node "${step.label}" (${step.opType})`, i);
        infos.set(name, read);
        return read;
      }
      return info;
    });
    const outs = inferStep(step, ins, plan.opset);
    total = checkBudgets(step, outs, plan.budgets, total);
    step.outputs.forEach((name, k) => name !== "" && infos.set(name, outs[k]!));
  }
}

/** Reads a small tensor's contents to the host, for an input that decides shapes (Reshape's shape). */
function readContents(slot: Slot, where: string, index: number): ValueInfo {
  const t = slot.tensor!;
  if (t.size > MAX_TRACKED_ELEMENTS) throw new OnnxImportError(`${where}: input ${index} decides the output's shape, but has ${t.size} elements (gradlab reads at most ${MAX_TRACKED_ELEMENTS})`);
  const problem = syncReadProblem();
  if (problem !== null) throw new OnnxImportError(`${where}: input ${index} is computed at run time and decides the output's shape, which needs a synchronous read: ${problem}`);
  return tracked(slot.info.dtype, t.shape, Array.from(t.dataSync() as ArrayLike<number>, Number));
}
