/**
 * The seed's LinearF with the mistakes people make when deriving its backward by hand, for
 * teaching: the gradcheck notebook shows each one caught, and test/gradcheck.test.ts checks that
 * gradcheck catches every one, every time, with a message that says what to fix.
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction, type CustomFunction, type Gradient } from "../function";
import { LinearF } from "./linear";

type Lin = [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
type Backward = (dy: tf.Tensor2D, x: tf.Tensor2D, w: tf.Tensor2D) => Gradient | readonly Gradient[];

/** LinearF's forward with another backward: for planting mistakes (here and in tests). */
export function linearWith(name: string, backward: Backward): CustomFunction<Lin> {
  return defineFunction<Lin>({
    name,
    inputNames: ["x", "weight", "bias"],
    // LinearF's own forward (not its kernel: the mistakes live in the backward alone).
    forward: LinearF.definition.forward,
    backward(ctx, dy) {
      const [x, w] = ctx.saved as [tf.Tensor2D, tf.Tensor2D];
      return backward(dy as tf.Tensor2D, x, w);
    },
  });
}

export interface PlantedMistake {
  name: string;
  op: CustomFunction<Lin>;
  /** The input whose gradient is wrong. */
  wrongInput: number;
  /** What the report must say, when the shapes let the mistake through to the numerical check. */
  numericalMessage: RegExp | null;
  /** What it must say when the wrong gradient's shape gives it away first. */
  shapeMessage: RegExp;
  /** True when no shape lets the mistake past the shape check (a scalar dB). */
  alwaysWrongShape?: boolean;
}

export const PLANTED_MISTAKES: readonly PlantedMistake[] = [
  {
    // dX = dY·Wᵀ: the transpose copied from the forward, where none belongs.
    name: "dX with the forward's transpose",
    op: linearWith("DX_TRANSPOSED", (dy, x, w) => [tf.matMul(dy, w, false, true), tf.matMul(dy, x, true, false), tf.sum(dy, 0)]),
    wrongInput: 0,
    numericalMessage: null,
    shapeMessage: /DX_TRANSPOSED\.backward failed \(dy \[\d+, \d+\]; .*\): Error in matMul: inner shapes/,
  },
  {
    // dW = Xᵀ·dY: the transpose that dYᵀ·X needs is missing, giving dWᵀ.
    name: "dW without its transpose",
    op: linearWith("DW_UNTRANSPOSED", (dy, x, w) => [tf.matMul(dy, w), tf.matMul(x, dy, true, false), tf.sum(dy, 0)]),
    wrongInput: 1,
    numericalMessage: /input 1 \(weight\) is the transpose of the right one/,
    shapeMessage: /gradient for input 1 \(weight\) has shape \[\d+, \d+\], but the input has shape/,
  },
  {
    name: "dW scaled by 2",
    op: linearWith("DW_DOUBLED", (dy, x, w) => [tf.matMul(dy, w), tf.mul(tf.matMul(dy, x, true, false), 2), tf.sum(dy, 0)]),
    wrongInput: 1,
    numericalMessage: /input 1 \(weight\) is 2\.00 × the numerical one/,
    shapeMessage: /never/,
  },
  {
    name: "sign flip in dX",
    op: linearWith("DX_NEGATED", (dy, x, w) => [tf.neg(tf.matMul(dy, w)), tf.matMul(dy, x, true, false), tf.sum(dy, 0)]),
    wrongInput: 0,
    numericalMessage: /input 0 \(x\) has the wrong sign/,
    shapeMessage: /never/,
  },
  {
    // tf.sum(dy) without its axis: one number for the whole batch and every output. (An unsummed
    // dB of shape [batch, out] is no mistake: the engine sums a broadcast gradient, as PyTorch's does.)
    name: "dB summed over every axis",
    op: linearWith("DB_SCALAR", (dy, x, w) => [tf.matMul(dy, w), tf.matMul(dy, x, true, false), tf.sum(dy)]),
    wrongInput: 2,
    numericalMessage: null,
    shapeMessage: /gradient for input 2 \(bias\) has shape \[\], but the input has shape \[\d+\], and it does not broadcast to it/,
    alwaysWrongShape: true,
  },
  {
    name: "dX and dW swapped",
    op: linearWith("DX_DW_SWAPPED", (dy, x, w) => [tf.matMul(dy, x, true, false), tf.matMul(dy, w), tf.sum(dy, 0)]),
    wrongInput: 0,
    numericalMessage: /the gradient returned for input 0 \(x\) is the one for input 1 \(weight\): the backward returns its gradients in the wrong order/,
    shapeMessage: /gradient for input [01] \((x|weight)\) has shape \[\d+, \d+\], but the input has shape/,
  },
];
