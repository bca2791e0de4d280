/**
 * cross_entropy with class indices as two loops over host memory (cpu and wasm), in place of the
 * dozen tfjs kernels of the generic path (log_softmax, one-hot mask, weights, smoothing, sums),
 * each of which costs more in dispatch than its arithmetic on a classifier's [N, C]. Same
 * formulas as cross_entropy.ts; per row m with target t, kept unless t = ignoreIndex:
 *   forward   lse = max + log Σ_c e^(x_c − max),  loss = (1 − ε)·w_t·(lse − x_t) + (ε/C)·Σ_c w_c·(lse − x_c)
 *   backward  dx_c = p_c·Σq − q_c, p_c = e^(x_c − lse), q_c = r·[(1 − ε)·w_t·[c = t] + (ε/C)·w_c]
 * Forward keeps e^(x_c − max) (float32, the input's shape) and each row's 1 / Σ for backward.
 */
import * as tf from "@tensorflow/tfjs";
import type { FunctionCtx } from "../../function";
import { tensorFromInfo, type HostBackend } from "../../host/host_tensors";
import type { Reduction } from "../argument_checks";
import { classRows, classWeights, reducedLoss, rowGradients } from "./class_rows_host";
import { targetShapeFor } from "./class_targets";

/** What forward leaves backward beside the saved exponentials, target and weight. */
interface HostState {
  host: HostBackend;
  /** 1 / Σ_c e^(x_c − max) per row: the softmax is the saved exponentials times it. */
  inverseSum: Float64Array;
  denominator: number;
}

export function crossEntropyHostForward(host: HostBackend, ctx: FunctionCtx, x: tf.Tensor, target: tf.Tensor, reduction: Reduction, ignoreIndex: number, eps: number, weight: tf.Tensor | undefined): tf.Tensor {
  const { batch, classes, inner, rows } = classRows(x.shape);
  const w = classWeights(host, weight, classes);
  let weightSum = 0;
  for (let c = 0; c < classes; c++) weightSum += w[c]!;
  // e^(x − max), kept for backward's softmax: Math.exp is most of the cost, so it runs once per element.
  const expInfo = host.alloc(x.shape);
  const [xs, ts, exps] = [host.f32(x), host.i32(target), host.f32(expInfo)];
  const inverseSum = new Float64Array(rows);
  const perRow = new Float64Array(rows);
  const smoothing = eps / classes;
  let denominator = 0;
  let m = 0;
  for (let n = 0; n < batch; n++) {
    for (let s = 0; s < inner; s++, m++) {
      const t = ts[m]!;
      const base = n * classes * inner + s;
      if (t === ignoreIndex) {
        for (let c = 0, i = base; c < classes; c++, i += inner) exps[i] = 0;
        continue;
      }
      let max = -Infinity;
      for (let c = 0, i = base; c < classes; c++, i += inner) if (xs[i]! > max) max = xs[i]!;
      let sum = 0;
      let weighted = 0;
      for (let c = 0, i = base; c < classes; c++, i += inner) {
        const e = Math.exp(xs[i]! - max);
        exps[i] = e;
        sum += e;
        weighted += w[c]! * xs[i]!;
      }
      const lse = max + Math.log(sum);
      // A class index out of range reaches here only through CrossEntropyF.apply itself (the
      // functional rejects it): as on the generic path, its one-hot row is empty.
      const wt = t >= 0 && t < classes ? w[t]! : 0;
      let loss = wt === 0 ? 0 : wt * (lse - xs[base + t * inner]!);
      // Σ_c w_c·(lse − x_c) = lse·Σw − Σ w_c·x_c, in float64.
      if (eps > 0) loss = (1 - eps) * loss + smoothing * (lse * weightSum - weighted);
      inverseSum[m] = 1 / sum;
      perRow[m] = loss;
      denominator += wt;
    }
  }
  ctx.attributes.set("host", { host, inverseSum, denominator } satisfies HostState);
  ctx.saveForBackward(tensorFromInfo(expInfo), target, ...(weight ? [weight] : []));
  return reducedLoss(host, perRow, reduction, targetShapeFor(x.shape), denominator);
}

/** The input's gradient, after crossEntropyHostForward (ctx.attributes has "host"). */
export function crossEntropyHostBackward(ctx: FunctionCtx, dy: tf.Tensor): tf.Tensor {
  const { host, inverseSum, denominator } = ctx.attributes.get("host") as HostState;
  const [reduction, ignoreIndex, eps] = ctx.attrs.slice(2, 5) as [Reduction, number, number];
  const [expTensor, target, weight] = ctx.saved as [tf.Tensor, tf.Tensor, tf.Tensor | undefined];
  const { batch, classes, inner, rows } = classRows(expTensor.shape);
  const w = classWeights(host, weight, classes);
  const r = rowGradients(host, dy, reduction, rows, denominator);
  const smoothing = eps / classes;
  let weightSum = 0;
  for (let c = 0; c < classes; c++) weightSum += w[c]!;
  // Every allocation before the views: on wasm a new allocation may move the heap under them.
  const info = host.alloc(expTensor.shape);
  const [exps, ts, dx] = [host.f32(expTensor), host.i32(target), host.f32(info)];
  let m = 0;
  for (let n = 0; n < batch; n++) {
    for (let s = 0; s < inner; s++, m++) {
      const base = n * classes * inner + s;
      const t = ts[m]!;
      if (t === ignoreIndex) {
        for (let c = 0, i = base; c < classes; c++, i += inner) dx[i] = 0;
        continue;
      }
      const picked = t >= 0 && t < classes ? r[m]! * (1 - eps) * w[t]! : 0;
      const rowSmoothing = r[m]! * smoothing;
      // Σ_c q_c, times the row's 1 / Σ e so that the saved e^(x − max) become the softmax.
      const scale = (picked + rowSmoothing * weightSum) * inverseSum[m]!;
      for (let c = 0, i = base; c < classes; c++, i += inner) dx[i] = exps[i]! * scale - rowSmoothing * w[c]! - (c === t ? picked : 0);
    }
  }
  return tensorFromInfo(info);
}
