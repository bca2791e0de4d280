/**
 * Gathering and scattering by computed positions: GatherND, ScatterND, ScatterElements (and its
 * old name Scatter), Compress and NonZero. Scatters run as tf.unsortedSegmentSum over flat
 * positions (which tfjs differentiates); indices that decide positions are read on the host,
 * where duplicates with reduction "none" (whose result ONNX leaves undefined) are refused.
 */
import * as tf from "@tensorflow/tfjs";
import type { ImportOp } from "./op";
import { formatDims, isInt, known, MAX_TRACKED_ELEMENTS, normAxis, OpError, Refusal, T, tracked, type ValueInfo } from "./values";

const stridesOf = (shape: readonly number[]) => shape.map((_, i) => shape.slice(i + 1).reduce((p, q) => p * q, 1));

function hostIndices(info: ValueInfo | null | undefined, what: string): number[] {
  if (!info?.data || !info.data.every((d) => typeof d === "number")) throw new Refusal(`${what} must be known before the node runs (at most ${MAX_TRACKED_ELEMENTS} elements)`);
  return info.data as number[];
}

/** Flat positions in `data` of ScatterElements' updates, indices read on the host. */
function elementPositions(dataShape: readonly number[], idxShape: readonly number[], idx: number[], axis: number): number[] {
  const strides = stridesOf(dataShape);
  const idxStrides = stridesOf(idxShape);
  return idx.map((v, flat) => {
    let pos = 0;
    for (let k = 0; k < idxShape.length; k++) {
      const coord = k === axis ? (v < 0 ? v + dataShape[axis]! : v) : Math.floor(flat / idxStrides[k]!) % idxShape[k]!;
      if (coord < 0 || coord >= dataShape[k]!) throw new OpError(`index ${v} is out of range for axis ${axis} of size ${dataShape[axis]}`);
      pos += coord * strides[k]!;
    }
    return pos;
  });
}

/** ScatterND: each index row [k] picks a slice data[i0, …, ik−1, …]; the flat positions of its elements. */
function ndPositions(dataShape: readonly number[], idx: number[], k: number): number[] {
  const strides = stridesOf(dataShape);
  const inner = dataShape.slice(k).reduce((p, q) => p * q, 1);
  const out: number[] = [];
  for (let r = 0; r < idx.length / k; r++) {
    let base = 0;
    for (let j = 0; j < k; j++) {
      let v = idx[r * k + j]!;
      if (v < 0) v += dataShape[j]!;
      if (v < 0 || v >= dataShape[j]!) throw new OpError(`index ${idx[r * k + j]} is out of range for axis ${j} of size ${dataShape[j]}`);
      base += v * strides[j]!;
    }
    for (let i = 0; i < inner; i++) out.push(base + i);
  }
  return out;
}

function checkReduction(reduction: string): void {
  if (reduction !== "none" && reduction !== "add") throw new Refusal(`reduction "${reduction}" is not supported (gradlab scatters with none and add)`);
}

/** data with updates placed at `positions` (flat), replacing or adding. */
function scatterFlat(data: tf.Tensor, updates: tf.Tensor, positions: number[], reduction: string): tf.Tensor {
  if (reduction === "none" && new Set(positions).size !== positions.length) throw new Refusal("duplicate indices with reduction none (ONNX leaves the result undefined)");
  const size = data.size;
  const ids = tf.tensor1d(positions, "int32");
  const placed = tf.unsortedSegmentSum(tf.reshape(updates, [-1]), ids, size);
  const flat = tf.reshape(data, [-1]);
  if (reduction === "add") return tf.reshape(tf.add(flat, placed), data.shape);
  const mask = tf.greater(tf.unsortedSegmentSum(tf.onesLike(ids), ids, size), 0);
  return tf.reshape(tf.where(mask, placed, flat), data.shape);
}

