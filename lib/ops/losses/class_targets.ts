/**
 * What cross_entropy and nll_loss share: torch's layout of a classification loss's input
 * ([C], [N, C] or [N, C, d1, …], classes on axis 1) turned into rows of classes [M, C] and back,
 * and the checks on class-index targets (int32, the input's shape without the class axis, every
 * index in [0, C) or equal to ignoreIndex).
 */
import * as tf from "@tensorflow/tfjs";
import { describe } from "../../function";
import { hostBackend } from "../../host/host_tensors";
import { formatShape } from "../../shape";
import { syncReadProblem } from "../../sync_read";
import { checkFloatTensor } from "../argument_checks";

/** The input as rows [M, C] (class axis moved last), and how to put a [M, C] gradient back. */
export function toRows(x: tf.Tensor): tf.Tensor2D {
  if (x.rank === 1) return tf.reshape(x, [1, x.shape[0]!]);
  if (x.rank === 2) return x as tf.Tensor2D;
  // tfjs-backend-wasm 4.22's Transpose throws "divide by zero" on an empty tensor, which has no order to change.
  if (x.size === 0) return tf.reshape(x, [-1, x.shape[1]!]);
  const perm = [0, ...x.shape.slice(2).map((_, i) => i + 2), 1];
  return tf.reshape(tf.transpose(x, perm), [-1, x.shape[1]!]);
}

export function fromRows(rows: tf.Tensor, shape: readonly number[]): tf.Tensor {
  if (shape.length <= 2 || rows.size === 0) return tf.reshape(rows, [...shape]);
  const [n, c, ...rest] = shape as number[];
  const channelsLast = tf.reshape(rows, [n!, ...rest, c!]);
  const perm = [0, shape.length - 1, ...rest.map((_, i) => i + 1)];
  return tf.transpose(channelsLast, perm);
}

/** The shape of a class-index target for this input: the input's without its class axis. */
export function targetShapeFor(inputShape: readonly number[]): number[] {
  return inputShape.length === 1 ? [] : [inputShape[0]!, ...inputShape.slice(2)];
}

/** The input of a classification loss: float32, rank ≥ 1, its class axis 1 (0 for rank 1). */
export function checkClassInput(op: string, input: unknown): asserts input is tf.Tensor {
  checkFloatTensor(op, "input", input);
  if (input.rank === 0) throw new RangeError(`${op}: input must have a class axis ([C], [N, C] or [N, C, d1, …]), got a scalar`);
}

export function checkIgnoreIndex(op: string, ignoreIndex: unknown): number {
  if (typeof ignoreIndex !== "number" || !Number.isSafeInteger(ignoreIndex)) throw new TypeError(`${op}: ignoreIndex must be an integer, got ${describe(ignoreIndex)}`);
  return ignoreIndex;
}

/**
 * Class-index targets: int32, the right shape, every value a class or ignoreIndex. Reads the
 * target's smallest and largest index: on cpu and wasm in one loop over its storage, elsewhere by
 * two reductions and one sync read of two numbers per call.
 */
export function checkClassIndices(op: string, input: tf.Tensor, target: tf.Tensor, ignoreIndex: number): void {
  const expected = targetShapeFor(input.shape);
  if (target.dtype !== "int32") {
    throw new TypeError(`${op}: target of class indices must have dtype int32, got ${target.dtype} (shape ${formatShape(target.shape)})`);
  }
  if (target.rank !== expected.length || target.shape.some((d, i) => d !== expected[i])) {
    throw new RangeError(`${op}: target has shape ${formatShape(target.shape)}, expected ${formatShape(expected)} (the input ${formatShape(input.shape)} without its class axis)`);
  }
  // Where values cannot be read back synchronously (webgpu outside a browser) the range check
  // would make every loss call throw; it is skipped there, and an out-of-range index counts as
  // ignored (its row of the class mask is all 0).
  if (target.size === 0 || syncReadProblem() !== null) return;
  const classes = input.shape[input.rank === 1 ? 0 : 1]!;
  // The smallest and largest index, with ignored rows read as class 0 (always a valid class), so
  // an ignoreIndex outside [0, C) is never reported.
  const [lo, hi] = indexBounds(target, ignoreIndex);
  const bad = lo < 0 ? lo : hi >= classes ? hi : null;
  if (bad !== null) {
    throw new RangeError(`${op}: target holds class index ${bad}, expected indices in [0, ${classes}) or ignoreIndex (${ignoreIndex})`);
  }
}

function indexBounds(target: tf.Tensor, ignoreIndex: number): [number, number] {
  const host = hostBackend();
  if (host) {
    const indices = host.i32(target);
    let [lo, hi] = [0, 0];
    for (let i = 0; i < indices.length; i++) {
      const t = indices[i]!;
      if (t === ignoreIndex) continue;
      if (t < lo) lo = t;
      else if (t > hi) hi = t;
    }
    return [lo, hi];
  }
  const bounds = tf.tidy(() => {
    const kept = tf.where(tf.notEqual(target, ignoreIndex), target, tf.zerosLike(target));
    return tf.stack([tf.min(kept), tf.max(kept)]);
  });
  const values = Array.from(bounds.dataSync()) as [number, number];
  bounds.dispose();
  return values;
}

/** A per-class weight: float32 [C]. */
export function checkClassWeight(op: string, weight: unknown, classes: number): tf.Tensor1D | undefined {
  if (weight === undefined) return undefined;
  checkFloatTensor(op, "weight", weight);
  if (weight.rank !== 1 || weight.shape[0] !== classes) throw new RangeError(`${op}: weight has shape ${formatShape(weight.shape)}, expected [${classes}] (one per class)`);
  return weight as tf.Tensor1D;
}

/**
 * 1 where a row's class is its target, else 0, as float32 [M, C] (a row whose target is out of
 * range, an ignoreIndex such as −100, is all 0). tf.oneHot in int32, then a cast: its float32
 * dtype is wrong on tfjs-backend-wasm 4.22 (it writes the int32 bits, 1 reads as 1.4e-45; the
 * torch fixtures caught it), and an int32 equal against a range is ~50× slower there. oneHot
 * needs C ≥ 2, so one class takes the equal.
 */
export function targetMask(target: tf.Tensor, m: number, classes: number): tf.Tensor2D {
  const rows = tf.reshape(target, [m]) as tf.Tensor1D;
  if (classes >= 2) return tf.cast(tf.oneHot(rows, classes), "float32") as tf.Tensor2D;
  return tf.cast(tf.equal(tf.reshape(rows, [m, 1]), tf.range(0, classes, 1, "int32")), "float32") as tf.Tensor2D;
}
