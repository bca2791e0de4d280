/**
 * A decoded ModelProto checked and put in running order: initializers read (sizes checked before
 * allocation), functions expanded, every value produced exactly once, nodes sorted so each runs
 * after what it reads (a cycle is an error naming its nodes), each node's op found and its
 * attributes and shapes checked. What comes out can be run without further checks.
 */
import { OnnxImportError } from "./errors";
import { expandFunctions, type FlatNode } from "./import_functions";
import { formatDims, lookupOp, SUPPORTED_OPS, type AttributeValues, type DimShape, type ImportOp } from "./import_ops";
import { DataType, dataTypeName, int64ToNumber, onnx, type OnnxTypes } from "./proto";
import { MAX_DIM, readTensor } from "./tensor_data";

export interface PlanInput {
  name: string;
  shape: DimShape;
  /** The declared element type (float32 or float64; gradlab feeds float32 either way). */
  elemType: number;
}

export interface PlanStep {
  label: string;
  opType: string;
  domain: string;
  op: ImportOp;
  attrs: AttributeValues;
  /** "" marks an absent optional input. */
  inputs: string[];
  output: string;
}

export interface ImportPlan {
  inputs: PlanInput[];
  output: { name: string; shape: DimShape };
  initializers: { name: string; shape: number[]; values: Float32Array; elemType: number }[];
  steps: PlanStep[];
  /** Every value's shape, as inferred (for descriptions). */
  shapes: Map<string, DimShape>;
  /** The default domain's opset version. */
  opset: number;
}

/** Oldest default-domain opset whose Gemm, MatMul and Add broadcast as gradlab runs them. */
export const MIN_IMPORT_OPSET = 7;

export function planGraph(model: OnnxTypes.ModelProto): ImportPlan {
  const graph = model.graph!;
  if ((graph.sparseInitializer ?? []).length > 0) throw new OnnxImportError("the graph has sparse initializers, which gradlab does not read");

  const initializers = (graph.initializer ?? []).map((t, i) => {
    const name = t.name ?? "";
    if (name === "") throw new OnnxImportError(`initializer #${i} has no name`);
    const tensor = readTensor(t, `initializer "${name}"`);
    return { name, ...tensor, elemType: t.dataType ?? 0 };
  });
  const shapes = new Map<string, DimShape>();
  for (const init of initializers) {
    if (shapes.has(init.name)) throw new OnnxImportError(`initializer "${init.name}" is defined twice`);
    shapes.set(init.name, init.shape);
  }

  // PyTorch lists its weights among the graph inputs too (with the initializer as a default):
  // those are parameters, not inputs the caller feeds.
  const inputs = (graph.input ?? []).filter((v) => !shapes.has(v.name ?? "")).map(readInput);
  for (const input of inputs) {
    if (shapes.has(input.name)) throw new OnnxImportError(`graph input "${input.name}" is listed twice`);
    shapes.set(input.name, input.shape);
  }

  const opset = defaultOpset(model);
  const nodes = expandFunctions(graph.node ?? [], model.functions ?? []);
  const steps = sortNodes(nodes, new Set(shapes.keys())).map(planStep);
  if (opset === null && steps.some((s) => s.domain === "" || s.domain === "ai.onnx")) {
    throw new OnnxImportError("the model uses standard ONNX ops but imports no opset for the default domain (opset_import)");
  }
  if (steps.length > 0 && opset !== null && opset < MIN_IMPORT_OPSET) {
    throw new OnnxImportError(`the model uses default-domain opset ${opset}; gradlab runs opset ${MIN_IMPORT_OPSET} and later (broadcasting changed at 7)`);
  }
  for (const step of steps) {
    const ins = step.inputs.map((n) => (n === "" ? null : shapes.get(n)!));
    try {
      shapes.set(step.output, step.op.infer(ins, step.attrs));
    } catch (error) {
      const given = step.inputs.map((n, i) => (n === "" ? "(absent)" : `${n} ${formatDims(ins[i]!)}`)).join(", ");
      throw new OnnxImportError(`node "${step.label}" (${step.opType}): ${(error as Error).message} (inputs: ${given})`);
    }
  }

  const outputs = graph.output ?? [];
  if (outputs.length !== 1) throw new OnnxImportError(`the graph has ${outputs.length} outputs; gradlab imports models with exactly one`);
  const outputName = outputs[0]!.name ?? "";
  const outputShape = shapes.get(outputName);
  if (outputShape === undefined) throw new OnnxImportError(`graph output "${outputName}" is not produced by any node, input or initializer`);
  return { inputs, output: { name: outputName, shape: outputShape }, initializers, steps, shapes, opset: opset ?? 0 };
}

