/**
 * cross_entropy with torch.nn.functional.cross_entropy's semantics, as one op: log_softmax over
 * the class axis, then class indices (with weight, ignoreIndex, labelSmoothing) or class
 * probabilities (with weight, labelSmoothing), reduced "mean" | "sum" | "none".
 *
 * With logp = log_softmax(x) and the loss written as −Σ q·logp, the gradient is
 * dx = softmax(x)·Σ_c q − q: one fused backward instead of log_softmax's and nll's.
 * q per row i and class c (r = the upstream gradient, ÷ the mean's denominator):
 *   indices:       r·[(1 − ε)·w[tᵢ]·onehot(tᵢ)_c + (ε/C)·w_c], 0 on ignored rows
 *   probabilities: r·w_c·((1 − ε)·p_ic + ε/C), and d/dp = −(1 − ε)·r·w_c·logp_ic.
 * "mean" divides by Σ w[tᵢ] over rows not ignored (indices; torch 1.13 uses it for the smoothing
 * term too) or by the row count (probabilities). The weight gets no gradient (torch has none).
 * With class indices on cpu and wasm, cross_entropy_host.ts computes the same in two loops.
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../../function";
import type { SymbolicGraph, SymbolicValue } from "../../onnx/symbolic";
import { formatShape } from "../../shape";
import { hostBackend } from "../../host/host_tensors";
import { checkNumber, checkOptions, checkReduction, type Reduction } from "../argument_checks";
import { gradients, reduceLoss, sumAll } from "./reduce";
import { crossEntropyHostBackward, crossEntropyHostForward } from "./cross_entropy_host";
import { checkClassIndices, checkClassInput, checkClassWeight, checkIgnoreIndex, fromRows, targetMask, targetShapeFor, toRows } from "./class_targets";

/** The class weight, when given, is the one trailing tensor. */
type CrossEntropyArgs = [input: tf.Tensor, target: tf.Tensor, reduction: Reduction, ignoreIndex: number, labelSmoothing: number, ...weight: tf.Tensor[]];

export const CrossEntropyF = defineFunction<CrossEntropyArgs>({
  name: "CrossEntropy",
  inputNames: ["input", "target", "reduction", "ignoreIndex", "labelSmoothing", "weight"],
  forward(ctx, input, target, reduction, ignoreIndex, eps, weight) {
    const host = hostBackend();
    if (host && target.dtype === "int32") return crossEntropyHostForward(host, ctx, input, target, reduction, ignoreIndex, eps, weight);
    const logp = tf.logSoftmax(toRows(input));
    const [m, classes] = logp.shape;
    let perRow: tf.Tensor;
    let denominator: tf.Tensor;
    if (target.dtype === "int32") {
      const kept = tf.reshape(tf.cast(tf.notEqual(target, ignoreIndex), "float32"), [m, 1]);
      // One row of q's shape per target: w[tᵢ] at tᵢ, 0 elsewhere and on ignored rows.
      const mask = tf.mul(targetMask(target, m, classes), kept);
      const picked = weight ? tf.mul(mask, weight) : mask;
      const rowWeight = tf.sum(picked, 1);
      perRow = tf.neg(tf.sum(tf.mul(picked, logp), 1));
      // q / r: the coefficient of each logp in the loss.
      let coefficient = picked;
      if (eps > 0) {
        const smoothing = tf.mul(kept, weight ? tf.mul(weight, eps / classes) : eps / classes);
        perRow = tf.add(tf.mul(1 - eps, perRow), tf.neg(tf.sum(tf.mul(smoothing, logp), 1)));
        coefficient = tf.add(tf.mul(picked, 1 - eps), smoothing);
      }
      denominator = sumAll(rowWeight);
      ctx.saveForBackward(logp, coefficient, denominator);
    } else {
      const p = toRows(target);
      const smoothed = eps > 0 ? tf.add(tf.mul(p, 1 - eps), eps / classes) : p;
      const coefficient = weight ? tf.mul(smoothed, weight) : smoothed;
      perRow = tf.neg(tf.sum(tf.mul(coefficient, logp), 1));
      denominator = tf.scalar(m);
      ctx.saveForBackward(logp, coefficient, denominator, weight ?? tf.ones([classes]));
    }
    ctx.attributes.set("shapes", [input.shape, target.shape]);
    return reduceLoss(perRow, reduction, targetShapeFor(input.shape), denominator);
  },
  backward(ctx, dy) {
    if (ctx.attributes.has("host")) return gradients(ctx.attrs.length, ctx.needsInputGrad[0] ? crossEntropyHostBackward(ctx, dy) : null);
    const reduction = ctx.attrs[2] as Reduction;
    const eps = ctx.attrs[4] as number;
    const [logp, coefficient, denominator, w] = ctx.saved as tf.Tensor[];
    const [m] = logp!.shape as [number, number];
    const [inputShape, targetShape] = ctx.attributes.get("shapes") as [number[], number[]];
    // r: each row's upstream gradient, as a column (0 where a mean has nothing to divide by).
    const r =
      reduction === "none" ? tf.reshape(dy, [m, 1]) : reduction === "sum" ? dy : tf.where(tf.equal(denominator!, 0), tf.zerosLike(dy), tf.div(dy, denominator!));
    const q = tf.mul(coefficient!, r);
    const needs = ctx.needsInputGrad;
    const dInput = needs[0] ? fromRows(tf.sub(tf.mul(tf.exp(logp!), tf.sum(q, 1, true)), q), inputShape) : null;
    const dTarget = w && needs[1] ? fromRows(tf.mul(tf.mul(logp!, w), tf.mul(-(1 - eps), r)), targetShape) : null;
    return gradients(ctx.attrs.length, dInput, dTarget);
  },
  symbolic: (g, input, target, reduction, ignoreIndex, eps, weight) => softmaxCrossEntropyOnnx(g, input, target, reduction, ignoreIndex, eps, weight),
  lower: (g, input, target, reduction, ignoreIndex, eps, weight) => softmaxCrossEntropyOnnx(g, input, target, reduction, ignoreIndex, eps, weight),
});

