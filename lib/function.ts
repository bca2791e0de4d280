/**
 * Custom differentiable ops with a hand-written backward, in the shape of torch.autograd.Function:
 * forward(ctx, ...inputs) saves what backward needs, backward(ctx, dy) returns one gradient per
 * input, and an optional symbolic(g, ...inputs) describes the op to the ONNX exporter.
 *
 * Built on tf.customGrad rather than kernel + gradient registration: a user's forward is a
 * composition of existing tfjs ops, so it already runs on every backend, and customGrad keeps
 * the forward's intermediates out of the tape (only what the user saves is kept). Kernel
 * registration would need a kernel per backend for every user op; gradlab adds such kernels
 * only where speed demands it (the WebGPU linear kernels), behind the same definition.
 */
import * as tf from "@tensorflow/tfjs";
import { formatShape, reductionAxesTo, shapesEqual } from "./shape";
import type { SymbolicGraph, SymbolicValue } from "./onnx/symbolic";

/** What forward and backward share for one call of the op. */
export class FunctionCtx {
  #saved: readonly tf.Tensor[] | null = null;
  #inBackward = false;
  /** Non-tensor values forward wants backward to have (PyTorch's `ctx.foo = …`). */
  readonly attributes = new Map<string, unknown>();

  constructor(readonly opName: string) {}

  /** Keep these tensors for backward (PyTorch's ctx.save_for_backward). */
  saveForBackward(...tensors: tf.Tensor[]): void {
    tensors.forEach((t, i) => {
      if (!(t instanceof tf.Tensor)) {
        throw new TypeError(`${this.opName}.forward: saveForBackward argument ${i} is not a tf.Tensor (got ${describe(t)})`);
      }
    });
    this.#pending = tensors;
  }

  /** The tensors passed to saveForBackward, in order; available in backward only. */
  get saved(): readonly tf.Tensor[] {
    if (!this.#inBackward) {
      throw new Error(`${this.opName}: ctx.saved is available in backward only; call ctx.saveForBackward(...) in forward`);
    }
    return this.#saved ?? [];
  }

  /** @internal what forward asked to save, handed to tfjs's save(). */
  #pending: tf.Tensor[] = [];
  /** @internal */
  takePending(): tf.Tensor[] {
    const pending = this.#pending;
    this.#pending = [];
    return pending;
  }
  /** @internal */
  enterBackward(saved: readonly tf.Tensor[]): void {
    this.#saved = saved;
    this.#inBackward = true;
  }
}

export type Gradient = tf.Tensor | null;

export interface FunctionDefinition<Inputs extends tf.Tensor[]> {
  /** The op's name: used in every error message and as the ONNX op type by default. */
  name: string;
  /** Names of the inputs, for messages and reports (default "input 0", "input 1", …). */
  inputNames?: readonly string[];
  forward(ctx: FunctionCtx, ...inputs: Inputs): tf.Tensor;
  /**
   * dy is the gradient of the loss with respect to forward's output. Return one gradient per
   * input, each of that input's shape; null means "zero" (an input that needs no gradient).
   */
  backward(ctx: FunctionCtx, dy: tf.Tensor): Gradient | readonly Gradient[];
  /** How the op is written into an ONNX graph. */
  symbolic?(g: SymbolicGraph, ...inputs: SymbolicValue[]): SymbolicValue;
  /**
   * The op in standard ONNX ops (e.g. Gemm): the body of the model-local function that ONNX
   * export attaches to the custom node, or the nodes written in its place. Without it the op
   * can only be exported as an opaque custom node, which only a runtime with its kernel can run.
   */
  lower?(g: SymbolicGraph, ...inputs: SymbolicValue[]): SymbolicValue;
  /**
   * A tfjs kernel that computes forward in one dispatch on the backends it is registered for
   * (gradlab registers some for "webgpu"). Where it is registered and `accepts` the inputs, apply()
   * runs the kernel instead of forward, and the gradient registered under its name calls this
   * definition's backward, through the same contract check.
   */
  kernel?: FunctionKernel<Inputs>;
}

export interface FunctionKernel<Inputs extends tf.Tensor[]> {
  /** The tfjs kernel name (registerGradient is keyed by it alone, so it must be the op's own). */
  name: string;
  /** The kernel's input names, in forward's argument order. */
  inputs: readonly string[];
  /** The inputs forward saves for backward, in the order it saves them (ctx.saved). */
  saved: readonly string[];
  /** Whether this call may use the kernel (dtype, rank, matching sizes); else forward runs. */
  accepts(...inputs: Inputs): boolean;
}