function readInput(v: OnnxTypes.IValueInfoProto, index: number): PlanInput {
  const name = v.name ?? "";
  const what = `graph input "${name}"`;
  if (name === "") throw new OnnxImportError(`graph input #${index} has no name`);
  const tensorType = v.type?.tensorType;
  if (!tensorType) throw new OnnxImportError(`${what} is not a tensor; gradlab feeds tensors only`);
  const elemType = tensorType.elemType ?? 0;
  if (elemType !== DataType.FLOAT && elemType !== DataType.DOUBLE) {
    throw new OnnxImportError(`${what} has element type ${dataTypeName(elemType)}; gradlab feeds float32 (and accepts float64 inputs, fed as float32)`);
  }
  if (!tensorType.shape) throw new OnnxImportError(`${what} has no shape; gradlab needs at least its rank`);
  const shape = (tensorType.shape.dim ?? []).map((d, i) => {
    if (d.dimParam) return d.dimParam;
    if (d.dimValue === null || d.dimValue === undefined) return null;
    const n = int64ToNumber(d.dimValue);
    if (n === null || n < 0 || n > MAX_DIM) throw new OnnxImportError(`${what}: dimension ${i} is ${n ?? "beyond any safe integer"}; dimensions must lie in [0, ${MAX_DIM}]`);
    return n;
  });
  return { name, shape, elemType };
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
        throw new OnnxImportError(
          `node "${node.label}" (${node.opType}) reads "${name}", which is no graph input, no initializer and no node's output (a missing initializer?)`,
        );
      }
      waiting[i]!++;
      const list = readers.get(from);
      if (list) list.push(i);
      else readers.set(from, [i]);
    }
  });
  const ready = nodes.map((_, i) => i).filter((i) => waiting[i] === 0);
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

function planStep(node: FlatNode): PlanStep {
  const where = `node "${node.label}" (${node.domain ? `${node.domain}.` : ""}${node.opType})`;
  const op = lookupOp(node.opType, node.domain);
  if (op === null) {
    throw new OnnxImportError(`${where}: op ${node.domain ? `${node.domain}.` : ""}${node.opType} is not supported; gradlab runs ${SUPPORTED_OPS}`);
  }
  const given = node.inputs.length;
  const [min, max] = op.arity;
  if (given < min || given > max || node.inputs.slice(0, min).includes("")) {
    throw new OnnxImportError(`${where} has ${given} inputs; ${node.opType} takes ${min === max ? min : `${min} to ${max}`}`);
  }
  if (node.outputs.length !== 1 || node.outputs[0] === "") throw new OnnxImportError(`${where} has ${node.outputs.length} outputs; gradlab runs ${node.opType} with one`);
  return { label: node.label, opType: node.opType, domain: node.domain, op, attrs: readAttributes(node, op, where), inputs: node.inputs, output: node.outputs[0]! };
}

const AttributeType = onnx.AttributeProto.AttributeType;

function readAttributes(node: FlatNode, op: ImportOp, where: string): AttributeValues {
  const out: Record<string, number> = {};
  for (const [name, spec] of Object.entries(op.attributes)) out[name] = spec.default;
  for (const a of node.attributes) {
    const name = a.name ?? "";
    const spec = Object.hasOwn(op.attributes, name) ? op.attributes[name]! : undefined;
    if (spec === undefined) {
      const known = Object.keys(op.attributes);
      throw new OnnxImportError(`${where}: attribute "${name}" is not supported (${known.length ? `gradlab reads ${known.join(", ")}` : "it takes none"})`);
    }
    if (a.refAttrName) throw new OnnxImportError(`${where}: attribute "${name}" refers to a function attribute, which gradlab does not support`);
    if (spec.kind === "int" && a.type === AttributeType.INT) {
      const n = int64ToNumber(a.i);
      if (n === null) throw new OnnxImportError(`${where}: attribute "${name}" is out of range`);
      out[name] = n;
    } else if (spec.kind === "float" && a.type === AttributeType.FLOAT) {
      out[name] = a.f ?? 0;
    } else {
      throw new OnnxImportError(`${where}: attribute "${name}" must be ${spec.kind === "int" ? "an INT" : "a FLOAT"}, got type ${a.type}`);
    }
  }
  return out;
}
