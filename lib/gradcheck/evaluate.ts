/**
 * The two ways gradcheck looks at an op: its forward at perturbed inputs (read back to float64
 * on the host) and its backward's vector–Jacobian product Jᵀu. Both are Reads (reads.ts): they
 * yield the tensors they need read, so the same code runs synchronously and asynchronously.
 */
import * as tf from "@tensorflow/tfjs";
import { messageOf, type CustomFunction } from "../function";
import type { Reads } from "./reads";

export type TensorFn = (...inputs: tf.Tensor[]) => tf.Tensor;

/** What gradcheck accepts: a plain tensor function, or a custom op. */
export type CheckedOp = TensorFn | CustomFunction<tf.Tensor[]>;

export function tensorFnOf(op: CheckedOp): TensorFn {
  return typeof op === "function" ? op : (...xs) => op.apply(...xs);
}

/** The name reports use: the one given, else the op's own (a function's, or "function"). */
export function opName(op: CheckedOp, given?: string): string {
  return given ?? (typeof op === "function" ? op.name || "function" : op.name);
}

export interface Evaluator {
  readonly inputs: readonly tf.Tensor[];
  /** Host copies of the inputs (float32 values, as float64). */
  readonly values: readonly Float64Array[];
  readonly outputShape: number[];
  readonly output: Float64Array;
  /** f with input `index` replaced by `data` (float32-rounded), flattened to float64. */
  forwardWith(index: number, data: Float64Array): Reads<Float64Array>;
  /** f with several inputs replaced at once (input index → data). */
  forwardAt(replaced: ReadonlyMap<number, Float64Array>): Reads<Float64Array>;
  /** Jᵀu for every input; throws what the backward threw. */
  vjp(u: Float64Array): Reads<Float64Array[]>;
}

export class ForwardError extends Error {
  override name = "ForwardError";
}

export function* makeEvaluator(fn: TensorFn, inputs: readonly tf.Tensor[], name: string): Reads<Evaluator> {
  const forwardFailed = (error: unknown) => new ForwardError(`gradcheck(${name}): the forward failed: ${messageOf(error)}`);
  // The shape of the last output computed: the base call's is the op's output shape.
  let lastShape: number[] = [];
  function* run(xs: tf.Tensor[]): Reads<Float64Array> {
    let y: tf.Tensor;
    try {
      y = tf.tidy(() => fn(...xs));
    } catch (error) {
      throw forwardFailed(error);
    }
    lastShape = y.shape;
    try {
      const [values] = yield [y];
      return Float64Array.from(values!);
    } catch (error) {
      throw forwardFailed(error);
    } finally {
      y.dispose();
    }
  }
  const gradsOf = tf.grads(fn);
  const values = (yield [...inputs]).map((v) => Float64Array.from(v));
  const output = yield* run([...inputs]);
  const outputShape = lastShape;
  return {
    inputs,
    values,
    outputShape,
    output,
    forwardWith(index, data) {
      return this.forwardAt(new Map([[index, data]]));
    },
    *forwardAt(replaced) {
      const made = new Map([...replaced].map(([i, data]) => [i, tf.tensor(Float32Array.from(data), inputs[i]!.shape, "float32")] as const));
      try {
        return yield* run(inputs.map((x, i) => made.get(i) ?? x));
      } finally {
        for (const t of made.values()) t.dispose();
      }
    },
    *vjp(u) {
      const dy = tf.tensor(Float32Array.from(u), outputShape, "float32");
      try {
        const grads = tf.tidy(() => gradsOf([...inputs], dy));
        try {
          return (yield grads).map((g) => Float64Array.from(g));
        } finally {
          tf.dispose(grads);
        }
      } finally {
        dy.dispose();
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
