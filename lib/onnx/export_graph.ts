/**
 * From a trace to ONNX nodes: each recorded custom-op call is written by its `symbolic` (the
 * custom node) or its `lower` (standard ops), depending on the mode, and in "function" mode each
 * custom op's `lower` also becomes the body of a model-local function of the same domain and name
 * as its node, which is what lets the ONNX checker and any runtime understand the custom node.
 */
import type * as tf from "@tensorflow/tfjs";
import type { Arg, CustomFunction, Outputs } from "../function";
import { OnnxExportError } from "./errors";
import type { CustomOpsMode } from "./export_options";
import { GraphBuilder, NameTable } from "./graph_builder";
import { CUSTOM_DOMAIN, onnx, type OnnxTypes } from "./proto";
import type { SymbolicGraph, SymbolicValue } from "./symbolic";
import type { Trace } from "./trace";

export interface ExportedGraph {
  nodes: OnnxTypes.INodeProto[];
  functions: OnnxTypes.IFunctionProto[];
  /** Ids of the parameters the graph reads, so unused ones are left out. */
  usedParameterIds: Set<number>;
}

export interface GraphSources {
  /** Tensor id → graph input name. */
  inputs: Map<number, string>;
  /** Tensor id (of the parameter's tf.Variable) → initializer name. */
  parameters: Map<number, string>;
}

export function buildGraph(trace: Trace, sources: GraphSources, outputName: string, mode: CustomOpsMode, opset: number, names: NameTable): ExportedGraph {
  const values = new Map<number, string>([...sources.inputs, ...sources.parameters]);
  const usedParameterIds = new Set<number>();
  const produced = new Set<number>();
  const nodes: OnnxTypes.INodeProto[] = [];
  const functions = new Map<string, OnnxTypes.IFunctionProto>();

  trace.calls.forEach((call, index) => {
    const { fn } = call;
    const where = `${fn.name} (call ${index + 1} of ${trace.calls.length})`;
    const inputs = call.inputIds.map((id, i) => {
      const name = values.get(id);
      if (name === undefined) {
        throw new OnnxExportError(
          `exportOnnx: ${fn.inputName(i)} of ${where} was computed by tfjs ops outside any defineFunction op, or is a constant; ` +
            `gradlab can trace only forwards built from defineFunction ops (with their parameters and the inputs): wrap that computation in an op of its own`,
        );
      }
      if (sources.parameters.has(id)) usedParameterIds.add(id);
      return name;
    });
    const writer = mode === "standard" ? "lower" : "symbolic";
    const g = new GraphBuilder(names, { context: `${fn.name}.${writer}`, customOpName: mode === "standard" ? null : fn.name, allowOtherDomains: mode !== "standard" });
    const out = emit(fn, writer, g, inputs.map((n) => g.value(n)));
    // A symbolic written in standard ops alone needs no function to explain it.
    if (mode === "function" && g.nodes.some((n) => n.domain === CUSTOM_DOMAIN)) {
      checkCustomNodes(fn, g.nodes, inputs.length);
      if (!functions.has(fn.name)) functions.set(fn.name, functionProto(fn, opset, inputs.length));
    }
    nodes.push(...g.nodes);
    values.set(call.outputId, out.name);
    produced.add(call.outputId);
  });

  if (!produced.has(trace.outputId)) {
    const why = values.has(trace.outputId)
      ? "is one of its inputs or parameters, unchanged"
      : trace.calls.length === 0
        ? "was computed without any defineFunction op (gradlab traces only those: LinearF and ops made with defineFunction)"
        : "was computed by tfjs ops after the last defineFunction op (gradlab traces only those: wrap that computation in an op of its own)";
    throw new OnnxExportError(`exportOnnx: the forward's output ${why}; there is no op to export`);
  }
  renameValue(nodes, values.get(trace.outputId)!, outputName);
  return { nodes, functions: [...functions.values()], usedParameterIds };
}

