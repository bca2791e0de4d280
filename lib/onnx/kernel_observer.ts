/**
 * Watching the tfjs engine run kernels, which is how the exporter sees a forward's plain tfjs ops
 * (tf.relu, tf.matMul, tf.conv2d, …): every op reaches the engine through runKernelFunc, a
 * registered kernel with its name, inputs and attributes, or a customGrad's forward (no name),
 * inside which the kernels it runs are nested. torch.onnx.export traces at the same level, ATen's.
 *
 * This uses tfjs-core internals, not its public API: the Engine instance's `runKernelFunc` method
 * (engine.ts, tfjs 4.x), which `runKernel` and `customGrad` both call as `this.runKernelFunc`, so
 * replacing it on the instance sees every call. A tfjs upgrade that renames or removes it fails
 * here with a clear error rather than exporting a model with missing ops.
 */
import * as tf from "@tensorflow/tfjs";
import { OnnxExportError } from "./errors";

/** One runKernelFunc call: a registered kernel, or (kernel null) a customGrad's forward. */
export interface KernelCall {
  /** The tfjs kernel name ("Relu", "Conv2D", …), or null for a customGrad op. */
  kernel: string | null;
  /** The kernel's named inputs in tfjs's order (an array kernel such as Concat: "0", "1", …). */
  inputs: [string, tf.Tensor][];
  attrs: Record<string, unknown>;
  outputs: tf.Tensor[];
  /** Calls made while this one ran (a customGrad's forward, or a kernel calling kernels). */
  children: KernelCall[];
  /** Whatever the observer's `context()` said when the call began (the module path). */
  context: string;
}

interface KernelParams {
  kernelName?: string;
  inputs?: Record<string, tf.Tensor | null | undefined> | (tf.Tensor | null | undefined)[];
  attrs?: Record<string, unknown>;
}

type RunKernelFunc = (this: unknown, params: KernelParams) => tf.Tensor | tf.Tensor[];

export interface KernelObserver {
  /** Called before the kernel runs, with its inputs (to keep the constants among them alive). */
  onInputs(inputs: readonly tf.Tensor[]): void;
  /** Called after it ran, with what it returned. */
  onOutputs(outputs: readonly tf.Tensor[]): void;
  /** The current context (module path) to record with each call. */
  context(): string;
}

/**
 * Runs `body` with every runKernelFunc call recorded as a tree (the top-level calls returned,
 * nested calls as their children), then puts the engine back as it was, even if `body` throws.
 */
export function recordKernelCalls<T>(observer: KernelObserver, body: () => T): { result: T; calls: KernelCall[] } {
  const engine = tf.engine() as unknown as { runKernelFunc?: RunKernelFunc };
  const original = engine.runKernelFunc;
  if (typeof original !== "function" || Object.prototype.hasOwnProperty.call(engine, "runKernelFunc")) {
    throw new OnnxExportError(
      "exportOnnx: this version of tfjs has no Engine.runKernelFunc method (or another tool has replaced it), " +
        `which gradlab's exporter watches to trace a forward's tfjs ops; it was written for tfjs 4.x (this is ${tf.version.tfjs})`,
    );
  }
  const top: KernelCall[] = [];
  let siblings = top;
  engine.runKernelFunc = function (this: unknown, params: KernelParams) {
    const inputs = Object.entries(params.inputs ?? {}).filter((entry): entry is [string, tf.Tensor] => entry[1] instanceof tf.Tensor);
    observer.onInputs(inputs.map(([, t]) => t));
    const call: KernelCall = { kernel: params.kernelName ?? null, inputs, attrs: { ...(params.attrs ?? {}) }, outputs: [], children: [], context: observer.context() };
    const parent = siblings;
    parent.push(call);
    siblings = call.children;
    try {
      const out = original.call(this, params);
      call.outputs = Array.isArray(out) ? out : [out];
      observer.onOutputs(call.outputs);
      return out;
    } finally {
      siblings = parent;
    }
  };
  try {
    return { result: body(), calls: top };
  } finally {
    delete (engine as { runKernelFunc?: RunKernelFunc }).runKernelFunc;
  }
}
