/**
 * The two ways gradcheck looks at an op: its forward at perturbed inputs (read back to float64
 * on the host) and its backward's vector–Jacobian product Jᵀu. Both are Reads (reads.ts): they
 * yield the tensors they need read, so the same code runs synchronously and asynchronously.
 *
 * An op may return several tensors and take arguments that are not tensors (defineFunction's
 * Arg): the outputs are read as one vector, output after output, so a Jacobian row is one element
 * of one output and u holds one dy per output; non-tensor arguments are passed through unchanged
 * and get no gradient.
 */
import * as tf from "@tensorflow/tfjs";
import { messageOf, type Arg, type Outputs } from "../function";
import { formatShape } from "../shape";
import type { Reads } from "./reads";
import { unravel } from "./report";

export type TensorFn = (...args: Arg[]) => Outputs;

/** A custom op as gradcheck uses it (any CustomFunction, whatever its arguments and outputs). */
export interface CheckableFunction {
  readonly name: string;
  readonly definition: { readonly inputNames?: readonly string[] };
  apply(...args: never[]): Outputs;
}

/** What gradcheck accepts: a plain tensor function, or a custom op. */
export type CheckedOp = TensorFn | ((...args: never[]) => Outputs) | CheckableFunction;

export function tensorFnOf(op: CheckedOp): TensorFn {
  return typeof op === "function" ? (op as TensorFn) : (...args) => (op.apply as (...a: Arg[]) => Outputs)(...args);
}

/** The name reports use: the one given, else the op's own (a function's, or "function"). */
export function opName(op: CheckedOp, given?: string): string {
  return given ?? (typeof op === "function" ? op.name || "function" : op.name);
}

export interface Evaluator {
  /** The op's arguments: tensors, and values passed through unchanged. */
  readonly inputs: readonly Arg[];
  /** Each argument's shape ([] for a non-tensor). */
  readonly shapes: readonly number[][];
  /** Host copies of the tensor arguments (float32 values, as float64); empty for a non-tensor. */
  readonly values: readonly Float64Array[];
  /** The shape of each output (one for an op returning a single tensor). */
  readonly outputShapes: readonly number[][];
  /** Every output's elements, output after output. */
  readonly output: Float64Array;
  /** "out[2, 0]" for one output, "out1[2, 0]" for output 1 of several: element k of `output`. */
  outputLabel(k: number): string;
  /** f with input `index` replaced by `data` (float32-rounded), flattened to float64. */
  forwardWith(index: number, data: Float64Array): Reads<Float64Array>;
  /** f with several inputs replaced at once (input index → data). */
  forwardAt(replaced: ReadonlyMap<number, Float64Array>): Reads<Float64Array>;
  /** Jᵀu for every argument (empty for a non-tensor); u holds one dy per output; throws what the backward threw. */
  vjp(u: Float64Array): Reads<Float64Array[]>;
}

export class ForwardError extends Error {
  override name = "ForwardError";
}

const asList = (y: Outputs): tf.Tensor[] => (Array.isArray(y) ? y : [y]);

