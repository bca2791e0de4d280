/**
 * How the losses reduce, with torch's answers on empty input: the sum of nothing is 0 and a mean
 * over nothing is nan. tfjs's Sum and Mean kernels on an empty tensor give 0 on cpu but read
 * uninitialised memory on wasm, so an empty tensor never reaches them.
 */
import * as tf from "@tensorflow/tfjs";
import type { Reduction } from "../argument_checks";

export function sumAll(x: tf.Tensor): tf.Scalar {
  return x.size === 0 ? tf.scalar(0) : tf.sum(x);
}

/** "none": the per-element losses in `shape`; "sum"; "mean": the sum ÷ denominator (nan for 0 ÷ 0). */
export function reduceLoss(perElement: tf.Tensor, reduction: Reduction, shape: readonly number[], denominator: tf.Tensor | number): tf.Tensor {
  if (reduction === "none") return tf.reshape(perElement, [...shape]);
  const total = sumAll(perElement);
  if (reduction === "sum") return total;
  return perElement.size === 0 ? tf.scalar(Number.NaN) : tf.div(total, denominator);
}

/** The gradient list for an op's arguments: these leading gradients, null for every other argument. */
export function gradients(argumentCount: number, ...leading: (tf.Tensor | null)[]): (tf.Tensor | null)[] {
  return Array.from({ length: argumentCount }, (_, i) => leading[i] ?? null);
}
