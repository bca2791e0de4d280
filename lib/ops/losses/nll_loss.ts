/**
 * nll_loss with torch.nn.functional.nll_loss's semantics: input holds log-probabilities [C],
 * [N, C] or [N, C, d1, …]; loss_i = −w[tᵢ]·input[i, tᵢ] (0 where tᵢ = ignoreIndex), reduced
 * "mean" (÷ Σ w[tᵢ] over rows not ignored) | "sum" | "none". dinput = −r·w[tᵢ]·onehot(tᵢ).
 * On cpu and wasm nll_loss_host.ts computes it with loops over the tensors' storage.
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../../function";
import type { SymbolicGraph, SymbolicValue } from "../../onnx/symbolic";
import { hostBackend } from "../../host/host_tensors";
import { checkOptions, checkReduction, type Reduction } from "../argument_checks";
import { gradients, reduceLoss, sumAll } from "./reduce";
import { nllLossHostBackward, nllLossHostForward } from "./nll_loss_host";
import { checkClassIndices, checkClassInput, checkClassWeight, checkIgnoreIndex, fromRows, targetMask, targetShapeFor, toRows } from "./class_targets";

/** The class weight, when given, is the one trailing tensor. */
type NllArgs = [input: tf.Tensor, target: tf.Tensor, reduction: Reduction, ignoreIndex: number, ...weight: tf.Tensor[]];

export const NllLossF = defineFunction<NllArgs>({
  name: "NllLoss",
  inputNames: ["input", "target", "reduction", "ignoreIndex", "weight"],
  forward(ctx, input, target, reduction, ignoreIndex, weight) {
    const host = hostBackend();
    if (host && target.dtype === "int32") return nllLossHostForward(host, ctx, input, target, reduction, ignoreIndex, weight);
    const rows = toRows(input);
    const [m, classes] = rows.shape;
    const kept = tf.reshape(tf.cast(tf.notEqual(target, ignoreIndex), "float32"), [m, 1]);
    let picked = tf.mul(targetMask(target, m, classes), kept);
    if (weight) picked = tf.mul(picked, weight);
    const perRow = tf.neg(tf.sum(tf.mul(picked, rows), 1));
    const denominator = sumAll(picked);
    ctx.saveForBackward(picked, denominator);
    ctx.attributes.set("inputShape", input.shape);
    return reduceLoss(perRow, reduction, targetShapeFor(input.shape), denominator);
  },
  backward(ctx, dy) {
    if (ctx.attributes.has("host")) return gradients(ctx.attrs.length, ctx.needsInputGrad[0] ? nllLossHostBackward(ctx, dy) : null);
    const reduction = ctx.attrs[2] as Reduction;
    const [picked, denominator] = ctx.saved as [tf.Tensor2D, tf.Scalar];
    const m = picked.shape[0];
    const r =
      reduction === "none" ? tf.reshape(dy, [m, 1]) : reduction === "sum" ? dy : tf.where(tf.equal(denominator, 0), tf.zerosLike(dy), tf.div(dy, denominator));
    return gradients(ctx.attrs.length, fromRows(tf.neg(tf.mul(picked, r)), ctx.attributes.get("inputShape") as number[]));
  },
  // ONNX's NegativeLogLikelihoodLoss (opset 12+) is this op, attribute for attribute.
  symbolic: (g, input, target, reduction, ignoreIndex, weight) => nllOnnx(g, input, target, reduction, ignoreIndex, weight),
  lower: (g, input, target, reduction, ignoreIndex, weight) => nllOnnx(g, input, target, reduction, ignoreIndex, weight),
});

function nllOnnx(g: SymbolicGraph, input: SymbolicValue, target: SymbolicValue, reduction: Reduction, ignoreIndex: number, weight: SymbolicValue | undefined): SymbolicValue {
  const attributes = { reduction_s: reduction, ignore_index_i: ignoreIndex };
  return weight ? g.op("NegativeLogLikelihoodLoss", input, target, weight, attributes) : g.op("NegativeLogLikelihoodLoss", input, target, attributes);
}

export interface NllLossOptions {
  weight?: tf.Tensor;
  ignoreIndex?: number;
  reduction?: Reduction;
}

/** torch.nn.functional.nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"). */
export function nllLoss(input: tf.Tensor, target: tf.Tensor, options: NllLossOptions = {}): tf.Tensor {
  const op = "nllLoss";
  checkOptions(op, options, ["weight", "ignoreIndex", "reduction"]);
  checkClassInput(op, input);
  const reduction = checkReduction(op, options.reduction ?? "mean");
  const ignoreIndex = checkIgnoreIndex(op, options.ignoreIndex ?? -100);
  const weight = checkClassWeight(op, options.weight, input.shape[input.rank === 1 ? 0 : 1]!);
  if (!(target instanceof tf.Tensor) || target.isDisposed) throw new TypeError(`${op}: target must be a live tf.Tensor of int32 class indices`);
  checkClassIndices(op, input, target, ignoreIndex);
  return weight ? NllLossF.apply(input, target, reduction, ignoreIndex, weight) : NllLossF.apply(input, target, reduction, ignoreIndex);
}