export function* makeEvaluator(fn: TensorFn, inputs: readonly Arg[], name: string): Reads<Evaluator> {
  const forwardFailed = (error: unknown) => new ForwardError(`gradcheck(${name}): the forward failed: ${messageOf(error)}`);
  const tensorAt = inputs.map((x, i) => (x instanceof tf.Tensor ? i : -1)).filter((i) => i >= 0);
  const several = { value: false };
  // The shapes of the last outputs computed: the base call's are the op's output shapes.
  let lastShapes: number[][] = [];
  function* run(xs: Arg[]): Reads<Float64Array> {
    let ys: tf.Tensor[];
    try {
      ys = tf.tidy(() => {
        const y = fn(...xs);
        several.value = Array.isArray(y);
        return asList(y);
      });
    } catch (error) {
      throw forwardFailed(error);
    }
    lastShapes = ys.map((y) => y.shape);
    try {
      const values = yield ys;
      const out = new Float64Array(values.reduce((n, v) => n + v.length, 0));
      let offset = 0;
      for (const v of values) {
        out.set(v, offset);
        offset += v.length;
      }
      return out;
    } catch (error) {
      throw forwardFailed(error);
    } finally {
      tf.dispose(ys);
    }
  }
  const read = yield tensorAt.map((i) => inputs[i] as tf.Tensor);
  const values = inputs.map(() => new Float64Array(0));
  tensorAt.forEach((i, t) => (values[i] = Float64Array.from(read[t]!)));
  const output = yield* run([...inputs]);
  const outputShapes = lastShapes;
  const multiple = several.value;
  const offsets: number[] = [];
  let total = 0;
  for (const s of outputShapes) {
    offsets.push(total);
    total += s.reduce((a, b) => a * b, 1);
  }
  const outputOf = (k: number) => {
    let o = outputShapes.length - 1;
    while (o > 0 && offsets[o]! > k) o--;
    return o;
  };
  // Σₒ sum(yₒ·dyₒ): its gradient hands backward exactly dyₒ for every output (1·dy is dy).
  const tensorArgs = tensorAt.length;
  const lossOf = (dys: tf.Tensor[]) => (...ts: tf.Tensor[]) => {
    const args = [...inputs];
    tensorAt.forEach((i, t) => (args[i] = ts[t]!));
    const ys = asList(fn(...args));
    return tf.addN(ys.map((y, o) => tf.sum(tf.mul(y, dys[o]!))));
  };
  const singleGrads = tf.grads((...ts: tf.Tensor[]) => {
    const args = [...inputs];
    tensorAt.forEach((i, t) => (args[i] = ts[t]!));
    return fn(...args) as tf.Tensor;
  });
  return {
    inputs,
    shapes: inputs.map((x) => (x instanceof tf.Tensor ? x.shape : [])),
    values,
    outputShapes,
    output,
    outputLabel(k) {
      const o = outputOf(k);
      return `out${multiple ? o : ""}${formatShape(unravel(k - offsets[o]!, outputShapes[o]!))}`;
    },
    forwardWith(index, data) {
      return this.forwardAt(new Map([[index, data]]));
    },
    *forwardAt(replaced) {
      const made = new Map([...replaced].map(([i, data]) => [i, tf.tensor(Float32Array.from(data), (inputs[i] as tf.Tensor).shape, "float32")] as const));
      try {
        return yield* run(inputs.map((x, i) => made.get(i) ?? x));
      } finally {
        for (const t of made.values()) t.dispose();
      }
    },
    *vjp(u) {
      const dys = outputShapes.map((s, o) => tf.tensor(Float32Array.from(u.subarray(offsets[o]!, offsets[o]! + s.reduce((a, b) => a * b, 1))), s, "float32"));
      try {
        const xs = tensorAt.map((i) => inputs[i] as tf.Tensor);
        // One output: its dy goes to tf.grads directly (the loss form costs a product and a sum per call).
        const grads = tf.tidy(() => (tensorArgs === 0 ? [] : multiple ? tf.grads(lossOf(dys))(xs) : singleGrads(xs, dys[0]!)));
        try {
          const read = yield grads;
          const out = inputs.map(() => new Float64Array(0));
          tensorAt.forEach((i, t) => (out[i] = Float64Array.from(read[t]!)));
          return out;
        } finally {
          tf.dispose(grads);
        }
      } finally {
        tf.dispose(dys);
      }
    },
  };
}

/** x + t·v rounded to float32, as the op will see it. */
export function shifted(x: Float64Array, v: Float64Array | null, index: number, t: number): Float64Array {
  const out = new Float64Array(x);
  if (v === null) out[index] = Math.fround(x[index]! + t);
  else for (let j = 0; j < x.length; j++) out[j] = Math.fround(x[j]! + t * v[j]!);
  return out;
}
