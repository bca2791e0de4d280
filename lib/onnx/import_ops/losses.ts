/**
 * The two losses ONNX defines: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (with its
 * optional log-probability output), with class weights, ignore_index and reduction none / sum /
 * mean (mean divides by the summed weights of the targets not ignored, as PyTorch's does).
 */
import * as tf from "@tensorflow/tfjs";
import type { Attrs } from "./attributes";
import type { ImportOp } from "./op";
import { formatDims, isFloat, isInt, OpError, Refusal, type ValueInfo } from "./values";

const ATTRS = { reduction: "string", ignore_index: "int" } as const;

function lossInfer(x: ValueInfo, target: ValueInfo, weight: ValueInfo | null | undefined, a: Attrs): ValueInfo {
  if (!isFloat(x.dtype)) throw new Refusal(`element type ${x.dtype}: gradlab computes losses of floats only`);
  if (!isInt(target.dtype)) throw new OpError(`the target must hold integers, got element type ${target.dtype}`);
  const shape = x.shape!;
  if (shape.length < 2) throw new OpError(`the input must be [N, C, …], got ${formatDims(shape)}`);
  if (target.shape!.length !== shape.length - 1) throw new OpError(`the target ${formatDims(target.shape)} must be the input ${formatDims(shape)} without its class axis`);
  if (weight && weight.shape!.length !== 1) throw new OpError(`weights must be a vector [C], got ${formatDims(weight.shape)}`);
  const reduction = a.string("reduction", "mean");
  if (!["none", "sum", "mean"].includes(reduction)) throw new OpError(`reduction "${reduction}" is not none, sum or mean`);
  return { dtype: x.dtype, shape: reduction === "none" ? target.shape : [] };
}

/** −logp[n, target, …] · weight[target], reduced. */
function nll(logp: tf.Tensor, target: tf.Tensor, weight: tf.Tensor | null, a: Attrs): tf.Tensor {
  const c = logp.shape[1]!;
  const rank = logp.rank;
  const ignore = a.has("ignore_index") ? a.int("ignore_index", 0) : null;
  const t = tf.cast(target, "int32");
  const valid = ignore === null ? tf.onesLike(t).cast("bool") : tf.notEqual(t, tf.scalar(ignore, "int32"));
  const safe = tf.where(valid, t, tf.zerosLike(t));
  // Classes last, then pick each target's log-probability with a one-hot mask (differentiable).
  const classesLast = tf.transpose(logp, [0, ...[...Array(rank - 2).keys()].map((i) => i + 2), 1]);
  const picked = tf.sum(tf.mul(classesLast, tf.oneHot(safe, c, 1, 0, "float32")), -1);
  const w = tf.mul(weight ? tf.gather(weight, safe) : tf.onesLike(picked), tf.cast(valid, "float32"));
  const loss = tf.mul(tf.neg(picked), w);
  const reduction = a.string("reduction", "mean");
  if (reduction === "none") return loss;
  if (reduction === "sum") return tf.sum(loss);
  return tf.div(tf.sum(loss), tf.sum(w));
}

export const LOSS_OPS: Record<string, ImportOp> = {
  NegativeLogLikelihoodLoss: {
    inputs: [2, 3],
    attributes: ATTRS,
    infer: ([x, target, weight], a) => [lossInfer(x!, target!, weight, a)],
    run: ([x, target, weight], a) => nll(x!, target!, weight ?? null, a),
  },
  SoftmaxCrossEntropyLoss: {
    inputs: [2, 3],
    outputs: [1, 2],
    attributes: ATTRS,
    infer: ([x, target, weight], a) => [lossInfer(x!, target!, weight, a), { dtype: x!.dtype, shape: x!.shape }],
    run([x, target, weight], a, { outs }) {
      const rank = x!.rank;
      // log-softmax over the class axis (1).
      const perm = [...Array(rank).keys()];
      perm[1] = rank - 1;
      perm[rank - 1] = 1;
      const logp = rank === 2 ? tf.logSoftmax(x!) : tf.transpose(tf.logSoftmax(tf.transpose(x!, perm)), perm);
      const loss = nll(logp, target!, weight ?? null, a);
      return outs.length > 1 ? [loss, logp] : [loss];
    },
  },
};
