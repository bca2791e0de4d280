/**
 * Custom differentiable ops with a hand-written backward, in the shape of torch.autograd.Function:
 * forward(ctx, ...args) saves what backward needs and returns one tensor or several,
 * backward(ctx, ...dys) gets one gradient per output and returns one per argument, and optional
 * symbolic / lower describe the op to the ONNX exporter. Arguments that are not tensors (a slope,
 * an axis, a flag) are passed at call time like PyTorch's: forward gets them in place, backward
 * reads them from ctx.attrs, symbolic and lower get them in place to write as ONNX attributes.
 *
 * Built on the engine's custom-gradient path (what tf.customGrad uses) rather than kernel +
 * gradient registration: a user's forward is a composition of existing tfjs ops, so it already
 * runs on every backend, and only what the user saves is kept for backward. Kernel registration
 * would need a kernel per backend for every user op; gradlab adds such kernels only where speed
 * demands it (the WebGPU linear kernels), behind the same definition.
 *
 * tf.customGrad itself allows one output and hands backward zeros for an unused output; gradlab
 * calls the engine's runKernelFunc (which takes several outputs) and installs the tape node's
 * gradient itself, so backward sees null for an output that did not reach the loss, and the
 * gradients it returns are handed to the engine lazily, input by input.
 */
import * as tf from "@tensorflow/tfjs";
import { mayNeedGradient } from "./autograd/gradient_sources";
import { formatShape, reductionAxesTo, shapesEqual } from "./shape";
import type { SymbolicGraph, SymbolicValue } from "./onnx/symbolic";

/** A non-tensor argument of an op: what an ONNX attribute can hold, and what backward may need. */
export type Attribute = number | boolean | string | readonly number[] | readonly boolean[] | readonly string[];

/** One argument of apply(): a tensor, or a value that is not differentiated. */
export type Arg = tf.Tensor | Attribute;

/** What forward returns: one tensor, or several (an array). */
export type Outputs = tf.Tensor | tf.Tensor[];

/** backward's gradients with respect to forward's outputs: `dy`, or one per output, null where unused. */
export type OutputGradients<Out extends Outputs> = Out extends tf.Tensor[] ? { [K in keyof Out]: tf.Tensor | null } : [dy: tf.Tensor];

/** What symbolic and lower get for forward's arguments: graph values for tensors, the value itself otherwise. */
export type SymbolicArgs<Args extends Arg[]> = { [K in keyof Args]: Args[K] extends tf.Tensor ? SymbolicValue : Args[K] };

/** What forward and backward share for one call of the op. */
export class FunctionCtx {
  #saved: readonly tf.Tensor[] | null = null;
  #inBackward = false;
  #pending: tf.Tensor[] = [];
  // The call's arguments as given (apply's own rest array, never changed); what backward reads of
  // them (attrs, needsInputGrad) is derived on first use, as most calls never reach a backward.
  #args: readonly Arg[];
  #attrs: readonly (Attribute | undefined)[] | null = null;
  #needsInputGrad: readonly boolean[] | null = null;
  #attributes: Map<string, unknown> | null = null;

  constructor(
    readonly opName: string,
    args: readonly Arg[] = [],
  ) {
    this.#args = args;
  }

