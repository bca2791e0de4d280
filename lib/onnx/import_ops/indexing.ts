/**
 * Ops that pick, place or rearrange elements by index: GatherElements, Trilu, OneHot, TopK,
 * CumSum, EyeLike, DepthToSpace and SpaceToDepth. Each runs in differentiable tfjs ops (a flat
 * gather, a mask, a reshape and transpose), so gradients flow through them as PyTorch's do.
 */
import * as tf from "@tensorflow/tfjs";
import type { ImportOp } from "./op";
import { formatDims, ints, isFloat, isInt, normAxis, OpError, Refusal, T, tfDtype, type ValueInfo } from "./values";

/** One known integer from a host input, or `fallback` when the input is absent. */
function scalarOf(info: ValueInfo | null | undefined, what: string, fallback?: number): number {
  if (!info) {
    if (fallback === undefined) throw new OpError(`${what} is missing`);
    return fallback;
  }
  const v = ints(info) ?? (info.data as number[] | undefined);
  if (!v || v.length !== 1 || typeof v[0] !== "number") throw new Refusal(`${what} must be known before the node runs`);
  return v[0];
}

/** Moves `axis` to the end (and back, with the same permutation). */
function lastAxisPerm(rank: number, axis: number): number[] {
  const perm = [...Array(rank).keys()];
  perm[axis] = rank - 1;
  perm[rank - 1] = axis;
  return perm;
}

