/**
 * binary_cross_entropy_with_logits with torch's semantics and its stable form: with
 * lw = 1 + (posWeight − 1)·y,
 *   loss = weight·[(1 − y)·x + lw·softplus(−x)],  softplus(−x) = log(1 + e^−|x|) + max(−x, 0),
 *   dx = weight·[(1 − y) − lw·σ(−x)],  dy_target = weight·[−x + (posWeight − 1)·softplus(−x)],
 * reduced "mean" | "sum" | "none". weight broadcasts to the input, posWeight to the target (one
 * per class on the last axis). weight and posWeight get no gradient (torch has none).
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction } from "../../function";
import type { SymbolicGraph, SymbolicValue } from "../../onnx/symbolic";
import { broadcastShapes, formatShape, shapesEqual } from "../../shape";
import { gradients, reduceLoss } from "./reduce";
import { checkFloatTensor, checkOptions, checkReduction, type Reduction } from "../argument_checks";

/** Trailing tensors: the weight when hasWeight, then the posWeight when hasPosWeight. */
type BceArgs = [input: tf.Tensor, target: tf.Tensor, reduction: Reduction, hasWeight: boolean, hasPosWeight: boolean, ...weights: tf.Tensor[]];

export const BceWithLogitsF = defineFunction<BceArgs>({
  name: "BceWithLogits",
  inputNames: ["input", "target", "reduction", "hasWeight", "hasPosWeight", "weight", "posWeight"],
  forward(ctx, x, y, reduction, hasWeight, hasPosWeight, ...weights) {
    const weight = hasWeight ? weights[0] : undefined;
    const posWeight = hasPosWeight ? weights[hasWeight ? 1 : 0] : undefined;
    const softplusNeg = tf.add(tf.log1p(tf.exp(tf.neg(tf.abs(x)))), tf.relu(tf.neg(x)));
    const lw = posWeight ? tf.add(1, tf.mul(tf.sub(posWeight, 1), y)) : null;
    let loss = tf.add(tf.mul(tf.sub(1, y), x), lw ? tf.mul(lw, softplusNeg) : softplusNeg);
    if (weight) loss = tf.mul(loss, weight);
    ctx.saveForBackward(x, y, softplusNeg, ...(weight ? [weight] : []), ...(posWeight ? [posWeight] : []));
    return reduceLoss(loss, reduction, x.shape, x.size);
  },
  backward(ctx, dy) {
    const reduction = ctx.attrs[2] as Reduction;
    const [hasWeight, hasPosWeight] = [ctx.attrs[3] as boolean, ctx.attrs[4] as boolean];
    const [x, y, softplusNeg, ...rest] = ctx.saved as tf.Tensor[];
    const weight = hasWeight ? rest[0] : undefined;
    const posWeight = hasPosWeight ? rest[hasWeight ? 1 : 0] : undefined;
    let r = reduction === "mean" ? tf.div(dy, x!.size) : dy;
    if (weight) r = tf.mul(r, weight);
    const needs = ctx.needsInputGrad;
    let dx: tf.Tensor | null = null;
    if (needs[0]) {
      const sigNeg = tf.sigmoid(tf.neg(x!));
      const lw = posWeight ? tf.add(1, tf.mul(tf.sub(posWeight, 1), y!)) : null;
      dx = tf.mul(r, tf.sub(tf.sub(1, y!), lw ? tf.mul(lw, sigNeg) : sigNeg));
    }
    let dTarget: tf.Tensor | null = null;
    if (needs[1]) dTarget = tf.mul(r, posWeight ? tf.add(tf.neg(x!), tf.mul(tf.sub(posWeight, 1), softplusNeg!)) : tf.neg(x!));
    return gradients(ctx.attrs.length, dx, dTarget);
  },
  symbolic: (g, x, y, reduction, hasWeight, hasPosWeight, ...weights) => bceOnnx(g, x, y, reduction, hasWeight, hasPosWeight, weights),
  lower: (g, x, y, reduction, hasWeight, hasPosWeight, ...weights) => bceOnnx(g, x, y, reduction, hasWeight, hasPosWeight, weights),
});

/** The stable formula in standard ops (ONNX has no BCE-with-logits op). */
function bceOnnx(g: SymbolicGraph, x: SymbolicValue, y: SymbolicValue, reduction: Reduction, hasWeight: boolean, hasPosWeight: boolean, weights: SymbolicValue[]): SymbolicValue {
  const one = g.op("Constant", { value_float_f: 1 });
  const softplusNeg = g.op("Add", g.op("Log", g.op("Add", one, g.op("Exp", g.op("Neg", g.op("Abs", x))))), g.op("Relu", g.op("Neg", x)));
  const posWeight = hasPosWeight ? weights[hasWeight ? 1 : 0]! : null;
  const lw = posWeight ? g.op("Add", one, g.op("Mul", g.op("Sub", posWeight, one), y)) : null;
  let loss = g.op("Add", g.op("Mul", g.op("Sub", one, y), x), lw ? g.op("Mul", lw, softplusNeg) : softplusNeg);
  if (hasWeight) loss = g.op("Mul", loss, weights[0]!);
  if (reduction === "none") return loss;
  return g.op(reduction === "sum" ? "ReduceSum" : "ReduceMean", loss, { keepdims_i: 0 });
}

export interface BceWithLogitsOptions {
  /** Broadcasts to the input's shape. */
  weight?: tf.Tensor;
  reduction?: Reduction;
  /** The positive class's weight, broadcast to the target (e.g. one per class on the last axis). */
  posWeight?: tf.Tensor;
}

/** torch.nn.functional.binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None). */
export function binaryCrossEntropyWithLogits(input: tf.Tensor, target: tf.Tensor, options: BceWithLogitsOptions = {}): tf.Tensor {
  const op = "binaryCrossEntropyWithLogits";
  checkOptions(op, options, ["weight", "reduction", "posWeight"]);
  checkFloatTensor(op, "input", input);
  checkFloatTensor(op, "target", target);
  if (!shapesEqual(input.shape, target.shape)) {
    throw new RangeError(`${op}: target has shape ${formatShape(target.shape)}, expected the input's ${formatShape(input.shape)} (torch: "Target size must be the same as input size")`);
  }
  const reduction = checkReduction(op, options.reduction ?? "mean");
  const extra: tf.Tensor[] = [];
  for (const arg of ["weight", "posWeight"] as const) {
    const t = options[arg];
    if (t === undefined) continue;
    checkFloatTensor(op, arg, t);
    const joint = broadcastShapes(t.shape, input.shape);
    if (joint === null || !shapesEqual(joint, input.shape)) {
      throw new RangeError(`${op}: ${arg} has shape ${formatShape(t.shape)}, which does not broadcast to the input's ${formatShape(input.shape)}`);
    }
    extra.push(t);
  }
  return BceWithLogitsF.apply(input, target, reduction, options.weight !== undefined, options.posWeight !== undefined, ...extra);
}
