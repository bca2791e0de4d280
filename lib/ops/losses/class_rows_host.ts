/**
 * What the host kernels of cross_entropy and nll_loss (class indices) share, on cpu and wasm: the
 * input's layout as rows of classes read in place (no transpose), the reduced output, and each
 * row's upstream gradient. Sums are kept in float64 and rounded once to float32.
 */
import type * as tf from "@tensorflow/tfjs";
import { tensorFromInfo, type HostBackend } from "../../host/host_tensors";
import type { Reduction } from "../argument_checks";

/**
 * torch's layout [C], [N, C] or [N, C, d1, …] as rows: row m = n·inner + s (the target's order),
 * its class c at n·classes·inner + s + c·inner. inner is the product of d1, … (1 for rank ≤ 2).
 */
export interface ClassRows {
  batch: number;
  classes: number;
  inner: number;
  rows: number;
}

export function classRows(shape: readonly number[]): ClassRows {
  if (shape.length === 1) return { batch: 1, classes: shape[0]!, inner: 1, rows: 1 };
  let inner = 1;
  for (let i = 2; i < shape.length; i++) inner *= shape[i]!;
  return { batch: shape[0]!, classes: shape[1]!, inner, rows: shape[0]! * inner };
}

/** The loss: the rows' losses in the target's shape ("none"), their sum, or the sum ÷ denominator (nan over no rows, as torch). */
export function reducedLoss(host: HostBackend, perRow: Float64Array, reduction: Reduction, targetShape: readonly number[], denominator: number): tf.Tensor {
  if (reduction === "none") {
    const info = host.alloc(targetShape);
    host.f32(info).set(perRow);
    return tensorFromInfo(info);
  }
  let total = 0;
  for (let m = 0; m < perRow.length; m++) total += perRow[m]!;
  const info = host.alloc([]);
  host.f32(info)[0] = reduction === "sum" ? total : perRow.length === 0 ? Number.NaN : total / denominator;
  return tensorFromInfo(info);
}

/**
 * Each row's upstream gradient r: dy's element ("none"), dy ("sum"), or dy ÷ denominator ("mean";
 * 0 where every row was ignored, so the gradient is 0 rather than nan, as torch's).
 */
export function rowGradients(host: HostBackend, dy: tf.Tensor, reduction: Reduction, rows: number, denominator: number): Float64Array {
  const values = host.f32(dy);
  if (reduction === "none") return Float64Array.from(values);
  const r = reduction === "sum" ? values[0]! : denominator === 0 ? 0 : values[0]! / denominator;
  return new Float64Array(rows).fill(r);
}

/** The class weight as float64 (1 for every class without one): read once, before any allocation. */
export function classWeights(host: HostBackend, weight: tf.Tensor | undefined, classes: number): Float64Array {
  return weight ? Float64Array.from(host.f32(weight)) : new Float64Array(classes).fill(1);
}