export const INDEXING_OPS: Record<string, ImportOp> = {
  GatherElements: {
    inputs: [2, 2],
    attributes: { axis: "int" },
    infer([x, idx], a) {
      if (!isInt(idx!.dtype)) throw new OpError(`indices must be integers, got element type ${idx!.dtype}`);
      if (idx!.shape!.length !== x!.shape!.length) throw new OpError(`indices ${formatDims(idx!.shape)} must have the rank of data ${formatDims(x!.shape)}`);
      normAxis(a.int("axis", 0), x!.shape!.length);
      return [{ dtype: x!.dtype, shape: idx!.shape }];
    },
    run([x, idx], a) {
      const rank = x!.rank;
      const axis = normAxis(a.int("axis", 0), rank);
      const dim = x!.shape[axis]!;
      const strides = x!.shape.map((_, i) => x!.shape.slice(i + 1).reduce((p, q) => p * q, 1));
      const index = tf.where(tf.less(idx!, 0), tf.add(idx!, tf.scalar(dim, "int32")), idx!);
      // The flat position of out[i…] = data[i…, with index[i…] on `axis`].
      let flat = tf.mul(index, tf.scalar(strides[axis]!, "int32"));
      for (let k = 0; k < rank; k++) {
        if (k === axis) continue;
        const coord = tf.reshape(tf.range(0, idx!.shape[k]!, 1, "int32"), idx!.shape.map((d, j) => (j === k ? d : 1)));
        flat = tf.add(flat, tf.mul(coord, tf.scalar(strides[k]!, "int32")));
      }
      return tf.reshape(tf.gather(tf.reshape(x!, [-1]), tf.reshape(flat, [-1])), idx!.shape);
    },
  },
  Trilu: {
    inputs: [1, 2],
    attributes: { upper: "int" },
    hostInputs: [1],
    infer([x, k]) {
      if (x!.shape!.length < 2) throw new OpError(`input must have rank ≥ 2, got ${formatDims(x!.shape)}`);
      if (k?.data) scalarOf(k, "k");
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
    run([x], a, { ins }) {
      const k = scalarOf(ins[1], "k", 0);
      const [n, m] = x!.shape.slice(-2) as [number, number];
      const upper = a.int("upper", 1) !== 0;
      const keep = Array.from({ length: n * m }, (_, p) => {
        const d = (p % m) - Math.floor(p / m);
        return upper ? d >= k : d <= k;
      });
      const mask = tf.broadcastTo(tf.tensor(keep, [n, m], "bool"), x!.shape);
      return tf.where(mask, x!, tf.zerosLike(x!));
    },
  },
  CumSum: {
    inputs: [2, 2],
    attributes: { exclusive: "int", reverse: "int" },
    hostInputs: [1],
    infer([x, axis]) {
      if (!isFloat(x!.dtype) && !isInt(x!.dtype)) throw new Refusal(`element type ${x!.dtype} is not supported`);
      if (axis!.data) normAxis(scalarOf(axis, "axis"), x!.shape!.length);
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
    run([x], a, { ins }) {
      const axis = normAxis(scalarOf(ins[1], "axis"), x!.rank);
      return tf.cumsum(x!, axis, a.int("exclusive", 0) !== 0, a.int("reverse", 0) !== 0);
    },
  },
  OneHot: {
    inputs: [3, 3],
    attributes: { axis: "int" },
    hostInputs: [1, 2],
    infer([idx, depth, values], a) {
      const rank = idx!.shape!.length + 1;
      normAxis(a.int("axis", -1), rank);
      const d = depth!.data ? Math.trunc(scalarOf(depth, "depth")) : null;
      const axis = normAxis(a.int("axis", -1), rank);
      const shape = [...idx!.shape!];
      shape.splice(axis, 0, d);
      return [{ dtype: values!.dtype, shape }];
    },
    run([idx], a, { ins, outs }) {
      const depth = Math.trunc(scalarOf(ins[1], "depth"));
      const [off, on] = ins[2]!.data as number[];
      const dtype = tfDtype(outs[0]!.dtype) === "int32" ? "int32" : "float32";
      const i = tf.cast(idx!, "int32");
      // Negative indices count from the end; the rest out of range give an all-off row.
      const y = tf.oneHot(tf.where(tf.less(i, 0), tf.add(i, tf.scalar(depth, "int32")), i), depth, on!, off!, dtype);
      const rank = y.rank;
      const axis = normAxis(a.int("axis", -1), rank);
      if (axis === rank - 1) return y;
      const perm = [...Array(rank - 1).keys()];
      perm.splice(axis, 0, rank - 1);
      return tf.transpose(y, perm);
    },
  },
  TopK: {
    inputs: [2, 2],
    outputs: [1, 2],
    attributes: { axis: "int", largest: "int", sorted: "int" },
    hostInputs: [1],
    infer([x, k], a) {
      if (!isFloat(x!.dtype) && !isInt(x!.dtype)) throw new Refusal(`element type ${x!.dtype} is not supported`);
      const axis = normAxis(a.int("axis", -1), x!.shape!.length);
      const n = k!.data ? scalarOf(k, "K") : null;
      const dim = x!.shape![axis]!;
      if (n !== null && typeof dim === "number" && (n < 0 || n > dim)) throw new OpError(`K = ${n} is outside [0, ${dim}]`);
      const shape = x!.shape!.map((d, i) => (i === axis ? n : d));
      return [{ dtype: x!.dtype, shape }, { dtype: T.INT64, shape }];
    },
    run([x], a, { ins }) {
      const k = scalarOf(ins[1], "K");
      const axis = normAxis(a.int("axis", -1), x!.rank);
      const perm = lastAxisPerm(x!.rank, axis);
      const moved = axis === x!.rank - 1 ? x! : tf.transpose(x!, perm);
      const largest = a.int("largest", 1) !== 0;
      // tf.topk finds the largest, earlier index first among equals, as ONNX asks.
      const { values, indices } = tf.topk(largest ? moved : tf.neg(moved), k, true);
      const v = largest ? values : tf.neg(values);
      return axis === x!.rank - 1 ? [v, indices] : [tf.transpose(v, perm), tf.transpose(indices, perm)];
    },
  },
  EyeLike: {
    inputs: [1, 1],
    attributes: { dtype: "int", k: "int" },
    infer([x], a) {
      if (x!.shape!.length !== 2) throw new OpError(`input must have rank 2, got ${formatDims(x!.shape)}`);
      const dtype = a.has("dtype") ? a.int("dtype", T.FLOAT) : x!.dtype;
      if (tfDtype(dtype) === null) throw new Refusal(`element type ${dtype} is not supported`);
      return [{ dtype, shape: x!.shape }];
    },
    run([x], a, { outs }) {
      const [n, m] = x!.shape as [number, number];
      const k = a.int("k", 0);
      const values = Array.from({ length: n * m }, (_, p) => ((p % m) - Math.floor(p / m) === k ? 1 : 0));
      return tf.tensor(values, [n, m], tfDtype(outs[0]!.dtype)!);
    },
  },
  DepthToSpace: {
    inputs: [1, 1],
    attributes: { blocksize: "int", mode: "string" },
    infer([x], a) {
      const bs = a.int("blocksize", 0);
      if (x!.shape!.length !== 4 || bs < 1) throw new OpError(`DepthToSpace needs an NCHW input and a blocksize ≥ 1, got ${formatDims(x!.shape)} and ${bs}`);
      const [n, c, h, w] = x!.shape!;
      if (typeof c === "number" && c % (bs * bs) !== 0) throw new OpError(`channels ${c} do not divide by blocksize² = ${bs * bs}`);
      const mode = a.string("mode", "DCR");
      if (mode !== "DCR" && mode !== "CRD") throw new OpError(`mode "${mode}" is not DCR or CRD`);
      return [{ dtype: x!.dtype, shape: [n!, typeof c === "number" ? c / (bs * bs) : null, typeof h === "number" ? h * bs : null, typeof w === "number" ? w * bs : null] }];
    },
    run([x], a, { outs }) {
      const bs = a.int("blocksize", 0);
      const [n, c, h, w] = x!.shape as [number, number, number, number];
      const crd = a.string("mode", "DCR") === "CRD";
      const t = crd ? tf.reshape(x!, [n, c / (bs * bs), bs, bs, h, w]) : tf.reshape(x!, [n, bs, bs, c / (bs * bs), h, w]);
      return tf.reshape(tf.transpose(t, crd ? [0, 1, 4, 2, 5, 3] : [0, 3, 4, 1, 5, 2]), outs[0]!.shape as number[]);
    },
  },
  SpaceToDepth: {
    inputs: [1, 1],
    attributes: { blocksize: "int" },
    infer([x], a) {
      const bs = a.int("blocksize", 0);
      if (x!.shape!.length !== 4 || bs < 1) throw new OpError(`SpaceToDepth needs an NCHW input and a blocksize ≥ 1, got ${formatDims(x!.shape)} and ${bs}`);
      const [n, c, h, w] = x!.shape!;
      for (const d of [h, w]) if (typeof d === "number" && d % bs !== 0) throw new OpError(`spatial size ${d} does not divide by blocksize ${bs}`);
      return [{ dtype: x!.dtype, shape: [n!, typeof c === "number" ? c * bs * bs : null, typeof h === "number" ? h / bs : null, typeof w === "number" ? w / bs : null] }];
    },
    run([x], a, { outs }) {
      const bs = a.int("blocksize", 0);
      const [n, c, h, w] = x!.shape as [number, number, number, number];
      const t = tf.reshape(x!, [n, c, h / bs, bs, w / bs, bs]);
      return tf.reshape(tf.transpose(t, [0, 3, 5, 1, 2, 4]), outs[0]!.shape as number[]);
    },
  },
};