/** ONNX's SoftmaxCrossEntropyLoss (opset 12+): class indices, weight, ignore_index; no smoothing. */
function softmaxCrossEntropyOnnx(
  g: SymbolicGraph,
  input: SymbolicValue,
  target: SymbolicValue,
  reduction: Reduction,
  ignoreIndex: number,
  eps: number,
  weight: SymbolicValue | undefined,
): SymbolicValue {
  if (eps !== 0) throw new Error(`labelSmoothing ${eps} has no standard ONNX form (SoftmaxCrossEntropyLoss has none)`);
  const attributes = { reduction_s: reduction, ignore_index_i: ignoreIndex };
  return weight ? g.op("SoftmaxCrossEntropyLoss", input, target, weight, attributes) : g.op("SoftmaxCrossEntropyLoss", input, target, attributes);
}

export interface CrossEntropyOptions {
  /** A weight per class, float32 [C]. */
  weight?: tf.Tensor;
  /** Targets equal to it count for nothing (class indices only; default −100). */
  ignoreIndex?: number;
  reduction?: Reduction;
  /** ε in [0, 1]: the target becomes (1 − ε)·target + ε/C (default 0). */
  labelSmoothing?: number;
}

const OPTIONS = ["weight", "ignoreIndex", "reduction", "labelSmoothing"] as const;

/**
 * torch.nn.functional.cross_entropy(input, target, weight=None, ignore_index=-100,
 * reduction="mean", label_smoothing=0.0). input [C], [N, C] or [N, C, d1, …] (logits); target
 * int32 class indices of the input's shape without the class axis, or float32 class
 * probabilities of the input's shape.
 */
export function crossEntropy(input: tf.Tensor, target: tf.Tensor, options: CrossEntropyOptions = {}): tf.Tensor {
  const op = "crossEntropy";
  checkOptions(op, options, OPTIONS);
  checkClassInput(op, input);
  const reduction = checkReduction(op, options.reduction ?? "mean");
  const ignoreIndex = checkIgnoreIndex(op, options.ignoreIndex ?? -100);
  const eps = checkNumber(op, "labelSmoothing", options.labelSmoothing ?? 0, { min: 0, max: 1, text: "in [0, 1]" });
  const classes = input.shape[input.rank === 1 ? 0 : 1]!;
  const weight = checkClassWeight(op, options.weight, classes);
  if (!(target instanceof tf.Tensor) || target.isDisposed) throw new TypeError(`${op}: target must be a live tf.Tensor, got ${target instanceof tf.Tensor ? "a disposed one" : typeof target}`);
  if (target.dtype === "float32") {
    if (target.rank !== input.rank || target.shape.some((d, i) => d !== input.shape[i])) {
      throw new RangeError(
        `${op}: target of class probabilities (float32) has shape ${formatShape(target.shape)}, expected the input's ${formatShape(input.shape)}; ` +
          `class indices are int32 of shape ${formatShape(targetShapeFor(input.shape))}`,
      );
    }
    if (options.ignoreIndex !== undefined && ignoreIndex !== -100) throw new RangeError(`${op}: ignoreIndex is not supported with class probabilities (a float32 target), got ${ignoreIndex}`);
  } else {
    checkClassIndices(op, input, target, ignoreIndex);
  }
  return weight ? CrossEntropyF.apply(input, target, reduction, ignoreIndex, eps, weight) : CrossEntropyF.apply(input, target, reduction, ignoreIndex, eps);
}
