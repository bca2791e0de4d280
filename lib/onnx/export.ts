/**
 * exportOnnx: a gradlab model as an ONNX file, the way torch.onnx.export writes a traced module:
 * the forward is traced at the level of tfjs kernels (trace.ts) and each kernel written as
 * standard ONNX (kernel_writers.ts), except that a custom op need not leave the file unreadable.
 * By default (customOps "function") the custom node is defined inside the model, as a model-local
 * function in standard ops, so the ONNX checker passes and ONNX Runtime runs it; PyTorch's
 * g.op("MYLINEAR", …) gives a model that both reject.
 *
 * The model is built completely in memory and encoded before the file is touched, and the file
 * is written atomically, so a failure at any point leaves no partial .onnx and an existing file
 * as it was.
 */
import * as tf from "@tensorflow/tfjs";
import { writeFileAtomic } from "../io/atomic_write";
import type { Module } from "../nn/module";
import { OnnxExportError } from "./errors";
import { resolveExportOptions, type ExportOptions, type ResolvedExportOptions } from "./export_options";
import { constantProto, elementTypeOf } from "./export_constants";
import { buildGraph } from "./export_graph";
import { adaptForFloat64Runtime, adaptFunctionForFloat64Runtime } from "./float64_runtime";
import { NameTable } from "./graph_builder";
import { CUSTOM_DOMAIN, CUSTOM_DOMAIN_VERSION, IR_VERSION, onnx, PRODUCER_NAME, PRODUCER_VERSION, type OnnxTypes } from "./proto";
import { tensorProto } from "./tensor_data";
import { traceForward, type Trace } from "./trace";
import { checkTrainingMode, withTrainingMode } from "./training_mode";
import { grownExamples, markDynamicSizes, markInputAxes } from "./trace_sizes";
import { formatShape } from "../shape";

/**
 * Encodes `model` as ONNX and returns the bytes; with a path, also writes them there (atomically).
 * Async because the weights are read from the device with data(): WebGPU has no synchronous read.
 */
export async function exportOnnx(model: Module, path?: string, options: ExportOptions = {}): Promise<Uint8Array> {
  const bytes = onnx.ModelProto.encode(await buildModelProto(model, options)).finish();
  const copy = new Uint8Array(bytes); // protobufjs may hand back a view into a pooled Buffer
  if (path !== undefined) writeFileAtomic(path, copy);
  return copy;
}

/** The ModelProto exportOnnx encodes (for callers who want to inspect it before writing). */
export async function buildModelProto(model: Module, options: ExportOptions = {}): Promise<OnnxTypes.IModelProto> {
  const training = checkTrainingMode(options.training);
  const { examples, owned } = exampleInputs(model, options.example);
  try {
    // Both traces (the second for dynamic axes) run in the export's training mode.
    const { trace, built } = withTrainingMode(model, training, () => {
      const trace = traceForward(model, examples);
      try {
        return { trace, built: build(model, examples, trace, options) };
      } catch (error) {
        trace.release();
        throw error;
      }
    });
    try {
      const { resolved, graph, inputs, output, parameters } = built;
      const initializer = await Promise.all([
        ...parameters.map(async ([name, p]) => tensorProto(name, (await p.value.data()) as Float32Array, p.shape, resolved.dtype)),
        ...graph.constants.map(([name, t]) => constantProto(name, t, resolved.dtype)),
      ]);
      const usesCustomDomain = graph.nodes.some((n) => n.domain === CUSTOM_DOMAIN);
      return onnx.ModelProto.create({
        irVersion: IR_VERSION,
        producerName: PRODUCER_NAME,
        producerVersion: PRODUCER_VERSION,
        docString: `${model.constructor.name} exported by gradlab (customOps "${resolved.customOps}")`,
        opsetImport: [{ domain: "", version: resolved.opset }, ...(usesCustomDomain ? [{ domain: CUSTOM_DOMAIN, version: CUSTOM_DOMAIN_VERSION }] : [])],
        graph: { name: model.constructor.name, node: graph.nodes, initializer, input: inputs, output: [output] },
        functions: graph.functions,
      });
    } finally {
      trace.release();
    }
  } finally {
    tf.dispose(owned);
  }
}

