/**
 * Normalizations and soft maxima: Softmax, LogSoftmax and Hardmax (before opset 13 over the input
 * flattened to 2-D at `axis`; from 13 along one axis), BatchNormalization (inference: running
 * statistics), LayerNormalization, InstanceNormalization, MeanVarianceNormalization, LRN.
 */
import * as tf from "@tensorflow/tfjs";
import type { ImportOp, OpContext } from "./op";
import { isFloat, normAxis, OpError, Refusal, same, T, formatDims, type ValueInfo } from "./values";

function floatInput(x: ValueInfo): void {
  if (!isFloat(x.dtype)) throw new Refusal(`element type ${x.dtype}: gradlab normalizes floats only`);
}

/** Before opset 13, the axis that splits the input into rows and columns: in [−rank, rank]. */
function coerceAxis(axis: number, rank: number): number {
  const k = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(axis) || k < 0 || k > rank) throw new OpError(`axis ${axis} is out of range for rank ${rank}`);
  return k;
}

/** fn along the last axis, applied as ONNX's opset asks: on a 2-D view (< 13) or along `axis` (≥ 13). */
function alongAxis(fn: (x: tf.Tensor) => tf.Tensor): ImportOp {
  return {
    inputs: [1, 1],
    attributes: { axis: "int" },
    infer([x], a, ctx) {
      floatInput(x!);
      const rank = x!.shape!.length;
      if (ctx.opset < 13) coerceAxis(a.int("axis", 1), rank);
      else normAxis(a.int("axis", -1), Math.max(rank, 1));
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
    run([x], a, ctx: OpContext) {
      const rank = x!.rank;
      if (rank === 0) return fn(tf.reshape(x!, [1])).reshape([]);
      if (ctx.opset < 13) {
        const axis = coerceAxis(a.int("axis", 1), rank);
        const rows = x!.shape.slice(0, axis).reduce((n, d) => n * d, 1);
        return tf.reshape(fn(tf.reshape(x!, [rows, -1])), x!.shape);
      }
      const axis = normAxis(a.int("axis", -1), rank);
      if (axis === rank - 1) return fn(x!);
      const perm = [...Array(rank).keys()];
      perm[axis] = rank - 1;
      perm[rank - 1] = axis;
      return tf.transpose(fn(tf.transpose(x!, perm)), perm);
    },
  };
}

/** 1 at the first maximum of each row, 0 elsewhere. */
function hardmax(x: tf.Tensor): tf.Tensor {
  const n = x.shape[x.rank - 1]!;
  return tf.cast(tf.oneHot(tf.argMax(x, -1), n), "float32");
}

/** A per-channel vector [C] as [C, 1, …] against an input of rank `rank` (channels on axis 1). */
const perChannel = (v: tf.Tensor, rank: number) => tf.reshape(v, [v.size, ...new Array(Math.max(rank - 2, 0)).fill(1)]);

export const NORMALIZATION_OPS: Record<string, ImportOp> = {
  Softmax: alongAxis((x) => tf.softmax(x)),
  LogSoftmax: alongAxis((x) => tf.logSoftmax(x)),
  Hardmax: alongAxis(hardmax),
  BatchNormalization: {
    inputs: [5, 5],
    outputs: [1, 1],
    attributes: { epsilon: "float", momentum: "float", training_mode: "int", spatial: "int", is_test: "int", consumed_inputs: "ints" },
    infer([x, scale, b, mean, variance], a, ctx) {
      floatInput(x!);
      if (a.int("training_mode", 0) || (ctx.opset < 7 && !a.int("is_test", 0))) throw new Refusal("BatchNormalization in training mode (batch statistics, running-mean outputs) is not supported; export the model in eval mode");
      if (a.has("spatial") && a.int("spatial", 1) === 0) throw new Refusal("BatchNormalization with spatial = 0 is not supported");
      if (x!.shape!.length < 2) throw new OpError(`X must have rank ≥ 2 (N, C, …), got ${formatDims(x!.shape)}`);
      for (const [what, v] of [["scale", scale], ["B", b], ["mean", mean], ["var", variance]] as const) {
        if (v!.shape!.length !== 1) throw new OpError(`${what} must be a vector [C], got ${formatDims(v!.shape)}`);
        same(v!.shape![0]!, x!.shape![1]!, () => `${what} ${formatDims(v!.shape)} does not match the ${x!.shape![1]} channels of X ${formatDims(x!.shape)}`);
      }
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
    run([x, scale, b, mean, variance], a) {
      const r = x!.rank;
      const inv = tf.rsqrt(tf.add(perChannel(variance!, r), a.float("epsilon", 1e-5)));
      return tf.add(tf.mul(tf.mul(tf.sub(x!, perChannel(mean!, r)), inv), perChannel(scale!, r)), perChannel(b!, r));
    },
  },
  InstanceNormalization: {
    inputs: [3, 3],
    attributes: { epsilon: "float" },
    infer([x, scale, b]) {
      floatInput(x!);
      if (x!.shape!.length < 3) throw new OpError(`X must have rank ≥ 3 (N, C, spatial…), got ${formatDims(x!.shape)}`);
      for (const v of [scale, b]) same(v!.shape![0]!, x!.shape![1]!, () => `${formatDims(v!.shape)} does not match the ${x!.shape![1]} channels of X`);
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
    run([x, scale, b], a) {
      const axes = [...Array(x!.rank).keys()].slice(2);
      const { mean, variance } = tf.moments(x!, axes, true);
      const y = tf.div(tf.sub(x!, mean), tf.sqrt(tf.add(variance, a.float("epsilon", 1e-5))));
      return tf.add(tf.mul(y, perChannel(scale!, x!.rank)), perChannel(b!, x!.rank));
    },
  },
  LayerNormalization: {
    inputs: [2, 3],
    outputs: [1, 3],
    attributes: { axis: "int", epsilon: "float", stash_type: "int" },
    infer([x, scale, b], a) {
      floatInput(x!);
      const rank = x!.shape!.length;
      const axis = normAxis(a.int("axis", -1), rank);
      const stats = { dtype: a.int("stash_type", 1) === 1 ? T.FLOAT : x!.dtype, shape: x!.shape!.map((d, i) => (i < axis ? d : 1)) };
      for (const v of [scale, b]) if (v && v.shape!.length > rank - axis) throw new OpError(`${formatDims(v.shape)} has more axes than the normalized ${formatDims(x!.shape!.slice(axis))}`);
      return [{ dtype: x!.dtype, shape: x!.shape }, stats, stats];
    },
    run([x, scale, b], a, { outs }) {
      const axis = normAxis(a.int("axis", -1), x!.rank);
      const axes = [...Array(x!.rank).keys()].slice(axis);
      const { mean, variance } = tf.moments(x!, axes, true);
      const invStd = tf.rsqrt(tf.add(variance, a.float("epsilon", 1e-5)));
      let y = tf.mul(tf.sub(x!, mean), invStd);
      y = tf.mul(y, scale!);
      if (b) y = tf.add(y, b);
      return [y, mean, invStd].slice(0, outs.length);
    },
  },
  LRN: {
    inputs: [1, 1],
    attributes: { size: "int", alpha: "float", beta: "float", bias: "float" },
    infer([x], a) {
      floatInput(x!);
      if (x!.shape!.length < 3) throw new OpError(`X must be [N, C, …], got ${formatDims(x!.shape)}`);
      if (a.int("size", 0) < 1) throw new OpError("size must be ≥ 1");
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
    run([x], a) {
      // square_sum[c] over channels c − ⌊(size−1)/2⌋ … c + ⌈(size−1)/2⌉, the window zero-padded.
      const size = a.int("size", 0);
      const c = x!.shape[1]!;
      const before = Math.floor((size - 1) / 2), after = Math.ceil((size - 1) / 2);
      const padded = tf.pad(tf.square(x!), x!.shape.map((_, i) => (i === 1 ? [before, after] : [0, 0]) as [number, number]));
      let sum: tf.Tensor = tf.zerosLike(x!);
      for (let k = 0; k < size; k++) sum = tf.add(sum, tf.slice(padded, x!.shape.map((_, i) => (i === 1 ? k : 0)), x!.shape.map((d, i) => (i === 1 ? c : d))));
      const scale = tf.add(tf.mul(sum, a.float("alpha", 1e-4) / size), a.float("bias", 1));
      return tf.div(x!, tf.pow(scale, a.float("beta", 0.75)));
    },
  },
  MeanVarianceNormalization: {
    inputs: [1, 1],
    attributes: { axes: "ints" },
    infer([x]) {
      floatInput(x!);
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
    run([x], a) {
      const axes = (a.ints("axes") ?? [0, 2, 3]).map((v) => normAxis(v, x!.rank));
      const { mean, variance } = tf.moments(x!, axes, true);
      return tf.div(tf.sub(x!, mean), tf.sqrt(variance));
    },
  },
};
