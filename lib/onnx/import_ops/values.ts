/**
 * What the importer knows about a value before computing it: its ONNX element type, its shape
 * (sizes, symbolic names such as "batch", or null where unknown; the whole shape null where even
 * the rank is unknown, after a user's op) and, for small tensors whose contents follow from shapes
 * and constants (PyTorch's Shape → Gather → Concat → Reshape chains), the contents themselves.
 * Every op infers its outputs' ValueInfo from its inputs' before anything is allocated, so a bad
 * graph or an over-budget tensor is refused naming the node, and shape arithmetic runs on the host.
 */
import * as tf from "@tensorflow/tfjs";

/** A dimension: a size, a symbolic name (dim_param), or unknown. */
export type Dim = number | string | null;
export type DimShape = readonly Dim[];

export interface ValueInfo {
  /** ONNX TensorProto.DataType. */
  dtype: number;
  /** null: not even the rank is known (the output of a user's op, before it runs). */
  shape: DimShape | null;
  /** Row-major contents, when known and small (numbers; symbolic sizes inside shape arithmetic). */
  data?: readonly Dim[];
}

/** Contents of at most this many elements are tracked through shape arithmetic. */
export const MAX_TRACKED_ELEMENTS = 4096;

export const T = {
  FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, BFLOAT16: 16,
} as const;

const FLOATS = new Set<number>([T.FLOAT, T.DOUBLE, T.FLOAT16, T.BFLOAT16]);
const INTS = new Set<number>([T.UINT8, T.INT8, T.UINT16, T.INT16, T.INT32, T.INT64, T.UINT32, T.UINT64]);

export const isFloat = (dtype: number): boolean => FLOATS.has(dtype);
export const isInt = (dtype: number): boolean => INTS.has(dtype);

/**
 * tfjs's dtype for an ONNX type: every float computes in float32 (tfjs has no float64), every
 * integer in int32 (values outside int32 are refused where they are read), bool as bool.
 */
export function tfDtype(dtype: number): "float32" | "int32" | "bool" | null {
  if (FLOATS.has(dtype)) return "float32";
  if (INTS.has(dtype)) return "int32";
  if (dtype === T.BOOL) return "bool";
  return null;
}

/** An error in an op's own terms (shapes, attributes); the graph adds the node's name. */
export class OpError extends Error {}
/** Something valid ONNX that gradlab does not compute (exactly), with the reason. */
export class Refusal extends Error {}

export function formatDims(shape: DimShape | null): string {
  if (shape === null) return "[unknown rank]";
  return `[${shape.map((d) => (d === null ? "?" : String(d))).join(", ")}]`;
}

export const known = (shape: DimShape | null): shape is readonly number[] => shape !== null && shape.every((d) => typeof d === "number");

/** Element count, or null when a dimension is not a number. */
export function sizeOf(shape: DimShape): number | null {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== "number") return null;
    n *= d;
  }
  return n;
}

/** Two sizes that must agree: only two known, different sizes fail. */
export function same(a: Dim, b: Dim, message: () => string): void {
  if (typeof a === "number" && typeof b === "number" && a !== b) throw new OpError(message());
}

/** The more informative of two sizes that must be equal. */
export const either = (a: Dim, b: Dim): Dim => (typeof a === "number" ? a : typeof b === "number" ? b : a === b ? a : a ?? b);

/** NumPy broadcasting with symbolic sizes: a known 1 yields to the other; unknowns stay unknown. */
export function broadcast(...shapes: DimShape[]): DimShape {
  return shapes.reduce((a, b) => {
    const rank = Math.max(a.length, b.length);
    const out: Dim[] = [];
    for (let i = 0; i < rank; i++) {
      const da = i < rank - a.length ? 1 : a[i - (rank - a.length)]!;
      const db = i < rank - b.length ? 1 : b[i - (rank - b.length)]!;
      if (da === 1) out.push(db);
      else if (db === 1) out.push(da);
      else if (typeof da === "number" && typeof db === "number") {
        if (da !== db) throw new OpError(`shapes ${formatDims(a)} and ${formatDims(b)} do not broadcast (axis ${i}: ${da} vs ${db})`);
        out.push(da);
      } else if (da === db) out.push(da);
      else if (typeof da === "number" && da !== 0) out.push(da);
      else if (typeof db === "number" && db !== 0) out.push(db);
      else out.push(null);
    }
    return out;
  });
}

/** An axis in [-rank, rank) as a non-negative index. */
export function normAxis(axis: number, rank: number, what = "axis"): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) throw new OpError(`${what} ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

export function rankOf(info: ValueInfo): number {
  return info.shape!.length;
}

export function requireRank(info: ValueInfo, what: string, ...ranks: number[]): void {
  if (!ranks.includes(info.shape!.length)) throw new OpError(`${what} must have rank ${ranks.join(" or ")}, got ${formatDims(info.shape)}`);
}

/** Known integer contents of an input (an axes list, a shape), or null. */
export function ints(info: ValueInfo | null | undefined): number[] | null {
  if (!info?.data || !info.data.every((d) => typeof d === "number")) return null;
  return info.data as number[];
}

/** Contents (for shape arithmetic) of a value of this shape and type, if small enough to track. */
export function tracked(dtype: number, shape: DimShape, data: readonly Dim[] | undefined): ValueInfo {
  const n = sizeOf(shape);
  return data !== undefined && n !== null && n <= MAX_TRACKED_ELEMENTS && data.length === n ? { dtype, shape, data } : { dtype, shape };
}

/** Reads the integer contents of a tensor computed at run time (a shape or axes from data). */
export function readInts(t: tf.Tensor, what: string): number[] {
  if (t.size > MAX_TRACKED_ELEMENTS) throw new OpError(`${what} has ${t.size} elements; gradlab reads at most ${MAX_TRACKED_ELEMENTS}`);
  return Array.from(t.dataSync(), Number);
}