function scatterElements(): ImportOp {
  return {
    inputs: [3, 3],
    attributes: { axis: "int", reduction: "string" },
    hostInputs: [1],
    infer([x, idx, updates], a) {
      if (!isInt(idx!.dtype)) throw new OpError(`indices must be integers, got element type ${idx!.dtype}`);
      if (idx!.shape!.length !== x!.shape!.length) throw new OpError(`indices ${formatDims(idx!.shape)} must have the rank of data ${formatDims(x!.shape)}`);
      if (idx!.shape!.some((d, i) => typeof d === "number" && d !== updates!.shape![i])) throw new OpError(`updates ${formatDims(updates!.shape)} must have the shape of indices ${formatDims(idx!.shape)}`);
      normAxis(a.int("axis", 0), x!.shape!.length);
      checkReduction(a.string("reduction", "none"));
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
    run([x, , updates], a, { ins }) {
      const axis = normAxis(a.int("axis", 0), x!.rank);
      const positions = elementPositions(x!.shape, ins[1]!.shape as number[], hostIndices(ins[1], "indices"), axis);
      return scatterFlat(x!, updates!, positions, a.string("reduction", "none"));
    },
  };
}

export const SCATTER_GATHER_OPS: Record<string, ImportOp> = {
  GatherND: {
    inputs: [2, 2],
    attributes: { batch_dims: "int" },
    infer([x, idx], a) {
      if (!isInt(idx!.dtype)) throw new OpError(`indices must be integers, got element type ${idx!.dtype}`);
      const b = a.int("batch_dims", 0);
      const k = idx!.shape![idx!.shape!.length - 1];
      if (typeof k !== "number") return [{ dtype: x!.dtype, shape: null }];
      if (b + k > x!.shape!.length) throw new OpError(`indices rows of ${k} with ${b} batch axes reach past data ${formatDims(x!.shape)}`);
      return [{ dtype: x!.dtype, shape: [...idx!.shape!.slice(0, -1), ...x!.shape!.slice(b + k)] }];
    },
    run([x, idx], a, { outs }) {
      const b = a.int("batch_dims", 0);
      const k = idx!.shape[idx!.rank - 1]!;
      const batch = x!.shape.slice(0, b).reduce((p, q) => p * q, 1);
      const indexed = x!.shape.slice(b, b + k);
      const block = indexed.reduce((p, q) => p * q, 1);
      const inner = x!.shape.slice(b + k).reduce((p, q) => p * q, 1);
      const strides = stridesOf(indexed);
      // Row number in data viewed as [batch · block, inner]: batch offset plus the index row's position.
      const rows = tf.reshape(idx!, [batch, -1, k]);
      const signed = tf.where(tf.less(rows, 0), tf.add(rows, tf.tensor1d(indexed, "int32")), rows);
      let flat = tf.sum(tf.mul(signed, tf.tensor1d(strides, "int32")), -1);
      flat = tf.add(flat, tf.reshape(tf.mul(tf.range(0, batch, 1, "int32"), tf.scalar(block, "int32")), [batch, 1]));
      const picked = tf.gather(tf.reshape(x!, [batch * block, inner]), tf.reshape(flat, [-1]));
      return tf.reshape(picked, outs[0]!.shape as number[]);
    },
  },
  ScatterND: {
    inputs: [3, 3],
    attributes: { reduction: "string" },
    hostInputs: [1],
    infer([x, idx], a) {
      if (!isInt(idx!.dtype)) throw new OpError(`indices must be integers, got element type ${idx!.dtype}`);
      checkReduction(a.string("reduction", "none"));
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
    run([x, , updates], a, { ins }) {
      const shape = ins[1]!.shape as number[];
      const positions = ndPositions(x!.shape, hostIndices(ins[1], "indices"), shape[shape.length - 1]!);
      if (positions.length !== updates!.size) throw new OpError(`updates ${formatDims(updates!.shape)} do not fill the ${positions.length} positions the indices pick`);
      return scatterFlat(x!, updates!, positions, a.string("reduction", "none"));
    },
  },
  ScatterElements: scatterElements(),
  Scatter: scatterElements(),
  Compress: {
    inputs: [2, 2],
    attributes: { axis: "int" },
    hostInputs: [1],
    infer([x, cond], a) {
      const keep = cond!.data ? (cond!.data as number[]).flatMap((c, i) => (c ? [i] : [])) : null;
      if (!a.has("axis")) return [{ dtype: x!.dtype, shape: [keep ? keep.length : null] }];
      const axis = normAxis(a.int("axis", 0), x!.shape!.length);
      return [{ dtype: x!.dtype, shape: x!.shape!.map((d, i) => (i === axis ? (keep ? keep.length : null) : d)) }];
    },
    run([x], a, { ins }) {
      const keep = hostIndices(ins[1], "condition").flatMap((c, i) => (c ? [i] : []));
      const source = a.has("axis") ? x! : tf.reshape(x!, [-1]);
      const axis = a.has("axis") ? normAxis(a.int("axis", 0), x!.rank) : 0;
      if (keep.some((i) => i >= source.shape[axis]!)) throw new OpError(`condition selects index ${keep[keep.length - 1]}, past axis ${axis} of size ${source.shape[axis]}`);
      return tf.gather(source, tf.tensor1d(keep, "int32"), axis);
    },
  },
  NonZero: {
    inputs: [1, 1],
    hostInputs: [0],
    infer([x]) {
      if (!x!.data || !known(x!.shape)) return [{ dtype: T.INT64, shape: [x!.shape!.length, null] }];
      const strides = stridesOf(x!.shape);
      const hits = (x!.data as number[]).flatMap((v, i) => (v ? [i] : []));
      // Row r holds the r-th coordinate of every non-zero element, in row-major order.
      const data = x!.shape.flatMap((d, r) => hits.map((i) => Math.floor(i / strides[r]!) % d));
      return [tracked(T.INT64, [x!.shape.length, hits.length], data)];
    },
    run() {
      throw new Refusal(`NonZero of more than ${MAX_TRACKED_ELEMENTS} elements is not supported`);
    },
  },
};
