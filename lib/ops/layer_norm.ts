/**
 * layer_norm over the last dims (normalizedShape), as torch: x̂ = (x − mean)/√(var + eps) with the
 * biased variance, y = x̂·weight + bias. Backward, with g = dy·weight and means over the
 * normalised dims: dx = rstd·(g − mean(g) − x̂·mean(g·x̂)); dweight = Σ_batch dy·x̂; dbias = Σ_batch dy.
 * On cpu, and on wasm for small tensors, layer_norm_host.ts computes both in loops over the storage.
 */
import * as tf from "@tensorflow/tfjs";
import { defineFunction, describe } from "../function";
import { hostBackendFor } from "../host/host_tensors";
import type { SymbolicGraph, SymbolicValue } from "../onnx/symbolic";
import { formatShape, shapesEqual } from "../shape";
import { checkFloatTensor, checkNumber, checkOptions } from "./argument_checks";
import { gradients } from "./losses/reduce";
import { layerNormHostBackward, layerNormHostForward } from "./layer_norm_host";

/** Trailing tensors: the weight when hasWeight, then the bias when hasBias. */
type LayerNormArgs = [input: tf.Tensor, normalizedShape: number[], eps: number, hasWeight: boolean, hasBias: boolean, ...params: tf.Tensor[]];

/** Host loops on wasm up to this many elements (measured crossover with the tfjs kernels: 4096 to 8192). */
const WASM_HOST_LIMIT = 4096;

export const LayerNormF = defineFunction<LayerNormArgs>({
  name: "LayerNorm",
  inputNames: ["input", "normalizedShape", "eps", "hasWeight", "hasBias", "weight", "bias"],
  forward(ctx, x, normalizedShape, eps, hasWeight, hasBias, ...params) {
    const weight = hasWeight ? params[0]! : null;
    const bias = hasBias ? params[hasWeight ? 1 : 0]! : null;
    const host = hostBackendFor(x.size, WASM_HOST_LIMIT);
    if (host) return layerNormHostForward(host, ctx, x, sizeOf(normalizedShape), eps, weight, bias);
    const axes = normalizedAxes(x.rank, normalizedShape.length);
    const centered = tf.sub(x, tf.mean(x, axes, true));
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centered), axes, true), eps));
    const xhat = tf.mul(centered, rstd);
    ctx.saveForBackward(xhat, rstd, ...(weight ? [weight] : []));
    const scaled = weight ? tf.mul(xhat, weight) : xhat;
    return bias ? tf.add(scaled, bias) : scaled;
  },
  backward(ctx, dy) {
    const [hasWeight, hasBias] = [ctx.attrs[3] as boolean, ctx.attrs[4] as boolean];
    const needs = ctx.needsInputGrad;
    const returned = (dx: tf.Tensor | null, dWeight: tf.Tensor | null, dBias: tf.Tensor | null) =>
      hasWeight ? gradients(ctx.attrs.length, dx, null, null, null, null, dWeight, dBias) : gradients(ctx.attrs.length, dx, null, null, null, null, dBias);
    if (ctx.attributes.has("host")) {
      const wanted = { input: needs[0]!, weight: hasWeight && needs[5]!, bias: hasBias && needs[hasWeight ? 6 : 5]! };
      return returned(...layerNormHostBackward(ctx, dy, sizeOf(ctx.attrs[1] as number[]), wanted));
    }
    const [xhat, rstd, weight] = ctx.saved as [tf.Tensor, tf.Tensor, tf.Tensor | undefined];
    const k = (ctx.attrs[1] as number[]).length;
    const axes = normalizedAxes(xhat.rank, k);
    const batchAxes = Array.from({ length: xhat.rank - k }, (_, i) => i);
    let dx: tf.Tensor | null = null;
    if (needs[0]) {
      const g = weight ? tf.mul(dy, weight) : dy;
      dx = tf.mul(rstd, tf.sub(tf.sub(g, tf.mean(g, axes, true)), tf.mul(xhat, tf.mean(tf.mul(g, xhat), axes, true))));
    }
    const sumBatch = (t: tf.Tensor) => (batchAxes.length === 0 ? t : tf.sum(t, batchAxes));
    const dWeight = hasWeight && needs[5] ? sumBatch(tf.mul(dy, xhat)) : null;
    const dBias = hasBias && needs[hasWeight ? 6 : 5] ? sumBatch(dy) : null;
    return returned(dx, dWeight, dBias);
  },
  symbolic: (g, x, normalizedShape, eps, hasWeight, hasBias, ...params) => layerNormOnnx(g, x, normalizedShape, eps, hasWeight, hasBias, params),
  lower: (g, x, normalizedShape, eps, hasWeight, hasBias, ...params) => layerNormOnnx(g, x, normalizedShape, eps, hasWeight, hasBias, params),
});

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function normalizedAxes(rank: number, k: number): number[] {
  return Array.from({ length: k }, (_, i) => rank - k + i);
}

