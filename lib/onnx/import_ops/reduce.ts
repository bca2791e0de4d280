/**
 * Reductions: the Reduce* family (axes as an attribute, or an input for ReduceSum from opset 13;
 * keepdims; noop_with_empty_axes) and ArgMax/ArgMin (with select_last_index).
 */
import * as tf from "@tensorflow/tfjs";
import type { Attrs } from "./attributes";
import type { ImportOp } from "./op";
import { ints, isFloat, isInt, normAxis, OpError, Refusal, T, type DimShape, type ValueInfo } from "./values";

/** The axes reduced, or null for "none" (noop_with_empty_axes and no axes: the identity). */
function reducedAxes(x: ValueInfo, axesIn: ValueInfo | null | undefined, a: Attrs): number[] | null | "unknown" {
  const rank = x.shape!.length;
  let axes = a.ints("axes");
  if (axes === undefined && axesIn) {
    const v = ints(axesIn);
    // Axes computed at run time: known before the node runs, not at import.
    if (v === null) return "unknown";
    axes = v;
  }
  if (axes === undefined || axes.length === 0) return a.int("noop_with_empty_axes", 0) ? null : [...Array(rank).keys()];
  const out = axes.map((v) => normAxis(v, rank));
  if (new Set(out).size !== out.length) throw new OpError(`axes [${axes.join(", ")}] repeat an axis`);
  return out;
}

function reduce(fn: (x: tf.Tensor, axes: number[]) => tf.Tensor, types: "float" | "number" = "float"): ImportOp {
  return {
    inputs: [1, 2],
    attributes: { axes: "ints", keepdims: "int", noop_with_empty_axes: "int" },
    hostInputs: [1],
    infer([x, axesIn], a) {
      if (!(isFloat(x!.dtype) || (types === "number" && isInt(x!.dtype)))) throw new Refusal(`element type ${x!.dtype} is not supported (${types === "float" ? "floats only" : "numbers only"})`);
      const axes = reducedAxes(x!, axesIn, a);
      if (axes === null) return [{ dtype: x!.dtype, shape: x!.shape }];
      if (axes === "unknown") return [{ dtype: x!.dtype, shape: a.int("keepdims", 1) ? x!.shape!.map(() => null) : null }];
      if (axes.some((i) => x!.shape![i] === 0)) throw new Refusal("reducing over an empty axis (the identity element of each reduction) is not supported");
      const keep = a.int("keepdims", 1) !== 0;
      const shape: DimShape = keep ? x!.shape!.map((d, i) => (axes.includes(i) ? 1 : d)) : x!.shape!.filter((_, i) => !axes.includes(i));
      return [{ dtype: x!.dtype, shape }];
    },
    run([x], a, { ins, outs }) {
      const axes = reducedAxes(ins[0]!, ins[1], a);
      if (axes === null) return x!;
      if (axes === "unknown") throw new Refusal("the axes are not known when the node runs");
      return tf.reshape(fn(x!, axes), outs[0]!.shape as number[]);
    },
  };
}

function argReduce(which: "max" | "min"): ImportOp {
  return {
    inputs: [1, 1],
    attributes: { axis: "int", keepdims: "int", select_last_index: "int" },
    infer([x], a) {
      if (!isFloat(x!.dtype) && !isInt(x!.dtype)) throw new Refusal(`element type ${x!.dtype} is not supported`);
      const axis = normAxis(a.int("axis", 0), x!.shape!.length);
      if (x!.shape![axis] === 0) throw new OpError(`axis ${axis} is empty`);
      const keep = a.int("keepdims", 1) !== 0;
      return [{ dtype: T.INT64, shape: keep ? x!.shape!.map((d, i) => (i === axis ? 1 : d)) : x!.shape!.filter((_, i) => i !== axis) }];
    },
    run([x], a, { outs }) {
      const axis = normAxis(a.int("axis", 0), x!.rank);
      const f = which === "max" ? tf.argMax : tf.argMin;
      let i: tf.Tensor;
      if (a.int("select_last_index", 0)) {
        // The last of equal extremes: the first in the reversed axis, counted from the end.
        i = tf.sub(x!.shape[axis]! - 1, f(tf.reverse(x!, axis), axis));
      } else i = f(x!, axis);
      return tf.reshape(i, outs[0]!.shape as number[]);
    },
  };
}

export const REDUCE_OPS: Record<string, ImportOp> = {
  ReduceSum: reduce((x, axes) => tf.sum(x, axes), "number"),
  ReduceMean: reduce((x, axes) => tf.mean(x, axes)),
  ReduceMax: reduce((x, axes) => tf.max(x, axes), "number"),
  ReduceMin: reduce((x, axes) => tf.min(x, axes), "number"),
  ReduceProd: reduce((x, axes) => tf.prod(x, axes), "number"),
  ReduceL1: reduce((x, axes) => tf.sum(tf.abs(x), axes)),
  ReduceL2: reduce((x, axes) => tf.sqrt(tf.sum(tf.square(x), axes))),
  ReduceLogSum: reduce((x, axes) => tf.log(tf.sum(x, axes))),
  ReduceLogSumExp: reduce((x, axes) => tf.logSumExp(x, axes)),
  ReduceSumSquare: reduce((x, axes) => tf.sum(tf.square(x), axes)),
  ArgMax: argReduce("max"),
  ArgMin: argReduce("min"),
};
