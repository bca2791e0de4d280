/**
 * Contents known on the host, for shape arithmetic: products of symbolic sizes, axes given as an
 * attribute or an input, gathering from known contents, and the fallback when contents are only
 * known once the graph runs (at import, a Reshape fed by a computed shape has unknown sizes).
 */
import * as tf from "@tensorflow/tfjs";
import type { Attrs } from "./attributes";
import { ints, known, OpError, Refusal, tfDtype, type Dim, type ValueInfo } from "./values";

/** The product of sizes: a number, a lone symbol (times ones), or unknown. */
export function product(dims: readonly Dim[]): Dim {
  let n = 1;
  let symbol: Dim = null;
  let symbols = 0;
  for (const d of dims) {
    if (typeof d === "number") n *= d;
    else if (typeof d === "string") { symbol = d; symbols++; }
    else return n === 0 ? 0 : null;
  }
  if (symbols === 0 || n === 0) return n;
  return symbols === 1 && n === 1 ? symbol : null;
}

/** Axes from an attribute (older opsets) or a host input (newer), or null when neither is given. */
export function axesFrom(a: Attrs, input: ValueInfo | null | undefined, name = "axes"): number[] | null {
  if (a.has(name)) return a.ints(name)!;
  if (!input) return null;
  const v = ints(input);
  if (v === null) throw new UnknownContents();
  return v;
}

/** Contents that only the running graph knows: infer falls back to unknown sizes. */
export class UnknownContents extends Error {}

/** infer with a fallback: where contents are unknown (import time), the output is `fallback()`. */
export function orUnknown(fn: () => ValueInfo[], fallback: () => ValueInfo[]): ValueInfo[] {
  try {
    return fn();
  } catch (error) {
    if (error instanceof UnknownContents) return fallback();
    throw error;
  }
}

export function needInts(info: ValueInfo | null | undefined, what: string): number[] {
  if (!info) throw new OpError(`${what} is missing`);
  const v = ints(info);
  if (v === null) throw new UnknownContents(what);
  return v;
}

/** A tensor of `info`'s contents (the run-time form of a value known on the host). */
export function materialize(info: ValueInfo): tf.Tensor {
  const dtype = tfDtype(info.dtype);
  if (dtype === null) throw new Refusal(`element type ${info.dtype} has no tfjs form`);
  const values = info.data as number[];
  if (dtype === "int32" && values.some((v) => v > 2147483647 || v < -2147483648)) {
    throw new Refusal(`an int64 value (${values.find((v) => v > 2147483647 || v < -2147483648)}) does not fit tfjs's int32`);
  }
  return tf.tensor(dtype === "bool" ? values.map((v) => (v ? 1 : 0)) : values, info.shape as number[], dtype);
}

/** Host gather along one axis of known contents, for shape arithmetic. */
export function hostTake(info: ValueInfo, axis: number, index: (j: number) => number, count: number): Dim[] | undefined {
  if (!info.data || !known(info.shape)) return undefined;
  const shape = info.shape;
  const outer = shape.slice(0, axis).reduce((n, d) => n * d, 1);
  const inner = shape.slice(axis + 1).reduce((n, d) => n * d, 1);
  const out: Dim[] = [];
  for (let o = 0; o < outer; o++) for (let j = 0; j < count; j++) for (let i = 0; i < inner; i++) out.push(info.data[(o * shape[axis]! + index(j)) * inner + i]!);
  return out;
}

/** Known contents of shape `from` broadcast to `to` (NumPy's rules; `from` may have fewer axes). */
export function hostBroadcastTo(data: readonly Dim[], from: readonly number[], to: readonly number[]): Dim[] {
  const size = to.reduce((n, d) => n * d, 1);
  const out: Dim[] = new Array(size);
  const offset = to.length - from.length;
  for (let flat = 0; flat < size; flat++) {
    let rest = flat, index = 0, stride = 1;
    for (let k = to.length - 1; k >= 0; k--) {
      const coord = rest % to[k]!;
      rest = Math.floor(rest / to[k]!);
      const j = k - offset;
      if (j >= 0) {
        index += (from[j] === 1 ? 0 : coord) * stride;
        stride *= from[j]!;
      }
    }
    out[flat] = data[index]!;
  }
  return out;
}
