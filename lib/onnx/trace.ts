/**
 * Tracing a forward for export, as torch.onnx traces a module: run it once on an example input
 * with the apply tracer installed, and keep the sequence of custom-op calls, each input and
 * output known by its tensor's id. Tensors are compared by id, not value, so a parameter is
 * recognised because its tf.Variable is passed straight to an op.
 *
 * Only defineFunction ops report themselves; plain tfjs ops (tf.relu, tf.add, …) leave no
 * trace. The exporter finds them by what is missing: an op input, or the output, that no
 * recorded call produced and that is neither a graph input nor a parameter.
 */
import * as tf from "@tensorflow/tfjs";
import { setApplyTracer, type Arg, type CustomFunction, type Outputs } from "../function";
import type { Module } from "../nn/module";
import { OnnxExportError } from "./errors";

export interface TracedCall {
  fn: CustomFunction<Arg[], Outputs>;
  inputIds: number[];
  inputShapes: number[][];
  outputId: number;
  outputShape: number[];
}

export interface Trace {
  calls: TracedCall[];
  outputId: number;
  outputShape: number[];
  outputDtype: tf.DataType;
}

export function traceForward(model: Module, examples: readonly tf.Tensor[]): Trace {
  const calls: TracedCall[] = [];
  const previous = setApplyTracer((fn, inputs, output) => {
    calls.push({ fn, inputIds: inputs.map((t) => t.id), inputShapes: inputs.map((t) => [...t.shape]), outputId: output.id, outputShape: [...output.shape] });
  });
  let output: unknown;
  try {
    output = tf.tidy(() => model.forward(...examples));
  } finally {
    setApplyTracer(previous);
  }
  if (!(output instanceof tf.Tensor)) {
    throw new OnnxExportError(`${model.constructor.name}.forward returned ${typeof output}; gradlab exports a forward that returns one tf.Tensor`);
  }
  const trace = { calls, outputId: output.id, outputShape: [...output.shape], outputDtype: output.dtype };
  // A forward that hands back its input or a parameter unchanged must not lose it here.
  if (!(output instanceof tf.Variable) && !examples.includes(output)) output.dispose();
  return trace;
}
