/**
 * layer_norm as loops over host memory (cpu, and small tensors on wasm), the formulas of
 * layer_norm.ts in place of its tfjs kernels (about ten in forward and ten in backward). Rows are
 * the leading dims, each of D = Π normalizedShape contiguous elements; means and variances are
 * float64. Forward keeps each row's mean and 1/√(var + eps) beside the saved input, and backward
 * recomputes x̂ from them.
 */
import type * as tf from "@tensorflow/tfjs";
import type { FunctionCtx } from "../function";
import { tensorFromInfo, type HostBackend } from "../host/host_tensors";

interface HostState {
  host: HostBackend;
  mean: Float64Array;
  rstd: Float64Array;
}

export function layerNormHostForward(host: HostBackend, ctx: FunctionCtx, x: tf.Tensor, size: number, eps: number, weight: tf.Tensor | null, bias: tf.Tensor | null): tf.Tensor {
  const rows = size === 0 ? 0 : x.size / size;
  const info = host.alloc(x.shape);
  const [xs, ys] = [host.f32(x), host.f32(info)];
  const [ws, bs] = [weight ? host.f32(weight) : null, bias ? host.f32(bias) : null];
  const mean = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  for (let r = 0, start = 0; r < rows; r++, start += size) {
    let sum = 0;
    for (let j = 0; j < size; j++) sum += xs[start + j]!;
    const m = sum / size;
    let squares = 0;
    for (let j = 0; j < size; j++) squares += (xs[start + j]! - m) ** 2;
    const s = 1 / Math.sqrt(squares / size + eps);
    for (let j = 0; j < size; j++) ys[start + j] = (xs[start + j]! - m) * s * (ws ? ws[j]! : 1) + (bs ? bs[j]! : 0);
    [mean[r], rstd[r]] = [m, s];
  }
  ctx.attributes.set("host", { host, mean, rstd } satisfies HostState);
  ctx.saveForBackward(x, ...(weight ? [weight] : []));
  return tensorFromInfo(info);
}

/**
 * The gradients of input, weight and bias (null where not `wanted`), after layerNormHostForward:
 * with g = dy·weight, dx = rstd·(g − mean(g) − x̂·mean(g·x̂)); dweight = Σ_rows dy·x̂; dbias = Σ_rows dy.
 */
export function layerNormHostBackward(ctx: FunctionCtx, dy: tf.Tensor, size: number, wanted: { input: boolean; weight: boolean; bias: boolean }): [tf.Tensor | null, tf.Tensor | null, tf.Tensor | null] {
  const { host, mean, rstd } = ctx.attributes.get("host") as HostState;
  const [x, weight] = ctx.saved as [tf.Tensor, tf.Tensor | undefined];
  const dWeight = new Float64Array(wanted.weight ? size : 0);
  const dBias = new Float64Array(wanted.bias ? size : 0);
  // Every allocation before the views: on wasm a new allocation may move the heap under them.
  const normalizedShape = ctx.attrs[1] as number[];
  const infos = [wanted.input ? host.alloc(x.shape) : null, wanted.weight ? host.alloc(normalizedShape) : null, wanted.bias ? host.alloc(normalizedShape) : null];
  const [xs, dys, ws] = [host.f32(x), host.f32(dy), weight ? host.f32(weight) : null];
  const dx = infos[0] ? host.f32(infos[0]) : null;
  for (let r = 0, start = 0; r < mean.length; r++, start += size) {
    const [m, s] = [mean[r]!, rstd[r]!];
    let gSum = 0;
    let gxSum = 0;
    for (let j = 0; j < size; j++) {
      const d = dys[start + j]!;
      const xhat = (xs[start + j]! - m) * s;
      const g = ws ? d * ws[j]! : d;
      gSum += g;
      gxSum += g * xhat;
      if (wanted.weight) dWeight[j] = dWeight[j]! + d * xhat;
      if (wanted.bias) dBias[j] = dBias[j]! + d;
    }
    if (!dx) continue;
    const [gMean, gxMean] = [gSum / size, gxSum / size];
    for (let j = 0; j < size; j++) {
      const g = ws ? dys[start + j]! * ws[j]! : dys[start + j]!;
      dx[start + j] = s * (g - gMean - (xs[start + j]! - m) * s * gxMean);
    }
  }
  if (infos[1]) host.f32(infos[1]).set(dWeight);
  if (infos[2]) host.f32(infos[2]).set(dBias);
  return infos.map((info) => (info ? tensorFromInfo(info) : null)) as [tf.Tensor | null, tf.Tensor | null, tf.Tensor | null];
}