export interface CustomFunction<Inputs extends tf.Tensor[]> {
  readonly name: string;
  readonly definition: FunctionDefinition<Inputs>;
  /** Runs forward; under a gradient tape, backward supplies the gradients. */
  apply(...inputs: Inputs): tf.Tensor;
  inputName(index: number): string;
}

/** A backward that broke its contract: wrong count, wrong type or wrong shape of gradients. */
export class BackwardContractError extends Error {
  constructor(
    message: string,
    readonly opName: string,
    /** The offending input's index, or null when the whole result is wrong. */
    readonly inputIndex: number | null,
  ) {
    super(message);
    this.name = "BackwardContractError";
  }
}

/** Something forward or backward threw, re-raised with the op's name and the shapes involved. */
export class FunctionCallError extends Error {
  constructor(message: string, readonly opName: string, override readonly cause: unknown) {
    super(message);
    this.name = "FunctionCallError";
  }
}

/**
 * A hook the ONNX exporter installs while tracing: when set, apply() reports each call so the
 * exporter can map it to the op's symbolic.
 */
export type ApplyTracer = (fn: CustomFunction<tf.Tensor[]>, inputs: readonly tf.Tensor[], output: tf.Tensor) => void;
let tracer: ApplyTracer | null = null;
export function setApplyTracer(next: ApplyTracer | null): ApplyTracer | null {
  const previous = tracer;
  tracer = next;
  return previous;
}

export function defineFunction<Inputs extends tf.Tensor[]>(definition: FunctionDefinition<Inputs>): CustomFunction<Inputs> {
  const { name } = definition;
  if (typeof name !== "string" || name.length === 0) throw new TypeError("defineFunction: `name` must be a non-empty string");
  if (typeof definition.forward !== "function") throw new TypeError(`defineFunction(${name}): \`forward\` must be a function`);
  if (typeof definition.backward !== "function") throw new TypeError(`defineFunction(${name}): \`backward\` must be a function`);

  const inputName = (i: number) => {
    const label = definition.inputNames?.[i];
    return label === undefined ? `input ${i}` : `input ${i} (${label})`;
  };

  // One tfjs customGrad op per definition, made here rather than per call: apply() runs once per
  // layer per training step, and a fresh customGrad closure (plus its engine wrapper) each time
  // is pure overhead. The per-call state (ctx, input shapes) lives inside the op's body.
  const op = tf.customGrad((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const xs = args as Inputs;
    const ctx = new FunctionCtx(name);
    const n = xs.length;
    const shapes: number[][] = new Array(n);
    const dtypes: tf.DataType[] = new Array(n);
    for (let i = 0; i < n; i++) {
      shapes[i] = xs[i]!.shape;
      dtypes[i] = xs[i]!.dtype;
    }
    const value = callForward(definition, ctx, xs, inputName);
    save(ctx.takePending());
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        ctx.enterBackward(saved);
        try {
          const raw = callBackward(definition, ctx, dy, shapes, inputName);
          return checkGradients(name, raw, shapes, dtypes, inputName);
        } catch (error) {
          // tfjs frees saved tensors only after a successful backward pass.
          tf.dispose(saved);
          throw error;
        }
      },
    };
  }) as (...inputs: tf.Tensor[]) => tf.Tensor;

  const kernel = definition.kernel;
  const runKernel = kernel ? registerKernelGradient(definition, kernel, inputName) : () => null as never;

  const fn: CustomFunction<Inputs> = {
    name,
    definition,
    inputName,
    apply(...inputs: Inputs): tf.Tensor {
      for (let i = 0; i < inputs.length; i++) {
        const x = inputs[i];
        if (!(x instanceof tf.Tensor)) {
          throw new TypeError(`${name}.apply: ${inputName(i)} is ${describe(x)}, expected a tf.Tensor`);
        }
      }
      const output = kernel && tf.getKernel(kernel.name, tf.getBackend()) && kernel.accepts(...inputs) ? runKernel(inputs) : op(...inputs);
      tracer?.(fn as unknown as CustomFunction<tf.Tensor[]>, inputs, output);
      return output;
    },
  };
  return fn;
}

/**
 * Register the gradient of `kernel` (once per definition): the tape saves every input, hands
 * backward the ones forward would have saved, and checks what it returns as customGrad's path does.
 * Returns the call that runs the kernel.
 */