/** Everything but the weights' values: options, dynamic sizes, nodes and functions, input and output types. */
function build(model: Module, examples: tf.Tensor[], trace: Trace, options: ExportOptions) {
  const resolved = resolveExportOptions(options, examples.map((t) => t.rank), trace.output.shape.length);
  const inputAxes = resolved.inputNames.map((name) => new Set(resolved.dynamicAxes.get(name)?.keys() ?? []));
  // Why the sizes that follow the dynamic axes are unknown, when they are (see below).
  let sizesUnknown: string | null = null;
  if (inputAxes.some((axes) => axes.size > 0)) {
    // Traced again with the dynamic axes one larger, to see which sizes follow them (trace_sizes.ts).
    const grown = grownExamples(examples, inputAxes);
    const inputs = new Map(examples.map((t, i) => [t.id, inputAxes[i]!]));
    try {
      let other: Trace | null = null;
      try {
        other = traceForward(model, grown);
      } catch (error) {
        // A forward that accepts only the example's sizes (an imported file that fixes its batch)
        // can still be exported with dynamic axes when no kernel carries a size: those that do
        // then fail, saying why (KernelContext.attrAtOtherSize).
        sizesUnknown = `${grown.map((t) => formatShape(t.shape)).join(", ")}: ${error instanceof Error ? error.message : String(error)}`;
      }
      other?.release();
      if (other !== null) markDynamicSizes(trace, other, inputs);
      else markInputAxes(trace, inputs);
    } finally {
      tf.dispose(grown);
    }
  }

  const names = new NameTable();
  const parameters = new Map<number, string>();
  const named = model.namedParameters();
  for (const [name, p] of named) {
    if (!parameters.has(p.value.id)) parameters.set(p.value.id, name);
    names.reserve(name);
  }
  for (const name of [...resolved.inputNames, resolved.outputName]) {
    if (names.has(name)) throw new OnnxExportError(`exportOnnx: the input/output name "${name}" is also a parameter's name; choose another with inputNames/outputNames`);
    names.reserve(name);
  }
  const inputs = new Map(examples.map((t, i) => [t.id, resolved.inputNames[i]!] as const));
  const dynamicSizes = examples.flatMap((t, i) => [...inputAxes[i]!].map((axis) => ({ input: resolved.inputNames[i]!, axis, size: t.shape[axis]! })));
  const settings = { outputName: resolved.outputName, mode: resolved.customOps, opset: resolved.opset, dtype: resolved.dtype, dynamicSizes, sizesUnknown };
  const graph = buildGraph(trace, { inputs, parameters }, settings, names);
  if (resolved.dtype === "float64") {
    graph.nodes = adaptForFloat64Runtime(graph.nodes, names, "exportOnnx (float64)");
    graph.functions.forEach(adaptFunctionForFloat64Runtime);
  }
  return {
    resolved,
    graph,
    inputs: examples.map((t, i) => valueInfo(resolved.inputNames[i]!, t.shape, t.dtype, resolved)),
    output: valueInfo(resolved.outputName, trace.output.shape, trace.output.dtype, resolved),
    // Each parameter the graph reads, once, under its first name.
    parameters: named.filter(([name, p]) => graph.usedParameterIds.has(p.value.id) && parameters.get(p.value.id) === name),
  };
}

/** The example to trace with: the caller's, or zeros [1, inFeatures] for a model that says its width. */
function exampleInputs(model: Module, example: ExportOptions["example"]): { examples: tf.Tensor[]; owned: tf.Tensor[] } {
  if (example !== undefined) {
    const examples = example instanceof tf.Tensor ? [example] : Array.isArray(example) ? [...example] : [];
    if (examples.length === 0 || examples.some((t) => !(t instanceof tf.Tensor))) {
      throw new OnnxExportError("exportOnnx: options.example must be a tf.Tensor or a non-empty array of them (one per forward argument)");
    }
    // The trace knows tensors by id: one tensor given twice could not be told apart.
    if (new Set(examples.map((t) => t.id)).size !== examples.length) throw new OnnxExportError("exportOnnx: options.example holds the same tensor twice; pass distinct tensors");
    return { examples, owned: [] };
  }
  const inFeatures = (model as unknown as { inFeatures?: unknown }).inFeatures;
  if (typeof inFeatures !== "number" || !Number.isInteger(inFeatures) || inFeatures < 1) {
    throw new OnnxExportError(`exportOnnx: ${model.constructor.name} has no inFeatures to build an example input from; pass options.example (a tf.Tensor of the input's shape)`);
  }
  const zeros = tf.zeros([1, inFeatures]);
  return { examples: [zeros], owned: [zeros] };
}

/** Type and full shape of a graph input or output; its dynamic axes get their names instead of sizes. */
function valueInfo(name: string, shape: readonly number[], dtype: tf.DataType, options: ResolvedExportOptions): OnnxTypes.IValueInfoProto {
  const dynamic = options.dynamicAxes.get(name);
  return {
    name,
    type: {
      tensorType: {
        elemType: elementTypeOf(dtype, options.dtype, `"${name}"`),
        shape: { dim: shape.map((d, axis) => (dynamic?.has(axis) ? { dimParam: dynamic.get(axis)! } : { dimValue: d })) },
      },
    },
  };
}
