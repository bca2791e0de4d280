/**
 * A decoded ModelProto checked and put in running order: initializers read (sizes checked before
 * allocation), functions inlined, every value produced exactly once, nodes sorted so each runs
 * after what it reads (a cycle is an error naming its nodes), each node's op found and its
 * attributes read. Then every value's type and shape is inferred (symbolic sizes such as "batch"
 * kept) and checked against the budgets, so a graph that cannot run, or would not fit, is refused
 * at import naming the node. inferStep is the same inference the model repeats with concrete
 * shapes before each node runs.
 */
import { overBudget, type ImportBudgets } from "./import_budgets";
import { OnnxImportError } from "./errors";
import { checkName, expandFunctions, type FlatNode } from "./import_functions";
import { lookupOp, SUPPORTED_OPS } from "./import_ops";
import { readAttributes, type Attrs } from "./import_ops/attributes";
import type { ImportOp } from "./import_ops/op";
import { formatDims, OpError, Refusal, sizeOf, T, tfDtype, tracked, type DimShape, type ValueInfo } from "./import_ops/values";
import { dataTypeName, int64ToNumber, type OnnxTypes } from "./proto";
import { MAX_DIM, readAnyTensor, readDims, type HostTensor } from "./tensor_data";

export interface PlanValue {
  name: string;
  info: ValueInfo;
}

export interface PlanStep {
  label: string;
  opType: string;
  domain: string;
  op: ImportOp;
  attrs: Attrs;
  /** "" marks an absent optional input. */
  inputs: string[];
  /** "" marks an output the node does not name. */
  outputs: string[];
}

export interface ImportPlan {
  inputs: PlanValue[];
  outputs: PlanValue[];
  /** Float initializers: the model's trainable parameters. */
  parameters: { name: string; tensor: HostTensor }[];
  /** Other initializers (integer shapes, indices, masks): constants. */
  constants: { name: string; tensor: HostTensor }[];
  steps: PlanStep[];
  /** Every value's type and shape as inferred at import (symbolic sizes kept). */
  infos: Map<string, ValueInfo>;
  /** The default domain's opset. */
  opset: number;
  budgets: ImportBudgets;
}

/**
 * Oldest default-domain opset gradlab reads. Ops whose meaning changed since (broadcast and axis
 * attributes before 7, consumed_inputs before 6, a string Cast target before 6) are refused by
 * their attributes, node by node; the rest mean what they mean today.
 */
export const MIN_IMPORT_OPSET = 1;

export function planGraph(model: OnnxTypes.ModelProto, budgets: ImportBudgets, userOps: ReadonlyMap<string, ImportOp> = new Map()): ImportPlan {
  const graph = model.graph!;
  if ((graph.sparseInitializer ?? []).length > 0) throw new OnnxImportError("the graph has sparse initializers, which gradlab does not read");

  const infos = new Map<string, ValueInfo>();
  const parameters: ImportPlan["parameters"] = [];
  const constants: ImportPlan["constants"] = [];
  (graph.initializer ?? []).forEach((t, i) => {
    const name = t.name ?? "";
    if (name === "") throw new OnnxImportError(`initializer #${i} has no name`);
    checkName(name, `initializer #${i}`, budgets);
    if (infos.has(name)) throw new OnnxImportError(`initializer "${name}" is defined twice`);
    const dims = readDims(t.dims, `initializer "${name}"`);
    const size = dims.reduce((p, q) => p * q, 1);
    if (size > budgets.maxTensorElements) {
      const figure = `shape ${formatDims(dims)} holds ${Number.isSafeInteger(size) ? size : "more than 2⁵³"} elements`;
      throw overBudget("maxTensorElements", `initializer "${name}"`, figure, budgets.maxTensorElements);
    }
    const tensor = readAnyTensor(t, `initializer "${name}"`);
    const float = tfDtype(tensor.dtype) === "float32";
    (float ? parameters : constants).push({ name, tensor });
    infos.set(name, float ? { dtype: tensor.dtype, shape: tensor.shape } : tracked(tensor.dtype, tensor.shape, Array.from(tensor.values)));
  });

  // PyTorch lists its weights among the graph inputs too (with the initializer as a default):
  // those are parameters, not inputs the caller feeds.
  const inputs = (graph.input ?? []).filter((v) => !infos.has(v.name ?? "")).map((v, i) => readValueInfo(v, i, "input", budgets));
  for (const input of inputs) {
    if (infos.has(input.name)) throw new OnnxImportError(`graph input "${input.name}" is listed twice`);
    infos.set(input.name, input.info);
  }

  const opset = defaultOpset(model);
  const nodes = expandFunctions(graph.node ?? [], model.functions ?? [], budgets, new Set(userOps.keys()));
  const sorted = sortNodes(nodes, new Set(infos.keys()));
  if (opset === null && sorted.some((s) => s.domain === "" || s.domain === "ai.onnx")) {
    throw new OnnxImportError("the model uses standard ONNX ops but imports no opset for the default domain (opset_import)");
  }
  if (sorted.length > 0 && opset !== null && opset < MIN_IMPORT_OPSET) {
    throw new OnnxImportError(`the model uses default-domain opset ${opset}; gradlab runs opset ${MIN_IMPORT_OPSET} and later`);
  }
  // Each node planned and inferred in turn: a graph over budget stops at the node that passes it.
  let total = 0;
  const steps: PlanStep[] = [];
  for (const node of sorted) {
    const step = planStep(node, userOps);
    steps.push(step);
    const ins = step.inputs.map((n) => (n === "" ? null : infos.get(n)!));
    const outs = inferStep(step, ins, opset ?? 0);
    total = checkBudgets(step, outs, budgets, total);
    step.outputs.forEach((name, k) => name !== "" && infos.set(name, outs[k]!));
  }

  const outputs = (graph.output ?? []).map((v) => {
    const name = v.name ?? "";
    const info = infos.get(name);
    if (info === undefined) throw new OnnxImportError(`graph output "${name}" is not produced by any node, input or initializer`);
    return { name, info };
  });
  if (outputs.length === 0) throw new OnnxImportError("the graph has no outputs");
  return { inputs, outputs, parameters, constants, steps, infos, opset: opset ?? 0, budgets };
}