  /** Non-tensor values forward wants backward to have (PyTorch's `ctx.foo = …`). */
  get attributes(): Map<string, unknown> {
    return (this.#attributes ??= new Map());
  }

  /**
   * The call's non-tensor arguments, at their positions in the argument list (undefined where the
   * argument is a tensor): a backward reads its slope or axis here.
   */
  get attrs(): readonly (Attribute | undefined)[] {
    return (this.#attrs ??= this.#args.map((a) => (a instanceof tf.Tensor ? undefined : a)));
  }

  /** Keep these tensors for backward (PyTorch's ctx.save_for_backward). */
  saveForBackward(...tensors: tf.Tensor[]): void {
    for (let i = 0; i < tensors.length; i++) {
      const t: unknown = tensors[i];
      if (!(t instanceof tf.Tensor)) {
        throw new TypeError(`${this.opName}.forward: saveForBackward argument ${i} is not a tf.Tensor (got ${describe(t)})`);
      }
    }
    this.#pending = tensors;
  }

  /** The tensors passed to saveForBackward, in order; available in backward only. */
  get saved(): readonly tf.Tensor[] {
    if (!this.#inBackward) {
      throw new Error(`${this.opName}: ctx.saved is available in backward only; call ctx.saveForBackward(...) in forward`);
    }
    return this.#saved ?? [];
  }

  /**
   * PyTorch's ctx.needs_input_grad, one per argument: false for a non-tensor argument, an integer
   * or boolean tensor, a non-trainable variable, and, under gradlab's backward() and gradcheck, an
   * input that no differentiated source flows into. A backward may return null there and skip the
   * work. Read in backward (in forward the tape that decides it is not complete).
   */
  get needsInputGrad(): readonly boolean[] {
    if (!this.#inBackward) throw new Error(`${this.opName}: ctx.needsInputGrad is available in backward only`);
    this.#needsInputGrad ??= this.#args.map((x) => x instanceof tf.Tensor && needsGradient(x));
    return this.#needsInputGrad;
  }

  /** @internal what forward asked to save, handed to the engine. */
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

function needsGradient(x: tf.Tensor): boolean {
  if (x.dtype !== "float32") return false;
  if (x instanceof tf.Variable && !x.trainable) return false;
  return mayNeedGradient(x);
}

export type Gradient = tf.Tensor | null;

export interface FunctionDefinition<Args extends Arg[], Out extends Outputs = tf.Tensor> {
  /** The op's name: used in every error message and as the ONNX op type by default. */
  name: string;
  /** Names of the arguments, for messages and reports (default "input 0", "input 1", …). */
  inputNames?: readonly string[];
  forward(ctx: FunctionCtx, ...args: Args): Out;
  /**
   * One gradient per output of forward (null for an output that did not reach the loss); return
   * one gradient per argument, null for a non-tensor argument or an input that needs none (zero).
   * A gradient may have any shape that broadcasts to its input's: it is summed to the input's
   * shape as PyTorch's engine does. Trailing non-tensor arguments may be left out.
   */
  backward(ctx: FunctionCtx, ...dys: OutputGradients<Out>): Gradient | readonly Gradient[];
  /** How the op is written into an ONNX graph (non-tensor arguments come as themselves). */
  symbolic?(g: SymbolicGraph, ...args: SymbolicArgs<Args>): SymbolicValue | SymbolicValue[];
  /**
   * The op in standard ONNX ops (e.g. Gemm): the body of the model-local function that ONNX
   * export attaches to the custom node, or the nodes written in its place. Without it the op
   * can only be exported as an opaque custom node, which only a runtime with its kernel can run.
   */
  lower?(g: SymbolicGraph, ...args: SymbolicArgs<Args>): SymbolicValue | SymbolicValue[];
  /**
   * A tfjs kernel that computes forward in one dispatch on the backends it is registered for
   * (gradlab registers some for "webgpu"). Where it is registered and `accepts` the inputs, apply()
   * runs the kernel instead of forward, and the gradient registered under its name calls this
   * definition's backward, through the same contract check. Single-output, tensor-only ops.
   */
  kernel?: FunctionKernel<Args>;
}

export interface FunctionKernel<Args extends Arg[]> {
  /** The tfjs kernel name (registerGradient is keyed by it alone, so it must be the op's own). */
  name: string;
  /** The kernel's input names, in forward's argument order. */
  inputs: readonly string[];
  /** The inputs forward saves for backward, in the order it saves them (ctx.saved). */
  saved: readonly string[];
  /** Whether this call may use the kernel (dtype, rank, matching sizes); else forward runs. */
  accepts(...args: Args): boolean;
}

export interface CustomFunction<Args extends Arg[], Out extends Outputs = tf.Tensor> {
  readonly name: string;
  readonly definition: FunctionDefinition<Args, Out>;
  /** Runs forward; under a gradient tape, backward supplies the gradients. */
  apply(...args: Args): Out;
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

/** One call of an op as the ONNX exporter sees it. */
export interface AppliedCall {
  /** Every argument of the call, in order: tensors and non-tensor values. */
  args: readonly Arg[];
  /** Every output, in order (one for a single-output op). */
  outputs: readonly tf.Tensor[];
}

/**
 * A hook the ONNX exporter installs while tracing: when set, apply() reports each call so the
 * exporter can map it to the op's symbolic. `inputs` are the tensor arguments, `output` the first
 * output; `call` has everything.
 */
export type ApplyTracer = (fn: CustomFunction<Arg[], Outputs>, inputs: readonly tf.Tensor[], output: tf.Tensor, call: AppliedCall) => void;
let tracer: ApplyTracer | null = null;
export function setApplyTracer(next: ApplyTracer | null): ApplyTracer | null {
  const previous = tracer;
  tracer = next;
  return previous;
}

/** The engine internals the custom-gradient path uses (what tf.customGrad itself calls). */
interface TapeNode {
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}
interface EngineInternals {
  runKernelFunc(params: {
    forwardFunc: (backend: unknown, save: (tensors: tf.Tensor[]) => void) => tf.Tensor | tf.Tensor[];
    backwardsFunc?: unknown;
    inputs: Record<string, tf.Tensor>;
  }): tf.Tensor | tf.Tensor[];
  state: { activeTape: TapeNode[] | null; gradientDepth: number; kernelDepth: number };
}

/** The engine last found to have what defineFunction needs: checked once, not on every call. */
let checkedEngine: EngineInternals | null = null;

function engineInternals(): EngineInternals {
  const engine = tf.engine() as unknown as Partial<EngineInternals>;
  if (engine === checkedEngine) return checkedEngine;
  if (typeof engine.runKernelFunc !== "function" || typeof engine.state !== "object") {
    throw new Error(`gradlab: this tfjs ${tf.version_core} has no engine.runKernelFunc/state, which defineFunction needs (written for tfjs 4.x)`);
  }
  return (checkedEngine = engine as EngineInternals);
}

export function defineFunction<Args extends Arg[], Out extends Outputs = tf.Tensor>(definition: FunctionDefinition<Args, Out>): CustomFunction<Args, Out> {
  const { name } = definition;
  if (typeof name !== "string" || name.length === 0) throw new TypeError("defineFunction: `name` must be a non-empty string");
  if (typeof definition.forward !== "function") throw new TypeError(`defineFunction(${name}): \`forward\` must be a function`);
  if (typeof definition.backward !== "function") throw new TypeError(`defineFunction(${name}): \`backward\` must be a function`);

  const inputName = (i: number) => {
    const label = definition.inputNames?.[i];
    return label === undefined ? `input ${i}` : `input ${i} (${label})`;
  };
  const kernel = definition.kernel;
  const runKernel = kernel ? registerKernelGradient(definition, kernel, inputName) : () => null as never;

  const fn: CustomFunction<Args, Out> = {
    name,
    definition,
    inputName,
    apply(...args: Args): Out {
      const tensors = checkArguments(name, args, inputName);
      const useKernel = kernel && tf.getKernel(kernel.name, tf.getBackend()) && kernel.accepts(...args);
      const result = useKernel ? (runKernel(args as tf.Tensor[]) as Out) : runCustom(definition, args, inputName);
      if (tracer) {
        const outputs = Array.isArray(result) ? result : [result as tf.Tensor];
        tracer(fn as unknown as CustomFunction<Arg[], Outputs>, tensors, outputs[0]!, { args, outputs });
      }
      return result;
    },
  };
  return fn;
}

/** Every argument must be a tensor or an attribute value; returns the tensors. */
function checkArguments(name: string, args: readonly unknown[], inputName: (i: number) => string): tf.Tensor[] {
  const tensors: tf.Tensor[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a instanceof tf.Tensor) {
      if (a.isDisposed) throw new TypeError(`${name}.apply: ${inputName(i)} is a disposed tf.Tensor`);
      tensors.push(a);
    } else if (!isAttribute(a)) {
      throw new TypeError(
        `${name}.apply: ${inputName(i)} is ${describe(a)}, expected a tf.Tensor or a non-tensor argument (a number, boolean or string, or an array of one of those)`,
      );
    }
  }
  if (tensors.length === 0) throw new TypeError(`${name}.apply: no tf.Tensor among its ${args.length} arguments; an op differentiates at least one tensor`);
  return tensors;
}

function isAttribute(a: unknown): a is Attribute {
  if (isScalarAttribute(a)) return true;
  if (!Array.isArray(a)) return false;
  return a.every((v) => typeof v === typeof a[0] && isScalarAttribute(v));
}

function isScalarAttribute(v: unknown): boolean {
  return typeof v === "number" || typeof v === "boolean" || typeof v === "string";
}

/**
 * One call through the engine's custom-gradient path: forward runs with recording off (its
 * intermediates stay off the tape), the outputs become one tape node, and that node's gradient
 * runs backward through the contract check.
 */
function runCustom<Args extends Arg[], Out extends Outputs>(
  definition: FunctionDefinition<Args, Out>,
  args: Args,
  inputName: (i: number) => string,
): Out {
  const engine = engineInternals();
  const ctx = new FunctionCtx(definition.name, args);
  // The engine names a tape node's inputs by key; the key is the argument's position, so the
  // gradient map below lines up with the arguments even when attributes sit between tensors.
  const inputs: Record<string, tf.Tensor> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a instanceof tf.Tensor) inputs[String(i)] = a;
  }
  let returnedArray = false;
  const result = engine.runKernelFunc({
    forwardFunc: (_backend, save) => {
      const value = callForward(definition, ctx, args, inputName);
      returnedArray = Array.isArray(value);
      save(ctx.takePending());
      return distinctOutputs(value, args);
    },
    inputs,
  });
  const outputs = Array.isArray(result) ? result : [result];
  const tape = engine.state.activeTape;
  const node = tape?.[tape.length - 1];
  if (engine.state.gradientDepth > 0 && engine.state.kernelDepth === 0) {
    if (!node || node.outputs[0] !== outputs[0]) {
      throw new Error(`gradlab: ${definition.name}'s call was not recorded on tfjs ${tf.version_core}'s tape as expected (engine internals changed)`);
    }
    // What the contract check needs, only when a gradient may be asked for (not in inference).
    const shapes: (number[] | null)[] = [];
    const dtypes: (tf.DataType | null)[] = [];
    for (const a of args) {
      const tensor = a instanceof tf.Tensor;
      shapes.push(tensor ? a.shape : null);
      dtypes.push(tensor ? a.dtype : null);
    }
    node.gradient = (dys) => {
      const saved = node.saved ?? [];
      ctx.enterBackward(saved);
      try {
        const raw = callBackward(definition, ctx, returnedArray ? dys : [dys[0] ?? tf.zerosLike(outputs[0]!)], shapes, inputName);
        const grads = checkGradients(definition.name, raw, shapes, dtypes, inputName);
        const map: Record<string, () => tf.Tensor> = {};
        for (let i = 0; i < grads.length; i++) {
          const [g, shape, dtype] = [grads[i], shapes[i], dtypes[i]];
          if (shape != null) map[String(i)] = g ? () => g : () => tf.zeros(shape, dtype!);
        }
        return map;
      } catch (error) {
        // The engine frees saved tensors only after a successful backward pass.
        tf.dispose(saved);
        throw error;
      }
    };
  }
  return (returnedArray ? outputs : outputs[0]) as Out;
}

/**
 * A tape node's outputs must be tensors of its own: an input handed back unchanged, or one tensor
 * returned twice, is cloned (else the tape would route a gradient into itself).
 */
function distinctOutputs(value: tf.Tensor | tf.Tensor[], args: readonly Arg[]): tf.Tensor[] {
  if (!Array.isArray(value)) return [args.includes(value) ? tf.clone(value) : value];
  const seen = new Set<tf.Tensor>(args.filter((a): a is tf.Tensor => a instanceof tf.Tensor));
  return value.map((t) => {
    if (seen.has(t)) return tf.clone(t);
    seen.add(t);
    return t;
  });
}

/**
 * Register the gradient of `kernel` (once per definition): the tape saves every input, hands
 * backward the ones forward would have saved, and checks what it returns as the custom path does.
 * Returns the call that runs the kernel.
 */
function registerKernelGradient<Args extends Arg[], Out extends Outputs>(
  definition: FunctionDefinition<Args, Out>,
  kernel: FunctionKernel<Args>,
  inputName: (i: number) => string,
): (inputs: tf.Tensor[]) => tf.Tensor {
  const { name } = definition;
  const savedIndex = kernel.saved.map((s) => {
    const i = kernel.inputs.indexOf(s);
    if (i < 0) throw new TypeError(`defineFunction(${name}): kernel.saved names ${JSON.stringify(s)}, which is not among kernel.inputs ${JSON.stringify(kernel.inputs)}`);
    return i;
  });
  const backward = definition.backward as (ctx: FunctionCtx, ...dys: (tf.Tensor | null)[]) => unknown;
  tf.registerGradient({
    kernelName: kernel.name,
    inputsToSave: [...kernel.inputs],
    gradFunc: (dy, all) => {
      const ctx = new FunctionCtx(name, all);
      ctx.enterBackward(savedIndex.map((i) => all[i]!));
      const shapes = all.map((t) => t.shape);
      const raw = callBackward({ name, backward }, ctx, [dy as tf.Tensor], shapes, inputName);
      const grads = checkGradients(name, raw, shapes, all.map((t) => t.dtype), inputName);
      return Object.fromEntries(kernel.inputs.map((input, i) => [input, () => grads[i] ?? tf.zeros(shapes[i]!, all[i]!.dtype)]));
    },
  });
  return (inputs) => {
    const named: tf.NamedTensorMap = {};
    kernel.inputs.forEach((input, i) => (named[input] = inputs[i]!));
    // The engine records the call on the tape under the kernel's name, and saves every input.
    return tf.engine().runKernel(kernel.name, named as unknown as tf.NamedTensorMap) as tf.Tensor;
  };
}

function callForward<Args extends Arg[], Out extends Outputs>(
  definition: FunctionDefinition<Args, Out>,
  ctx: FunctionCtx,
  args: Args,
  inputName: (i: number) => string,
): tf.Tensor | tf.Tensor[] {
  let value: unknown;
  try {
    value = definition.forward(ctx, ...args);
  } catch (error) {
    const shapes = args.map((x, i) => `${inputName(i)} ${x instanceof tf.Tensor ? formatShape(x.shape) : JSON.stringify(x)}`).join(", ");
    throw new FunctionCallError(`${definition.name}.forward failed for ${shapes}: ${messageOf(error)}`, definition.name, error);
  }
  if (value instanceof tf.Tensor) return value;
  if (Array.isArray(value) && value.length > 0 && value.every((v) => v instanceof tf.Tensor)) return value as tf.Tensor[];
  const what = Array.isArray(value) ? `an array of ${value.length} with ${value.filter((v) => !(v instanceof tf.Tensor)).length} non-tensors` : describe(value);
  throw new TypeError(`${definition.name}.forward must return a tf.Tensor or a non-empty array of tf.Tensors, got ${what}`);
}

function callBackward(
  definition: { name: string; backward: unknown },
  ctx: FunctionCtx,
  dys: readonly (tf.Tensor | null)[],
  shapes: readonly (readonly number[] | null)[],
  inputName: (i: number) => string,
): unknown {
  try {
    return (definition.backward as (ctx: FunctionCtx, ...dys: (tf.Tensor | null)[]) => unknown)(ctx, ...dys);
  } catch (error) {
    if (error instanceof BackwardContractError) throw error;
    const context = shapes.map((s, i) => `${inputName(i)} ${s === null ? "(not a tensor)" : formatShape(s)}`).join(", ");
    const dyText = dys.map((d) => (d === null ? "null" : formatShape(d.shape))).join(", ");
    throw new FunctionCallError(`${definition.name}.backward failed (dy ${dyText}; ${context}): ${messageOf(error)}`, definition.name, error);
  }
}

/**
 * Enforce the backward contract at the boundary, naming the op, the input and both shapes. A
 * gradient that broadcasts to its input's shape is summed to it (PyTorch's engine does the same);
 * one that cannot be reduced to it is an error. Returns one entry per argument, null for zero.
 */
function checkGradients(
  opName: string,
  raw: unknown,
  shapes: readonly (readonly number[] | null)[],
  dtypes: readonly (tf.DataType | null)[],
  inputName: (i: number) => string,
): (tf.Tensor | null)[] {
  // The common case, one tensor input and its gradient already of its shape and dtype: nothing to do.
  if (shapes.length === 1 && raw instanceof tf.Tensor && raw.dtype === dtypes[0] && shapes[0] && shapesEqual(raw.shape, shapes[0])) return [raw];
  const grads = Array.isArray(raw) ? (raw as unknown[]) : [raw];
  const lastTensor = shapes.reduce<number>((last, s, i) => (s !== null ? i : last), -1);
  if (grads.length < lastTensor + 1 || grads.length > shapes.length) {
    const tensorCount = shapes.filter((s) => s !== null).length;
    const expected = tensorCount === shapes.length ? `${shapes.length}` : `${lastTensor + 1} to ${shapes.length} (one per argument; trailing non-tensor arguments may be left out)`;
    throw new BackwardContractError(
      `${opName}.backward returned ${grads.length} gradient${grads.length === 1 ? "" : "s"} for ${shapes.length} input${shapes.length === 1 ? "" : "s"}; ` +
        `expected ${expected}: one per forward input, in order (null for an input that needs none)`,
      opName,
      null,
    );
  }
  return shapes.map((shape, i) => {
    const g = grads[i];
    if (g === null || g === undefined) return null;
    if (shape === null) {
      throw new BackwardContractError(`${opName}.backward: ${inputName(i)} is not a tensor, so its gradient must be null, got ${describe(g)}`, opName, i);
    }
    if (!(g instanceof tf.Tensor)) {
      throw new BackwardContractError(`${opName}.backward: gradient for ${inputName(i)} is ${describe(g)}, expected a tf.Tensor of shape ${formatShape(shape)}`, opName, i);
    }
    if (g.dtype !== dtypes[i]) {
      throw new BackwardContractError(`${opName}.backward: gradient for ${inputName(i)} has dtype ${g.dtype}, but the input has dtype ${dtypes[i]}`, opName, i);
    }
    if (shapesEqual(g.shape, shape)) return g;
    const axes = reductionAxesTo(g.shape, shape);
    if (axes === null) {
      throw new BackwardContractError(
        `${opName}.backward: gradient for ${inputName(i)} has shape ${formatShape(g.shape)}, but the input has shape ${formatShape(shape)}, ` +
          `and it does not broadcast to it (a gradient must have its input's shape, or one the input broadcasts to)`,
        opName,
        i,
      );
    }
    return tf.reshape(tf.sum(g, axes), [...shape]);
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
