/**
 * From a trace to ONNX nodes. A kernel step is written by its entry in KERNEL_WRITERS; a custom-op
 * step by its `symbolic` (the custom node) or its `lower` (standard ops), depending on the mode,
 * and in "function" mode the custom node's definition, its `lower`, becomes a model-local function
 * (export_functions.ts). Tensors the steps read that are neither inputs nor parameters (constants
 * made in forward) become initializers.
 */
import type * as tf from "@tensorflow/tfjs";
import type { Arg, Attribute, CustomFunction, Outputs } from "../function";
import { OnnxExportError } from "./errors";
import { FunctionBodies } from "./export_functions";
import type { CustomOpsMode } from "./export_options";
import { GraphBuilder, NameTable } from "./graph_builder";
import { KERNEL_WRITERS } from "./kernel_writers";
import { KernelContext, type DynamicSize } from "./kernels/context";
import { CUSTOM_DOMAIN, type OnnxTypes } from "./proto";
import type { SymbolicGraph, SymbolicValue } from "./symbolic";
import type { ExportDtype } from "./tensor_data";
import { isTraced, type FunctionStep, type KernelStep, type Trace, type TraceStep } from "./trace";

export interface ExportedGraph {
  nodes: OnnxTypes.INodeProto[];
  functions: OnnxTypes.IFunctionProto[];
  /** Ids of the parameters the graph reads, so unused ones are left out. */
  usedParameterIds: Set<number>;
  /** Constants the graph reads, with the initializer name each is given. */
  constants: [string, tf.Tensor][];
}

export interface GraphSources {
  /** Tensor id → graph input name. */
  inputs: Map<number, string>;
  /** Tensor id (of the parameter's tf.Variable) → initializer name. */
  parameters: Map<number, string>;
}

export interface GraphSettings {
  outputName: string;
  mode: CustomOpsMode;
  opset: number;
  dtype: ExportDtype;
  /** The inputs' dynamic axes, where kernels read sizes that follow them. */
  dynamicSizes: DynamicSize[];
  /** Why no second trace could tell which sizes follow the dynamic axes, or null. */
  sizesUnknown: string | null;
}

export function buildGraph(trace: Trace, sources: GraphSources, settings: GraphSettings, names: NameTable): ExportedGraph {
  const values = new Map<number, string>([...sources.inputs, ...sources.parameters]);
  const usedParameterIds = new Set<number>();
  const constants: [string, tf.Tensor][] = [];
  const nodes: OnnxTypes.INodeProto[] = [];
  const bodies = new FunctionBodies(settings.opset, trace.steps);

  const valueOf = (id: number, what: () => string): string => {
    const known = values.get(id);
    if (known !== undefined) {
      if (sources.parameters.has(id)) usedParameterIds.add(id);
      return known;
    }
    const constant = trace.constants.get(id);
    if (constant === undefined) throw new OnnxExportError(`exportOnnx: ${what()} is a tensor the trace did not see made (an internal error in gradlab's tracer)`);
    const name = names.fresh(`constant_${constants.length}`);
    constants.push([name, constant]);
    values.set(id, name);
    return name;
  };

  const live = liveSteps(trace);
  trace.steps.forEach((step, index) => {
    if (!live.has(step)) return;
    const outputs =
      step.kind === "kernel"
        ? writeKernel(step, names, settings, new Map(step.inputs.map(([name, v]) => [name, valueOf(v.id, () => `input "${name}" of tfjs kernel ${step.kernel} (in ${step.module})`)])))
        : writeFunction(step, `${step.fn.name} (call ${index + 1} of ${trace.steps.length}, in ${step.module})`, names, settings, bodies, step.inputs.map((v, i) => valueOf(v.id, () => step.fn.inputName(i))));
    nodes.push(...outputs.nodes);
    step.outputs.forEach((v, i) => values.set(v.id, outputs.names[i]!));
  });

  const output = valueOf(trace.output.id, () => "the forward's output");
  if (nodes.some((n) => n.output?.includes(output))) {
    renameValue(nodes, output, settings.outputName);
  } else {
    // The forward returned an input, a parameter or a constant unchanged: ONNX needs a node to name it.
    nodes.push({ name: names.fresh("Identity"), opType: "Identity", domain: "", input: [output], output: [settings.outputName] });
  }
  return { nodes, functions: bodies.functions(), usedParameterIds, constants };
}