/** A node's outputs inferred from its inputs; errors name the node, the op and the inputs. */
export function inferStep(step: PlanStep, ins: (ValueInfo | null)[], opset: number): ValueInfo[] {
  const where = `node "${step.label}" (${step.opType})`;
  try {
    let outs: ValueInfo[];
    if (ins.some((v) => v !== null && v.shape === null)) {
      // After a user's op, before it runs: not even the rank is known yet.
      outs = step.outputs.map(() => ({ dtype: ins.find((v) => v)?.dtype ?? T.FLOAT, shape: null }));
    } else {
      outs = step.op.infer(ins, step.attrs, { opset, outputs: step.outputs.length });
    }
    if (outs.length < step.outputs.length) throw new OpError(`it gives ${outs.length} outputs, the node names ${step.outputs.length}`);
    // Sizes a file can make negative or fractional (an Expand to -1, a Tile by -2) stop here, by name.
    for (const o of outs.slice(0, step.outputs.length)) {
      const bad = o.shape?.find((d) => typeof d === "number" && !(Number.isInteger(d) && d >= 0 && d <= MAX_DIM));
      if (bad !== undefined) throw new OpError(`the output would have shape ${formatDims(o.shape!)}: size ${bad} is not an integer in [0, ${MAX_DIM}]`);
    }
    return outs.slice(0, step.outputs.length);
  } catch (error) {
    if (error instanceof OnnxImportError) throw error;
    const given = step.inputs.map((n, i) => (n === "" ? "(absent)" : `${n} ${dataTypeName(ins[i]!.dtype)} ${formatDims(ins[i]!.shape)}`)).join(", ");
    if (error instanceof Refusal) throw new OnnxImportError(`${where}: gradlab does not run this: ${error.message} (inputs: ${given})`);
    if (error instanceof OpError) throw new OnnxImportError(`${where}: ${error.message} (inputs: ${given})`);
    throw error;
  }
}

/** The outputs' sizes against the budgets, before they are allocated; returns the running total. */
export function checkBudgets(step: PlanStep, outs: readonly ValueInfo[], budgets: ImportBudgets, total: number): number {
  outs.forEach((o, k) => {
    if (o.shape === null) return;
    const known = o.shape.filter((d): d is number => typeof d === "number");
    const n = sizeOf(known)!;
    const where = `node "${step.label}" (${step.opType})`;
    if (n > budgets.maxTensorElements) {
      throw overBudget("maxTensorElements", where, `output "${step.outputs[k]}" of shape ${formatDims(o.shape)} would hold ${n} elements`, budgets.maxTensorElements);
    }
    total += n;
    if (total > budgets.maxTotalElements) {
      throw overBudget("maxTotalElements", where, `the graph's tensors would hold ${total} elements by output "${step.outputs[k]}" ${formatDims(o.shape)}`, budgets.maxTotalElements);
    }
  });
  return total;
}

function readValueInfo(v: OnnxTypes.IValueInfoProto, index: number, kind: string, budgets: ImportBudgets): PlanValue {
  const name = v.name ?? "";
  const what = `graph ${kind} "${name}"`;
  if (name === "") throw new OnnxImportError(`graph ${kind} #${index} has no name`);
  checkName(name, `graph ${kind} #${index}`, budgets);
  const tensorType = v.type?.tensorType;
  if (!tensorType) throw new OnnxImportError(`${what} is not a tensor (a sequence, map or optional); gradlab feeds tensors only`);
  const dtype = tensorType.elemType ?? 0;
  if (tfDtype(dtype) === null) throw new OnnxImportError(`${what} has element type ${dataTypeName(dtype)}; gradlab feeds numeric and bool tensors`);
  if (!tensorType.shape) return { name, info: { dtype, shape: null } };
  const shape: DimShape = (tensorType.shape.dim ?? []).map((d, i) => {
    if (d.dimParam) {
      checkName(d.dimParam, `${what} dimension ${i}`, budgets);
      return d.dimParam;
    }
    if (d.dimValue === null || d.dimValue === undefined) return null;
    const n = int64ToNumber(d.dimValue);
    if (n === null || n < 0 || n > MAX_DIM) throw new OnnxImportError(`${what}: dimension ${i} is ${n ?? "beyond any safe integer"}; dimensions must lie in [0, ${MAX_DIM}]`);
    return n;
  });
  return { name, info: { dtype, shape } };
}

