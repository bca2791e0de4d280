/**
 * The ONNX ops gradlab runs, one entry each: the attributes it takes, how it maps shapes (so an
 * inconsistent graph fails at import, naming the node, instead of at the first forward) and how
 * it runs in tfjs ops (so the imported model trains like any other). The list covers linear
 * models as gradlab, PyTorch and converters write them.
 *
 * MYLINEAR (X·Wᵀ + B, in any domain: PyTorch writes the seed's into the default one) and Gemm in
 * the same form run through LinearF, so an imported linear layer keeps its hand-written backward
 * and can be exported again.
 */
import * as tf from "@tensorflow/tfjs";
import { LinearF } from "../ops/linear";

/** A dimension: a size, a symbolic name (dim_param), or unknown. */
export type Dim = number | string | null;
export type DimShape = readonly Dim[];

export type AttributeKind = "int" | "float";
export type AttributeValues = Readonly<Record<string, number>>;

export interface ImportOp {
  /** Fewest and most inputs (absent optional inputs count as given). */
  arity: readonly [number, number];
  /** Allowed attributes, their kinds and defaults. */
  attributes: Readonly<Record<string, { kind: AttributeKind; default: number }>>;
  /** Output shape from input shapes, or throws an Error whose message says what does not fit. */
  infer(shapes: readonly (DimShape | null)[], attrs: AttributeValues): DimShape;
  run(inputs: readonly (tf.Tensor | null)[], attrs: AttributeValues): tf.Tensor;
}

export const STANDARD_OPS: Readonly<Record<string, ImportOp>> = {
  Gemm: {
    arity: [2, 3],
    attributes: { alpha: { kind: "float", default: 1 }, beta: { kind: "float", default: 1 }, transA: { kind: "int", default: 0 }, transB: { kind: "int", default: 0 } },
    infer([a, b, c], { transA, transB }) {
      rank(a!, 2, "A");
      rank(b!, 2, "B");
      const [m, k] = transA ? [a![1]!, a![0]!] : [a![0]!, a![1]!];
      const [k2, n] = transB ? [b![1]!, b![0]!] : [b![0]!, b![1]!];
      same(k, k2, `inner dimensions differ: A${transA ? "ᵀ" : ""} ${fmt(a!)} times B${transB ? "ᵀ" : ""} ${fmt(b!)}`);
      if (c) broadcastsTo(c, [m, n], "C");
      return [m, n];
    },
    run([a, b, c], { alpha, beta, transA, transB }) {
      if (c && !transA && transB && alpha === 1 && beta === 1 && c.rank === 1 && c.shape[0] === b!.shape[0]) {
        return LinearF.apply(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor1D);
      }
      let y = tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, transA !== 0, transB !== 0) as tf.Tensor;
      if (alpha !== 1) y = tf.mul(y, alpha!);
      if (c) y = tf.add(y, beta === 1 ? c : tf.mul(c, beta!));
      return y;
    },
  },
  MatMul: {
    arity: [2, 2],
    attributes: {},
    infer([a, b]) {
      if (a!.length < 2 || b!.length !== 2) throw new Error(`gradlab runs MatMul of A with rank ≥ 2 and B with rank 2, got ${fmt(a!)} and ${fmt(b!)}`);
      same(a![a!.length - 1]!, b![0]!, `inner dimensions differ: A ${fmt(a!)} times B ${fmt(b!)}`);
      return [...a!.slice(0, -1), b![1]!];
    },
    run([a, b]) {
      if (a!.rank === 2) return tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D);
      // A batch of matrices times one matrix: fold the leading axes into the rows.
      const k = a!.shape[a!.rank - 1]!;
      const y = tf.matMul(tf.reshape(a!, [-1, k]) as tf.Tensor2D, b as tf.Tensor2D);
      return tf.reshape(y, [...a!.shape.slice(0, -1), b!.shape[1]!]);
    },
  },
  Add: {
    arity: [2, 2],
    attributes: {},
    infer: ([a, b]) => broadcast(a!, b!),
    run: ([a, b]) => tf.add(a!, b!),
  },
  Identity: {
    arity: [1, 1],
    attributes: {},
    infer: ([a]) => a!,
    run: ([a]) => tf.clone(a!),
  },
  Relu: {
    arity: [1, 1],
    attributes: {},
    infer: ([a]) => a!,
    run: ([a]) => tf.relu(a!),
  },
};

/** The seed's custom op, Y = X·Wᵀ + B, in whatever domain the file puts it. */
export const MYLINEAR: ImportOp = {
  arity: [3, 3],
  attributes: {},
  infer([x, w, b]) {
    rank(x!, 2, "X");
    rank(w!, 2, "W");
    same(x![1]!, w![1]!, `X ${fmt(x!)} and W ${fmt(w!)} disagree on the input width (X·Wᵀ needs X's columns = W's columns)`);
    const out: DimShape = [x![0]!, w![0]!];
    broadcastsTo(b!, out, "B");
    return out;
  },
  run([x, w, b]) {
    if (x!.rank === 2 && b!.rank === 1 && b!.shape[0] === w!.shape[0]) return LinearF.apply(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D);
    return tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D, false, true), b!);
  },
};

export const SUPPORTED_OPS = `${Object.keys(STANDARD_OPS).sort().join(", ")} (default ONNX domain) and MYLINEAR (any domain)`;

/** The op for a node, or null when gradlab has none. */
export function lookupOp(opType: string, domain: string): ImportOp | null {
  if (opType === "MYLINEAR") return MYLINEAR;
  if (domain !== "" && domain !== "ai.onnx") return null;
  return Object.hasOwn(STANDARD_OPS, opType) ? STANDARD_OPS[opType]! : null;
}

export function formatDims(shape: DimShape): string {
  return `[${shape.map((d) => (d === null ? "?" : String(d))).join(", ")}]`;
}
const fmt = formatDims;

function rank(shape: DimShape, expected: number, what: string): void {
  if (shape.length !== expected) throw new Error(`${what} must have rank ${expected}, got ${fmt(shape)}`);
}

/** Two sizes that must agree: only two known, different sizes fail. */
function same(a: Dim, b: Dim, message: string): void {
  if (typeof a === "number" && typeof b === "number" && a !== b) throw new Error(message);
}

/** NumPy broadcasting with symbolic sizes: a known 1 yields to the other; unknowns stay unknown. */
export function broadcast(a: DimShape, b: DimShape): DimShape {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)]!;
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)]!;
    if (da === 1) out.push(db);
    else if (db === 1) out.push(da);
    else if (typeof da === "number" && typeof db === "number") {
      if (da !== db) throw new Error(`shapes ${fmt(a)} and ${fmt(b)} do not broadcast (axis ${i}: ${da} vs ${db})`);
      out.push(da);
    } else out.push(da === db ? da : typeof da === "number" ? da : typeof db === "number" ? db : null);
  }
  return out;
}

/** `shape` must broadcast to `target` without changing it (Gemm's C, a bias). */
function broadcastsTo(shape: DimShape, target: DimShape, what: string): void {
  if (shape.length > target.length) throw new Error(`${what} ${fmt(shape)} has more axes than the result ${fmt(target)}`);
  shape.forEach((d, i) => {
    const t = target[target.length - shape.length + i]!;
    if (typeof d === "number" && d !== 1 && typeof t === "number" && d !== t) {
      throw new Error(`${what} ${fmt(shape)} does not broadcast to the result ${fmt(target)}`);
    }
  });
}
