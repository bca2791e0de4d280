/**
 * The argument checks the layer ops share, so every message reads the same way: the op (by its
 * functional name, as PyTorch's own errors do), the argument, what was given, what was expected.
 * They run in the functional wrappers before any tensor is made, so a bad call changes nothing.
 */
import * as tf from "@tensorflow/tfjs";
import { describe } from "../function";
import { formatShape } from "../shape";

export type Reduction = "mean" | "sum" | "none";
export const REDUCTIONS: readonly Reduction[] = ["mean", "sum", "none"];

/** `x` must be a live float32 tf.Tensor (the ops differentiate floats only, as torch's do). */
export function checkFloatTensor(op: string, arg: string, x: unknown): asserts x is tf.Tensor {
  if (!(x instanceof tf.Tensor)) throw new TypeError(`${op}: ${arg} must be a tf.Tensor, got ${describe(x)}`);
  if (x.isDisposed) throw new TypeError(`${op}: ${arg} is a disposed tf.Tensor`);
  if (x.dtype !== "float32") throw new TypeError(`${op}: ${arg} must have dtype float32, got ${x.dtype} (shape ${formatShape(x.shape)})`);
}

/** A finite number (a slope, a probability, an epsilon). */
export function checkNumber(op: string, arg: string, value: unknown, range?: { min?: number; max?: number; minOpen?: boolean; text: string }): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw new TypeError(`${op}: ${arg} must be a finite number, got ${describe(value)}`);
  if (range) {
    const low = range.min === undefined || (range.minOpen ? value > range.min : value >= range.min);
    const high = range.max === undefined || value <= range.max;
    if (!low || !high) throw new RangeError(`${op}: ${arg} must be ${range.text}, got ${value}`);
  }
  return value;
}

/** A dimension in [-rank, rank), normalised to [0, rank) (torch's maybe_wrap_dim). */
export function checkDim(op: string, dim: unknown, rank: number, arg = "dim"): number {
  const low = -Math.max(rank, 1);
  const high = Math.max(rank, 1) - 1;
  if (typeof dim !== "number" || !Number.isInteger(dim) || dim < low || dim > high) {
    throw new RangeError(`${op}: ${arg} must be an integer in [${low}, ${high}] for an input of rank ${rank}, got ${typeof dim === "number" ? dim : describe(dim)}`);
  }
  return dim < 0 ? dim + Math.max(rank, 1) : dim;
}

export function checkReduction(op: string, reduction: unknown): Reduction {
  if (!REDUCTIONS.includes(reduction as Reduction)) {
    throw new RangeError(`${op}: reduction must be one of ${REDUCTIONS.map((r) => `"${r}"`).join(", ")}, got ${JSON.stringify(reduction) ?? describe(reduction)}`);
  }
  return reduction as Reduction;
}

export function checkBoolean(op: string, arg: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw new TypeError(`${op}: ${arg} must be a boolean, got ${describe(value)}`);
  return value;
}

/** Options objects: an unknown key is a typo that would otherwise be ignored silently. */
export function checkOptions(op: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== "object" || Array.isArray(options)) throw new TypeError(`${op}: options must be an object, got ${describe(options)}`);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new TypeError(`${op}: unknown option "${key}"; expected one of ${known.map((k) => `"${k}"`).join(", ")}`);
  }
}