/**
 * The steps the output depends on, found backwards from it: what a forward computes and throws
 * away (a check, a value logged) is not written, as torch.onnx drops dead code, and a kernel
 * without a writer there does not stop the export.
 */
function liveSteps(trace: Trace): Set<TraceStep> {
  const needed = new Set([trace.output.id]);
  const live = new Set<TraceStep>();
  for (let i = trace.steps.length - 1; i >= 0; i--) {
    const step = trace.steps[i]!;
    if (!step.outputs.some((v) => needed.has(v.id))) continue;
    live.add(step);
    for (const v of step.kind === "kernel" ? step.inputs.map(([, v]) => v) : step.inputs) needed.add(v.id);
  }
  return live;
}

interface Written {
  nodes: OnnxTypes.INodeProto[];
  names: string[];
}

function writeKernel(step: KernelStep, names: NameTable, settings: GraphSettings, inputs: Map<string, string>): Written {
  const writer = KERNEL_WRITERS[step.kernel];
  if (writer === undefined) {
    throw new OnnxExportError(
      `exportOnnx: tfjs kernel ${step.kernel}, called in ${step.module}, has no ONNX writer in gradlab (lib/onnx/kernel_writers.ts lists those it has); ` +
        "compute it with other tfjs ops, or wrap it in a defineFunction op with a `lower`",
    );
  }
  const g = new GraphBuilder(names, { context: `exportOnnx: tfjs kernel ${step.kernel} (in ${step.module})`, customOpName: null, allowOtherDomains: false });
  const k = new KernelContext(step, g, inputs, settings);
  const written = writer(k);
  const outputs = (Array.isArray(written) ? written : [written]).map((v) => (g.nodes.some((n) => n.output?.includes(v.name)) ? v : g.op("Identity", v)));
  if (outputs.length !== step.outputs.length) k.fail(`its writer gave ${outputs.length} outputs for the kernel's ${step.outputs.length}`);
  return { nodes: g.nodes, names: outputs.map((v) => v.name) };
}

function writeFunction(step: FunctionStep, where: string, names: NameTable, settings: GraphSettings, bodies: FunctionBodies, inputs: string[]): Written {
  const { fn } = step;
  const { mode } = settings;
  const writer = mode === "standard" ? "lower" : "symbolic";
  const g = new GraphBuilder(names, { context: `${fn.name}.${writer} (${where})`, customOpName: mode === "standard" ? null : fn.name, allowOtherDomains: mode !== "standard" });
  const outputs = emit(fn, writer, g, symbolicArgs(step, inputs.map((n) => g.value(n))), step.outputs.length);
  // A symbolic written in standard ops alone needs no function to explain it.
  if (mode === "function" && g.nodes.some((n) => n.domain === CUSTOM_DOMAIN)) {
    checkCustomNodes(fn, g.nodes, inputs.length, step.outputs.length);
    const attributes = [...new Set(g.nodes.filter((n) => n.domain === CUSTOM_DOMAIN).flatMap((n) => (n.attribute ?? []).map((a) => a.name!)))];
    // The function's formal inputs are the tensor arguments, named as the definition names them.
    const formal = step.args.flatMap((a, i) => (isTraced(a) ? [fn.definition.inputNames?.[i] ?? `input${i}`] : []));
    const functionName = bodies.nameFor(fn, formal, step.outputs.length, attributes, (body) => emit(fn, "lower", body.g, symbolicArgs(step, body.inputs), step.outputs.length));
    for (const node of g.nodes) if (node.domain === CUSTOM_DOMAIN) node.opType = functionName;
  }
  return { nodes: g.nodes, names: outputs.map((v) => v.name) };
}

/** apply()'s arguments as symbolic and lower get them: graph values for tensors, the call's own values for the rest. */
function symbolicArgs(step: FunctionStep, tensors: SymbolicValue[]): (SymbolicValue | Attribute)[] {
  let next = 0;
  return step.args.map((a) => (isTraced(a) ? tensors[next++]! : a));
}