/** In opset-17 ops (ReduceMean with an axes attribute), valid for any affine combination. */
function layerNormOnnx(g: SymbolicGraph, x: SymbolicValue, normalizedShape: number[], eps: number, hasWeight: boolean, hasBias: boolean, params: SymbolicValue[]): SymbolicValue {
  const axes = normalizedShape.map((_, i) => i - normalizedShape.length);
  const centered = g.op("Sub", x, g.op("ReduceMean", x, { axes_i: axes, keepdims_i: 1 }));
  const variance = g.op("ReduceMean", g.op("Mul", centered, centered), { axes_i: axes, keepdims_i: 1 });
  let y = g.op("Div", centered, g.op("Sqrt", g.op("Add", variance, g.op("Constant", { value_float_f: eps }))));
  if (hasWeight) y = g.op("Mul", y, params[0]!);
  if (hasBias) y = g.op("Add", y, params[hasWeight ? 1 : 0]!);
  return y;
}

export interface LayerNormOptions {
  weight?: tf.Tensor;
  bias?: tf.Tensor;
  eps?: number;
}

/** The normalised shape as a list of positive integers (torch accepts an int for one dim). */
export function checkNormalizedShape(op: string, normalizedShape: unknown): number[] {
  const shape = typeof normalizedShape === "number" ? [normalizedShape] : normalizedShape;
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new RangeError(`${op}: normalizedShape must be a positive integer or a non-empty array of them, got ${Array.isArray(normalizedShape) ? JSON.stringify(normalizedShape) : describe(normalizedShape)}`);
  }
  return shape as number[];
}

/** torch.nn.functional.layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5). */
export function layerNorm(input: tf.Tensor, normalizedShape: number | readonly number[], options: LayerNormOptions = {}): tf.Tensor {
  const op = "layerNorm";
  checkOptions(op, options, ["weight", "bias", "eps"]);
  checkFloatTensor(op, "input", input);
  const shape = checkNormalizedShape(op, normalizedShape);
  const tail = input.shape.slice(input.rank - shape.length);
  if (input.rank < shape.length || !shapesEqual(tail, shape)) {
    throw new RangeError(`${op}: input has shape ${formatShape(input.shape)}, expected its last ${shape.length} dim${shape.length === 1 ? "" : "s"} to be normalizedShape ${formatShape(shape)}`);
  }
  const eps = checkNumber(op, "eps", options.eps ?? 1e-5, { min: 0, minOpen: true, text: "positive" });
  const params: tf.Tensor[] = [];
  for (const arg of ["weight", "bias"] as const) {
    const t = options[arg];
    if (t === undefined) continue;
    checkFloatTensor(op, arg, t);
    if (!shapesEqual(t.shape, shape)) throw new RangeError(`${op}: ${arg} has shape ${formatShape(t.shape)}, expected normalizedShape ${formatShape(shape)}`);
    params.push(t);
  }
  return LayerNormF.apply(input, shape, eps, options.weight !== undefined, options.bias !== undefined, ...params);
}