function defaultOpset(model: OnnxTypes.ModelProto): number | null {
  const entry = (model.opsetImport ?? []).find((o) => o.domain === "" || o.domain === "ai.onnx" || o.domain == null);
  return entry ? int64ToNumber(entry.version) : null;
}

/** Kahn's algorithm: each value made once; each read made first, by an input, initializer or node. */
function sortNodes(nodes: FlatNode[], sources: Set<string>): FlatNode[] {
  const producer = new Map<string, number>();
  nodes.forEach((node, i) => {
    for (const out of node.outputs) {
      if (out === "") continue;
      if (sources.has(out)) throw new OnnxImportError(`node "${node.label}" (${node.opType}) writes "${out}", which is a graph input or an initializer`);
      const other = producer.get(out);
      if (other !== undefined) throw new OnnxImportError(`value "${out}" is produced twice, by node "${nodes[other]!.label}" and node "${node.label}"`);
      producer.set(out, i);
    }
  });
  const waiting = new Array<number>(nodes.length).fill(0);
  const readers = new Map<number, number[]>();
  nodes.forEach((node, i) => {
    for (const name of new Set(node.inputs)) {
      if (name === "" || sources.has(name)) continue;
      const from = producer.get(name);
      if (from === undefined) {
        throw new OnnxImportError(`node "${node.label}" (${node.opType}) reads "${name}", which is no graph input, no initializer and no node's output (a missing initializer?)`);
      }
      waiting[i]!++;
      const list = readers.get(from);
      if (list) list.push(i);
      else readers.set(from, [i]);
    }
  });
  // Ready nodes run in file order (a min-heap would be exact; reversing keeps the common case).
  const ready = nodes.map((_, i) => i).filter((i) => waiting[i] === 0).reverse();
  const order: FlatNode[] = [];
  while (ready.length > 0) {
    const i = ready.pop()!;
    order.push(nodes[i]!);
    for (const r of readers.get(i) ?? []) if (--waiting[r]! === 0) ready.push(r);
  }
  if (order.length < nodes.length) {
    const stuck = nodes.filter((_, i) => waiting[i]! > 0).map((n) => `"${n.label}"`);
    throw new OnnxImportError(`the graph has a cycle: nodes ${stuck.slice(0, 5).join(", ")}${stuck.length > 5 ? ` and ${stuck.length - 5} more` : ""} wait on each other's outputs`);
  }
  return order;
}

function planStep(node: FlatNode, userOps: ReadonlyMap<string, ImportOp>): PlanStep {
  const name = `${node.domain ? `${node.domain}.` : ""}${node.opType}`;
  const where = `node "${node.label}" (${name})`;
  const op = lookupOp(node.opType, node.domain, userOps);
  if (op === null) throw new OnnxImportError(`${where}: op ${name} is not supported; gradlab runs ${SUPPORTED_OPS}`);
  const given = node.inputs.length;
  const [min, max] = op.inputs;
  if (given < min || given > max) {
    throw new OnnxImportError(`${where} has ${given} inputs; ${node.opType} takes ${min === max ? min : max === Infinity ? `${min} or more` : `${min} to ${max}`}`);
  }
  const absent = node.inputs.slice(0, min).indexOf("");
  if (absent >= 0) throw new OnnxImportError(`${where}: input ${absent} is required, but the node leaves it empty`);
  // Trailing unnamed outputs are as if absent.
  let outputs = [...node.outputs];
  while (outputs.length > 0 && outputs[outputs.length - 1] === "") outputs = outputs.slice(0, -1);
  const [lo, hi] = op.outputs ?? [1, 1];
  if (outputs.length < lo || outputs.length > hi) {
    throw new OnnxImportError(`${where} has ${outputs.length} outputs; gradlab runs ${node.opType} with ${lo === hi ? lo : hi === Infinity ? `${lo} or more` : `${lo} to ${hi}`}`);
  }
  let attrs: Attrs;
  try {
    attrs = readAttributes(node.attributes, op.attributes ?? {}, node.opType);
  } catch (error) {
    if (error instanceof Refusal || error instanceof OpError || error instanceof OnnxImportError) {
      throw new OnnxImportError(`${where}: ${error instanceof Refusal ? "gradlab does not run this: " : ""}${error.message}`);
    }
    throw error;
  }
  return { label: node.label, opType: node.opType, domain: node.domain, op, attrs, inputs: node.inputs, outputs };
}