type Writer = (g: SymbolicGraph, ...args: (SymbolicValue | Attribute)[]) => unknown;

/**
 * Runs the op's symbolic (default: its bare custom node) or lower, and checks what it returns:
 * one value per output of forward, each made by a node it added.
 */
function emit(fn: CustomFunction<Arg[], Outputs>, writer: "symbolic" | "lower", g: GraphBuilder, args: (SymbolicValue | Attribute)[], outputCount: number): SymbolicValue[] {
  const { definition } = fn;
  const bare: Writer = (g, ...xs) => {
    const tensors = xs.filter((x): x is SymbolicValue => typeof x === "object" && !Array.isArray(x));
    return outputCount === 1 ? g.op(fn.name, ...tensors) : g.multiOp(fn.name, outputCount, ...tensors);
  };
  const write: Writer | undefined = writer === "symbolic" ? ((definition.symbolic?.bind(definition) as Writer | undefined) ?? bare) : (definition.lower?.bind(definition) as Writer | undefined);
  if (write === undefined) {
    throw new OnnxExportError(
      `exportOnnx: ${fn.name} has no \`lower\` (its form in standard ONNX ops), which customOps "function" and "standard" need; ` +
        `add lower(g, ...inputs) to its definition, or export with customOps "opaque" for a runtime that has a ${fn.name} kernel`,
    );
  }
  let out: unknown;
  try {
    out = write(g, ...args);
  } catch (error) {
    if (error instanceof OnnxExportError) throw error;
    throw new OnnxExportError(`exportOnnx: ${fn.name}.${writer} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  const values = Array.isArray(out) ? (out as unknown[]) : [out];
  if (values.length !== outputCount) {
    throw new OnnxExportError(`exportOnnx: ${fn.name}.${writer} returned ${values.length} value${values.length === 1 ? "" : "s"}, but forward returned ${outputCount} tensor${outputCount === 1 ? "" : "s"}; return one per output, in order`);
  }
  const distinct = new Set(values.map((v) => (v as SymbolicValue | null)?.name));
  if (distinct.size !== values.length) throw new OnnxExportError(`exportOnnx: ${fn.name}.${writer} returned one value for two outputs; return a distinct node output for each (an Identity for a copy)`);
  return values.map((value) => {
    if (!g.knows(value)) throw new OnnxExportError(`exportOnnx: ${fn.name}.${writer} must return a value from g.op(...), got ${JSON.stringify(value)}`);
    if (!g.nodes.some((n) => n.output?.includes(value.name))) {
      throw new OnnxExportError(`exportOnnx: ${fn.name}.${writer} returned one of its inputs; it must return the output of a node it added with g.op(...)`);
    }
    return value;
  });
}

/** A function call node passes its inputs in order, one to one onto the function's, and has its outputs. */
function checkCustomNodes(fn: CustomFunction<Arg[], Outputs>, nodes: OnnxTypes.INodeProto[], arity: number, outputCount: number): void {
  for (const node of nodes) {
    if (node.domain !== CUSTOM_DOMAIN) continue;
    if (node.opType !== fn.name) {
      throw new OnnxExportError(`exportOnnx: ${fn.name}.symbolic adds a ${CUSTOM_DOMAIN}.${node.opType} node; customOps "function" can define only the op's own node, ${fn.name}`);
    }
    if ((node.input ?? []).length !== arity) {
      throw new OnnxExportError(`exportOnnx: ${fn.name}.symbolic gives its ${node.opType} node ${(node.input ?? []).length} inputs, but the op takes ${arity} tensors; customOps "function" maps them one to one onto the function's inputs`);
    }
    if ((node.output ?? []).length !== outputCount) {
      throw new OnnxExportError(`exportOnnx: ${fn.name}.symbolic gives its ${node.opType} node ${(node.output ?? []).length} outputs, but forward returns ${outputCount}; use g.multiOp("${fn.name}", ${outputCount}, ...)`);
    }
  }
}

function renameValue(nodes: OnnxTypes.INodeProto[], from: string, to: string): void {
  for (const node of nodes) {
    node.input = (node.input ?? []).map((n) => (n === from ? to : n));
    node.output = (node.output ?? []).map((n) => (n === from ? to : n));
  }
}