function registerKernelGradient<Inputs extends tf.Tensor[]>(
  definition: FunctionDefinition<Inputs>,
  kernel: FunctionKernel<Inputs>,
  inputName: (i: number) => string,
): (inputs: Inputs) => tf.Tensor {
  const { name } = definition;
  const savedIndex = kernel.saved.map((s) => {
    const i = kernel.inputs.indexOf(s);
    if (i < 0) throw new TypeError(`defineFunction(${name}): kernel.saved names ${JSON.stringify(s)}, which is not among kernel.inputs ${JSON.stringify(kernel.inputs)}`);
    return i;
  });
  tf.registerGradient({
    kernelName: kernel.name,
    inputsToSave: [...kernel.inputs],
    gradFunc: (dy, all) => {
      const ctx = new FunctionCtx(name);
      ctx.enterBackward(savedIndex.map((i) => all[i]!));
      const shapes = all.map((t) => t.shape);
      const raw = callBackward(definition, ctx, dy as tf.Tensor, shapes, inputName);
      const grads = checkGradients(name, raw, shapes, all.map((t) => t.dtype), inputName);
      return Object.fromEntries(kernel.inputs.map((input, i) => [input, () => grads[i]!]));
    },
  });
  return (inputs) => {
    const named: tf.NamedTensorMap = {};
    kernel.inputs.forEach((input, i) => (named[input] = inputs[i]!));
    // The engine records the call on the tape under the kernel's name, and saves every input.
    return tf.engine().runKernel(kernel.name, named as unknown as tf.NamedTensorMap) as tf.Tensor;
  };
}

function callForward<Inputs extends tf.Tensor[]>(
  definition: FunctionDefinition<Inputs>,
  ctx: FunctionCtx,
  inputs: Inputs,
  inputName: (i: number) => string,
): tf.Tensor {
  let value: unknown;
  try {
    value = definition.forward(ctx, ...inputs);
  } catch (error) {
    const shapes = inputs.map((x, i) => `${inputName(i)} ${formatShape(x.shape)}`).join(", ");
    throw new FunctionCallError(`${definition.name}.forward failed for ${shapes}: ${messageOf(error)}`, definition.name, error);
  }
  if (!(value instanceof tf.Tensor)) {
    throw new TypeError(`${definition.name}.forward must return a tf.Tensor, got ${describe(value)}`);
  }
  return value;
}

function callBackward<Inputs extends tf.Tensor[]>(
  definition: FunctionDefinition<Inputs>,
  ctx: FunctionCtx,
  dy: tf.Tensor,
  shapes: readonly number[][],
  inputName: (i: number) => string,
): unknown {
  try {
    return definition.backward(ctx, dy);
  } catch (error) {
    if (error instanceof BackwardContractError) throw error;
    const context = shapes.map((s, i) => `${inputName(i)} ${formatShape(s)}`).join(", ");
    throw new FunctionCallError(
      `${definition.name}.backward failed (dy ${formatShape(dy.shape)}; ${context}): ${messageOf(error)}`,
      definition.name,
      error,
    );
  }
}

/** Enforce the backward contract at the boundary, naming the op, the input and both shapes. */
function checkGradients(
  opName: string,
  raw: unknown,
  shapes: readonly number[][],
  dtypes: readonly tf.DataType[],
  inputName: (i: number) => string,
): tf.Tensor[] {
  const grads = Array.isArray(raw) ? (raw as unknown[]) : [raw];
  if (grads.length !== shapes.length) {
    throw new BackwardContractError(
      `${opName}.backward returned ${grads.length} gradient${grads.length === 1 ? "" : "s"} for ${shapes.length} input${shapes.length === 1 ? "" : "s"}; ` +
        `return one per forward input, in order (null for an input that needs none)`,
      opName,
      null,
    );
  }
  return grads.map((g, i) => {
    const shape = shapes[i]!;
    if (g === null || g === undefined) return tf.zeros(shape, dtypes[i]);
    if (!(g instanceof tf.Tensor)) {
      throw new BackwardContractError(`${opName}.backward: gradient for ${inputName(i)} is ${describe(g)}, expected a tf.Tensor of shape ${formatShape(shape)}`, opName, i);
    }
    if (!shapesEqual(g.shape, shape)) {
      const axes = reductionAxesTo(g.shape, shape);
      const hint = axes
        ? `; summing it over axis ${axes.join(", ")} would give the input's shape (a broadcast input's gradient must be reduced over the broadcast axes)`
        : "";
      throw new BackwardContractError(
        `${opName}.backward: gradient for ${inputName(i)} has shape ${formatShape(g.shape)}, but the input has shape ${formatShape(shape)}${hint}`,
        opName,
        i,
      );
    }
    if (g.dtype !== dtypes[i]) {
      throw new BackwardContractError(`${opName}.backward: gradient for ${inputName(i)} has dtype ${g.dtype}, but the input has dtype ${dtypes[i]}`, opName, i);
    }
    return g;
  });
}

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === "object") return `an object (${value.constructor?.name ?? "Object"})`;
  return `a ${typeof value} (${String(value)})`;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