/** Runs the op's symbolic (default: its bare custom node) or lower, and checks what it returns. */
function emit(fn: CustomFunction<Arg[], Outputs>, writer: "symbolic" | "lower", g: GraphBuilder, inputs: SymbolicValue[]): SymbolicValue {
  const { definition } = fn;
  type Writer = (g: SymbolicGraph, ...inputs: SymbolicValue[]) => SymbolicValue | SymbolicValue[];
  let write: Writer | undefined;
  if (writer === "symbolic") write = (definition.symbolic?.bind(definition) as Writer | undefined) ?? ((g, ...xs) => g.op(fn.name, ...xs));
  else write = definition.lower?.bind(definition) as Writer | undefined;
  if (write === undefined) {
    throw new OnnxExportError(
      `exportOnnx: ${fn.name} has no \`lower\` (its form in standard ONNX ops), which customOps "function" and "standard" need; ` +
        `add lower(g, ...inputs) to its definition, or export with customOps "opaque" for a runtime that has a ${fn.name} kernel`,
    );
  }
  let out: unknown;
  try {
    out = write(g, ...inputs);
  } catch (error) {
    if (error instanceof OnnxExportError) throw error;
    throw new OnnxExportError(`exportOnnx: ${fn.name}.${writer} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!g.knows(out)) throw new OnnxExportError(`exportOnnx: ${fn.name}.${writer} must return a value from g.op(...), got ${JSON.stringify(out)}`);
  const value: SymbolicValue = out;
  if (!g.nodes.some((n) => n.output?.includes(value.name))) {
    throw new OnnxExportError(`exportOnnx: ${fn.name}.${writer} returned one of its inputs; it must return the output of a node it added with g.op(...)`);
  }
  return value;
}

/** A function call node passes its inputs in order and carries no attributes (they would need function attribute parameters). */
function checkCustomNodes(fn: CustomFunction<Arg[], Outputs>, nodes: OnnxTypes.INodeProto[], arity: number): void {
  for (const node of nodes) {
    if (node.domain !== CUSTOM_DOMAIN) continue;
    if (node.opType !== fn.name) {
      throw new OnnxExportError(`exportOnnx: ${fn.name}.symbolic adds a ${CUSTOM_DOMAIN}.${node.opType} node; customOps "function" can define only the op's own node, ${fn.name}`);
    }
    if ((node.attribute ?? []).length > 0) {
      throw new OnnxExportError(`exportOnnx: ${fn.name}.symbolic gives its ${node.opType} node attributes; customOps "function" cannot pass them to the function body (use "standard" or "opaque")`);
    }
    if ((node.input ?? []).length !== arity) {
      throw new OnnxExportError(`exportOnnx: ${fn.name}.symbolic gives its ${node.opType} node ${(node.input ?? []).length} inputs, but the op takes ${arity}; customOps "function" maps them one to one onto the function's inputs`);
    }
  }
}

/** The op's lower, as a model-local function: formal inputs named after the op's inputNames. */
function functionProto(fn: CustomFunction<Arg[], Outputs>, opset: number, arity: number): OnnxTypes.IFunctionProto {
  // A function's names are its own (ONNX functions are closed), so they need not avoid the graph's.
  const local = new NameTable();
  const formal = Array.from({ length: arity }, (_, i) => local.fresh(fn.definition.inputNames?.[i] ?? `input${i}`));
  const g = new GraphBuilder(local, { context: `${fn.name}.lower (function body)`, customOpName: null, allowOtherDomains: false });
  const out = emit(fn, "lower", g, formal.map((n) => g.value(n)));
  const output = local.fresh("output");
  renameValue(g.nodes, out.name, output);
  return onnx.FunctionProto.create({
    name: fn.name,
    domain: CUSTOM_DOMAIN,
    input: formal,
    output: [output],
    node: g.nodes,
    opsetImport: [{ domain: "", version: opset }],
    docString: `${fn.name} in standard ONNX ops (gradlab's lower).`,
  });
}

function renameValue(nodes: OnnxTypes.INodeProto[], from: string, to: string): void {
  for (const node of nodes) {
    node.input = (node.input ?? []).map((n) => (n === from ? to : n));
    node.output = (node.output ?? []).map((n) => (n === from ? to : n));
  }
}
