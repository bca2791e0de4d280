/**
 * Tracing a forward for export, as torch.onnx traces a module: run it once on an example input and
 * keep the sequence of what ran, at the level of tfjs kernels (kernel_observer.ts). Each top-level
 * kernel call becomes a kernel step; a defineFunction op becomes one function step (its symbolic
 * node), and the kernels it runs inside are hidden; a customGrad op that is no defineFunction op
 * (tf.logSoftmax is one) is looked into, and its kernels are the steps.
 *
 * Values are known by tensor id: the example inputs, the parameters (their tf.Variables are passed
 * straight to kernels), each step's outputs, and constants: any other tensor a step reads (the 2
 * in tf.mul(x, 2), a mask built in forward). Constants made during the trace are kept alive until
 * release(), so their values can be read asynchronously (WebGPU has no synchronous read).
 */
import * as tf from "@tensorflow/tfjs";
import { setApplyTracer, type AppliedCall, type Arg, type Attribute, type CustomFunction, type Outputs } from "../function";
import type { Module } from "../nn/module";
import { OnnxExportError } from "./errors";
import { recordKernelCalls, type KernelCall } from "./kernel_observer";
import { trackModulePaths } from "./module_paths";

export interface TracedValue {
  id: number;
  shape: number[];
  dtype: tf.DataType;
  /** The shape with null on the axes that follow a dynamic axis of an input (see trace_sizes.ts). */
  dims: (number | null)[];
  /** The shape in the second trace, with the dynamic axes one larger (the shape itself without dynamic axes). */
  shapeAtOtherSize: number[];
}

export interface KernelStep {
  kind: "kernel";
  /** The tfjs kernel name, e.g. "Relu", "BatchMatMul". */
  kernel: string;
  /** Named as tfjs names them ("x", "a", "filter"; "0", "1", … for Concat). */
  inputs: [string, TracedValue][];
  attrs: Record<string, unknown>;
  /** The same kernel's attributes when the dynamic axes were one larger, or null without dynamic axes. */
  attrsAtOtherSize: Record<string, unknown> | null;
  outputs: TracedValue[];
  /** The module whose forward called it, for messages. */
  module: string;
}

export interface FunctionStep {
  kind: "function";
  fn: CustomFunction<Arg[], Outputs>;
  /** apply()'s arguments in order: tensors traced, non-tensor values (ONNX attributes) as given. */
  args: (TracedValue | Attribute)[];
  /** The tensor arguments alone, in order: the custom node's inputs. */
  inputs: TracedValue[];
  outputs: TracedValue[];
  module: string;
}

type FunctionCall = { fn: CustomFunction<Arg[], Outputs>; call: AppliedCall };

export type TraceStep = KernelStep | FunctionStep;

export interface Trace {
  steps: TraceStep[];
  output: TracedValue;
  /** Tensors read by steps that are neither inputs, parameters nor step outputs; by id. */
  constants: Map<number, tf.Tensor>;
  /** Frees the constants the trace kept alive (those made during the forward). */
  release(): void;
}

export function traceForward(model: Module, examples: readonly tf.Tensor[]): Trace {
  const exampleIds = new Set(examples.map((t) => t.id));
  const produced = new Set<number>();
  const constants = new Map<number, tf.Tensor>();
  const owned: tf.Tensor[] = [];
  // Tensor ids only grow: one above this was made during the trace (ours to free), one below was not.
  const firstId = nextTensorId();
  const functionCalls = new Map<number, FunctionCall>();
  const paths = trackModulePaths(model);
  const previous = setApplyTracer((fn, _inputs, output, call) => {
    functionCalls.set(output.id, { fn, call });
  });
  let recorded: { result: unknown; calls: KernelCall[] };
  try {
    recorded = recordKernelCalls(
      {
        context: paths.current,
        onOutputs: (outputs) => outputs.forEach((t) => produced.add(t.id)),
        onInputs: (inputs) => {
          for (const t of inputs) {
            // Parameters are looked up before constants; a variable that is no parameter is exported at its current value.
            if (produced.has(t.id) || exampleIds.has(t.id) || constants.has(t.id)) continue;
            constants.set(t.id, t);
            if (t.id >= firstId && !(t instanceof tf.Variable)) owned.push(tf.keep(t));
          }
        },
      },
      () => tf.tidy(() => model.forward(...examples)),
    );
  } catch (error) {
    tf.dispose(owned);
    throw error;
  } finally {
    setApplyTracer(previous);
    paths.restore();
  }
  const output = recorded.result;
  const release = () => tf.dispose(owned);
  if (!(output instanceof tf.Tensor)) {
    release();
    throw new OnnxExportError(`exportOnnx: ${model.constructor.name}.forward returned ${typeof output}; gradlab exports a forward that returns one tf.Tensor`);
  }
  // An output no kernel made (a tensor built in forward and returned as is) is a constant too.
  if (!produced.has(output.id) && !exampleIds.has(output.id) && !constants.has(output.id)) {
    constants.set(output.id, output);
    if (output.id >= firstId && !(output instanceof tf.Variable)) owned.push(tf.keep(output));
  }
  const steps: TraceStep[] = [];
  flatten(recorded.calls, functionCalls, steps);
  const trace: Trace = { steps, output: traced(output), constants, release };
  // A forward that hands back its input or a parameter unchanged must not lose it here.
  if (!(output instanceof tf.Variable) && !exampleIds.has(output.id) && !constants.has(output.id)) output.dispose();
  return trace;
}

/** Top-level calls to steps: a defineFunction op is one step, a kernel is one, a customGrad op is looked into. */
function flatten(calls: readonly KernelCall[], functionCalls: Map<number, FunctionCall>, steps: TraceStep[]): void {
  for (const call of calls) {
    const fnCall = call.outputs.length > 0 ? functionCalls.get(call.outputs[0]!.id) : undefined;
    if (fnCall !== undefined) {
      const args = fnCall.call.args.map((a) => (a instanceof tf.Tensor ? traced(a) : a));
      const inputs = args.filter((a): a is TracedValue => isTraced(a));
      steps.push({ kind: "function", fn: fnCall.fn, args, inputs, outputs: fnCall.call.outputs.map(traced), module: call.context });
    } else if (call.kernel !== null) {
      steps.push({
        kind: "kernel",
        kernel: call.kernel,
        inputs: call.inputs.map(([name, t]) => [name, traced(t)]),
        attrs: call.attrs,
        attrsAtOtherSize: null,
        outputs: call.outputs.map(traced),
        module: call.context,
      });
    } else {
      flatten(call.children, functionCalls, steps);
    }
  }
}

/**
 * The id the next tensor will get. Engine.nextTensorId is tfjs-core internal (engine.ts, 4.x): it
 * hands out ids and advances the counter, so the id taken here is simply skipped.
 */
function nextTensorId(): number {
  const engine = tf.engine() as unknown as { nextTensorId?: () => number };
  if (typeof engine.nextTensorId !== "function") {
    throw new OnnxExportError(`exportOnnx: this version of tfjs (${tf.version.tfjs}) has no Engine.nextTensorId, which gradlab's tracer uses to tell the tensors a forward makes from older ones; it was written for tfjs 4.x`);
  }
  return engine.nextTensorId() + 1;
}

export function isTraced(a: TracedValue | Attribute): a is TracedValue {
  return typeof a === "object" && !Array.isArray(a);
}

function traced(t: tf.Tensor): TracedValue {
  return { id: t.id, shape: [...t.shape], dtype: t.dtype, dims: [...t.shape], shapeAtOtherSize: [...t.shape] };
}
